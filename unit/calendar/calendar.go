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
	"sort"
	"strconv"
	"strings"
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

// MarshalText gives a calendar event as its normalized form (JSON dumps of a unit).
func (c *Spec) MarshalText() ([]byte, error) { return []byte(c.String()), nil }
