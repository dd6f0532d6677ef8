package difftest

import (
	"testing"
	"time"
)

// pathScenarios are the rows of TestPathDifferential: the life of path units and of the
// units they start. The paths are made by oneshot services (mk*.service), so that each side
// makes its own under its own @STATE@.
var pathScenarios = held([]jobScenario{
	// PathExists= starts the service when the file appears (the service removes it, and
	// learns TRIGGER_UNIT= and TRIGGER_PATH=); PathChanged= at each write.
	{name: "exists-changed", units: map[string]string{
		"p.path":     "[Path]\nPathExists=@STATE@/a/flag",
		"p.service":  "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; echo $$TRIGGER_UNIT $$TRIGGER_PATH >>@STATE@/env; rm @STATE@/a/flag'",
		"mk.service": "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'mkdir -p @STATE@/a; touch @STATE@/a/flag'",
		"c.path":     "[Path]\nPathChanged=@STATE@/conf",
		"c.service":  "[Service]\nType=oneshot\nExecStart=" + countedOnce,
		"w.service":  "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo x >>@STATE@/conf'",
	}, steps: []string{"start p.path c.path", "start mk.service", "sleep 500ms", "start w.service", "sleep 500ms",
		"start w.service", "sleep 500ms", "start mk.service", "sleep 500ms", "stop p.path c.path"}, files: []string{"env"}},
	// While its service runs the path unit is running; once the service stopped, the file
	// still there starts it again. Stopped, the path unit starts nothing.
	{name: "running", units: map[string]string{
		"r.path":     "[Path]\nDirectoryNotEmpty=@STATE@/q\nMakeDirectory=yes",
		"r.service":  "[Service]\nExecStart=" + counted,
		"mk.service": "[Service]\nType=oneshot\nExecStart=/bin/touch @STATE@/q/item",
	}, steps: []string{"start r.path", "start mk.service", "sleep 500ms", "stop r.service", "sleep 500ms",
		"stop r.path", "stop r.service"}},
	// A condition that stays true after the service ran: the trigger limit fails the path
	// unit; a service that hits its start limit fails it too; a missing unit cannot be started.
	{name: "limits", units: map[string]string{
		"l.path":     "[Path]\nPathExists=@STATE@/flag\nTriggerLimitBurst=3\nTriggerLimitIntervalSec=1h",
		"l.service":  "StartLimitBurst=100\n[Service]\nType=oneshot\nExecStart=" + countedOnce,
		"s.path":     "[Path]\nPathExists=@STATE@/flag",
		"s.service":  "StartLimitBurst=2\nStartLimitIntervalSec=1h\n[Service]\nType=oneshot\nExecStart=" + countedOnce,
		"m.path":     "[Path]\nPathExists=@STATE@/flag\nUnit=nothere.service",
		"mk.service": "[Service]\nType=oneshot\nExecStart=/bin/touch @STATE@/flag",
	}, steps: []string{"start mk.service", "start l.path", "sleep 500ms", "start s.path", "sleep 500ms", "start m.path"}},
})

// pathRun compares jobProps; a path unit changes state without a job, so the states must hold
// still for a while before they are compared.
var pathRun = diffRun{tag: "pd", props: []string{"ActiveState", "SubState", "Result"}, wait: 3 * time.Second,
	stable: 300 * time.Millisecond, timeout: 120 * time.Second}

// TestPathDifferential runs pathScenarios on systemd 252 and on `flint run` as
// TestJobsDifferential does and compares the path units' and their units' states and starts.
func TestPathDifferential(t *testing.T) {
	runDifferential(t, pathScenarios, pathRun)
}
