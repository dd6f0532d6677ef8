package difftest

import (
	"github.com/flint-init/flint/unit/show"
	"reflect"
	"strings"
	"testing"
)

func TestSplitStrv(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a.service b.service", []string{"a.service", "b.service"}},
		{`A=1 "B=2 3"`, []string{"A=1", "B=2 3"}},
		{`"system-svc\\x2dtpl.slice" -.mount`, []string{`system-svc\x2dtpl.slice`, "-.mount"}},
		{`"TAB=a\tb" "CTRL=\x01"`, []string{"TAB=a\tb", "CTRL=\x01"}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := SplitStrv(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("SplitStrv(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzStrvRoundTrip: what unit.FormatStrv prints, SplitStrv reads back.
func FuzzStrvRoundTrip(f *testing.F) {
	for _, s := range []string{"a", "B=2 3", `x\y`, "tab\there", "\x01\xff", `"q" $v ` + "`c`", "héllo wörld"} {
		f.Add(s, "second")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		var list []string
		for _, s := range []string{a, b} {
			if s != "" {
				list = append(list, s)
			}
		}
		got := SplitStrv(show.FormatStrv(list))
		if !reflect.DeepEqual(got, list) {
			t.Errorf("round trip of %q through %q gave %q", list, show.FormatStrv(list), got)
		}
		if q := show.ShellQuote(a); strings.ContainsAny(q, "\n\t") {
			t.Errorf("ShellQuote(%q) = %q keeps a raw control character", a, q)
		}
	})
}
