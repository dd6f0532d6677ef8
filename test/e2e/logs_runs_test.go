package e2e

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Issue 18, "Logs that last": the lines of a manager's run are kept on disk (here the volatile
// journal next to the control socket: the host has no /var/log/flint), so that after a
// restart flint logs -b -1 and --list-boots read the earlier run, as journalctl reads earlier
// boots.
func TestLogsEarlierRuns(t *testing.T) {
	units := writeUnits(t, map[string]string{
		"first.service":  unitFile("Service", "Type=oneshot\nExecStart=/bin/echo line of the first run"),
		"second.service": unitFile("Service", "Type=oneshot\nExecStart=/bin/echo line of the second run"),
	})
	control := filepath.Join(t.TempDir(), "control.sock")
	m1 := launchManager(t, units, launchOptions{control: control, stopWait: 10 * time.Second})
	c1 := on(t, m1)
	c1.start("first.service")
	cursor := c1.run(0, "logs", "-u", "first.service", "-n", "1", "--show-cursor", "-o", "cat")
	_, firstCursor, _ := strings.Cut(cursor, "-- cursor: ")
	firstID := regexp.MustCompile(`s=([0-9a-f]{32})`).FindStringSubmatch(firstCursor)
	if firstID == nil {
		t.Fatalf("no cursor: %q", cursor)
	}
	if code := m1.terminate(); code != 0 {
		t.Fatalf("first run exited %d", code)
	}

	m2 := launchManager(t, units, launchOptions{control: control, stopWait: 10 * time.Second})
	c2 := on(t, m2)
	c2.start("second.service")
	if out := c2.run(0, "logs", "-b", "-1", "-u", "first.service", "-o", "cat"); !strings.Contains(out, "line of the first run\n") {
		t.Errorf("flint logs -b -1 -u first.service:\n%s", out)
	}
	if out := c2.run(0, "logs", "-b", "-1", "-o", "cat"); strings.Contains(out, "second run") || !strings.Contains(out, "Finished first.service.") {
		t.Errorf("flint logs -b -1:\n%s", out)
	}
	if out := c2.run(0, "logs", "-b", firstID[1], "-t", "echo", "-o", "cat"); out != "line of the first run\n" {
		t.Errorf("flint logs -b ID -t echo: %q", out)
	}
	if out := c2.run(0, "logs", "-b", "-o", "cat", "-t", "echo"); out != "line of the second run\n" {
		t.Errorf("flint logs -b -t echo: %q", out)
	}
	if out := c2.run(0, "logs", "-b", "1", "-o", "cat", "-t", "echo"); out != "line of the first run\n" {
		t.Errorf("flint logs -b 1 -t echo: %q", out)
	}
	if out, code := c2.flint("logs", "-b", "-2"); code != 1 || out != "Data from the specified boot (-2) is not available: No such boot ID in journal\n" {
		t.Errorf("flint logs -b -2: exit %d %q", code, out)
	}
	boots := c2.run(0, "logs", "--list-boots")
	rows := strings.Split(strings.TrimSpace(boots), "\n")
	if len(rows) != 3 || !strings.HasPrefix(rows[0], "IDX BOOT ID") || rows[1][:4] != " -1 " || !strings.HasPrefix(rows[1][4:], firstID[1]+" ") || rows[2][:4] != "  0 " {
		t.Errorf("flint logs --list-boots:\n%s", boots)
	}
	if out, code := runFlint(t, "run", "--log-storage=bogus"); code != 2 || !strings.Contains(out, "--log-storage") {
		t.Errorf("flint run --log-storage=bogus: exit %d %q", code, out)
	}
	if out, code := runFlint(t, "run", "--log-max-use=lots"); code != 2 || !strings.Contains(out, "--log-max-use") {
		t.Errorf("flint run --log-max-use=lots: exit %d %q", code, out)
	}
}
