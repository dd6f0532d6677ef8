//go:build difftest

package unit

import (
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestParseTimespanMatchesSystemd is a differential test: where systemd-analyze (systemd 252)
// is installed, `systemd-analyze timespan` parses each span with systemd's own parse_time()
// and ParseTimespan must give the same number of microseconds, or fail where it fails.
func TestParseTimespanMatchesSystemd(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not installed")
	}
	usec := regexp.MustCompile(`μs: (\d+)`)
	for _, s := range []string{
		"0", "5", "+5", "5 +5", "1h30", "5 min", "2 minutes", "1sec5", "1d2h", "7 w", "1y", "5m",
		"5M", "1 month", "2 msec", "0.5us", "00.010s", "1.500056s", "1.9999999s", "0.0000009s",
		"2.3min", "0.333333333333h", ".5s", "3 .5", "1.5 .5s", "1.5s.5", "1.5.5s", "3.", "3.sec",
		"+.5", "++5", "+ 5", "-0", "-5s", "1e3", "5ss", "1x", "5s,", "5 5", "584942y", "infinity",
		"", " ", "18446744073709551615",
	} {
		t.Run(strconv.Quote(s), func(t *testing.T) {
			out, _ := exec.Command(analyze, "timespan", s).CombinedOutput()
			m := usec.FindSubmatch(out)
			got, err := ParseTimespan(s)
			if s == "infinity" {
				if got != DurationInfinity || err != nil {
					t.Errorf("ParseTimespan(infinity) = %v, %v", got, err)
				}
				return
			}
			if m == nil {
				if err == nil {
					t.Errorf("ParseTimespan(%q) = %v; systemd refuses it: %s", s, got, out)
				}
				return
			}
			want, _ := strconv.ParseInt(string(m[1]), 10, 64)
			if err != nil || got != time.Duration(want)*time.Microsecond {
				t.Errorf("ParseTimespan(%q) = %v, %v; systemd: %dµs", s, got, err, want)
			}
		})
	}
}
