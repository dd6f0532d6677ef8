package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/flint-init/flint/internal/cgroup"
	"github.com/flint-init/flint/internal/cgroup/bpf"
	"github.com/flint-init/flint/unit"
)

// bpfUnavailable says why this machine cannot attach cgroup BPF programs to a unit's cgroup
// ("" when it can): no writable cgroup2 hierarchy, or the kernel refusing bpf(2).
var bpfUnavailable = sync.OnceValue(func() string {
	l := cgroup.Detect()
	switch {
	case l.Kind == cgroup.None:
		return "no cgroups: " + l.Why
	case !l.Tracking.V2:
		return "no cgroup2 hierarchy (cgroup v1 only)"
	}
	if err := bpf.Supported(); err != nil {
		return "the kernel refuses cgroup BPF programs: " + err.Error()
	}
	return ""
})

// warnBPF prints one line per assignment of a directive flint enforces with cgroup BPF
// programs when this machine cannot attach them: the manager would refuse to start the unit.
func warnBPF(w io.Writer, l *unit.Loader, u *unit.Unit) {
	typeSection := ""
	if t := string(u.Type); t != "" {
		typeSection = strings.ToUpper(t[:1]) + t[1:]
	}
	if typeSection != "Service" && typeSection != "Socket" && typeSection != "Slice" {
		return
	}
	for _, f := range l.SourceFiles(u) {
		for _, s := range f.Sections {
			if s.Name != typeSection {
				continue
			}
			for _, e := range s.Entries {
				if e.Value == "" || !slices.Contains(unit.BPFDirectives, e.Key) ||
					typeSection == "Slice" && e.Key != "IPAddressDeny" { // a slice's deny list holds for its units
					continue
				}
				if why := bpfUnavailable(); why != "" {
					fmt.Fprintf(w, "%s:%d: %s= cannot be enforced here (%s): flint refuses to start the unit.\n",
						unit.Printable(e.File), e.Line, e.Key, why)
				}
			}
		}
	}
}
