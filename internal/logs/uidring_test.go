package logs

import (
	"fmt"
	"testing"
)

// TestUnitlessLinesPerUID: the lines of no unit are kept per sender uid: a user who logs a
// thousand lines pushes out its own older lines, not root's nor another user's; a query for
// every line still returns all of them in order, and Units lists no ring of a uid.
func TestUnitlessLinesPerUID(t *testing.T) {
	s := NewStore(10, "")
	line := func(uid int, text string) Line {
		return Line{Stream: "syslog", Text: text, Source: &Source{Ident: "x", UID: uid, GID: uid}}
	}
	s.Append(line(0, "root's line"))
	s.Append(line(1000, "user's line"))
	s.Append(line(-1, "nobody knows whose"))
	s.Append(Line{Unit: "a.service", Stream: "stdout", Text: "unit line"})
	for i := 0; i < 1000; i++ {
		s.Append(line(65534, fmt.Sprintf("flood %d", i)))
	}
	got := s.Select(nil, Range{Lines: -1})
	var texts []string
	for _, l := range got {
		texts = append(texts, l.Text)
	}
	want := []string{"root's line", "user's line", "nobody knows whose", "unit line"}
	for i := 990; i < 1000; i++ {
		want = append(want, fmt.Sprintf("flood %d", i))
	}
	if fmt.Sprint(texts) != fmt.Sprint(want) {
		t.Errorf("lines kept:\n%q\nwant\n%q", texts, want)
	}
	if u := s.Units(); fmt.Sprint(u) != "[ a.service]" {
		t.Errorf("Units() = %q", u)
	}
	// A filter on a unit does not see the uids' rings.
	if n := len(s.Select(&Filter{Units: []string{"a.service"}}, Range{Lines: -1})); n != 1 {
		t.Errorf("a.service: %d lines", n)
	}
}

// TestUIDRingsBounded: a user who logs under many uids holds at most maxUIDRings rings of at
// most uidRingBytes; the rings written to longest ago go first, root's lines stay.
func TestUIDRingsBounded(t *testing.T) {
	s := NewStore(1000, "")
	s.Append(Line{Stream: "syslog", Text: "root's line", Source: &Source{UID: 0}})
	big := string(make([]byte, 60<<10))
	for uid := 100000; uid < 100000+2*maxUIDRings; uid++ {
		for i := 0; i < 40; i++ {
			s.Append(Line{Stream: "syslog", Text: big, Source: &Source{UID: uid}})
		}
	}
	s.mu.Lock()
	n, bytes := 0, int64(0)
	for k, r := range s.units {
		if k != unitOfKey(k) {
			n++
			bytes += r.bytes
		}
	}
	_, newest := s.units[uidKeyPrefix+fmt.Sprint(100000+2*maxUIDRings-1)]
	_, oldest := s.units[uidKeyPrefix+"100000"]
	s.mu.Unlock()
	if n != maxUIDRings || bytes > maxUIDRings*(uidRingBytes+64<<10) || !newest || oldest {
		t.Errorf("%d uid rings of %d bytes (newest kept %v, oldest kept %v), want %d of at most %d each", n, bytes, newest, oldest, maxUIDRings, uidRingBytes)
	}
	if ls := s.Select(&Filter{}, Range{Lines: -1}); len(ls) == 0 || ls[0].Text != "root's line" {
		t.Errorf("root's line is gone")
	}
}
