package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLogRateLimitDefault: a service without LogRateLimit*= settings is limited as journald
// limits every unit (RateLimitIntervalSec=30s, RateLimitBurst=10000, scaled with the free
// disk space): of 300000 lines written at once the first ones are kept, in order, at least a
// burst of them, and the rest dropped; LogRateLimitIntervalSec=0 is that default too (252
// passes only values above 0 to journald), and a burst raised high keeps every line.
func TestLogRateLimitDefault(t *testing.T) {
	const n = 300000
	// The last line is an error: a pool of its own, never dropped here. Once it is stored,
	// so is everything before it.
	seq := "Type=oneshot\nExecStart=/bin/sh -c 'seq " + strconv.Itoa(n) + "; echo \"<3>end\"'\n"
	units := writeUnits(t, map[string]string{
		"default.service": unitFile("Service", seq),
		"zero.service":    unitFile("Service", "LogRateLimitIntervalSec=0\n"+seq),
		"raised.service":  unitFile("Service", "LogRateLimitBurst=100000000\n"+seq),
	})
	m := startManager(t, units)
	c := on(t, m)
	last := func(name string) int {
		c.start(name)
		// The manager's own lines about the unit may come before or after the end line.
		var out string
		if !waitFor(60*time.Second, func() bool {
			out = c.run(0, "logs", "-u", name, "-n", "10", "-o", "cat", "--no-pager")
			return strings.Contains(out, "\nend\n")
		}) {
			t.Fatalf("%s: no end line: %q", name, out)
		}
		got := 0
		for _, l := range strings.Split(out, "\n") {
			if l == "end" {
				break
			}
			if v, err := strconv.Atoi(l); err == nil {
				got = v
			}
		}
		return got
	}
	for _, name := range []string{"default.service", "zero.service"} {
		if k := last(name); k < 10000 || k >= n {
			t.Errorf("%s: last line kept %d of %d, want a burst of at least 10000 and fewer than all", name, k, n)
		}
	}
	if k := last("raised.service"); k != n {
		t.Errorf("raised.service: last line kept %d, want %d", k, n)
	}
}
