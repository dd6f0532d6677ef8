package manager

import "testing"

// TestTimerMachine walks a timer through the states that do not depend on how much time
// passed (its elapses are computed on the real monotonic clock, which the fake system does
// not replace): waiting, running while its unit runs, dead after a stop.
func TestTimerMachine(t *testing.T) {
	runMachineRows(t, "timer", []machineRow{
		{name: "start waits", unit: "OnActiveSec=5", events: []string{"start"}, state: "waiting", result: "success",
			trace: []string{"→waiting"}},
		{name: "elapse starts the unit", unit: "OnActiveSec=5", events: []string{"start", "elapse"}, state: "running", result: "success",
			trace: []string{"→waiting", "timer elapse", "→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running"}},
		{name: "stop", unit: "OnActiveSec=5", events: []string{"start", "stop"}, state: "dead", result: "success",
			trace: []string{"→waiting", "→dead"}},
		{name: "stop while running", unit: "OnActiveSec=5", events: []string{"start", "elapse", "stop"}, state: "dead", result: "success",
			trace: []string{"→waiting", "timer elapse", "→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running", "→dead"}},
		{name: "unit missing", unit: "OnActiveSec=5\nUnit=missing.service", events: []string{"start"}, state: "dead", result: "success",
			trace: []string{}}, // the start job fails: no state change,
	})
}
