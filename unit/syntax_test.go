package unit

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// flat renders a parsed file as "[Section]" and "line:Key=Value" lines for comparison.
func flat(f *File) string {
	var b strings.Builder
	for _, s := range f.Sections {
		fmt.Fprintf(&b, "[%s]\n", s.Name)
		for _, e := range s.Entries {
			fmt.Fprintf(&b, "%d:%s=%s\n", e.Line, e.Key, e.Value)
		}
	}
	return b.String()
}

func TestParseFile(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		diags          []string // "line:severity:msg"
	}{
		{"basic", "[Unit]\nDescription=Foo\n", "[Unit]\n2:Description=Foo\n", nil},
		{"blanks-around-equals", "[Unit]\n  Description  =   Foo bar  \n", "[Unit]\n2:Description=Foo bar\n", nil},
		{"comments", "# c\n; c\n[Unit]\n  # indented\nA=1 # not a comment\n", "[Unit]\n5:A=1 # not a comment\n", nil},
		{"continuation", "[Service]\nExecStart=/bin/echo \\\n  a \\\n  b\n", "[Service]\n4:ExecStart=/bin/echo    a    b\n", nil},
		{"comment-inside-continuation", "[S]\nA=x \\\n# skipped\n; skipped\ny\n", "[S]\n5:A=x  y\n", nil},
		{"empty-line-ends-continuation", "[S]\nA=x \\\n\nB=2\n", "[S]\n3:A=x\n4:B=2\n", nil},
		{"double-backslash-not-continuation", "[S]\nA=x\\\\\nB=y\n", "[S]\n2:A=x\\\\\n3:B=y\n", nil},
		{"triple-backslash-continues", "[S]\nA=x\\\\\\\ny\n", "[S]\n3:A=x\\\\ y\n", nil},
		{"continuation-at-eof", "[S]\nA=x \\\ny \\", "[S]\n4:A=x  y\n", nil},
		{"crlf", "[Unit]\r\nA=1\r\nB=2\r\n", "[Unit]\n2:A=1\n3:B=2\n", nil},
		{"cr-only", "[Unit]\rA=1\rB=2", "[Unit]\n2:A=1\n3:B=2\n", nil},
		{"nul-ends-line", "[Unit]\x00A=1\n", "[Unit]\n2:A=1\n", nil},
		{"double-newline-counts", "[Unit]\n\nA=1\n", "[Unit]\n3:A=1\n", nil},
		{"bom", "\ufeff[Unit]\nA=1\n", "[Unit]\n2:A=1\n", nil},
		{"value-with-equals", "[S]\nEnvironment=A=b C=d\n", "[S]\n2:Environment=A=b C=d\n", nil},
		{"empty-value", "[S]\nA=\n", "[S]\n2:A=\n", nil},
		{"repeated-section", "[A]\nx=1\n[B]\ny=2\n[A]\nz=3\n", "[A]\n2:x=1\n[B]\n4:y=2\n[A]\n6:z=3\n", nil},
		{"section-with-space", "[X-My Section]\nk=v\n", "[X-My Section]\n2:k=v\n", nil},
		{"empty-section-name", "[]\nA=1\n", "[]\n2:A=1\n", nil},
		{"outside-section", "A=1\n[Unit]\n", "[Unit]\n", []string{"1:warning:Assignment outside of section. Ignoring."}},
		{"missing-equals", "[Unit]\nfoo\nB=1\n", "[Unit]\n3:B=1\n", []string{"2:warning:Missing '=', ignoring line."}},
		{"missing-key", "[Unit]\n =foo\n", "[Unit]\n", []string{"2:warning:Missing key name before '=', ignoring line."}},
		{"section-warnings-kept-in-section", "[X-Foo]\nno equals\n", "[X-Foo]\n", []string{"2:warning:Missing '=', ignoring line."}},
		{"bad-utf8", "[Unit]\nA=\xff\nB=1\n", "[Unit]\n", []string{"2:error:String is not UTF-8 clean, ignoring assignment: A=\uFFFD"}},
		{"invalid-header", "[Unit]\nA=1\n[Service\nB=2\n", "[Unit]\n2:A=1\n", []string{"3:error:Invalid section header '[Service'"}},
		{"bad-chars-header", "[Un\"it]\n", "", []string{"1:error:Bad characters in section header '[Un\"it]'"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, diags := ParseFile("f", []byte(tc.in))
			if got := flat(f); got != tc.want {
				t.Errorf("ParseFile(%q) =\n%s\nwant\n%s", tc.in, got, tc.want)
			}
			var got []string
			for _, s := range f.Sections {
				diags = append(diags, s.Warnings...)
			}
			for _, d := range diags {
				sev := "warning"
				if d.Severity == Error {
					sev = "error"
				}
				got = append(got, fmt.Sprintf("%d:%s:%s", d.Line, sev, d.Msg))
			}
			if strings.Join(got, "\n") != strings.Join(tc.diags, "\n") {
				t.Errorf("diagnostics =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.diags, "\n"))
			}
		})
	}
}

func TestParseFileLongLines(t *testing.T) {
	// systemd (checked with systemd-analyze verify): 1048575 bytes load, 1048576 do not
	long := strings.Repeat("x", MaxLineLength-1-len("A="))
	f, diags := ParseFile("f", []byte("[S]\nA="+long+"\n"))
	if len(diags) != 0 || len(f.Sections[0].Entries) != 1 {
		t.Fatalf("a line under 1 MiB must load: %v", diags)
	}
	_, diags = ParseFile("f", []byte("[S]\nA="+long+"y\n"))
	if len(diags) != 1 || diags[0].Severity != Error || diags[0].Msg != "Line too long" || diags[0].Line != 2 {
		t.Fatalf("1 MiB line: %v", diags)
	}
	half := strings.Repeat("x", MaxLineLength/2+10)
	_, diags = ParseFile("f", []byte("[S]\nA="+half+"\\\n"+half+"\n"))
	if len(diags) != 1 || diags[0].Severity != Error || diags[0].Msg != "Continuation line too long" {
		t.Fatalf("long continuation: %v", diags)
	}
}

func FuzzParseFile(f *testing.F) {
	for _, s := range []string{
		"[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true\n",
		"[S]\nA=1 \\\n# c\n b\n", "\ufeff[A]\r\nB=c\r\n", "[A\n", "x\\", "[X-Y]\n=\n\x00\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, diags := ParseFile("fuzz", data)
		for _, s := range file.Sections {
			for _, e := range s.Entries {
				if e.Key == "" || strings.ContainsAny(e.Key, "=") {
					t.Errorf("bad key %q", e.Key)
				}
				if strings.TrimSpace(e.Value) != e.Value && !strings.ContainsAny(e.Value, "\v\f\u0085\u00a0") {
					t.Errorf("value not trimmed: %q", e.Value)
				}
				if e.Line < 1 {
					t.Errorf("line %d", e.Line)
				}
			}
		}
		for _, d := range diags {
			if d.Msg == "" {
				t.Errorf("empty diagnostic")
			}
		}
		// decoding what was parsed must never panic
		for _, name := range []string{"a.service", "a.socket", "a.target"} {
			u := newTestUnit(name)
			u.setLoadState(Loaded)
			Decode(u, []*File{file}, testExpander(u))
		}
	})
}

// TestPos: a Pos reads and encodes as "file:line", and no position as "".
func TestPos(t *testing.T) {
	file := strings.Repeat("/x", 3) + "/a.service"
	p := PosOf(file, 12)
	if p.File() != file || p.Line() != 12 || p.String() != "/x/x/x/a.service:12" || p.IsZero() {
		t.Errorf("PosOf: %q %d %q", p.File(), p.Line(), p.String())
	}
	if e := (Entry{File: file, Line: 3}); e.Where().String() != e.Pos() {
		t.Errorf("Entry: Where %q, Pos %q", e.Where(), e.Pos())
	}
	var zero Pos
	if zero.String() != "" || !zero.IsZero() || zero.File() != "" {
		t.Errorf("zero Pos: %q", zero.String())
	}
	if b, err := json.Marshal(struct{ A, B Pos }{p, zero}); err != nil || string(b) != `{"A":"/x/x/x/a.service:12","B":""}` {
		t.Errorf("JSON: %s %v", b, err)
	}
}
