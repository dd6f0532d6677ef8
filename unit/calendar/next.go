package calendar

import (
	"errors"
	"slices"
	"time"
)

// Evaluation: the next elapse of a Spec, as calendar_spec_next_usec.

// Next returns the first time strictly after `after` at which the event elapses, as
// calendar_spec_next_usec, in the spec's time zone (UTC for "UTC", the named zone, else
// time.Local); ok is false when it never elapses again.
func (c *Spec) Next(after time.Time) (next time.Time, ok bool) {
	return c.nextIn(after, time.Local)
}

// NextIn is Next with local standing for the local time zone (a manager that follows changes
// of /etc/localtime passes the zone it read last).
func (c *Spec) NextIn(after time.Time, local *time.Location) (time.Time, bool) {
	return c.nextIn(after, local)
}

// nextIn is Next with local standing for the local time zone.
func (c *Spec) nextIn(after time.Time, local *time.Location) (time.Time, bool) {
	if local == nil {
		local = time.Local
	}
	loc := c.zone(local)
	sec := after.Unix()
	if sec > calFormattableMax/calUsecPerSec {
		return time.Time{}, false
	}
	usec := int64(-1)
	if sec >= -1 {
		usec = sec*calUsecPerSec + int64(after.Nanosecond()/1000) // µs, rounded down
	}
	n, err := c.nextUsec(usec, local)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMicro(n).In(loc), true
}

// zone is the time zone the spec is evaluated in.
func (c *Spec) zone(local *time.Location) *time.Location {
	switch {
	case c.utc:
		return time.UTC
	case c.loc != nil:
		return c.loc
	case local == nil:
		return time.Local
	}
	return local
}

var (
	errCalNever = errors.New("the calendar event does not elapse anymore")
	errCalLoop  = errors.New("infinite loop in calendar calculation")
	errCalRange = errors.New("time out of range")
)

// nextUsec is calendar_spec_next_usec: usec and the result are µs since the epoch; local is
// the local time zone.
func (c *Spec) nextUsec(usec int64, local *time.Location) (int64, error) {
	if usec > calFormattableMax {
		return 0, errCalRange
	}
	if usec < -1 { // systemd's usec_t starts at the epoch, and nothing elapses before it
		usec = -1
	}
	// The computation runs in the spec's zone, where it has one, else in the local one; a UTC
	// spec just uses gmtime instead of localtime there.
	zone := c.loc
	if zone == nil {
		zone = local
	}
	k := &calCalc{spec: c, loc: c.zone(local), base: usec, leaps: calLeapsOf(zone)}
	usec++
	t := usec / calUsecPerSec
	tmUsec := int(usec % calUsecPerSec)
	tm := k.convert(t)
	if err := k.findNext(&tm, &tmUsec); err != nil {
		return 0, err
	}
	t = k.mktime(&tm)
	if t < 0 {
		return 0, errCalRange
	}
	return t*calUsecPerSec + int64(tmUsec), nil
}

// calTM is struct tm.
type calTM struct {
	sec, min, hour, mday, mon, year, wday, yday, isdst int
}

// calCalc holds what one evaluation needs: the zone, and mktime's remembered offset.
type calCalc struct {
	spec  *Spec
	loc   *time.Location
	base  int64 // the µs the elapse must be after
	last  int64 // the time of the last withinBounds
	leaps calLeaps
}

// convert is localtime_r(3) or, for UTC specs, gmtime_r(3), both of which apply the leap
// seconds of a "right/" zone.
func (k *calCalc) convert(t int64) calTM {
	u := time.Unix(t, 0).In(k.loc)
	isdst := !k.spec.utc && u.IsDST()
	if k.leaps != nil {
		corr, hit := k.leaps.at(t)
		_, off := u.Zone()
		u = time.Unix(t+int64(off)-corr, 0).UTC()
		tm := calTMOf(u, isdst)
		tm.sec += hit
		return tm
	}
	return calTMOf(u, isdst)
}

func calTMOf(u time.Time, isdst bool) calTM {
	return calTM{
		sec: u.Second(), min: u.Minute(), hour: u.Hour(), mday: u.Day(), mon: int(u.Month()) - 1,
		year: u.Year() - 1900, wday: int(u.Weekday()), yday: u.YearDay() - 1, isdst: b2i(isdst),
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// mktime normalizes *tp and returns its time (seconds since the epoch), doing for find_next
// what mktime(3), or timegm(3) for a UTC spec, does for systemd: fields out of range carry
// over (the 32nd of a month is a day of the next); a local time the clock shows twice (a
// fold) is taken with the requested tm_isdst where there is one, else the earlier; one it
// skips (a gap) moves on by the size of the gap. -1 when out of range.
func (k *calCalc) mktime(tp *calTM) int64 {
	year := int64(tp.year) + 1900
	if year < -1e6 || year > 1e6 { // far beyond anything a calendar spec can ask for
		return -1
	}
	wall := time.Date(int(year), time.Month(tp.mon+1), tp.mday, tp.hour, tp.min, tp.sec, 0, time.UTC).Unix()
	t := k.fromWall(wall, tp.isdst)
	*tp = k.convert(t)
	return t
}

// wallOf is the zone's clock at t, as the seconds of a UTC clock showing the same.
func (k *calCalc) wallOf(t int64) int64 {
	tm := k.convert(t)
	return time.Date(tm.year+1900, time.Month(tm.mon+1), tm.mday, tm.hour, tm.min, tm.sec, 0, time.UTC).Unix()
}

// fromWall is the time at which the zone's clock shows wall (see wallOf); isdst picks the
// side of a fold when it is 0 or 1.
func (k *calCalc) fromWall(wall int64, isdst int) int64 {
	if k.spec.utc && k.leaps == nil {
		return wall
	}
	// The offsets in effect a day either side: a zone changes its offset far less often.
	var found []int64
	for _, probe := range []int64{wall - 86400, wall, wall + 86400} {
		t := wall - (k.wallOf(probe) - probe)
		if k.wallOf(t) == wall && !slices.Contains(found, t) {
			found = append(found, t)
		}
	}
	slices.Sort(found)
	if len(found) == 0 {
		// A gap: with the offset from before the jump, wall lands as far after the jump as
		// it is after the jump's start.
		before := wall - 86400
		return wall - (k.wallOf(before) - before)
	}
	if isdst >= 0 {
		var same []int64
		for _, t := range found {
			if k.convert(t).isdst == isdst {
				same = append(same, t)
			}
		}
		if len(same) == 0 {
			// The clock never shows wall with that tm_isdst: read it with the offset of the
			// nearest time that has it, as POSIX says mktime presumes the given tm_isdst.
			return k.withDST(wall, isdst)
		}
		found = same
	}
	// In a fold, the first time not before the start of the search.
	for _, t := range found {
		if t >= k.base/calUsecPerSec {
			return t
		}
	}
	return found[len(found)-1]
}

// withDST is wall read with the offset of the nearest time (before or after it, within
// a year) whose tm_isdst is isdst; with none, with the offset at wall and daylight saving
// time taken as one hour ahead of standard time.
func (k *calCalc) withDST(wall int64, isdst int) int64 {
	for d := int64(0); d < 366*86400; d += 86400 {
		for _, probe := range []int64{wall - d, wall + d} {
			if k.convert(probe).isdst == isdst {
				return wall - (k.wallOf(probe) - probe)
			}
		}
	}
	return wall - (k.wallOf(wall) - wall) - 3600*int64(isdst-k.convert(wall).isdst)
}

// findEndOfMonth is find_end_of_month: the day that is day days before the end of tm's month
// (1: the last day), or -1.
func (k *calCalc) findEndOfMonth(tm *calTM, day int) int {
	t := *tm
	t.mon++
	t.mday = 1 - day
	if k.mktime(&t) < 0 || t.mon != tm.mon {
		return -1
	}
	return t.mday
}

// match is find_matching_component: the earliest value of chain ch not below *val; 1 if *val
// changed, 0 if not, -1 if there is none.
func (k *calCalc) match(ch []calComp, isDay bool, tm *calTM, val *int) int {
	if ch == nil {
		return 0
	}
	eom := k.spec.endOfMonth && isDay
	d, dSet := -1, false
	for _, x := range ch {
		start, stop := x.start, x.stop
		if eom {
			start = k.findEndOfMonth(tm, x.start)
			stop = k.findEndOfMonth(tm, x.stop)
			if stop > 0 {
				start, stop = stop, start
			}
		}
		if start >= *val {
			if !dSet || start < d {
				d, dSet = start, true
			}
		} else if x.repeat > 0 {
			n := *val - start
			v := start + x.repeat*(n/x.repeat+b2i(n%x.repeat != 0))
			if (!dSet || v < d) && (stop < 0 || v <= stop) {
				d, dSet = v, true
			}
		}
	}
	if !dSet {
		return -1
	}
	r := b2i(*val != d)
	*val = d
	return r
}

func calCmp(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// withinBounds is tm_within_bounds: 1 if *tm is a normalized time, 0 if it was not (and *tm is
// now the normalized time, with the units below the one that changed reset), <0 for errors.
func (k *calCalc) withinBounds(tm *calTM) int {
	if tm.year+1900 > calMaxYear {
		return -1
	}
	t := *tm
	if k.last = k.mktime(&t); k.last < 0 {
		return -1
	}
	var cmp int
	if cmp = calCmp(t.year, tm.year); cmp != 0 {
		t.mon = 0
	} else if cmp = calCmp(t.mon, tm.mon); cmp != 0 {
		t.mday = 1
	} else if cmp = calCmp(t.mday, tm.mday); cmp != 0 {
		t.hour = 0
	} else if cmp = calCmp(t.hour, tm.hour); cmp != 0 {
		t.min = 0
	} else if cmp = calCmp(t.min, tm.min); cmp != 0 {
		t.sec = 0
	} else {
		cmp = calCmp(t.sec, tm.sec)
	}
	if cmp < 0 {
		return -2 // refuse to go backward
	}
	if cmp > 0 {
		*tm = t
		return 0
	}
	return 1
}

func (k *calCalc) matchesWeekday(tm *calTM) bool {
	bits := k.spec.weekdays
	if bits < 0 || bits >= calBitsWeekdays {
		return true
	}
	t := *tm
	if k.mktime(&t) < 0 {
		return false
	}
	d := t.wday - 1
	if t.wday == 0 {
		d = 6
	}
	return bits&(1<<d) != 0
}

// findNext is find_next: from *tm and *usec (the broken-down start), the first time the spec
// matches.
func (k *calCalc) findNext(tm *calTM, usec *int) error {
	s := k.spec
	c := *tm
	tmUsec := *usec
	invalidateDST := false
	for iteration := 0; iteration < calMaxIter; iteration++ {
		k.mktime(&c)
		if !invalidateDST {
			c.isdst = s.dst
		}

		c.year += 1900
		r := k.match(s.year, false, &c, &c.year)
		c.year -= 1900
		if r > 0 {
			c.mon, c.mday = 0, 1
			c.hour, c.min, c.sec, tmUsec = 0, 0, 0, 0
		}
		if r < 0 {
			return errCalNever
		}
		if k.withinBounds(&c) <= 0 {
			return errCalNever
		}

		c.mon++
		r = k.match(s.month, false, &c, &c.mon)
		c.mon--
		if r > 0 {
			c.mday = 1
			c.hour, c.min, c.sec, tmUsec = 0, 0, 0, 0
		}
		if r >= 0 {
			r = k.withinBounds(&c)
		}
		if r < 0 {
			c.year++
			c.mon, c.mday = 0, 1
			c.hour, c.min, c.sec, tmUsec = 0, 0, 0, 0
			continue
		}
		if r == 0 {
			continue
		}

		r = k.match(s.day, true, &c, &c.mday)
		if r > 0 {
			c.hour, c.min, c.sec, tmUsec = 0, 0, 0, 0
		}
		if r >= 0 {
			r = k.withinBounds(&c)
		}
		if r < 0 {
			c.mon++
			c.mday = 1
			c.hour, c.min, c.sec, tmUsec = 0, 0, 0, 0
			continue
		}
		if r == 0 {
			continue
		}

		if !k.matchesWeekday(&c) {
			c.mday++
			c.hour, c.min, c.sec, tmUsec = 0, 0, 0, 0
			continue
		}

		r = k.match(s.hour, false, &c, &c.hour)
		if r > 0 {
			c.min, c.sec, tmUsec = 0, 0, 0
		}
		if r >= 0 {
			r = k.withinBounds(&c)
		}
		if r < 0 {
			c.mday++
			c.hour, c.min, c.sec, tmUsec = 0, 0, 0, 0
			continue
		}
		if r == 0 {
			continue
		}

		r = k.match(s.minute, false, &c, &c.min)
		if r > 0 {
			c.sec, tmUsec = 0, 0
		}
		if r >= 0 {
			r = k.withinBounds(&c)
		}
		if r < 0 {
			c.hour++
			c.min, c.sec, tmUsec = 0, 0, 0
			continue
		}
		if r == 0 {
			continue
		}

		c.sec = c.sec*calUsecPerSec + tmUsec
		r = k.match(s.microsecond, false, &c, &c.sec)
		tmUsec = c.sec % calUsecPerSec
		c.sec /= calUsecPerSec
		if r >= 0 {
			r = k.withinBounds(&c)
		}
		if r < 0 {
			c.min++
			c.sec, tmUsec = 0, 0
			continue
		}
		if r == 0 {
			continue
		}

		// systemd 252.39 (and later) refuse a candidate before the start, which mktime's
		// normalization with a stale tm_isdst can produce in a fold: they move on by an hour
		// and from then on keep the tm_isdst mktime found. They compare broken-down times,
		// which lets a spec with a daylight saving time abbreviation ("02:30 CEST") return the
		// first pass through a fold when started in the second; Next does not go back in
		// time, and refuses that candidate too.
		if cmp := calCmpTM(tm, &c); cmp > 0 || (cmp == 0 && *usec > tmUsec) ||
			k.last*calUsecPerSec+int64(tmUsec) <= k.base {
			invalidateDST = true
			c.hour++
			continue
		}

		*tm = c
		*usec = tmUsec
		return nil
	}
	return errCalLoop
}

// calCmpTM orders two broken-down times by their fields, year to second.
func calCmpTM(a, b *calTM) int {
	for _, p := range [][2]int{{a.year, b.year}, {a.mon, b.mon}, {a.mday, b.mday}, {a.hour, b.hour}, {a.min, b.min}} {
		if c := calCmp(p[0], p[1]); c != 0 {
			return c
		}
	}
	return calCmp(a.sec, b.sec)
}
