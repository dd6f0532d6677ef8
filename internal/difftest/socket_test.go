package difftest

import (
	"testing"
	"time"
)

// socketProps are the properties TestSocketDifferential compares after every step, besides
// Starts. NAccepted and NConnections are those of Accept=yes sockets (empty for services).
var socketProps = []string{"ActiveState", "SubState", "Result", "NAccepted", "NConnections"}

// sock is the setting of a socket listening on a Unix socket in the side's state directory
// (a path short enough for sun_path, and different for systemd and flint).
const sock = "[Socket]\nListenStream=@STATE@/s.sock\n"

// socketScenarios are the rows of TestSocketDifferential: the life cycle of Unix stream
// sockets and their services, and of connections made by the step "connect PATH". They are
// written as jobScenario's are.
var socketScenarios = held([]jobScenario{
	{name: "start-stop", units: map[string]string{
		"s.socket":  sock,
		"s.service": "[Service]\nExecStart=" + counted,
	}, steps: []string{"start s.socket", "stop s.socket"}},
	// f is a regular file (made by ExecStartPre=, which runs before the socket is bound): the
	// socket's directory cannot be made.
	{name: "path-under-file", units: map[string]string{
		"s.socket":  "[Socket]\nListenStream=@STATE@/f/s.sock\nExecStartPre=/usr/bin/touch @STATE@/f\n",
		"s.service": "[Service]\nExecStart=" + counted,
	}, steps: []string{"start s.socket"}},
	{name: "start-pre-fails", units: map[string]string{
		"s.socket":  sock + "ExecStartPre=/bin/false\n",
		"s.service": "[Service]\nExecStart=" + counted,
	}, steps: []string{"start s.socket"}},
	{name: "service-started-directly", units: map[string]string{
		"s.socket":  sock,
		"s.service": "[Service]\nExecStart=" + counted,
	}, steps: []string{"start s.socket", "start s.service", "stop s.service"}},
	{name: "stop-socket-service-runs", units: map[string]string{
		"s.socket":  sock,
		"s.service": "[Service]\nExecStart=" + counted,
	}, steps: []string{"start s.socket", "start s.service", "stop s.socket"}},
	{name: "service-fails", units: map[string]string{
		"s.socket":  sock,
		"s.service": "[Service]\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; exit 1'",
	}, steps: []string{"start s.socket", "start s.service"}},
	// The service's implicit dependencies on its socket are TriggeredBy=/After=, not
	// Requires=: starting the service leaves the socket inactive (systemd 252 and flint).
	{name: "service-starts-socket", units: map[string]string{
		"s.socket":  sock,
		"s.service": "[Service]\nExecStart=" + counted,
	}, steps: []string{"start s.service", "stop s.service", "stop s.socket"}},
	// A connection starts the service (Accept=no); the socket is running until it stops.
	{name: "connect", units: map[string]string{
		"s.socket":  sock,
		"s.service": "[Service]\nExecStart=" + counted,
	}, steps: []string{"start s.socket", "connect @STATE@/s.sock", "stop s.service", "stop s.socket", "connect @STATE@/s.sock"}},
	// The connection is never accepted: the socket stays readable and starts the failing
	// service again and again, up to its start limit.
	{name: "connect-service-fails", units: map[string]string{
		"s.socket":  sock,
		"s.service": "StartLimitBurst=3\nStartLimitIntervalSec=30\n[Service]\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; exit 1'",
	}, steps: []string{"start s.socket", "connect @STATE@/s.sock", "sleep 1s"}},
	// Each connection starts an instance of a@.service (a template, which is not compared),
	// which keeps it open for 2 s: NAccepted and NConnections count them. (The instances'
	// names differ: systemd, in its own pid namespace, names the client's "unknown", flint
	// its pid and uid.)
	{name: "accept-yes", units: map[string]string{
		"a.socket":   "[Socket]\nAccept=yes\nListenStream=@STATE@/a.sock\n",
		"a@.service": "[Service]\nStandardInput=socket\nExecStart=/bin/sleep 2\n",
	}, steps: []string{"start a.socket", "connect @STATE@/a.sock", "connect @STATE@/a.sock", "stop a.socket",
		"connect @STATE@/a.sock", "sleep 2.5s"}},
})

// SocketKnownDifferences are accepted differences of the socket life cycle.
var SocketKnownDifferences = []JobDifference{}

// SocketOpenBugs are differences of the socket life cycle that are flint bugs to fix; the
// test accepts them so that it guards everything else, and fails when one is no longer seen.
var SocketOpenBugs = []JobDifference{}

var socketRun = diffRun{tag: "so", props: socketProps, known: SocketKnownDifferences, openBugs: SocketOpenBugs,
	wait: 2 * time.Second, stable: 200 * time.Millisecond}

// TestSocketDifferential runs socketScenarios on systemd 252 and on `flint run` as
// TestJobsDifferential does, and compares the states of the sockets and their services.
func TestSocketDifferential(t *testing.T) {
	runDifferential(t, socketScenarios, socketRun)
}
