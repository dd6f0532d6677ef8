package main

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/flint-init/flint/internal/sandbox"
	"github.com/flint-init/flint/unit"
)

// notEnforcedWarning ends verify's line for a directive flint parses but does not enforce.
const notEnforcedWarning = "is parsed but not enforced by flint, ignoring."

// notAppliedHere ends verify's line for a security label whose module this machine has
// not enabled: systemd skips the label there too.
const notAppliedHere = "is not applied here: %s is not enabled, ignoring."

// notEnforced is the unit package's registry of such directives: "Section\x00Name".
var notEnforced = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	for _, d := range unit.Directives() {
		if d.Status == unit.NotEnforced {
			m[d.Section+"\x00"+d.Name] = true
		}
	}
	return m
})

// warnNotEnforced prints one line per assignment of a directive flint does not enforce,
// or of a security label of a module not enabled here, at its file and line, in the order
// the files apply.
func warnNotEnforced(w io.Writer, l *unit.Loader, u *unit.Unit) {
	typeSection := ""
	if t := string(u.Type); t != "" {
		typeSection = strings.ToUpper(t[:1]) + t[1:]
	}
	for _, f := range l.SourceFiles(u) {
		for _, s := range f.Sections {
			if s.Name != "Unit" && s.Name != "Install" && s.Name != typeSection {
				continue
			}
			for _, e := range s.Entries {
				if notEnforced()[s.Name+"\x00"+e.Key] {
					fmt.Fprintf(w, "%s:%d: %s= %s\n", unit.Printable(e.File), e.Line, e.Key, notEnforcedWarning)
				} else if mod, on, ok := sandbox.LabelModule(e.Key); ok && !on && strings.TrimPrefix(e.Value, "-") != "" {
					fmt.Fprintf(w, "%s:%d: %s= "+notAppliedHere+"\n", unit.Printable(e.File), e.Line, e.Key, mod)
				}
			}
		}
	}
}
