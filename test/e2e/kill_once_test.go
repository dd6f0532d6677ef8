package e2e

import (
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestKillSignalsOnce: stopping a KillMode=control-group service signals each of its
// processes once — the main process is in the cgroup walk too, and must not get KillSignal=
// a second time (systemd's unit_kill_context leaves the main and control pids out of the
// walk). KillSignal= is a real-time signal, which the kernel queues, so a second one would be
// counted; SendSIGHUP= and the SIGCONT after the kill signal arrive as well. The processes
// report what they got once a later SIGUSR1 arrives: the child's from the test, the main
// process's from flint kill.
func TestKillSignalsOnce(t *testing.T) {
	h := svcHelper(t)
	out := filepath.Join(t.TempDir(), "sigs")
	for _, mode := range []string{"control-group", "mixed"} {
		t.Run(mode, func(t *testing.T) {
			out := out + "-" + mode
			units := writeUnits(t, map[string]string{
				"count.service": unitFile("Service", "KillMode="+mode+"\nKillSignal=SIGRTMIN+4\nSendSIGHUP=yes\nTimeoutStopSec=1min\n"+
					"ExecStart="+h+" count-signals "+out),
			})
			m := startManager(t, units)
			c := on(t, m)
			c.start("count.service")
			child, err := strconv.Atoi(strings.TrimSpace(readWait(t, out+".ready")))
			if err != nil {
				t.Fatalf("ready file: %v", err)
			}
			c.run(0, "stop", "--no-block", "count.service")
			c.waitState("count.service", "deactivating/stop-sigterm")
			// The child reports first: once the main process is gone the manager kills what
			// is left with SIGKILL at once (KillMode=mixed, as systemd), which would race
			// with the child's report.
			if err := syscall.Kill(child, syscall.SIGUSR1); err != nil {
				t.Fatal(err)
			}
			readWait(t, out+".child")
			c.run(0, "kill", "-s", "SIGUSR1", "count.service")
			c.waitState("count.service", "inactive/dead")

			const rt4, hup, cont, usr1 = "38", "1", "18", "10" // SIGRTMIN+4 (glibc's SIGRTMIN is 34)
			want := map[string]map[string]string{
				"main": {rt4: "1", hup: "1", cont: "1", usr1: "1"},
				// KillMode=mixed sends KillSignal= to the main process only.
				"child": {rt4: "1", hup: "1", cont: "1", usr1: "1"},
			}
			if mode == "mixed" {
				want["child"] = map[string]string{usr1: "1"}
			}
			for who, w := range want {
				got := map[string]string{}
				for _, l := range strings.Fields(readWait(t, out+"."+who)) {
					k, v, _ := strings.Cut(l, "=")
					if k != "17" { // SIGCHLD: the child's exit, seen by the main process
						got[k] = v
					}
				}
				if len(got) != len(w) {
					t.Errorf("%s process got signals %v (number=count), want %v", who, got, w)
					continue
				}
				for k, v := range w {
					if got[k] != v {
						t.Errorf("%s process got signals %v (number=count), want %v", who, got, w)
						break
					}
				}
			}
		})
	}
}
