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

// TestDefaultOOMPolicy: DefaultOOMPolicy= is the policy of a service that sets none and
// delegates nothing (Delegate=yes makes it continue).
func TestDefaultOOMPolicy(t *testing.T) {
	tests := []struct {
		name, unit, def, state, result string
	}{
		{"default continue", "ExecStart=/bin/main", "continue", "running", "success"},
		{"own policy wins", "ExecStart=/bin/main\nOOMPolicy=stop", "continue", "stop-sigterm", "oom-kill"},
		{"default kill", "ExecStart=/bin/main", "kill", "final-sigkill", "oom-kill"},
		{"delegate continues", "ExecStart=/bin/main\nDelegate=yes", "kill", "running", "success"},
		{"no default: stop", "ExecStart=/bin/main", "", "stop-sigterm", "oom-kill"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mc := newMachine(t, "x.service", map[string]string{"x.service": "[Unit]\nDefaultDependencies=no\n[Service]\n" + tc.unit + "\n"})
			mc.m.opt.DefaultOOMPolicy = tc.def
			mc.do("start")
			mc.do("oom")
			if s, r := mc.u.sub.String(), mc.u.result.String(); s != tc.state || r != tc.result {
				t.Errorf("%s/%s, want %s/%s", s, r, tc.state, tc.result)
			}
		})
	}
}
