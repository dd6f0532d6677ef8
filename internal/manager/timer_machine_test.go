package manager

import "testing"

// TestTimerMachine walks a timer through its states (systemd's timer.c): waiting for an
// elapse, running while its unit runs, elapsed (RemainAfterElapse=yes) or dead when nothing
// is left to wait for. The fake clock moves only when a timer fires.
func TestTimerMachine(t *testing.T) {
	runMachineRows(t, "timer", []machineRow{
		{name: "start waits", unit: "OnActiveSec=5", events: []string{"start"}, state: "waiting", result: "success",
			trace: []string{"→waiting"}},
		{name: "elapse starts the unit", unit: "OnActiveSec=5", events: []string{"start", "elapse"}, state: "running", result: "success",
			trace: []string{"→waiting", "timer elapse 5s", "→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running"}},
		{name: "unit ends, elapsed", unit: "OnActiveSec=5", events: []string{"start", "elapse", "exit /bin/daemon"}, state: "elapsed", result: "success",
			trace: []string{"→waiting", "timer elapse 5s", "→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running", "x.service→stop", "x.service→stop-post", "x.service→dead", "→elapsed"}},
		{name: "unit ends, dead", unit: "OnActiveSec=5\nRemainAfterElapse=no", events: []string{"start", "elapse", "exit /bin/daemon"}, state: "dead", result: "success",
			trace: []string{"→waiting", "timer elapse 5s", "→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running", "x.service→stop", "x.service→stop-post", "x.service→dead", "→dead"}},
		{name: "repeats", unit: "OnActiveSec=5\nOnUnitInactiveSec=7", events: []string{"start", "elapse", "exit /bin/daemon", "elapse"}, state: "running", result: "success",
			trace: []string{"→waiting", "timer elapse 5s", "→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running", "x.service→stop", "x.service→stop-post", "x.service→dead", "→waiting", "timer elapse 7s", "→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running"}},
		{name: "stop", unit: "OnActiveSec=5", events: []string{"start", "stop"}, state: "dead", result: "success",
			trace: []string{"→waiting", "→dead"}},
		{name: "stop while running", unit: "OnActiveSec=5", events: []string{"start", "elapse", "stop"}, state: "dead", result: "success",
			trace: []string{"→waiting", "timer elapse 5s", "→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running", "→dead"}},
		{name: "unit missing", unit: "OnActiveSec=5\nUnit=missing.service", events: []string{"start"}, state: "dead", result: "success",
			trace: []string{}}, // the start job fails: no state change,
	})
}
