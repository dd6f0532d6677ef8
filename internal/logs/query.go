package logs

import (
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Filter selects entries as journalctl's matches do: every non-empty part must match.
type Filter struct {
	// Units are patterns (path.Match, as journalctl's fnmatch) on Line.Unit: the unit whose
	// output a line is, or that the manager's message is about (journalctl -u).
	Units []string
	// Identifiers are SYSLOG_IDENTIFIER values (journalctl -t).
	Identifiers []string
	// Priorities has bit n set for each priority n shown (journalctl -p); 0 shows every one.
	Priorities uint8
	// Grep matches MESSAGE (journalctl -g).
	Grep *regexp.Regexp
	// Sender, when set, must accept the line too: the lines a reader may see.
	Sender func(*Line) bool

	notBefore time.Time // Query's since: a bound, not a starting point
}

// exactNames turns unit names into patterns that match only themselves.
func exactNames(units []string) []string {
	out := make([]string, 0, len(units))
	for _, u := range units {
		out = append(out, ExactPattern(u))
	}
	return out
}

// ExactPattern is a Filter.Units pattern that matches s alone.
func ExactPattern(s string) string {
	if !strings.ContainsAny(s, `*?[\`) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// unitMatch reports whether a unit name matches one of the patterns (all when none).
func (f *Filter) unitMatch(name string) bool {
	if len(f.Units) == 0 {
		return true
	}
	for _, p := range f.Units {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// Match reports whether f selects l (a nil f selects every line).
func (f *Filter) Match(l *Line) bool {
	return f == nil || f.unitMatch(l.Unit) && f.matchRest(l)
}

// matchRest is Match without the unit patterns.
func (f *Filter) matchRest(l *Line) bool {
	if f.Priorities != 0 && (l.Priority < 0 || l.Priority > 7 || f.Priorities&(1<<l.Priority) == 0) {
		return false
	}
	if len(f.Identifiers) > 0 && (l.Source == nil || !slices.Contains(f.Identifiers, l.Source.Ident)) {
		return false
	}
	if !f.notBefore.IsZero() && l.Time.Before(f.notBefore) {
		return false
	}
	if f.Sender != nil && !f.Sender(l) {
		return false
	}
	return f.Grep == nil || f.Grep.MatchString(l.Text)
}

// Range positions a selection as journalctl 252 positions its output in the matching
// entries, and bounds it.
type Range struct {
	Since, Until time.Time // zero: unbounded
	// Cursor, when set, is where the output starts: at the entry it names (or the first one
	// after where it would be), or just after it with AfterCursor; going back from there with
	// Reverse.
	Cursor      *Cursor
	AfterCursor bool
	Lines       int  // at most this many entries; -1: no limit
	Reverse     bool // newest first
}

// Select returns the entries that f matches, positioned and bounded by r as journalctl
// does (Position).
func (s *Store) Select(f *Filter, r Range) []Line {
	if f == nil {
		f = &Filter{}
	}
	s.mu.Lock()
	var es []Line
	for key, rg := range s.units {
		name := unitOfKey(key)
		if !f.unitMatch(name) {
			continue
		}
		rg.each(func(e *entry) {
			l := s.line(name, e)
			if f.matchRest(&l) {
				withFields(&l, e)
				es = append(es, l)
			}
		})
	}
	s.mu.Unlock()
	// The sequence number is the order in which lines arrived: the journal's order.
	slices.SortFunc(es, func(a, b Line) int {
		switch {
		case a.Seq < b.Seq:
			return -1
		case a.Seq > b.Seq:
			return 1
		}
		return 0
	})
	return Position(es, r, s.id)
}

// Units returns the names of the units that have lines, sorted.
func (s *Store) Units() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.units))
	for key, r := range s.units {
		if r.n > 0 {
			out = append(out, unitOfKey(key))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Position applies r to entries es (in the journal's order; storeID names the store they come
// from, for cursors), as journalctl 252 walks the journal: it starts
//   - at the cursor, if one is given (forward, or backward with Reverse);
//   - else at the first entry from Since on, forward, when Since is set and not Reverse;
//   - else at the last entry up to Until, backward, when Until is set and Reverse;
//   - else at the newest entry, backward, with Reverse;
//   - else Lines entries before the end, forward, when Lines >= 0;
//   - else at the oldest entry, forward;
//
// and goes on until Lines entries are shown, or (forward) an entry is later than Until, or
// (backward) earlier than Since. So `--since X -n 5` shows the first five entries from X on,
// and `--until X -n 5` the last five of the journal if they are not after X, else none.
func Position(es []Line, r Range, storeID string) []Line {
	n := len(es)
	start, step := 0, 1
	switch {
	case r.Cursor != nil:
		if r.Reverse {
			// The last entry at or before the cursor's place.
			start = -1
			for i := n - 1; i >= 0; i-- {
				if c := r.Cursor.compare(&es[i], storeID); c <= 0 {
					start = i
					if r.AfterCursor && c == 0 {
						start = i - 1
					}
					break
				}
			}
			step = -1
		} else {
			start = n
			for i := range es {
				if c := r.Cursor.compare(&es[i], storeID); c >= 0 {
					start = i
					if r.AfterCursor && c == 0 {
						start = i + 1
					}
					break
				}
			}
		}
	case !r.Since.IsZero() && !r.Reverse:
		start = n
		for i := range es {
			if !es[i].Time.Before(r.Since) {
				start = i
				break
			}
		}
	case !r.Until.IsZero() && r.Reverse:
		start, step = -1, -1
		for i := n - 1; i >= 0; i-- {
			if !es[i].Time.After(r.Until) {
				start = i
				break
			}
		}
	case r.Reverse:
		start, step = n-1, -1
	case r.Lines >= 0:
		start = max(0, n-r.Lines)
	}
	var out []Line
	for i := start; i >= 0 && i < n; i += step {
		if r.Lines >= 0 && len(out) >= r.Lines {
			break
		}
		e := &es[i]
		if step > 0 && !r.Until.IsZero() && e.Time.After(r.Until) {
			break
		}
		if step < 0 && !r.Since.IsZero() && e.Time.Before(r.Since) {
			break
		}
		out = append(out, *e)
	}
	return out
}
