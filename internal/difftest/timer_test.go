package difftest

import (
	"testing"
	"time"
)

// timerProps are the properties TestTimerDifferential compares after every step, besides
// Starts.
var timerProps = []string{"ActiveState", "SubState", "Result"}

// timerScenarios are the rows of TestTimerDifferential: the life of timer units and of the
// units they start. AccuracySec=1ms makes systemd elapse them on time (it may defer an
// elapse by up to AccuracySec=, one minute by default, to coalesce wake-ups).
var timerScenarios = held([]jobScenario{
	// OnActiveSec= elapses once; the service learns from TRIGGER_UNIT= which timer started
	// it. RemainAfterElapse=yes leaves the timer elapsed, =no dead.
	{name: "elapse-once", units: map[string]string{
		"o.timer":    "[Timer]\nOnActiveSec=300ms\nAccuracySec=1ms",
		"o.service":  "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; echo $$TRIGGER_UNIT >>@STATE@/env'",
		"gone.timer": "[Timer]\nOnActiveSec=300ms\nAccuracySec=1ms\nRemainAfterElapse=no\nUnit=g.service",
		"g.service":  "[Service]\nType=oneshot\nExecStart=" + countedOnce,
	}, steps: []string{"start o.timer gone.timer", "sleep 1s"}, files: []string{"env"}},
	// The timer is running while its service runs, waits again once it stopped (the next
	// OnUnitActiveSec= elapse is an hour after the start), and a failed service leaves the
	// timer's result alone.
	{name: "running", units: map[string]string{
		"r.timer":   "[Timer]\nOnActiveSec=200ms\nOnUnitActiveSec=1h\nAccuracySec=1ms",
		"r.service": "[Service]\nExecStart=" + counted,
		"f.timer":   "[Timer]\nOnActiveSec=200ms\nAccuracySec=1ms",
		"f.service": "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; exit 3'",
	}, steps: []string{"start r.timer f.timer", "sleep 800ms", "stop r.service", "stop r.timer"}},
	// A calendar timer elapses every second; while its service runs it does not start it
	// again, and once the service stopped the missed elapse starts it at once.
	{name: "calendar", units: map[string]string{
		"c.timer":   "[Timer]\nOnCalendar=*:*:0/1\nAccuracySec=1ms",
		"c.service": "[Service]\nExecStart=" + counted,
	}, steps: []string{"start c.timer", "sleep 1.5s", "stop c.service", "sleep 1.5s", "stop c.timer c.service"}},
	// A timer whose unit does not exist cannot start; one that waits an hour stops at once.
	{name: "missing-and-stop", units: map[string]string{
		"m.timer":   "[Timer]\nOnActiveSec=1h\nUnit=nothere.service",
		"w.timer":   "[Timer]\nOnActiveSec=1h\nOnCalendar=2199-12-31",
		"w.service": "[Service]\nExecStart=" + counted,
	}, steps: []string{"start m.timer", "start w.timer", "stop w.timer"}},
})

// timerRun compares timerProps; a timer changes state without a job, so the states must hold
// still for a while before they are compared.
var timerRun = diffRun{tag: "td", props: timerProps, wait: 3 * time.Second, stable: 300 * time.Millisecond,
	timeout: 120 * time.Second}

// TestTimerDifferential runs timerScenarios on systemd 252 and on `flint run` as
// TestJobsDifferential does and compares the timers' and their units' states and starts.
func TestTimerDifferential(t *testing.T) {
	runDifferential(t, timerScenarios, timerRun)
}
