package calendar

import (
	"strings"
	"testing"
	"time"
)

func mustLoadLocation(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// calendarNormalized are expressions and their normalized forms (in UTC); the differential test
// checks them against systemd-analyze too.
var calendarNormalized = []struct{ in, want string }{
	// shorthands
	{"minutely", "*-*-* *:*:00"},
	{"hourly", "*-*-* *:00:00"},
	{"daily", "*-*-* 00:00:00"},
	{"monthly", "*-*-01 00:00:00"},
	{"weekly", "Mon *-*-* 00:00:00"},
	{"yearly", "*-01-01 00:00:00"},
	{"annually", "*-01-01 00:00:00"},
	{"anually", "*-01-01 00:00:00"},
	{"quarterly", "*-01,04,07,10-01 00:00:00"},
	{"semiannually", "*-01,07-01 00:00:00"},
	{"semi-annually", "*-01,07-01 00:00:00"},
	{"bi-annually", "*-01,07-01 00:00:00"},
	{"DAILY", "*-*-* 00:00:00"},
	{"daily UTC", "*-*-* 00:00:00 UTC"},
	{"daily utc", "*-*-* 00:00:00 UTC"},
	{"weekly Pacific/Auckland", "Mon *-*-* 00:00:00 Pacific/Auckland"},

	// systemd.time(7)'s examples
	{"Sat,Thu,Mon..Wed,Sat..Sun", "Mon..Thu,Sat,Sun *-*-* 00:00:00"},
	{"Mon,Sun 12-*-* 2,1:23", "Mon,Sun 2012-*-* 01,02:23:00"},
	{"Wed *-1", "Wed *-*-01 00:00:00"},
	{"Wed..Wed,Wed *-1", "Wed *-*-01 00:00:00"},
	{"Wed, 17:48", "Wed *-*-* 17:48:00"},
	{"Wed..Sat,Tue 12-10-15 1:2:3", "Tue..Sat 2012-10-15 01:02:03"},
	{"*-*-7 0:0:0", "*-*-07 00:00:00"},
	{"10-15", "*-10-15 00:00:00"},
	{"monday *-12-* 17:00", "Mon *-12-* 17:00:00"},
	{"Mon,Fri *-*-3,1,2 *:30:45", "Mon,Fri *-*-01,02,03 *:30:45"},
	{"12,14,13,12:20,10,30", "*-*-* 12,13,14:10,20,30:00"},
	{"12..14:10,20,30", "*-*-* 12..14:10,20,30:00"},
	{"mon,fri *-1/2-1,3 *:30:45", "Mon,Fri *-01/2-01,03 *:30:45"},
	{"03-05 08:05:40", "*-03-05 08:05:40"},
	{"08:05:40", "*-*-* 08:05:40"},
	{"05:40", "*-*-* 05:40:00"},
	{"Sat,Sun 12-05 08:05:40", "Sat,Sun *-12-05 08:05:40"},
	{"Sat,Sun 08:05:40", "Sat,Sun *-*-* 08:05:40"},
	{"2003-03-05 05:40", "2003-03-05 05:40:00"},
	{"05:40:23.4200004/3.1700005", "*-*-* 05:40:23.420000/3.170001"},
	{"2003-02..04-05", "2003-02..04-05 00:00:00"},
	{"2003-03-05 05:40 UTC", "2003-03-05 05:40:00 UTC"},
	{"2003-03-05", "2003-03-05 00:00:00"},
	{"03-05", "*-03-05 00:00:00"},
	{"*:2/3", "*-*-* *:02/3:00"},
	{"Thu,Fri 2012-*-1,5 11:12:13", "Thu,Fri 2012-*-01,05 11:12:13"},
	{"*-02~03", "*-02~03 00:00:00"},
	{"Mon *-05~07/1", "Mon *-05~07/1 00:00:00"},

	// weekdays
	{"Mon-Fri", "Mon..Fri *-*-* 00:00:00"},
	{"Mon..Sun", "*-*-* 00:00:00"},
	{"Mon,", "Mon *-*-* 00:00:00"},
	{"Sun,Mon 9:00", "Mon,Sun *-*-* 09:00:00"},
	{"Mon,Wed,Fri", "Mon,Wed,Fri *-*-* 00:00:00"},
	{"Mon,Tue,Thu..Sat", "Mon,Tue,Thu..Sat *-*-* 00:00:00"},

	// components
	{"*:0/15", "*-*-* *:00/15:00"},
	{"*:*:*", "*-*-* *:*:*"},
	{"*:*:0/1,5", "*-*-* *:*:*"},
	{"5..5:00", "*-*-* 05:00:00"},
	{"1..6/2:00", "*-*-* 01..05/2:00:00"},
	{"0..23/23:00", "*-*-* 00..23/23:00:00"},
	{"*-*", "*-*-* 00:00:00"},
	{"*:*:0.0000001", "*-*-* *:*:00"},
	{"*:*:1..3.5", "*-*-* *:*:01..03"},
	{"*:*:0.5..2.5", "*-*-* *:*:00.500000..02.500000"},
	{"*:*:0..10/0.5", "*-*-* *:*:00..10/0.500000"},
	{"*:*:59.9999994", "*-*-* *:*:59.999999"},
	{"*:*:1.1234565", "*-*-* *:*:01.123457"},
	{"70-01-01", "1970-01-01 00:00:00"},
	{"69-01-01", "2069-01-01 00:00:00"},
	{"2024..2026-01-01", "2024..2026-01-01 00:00:00"},
	{"*-*~1..3", "*-*~01..03 00:00:00"},
	{"*-*~*", "*-*-* 00:00:00"},
	{"*-*~1,2", "*-*~01,02 00:00:00"},
	{"Sat *-*~01 03:00/15:00 Europe/Berlin", "Sat *-*~01 03:00/15:00 Europe/Berlin"},
	{"1,1,1,1:00", "*-*-* 01:00:00"},
	{"Mon  12:00", "Mon *-*-* 12:00:00"},
	{"Mon   ", "Mon *-*-* 00:00:00"},

	// @TIMESTAMP
	{"@0", "1970-01-01 00:00:00 UTC"},
	{"@1700000000", "2023-11-14 22:13:20 UTC"},
	{"@ 5", "1970-01-01 00:00:05 UTC"},
	{"@+5", "1970-01-01 00:00:05 UTC"},
	{"@-0", "1970-01-01 00:00:00 UTC"},
	{"@5 Europe/Berlin", "1970-01-01 00:00:05 UTC"},
	{"Thu @5", "Thu 1970-01-01 00:00:05 UTC"},
	{"@7258118399", "2199-12-31 23:59:59 UTC"},

	// time zones
	{"12:00 Asia/Kolkata", "*-*-* 12:00:00 Asia/Kolkata"},
	{"daily Etc/UTC", "*-*-* 00:00:00 Etc/UTC"},
	{"daily posix/Europe/Berlin", "*-*-* 00:00:00 posix/Europe/Berlin"},
	{"daily CET", "*-*-* 00:00:00 CET"}, // the zone file "CET", in UTC
}

func TestParseCalendarNormalizes(t *testing.T) {
	for _, tc := range calendarNormalized {
		c, err := parseCalendar(tc.in, time.UTC)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := c.String(); got != tc.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
		// The normalized form is a fixed point.
		if c2, err := parseCalendar(c.String(), time.UTC); err != nil || c2.String() != c.String() {
			t.Errorf("Parse(%q) = %v, %v", c.String(), c2, err)
		}
	}
}

func TestParseCalendarLocalAbbreviation(t *testing.T) {
	berlin := mustLoadLocation(t, "Europe/Berlin")
	for in, want := range map[string]string{
		"daily CET":                "*-*-* 00:00:00 CET",
		"daily cest":               "*-*-* 00:00:00 CEST",
		"*-*-* 12:00 CEST":         "*-*-* 12:00:00 CEST",
		"daily Europe/Berlin":      "*-*-* 00:00:00 Europe/Berlin",
		"daily America/New_York":   "*-*-* 00:00:00 America/New_York",
		"Mon 02:30 UTC":            "Mon *-*-* 02:30:00 UTC",
		"2024-10-27 02:30:00 CEST": "2024-10-27 02:30:00 CEST",
	} {
		c, err := parseCalendar(in, berlin)
		if err != nil || c.String() != want {
			t.Errorf("Parse(%q) in Europe/Berlin = %v, %v; want %q", in, c, err, want)
		}
	}
	for _, in := range []string{"CET", "daily EDT", "dailyCET", "daily CET CEST"} {
		if c, err := parseCalendar(in, berlin); err == nil {
			t.Errorf("Parse(%q) in Europe/Berlin = %q, want an error", in, c)
		}
	}
}

// calendarRefused are expressions systemd refuses (in UTC); the differential test checks them
// against systemd-analyze too.
var calendarRefused = []string{
	"", " ", "UTC", " UTC", "bogus", "dailyx", "daily,", "daily ", " daily", "weekly Mon",
	// weekdays
	"Mond", "Mon..", "Mon-", "Mon.Tue", "Mon..Wed..Fri", "Mon-Wed-Fri", "Fri..Mon", "Mon, Tue",
	"Mon 25:00",
	// dates
	"*-02-32", "2024-13-01", "2024-00-01", "2024-01-00", "1969-01-01", "2200-01-01", "100-01-01",
	"*-*-*-*", "1-1-1-1", "2024~02-03", "*-*~29", "*-*~0", "*-*~11,26", "*-*~1/2",
	"*/2-01-01", "*-*-1..", "2024-01-01T12:00",
	// times
	"24:00", "23:60", "12:00:60", "12", "12:", ":30", "12:30:", "12:30:00 ", " 12:30", "12:30.5",
	"*:*:1.5..2", "*:*:1..1", "5..3:00", "*:0/0", "*:*:.5", "*:*:5.", "*:*:5..", "*:0/60",
	"*/2:00", "*,5:00", "1-2:00", "*:*:59.9999995",
	// overflows
	"99999999999:00", "*:*:2147.483648", "*:0/4294967296", "*:*:18446744073710",
	// @TIMESTAMP
	"@", "@-1", "@1e5", "@7258118400", "@99999999999999999999", "@5 ",
	// time zones
	"daily Europe/Nowhere", "daily Local", "daily Europe//Berlin", "daily Europe/Berlin/",
	"daily ../etc/passwd", "daily Europe", "daily  UTC", "daily\x00",
	// too many values in one component
	strings.Repeat("1,", 241) + "1:00",
}

func TestParseCalendarRefuses(t *testing.T) {
	for _, in := range calendarRefused {
		c, err := parseCalendar(in, time.UTC)
		if err == nil {
			t.Errorf("Parse(%q) = %q, want an error", in, c)
			continue
		}
		if !strings.Contains(err.Error(), "calendar") {
			t.Errorf("Parse(%q): error %q does not say what it is about", in, err)
		}
	}
	if _, err := parseCalendar(strings.Repeat("1,", 240)+"1:00", time.UTC); err != nil {
		t.Errorf("241 values: %v", err)
	}
}

func TestParseCalendarErrorNamesTheProblem(t *testing.T) {
	for in, want := range map[string]string{
		"Mond":                 `invalid weekday "Mond"`,
		"24:00":                "hour 24 is outside 0..23",
		"*-*-32":               "day 32 is outside 1..31",
		"*-*~29":               "day 29 from the end of the month",
		"1969-01-01":           "year 1969 is outside 1970..2199",
		"12:30.5":              `unexpected ".5"`,
		"daily Europe/Nowhere": `"Europe/Nowhere" is not a time zone`,
	} {
		_, err := parseCalendar(in, time.UTC)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v; want an error saying %q", in, err, want)
		}
	}
}

// calendarNextCases were checked against `systemd-analyze calendar` (systemd 252.39): the spec,
// the TZ it ran in, the base time, the normalized form and the next four elapses (fewer when
// systemd said "never").
var calendarNextCases = []struct {
	expr, tz, base, norm string
	want                 []string
}{
	{"daily", "UTC", "2024-01-31T12:00:00Z", "*-*-* 00:00:00", []string{"2024-02-01T00:00:00Z", "2024-02-02T00:00:00Z", "2024-02-03T00:00:00Z", "2024-02-04T00:00:00Z"}},
	{"Mon..Fri *-*-* 10:00", "UTC", "2024-06-07T10:00:00Z", "Mon..Fri *-*-* 10:00:00", []string{"2024-06-10T10:00:00Z", "2024-06-11T10:00:00Z", "2024-06-12T10:00:00Z", "2024-06-13T10:00:00Z"}},
	{"*:0/15", "UTC", "2024-06-07T10:07:00Z", "*-*-* *:00/15:00", []string{"2024-06-07T10:15:00Z", "2024-06-07T10:30:00Z", "2024-06-07T10:45:00Z", "2024-06-07T11:00:00Z"}},
	{"*-02-29 12:00", "UTC", "2023-06-01T00:00:00Z", "*-02-29 12:00:00", []string{"2024-02-29T12:00:00Z", "2028-02-29T12:00:00Z", "2032-02-29T12:00:00Z", "2036-02-29T12:00:00Z"}},
	{"Mon *-02-29", "UTC", "2023-06-01T00:00:00Z", "Mon *-02-29 00:00:00", []string{"2044-02-29T00:00:00Z", "2072-02-29T00:00:00Z", "2112-02-29T00:00:00Z", "2140-02-29T00:00:00Z"}},
	{"*-*~01", "UTC", "2024-01-15T00:00:00Z", "*-*~01 00:00:00", []string{"2024-01-31T00:00:00Z", "2024-02-29T00:00:00Z", "2024-03-31T00:00:00Z", "2024-04-30T00:00:00Z"}},
	{"*-02~03", "UTC", "2023-01-15T00:00:00Z", "*-02~03 00:00:00", []string{"2023-02-26T00:00:00Z", "2024-02-27T00:00:00Z", "2025-02-26T00:00:00Z", "2026-02-26T00:00:00Z"}},
	{"*-*~1..3", "UTC", "2024-02-26T12:00:00Z", "*-*~01..03 00:00:00", []string{"2024-02-27T00:00:00Z", "2024-02-28T00:00:00Z", "2024-02-29T00:00:00Z", "2024-03-29T00:00:00Z"}},
	{"*-*~7/2", "UTC", "2024-04-23T12:00:00Z", "*-*~07/2 00:00:00", []string{"2024-04-24T00:00:00Z", "2024-04-26T00:00:00Z", "2024-04-28T00:00:00Z", "2024-04-30T00:00:00Z"}},
	{"Fri *-*~7/1 18:00", "UTC", "2024-01-01T00:00:00Z", "Fri *-*~07/1 18:00:00", []string{"2024-01-26T18:00:00Z", "2024-02-23T18:00:00Z", "2024-03-29T18:00:00Z", "2024-04-26T18:00:00Z"}},
	{"Sat *-*~01 03:00/15:00 Europe/Berlin", "UTC", "2024-03-01T00:00:00Z", "Sat *-*~01 03:00/15:00 Europe/Berlin", []string{"2024-08-31T01:00:00Z", "2024-08-31T01:15:00Z", "2024-08-31T01:30:00Z", "2024-08-31T01:45:00Z"}},
	{"Thu,Fri 2012-*-1,5 11:12:13", "UTC", "2011-01-01T00:00:00Z", "Thu,Fri 2012-*-01,05 11:12:13", []string{"2012-01-05T11:12:13Z", "2012-03-01T11:12:13Z", "2012-04-05T11:12:13Z", "2012-06-01T11:12:13Z"}},
	{"quarterly", "UTC", "2024-05-05T00:00:00Z", "*-01,04,07,10-01 00:00:00", []string{"2024-07-01T00:00:00Z", "2024-10-01T00:00:00Z", "2025-01-01T00:00:00Z", "2025-04-01T00:00:00Z"}},
	{"2024-02-29 23:59:59 UTC", "UTC", "2024-01-01T00:00:00Z", "2024-02-29 23:59:59 UTC", []string{"2024-02-29T23:59:59Z"}},
	{"@1700000000", "UTC", "2023-01-01T00:00:00Z", "2023-11-14 22:13:20 UTC", []string{"2023-11-14T22:13:20Z"}},
	{"*-*-* 23:59:59 UTC", "UTC", "2199-12-30T12:00:00Z", "*-*-* 23:59:59 UTC", []string{"2199-12-30T23:59:59Z", "2199-12-31T23:59:59Z"}},
	{"daily America/New_York", "UTC", "2024-03-09T00:00:00Z", "*-*-* 00:00:00 America/New_York", []string{"2024-03-09T05:00:00Z", "2024-03-10T05:00:00Z", "2024-03-11T04:00:00Z", "2024-03-12T04:00:00Z"}},

	// Berlin, spring: 02:30 does not exist on 2024-03-31, and systemd skips that day.
	{"*-*-* 02:30", "Europe/Berlin", "2024-03-30T12:00:00Z", "*-*-* 02:30:00", []string{"2024-04-01T00:30:00Z", "2024-04-02T00:30:00Z", "2024-04-03T00:30:00Z", "2024-04-04T00:30:00Z"}},
	{"*:0/20", "Europe/Berlin", "2024-03-31T00:30:00Z", "*-*-* *:00/20:00", []string{"2024-03-31T00:40:00Z", "2024-03-31T01:00:00Z", "2024-03-31T01:20:00Z", "2024-03-31T01:40:00Z"}},
	// Berlin, autumn: the second pass through 02:00..02:59 is skipped.
	{"*:0/20", "Europe/Berlin", "2024-10-27T00:10:00Z", "*-*-* *:00/20:00", []string{"2024-10-27T00:20:00Z", "2024-10-27T00:40:00Z", "2024-10-27T02:00:00Z", "2024-10-27T02:20:00Z"}},
	{"*-*-* 02:30", "Europe/Berlin", "2024-10-26T12:00:00Z", "*-*-* 02:30:00", []string{"2024-10-27T00:30:00Z", "2024-10-28T01:30:00Z", "2024-10-29T01:30:00Z", "2024-10-30T01:30:00Z"}},
	// A standard-time abbreviation stops at the change to summer time.
	{"*-*-* 12:00 CET", "Europe/Berlin", "2024-03-28T00:00:00Z", "*-*-* 12:00:00 CET", []string{"2024-03-28T11:00:00Z", "2024-03-29T11:00:00Z", "2024-03-30T11:00:00Z"}},
	{"*-*-* 02:30 CEST", "Europe/Berlin", "2024-10-27T00:00:00Z", "*-*-* 02:30:00 CEST", []string{"2024-10-27T00:30:00Z", "2024-10-28T01:30:00Z"}},
	{"*-*-* 02:30", "America/New_York", "2024-03-09T12:00:00Z", "*-*-* 02:30:00", []string{"2024-03-11T06:30:00Z", "2024-03-12T06:30:00Z", "2024-03-13T06:30:00Z", "2024-03-14T06:30:00Z"}},
	{"*:0/30", "America/New_York", "2024-11-03T04:45:00Z", "*-*-* *:00/30:00", []string{"2024-11-03T05:00:00Z", "2024-11-03T05:30:00Z", "2024-11-03T07:00:00Z", "2024-11-03T07:30:00Z"}},
	// Dublin's winter time is its daylight saving time.
	{"hourly", "Europe/Dublin", "2025-03-29T22:00:00Z", "*-*-* *:00:00", []string{"2025-03-29T23:00:00Z", "2025-03-30T00:00:00Z", "2025-03-30T01:00:00Z", "2025-03-30T02:00:00Z"}},
}

func TestCalendarNext(t *testing.T) {
	for _, tc := range calendarNextCases {
		loc := mustLoadLocation(t, tc.tz)
		c, err := parseCalendar(tc.expr, loc)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.expr, err)
			continue
		}
		if c.String() != tc.norm {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.expr, c.String(), tc.norm)
		}
		at, _ := time.Parse(time.RFC3339, tc.base)
		var got []string
		for range 4 {
			n, ok := c.nextIn(at, loc)
			if !ok {
				break
			}
			if !n.After(at) {
				t.Errorf("%q: next after %v is %v", tc.expr, at, n)
				break
			}
			got = append(got, n.UTC().Format(time.RFC3339))
			at = n
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("TZ=%s %q from %s:\n got %q\nwant %q", tc.tz, tc.expr, tc.base, got, tc.want)
		}
	}
}

func TestCalendarNextPrecisionAndZone(t *testing.T) {
	utc := func(s string) time.Time {
		at, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	for _, tc := range []struct {
		expr, after, want string
	}{
		{"*:*:10.123456 UTC", "2024-01-01T10:00:00Z", "2024-01-01T10:00:10.123456Z"},
		// after is rounded down to a µs; the elapse must be strictly later.
		{"*:*:10.123456 UTC", "2024-01-01T10:00:10.1234565Z", "2024-01-01T10:01:10.123456Z"},
		{"*:*:10.123456 UTC", "2024-01-01T10:00:10.123455999Z", "2024-01-01T10:00:10.123456Z"},
		{"*:*:0/0.25 UTC", "2024-01-01T10:00:00.3Z", "2024-01-01T10:00:00.5Z"},
		{"*:*:0/0.000001 UTC", "2024-01-01T10:00:00.000041Z", "2024-01-01T10:00:00.000042Z"},
		{"*:*:59.999999 UTC", "2024-12-31T23:59:59.999999Z", "2025-01-01T00:00:59.999999Z"},
		{"daily Europe/Berlin", "2024-07-01T12:00:00Z", "2024-07-01T22:00:00Z"},
		{"daily UTC", "1900-01-01T00:00:00Z", "1970-01-01T00:00:00Z"},
	} {
		c, err := Parse(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		n, ok := c.Next(utc(tc.after))
		if !ok || !n.Equal(utc(tc.want)) {
			t.Errorf("%q after %s = %v, %v; want %s", tc.expr, tc.after, n, ok, tc.want)
		}
		if ok && n.Location().String() != c.zone(time.Local).String() {
			t.Errorf("%q: elapse in %v", tc.expr, n.Location())
		}
	}
	for _, tc := range []struct{ expr, after string }{
		{"2024-02-29 UTC", "2024-02-29T00:00:00Z"},
		{"*-02-30 UTC", "2024-01-01T00:00:00Z"},
		{"daily UTC", "2199-12-31T00:00:00Z"},
		{"daily UTC", "9999-12-31T00:00:00Z"},
	} {
		c, err := Parse(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		if n, ok := c.Next(utc(tc.after)); ok {
			t.Errorf("%q after %s = %v, want never", tc.expr, tc.after, n)
		}
	}
	berlin := mustLoadLocation(t, "Europe/Berlin")
	c, _ := parseCalendar("*-*-* 12:00 CET", berlin)
	if n, ok := c.nextIn(utc("2024-07-01T00:00:00Z"), berlin); ok {
		t.Errorf("12:00 CET in summer = %v, want never", n)
	}
}

// FuzzParseCalendar: Parse never panics, the normalized form of what it accepts parses
// to the same normalized form, and Next terminates with a later time.
func FuzzParseCalendar(f *testing.F) {
	for _, s := range calendarCorpus {
		f.Add(s)
	}
	bases := []time.Time{
		time.Date(2024, 10, 27, 0, 59, 59, 999999000, time.UTC),
		time.Date(2024, 10, 27, 1, 10, 0, 0, time.UTC), // Berlin: second pass through 02:10
		time.Date(2024, 3, 10, 6, 30, 0, 0, time.UTC),
		time.Date(2199, 12, 31, 23, 0, 0, 0, time.UTC),
		time.Unix(0, 0),
	}
	zones := []*time.Location{time.UTC, mustLoadLocation(f, "Europe/Berlin"), mustLoadLocation(f, "America/New_York")}
	f.Fuzz(func(t *testing.T, s string) {
		for i, local := range zones {
			c, err := parseCalendar(s, local)
			if err != nil {
				if c != nil || err.Error() == "" {
					t.Fatalf("Parse(%q) = %v, %v", s, c, err)
				}
				continue
			}
			norm := c.String()
			c2, err := parseCalendar(norm, local)
			if err != nil {
				t.Fatalf("Parse(%q) = %q, which does not parse: %v", s, norm, err)
			}
			if c2.String() != norm {
				t.Fatalf("Parse(%q) = %q, which parses to %q", s, norm, c2.String())
			}
			base := bases[(len(s)+i)%len(bases)]
			start := time.Now()
			at := base
			for range 3 {
				n, ok := c.nextIn(at, local)
				if !ok {
					break
				}
				if !n.After(at) {
					t.Fatalf("%q: next after %v is %v", s, at, n)
				}
				at = n
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("%q: Next took %v", s, d)
			}
		}
	})
}

// calendarCorpus is what TestCalendarMatchesSystemd feeds to both systemd-analyze and
// Parse: every example of systemd.time(7), and the corners of the syntax and of the
// evaluation, valid and invalid.
var calendarCorpus = []string{
	// systemd.time(7)
	"Thu,Fri 2012-*-1,5 11:12:13", "*-02~03", "Mon *-05~07/1",
	"minutely", "hourly", "daily", "monthly", "weekly", "yearly", "quarterly", "semiannually",
	"Sat,Thu,Mon..Wed,Sat..Sun", "Mon,Sun 12-*-* 2,1:23", "Wed *-1", "Wed..Wed,Wed *-1",
	"Wed, 17:48", "Wed..Sat,Tue 12-10-15 1:2:3", "*-*-7 0:0:0", "10-15", "monday *-12-* 17:00",
	"Mon,Fri *-*-3,1,2 *:30:45", "12,14,13,12:20,10,30", "12..14:10,20,30",
	"mon,fri *-1/2-1,3 *:30:45", "03-05 08:05:40", "08:05:40", "05:40", "Sat,Sun 12-05 08:05:40",
	"Sat,Sun 08:05:40", "2003-03-05 05:40", "05:40:23.4200004/3.1700005", "2003-02..04-05",
	"2003-03-05 05:40 UTC", "2003-03-05", "03-05", "daily UTC", "annually",
	"weekly Pacific/Auckland", "*:2/3",

	// shorthands
	"Minutely", "HOURLY", "anually", "biannually", "bi-annually", "semi-annually", "Quarterly",
	"daily,", "dailyx", "daily ", " daily", "weekly Mon",

	// weekdays
	"Mon..Fri", "Mon-Fri", "Fri..Mon", "Mon,Wed,Fri 9:00", "MONDAY", "sunday 10:00", "Mond",
	"Mon..", "Mon-", "Mon.Tue", "Mon..Wed..Fri", "Mon-Wed-Fri", "Mon,", "Mon, Tue",
	"Mon..Sun", "Sun,Mon", "Sat..Sun,Mon..Tue", "Mon,Tue,Wed,Thu,Fri,Sat", "Tue..Thu,Sat 12:00",
	"Mon..Wed,Fri..Sun *-*-* 1:00", "Mon  12:00", "Mon *-*-* 25:00", "Thu,Fri 2024-02-29",
	"Mon 2024-01-01..07", "Sun *-*-1..7 3:00", "Fri *-*-13", "Fri *-*~7/1 18:00", "Mon 2024-01-02",

	// dates
	"*-02-29", "*-02-29 12:00", "Mon *-02-29", "*-02-30", "*-02-31", "*-04-31", "2024-02-29",
	"2023-02-29", "*-*-31", "*-1,3,5-31", "*-*-29,30,31 23:59:59", "2024-*-*", "2024..2026-01-01",
	"2024/2-01-01", "*-*-1/10", "*-1/3-1", "*-*-*", "*-*", "*-*-*-*", "1-1-1-1", "1969-01-01",
	"2200-01-01", "2199-12-31 23:59:59", "70-01-01", "69-01-01", "99-12-31", "100-01-01",
	"0-1-1", "2024-13-01", "2024-00-01", "2024-01-00", "2024-01-32", "*-12-25 18:00",
	"2025-03-30 02:30", "2024-10-27 02:30", "2024-03-10 02:30", "2024-11-03 01:30",

	// end of the month
	"*-*~01", "*-*~1..3", "*-*~3..1", "*-*~7/2", "*-02~01", "*-02~1,2", "*-*~28", "*-*~29",
	"*-*~1/1", "*-*~05/1", "*-*~01..07/2", "*-02~03 12:00", "2024~02-03", "*-*~*", "*~1",
	"2024-*~1", "*-*~0", "*-*~1..28", "Sat *-*~01 03:00/15:00", "*-*~1/2", "*-*~2/1",
	"*-02~28..1", "*-*~15..20/3", "2024-02~01",

	// times and repetitions
	"*:0/15", "*:*:0/15", "*:5/10", "0/2:00", "*:*:*", "*:*", "*", "*:*:00/1", "*:*:0.5/0.25",
	"10..12:00", "8..17/2:00", "1..5:0..30/10", "*:*:10..20/3", "*:*:1.5..2", "*:*:1..1",
	"5..5:00", "5..3:00", "*:*:1..3.5", "24:00", "23:60", "*:60", "12:00:60", "0:0:0", "12:30",
	"12", "12:", ":30", "12:30:", "12:30:00 ", " 12:30", "12:30:00.5", "12:30.5", "*:0/60",
	"*:0/59", "0..23/23:00", "*:*:59.9999995", "*:*:59.9999994", "*:*:1.1234567",
	"*:*:0.000001/0.000001", "*:*:0/0", "*:*:0.0000001", "*:*:.5", "*:*:5.", "*:*:5..",
	"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,0:00",
	"*:00/20:30", "*-*-* 00:00:00.000001", "*:*:30/31", "*:*:29/31", "23:59:59.999999",
	"12:00/1", "*/2:00", "*,5:00", "1-2:00", "*:0/15:0/20",

	// overflows
	"99999999999:00", "*:*:2147.483647", "*:*:2147.483648", "*:0/4294967296",
	"*:*:18446744073709.551615", "*:*:18446744073710",

	// @TIMESTAMP
	"@0", "@1700000000", "@ 5", "@-1", "@+5", "@1e5", "@", "@7258118399", "@7258118400",
	"@99999999999999999999", "Thu @5", "Mon @5", "@5 UTC", "@5 Europe/Berlin", "@5 ",
	"@1711846800", "@-0",

	// time zones
	"daily utc", "daily Europe/Berlin", "*-*-* 02:30 Europe/Berlin", "*-*-* 02:30 America/New_York",
	"*:0/15 Europe/Berlin", "daily Europe/Nowhere", "daily Etc/UTC", "daily Local", "daily CET",
	"daily CEST", "daily EST", "daily EDT", "daily cet", "12:00 Asia/Kolkata",
	"Mon 10:00 Australia/Lord_Howe", "daily posix/Europe/Berlin", "daily Europe//Berlin",
	"daily Europe/Berlin/", "UTC", " UTC", "daily  UTC", "*-*-* 12:00 CET", "*-*-* 12:00 CEST",
	"*-*-* 02:30 CET", "*-*-* 02:30 CEST", "*-*-* 01:30 EST", "*-*-* 01:30 EDT",
	"2024-10-27 02:30 CET", "2024-10-27 02:30 CEST", "*-*-* 02:30 Australia/Lord_Howe",
	"*:0/10 America/New_York", "*-*-* 2:* Europe/Berlin", "Sun *-*-* 01:59:59 America/New_York",
	"daily Europe", "daily GMT+0", "daily Etc/GMT-14", "CET", "Mon CET", "daily GMT", "daily IST",
	"daily +11", "daily +1030", "*-*-* 01:30 GMT", "*-*-* 01:30 IST",
	"daily right/UTC", "*:*:59 right/Europe/Berlin", "@1483228826 right/UTC", "*-12-31 23:59:60",
	"*-*-* 23:59:30/10 right/UTC", "*:*:0/7 UTC",

	// local DST changes
	"*-*-* 02:30", "*-*-* 02:00", "*-*-* 01:30", "*-*-* 03:00", "*-*-* 2:*", "*-*-* 2:0/20",
	"*:0/30", "*:*:0/30", "*-*-* 01:00..03:00/20:00", "*-*-* 02:59:59.5", "*-*-* 1..3:30",
	"Sun *-*-* 02:15", "*-03-* 02:30", "*-10-* 02:30", "*-*-* 00:00", "*-*-* 23:30",
}
