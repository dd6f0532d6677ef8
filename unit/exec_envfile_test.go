package unit

import (
	"reflect"
	"testing"
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
