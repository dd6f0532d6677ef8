package main

import (
	"slices"
	"strings"
	"testing"
)

// Completion offers a systemctl verb exactly the options the option table ties to it and
// flint honours: no refused one, none of another verb.
func TestCompletionOptionsFromTable(t *testing.T) {
	opts := verbOptions()
	for _, tc := range []struct {
		verb      string
		want, not []string
	}{
		{"list-sockets", []string{"--show-types", "--all"}, []string{"--reverse"}},
		{"start", []string{"--no-block", "--job-mode="}, []string{"--wait", "--show-types"}},
		{"kill", []string{"--signal=", "--kill-whom="}, nil},
		{"show", []string{"--property=", "--value"}, []string{"--dry-run"}},
	} {
		for _, w := range tc.want {
			if !slices.Contains(opts[tc.verb], w) {
				t.Errorf("%s: %s not offered: %v", tc.verb, w, opts[tc.verb])
			}
		}
		for _, w := range tc.not {
			if slices.Contains(opts[tc.verb], w) {
				t.Errorf("%s: %s offered: %v", tc.verb, w, opts[tc.verb])
			}
		}
	}
	for v, ws := range opts {
		if _, ok := verbs[v]; !ok {
			t.Errorf("options for %q, which is no verb", v)
		}
		for _, w := range ws {
			name := strings.TrimSuffix(strings.TrimPrefix(w, "--"), "=")
			for _, o := range ctlOptions {
				if o.Long == name && o.refused {
					t.Errorf("%s: refused option %s offered", v, w)
				}
			}
		}
	}
}
