package unit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"unicode/utf8"

	"github.com/flint-init/flint/unit/internal/fuzztree"
)

func TestParseEnvironmentFile(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
		err      bool
	}{
		{"simple", "A=1\nB=2\n", []string{"A=1", "B=2"}, false},
		{"blanks", "  A = 1  \n\tB=  two words  \n", []string{"A=1", "B=two words"}, false},
		{"comments", "# c\n; c\nA=1 # not a comment\n", []string{"A=1 # not a comment"}, false},
		{"comment-continued", "# c \\\nA=1\nB=2\n", []string{"B=2"}, false},
		{"single-quotes", "A='x \"y\" \\n'\n", []string{`A=x "y" \n`}, false},
		{"double-quotes", `A="a \"b\" \$c \\ \n \x"` + "\n", []string{`A=a "b" $c \ \n \x`}, false},
		{"quotes-join", "A='x' 'y'z\n", []string{"A=xyz"}, false},
		{"quote-mid-value-literal", "A=x'y'\n", []string{"A=x'y'"}, false},
		{"escape", `A=a\ b\\c` + "\n", []string{`A=a b\c`}, false},
		{"continuation", "A=a\\\nb\n", []string{"A=ab"}, false},
		{"dq-continuation", "A=\"a\\\nb\"\n", []string{"A=ab"}, false},
		{"empty-value", "A=\nB=\n", []string{"A=", "B="}, false},
		{"no-equals", "JUSTKEY\nA=1\n", []string{"A=1"}, false},
		{"later-wins", "A=1\nB=2\nA=3\n", []string{"A=3", "B=2"}, false},
		{"export-dropped", "export A=1\nB=2\n", []string{"B=2"}, false},
		{"invalid-name-dropped", "1A=1\nA-B=2\nC=3\n", []string{"C=3"}, false},
		{"no-final-newline", "A=1", []string{"A=1"}, false},
		{"crlf", "A=1\r\nB=2\r\n", []string{"A=1", "B=2"}, false},
		{"bad-utf8", "A=\xff\n", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseEnvironmentFile([]byte(tc.in))
			if (err != nil) != tc.err || !tc.err && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseEnvironmentFile(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

// FuzzParseEnvironmentFile: any bytes parse without panic into valid assignments (a valid
// variable name, '=', UTF-8) with no name twice, or into an error without control
// characters; what follows a NUL is not read; and the assignments, written back as
// NAME="value" lines with \ " ` $ escaped, parse to themselves.
func FuzzParseEnvironmentFile(f *testing.F) {
	for _, s := range []string{
		"A=1\nB=2\n", "  A = 1  \n\tB=  two words  \n", "# c \\\nA=1\nB=2\n", "A='x \"y\" \\n'\n",
		`A="a \"b\" \$c \\ \n \x"` + "\n", "A='x' 'y'z\n", `A=a\ b\\c` + "\n", "A=a\\\nb\n", "A=\"a\\\nb\"\n",
		"export A=1\n1A=1\nA-B=2\n", "A=1\r\nB=2\r\n", "A=\xff\n", "\x1b[2J=\xff\n", "A=1\x00B=2\n",
		"A=\"unterminated\n", "A='x\ny'\n", "A=\"\x1b]0;t\x07\"\n", ";c\nK=v # not a comment\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := ParseEnvironmentFile(data)
		if err != nil {
			if Printable(err.Error()) != err.Error() {
				t.Errorf("error with control characters: %q", err)
			}
			return
		}
		if i := bytes.IndexByte(data, 0); i >= 0 {
			before, err2 := ParseEnvironmentFile(data[:i])
			if err2 != nil || !reflect.DeepEqual(before, env) {
				t.Errorf("NUL: %q, the text before it %q, %v", env, before, err2)
			}
		}
		seen := map[string]bool{}
		var b strings.Builder
		for _, kv := range env {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || !envNameValid(k) || !utf8.ValidString(v) || seen[k] {
				t.Fatalf("bad assignment %q in %q", kv, env)
			}
			seen[k] = true
			b.WriteString(k + "=\"")
			for _, c := range []byte(v) {
				if strings.IndexByte("\\\"`$", c) >= 0 {
					b.WriteByte('\\')
				}
				b.WriteByte(c)
			}
			b.WriteString("\"\n")
		}
		again, err := ParseEnvironmentFile([]byte(b.String()))
		if err != nil || !reflect.DeepEqual(again, env) && len(env) > 0 {
			t.Errorf("%q written back as %q parses to %q, %v", env, b.String(), again, err)
		}
	})
}

// TestReadEnvironmentFile: an EnvironmentFile= is read with ReadFile (a FIFO is refused at
// once, /dev/null is empty) and every error names the file.
func TestReadEnvironmentFile(t *testing.T) {
	dir := t.TempDir()
	ok, bad, fifo := filepath.Join(dir, "ok"), filepath.Join(dir, "bad"), filepath.Join(dir, "fifo")
	os.WriteFile(ok, []byte("A=1\nB='two'\n"), 0o644)
	os.WriteFile(bad, []byte("A=\x1b\xff\n"), 0o644)
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if env, err := ReadEnvironmentFile(ok); err != nil || !reflect.DeepEqual(env, []string{"A=1", "B=two"}) {
		t.Errorf("%s: %q, %v", ok, env, err)
	}
	if env, err := ReadEnvironmentFile("/dev/null"); err != nil || len(env) != 0 {
		t.Errorf("/dev/null: %q, %v", env, err)
	}
	var err error
	fuzztree.Within(t, "ReadEnvironmentFile of a FIFO", func() { _, err = ReadEnvironmentFile(fifo) })
	if !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), fifo) {
		t.Errorf("%s: %v", fifo, err)
	}
	_, err = ReadEnvironmentFile(bad)
	if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), `invalid UTF-8 value for key A: '\033`+"\uFFFD'") {
		t.Errorf("%s: %v", bad, err)
	}
}
