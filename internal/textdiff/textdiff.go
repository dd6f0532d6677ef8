// Package textdiff shows how two texts differ line by line, for test failure messages.
package textdiff

import "strings"

// Lines lists the lines only in want, each after wantMark, then the lines only in got, each
// after gotMark (order kept, duplicates not counted).
func Lines(want, got, wantMark, gotMark string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	w, g := in(want), in(got)
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			b.WriteString(wantMark + l + "\n")
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			b.WriteString(gotMark + l + "\n")
		}
	}
	return b.String()
}
