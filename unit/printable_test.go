package unit

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPrintable(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{`a\x2db.service C:\path "q" 'q'`, `a\x2db.service C:\path "q" 'q'`}, // backslashes and quotes kept
		{"ünïcödé ✓ 日本", "ünïcödé ✓ 日本"},
		{"\x1b[31mred\x1b[0m", `\033[31mred\033[0m`},
		{"\x1b]0;title\x07", `\033]0;title\a`},
		{"a\nb\rc\td\ve\ff\bg", `a\nb\rc\td\ve\ff\bg`},
		{"\x00\x01\x7f", `\000\001\177`},
		{"\u009b31m", `\302\23331m`}, // C1 CSI, as UTF-8: both bytes escaped
		{"bar\xff\xfe", "bar\uFFFD\uFFFD"},
		{"\xe2\x82", "\uFFFD\uFFFD"}, // a truncated sequence: each byte
		{"\uFFFD", "\uFFFD"},
	} {
		if got := Printable(tc.in); got != tc.want {
			t.Errorf("Printable(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzPrintable: the result is valid UTF-8 without a control character, and Printable leaves
// it as it is.
func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"", "x", "\x1b[2J", "\xff", "\u009b", "a\\b", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := Printable(s)
		if !utf8.ValidString(p) || Printable(p) != p {
			t.Fatalf("Printable(%q) = %q", s, p)
		}
		for _, r := range p {
			if isControl(r) {
				t.Fatalf("Printable(%q) = %q holds %U", s, p, r)
			}
		}
	})
}

// TestHostileUnitMessages: unit files made to drive a terminal (escape sequences and control
// characters in section names, keys and values, invalid UTF-8) load as systemd loads them,
// and every message about them is printable, in systemd's words with the quoted text
// escaped; a key made of escape sequences is rejected as an unknown key.
func TestHostileUnitMessages(t *testing.T) {
	base := "[Unit]\nDescription=ok\n[Service]\nExecStart=/bin/true\n"
	for _, tc := range []struct {
		name, content string
		state         LoadState
		msg           string // the message at line 5 (or the fatal one)
	}{
		{"key-escapes", base + "\x1b[2J\x1b[H=1\n", Loaded, `Unknown key '\033[2J\033[H' in section [Service], ignoring.`},
		{"key-colour", base + "\x1b[31mRed=1\n", Loaded, `Unknown key '\033[31mRed' in section [Service], ignoring.`},
		{"key-osc", base + "Key\x1b]0;title\x07=1\n", Loaded, `Unknown key 'Key\033]0;title\a' in section [Service], ignoring.`},
		{"key-only-escapes-no-equals", base + "\x1b\x1b\x1b\n", Loaded, "Missing '=', ignoring line."},
		{"value-user", base + "User=\x1b[31mroot\n", BadSetting, `Invalid user/group name or numeric ID: \033[31mroot`},
		{"value-dependency", base + "After=a\x1bb.service\n", Loaded, ""},
		{"section", "[Unit]\nDescription=ok\n[Serv\x1b[2Jice]\nExecStart=/bin/true\n", LoadError, `Bad characters in section header '[Serv\033[2Jice]'`},
		{"utf8-key", base + "Foo\xff=bar\n", LoadError, "String is not UTF-8 clean, ignoring assignment: Foo\uFFFD=bar"},
		{"utf8-value", base + "Foo=bar\xff\xfe\n", LoadError, "String is not UTF-8 clean, ignoring assignment: Foo=bar\uFFFD\uFFFD"},
		{"utf8-section", "[Unit]\nDescription=ok\n[Service\xff]\nExecStart=/bin/true\n", LoadError, "String is not UTF-8 clean, ignoring assignment: [Service\uFFFD]"},
		{"exec-path", base + "ExecStartPre=/bin/tr\x01ue\n", BadSetting, `Executable name contains special characters: /bin/tr\001ue`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "h.service")
			if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			u := NewLoader(System, []string{dir}).Load("h.service")
			if u.LoadState != tc.state {
				t.Errorf("LoadState %s, want %s (%v)", u.LoadState, tc.state, u.Diagnostics)
			}
			var msgs []string
			for _, d := range u.Diagnostics {
				msgs = append(msgs, d.Msg)
				for _, s := range []string{d.Msg, d.String()} {
					if Printable(s) != s {
						t.Errorf("message with control characters: %q", s)
					}
				}
			}
			if Printable(u.LoadError) != u.LoadError {
				t.Errorf("LoadError with control characters: %q", u.LoadError)
			}
			if tc.msg != "" && !slices.Contains(msgs, tc.msg) {
				t.Errorf("messages %q, want %q", msgs, tc.msg)
			}
			if u.Service != nil && (strings.Contains(u.Unit.Description, "\x1b") || u.Service.Exec.User != "") {
				t.Errorf("hostile value applied: Description %q, User %q", u.Unit.Description, u.Service.Exec.User)
			}
		})
	}
}

// TestHostileDropInName: a drop-in whose file name holds an escape sequence is named in
// messages escaped.
func TestHostileDropInName(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "h.service"), []byte("[Service]\nExecStart=/bin/true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := filepath.Join(dir, "h.service.d")
	os.Mkdir(d, 0o755)
	if err := os.WriteFile(filepath.Join(d, "\x1b[2J.conf"), []byte("[Service]\nBogus=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(d, "\x1b]0;x\x07.conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	u := NewLoader(System, []string{dir}).Load("h.service")
	if len(u.Diagnostics) != 2 {
		t.Fatalf("diagnostics %v, want an unknown key and an unreadable drop-in", u.Diagnostics)
	}
	for _, diag := range u.Diagnostics {
		if s := diag.String(); Printable(s) != s || !strings.Contains(s, `\033`) {
			t.Errorf("%q: the drop-in's name is not escaped", s)
		}
	}
}
