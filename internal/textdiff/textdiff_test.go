package textdiff

import "testing"

func TestLines(t *testing.T) {
	for _, tc := range []struct{ want, got, out string }{
		{"a\nb", "a\nb", ""},
		{"a\nb\nc", "a\nc\nd", "- b\n+ d\n"},
		{"", "x", "- \n+ x\n"},
	} {
		if out := Lines(tc.want, tc.got, "- ", "+ "); out != tc.out {
			t.Errorf("Lines(%q, %q) = %q, want %q", tc.want, tc.got, out, tc.out)
		}
	}
}
