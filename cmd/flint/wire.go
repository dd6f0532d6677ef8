package main

import (
	"time"

	"github.com/flint-init/flint/client"
	"github.com/flint-init/flint/unit"
)

// Wiring of the offline verbs to a running manager and to the [Install] logic.
func init() {
	runtimeProperties = func(g *globals, name string) ([]unit.Property, bool) {
		c := client.New(g.control)
		c.Timeout = 500 * time.Millisecond
		sts, err := c.Show([]string{name}, nil)
		if err != nil || len(sts) == 0 {
			return nil, false
		}
		out := make([]unit.Property, 0, len(sts[0].Props))
		for _, p := range sts[0].Props {
			out = append(out, unit.Property{Name: p.Name, Value: p.Value})
		}
		return out, true
	}
	unitFileState = func(l *unit.Loader, name string) (string, bool) {
		st, err := unit.IsEnabled(l, name)
		if err != nil {
			return "", false
		}
		return st, true
	}
}
