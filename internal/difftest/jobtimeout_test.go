package difftest

import (
	"testing"
	"time"
)

// jobTimeoutScenarios compare JobTimeoutSec= and JobRunningTimeoutSec=: a job that times out
// is canceled with result "timeout" while its unit goes on; jobs that need it fail
// ("dependency"); OnFailure= units start. The units take 3 s where the job timeouts are 1 s,
// so that the command's wait ends by the timeout, and the steps "sleep" until they are done.
var jobTimeoutScenarios = []jobScenario{
	// slow's start job times out after 1 s: dep's start fails as a dependency, h starts
	// (OnFailure=), slow goes on activating and ends inactive (a oneshot).
	{name: "job-timeout-start", units: map[string]string{
		"slow.service": "JobTimeoutSec=1\nOnFailure=h.service\n[Service]\nType=oneshot\nExecStart=/bin/sleep 3",
		"h.service":    "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=" + countedOnce,
		"dep.service":  "Requires=slow.service\nAfter=slow.service\n[Service]\nExecStart=" + counted,
	}, steps: []string{"start dep.service", "sleep 3s"}},
	// JobTimeoutSec= counts from the enqueue: wait's job, held back by run's (After=), times
	// out before it runs (the sides run each step one after the other: run's timeout, 3 s,
	// leaves room for flint's step 2 to begin a second after systemd's).
	{name: "job-timeout-waiting", units: map[string]string{
		"run.service":  "JobRunningTimeoutSec=3\n[Service]\nType=oneshot\nExecStart=/bin/sleep 4",
		"wait.service": "JobTimeoutSec=1\nAfter=run.service\n[Service]\nExecStart=" + counted,
	}, steps: []string{"nowait start --no-block run.service", "start wait.service", "sleep 4s", "start wait.service"}},
	// A stop job that times out: the unit goes on stopping; the start job of a unit that
	// conflicts with it and waits for it (After=) fails as a dependency. ExecStop= takes 5 s:
	// each side's stop begins about a second (the job timeout) after the other's, and both
	// must still be stopping when the step is compared, also on a loaded machine.
	{name: "job-timeout-stop", units: map[string]string{
		"stopslow.service": "JobTimeoutSec=1\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\nExecStop=/bin/sleep 5",
		"c.service":        "Conflicts=stopslow.service\nAfter=stopslow.service\n[Service]\nExecStart=" + counted,
	}, steps: []string{"start stopslow.service", "start c.service", "sleep 4500ms", "start stopslow.service", "stop stopslow.service", "sleep 4500ms"}},
}

// JobTimeoutKnownDifferences are the known differences of TestJobTimeoutDifferential.
var JobTimeoutKnownDifferences []JobDifference

var jobTimeoutRun = diffRun{tag: "jt", props: jobProps, known: JobTimeoutKnownDifferences, wait: 1500 * time.Millisecond}

// TestJobTimeoutDifferential runs jobTimeoutScenarios on systemd 252 and on flint.
func TestJobTimeoutDifferential(t *testing.T) {
	runDifferential(t, jobTimeoutScenarios, jobTimeoutRun)
}
