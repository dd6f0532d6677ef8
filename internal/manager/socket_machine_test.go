package manager

import "testing"

// TestSocketMachine walks systemd's socket state diagram (without start-chown and the
// stop-pre signal states, which flint does not have: a stop kills the control process, whose
// exit ends the state). The sockets are real (in a temporary directory); their service's
// processes are not.
func TestSocketMachine(t *testing.T) {
	const listen = "ListenStream=@DIR@/s.sk\n"
	const full = listen + "ExecStartPre=/bin/pre\nExecStartPost=/bin/post\nExecStopPre=/bin/stoppre\nExecStopPost=/bin/stoppost"
	const failing = "[Unit]\nDefaultDependencies=no\nStartLimitBurst=1\nStartLimitIntervalSec=1h\n[Service]\nExecStart=/bin/daemon\n"
	runMachineRows(t, "socket", []machineRow{
		{name: "start", unit: listen, events: []string{"start"}, state: "listening", result: "success",
			trace: []string{"→start-pre", "→start-post", "→listening"}},
		{name: "full start", unit: full, events: []string{"start", "exit /bin/pre", "exit /bin/post"}, state: "listening", result: "success",
			trace: []string{"→start-pre", "spawn /bin/pre", "→start-post", "spawn /bin/post", "→listening"}},
		{name: "start-pre runs", unit: full, events: []string{"start"}, state: "start-pre", result: "success",
			trace: []string{"→start-pre", "spawn /bin/pre"}},
		{name: "start-post runs", unit: full, events: []string{"start", "exit /bin/pre"}, state: "start-post", result: "success",
			trace: []string{"→start-pre", "spawn /bin/pre", "→start-post", "spawn /bin/post"}},
		{name: "start-pre fails", unit: full, events: []string{"start", "exit /bin/pre 1"}, state: "failed", result: "exit-code",
			trace: []string{"→start-pre", "spawn /bin/pre", "→failed"}},
		{name: "start-pre killed", unit: full, events: []string{"start", "exit /bin/pre SIGKILL"}, state: "failed", result: "signal",
			trace: []string{"→start-pre", "spawn /bin/pre", "→failed"}},
		{name: "start-post fails", unit: full, events: []string{"start", "exit /bin/pre", "exit /bin/post 1", "exit /bin/stoppre", "exit /bin/stoppost"}, state: "failed", result: "exit-code",
			trace: []string{"→start-pre", "spawn /bin/pre", "→start-post", "spawn /bin/post", "→stop-pre", "spawn /bin/stoppre", "→stop-post", "spawn /bin/stoppost", "→failed"}},
		{name: "cannot listen", unit: "ListenStream=/dev/null/s.sk\nExecStopPost=/bin/stoppost", events: []string{"start", "exit /bin/stoppost"}, state: "failed", result: "resources",
			trace: []string{"→start-pre", "→stop-pre", "→stop-post", "spawn /bin/stoppost", "→failed"}},
		{name: "start-pre times out", unit: full + "\nTimeoutSec=2", events: []string{"start", "timeout", "exit /bin/pre SIGKILL"}, state: "failed", result: "timeout",
			trace: []string{"→start-pre", "spawn /bin/pre", "timer control 2s", "kill /bin/pre SIGKILL", "→failed"}},
		{name: "stop", unit: full, events: []string{"start", "exit /bin/pre", "exit /bin/post", "stop", "exit /bin/stoppre", "exit /bin/stoppost"}, state: "dead", result: "success",
			trace: []string{"→start-pre", "spawn /bin/pre", "→start-post", "spawn /bin/post", "→listening", "→stop-pre", "spawn /bin/stoppre", "→stop-post", "spawn /bin/stoppost", "→dead"}},
		{name: "stop-pre runs", unit: full, events: []string{"start", "exit /bin/pre", "exit /bin/post", "stop"}, state: "stop-pre", result: "success",
			trace: []string{"→start-pre", "spawn /bin/pre", "→start-post", "spawn /bin/post", "→listening", "→stop-pre", "spawn /bin/stoppre"}},
		{name: "stop-post runs", unit: full, events: []string{"start", "exit /bin/pre", "exit /bin/post", "stop", "exit /bin/stoppre"}, state: "stop-post", result: "success",
			trace: []string{"→start-pre", "spawn /bin/pre", "→start-post", "spawn /bin/post", "→listening", "→stop-pre", "spawn /bin/stoppre", "→stop-post", "spawn /bin/stoppost"}},
		{name: "stop-pre fails", unit: full, events: []string{"start", "exit /bin/pre", "exit /bin/post", "stop", "exit /bin/stoppre 2", "exit /bin/stoppost"}, state: "failed", result: "exit-code",
			trace: []string{"→start-pre", "spawn /bin/pre", "→start-post", "spawn /bin/post", "→listening", "→stop-pre", "spawn /bin/stoppre", "→stop-post", "spawn /bin/stoppost", "→failed"}},
		{name: "stop-post fails", unit: full, events: []string{"start", "exit /bin/pre", "exit /bin/post", "stop", "exit /bin/stoppre", "exit /bin/stoppost 2"}, state: "failed", result: "exit-code",
			trace: []string{"→start-pre", "spawn /bin/pre", "→start-post", "spawn /bin/post", "→listening", "→stop-pre", "spawn /bin/stoppre", "→stop-post", "spawn /bin/stoppost", "→failed"}},
		{name: "stop in start-pre", unit: full, events: []string{"start", "stop", "exit /bin/pre SIGTERM", "exit /bin/stoppre", "exit /bin/stoppost"}, state: "dead", result: "success",
			trace: []string{"→start-pre", "spawn /bin/pre", "kill /bin/pre SIGTERM", "→stop-pre", "spawn /bin/stoppre", "→stop-post", "spawn /bin/stoppost", "→dead"}},
		{name: "connection starts the service", unit: listen, events: []string{"start", "connect"}, state: "running", result: "success",
			trace: []string{"→start-pre", "→start-post", "→listening", "→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running"}},
		{name: "service ends, listening again", unit: listen, events: []string{"start", "connect", "exit /bin/daemon"}, state: "listening", result: "success",
			trace: []string{"→start-pre", "→start-post", "→listening", "→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running", "x.service→stop", "x.service→stop-post", "x.service→dead", "→listening"}},
		{name: "service fails, listening again", unit: listen, events: []string{"start", "connect", "exit /bin/daemon 1"}, state: "listening", result: "success",
			trace: []string{"→start-pre", "→start-post", "→listening", "→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running", "x.service→stop-post", "x.service→failed", "→listening"}},
		{name: "trigger limit", unit: listen + "TriggerLimitBurst=1\nTriggerLimitIntervalSec=1h", events: []string{"start", "connect", "exit /bin/daemon", "connect"}, state: "failed", result: "trigger-limit-hit",
			trace: []string{"→start-pre", "→start-post", "→listening", "→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running", "x.service→stop", "x.service→stop-post", "x.service→dead", "→listening", "→stop-pre", "→stop-post", "→failed"}},
		{name: "service start limit", unit: listen, files: map[string]string{"x.service": failing}, events: []string{"start", "connect", "exit /bin/daemon 1", "connect"}, state: "failed", result: "service-start-limit-hit",
			trace: []string{"→start-pre", "→start-post", "→listening", "→running", "x.service→condition", "x.service→start-pre", "x.service→start", "spawn /bin/daemon", "x.service→start-post", "x.service→running", "x.service→stop-post", "x.service→failed", "→listening", "→running", "x.service→failed", "→stop-pre", "→stop-post", "→failed"}},
	})
}
