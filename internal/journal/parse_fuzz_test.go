package journal

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzParseNative: any datagram is read without a panic, every entry kept has between 1 and
// MaxFields fields (MESSAGE included) with valid names, and no entry is larger than its input.
func FuzzParseNative(f *testing.F) {
	f.Add([]byte("MESSAGE=hello\nPRIORITY=3\nSYSLOG_IDENTIFIER=app\n"))
	f.Add([]byte("MESSAGE=x\n" + binaryField("DATA", "a\nb")))
	f.Add([]byte("MESSAGE=a\n\nMESSAGE=b\n# c\n.d\nX"))
	f.Add([]byte("DATA\n\xff\xff\xff\xff\xff\xff\xff\x7f\n"))
	f.Add([]byte("SYSLOG_FACILITY=23\nPRIORITY=9\n_PID=1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ParseNative(b, func(e *Entry) {
			n := len(e.Fields)
			size := len(e.Message)
			if e.HasMessage {
				n++
			}
			if n == 0 || n > MaxFields+1 {
				t.Fatalf("an entry of %d fields", n)
			}
			for _, fl := range e.Fields {
				if !FieldNameValid([]byte(fl.Name)) || fl.Name == "MESSAGE" {
					t.Fatalf("field %q kept", fl.Name)
				}
				size += len(fl.Value)
			}
			if size > len(b) {
				t.Fatalf("entry of %d bytes from %d", size, len(b))
			}
			if e.Level < -1 || e.Level > 7 {
				t.Fatalf("level %d", e.Level)
			}
		})
	})
}

// FuzzParseSyslog: any datagram is read without a panic, its message is a part of it without
// NUL, and its fields are well formed.
func FuzzParseSyslog(f *testing.F) {
	f.Add([]byte("<28>Dec  7 12:00:01 app[42]: hello world"))
	f.Add([]byte("<11>1 2026-12-07T12:00:00Z host tag 42 - - text"))
	f.Add([]byte("  <999>a]: x \n\x00"))
	f.Add([]byte("[: x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, ok := ParseSyslog(b)
		if ok != (len(b) > 0) {
			t.Fatalf("ok %v for %d bytes", ok, len(b))
		}
		if !ok {
			return
		}
		if strings.IndexByte(s.Message, 0) >= 0 || !bytes.Contains(b, []byte(s.Message)) {
			t.Fatalf("message %q not from %q", s.Message, b)
		}
		if s.Priority < 0 || s.Priority > 999 {
			t.Fatalf("priority %d", s.Priority)
		}
		if s.StoreRaw != (s.Raw != "") && len(b) > 0 && s.StoreRaw && s.Raw != string(b) {
			t.Fatalf("raw %q", s.Raw)
		}
		for _, fl := range s.Fields() {
			if fl.Name == "" {
				t.Fatal("empty field name")
			}
		}
	})
}

// FuzzStream: any stream (header, then lines) is read without a panic; lines are at most
// LineMax bytes, and none is stored before the header's seven lines.
func FuzzStream(f *testing.F) {
	f.Add([]byte("id\n\n6\n1\n0\n0\n0\n<3>hello\nworld\x00x"))
	f.Add([]byte("id\nweb.service\n999\nyes\nno\nno\nno\n"))
	f.Add([]byte("\n\n-1\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h streamHeader
		sr := &streamReader{r: bytes.NewReader(b)}
		for {
			line, brk, err := sr.next()
			if err != nil {
				return
			}
			if len(line) > LineMax {
				t.Fatalf("line of %d bytes", len(line))
			}
			if !h.running() {
				if brk != breakNewline || h.header(string(line), true) != nil {
					return
				}
				continue
			}
			if prio, msg, ok := h.line(line); ok && (msg == "" || prio < 0 || prio > 999) {
				t.Fatalf("line %q prio %d", msg, prio)
			}
		}
	})
}
