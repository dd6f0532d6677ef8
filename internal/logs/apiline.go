package logs

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/flint-init/flint/api"
)

// APILine is l as the control protocol carries it; with cursor, with its cursor in the store
// whose ID is storeID.
func APILine(l *Line, storeID string, cursor bool) api.LogLine {
	a := api.LogLine{Time: l.Time, Mono: l.Mono.Microseconds(), Unit: l.Unit, Stream: l.Stream, PID: l.PID, Prio: l.Priority, Text: l.Text}
	if s := l.Source; s != nil {
		a.Ident, a.Comm, a.Exe, a.Cmdline, a.UID, a.GID = s.Ident, s.Comm, s.Exe, s.Cmdline, s.UID, s.GID
		a.Transport, a.Invocation, a.StreamID = s.Transport, s.Invocation, s.StreamID
	}
	for _, f := range l.Fields {
		a.Fields = append(a.Fields, api.LogField{Name: f.Name, Value: f.Value})
	}
	if cursor {
		a.Cursor = CursorOf(l, storeID)
	}
	return a
}

// FilterError is a selection that cannot be made, with the protocol's error code.
type FilterError struct{ Code, Msg string }

func (e *FilterError) Error() string { return e.Msg }

// FilterOf is the selection of a logs request: its units (names, completed by normalize, or
// journalctl's glob patterns), identifiers, priorities and pattern. A request whose units are
// all patterns that match none of the names withLines returns fails as journalctl fails for
// them.
func FilterOf(units []string, mt *api.LogMatch, normalize func(string) string, withLines func() []string) (*Filter, error) {
	f := &Filter{}
	globs, matched := 0, false
	for _, n := range units {
		if strings.ContainsAny(n, "*?[") {
			if _, err := path.Match(n, ""); err != nil {
				return nil, &FilterError{"bad-request", fmt.Sprintf("Bad unit pattern %q: %v", n, err)}
			}
			globs++
			f.Units = append(f.Units, n)
			continue
		}
		f.Units = append(f.Units, ExactPattern(normalize(n)))
		matched = true
	}
	if globs > 0 && !matched {
		names := withLines()
		for _, p := range f.Units {
			for _, n := range names {
				if ok, _ := path.Match(p, n); ok {
					matched = true
				}
			}
		}
		if !matched {
			return nil, &FilterError{"no-data", "Failed to add filter for units: No data available"}
		}
	}
	if mt != nil {
		f.Identifiers = mt.Identifiers
		f.Priorities = uint8(mt.Priorities)
		if mt.Grep != "" {
			re, err := regexp.Compile(mt.Grep)
			if err != nil {
				return nil, &FilterError{"bad-request", fmt.Sprintf("Bad pattern %q: %v", mt.Grep, err)}
			}
			f.Grep = re
		}
	}
	return f, nil
}
