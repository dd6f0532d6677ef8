//go:build difftest

package calendar

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// calendarBase is a --base-time for systemd-analyze, as "@seconds[.fraction]".
type calendarBase struct {
	arg  string
	usec int64
}

func calendarBases() []calendarBase {
	var out []calendarBase
	add := func(t time.Time) {
		us := t.UnixMicro()
		arg := "@" + strconv.FormatInt(us/1e6, 10)
		if us%1e6 != 0 {
			arg += fmt.Sprintf(".%06d", us%1e6)
		}
		out = append(out, calendarBase{arg, us})
	}
	for _, t := range []time.Time{
		time.Date(2024, 3, 31, 0, 30, 0, 0, time.UTC),          // Berlin: before the spring gap
		time.Date(2024, 10, 27, 0, 0, 0, 0, time.UTC),          // Berlin: 02:00 CEST, start of the fold
		time.Date(2024, 3, 10, 6, 0, 0, 0, time.UTC),           // New York: 01:00 EST, before the gap
		time.Date(2024, 11, 3, 5, 0, 0, 0, time.UTC),           // New York: 01:00 EDT, start of the fold
		time.Date(2024, 10, 27, 1, 10, 0, 0, time.UTC),         // Berlin: 02:10 CET, the second pass
		time.Date(2024, 11, 3, 6, 10, 0, 0, time.UTC),          // New York: 01:10 EST, the second pass
		time.Date(2024, 2, 28, 23, 59, 59, 999999e3, time.UTC), // leap day coming
		time.Date(2023, 11, 14, 22, 13, 20, 500000e3, time.UTC),
		time.Date(2025, 3, 30, 0, 30, 0, 0, time.UTC),  // Dublin: 00:30 GMT, before the gap
		time.Date(2025, 10, 26, 0, 15, 0, 0, time.UTC), // Dublin: 01:15 IST, in the fold
		time.Date(2199, 12, 30, 12, 0, 0, 0, time.UTC), // the last year systemd computes
		time.Unix(0, 0),
	} {
		add(t)
	}
	return out
}

// calendarSystemd is what systemd-analyze says about one expression.
type calendarSystemd struct {
	parsed     bool        // calendar_spec_from_string accepted it
	nextFailed bool        // calendar_spec_next_usec failed other than with "never"
	normalized string      // "Normalized form:"
	elapses    []time.Time // "Next elapse:", "Iter. #N:" (in UTC, whole seconds)
}

// runCalendarAnalyze runs `systemd-analyze calendar` on all exprs at once in zone tz.
func runCalendarAnalyze(analyze, tz string, base calendarBase, exprs []string) ([]calendarSystemd, error) {
	cmd := exec.Command(analyze, append([]string{"calendar", "--iterations=5", "--base-time=" + base.arg, "--"}, exprs...)...)
	cmd.Env = append(os.Environ(), "TZ="+tz, "COLUMNS=1000", "SYSTEMD_COLORS=0", "LC_ALL=C", "SYSTEMD_PAGER=")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run() // exits 1 when one of them fails
	errs := stderr.String()
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, err
	}
	leaps := calLeapsOf(loc)

	out := make([]calendarSystemd, len(exprs))
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for i, expr := range exprs {
		var block []string
		for sc.Scan() && sc.Text() != "" {
			block = append(block, strings.TrimSpace(sc.Text()))
		}
		r := &out[i]
		r.nextFailed = strings.Contains(errs, "Failed to determine next elapse for '"+expr+"'")
		r.parsed = len(block) > 0 || r.nextFailed
		if len(block) == 0 && r.parsed == strings.Contains(errs, "Failed to parse calendar specification '"+expr+"'") {
			return nil, fmt.Errorf("TZ=%s: cannot tell what systemd-analyze said about %q:\n%s", tz, expr, errs)
		}
		for j, line := range block {
			key, val, _ := strings.Cut(line, ": ")
			switch {
			case key == "Normalized form":
				r.normalized = val
			case key == "Next elapse" && val == "never":
			case key == "Next elapse" || strings.HasPrefix(key, "Iter. #"):
				if j+1 < len(block) && strings.HasPrefix(block[j+1], "(in UTC): ") {
					val = strings.TrimPrefix(block[j+1], "(in UTC): ")
				}
				// A leap second (in a "right/" zone) is second 60.
				leap := strings.HasSuffix(val, ":60 UTC")
				at, err := time.Parse("Mon 2006-01-02 15:04:05 MST", strings.Replace(val, ":60 UTC", ":59 UTC", 1))
				if err != nil || !strings.HasSuffix(val, " UTC") {
					return nil, fmt.Errorf("TZ=%s %q: cannot parse elapse %q: %v", tz, expr, val, err)
				}
				if leaps != nil {
					// gmtime applies the zone's leap seconds too: back to the instant.
					at = leaps.instant(at, leap)
				}
				r.elapses = append(r.elapses, at)
			}
		}
		if len(block) > 0 && r.normalized == "" {
			return nil, fmt.Errorf("TZ=%s %q: no normalized form in %q", tz, expr, block)
		}
	}
	return out, nil
}

// TestCalendarMatchesSystemd is a differential test: `systemd-analyze calendar` (systemd 252)
// parses, normalizes and evaluates each expression of the corpus in several time zones from
// several base times; Parse must accept exactly what it accepts, String() must be its
// normalized form and the next five elapses must be the same instants.
func TestCalendarMatchesSystemd(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("systemd-analyze not installed (CI is set)")
		}
		t.Skip("systemd-analyze not installed")
	}
	// The corpus, and the expectations of the unit tests.
	all := append([]string(nil), calendarCorpus...)
	for _, tc := range calendarNormalized {
		all = append(all, tc.in)
	}
	for _, s := range calendarRefused {
		if !strings.Contains(s, "\x00") { // cannot be an argument
			all = append(all, s)
		}
	}
	for _, tc := range calendarNextCases {
		all = append(all, tc.expr)
	}
	corpus := dedupeCalendar(all)
	if n, _ := strconv.Atoi(os.Getenv("CALENDAR_RANDOM")); n > 0 {
		seed := time.Now().UnixNano()
		t.Logf("CALENDAR_RANDOM=%d seed %d", n, seed)
		corpus = randomCalendarExprs(rand.New(rand.NewSource(seed)), n)
	}
	zones := []string{"UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Europe/Dublin",
		"right/Europe/Berlin"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	diverged := map[string]int{}
	for _, tz := range zones {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			t.Fatal(err)
		}
		bases := calendarBases()
		if strings.HasPrefix(tz, "right/") {
			// A zone with leap seconds (which glibc applies, and the time package does
			// not): around the one at the end of 2016 (in its time scale), and in a fold.
			bases = []calendarBase{{"@1483228800", 1483228800e6}, {"@1483228826", 1483228826e6}, bases[1]}
		}
		for _, base := range bases {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var errs []string
				// Expressions with a zone of their own (systemd computes them in a child process,
				// which is slow) need not be run in every zone: they are compared in UTC.
				exprs := corpus
				if tz != "UTC" {
					exprs = nil
					for _, expr := range corpus {
						if c, err := parseCalendar(expr, loc); err != nil || c.timezone == "" {
							exprs = append(exprs, expr)
						}
					}
				}
				for start := 0; start < len(exprs); start += 400 {
					chunk := exprs[start:min(start+400, len(exprs))]
					got, err := runCalendarAnalyze(analyze, tz, base, chunk)
					if err != nil {
						errs = append(errs, err.Error())
						break
					}
					for i, expr := range chunk {
						if msg := compareCalendar(expr, loc, base, got[i]); msg != "" {
							line := fmt.Sprintf("TZ=%s base %s %q: %s", tz, base.arg, expr, msg)
							if why := calendarDivergence(tz, base.arg, expr); why != "" {
								mu.Lock()
								diverged[why]++
								mu.Unlock()
								continue
							}
							errs = append(errs, line)
						}
					}
				}
				mu.Lock()
				defer mu.Unlock()
				for _, e := range errs {
					t.Error(e)
				}
			}()
		}
	}
	wg.Wait()
	for why, n := range diverged {
		t.Logf("%d elapse lists differ from systemd's as documented: %s", n, why)
	}
}

// calendarDivergence says why Next may differ from systemd for expr from base in zone tz,
// or "". systemd lets glibc's mktime(3) normalize the broken-down times it walks, and
// Spec.mktime is not glibc's: around a leap second of a "right/" zone, and on the
// days of Europe/Dublin's changes (its tzdata counts winter as the daylight saving time, a
// negative one), the two pick different instants.
func calendarDivergence(tz, base, expr string) string {
	switch {
	case strings.HasPrefix(tz, "right/") && (base == "@1483228800" || base == "@1483228826"),
		strings.Contains(expr, "right/UTC"):
		return "searches that start at the leap second of 2016-12-31 in a right/ zone"
	case tz == "Europe/Dublin" && (base == "@0" || base == "@1711845000" || base == "@1743294600"):
		return "Europe/Dublin's negative daylight saving time, at its changes and in 1970"
	}
	return ""
}

func dedupeCalendar(in []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func compareCalendar(expr string, loc *time.Location, base calendarBase, want calendarSystemd) string {
	// glibc's tzname (which abbreviations are the local zone's) follows the last localtime(3),
	// which in systemd-analyze is mostly one of the previous expression's elapses, at about the
	// base time. Where the zone's abbreviations then were others than today's, which ones
	// systemd-analyze takes depends on the expressions before: skip those.
	at := time.UnixMicro(base.usec)
	if then, now := calTZNames(loc, at), calTZNames(loc, time.Now()); then != now {
		word := expr[strings.LastIndexByte(expr, ' ')+1:]
		for _, n := range append(then[:], now[:]...) {
			if asciiEqualFold(word, n) {
				return ""
			}
		}
	}
	c, err := parseCalendarAt(expr, loc, at)
	if (err == nil) != want.parsed {
		return fmt.Sprintf("Parse error %v; systemd accepts it: %v", err, want.parsed)
	}
	if err != nil {
		return ""
	}
	if want.normalized != "" && c.String() != want.normalized {
		return fmt.Sprintf("String() = %q; systemd: %q", c.String(), want.normalized)
	}
	var got []time.Time
	failed := false
	usec := base.usec
	for range 5 {
		n, err := c.nextUsec(usec, loc)
		if err == errCalNever {
			break
		}
		if err != nil {
			failed = true
			break
		}
		if n <= usec {
			return fmt.Sprintf("next %d not after %d", n, usec)
		}
		got = append(got, time.Unix(n/1e6, 0).UTC())
		usec = n
	}
	if failed != want.nextFailed {
		return fmt.Sprintf("next failed: %v; systemd: %v (after %v)", failed, want.nextFailed, got)
	}
	if failed {
		return ""
	}
	// Started in the second pass through a fold, systemd can return a time in the first pass,
	// before its start (for "02:30 CEST", or where the weekday check's mktime(3) normalizes to
	// the first pass); Next does not go back in time. Compare up to there.
	prev := base.usec / 1e6
	for i, e := range want.elapses {
		if e.Unix() < prev {
			want.elapses = want.elapses[:i]
			got = got[:min(i, len(got))]
			break
		}
		prev = e.Unix()
	}
	if fmt.Sprint(got) != fmt.Sprint(want.elapses) {
		return fmt.Sprintf("elapses\n  %v\nsystemd\n  %v", got, want.elapses)
	}
	return ""
}

// randomCalendarExprs makes n random expressions out of the pieces of the syntax, for
// CALENDAR_RANDOM=n go test -run TestCalendarMatchesSystemd.
func randomCalendarExprs(r *rand.Rand, n int) []string {
	pick := func(xs ...string) string { return xs[r.Intn(len(xs))] }
	num := func(lo, hi int, frac bool) string {
		v := strconv.Itoa(lo + r.Intn(hi-lo+1))
		if frac && r.Intn(3) == 0 {
			v += "." + strconv.Itoa(r.Intn(1000000))
		}
		return v
	}
	comp := func(lo, hi int, frac bool) string {
		var parts []string
		for range 1 + r.Intn(3) {
			s := num(lo, hi, frac)
			switch r.Intn(5) {
			case 1:
				s += ".." + num(lo, hi, frac)
			case 2:
				s += "/" + num(1, max(1, (hi-lo)/2), frac)
			case 3:
				s += ".." + num(lo, hi, frac) + "/" + num(1, max(1, (hi-lo)/3), frac)
			}
			parts = append(parts, s)
		}
		if r.Intn(4) == 0 {
			return "*"
		}
		return strings.Join(parts, ",")
	}
	mutate := func(s string) string {
		const alphabet = " *-~:.,/0123456789012345678901234567890MonFriSunUTC@"
		b := []byte(s)
		for range 1 + r.Intn(3) {
			i := r.Intn(len(b) + 1)
			c := alphabet[r.Intn(len(alphabet))]
			switch r.Intn(3) {
			case 0:
				b = append(b[:i], append([]byte{c}, b[i:]...)...)
			case 1:
				if i < len(b) {
					b = append(b[:i], b[i+1:]...)
				}
			default:
				if i < len(b) {
					b[i] = c
				}
			}
		}
		return string(b)
	}
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		if r.Intn(3) == 0 {
			s := mutate(calendarCorpus[r.Intn(len(calendarCorpus))])
			if !seen[s] && !strings.ContainsAny(s, "'\x00") {
				seen[s] = true
				out = append(out, s)
			}
			continue
		}
		var b strings.Builder
		if r.Intn(3) == 0 {
			b.WriteString(pick("Mon", "Tue..Thu", "Sat,Sun", "Mon..Fri", "Fri", "Sun", "Wed,Fri..Sun") + " ")
		}
		switch r.Intn(4) {
		case 0:
			sep := pick("-", "~")
			b.WriteString(pick("*", comp(2023, 2030, false)) + "-" + comp(1, 12, false) + sep + comp(1, 31, false) + " ")
		case 1:
			b.WriteString(comp(1, 12, false) + pick("-", "~") + comp(1, 31, false) + " ")
		}
		b.WriteString(comp(0, 23, false) + ":" + comp(0, 59, false))
		if r.Intn(2) == 0 {
			b.WriteString(":" + comp(0, 59, true))
		}
		if r.Intn(4) == 0 {
			b.WriteString(" " + pick("UTC", "Europe/Berlin", "America/New_York", "CET", "CEST", "EST", "EDT"))
		}
		if s := b.String(); !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// instant is the time gmtime(3) shows as at (second 60 if leap) where the leap seconds l
// apply.
func (l calLeaps) instant(at time.Time, leap bool) time.Time {
	p := at.Unix() + int64(b2i(leap))
	for t := p - 5; t < p+60; t++ {
		corr, hit := l.at(t)
		if t-corr+int64(hit) == p && (hit > 0) == leap {
			return time.Unix(t, 0).UTC()
		}
	}
	return at
}
