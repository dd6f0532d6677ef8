package api

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

func FuzzReadRequest(f *testing.F) {
	f.Add([]byte(`{"verb":"start","units":["a.service"],"no_block":true}` + "\n"))
	f.Add([]byte(`{"verb":"logs","lines":-1,"since":"2026-01-01T00:00:00Z","follow":true}`))
	f.Add([]byte("\n"))
	f.Add([]byte(`{"verb":""}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := ReadRequest(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "bad request") {
				t.Errorf("error %q does not say bad request", err)
			}
			return
		}
		if req.Verb == "" || req.Lines < -1 {
			t.Errorf("accepted %+v", req)
		}
	})
}
