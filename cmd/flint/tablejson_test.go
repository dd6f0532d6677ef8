package main

import (
	"bytes"
	"testing"
)

// TestWriteTableJSON: systemctl's table JSON, compact and pretty, values of each kind.
func TestWriteTableJSON(t *testing.T) {
	rows := [][]jsonCell{{{"unit", "a\"b.service"}, {"job", nil}, {"next", uint64(12)}}, {{"unit", "c"}, {"job", "start"}, {"next", uint64(0)}}}
	for _, tc := range []struct{ mode, want string }{
		{"json", `[{"unit":"a\"b.service","job":null,"next":12},{"unit":"c","job":"start","next":0}]` + "\n"},
		{"json-seq", "\x1e[]\n"},
		{"json-sse", "data: []\n\n"},
		{"json-pretty", "[\n\t{\n\t\t\"unit\" : \"a\\\"b.service\",\n\t\t\"job\" : null,\n\t\t\"next\" : 12\n\t},\n\t{\n\t\t\"unit\" : \"c\",\n\t\t\"job\" : \"start\",\n\t\t\"next\" : 0\n\t}\n]\n"},
	} {
		in := rows
		if tc.mode == "json-seq" || tc.mode == "json-sse" {
			in = nil
		}
		var b bytes.Buffer
		writeTableJSON(&b, tc.mode, in)
		if b.String() != tc.want {
			t.Errorf("%s:\n%q\nwant\n%q", tc.mode, b.String(), tc.want)
		}
	}
}
