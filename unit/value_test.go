package unit

import (
	"syscall"
	"testing"
	"time"
)

func TestParseBool(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
		err  bool
	}{
		{"1", true, false}, {"yes", true, false}, {"Y", true, false}, {"true", true, false}, {"t", true, false}, {"ON", true, false},
		{"0", false, false}, {"no", false, false}, {"n", false, false}, {"False", false, false}, {"f", false, false}, {"off", false, false},
		{"", false, true}, {"2", false, true}, {"yess", false, true}, {" yes", false, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseBool(tc.in)
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("ParseBool(%q) = %v, %v; want %v, err %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestParseTimespan(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"0", 0, false},
		{"5", 5 * time.Second, false},
		{"2min 200ms", 2*time.Minute + 200*time.Millisecond, false},
		{"2min200ms", 2*time.Minute + 200*time.Millisecond, false},
		{"1.5s", 1500 * time.Millisecond, false},
		{"1.500056s", 1500056 * time.Microsecond, false}, // exact: a float gives 1.500055s
		{"0.1234567s", 123456 * time.Microsecond, false}, // below 1µs truncated
		{"0.7ms", 700 * time.Microsecond, false},
		{"2.3min", 138 * time.Second, false},
		{".5s", 500 * time.Millisecond, false},
		{"3.", 0, true},
		{"3.sec", 0, true},
		{"+5", 5 * time.Second, false},
		{"5 +5", 10 * time.Second, false},
		{"1.5.5s", 0, true},
		{"1.5 .5s", 2 * time.Second, false},
		{"1.5s.5", 2 * time.Second, false},
		{"1h 30m", 90 * time.Minute, false},
		{"1 h", time.Hour, false},
		{"3d", 72 * time.Hour, false},
		{"1w", 7 * 24 * time.Hour, false},
		{"100us", 100 * time.Microsecond, false},
		{"100µs", 100 * time.Microsecond, false},
		{"10msec", 10 * time.Millisecond, false},
		{"2 minutes", 2 * time.Minute, false},
		{"1y", 31557600 * time.Second, false},
		{"1M", 2629800 * time.Second, false},
		{"infinity", DurationInfinity, false},
		{" infinity ", DurationInfinity, false},
		{"", 0, true},
		{"-5s", 0, true},
		{"5x", 0, true},
		{"s", 0, true},
		{"infinity 5s", 0, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTimespan(tc.in)
			if (err != nil) != tc.err || (!tc.err && got != tc.want) {
				t.Errorf("ParseTimespan(%q) = %v, %v; want %v, err %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		err  bool
	}{
		{"0", 0, false}, {"1024", 1024, false}, {"1K", 1024, false}, {"8M", 8 << 20, false},
		{"2G", 2 << 30, false}, {"1T", 1 << 40, false}, {"1.5K", 1536, false}, {"512B", 512, false},
		{"1G 512M", 1<<30 + 512<<20, false},
		{"", 0, true}, {"-1", 0, true}, {"1X", 0, true}, {"1.5", 0, true}, {"K", 0, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSize(tc.in)
			if (err != nil) != tc.err || (!tc.err && got != tc.want) {
				t.Errorf("ParseSize(%q) = %v, %v; want %v, err %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestParseMode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint32
		err  bool
	}{
		{"0755", 0o755, false}, {"755", 0o755, false}, {"0", 0, false}, {"7777", 0o7777, false},
		{"10000", 0, true}, {"8", 0, true}, {"", 0, true}, {"rwx", 0, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseMode(tc.in)
			if (err != nil) != tc.err || (!tc.err && uint32(got) != tc.want) {
				t.Errorf("ParseMode(%q) = %o, %v", tc.in, got, err)
			}
		})
	}
}

func TestParseSignal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want syscall.Signal
		err  bool
	}{
		{"SIGTERM", syscall.SIGTERM, false}, {"TERM", syscall.SIGTERM, false}, {"15", syscall.SIGTERM, false},
		{"SIGKILL", syscall.SIGKILL, false}, {"HUP", syscall.SIGHUP, false}, {"SIGRTMIN", 34, false},
		{"RTMIN+2", 36, false}, {"SIGRTMAX-1", 63, false}, {"64", 64, false},
		{"0", 0, true}, {"65", 0, true}, {"SIGFOO", 0, true}, {"term", 0, true}, {"", 0, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSignal(tc.in)
			if (err != nil) != tc.err || (!tc.err && got != tc.want) {
				t.Errorf("ParseSignal(%q) = %v, %v", tc.in, got, err)
			}
		})
	}
	for sig, name := range map[syscall.Signal]string{syscall.SIGTERM: "SIGTERM", syscall.SIGABRT: "SIGABRT", syscall.SIGIO: "SIGIO", 36: "SIGRTMIN+2"} {
		if got := SignalName(sig); got != name {
			t.Errorf("SignalName(%d) = %s, want %s", sig, got, name)
		}
	}
}

func TestParseExitStatus(t *testing.T) {
	var set ExitStatusSet
	bad := ParseExitStatusSet("0 1 SIGHUP TERM 255 NOTINSTALLED EXEC 256 bogus 1", &set)
	if len(bad) != 2 || bad[0] != "256" || bad[1] != "bogus" {
		t.Errorf("bad = %q", bad)
	}
	wantCodes := []int{0, 1, 255, 5, 203}
	if len(set.Codes) != len(wantCodes) {
		t.Fatalf("codes = %v, want %v", set.Codes, wantCodes)
	}
	for i := range wantCodes {
		if set.Codes[i] != wantCodes[i] {
			t.Errorf("codes = %v, want %v", set.Codes, wantCodes)
		}
	}
	if len(set.Signals) != 2 || set.Signals[0] != syscall.SIGHUP || set.Signals[1] != syscall.SIGTERM {
		t.Errorf("signals = %v", set.Signals)
	}
}

func TestParseRlimit(t *testing.T) {
	for _, tc := range []struct {
		name, dir, in string
		soft, hard    uint64
		err           bool
	}{
		{"nofile", "LimitNOFILE", "1024:4096", 1024, 4096, false},
		{"nofile-one", "LimitNOFILE", "65536", 65536, 65536, false},
		{"nofile-inf", "LimitNOFILE", "infinity", Infinity, Infinity, false},
		{"nofile-soft-inf", "LimitNOFILE", "1024:infinity", 1024, Infinity, false},
		{"core-size", "LimitCORE", "1G", 1 << 30, 1 << 30, false},
		{"cpu-time", "LimitCPU", "2min", 120, 120, false},
		{"cpu-round-up", "LimitCPU", "1500ms", 2, 2, false},
		{"rttime-usec", "LimitRTTIME", "1s", 1000000, 1000000, false},
		{"rttime-bare-usec", "LimitRTTIME", "500", 500, 500, false},
		{"nice-value", "LimitNICE", "-5", 25, 25, false},
		{"nice-raw", "LimitNICE", "10", 10, 10, false},
		{"soft-above-hard", "LimitNOFILE", "10:5", 0, 0, true},
		{"garbage", "LimitNOFILE", "lots", 0, 0, true},
		{"nice-out-of-range", "LimitNICE", "+20", 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRlimit(tc.dir, tc.in)
			if (err != nil) != tc.err || (!tc.err && (got.Soft != tc.soft || got.Hard != tc.hard)) {
				t.Errorf("ParseRlimit(%s, %q) = %+v, %v", tc.dir, tc.in, got, err)
			}
		})
	}
}

func TestCUnescape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`a\nb`, "a\nb"}, {`\t`, "\t"}, {`\x41`, "A"}, {`\101`, "A"}, {`\u00e9`, "é"}, {`\U0001F600`, "😀"},
		{`\\`, `\`}, {`\"`, `"`}, {`\s`, " "},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := CUnescape(tc.in)
			if err != nil || got != tc.want {
				t.Errorf("CUnescape(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
			}
		})
	}
	for _, bad := range []string{`\q`, `\x4`, `\x00`, `\0`, `\`} {
		if _, err := CUnescape(bad); err == nil {
			t.Errorf("CUnescape(%q) succeeded", bad)
		}
	}
}

// FuzzParseTimespan: no panic; a parsed span is a whole number of microseconds, and
// systemd's format of it parses back to the same value.
func FuzzParseTimespan(f *testing.F) {
	for _, s := range []string{"1.500056s", "2min 200ms", "infinity", "0.1234567s", "3.h", "1y 2w", "5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseTimespan(s)
		if err != nil || d == DurationInfinity {
			return
		}
		if d < 0 || d%time.Microsecond != 0 {
			t.Fatalf("ParseTimespan(%q) = %v", s, d)
		}
		back, err := ParseTimespan(FormatTimespan(d))
		if err != nil || back != d {
			t.Fatalf("ParseTimespan(%q) = %v, formatted %q, parsed back %v, %v", s, d, FormatTimespan(d), back, err)
		}
	})
}

func TestFormatTimespan(t *testing.T) {
	for _, tc := range []struct {
		in   time.Duration
		want string
	}{
		{0, "0"},
		{DurationInfinity, "infinity"},
		{-1, "infinity"},
		{100 * time.Millisecond, "100ms"},
		{90 * time.Second, "1min 30s"},
		{2*time.Minute + 500*time.Millisecond, "2min 500ms"},
		{time.Hour + 2*time.Minute + 3*time.Second, "1h 2min 3s"},
		{1500 * time.Millisecond, "1.500000s"},
		{1500 * time.Microsecond, "1.500ms"},
		{59999999 * time.Microsecond, "59.999999s"},
		{61*time.Second + 5*time.Millisecond, "1min 1.005000s"},
		{2*time.Minute + 30500*time.Millisecond, "2min 30.500000s"},
		{26*time.Hour + 3*time.Minute + 4*time.Second + 5*time.Millisecond + 6*time.Microsecond, "1d 2h 3min 4.005006s"},
		{(31557600 + 2*2629800) * time.Second, "1y 2month"},
		{25 * 24 * time.Hour, "3w 4d"},
		{999 * time.Nanosecond, "0"},
		{7 * time.Microsecond, "7us"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := FormatTimespan(tc.in); got != tc.want {
				t.Errorf("FormatTimespan(%d) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestFormatTimespanAccuracy(t *testing.T) {
	for _, tc := range []struct {
		d, acc time.Duration
		want   string
	}{
		{1234567 * time.Microsecond, time.Millisecond, "1.234s"},
		{670*time.Millisecond + 123*time.Microsecond, time.Millisecond, "670ms"},
		{61500 * time.Millisecond, time.Millisecond, "1min 1.500s"},
		{2 * time.Second, time.Millisecond, "2s"},
		{952 * time.Microsecond, time.Millisecond, "952us"},
		{3*time.Hour + 5300*time.Millisecond, time.Millisecond, "3h 5.300s"},
		{90 * time.Minute, time.Millisecond, "1h 30min"},
		{1234567 * time.Microsecond, time.Microsecond, "1.234567s"},
	} {
		if got := FormatTimespanAccuracy(tc.d, tc.acc); got != tc.want {
			t.Errorf("FormatTimespanAccuracy(%v, %v) = %q, want %q", tc.d, tc.acc, got, tc.want)
		}
	}
}

// FuzzFormatTimespan: what FormatTimespan prints, ParseTimespan reads back (to the µs), as
// systemd promises for format_timespan and parse_sec.
func FuzzFormatTimespan(f *testing.F) {
	for _, d := range []int64{0, 1, 999, 1500, 1500000, 90000000, 61005000, 93784005006, 1 << 50} {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, usec int64) {
		if usec < 0 || usec > 1<<62/1000 {
			return
		}
		d := time.Duration(usec) * time.Microsecond
		s := FormatTimespan(d)
		back, err := ParseTimespan(s)
		if err != nil {
			t.Fatalf("FormatTimespan(%v) = %q does not parse: %v", d, s, err)
		}
		if back != d {
			t.Errorf("FormatTimespan(%v) = %q parses back as %v", d, s, back)
		}
	})
}
