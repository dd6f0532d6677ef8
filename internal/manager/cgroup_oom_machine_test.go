package manager

import "testing"

// TestServiceOOMPolicy walks OOMPolicy= through the service's states, as systemd 252's
// service_notify_cgroup_oom_event: an OOM kill of a process of the unit (not its main
// process's exit, which service_exit handles).
func TestServiceOOMPolicy(t *testing.T) {
	const stop = "ExecStart=/bin/main\nExecStop=/bin/stop\nExecStopPost=/bin/stoppost"
	runMachineRows(t, "service", []machineRow{
		{name: "continue", unit: stop + "\nOOMPolicy=continue", events: []string{"start", "oom"}, state: "running", result: "success",
			trace: []string{"→condition", "→start-pre", "→start", "spawn /bin/main", "→start-post", "→running"}},
		{name: "stop while running", unit: stop, events: []string{"start", "oom", "exit /bin/stop", "exit /bin/main SIGTERM", "exit /bin/stoppost"}, state: "failed", result: "oom-kill",
			trace: []string{"→condition", "→start-pre", "→start", "spawn /bin/main", "→start-post", "→running", "→stop", "spawn /bin/stop",
				"kill /bin/main SIGTERM", "→stop-sigterm", "→stop-post", "spawn /bin/stoppost", "→failed"}},
		{name: "kill while running", unit: stop + "\nOOMPolicy=kill", events: []string{"start", "oom", "exit /bin/main SIGKILL"}, state: "failed", result: "oom-kill",
			trace: []string{"→condition", "→start-pre", "→start", "spawn /bin/main", "→start-post", "→running",
				"kill /bin/main SIGKILL", "→final-sigkill", "→failed"}},
		{name: "stop while stopping escalates", unit: stop, events: []string{"start", "stop", "exit /bin/stop", "oom", "exit /bin/main SIGKILL", "exit /bin/stoppost"}, state: "failed", result: "oom-kill",
			trace: []string{"→condition", "→start-pre", "→start", "spawn /bin/main", "→start-post", "→running", "→stop", "spawn /bin/stop",
				"kill /bin/main SIGTERM", "→stop-sigterm", "kill /bin/main SIGKILL", "→stop-sigkill",
				"→stop-post", "spawn /bin/stoppost", "→failed"}},
		{name: "stop in start-pre", unit: "ExecStartPre=/bin/pre\n" + stop, events: []string{"start", "oom", "exit /bin/pre SIGTERM", "exit /bin/stoppost"}, state: "failed", result: "oom-kill",
			trace: []string{"→condition", "→start-pre", "spawn /bin/pre", "kill /bin/pre SIGTERM", "→stop-sigterm",
				"→stop-post", "spawn /bin/stoppost", "→failed"}},
		{name: "inactive: nothing", unit: stop, events: []string{"oom"}, state: "dead", result: "success"},
	})
}
