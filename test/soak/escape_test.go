package soak

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// escapeScripts are the processes of esc.service, all ignoring SIGTERM (and SIGHUP, SIGINT):
// the main process; a daemon that double-forks into a session of its own; one in a process
// group of its own; and a hopper that every 200 ms forks its successor into a new session
// and exits, so that its pid never stays. Each loops on a copy of sleep, which inherits the
// ignored signals (the one in its own group is the hostile helper's sleep).
var escapeScripts = map[string]string{
	"loop.sh": "trap '' TERM HUP INT\nwhile :; do \"${0%/*}/sleep\" 1; done\n",
	"hop.sh":  "trap '' TERM HUP INT\n\"${0%/*}/sleep\" 0.2\n\"${0%/*}/setsid\" -f \"${0%/*}/dash\" \"$0\"\n",
	"main.sh": `trap '' TERM HUP INT
D=${0%/*}
( "$D/setsid" -f "$D/dash" "$D/loop.sh" & )
( "$D/hostile" sleep ignore-term own-group & )
"$D/setsid" -f "$D/dash" "$D/hop.sh"
exec "$D/dash" "$D/loop.sh"
`,
}

// TestEscapingProcesses: a service whose processes ignore SIGTERM, leave its session or
// process group, or keep changing pid is stopped: every one of them is gone within
// TimeoutStopSec + 1 s of the stop, round after round.
func TestEscapingProcesses(t *testing.T) {
	const timeoutStop = 2 * time.Second
	dir := openDir(t)
	var exes []string
	for _, src := range []string{"/bin/dash", "/usr/bin/sleep", "/usr/bin/setsid", hostileBin} {
		exes = append(exes, copyFile(t, src, dir))
	}
	killLeftovers(t, exes...)
	writeFiles(t, dir, escapeScripts)
	units := writeFiles(t, filepath.Join(dir, "units"), map[string]string{
		"esc.service": fmt.Sprintf("[Service]\nExecStart=%s/dash %s/main.sh\nTimeoutStopSec=%s\n", dir, dir, timeoutStop),
	})
	m := startManager(t, units)
	f := newFigures(t)
	alive := func() []int {
		var pids []int
		for _, exe := range exes {
			pids = append(pids, pidsOf(exe)...)
		}
		return pids
	}
	shells := func() int { return len(pidsOf(exes[0])) + len(pidsOf(exes[3])) }
	rounds := pick(2, 10)
	var worst time.Duration
	var states []string
	for r := 0; r < rounds; r++ {
		m.mustFlint(t, "start", "esc.service")
		// main, the double-forked daemon, the one in its own group and the hopper.
		if !waitUntil(20*time.Second, func() bool { return shells() >= 4 }) {
			t.Fatalf("round %d: %d of the 4 shells running", r, shells())
		}
		start := time.Now()
		out, code := m.flint(t, "stop", "esc.service")
		stopped := time.Since(start)
		deadline := timeoutStop + time.Second
		gone := waitUntil(deadline-time.Since(start), func() bool { return len(alive()) == 0 })
		took := time.Since(start)
		worst = max(worst, took)
		st := m.props(t, "esc.service", "ActiveState", "Result")
		states = append(states, st["ActiveState"]+"/"+st["Result"])
		if code != 0 {
			t.Errorf("round %d: flint stop: exit %d\n%s", r, code, out)
		}
		if !gone {
			t.Fatalf("round %d: processes %v still there %s after the stop (TimeoutStopSec=%s; stop returned after %s)",
				r, alive(), took.Round(time.Millisecond), timeoutStop, stopped.Round(time.Millisecond))
		}
		if st["ActiveState"] != "inactive" && st["ActiveState"] != "failed" {
			t.Errorf("round %d: esc.service %v after the stop", r, st)
		}
	}
	f.add("rounds", "%d (TimeoutStopSec=%s)", rounds, timeoutStop)
	f.add("all processes gone, worst round", "%s after the stop", worst.Round(time.Millisecond))
	f.add("state after each stop", "%s", strings.Join(states, ", "))
}
