package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCgroupOOMPolicy: the OOM killer kills a child of the main process (not the main
// process itself), in a group whose memory is limited; OOMPolicy=stop and kill end the
// service with Result=oom-kill, continue leaves it running, each logs the kill.
func TestCgroupOOMPolicy(t *testing.T) {
	dir := t.TempDir()
	hog := filepath.Join(dir, "hog.py")
	if err := os.WriteFile(hog, []byte("b = b'x' * (400 << 20)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, p := range []string{"stop", "kill", "continue"} {
		marker := filepath.Join(dir, p)
		files["oom-"+p+".service"] = unitFile("Service", "ExecStart=/bin/sh -c '/usr/bin/python3 "+hog+"; touch "+marker+"; exec sleep 1000'\nMemoryMax=40M\nOOMPolicy="+p)
	}
	m, _ := cgroupManager(t, writeUnits(t, files))
	c := on(t, m)
	for _, p := range []string{"continue", "stop", "kill"} {
		t.Run(p, func(t *testing.T) {
			u := "oom-" + p + ".service"
			c.run(0, "start", u)
			if p == "continue" {
				// The shell goes on after its child's death: it touches the marker.
				if !waitFor(15*time.Second, func() bool { _, err := os.Stat(filepath.Join(dir, p)); return err == nil }) {
					st, _ := c.flint("status", u)
					t.Fatalf("OOMPolicy=continue: the shell did not go on:\n%s", st)
				}
				if got := c.props(u, "ActiveState", "Result"); got["ActiveState"] != "active" || got["Result"] != "success" {
					t.Errorf("OOMPolicy=continue: %v", got)
				}
			} else {
				c.waitState(u, "failed/failed")
				if r := c.prop(u, "Result"); r != "oom-kill" {
					t.Errorf("Result=%s, want oom-kill", r)
				}
			}
			var logs string
			waitFor(10*time.Second, func() bool {
				logs, _ = c.flint("logs", "-u", u)
				return strings.Contains(logs, "A process of this unit has been killed by the OOM killer.")
			})
			if !strings.Contains(logs, "A process of this unit has been killed by the OOM killer.") {
				t.Errorf("no OOM message in the log:\n%s", logs)
			}
		})
	}
}
