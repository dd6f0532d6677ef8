package difftest

import (
	"testing"
	"time"
)

// listUnitsScenarios compare `list-units --all` (with --state= and --type=) on the units of a
// scenario (the pattern "*" gets the scenario's prefix): which units a loaded unit loads with
// it (those it refers to, transitively, missing ones as not-found) and which of them garbage
// collection keeps, after starts, stops and failures.
var listUnitsScenarios = []jobScenario{
	{name: "list-boot-like", units: map[string]string{
		"a.target":  "Wants=b.service c.service\nAfter=b.service c.service",
		"b.service": "Requires=d.service\nAfter=d.service missing.service\nOnFailure=h.service\n[Service]\nExecStart=" + counted,
		"c.service": "Conflicts=e.service\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true",
		"d.service": "Before=f.target\n[Service]\nExecStart=" + counted,
		"e.service": "[Service]\nExecStart=/bin/true",
		"f.target":  "Description=F",
		"h.service": "[Service]\nExecStart=/bin/true",
		"u.service": "Wants=a.target\n[Service]\nExecStart=/bin/true",
	}, show: []string{"missing.service"}, steps: []string{
		"list-units --all *",
		"start a.target",
		"list-units --all *",
		"list-units --all --state=inactive *",
		"list-units --all --type=service *",
		"list-units --all --state=not-found *",
		"stop a.target",
		"list-units --all *",
		"stop b.service d.service",
		"list-units --all *",
	}},
	{name: "list-missing", units: map[string]string{
		"a.service": "Wants=gone.service\nBefore=absent.target\nAfter=away.socket\n[Service]\nExecStart=" + counted,
		"r.service": "Requires=absent.target\n[Service]\nExecStart=/bin/true",
	}, show: []string{"gone.service", "absent.target"}, steps: []string{
		"start a.service",
		"list-units --all *",
		"list-units --all --state=not-found *",
		"list-units --all --state=loaded *",
		"start r.service",
		"list-units --all *",
		"stop a.service",
		"list-units --all *",
	}},
	{name: "list-failed-keeps", units: map[string]string{
		"a.service": "Wants=w.service\nOnFailure=h.service\n[Service]\nType=oneshot\nExecStart=/bin/false",
		"w.service": "Before=x.service\n[Service]\nType=oneshot\nExecStart=/bin/true",
		"x.service": "[Service]\nExecStart=/bin/true",
		"h.service": "[Service]\nType=oneshot\nExecStart=/bin/true",
	}, steps: []string{
		"start a.service",
		"list-units --all *",
		"reset-failed a.service",
		"list-units --all *",
	}},
	{name: "list-templates", units: map[string]string{
		"a.service":  "Wants=t@x.service t@.service\nAfter=t@y.service\n[Service]\nExecStart=" + counted,
		"t@.service": "Before=o@%i.service\n[Service]\nExecStart=/bin/true",
		"o@.service": "[Service]\nExecStart=/bin/true",
	}, show: []string{"t@x.service", "t@a.service"}, steps: []string{
		"start a.service",
		"list-units --all *",
		"list-units --all --type=service *",
		"stop a.service",
		"list-units --all *",
	}},
	{name: "list-sockets", units: map[string]string{
		// (The test gives only .service, .target and .socket names its prefix: no timers.)
		"a.target":  "Wants=y.socket",
		"y.socket":  "[Socket]\nListenStream=@STATE@/y.sk",
		"y.service": "Wants=z.service\n[Service]\nExecStart=/bin/true",
		"z.service": "[Service]\nExecStart=/bin/true",
		"s.socket":  "[Socket]\nListenStream=@STATE@/s.sk\nService=z.service",
	}, steps: []string{
		"start a.target",
		"list-units --all *",
		"start s.socket",
		"list-units --all *",
		"stop a.target y.socket s.socket",
		"list-units --all *",
	}},
}

// ListUnitsKnownDifferences are the differences of TestListUnitsDifferential that flint
// keeps.
var ListUnitsKnownDifferences = []JobDifference{}

// TestListUnitsDifferential runs listUnitsScenarios on systemd 252 and on flint, comparing
// each list-units output and the units' states after each step.
func TestListUnitsDifferential(t *testing.T) {
	runDifferential(t, listUnitsScenarios, diffRun{tag: "lu", props: jobProps, known: ListUnitsKnownDifferences,
		wait: 1500 * time.Millisecond})
}
