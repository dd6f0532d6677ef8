// Package calendar parses, normalizes and evaluates calendar events (systemd.time(7), "CALENDAR
// EVENTS": OnCalendar=, systemd-analyze calendar) as systemd 252's calendarspec.c does.
//
// Evaluation (Next) follows calendar_spec_next_usec step by step: systemd walks a broken-down
// local time and lets mktime(3) normalize it. calCalc.mktime does that normalization with
// Go's calendar arithmetic and the time package's zone data, and its own rules for daylight
// saving time changes (a skipped local time moves on by the gap; of a local time shown twice,
// the one with the requested tm_isdst, else the first not before the search's start; a
// tm_isdst the clock never has reads the time with the offset of the nearest time that has
// it). These give systemd's results but in a few corners that calendar_systemd_test.go lists.
package calendar

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	calMinYear      = 1970
	calMaxYear      = 2199
	calBitsWeekdays = 127
	calMaxChain     = 240 // CALENDARSPEC_COMPONENTS_MAX
	calMaxIter      = 1000
	calUsecPerSec   = 1000000
	calIntMax       = 1<<31 - 1
	// USEC_TIMESTAMP_FORMATTABLE_MAX: systemd computes no elapse from a later base.
	calFormattableMax = 253402214399000000
)

// calComp is one element of a component chain: start, start..stop, start/repeat or
// start..stop/repeat; stop is -1 when there is none.
type calComp struct {
	start, stop, repeat int
}

// Spec is a parsed systemd.time(7) calendar event (OnCalendar=, systemd-analyze calendar).
type Spec struct {
	weekdays   int // bit 0 is Monday; -1: any day
	endOfMonth bool
	utc        bool
	dst        int    // -1, or 0/1: the local zone's standard/daylight abbreviation was given
	dstName    string // that abbreviation, as tzname[dst] spells it
	timezone   string // an IANA zone name ("" if none)
	loc        *time.Location

	// nil means "*" (any value); microsecond is the seconds field in µs.
	year, month, day, hour, minute, microsecond []calComp
}

// Parse parses a calendar event expression as systemd 252's calendar_spec_from_string:
// the shorthands (minutely, hourly, daily, monthly, weekly, yearly/annually, quarterly,
// semiannually), @UNIX-SECONDS, weekday lists and ranges, year-month-day and hour:minute:second
// components with lists, ranges (..), repetitions (/), '~' (days from the end of the month),
// '*', fractional seconds, a trailing timezone (UTC, a zone name such as Europe/Berlin loaded
// with time.LoadLocation), and the time-only / date-only forms. The error names what is wrong.
func Parse(s string) (*Spec, error) {
	return parseCalendar(s, time.Local)
}

type calError struct {
	expr, what string
}

func (e *calError) Error() string {
	return fmt.Sprintf("invalid calendar specification %q: %s", e.expr, e.what)
}

// calParser walks the expression like systemd's char pointer; at returns 0 past the end.
type calParser struct {
	s     string
	i     int
	leaps calLeaps // of the local zone, for gmtime(3) of @TIMESTAMP
}

func (p *calParser) at(k int) byte {
	if p.i+k < len(p.s) {
		return p.s[p.i+k]
	}
	return 0
}

func (p *calParser) skipSpaces() {
	for p.at(0) == ' ' {
		p.i++
	}
}

func (p *calParser) fail(format string, args ...any) error {
	return fmt.Errorf(format, args...)
}

func (p *calParser) near() string {
	if p.i >= len(p.s) {
		return "end of expression"
	}
	return strconv.Quote(p.s[p.i:])
}

func asciiLower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if asciiLower(a[i]) != asciiLower(b[i]) {
			return false
		}
	}
	return true
}

func asciiHasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && asciiEqualFold(s[:len(prefix)], prefix)
}

func asciiHasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && asciiEqualFold(s[len(s)-len(suffix):], suffix)
}

func calIsDigit(b byte) bool { return '0' <= b && b <= '9' }

func parseCalendar(s string, local *time.Location) (*Spec, error) {
	return parseCalendarAt(s, local, time.Now())
}

// parseCalendarAt is Parse with local standing for the local time zone and now for
// the time whose abbreviations (tzname) a trailing "CET", "EDT" etc. is compared with.
func parseCalendarAt(s string, local *time.Location, now time.Time) (*Spec, error) {
	c, what := parseCalendarSpec(s, local, now)
	if what != "" {
		return nil, &calError{s, what}
	}
	return c, nil
}

func parseCalendarSpec(s string, local *time.Location, now time.Time) (*Spec, string) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, "contains a NUL byte"
	}
	c := &Spec{dst: -1}
	p := s
	if asciiHasSuffixFold(p, " UTC") {
		c.utc = true
		p = p[:len(p)-4]
	} else {
		names := calTZNames(local, now)
		found := false
		for j := 0; j <= 1 && !found; j++ {
			n := names[j]
			if n == "" || !asciiHasSuffixFold(p, n) {
				continue
			}
			e := len(p) - len(n)
			if e == 0 || p[e-1] != ' ' {
				continue
			}
			p = p[:e-1]
			c.dst, c.dstName = j, n
			found = true
		}
		if !found {
			if sp := strings.LastIndexByte(p, ' '); sp >= 0 {
				if loc := calLoadZone(p[sp+1:]); loc != nil {
					c.timezone, c.loc = p[sp+1:], loc
					p = p[:sp]
				}
			}
		}
	}
	if p == "" {
		return nil, "empty expression"
	}

	zero := func() []calComp { return []calComp{{0, -1, 0}} }
	switch {
	case asciiEqualFold(p, "minutely"):
		c.microsecond = zero()
	case asciiEqualFold(p, "hourly"):
		c.minute, c.microsecond = zero(), zero()
	case asciiEqualFold(p, "daily"):
		c.hour, c.minute, c.microsecond = zero(), zero(), zero()
	case asciiEqualFold(p, "monthly"):
		c.day = []calComp{{1, -1, 0}}
		c.hour, c.minute, c.microsecond = zero(), zero(), zero()
	case asciiEqualFold(p, "annually"), asciiEqualFold(p, "yearly"), asciiEqualFold(p, "anually"):
		c.month, c.day = []calComp{{1, -1, 0}}, []calComp{{1, -1, 0}}
		c.hour, c.minute, c.microsecond = zero(), zero(), zero()
	case asciiEqualFold(p, "weekly"):
		c.weekdays = 1
		c.hour, c.minute, c.microsecond = zero(), zero(), zero()
	case asciiEqualFold(p, "quarterly"):
		c.month = []calComp{{10, -1, 0}, {7, -1, 0}, {4, -1, 0}, {1, -1, 0}}
		c.day = []calComp{{1, -1, 0}}
		c.hour, c.minute, c.microsecond = zero(), zero(), zero()
	case asciiEqualFold(p, "biannually"), asciiEqualFold(p, "bi-annually"),
		asciiEqualFold(p, "semiannually"), asciiEqualFold(p, "semi-annually"):
		c.month = []calComp{{7, -1, 0}, {1, -1, 0}}
		c.day = []calComp{{1, -1, 0}}
		c.hour, c.minute, c.microsecond = zero(), zero(), zero()
	default:
		if err := parseCalendarBody(p, c, calLeapsOf(local)); err != nil {
			what := err.Error()
			if sp := strings.LastIndexByte(p, ' '); sp >= 0 && strings.Contains(p[sp+1:], "/") {
				what += fmt.Sprintf(" (%q is not a time zone)", p[sp+1:])
			}
			return nil, what
		}
	}

	c.normalize()
	if what := c.validate(); what != "" {
		return nil, what
	}
	return c, ""
}

// parseCalendarBody parses weekdays, date and time, what is left of an expression without a
// shorthand and without its time zone.
func parseCalendarBody(s string, c *Spec, leaps calLeaps) error {
	p := &calParser{s: s, leaps: leaps}
	if err := p.weekdays(c); err != nil {
		return err
	}
	timestamp, err := p.date(c)
	if err != nil {
		return err
	}
	if !timestamp {
		if err := p.time(c); err != nil {
			return err
		}
	}
	if p.at(0) != 0 {
		return p.fail("unexpected %s", p.near())
	}
	return nil
}

var calDayNames = []struct {
	name string
	nr   int
}{
	{"Monday", 0}, {"Mon", 0}, {"Tuesday", 1}, {"Tue", 1}, {"Wednesday", 2}, {"Wed", 2},
	{"Thursday", 3}, {"Thu", 3}, {"Friday", 4}, {"Fri", 4}, {"Saturday", 5}, {"Sat", 5},
	{"Sunday", 6}, {"Sun", 6},
}

// weekdays is parse_weekdays: an optional leading list of weekdays and weekday ranges.
func (p *calParser) weekdays(c *Spec) error {
	l := -1
	first := true
	for {
		nr := -1
		for _, d := range calDayNames {
			if !asciiHasPrefixFold(p.s[p.i:], d.name) {
				continue
			}
			skip := len(d.name)
			if b := p.at(skip); b != 0 && b != '-' && b != '.' && b != ',' && b != ' ' {
				return p.fail("invalid weekday %q", p.s[p.i:])
			}
			c.weekdays |= 1 << d.nr
			if l >= 0 {
				if l > d.nr {
					return p.fail("weekday range ends before it starts, at %s", p.near())
				}
				for j := l + 1; j < d.nr; j++ {
					c.weekdays |= 1 << j
				}
			}
			p.i += skip
			nr = d.nr
			break
		}
		if nr < 0 {
			if first {
				return nil
			}
			return p.fail("expected a weekday at %s", p.near())
		}
		switch p.at(0) {
		case 0:
			return nil
		case ' ':
			p.skipSpaces()
			return nil
		case '.':
			if l >= 0 {
				return p.fail("weekday range continues at %s", p.near())
			}
			if p.at(1) != '.' {
				return p.fail("single '.' after a weekday at %s", p.near())
			}
			l = nr
			p.i += 2
		case '-':
			if l >= 0 {
				return p.fail("weekday range continues at %s", p.near())
			}
			l = nr
			p.i++
		case ',':
			l = -1
			p.i++
		}
		if b := p.at(0); b == 0 || b == ' ' {
			p.skipSpaces()
			if l >= 0 {
				return p.fail("open weekday range")
			}
			return nil
		}
		first = false
	}
}

// decimal is parse_component_decimal; usec makes it a seconds value with up to 6 decimals,
// returned in µs.
func (p *calParser) decimal(usec bool) (int, error) {
	if !calIsDigit(p.at(0)) {
		return 0, p.fail("expected a number at %s", p.near())
	}
	var v uint64
	overflow := false
	for calIsDigit(p.at(0)) {
		d := uint64(p.at(0) - '0')
		if v > (1<<64-1-d)/10 {
			overflow = true
		}
		v = v*10 + d
		p.i++
	}
	if overflow {
		return 0, p.fail("number out of range before %s", p.near())
	}
	if usec {
		if v*calUsecPerSec/calUsecPerSec != v {
			return 0, p.fail("number out of range before %s", p.near())
		}
		v *= calUsecPerSec
		if p.at(0) == '.' && p.at(1) != '.' {
			p.i++
			add, err := p.fraction(6)
			if err != nil {
				return 0, err
			}
			if add+v < v {
				return 0, p.fail("number out of range before %s", p.near())
			}
			v += add
		}
	}
	if v > calIntMax {
		return 0, p.fail("number out of range before %s", p.near())
	}
	return int(v), nil
}

// fraction is parse_fractional_part_u: digits decimals, rounded on the next one.
func (p *calParser) fraction(digits int) (uint64, error) {
	var v uint64
	for i := 0; i < digits; i++ {
		if !calIsDigit(p.at(0)) {
			if i == 0 {
				return 0, p.fail("expected decimals at %s", p.near())
			}
			for ; i < digits; i++ {
				v *= 10
			}
			break
		}
		v = v*10 + uint64(p.at(0)-'0')
		p.i++
	}
	if b := p.at(0); b >= '5' && b <= '9' {
		v++
	}
	for calIsDigit(p.at(0)) {
		p.i++
	}
	return v, nil
}

// components is prepend_component: a comma-separated list of values, ranges and repetitions.
func (p *calParser) components(usec bool) ([]calComp, error) {
	var out []calComp
	for nesting := 0; ; nesting++ {
		if nesting > calMaxChain {
			return nil, p.fail("more than %d values in one component", calMaxChain+1)
		}
		start, err := p.decimal(usec)
		if err != nil {
			return nil, err
		}
		stop, repeat := -1, 0
		if p.at(0) == '.' && p.at(1) == '.' {
			p.i += 2
			if stop, err = p.decimal(usec); err != nil {
				return nil, err
			}
			repeat = 1
			if usec {
				repeat = calUsecPerSec
			}
		}
		if p.at(0) == '/' {
			p.i++
			if repeat, err = p.decimal(usec); err != nil {
				return nil, err
			}
			if repeat == 0 {
				return nil, p.fail("repetition of 0 before %s", p.near())
			}
		} else {
			if start > calIntMax-repeat {
				return nil, p.fail("number out of range before %s", p.near())
			}
			if usec && stop >= 0 && start+repeat > stop {
				return nil, p.fail("seconds range shorter than 1s without a repetition before %s", p.near())
			}
		}
		switch p.at(0) {
		case 0, ' ', ',', '-', '~', ':':
		default:
			return nil, p.fail("unexpected %s", p.near())
		}
		out = append(out, calComp{start, stop, repeat})
		if p.at(0) != ',' {
			return out, nil
		}
		p.i++
	}
}

// chain is parse_chain: '*' or a list of components.
func (p *calParser) chain(usec bool) ([]calComp, error) {
	if p.at(0) == '*' {
		p.i++
		if usec {
			return []calComp{{0, -1, calUsecPerSec}}, nil
		}
		return nil, nil
	}
	return p.components(usec)
}

// dateSep reads the '-' (or '~', days from the month's end) before a date component.
func (p *calParser) dateSep(c *Spec) error {
	switch p.at(0) {
	case '~':
		c.endOfMonth = true
	case '-':
	default:
		return p.fail("unexpected %s in the date", p.near())
	}
	p.i++
	return nil
}

// date is parse_date; it reports whether the expression was a whole @timestamp.
func (p *calParser) date(c *Spec) (bool, error) {
	if p.at(0) == 0 {
		return false, nil
	}
	if p.at(0) == '@' {
		p.i++
		v, err := p.strtoul()
		if err != nil {
			return false, err
		}
		return true, c.fromUnix(int64(v), p.leaps)
	}
	save := p.i
	first, err := p.chain(false)
	if err != nil {
		return false, err
	}
	if b := p.at(0); b == 0 || b == ':' { // a time, not a date
		p.i = save
		return false, nil
	}
	if err := p.dateSep(c); err != nil {
		return false, err
	}
	second, err := p.chain(false)
	if err != nil {
		return false, err
	}
	if b := p.at(0); b == 0 || b == ' ' { // month-day
		p.skipSpaces()
		c.month, c.day = first, second
		return false, nil
	} else if c.endOfMonth {
		return false, p.fail("'~' must separate the month and the day")
	}
	if err := p.dateSep(c); err != nil {
		return false, err
	}
	third, err := p.chain(false)
	if err != nil {
		return false, err
	}
	if b := p.at(0); b != 0 && b != ' ' {
		return false, p.fail("unexpected %s after the date", p.near())
	}
	p.skipSpaces()
	c.year, c.month, c.day = first, second, third
	return false, nil
}

// strtoul is strtoul(3) in base 10, as parse_one_number uses it for @TIMESTAMP: leading white
// space and a sign are accepted, a negative number wraps around.
func (p *calParser) strtoul() (uint64, error) {
	i := p.i
	for i < len(p.s) && strings.IndexByte(" \t\n\v\f\r", p.s[i]) >= 0 {
		i++
	}
	neg := false
	if i < len(p.s) && (p.s[i] == '+' || p.s[i] == '-') {
		neg = p.s[i] == '-'
		i++
	}
	if i >= len(p.s) || !calIsDigit(p.s[i]) {
		return 0, p.fail("expected seconds after '@'")
	}
	var v uint64
	overflow := false
	for ; i < len(p.s) && calIsDigit(p.s[i]); i++ {
		d := uint64(p.s[i] - '0')
		if v > (1<<64-1-d)/10 {
			overflow = true
		}
		v = v*10 + d
	}
	p.i = i
	if overflow {
		return 0, p.fail("timestamp out of range")
	}
	if neg {
		v = -v
	}
	return v, nil
}

// fromUnix is calendarspec_from_time_t: t as gmtime(3) shows it (which applies the leap
// seconds of a "right/" local zone).
func (c *Spec) fromUnix(t int64, leaps calLeaps) error {
	// gmtime_r fails beyond int years; anything outside 1970..2199 is refused by validate anyway.
	if t < -(1<<40) || t > 1<<40 {
		return errors.New("timestamp out of range")
	}
	k := calCalc{spec: &Spec{utc: true}, loc: time.UTC, leaps: leaps}
	tm := k.convert(t)
	c.utc = true
	c.year = []calComp{{tm.year + 1900, -1, 0}}
	c.month = []calComp{{tm.mon + 1, -1, 0}}
	c.day = []calComp{{tm.mday, -1, 0}}
	c.hour = []calComp{{tm.hour, -1, 0}}
	c.minute = []calComp{{tm.min, -1, 0}}
	c.microsecond = []calComp{{tm.sec * calUsecPerSec, -1, 0}}
	return nil
}

// time is parse_calendar_time: hour:minute[:second], or nothing for 00:00:00.
func (p *calParser) time(c *Spec) error {
	zero := func() []calComp { return []calComp{{0, -1, 0}} }
	if p.at(0) == 0 {
		c.hour, c.minute, c.microsecond = zero(), zero(), zero()
		return nil
	}
	h, err := p.chain(false)
	if err != nil {
		return err
	}
	if p.at(0) != ':' {
		return p.fail("expected ':' after the hour at %s", p.near())
	}
	p.i++
	m, err := p.chain(false)
	if err != nil {
		return err
	}
	s := zero()
	if p.at(0) != 0 {
		if p.at(0) != ':' {
			return p.fail("expected ':' after the minute at %s", p.near())
		}
		p.i++
		if s, err = p.chain(true); err != nil {
			return err
		}
		if p.at(0) != 0 {
			return p.fail("unexpected %s after the seconds", p.near())
		}
	}
	c.hour, c.minute, c.microsecond = h, m, s
	return nil
}

// normalize is calendar_spec_normalize.
func (c *Spec) normalize() {
	if c.weekdays <= 0 || c.weekdays >= calBitsWeekdays {
		c.weekdays = -1
	}
	if c.endOfMonth && c.day == nil {
		c.endOfMonth = false
	}
	for i := range c.year { // 12 → 2012, 89 → 1989
		x := &c.year[i]
		for _, v := range []*int{&x.start, &x.stop} {
			if *v >= 0 && *v < 70 {
				*v += 2000
			} else if *v >= 70 && *v < 100 {
				*v += 1900
			}
		}
	}
	for _, ch := range []*[]calComp{&c.year, &c.month, &c.day, &c.hour, &c.minute, &c.microsecond} {
		*ch = normalizeChain(*ch)
	}
}

func normalizeChain(ch []calComp) []calComp {
	for i := range ch {
		x := &ch[i]
		if x.stop > x.start && x.repeat > 0 {
			x.stop -= (x.stop - x.start) % x.repeat
		}
		if (x.stop > x.start && x.repeat > 0 && x.start+x.repeat > x.stop) || x.start == x.stop {
			x.repeat, x.stop = 0, -1
		}
	}
	sort.Slice(ch, func(i, j int) bool {
		a, b := ch[i], ch[j]
		if a.start != b.start {
			return a.start < b.start
		}
		if a.stop != b.stop {
			return a.stop < b.stop
		}
		return a.repeat < b.repeat
	})
	out := ch[:0]
	for i, x := range ch {
		if i == 0 || x != ch[i-1] {
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// validate is calendar_spec_valid; it returns what is wrong, or "".
func (c *Spec) validate() string {
	for _, f := range []struct {
		name     string
		ch       []calComp
		from, to int
		eom      bool
	}{
		{"year", c.year, calMinYear, calMaxYear, false},
		{"month", c.month, 1, 12, false},
		{"day", c.day, 1, 31, c.endOfMonth},
		{"hour", c.hour, 0, 23, false},
		{"minute", c.minute, 0, 59, false},
		{"second", c.microsecond, 0, 60*calUsecPerSec - 1, false},
	} {
		if !chainValid(f.ch, f.from, f.to, f.eom) {
			var b strings.Builder
			width := 2
			if f.name == "year" {
				width = 4
			}
			formatChain(&b, width, f.ch, f.name == "second")
			lo, hi := f.from, f.to
			if f.eom {
				hi -= 3
			}
			if f.name == "second" {
				return fmt.Sprintf("second %s is outside 0..59.999999 or repeats beyond it", b.String())
			}
			if f.eom {
				return fmt.Sprintf("day %s from the end of the month is outside %d..%d (3 fewer for each further value) or repeats beyond it", b.String(), lo, hi)
			}
			return fmt.Sprintf("%s %s is outside %d..%d or repeats beyond it", f.name, b.String(), lo, hi)
		}
	}
	return ""
}

func chainValid(ch []calComp, from, to int, eom bool) bool {
	for _, x := range ch {
		if eom {
			// No more than 28 days from the end of the month; systemd recurses down the chain
			// and takes 3 more days off for each further element.
			to -= 3
		}
		if x.start < from || x.start > to {
			return false
		}
		if x.repeat > to-from {
			return false
		}
		if x.stop >= 0 {
			if x.stop < from || x.stop > to {
				return false
			}
			if x.start+x.repeat > x.stop {
				return false
			}
		} else {
			if eom && x.start-x.repeat < from {
				return false
			}
			if !eom && x.start+x.repeat > to {
				return false
			}
		}
	}
	return true
}

// String is systemd's normalized form (what `systemd-analyze calendar` prints as
// "Normalized form:"), e.g. "Mon..Fri *-*-* 10:00:00", "*-*-* 00:00:00", "Sat *-*~01 03:00/15:00 Europe/Berlin".
func (c *Spec) String() string {
	var b strings.Builder
	if c.weekdays > 0 && c.weekdays <= calBitsWeekdays {
		formatWeekdays(&b, c.weekdays)
		b.WriteByte(' ')
	}
	formatChain(&b, 4, c.year, false)
	b.WriteByte('-')
	formatChain(&b, 2, c.month, false)
	if c.endOfMonth {
		b.WriteByte('~')
	} else {
		b.WriteByte('-')
	}
	formatChain(&b, 2, c.day, false)
	b.WriteByte(' ')
	formatChain(&b, 2, c.hour, false)
	b.WriteByte(':')
	formatChain(&b, 2, c.minute, false)
	b.WriteByte(':')
	formatChain(&b, 2, c.microsecond, true)
	switch {
	case c.utc:
		b.WriteString(" UTC")
	case c.timezone != "":
		b.WriteString(" " + c.timezone)
	case c.dst >= 0 && c.dstName != "":
		b.WriteString(" " + c.dstName)
	}
	return b.String()
}

func formatWeekdays(b *strings.Builder, bits int) {
	days := [...]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
	l := -1
	needComma := false
	closeRange := func(x int) {
		if x > l+1 {
			if x > l+2 {
				b.WriteString("..")
			} else {
				b.WriteByte(',')
			}
			b.WriteString(days[x-1])
		}
	}
	x := 0
	for ; x < len(days); x++ {
		if bits&(1<<x) != 0 {
			if l < 0 {
				if needComma {
					b.WriteByte(',')
				}
				needComma = true
				b.WriteString(days[x])
				l = x
			}
		} else if l >= 0 {
			closeRange(x)
			l = -1
		}
	}
	if l >= 0 {
		closeRange(x)
	}
}

func formatChain(b *strings.Builder, width int, ch []calComp, usec bool) {
	d := 1
	if usec {
		d = calUsecPerSec
	}
	if ch == nil {
		b.WriteByte('*')
		return
	}
	if usec {
		for _, x := range ch {
			if x.start == 0 && x.stop < 0 && x.repeat == calUsecPerSec {
				b.WriteByte('*')
				return
			}
		}
	}
	for i, x := range ch {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(b, "%0*d", width, x.start/d)
		if x.start%d > 0 {
			fmt.Fprintf(b, ".%06d", x.start%d)
		}
		if x.stop > 0 {
			fmt.Fprintf(b, "..%0*d", width, x.stop/d)
		}
		if x.stop%d > 0 {
			fmt.Fprintf(b, ".%06d", x.stop%d)
		}
		if x.repeat > 0 && !(x.stop > 0 && x.repeat == d) {
			fmt.Fprintf(b, "/%d", x.repeat/d)
		}
		if x.repeat%d > 0 {
			fmt.Fprintf(b, ".%06d", x.repeat%d)
		}
	}
}

// ---- time zones ----

// calTZNames is glibc's tzname[] for loc as systemd sees it after localtime(3) of now: the
// abbreviation in use at now, and the first one of the other kind (daylight saving time or
// not) in use after it; with no such other one, the one in use at now for both.
func calTZNames(loc *time.Location, now time.Time) [2]string {
	var names [2]string
	var have [2]bool
	t := now.In(loc)
	for i := 0; i < 2000; i++ {
		n, _ := t.Zone()
		d := b2i(t.IsDST())
		if !have[d] {
			names[d], have[d] = n, true
		}
		if have[0] && have[1] {
			break
		}
		_, end := t.ZoneBounds()
		if end.IsZero() {
			break
		}
		t = end
	}
	if !have[0] {
		names[0] = names[1]
	}
	if !have[1] {
		names[1] = names[0]
	}
	return names
}

const calZoneDir = "/usr/share/zoneinfo/"

var calZones sync.Map // name → *time.Location

// calLoadZone is timezone_is_valid() (a name of letters, digits, '-', '_', '+' and single
// inner slashes, naming a regular TZif file under /usr/share/zoneinfo) followed by
// time.LoadLocation; nil when systemd would not take name as a time zone.
func calLoadZone(name string) *time.Location {
	if name == "" {
		return nil
	}
	if l, ok := calZones.Load(name); ok {
		return l.(*time.Location)
	}
	if name == "UTC" {
		return time.UTC
	}
	if name[0] == '/' || len(name) >= 4096 {
		return nil
	}
	slash := false
	for i := 0; i < len(name); i++ {
		b := name[i]
		if !calIsDigit(b) && !('a' <= b && b <= 'z') && !('A' <= b && b <= 'Z') &&
			b != '-' && b != '_' && b != '+' && b != '/' {
			return nil
		}
		if b == '/' && slash {
			return nil
		}
		slash = b == '/'
	}
	if slash {
		return nil
	}
	f, err := os.Open(calZoneDir + name)
	if err != nil {
		return nil
	}
	defer f.Close()
	var magic [4]byte
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return nil
	}
	if _, err := io.ReadFull(f, magic[:]); err != nil || string(magic[:]) != "TZif" {
		return nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil { // $ZONEINFO points elsewhere, say: load the file systemd checked
		data, err := os.ReadFile(calZoneDir + name)
		if err != nil {
			return nil
		}
		if loc, err = time.LoadLocationFromTZData(name, data); err != nil {
			return nil
		}
	}
	calZones.Store(name, loc)
	return loc
}

// calLeaps is the leap second table of a "right/" zone: from each time on (in its time scale,
// which counts the leap seconds) the number of leap seconds before it.
type calLeaps []struct{ at, corr int64 }

// at is the correction the zone file's leap records give for t, and whether t is itself a
// leap second (then shown as second 60).
func (l calLeaps) at(t int64) (corr int64, hit int) {
	i := len(l) - 1
	for i >= 0 && t < l[i].at {
		i--
	}
	if i < 0 {
		return 0, 0
	}
	corr = l[i].corr
	if t == l[i].at && ((i == 0 && l[i].corr > 0) || (i > 0 && l[i].corr > l[i-1].corr)) {
		hit = 1
		for i > 0 && l[i].at == l[i-1].at+1 && l[i].corr == l[i-1].corr+1 {
			hit++
			i--
		}
	}
	return corr, hit
}

var calLeapTables sync.Map // *time.Location → calLeaps

// calLeapsOf is the leap second table of loc, which the time package ignores: read from the
// zone's file (for time.Local, the one $TZ or /etc/localtime names). Only "right/" zones
// have one.
func calLeapsOf(loc *time.Location) calLeaps {
	if l, ok := calLeapTables.Load(loc); ok {
		return l.(calLeaps)
	}
	var file string
	switch name := loc.String(); {
	case loc == time.UTC:
	case loc == time.Local:
		tz, set := os.LookupEnv("TZ")
		tz = strings.TrimPrefix(tz, ":")
		switch {
		case !set:
			file = "/etc/localtime"
		case strings.HasPrefix(tz, "/"):
			file = tz
		case tz != "":
			file = calZoneDir + tz
		}
	case name != "" && !strings.Contains(name, ".."):
		file = calZoneDir + name
	}
	var leaps calLeaps
	if file != "" {
		if data, err := os.ReadFile(file); err == nil {
			leaps = calReadLeaps(data)
		}
	}
	calLeapTables.Store(loc, leaps)
	return leaps
}

// calReadLeaps reads the leap second records of a TZif file (RFC 8536), of its 64-bit part
// where it has one, as glibc does.
func calReadLeaps(data []byte) calLeaps {
	be := func(b []byte) int64 {
		var v int64
		for _, x := range b {
			v = v<<8 | int64(x)
		}
		return v
	}
	type counts struct{ isut, isstd, leap, time, typ, char int64 }
	header := func(d []byte) (counts, bool) {
		if len(d) < 44 || string(d[:4]) != "TZif" {
			return counts{}, false
		}
		return counts{be(d[20:24]), be(d[24:28]), be(d[28:32]), be(d[32:36]), be(d[36:40]), be(d[40:44])}, true
	}
	n, ok := header(data)
	if !ok {
		return nil
	}
	timeSize := int64(4)
	if data[4] >= '2' { // skip the 32-bit part
		v1 := 44 + n.time*5 + n.typ*6 + n.char + n.leap*8 + n.isstd + n.isut
		if v1 > int64(len(data)) {
			return nil
		}
		data = data[v1:]
		if n, ok = header(data); !ok {
			return nil
		}
		timeSize = 8
	}
	start, rec := 44+n.time*(timeSize+1)+n.typ*6+n.char, timeSize+4
	if n.leap <= 0 || start+n.leap*rec > int64(len(data)) {
		return nil
	}
	leaps := make(calLeaps, n.leap)
	for i := range leaps {
		r := data[start+int64(i)*rec:]
		at := be(r[:timeSize])
		if timeSize == 4 {
			at = int64(int32(at))
		}
		leaps[i].at, leaps[i].corr = at, int64(int32(be(r[timeSize:rec])))
	}
	return leaps
}

// ---- evaluation ----

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

// MarshalText gives a calendar event as its normalized form (JSON dumps of a unit).
func (c *Spec) MarshalText() ([]byte, error) { return []byte(c.String()), nil }
