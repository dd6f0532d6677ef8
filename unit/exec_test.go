package unit

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func simpleExpander(s string) (string, error) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 >= len(s) {
			b.WriteByte('%')
			break
		}
		i++
		switch s[i] {
		case '%':
			b.WriteByte('%')
		case 'n':
			b.WriteString("foo.service")
		case 'i':
			b.WriteString("inst")
		case 'p':
			b.WriteString("foo")
		case 't':
			b.WriteString("/run")
		default:
			return "", fmt.Errorf("unknown specifier %%%c", s[i])
		}
	}
	return b.String(), nil
}

func TestSplitCommandLine(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
		err      bool
	}{
		{"plain", "/bin/echo a b", []string{"/bin/echo", "a", "b"}, false},
		{"double-quotes", `/bin/echo "a b" c`, []string{"/bin/echo", "a b", "c"}, false},
		{"single-quotes", `/bin/echo 'a "b"'`, []string{"/bin/echo", `a "b"`}, false},
		{"quote-mid-word", `a"b c"d`, []string{"ab cd"}, false},
		{"escapes", `x \n \t \x41 \101 \u00e9`, []string{"x", "\n", "\t", "A", "A", "é"}, false},
		{"escape-in-quotes", `"a\"b"`, []string{`a"b`}, false},
		{"escaped-space-unknown", `a\ b`, []string{`a\ b`}, false},
		{"vars-kept", `echo $FOO ${BAR}`, []string{"echo", "$FOO", "${BAR}"}, false},
		{"unknown-escape-kept", `a\qb`, []string{`a\qb`}, false},
		{"empty", "", nil, false},
		{"blanks", "  \t ", nil, false},
		{"unterminated", `"abc`, nil, true},
		{"trailing-backslash", `abc\`, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SplitCommandLine(tc.in)
			if (err != nil) != tc.err || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("SplitCommandLine(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParseExec(t *testing.T) {
	type cmd struct {
		path  string
		argv  []string
		flags ExecFlags
	}
	for _, tc := range []struct {
		name, in string
		want     []cmd
		fatal    bool // the unit fails to load
		ignored  bool // an error, but only a warning thanks to '-'
	}{
		{"simple", "/bin/echo hello", []cmd{{"/bin/echo", []string{"/bin/echo", "hello"}, ExecFlags{}}}, false, false},
		{"bare-name", "echo hi", []cmd{{"echo", []string{"echo", "hi"}, ExecFlags{}}}, false, false},
		{"dash", "-/bin/false", []cmd{{"/bin/false", []string{"/bin/false"}, ExecFlags{IgnoreFailure: true}}}, false, false},
		{"at-argv0", "@/bin/busybox sh -c true", []cmd{{"/bin/busybox", []string{"sh", "-c", "true"}, ExecFlags{ArgvZero: true}}}, false, false},
		{"colon", ":/bin/echo $X", []cmd{{"/bin/echo", []string{"/bin/echo", "$X"}, ExecFlags{NoEnvExpand: true}}}, false, false},
		{"plus", "+/bin/true", []cmd{{"/bin/true", []string{"/bin/true"}, ExecFlags{FullPrivilege: true}}}, false, false},
		{"bang", "!/bin/true", []cmd{{"/bin/true", []string{"/bin/true"}, ExecFlags{NoSetuid: true}}}, false, false},
		{"bangbang", "!!/bin/true", []cmd{{"/bin/true", []string{"/bin/true"}, ExecFlags{AmbientOnly: true}}}, false, false},
		{"combo", "-@:+/bin/sh sh", []cmd{{"/bin/sh", []string{"sh"}, ExecFlags{IgnoreFailure: true, ArgvZero: true, NoEnvExpand: true, FullPrivilege: true}}}, false, false},
		{"combo-order", "+-/bin/true", []cmd{{"/bin/true", []string{"/bin/true"}, ExecFlags{IgnoreFailure: true, FullPrivilege: true}}}, false, false},
		{"plus-bang-conflict", "+!/bin/true", nil, true, false},
		{"double-dash", "--/bin/true", nil, false, true},
		{"semicolon", "/bin/a x ; /bin/b y", []cmd{{"/bin/a", []string{"/bin/a", "x"}, ExecFlags{}}, {"/bin/b", []string{"/bin/b", "y"}, ExecFlags{}}}, false, false},
		{"escaped-semicolon", `/bin/find . -exec rm {} \;`, []cmd{{"/bin/find", []string{"/bin/find", ".", "-exec", "rm", "{}", ";"}, ExecFlags{}}}, false, false},
		{"quoted-semicolon", `/bin/echo ";"`, []cmd{{"/bin/echo", []string{"/bin/echo", ";"}, ExecFlags{}}}, false, false},
		{"semicolon-in-word", `/bin/echo a;b`, []cmd{{"/bin/echo", []string{"/bin/echo", "a;b"}, ExecFlags{}}}, false, false},
		{"quoted-args", `/bin/sh -c "echo 'hi there'"`, []cmd{{"/bin/sh", []string{"/bin/sh", "-c", "echo 'hi there'"}, ExecFlags{}}}, false, false},
		{"specifiers", "/bin/echo %n %i %%", []cmd{{"/bin/echo", []string{"/bin/echo", "foo.service", "inst", "%"}, ExecFlags{}}}, false, false},
		{"specifier-in-path", "%t/prog", []cmd{{"/run/prog", []string{"/run/prog"}, ExecFlags{}}}, false, false},
		{"path-cleaned", "/usr//bin/true", []cmd{{"/usr/bin/true", []string{"/usr//bin/true"}, ExecFlags{}}}, false, false},
		{"unknown-specifier", "/bin/echo %z", nil, true, false},
		{"unknown-specifier-dash", "-/bin/echo %z", nil, false, true},
		{"directory", "/usr/bin/", nil, true, false},
		{"relative-path", "bin/true", nil, true, false},
		{"only-prefix", "-", nil, false, true},
		{"only-at", "@", nil, true, false},
		{"at-without-argv0", "@/bin/true", nil, true, false},
		{"unterminated-quote", `/bin/echo "abc`, nil, true, false},
		{"lone-semicolon-first", "; /bin/true", []cmd{{"/bin/true", []string{"/bin/true"}, ExecFlags{}}}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := parseExec(tc.in, simpleExpander, PosOf("f", 1))
			var ee *execError
			isErr := errors.As(err, &ee)
			if tc.fatal || tc.ignored {
				if !isErr {
					t.Fatalf("parseExec(%q) err = %v, want an error", tc.in, err)
				}
				if ee.ignored != tc.ignored {
					t.Errorf("parseExec(%q) ignored = %v, want %v (%s)", tc.in, ee.ignored, tc.ignored, ee.msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseExec(%q): %v", tc.in, err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("parseExec(%q) = %+v, want %d commands", tc.in, got, len(tc.want))
			}
			for i, w := range tc.want {
				if got[i].Path != w.path || !reflect.DeepEqual(got[i].Argv, w.argv) || got[i].Flags != w.flags {
					t.Errorf("command %d = %q %q %+v; want %q %q %+v", i, got[i].Path, got[i].Argv, got[i].Flags, w.path, w.argv, w.flags)
				}
			}
		})
	}
}

func FuzzSplitCommandLine(f *testing.F) {
	for _, s := range []string{"/bin/echo a b", `"a b" 'c d'`, `\x41\101\u00e9`, `a\`, `"x`, `$A ${B}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := SplitCommandLine(s)
		if err != nil {
			return
		}
		for _, w := range words {
			if w == "" && !strings.ContainsAny(s, `"'`) {
				t.Errorf("empty word from %q without quotes", s)
			}
		}
		parseExec(s, simpleExpander, PosOf("f", 1))
	})
}

// FuzzExtractWord: extractWord's shortcut for a word without escapes or quotes gives what
// building the word gives.
func FuzzExtractWord(f *testing.F) {
	for _, s := range []string{"/bin/echo a b", "  x", `"a b" c`, `a\ b`, "a'b'c", "abc", "a\tb", `\`, ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for flags := extractFlags(0); flags < 16; flags++ {
			w, r, ok, err := extractWord(s, flags)
			tr := strings.TrimLeft(s, whitespace)
			if tr == "" {
				continue
			}
			w2, r2, ok2, err2 := extractWordBuilt(tr, flags)
			if w != w2 || r != r2 || ok != ok2 || (err == nil) != (err2 == nil) {
				t.Errorf("extractWord(%q, %d) = %q %q %v %v; built: %q %q %v %v", s, flags, w, r, ok, err, w2, r2, ok2, err2)
			}
		}
	})
}
