package difftest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// jobScenario is one row of TestJobsDifferential: unit files, and commands run one after the
// other on systemd 252 and on a `flint run` manager, each side fresh.
//
// A unit's text is the body of its [Unit] section and what follows: the test puts
// "[Unit]\nDefaultDependencies=no\n" before it. maskedUnit instead makes the file a symlink
// to /dev/null. A name with a '/' is a drop-in ("a.service.d/x.conf", "service.d/x.conf"),
// written as it is into its directory. In the text, @STATE@ is replaced by a directory of the
// side's own, @PORT@ by a TCP port of its own and @DIR@ by a relative directory name of its
// own for RuntimeDirectory= and friends (see execDirName); a unit that appends a line to @STATE@/%n at
// each start (see counted) has its number of starts compared as the pseudo-property Starts.
type jobScenario struct {
	name  string
	units map[string]string
	// steps are a verb, options (-x) and units, as given to systemctl / flint; or "sleep
	// DURATION", "connect ADDRESS", "client PATH", "write NAME" or "remove NAME" (see
	// runJobScenario). A verb step prefixed with "nowait " is compared (exit status and
	// message) but not followed by the wait for both sides to settle nor by the comparison of
	// the units: the next step runs while its jobs may still run ("nowait sleep DURATION"
	// pauses without comparing).
	steps []string
	show  []string // units compared besides those of units (an instance, a unit that does not exist)
	props []string // properties compared besides the run's
	// files are paths under @STATE@ compared after every step (see stateFile).
	files []string
	// edits are the unit files that the step "write NAME" writes, by NAME (a suffix "#..."
	// tells several versions apart); written as those of units are.
	edits map[string]string
	// masks are regular expressions whose matches in messages, properties and files are
	// replaced by "#" on both sides (a pid).
	masks []string
}

const (
	maskedUnit = "@masked"
	// counted runs for 30 s and counts its starts.
	counted = "/bin/sh -c 'echo >>@STATE@/%n; exec /bin/sleep 30'"
	// countedOnce counts its start and exits 0.
	countedOnce = "/bin/sh -c 'echo >>@STATE@/%n'"
	// gcOneshot is a oneshot with CollectMode=inactive-or-failed that counts its start and
	// fails: unloaded once it failed unless a unit that is kept refers to it.
	gcOneshot = "CollectMode=inactive-or-failed\n[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; exit 1'"
	// gcOneshotSlow is gcOneshot failing after 0.3 s.
	gcOneshotSlow = "CollectMode=inactive-or-failed\n[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; sleep 0.3; exit 1'"
)

// ordered is the [Service] section of a unit that records its start and its stop (which takes
// 0.3 s) as lines "start NAME" and "stop NAME" in @STATE@/order, and runs for 30 s.
func ordered(name string) string {
	return "[Service]\nExecStartPre=/bin/sh -c 'echo start " + name + " >>@STATE@/order'\nExecStart=/bin/sleep 30\n" +
		"ExecStop=/bin/sh -c '/bin/sleep 0.3; echo stop " + name + " >>@STATE@/order'"
}

// jobProps are the properties compared after every command, besides Starts.
var jobProps = []string{"ActiveState", "SubState", "Result"}

var jobScenarios = []jobScenario{
	// systemd runs OnFailure= also when the unit's job fails with result "dependency".
	{name: "requires-failing", units: map[string]string{
		"a.service": "Requires=b.service\nAfter=b.service\nOnFailure=h.service\n[Service]\nExecStart=" + counted,
		"b.service": "[Service]\nType=oneshot\nExecStart=/bin/false",
		"h.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true",
	}, steps: []string{"start a.service"}},
	{name: "requires-stop-restart", units: map[string]string{
		"a.service": "Requires=b.service\nAfter=b.service\n[Service]\nExecStart=" + counted,
		"b.service": "[Service]\nExecStart=" + counted,
	}, steps: []string{"start a.service", "restart b.service", "stop b.service"}},
	{name: "requisite-inactive", units: map[string]string{
		"a.service": "Requisite=b.service\nAfter=b.service\n[Service]\nExecStart=" + counted,
		"b.service": "[Service]\nExecStart=/bin/sleep 30",
	}, steps: []string{"start a.service", "start b.service", "start a.service"}},
	{name: "wants-failing", units: map[string]string{
		"a.service": "Wants=b.service\nAfter=b.service\n[Service]\nExecStart=" + counted,
		"b.service": "[Service]\nType=oneshot\nExecStart=/bin/false",
	}, steps: []string{"start a.service"}},
	{name: "wants-stop", units: map[string]string{
		"a.service": "Wants=b.service\n[Service]\nExecStart=" + counted,
		"b.service": "[Service]\nExecStart=" + counted,
	}, steps: []string{"start a.service", "stop b.service", "start a.service"}},
	{name: "bindsto-stop", units: map[string]string{
		"a.service": "BindsTo=b.service\nAfter=b.service\n[Service]\nExecStart=" + counted,
		"b.service": "[Service]\nExecStart=" + counted,
	}, steps: []string{"start a.service", "stop b.service"}},
	// The bound unit is inactive again when the binder's job runs. (a does not count its
	// starts: flint starts and at once stops it, before the shell could count.)
	{name: "bindsto-oneshot-exits", units: map[string]string{
		"a.service": "BindsTo=b.service\nAfter=b.service\n[Service]\nExecStart=/bin/sleep 30",
		"b.service": "[Service]\nType=oneshot\nExecStart=/bin/true",
	}, steps: []string{"start a.service"}},
	{name: "partof", units: map[string]string{
		"a.service": "PartOf=b.service\n[Service]\nExecStart=" + counted,
		"b.service": "[Service]\nExecStart=" + counted,
	}, steps: []string{"start a.service b.service", "restart b.service", "stop b.service", "start b.service"}},
	{name: "conflicts", units: map[string]string{
		"a.service": "Conflicts=b.service\n[Service]\nExecStart=" + counted,
		"b.service": "[Service]\nExecStart=" + counted,
	}, steps: []string{"start b.service", "start a.service", "start b.service"}},
	// One command, two transactions: b's stops a while a's start job still runs (a takes
	// 0.5 s to start), which cancels it.
	{name: "conflicts-cancel-pending", units: map[string]string{
		"a.service": "Conflicts=b.service\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sleep 0.5",
		"b.service": "[Service]\nExecStart=/bin/sleep 30",
	}, steps: []string{"start a.service b.service", "start a.service"}},
	{name: "conflicts-required", units: map[string]string{
		"a.service": "Requires=b.service\nConflicts=b.service\n[Service]\nExecStart=/bin/sleep 30",
		"b.service": "[Service]\nExecStart=/bin/sleep 30",
	}, steps: []string{"start a.service"}},
	{name: "propagatesstopto", units: map[string]string{
		"a.service": "PropagatesStopTo=b.service\n[Service]\nExecStart=/bin/sleep 30",
		"b.service": "[Service]\nExecStart=/bin/sleep 30",
	}, steps: []string{"start a.service b.service", "stop a.service"}},
	{name: "upholds", units: map[string]string{
		"a.service": "Upholds=b.service\n[Service]\nExecStart=/bin/sleep 30",
		"b.service": "[Service]\nExecStart=" + counted,
	}, steps: []string{"start a.service", "stop b.service", "stop a.service", "stop b.service"}},
	{name: "target", units: map[string]string{
		"t.target":  "Requires=x.service\nWants=y.service",
		"x.service": "[Service]\nExecStart=" + counted,
		"y.service": "[Service]\nExecStart=" + counted,
	}, steps: []string{"start t.target", "stop x.service", "start t.target", "stop t.target"}},
	{name: "onfailure", units: map[string]string{
		"a.service": "OnFailure=h.service\n[Service]\nType=oneshot\nExecStart=/bin/false",
		"h.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true",
	}, steps: []string{"start a.service"}},
	{name: "onfailure-not-on-success", units: map[string]string{
		"a.service": "OnFailure=h.service\n[Service]\nType=oneshot\nExecStart=/bin/true",
		"h.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true",
	}, steps: []string{"start a.service"}},
	{name: "onsuccess", units: map[string]string{
		"a.service": "OnSuccess=h.service\n[Service]\nType=oneshot\nExecStart=/bin/true",
		"h.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true",
	}, steps: []string{"start a.service"}},
	{name: "onsuccess-not-on-failure", units: map[string]string{
		"a.service": "OnSuccess=h.service\n[Service]\nType=oneshot\nExecStart=/bin/false",
		"h.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true",
	}, steps: []string{"start a.service"}},
	{name: "after-failing-predecessor", units: map[string]string{
		"a.service": "After=b.service\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true",
		"b.service": "[Service]\nType=oneshot\nExecStart=/bin/false",
	}, steps: []string{"start a.service b.service"}},
	// b does not count its starts: the manual start of step 3 is undone at once.
	{name: "stopwhenunneeded", units: map[string]string{
		"a.service": "Wants=b.service\n[Service]\nExecStart=/bin/sleep 30",
		"b.service": "StopWhenUnneeded=yes\n[Service]\nExecStart=/bin/sleep 30",
	}, steps: []string{"start a.service", "stop a.service", "start b.service"}},
	{name: "refuse-manual-start", units: map[string]string{
		"a.service": "RefuseManualStart=yes\n[Service]\nExecStart=/bin/sleep 30",
		"b.service": "Wants=a.service\n[Service]\nExecStart=/bin/sleep 30",
	}, steps: []string{"start a.service", "start b.service", "stop a.service"}},
	{name: "refuse-manual-stop", units: map[string]string{
		"a.service": "RefuseManualStop=yes\n[Service]\nExecStart=/bin/sleep 30",
	}, steps: []string{"start a.service", "stop a.service", "restart a.service"}},
	{name: "cycle-wants", units: map[string]string{
		"a.service": "Wants=b.service\nAfter=b.service\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true",
		"b.service": "Wants=a.service\nAfter=a.service\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true",
	}, steps: []string{"start a.service"}},
	{name: "cycle-requires", units: map[string]string{
		"a.service": "Requires=b.service\nAfter=b.service\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true",
		"b.service": "Requires=a.service\nAfter=a.service\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true",
	}, steps: []string{"start a.service"}},
	{name: "restart-try-restart", units: map[string]string{
		"a.service": "[Service]\nExecStart=" + counted,
	}, steps: []string{"try-restart a.service", "restart a.service", "start a.service", "try-restart a.service", "stop a.service", "restart a.service"}},
	{name: "try-restart-failed", units: map[string]string{
		"a.service": "[Service]\nType=oneshot\nExecStart=/bin/false",
	}, steps: []string{"start a.service", "try-restart a.service", "restart a.service", "stop a.service", "reset-failed a.service"}},
	{name: "oneshot-remain", units: map[string]string{
		"yes.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=" + countedOnce,
		"no.service":  "[Service]\nType=oneshot\nRemainAfterExit=no\nExecStart=" + countedOnce,
	}, steps: []string{"start yes.service no.service", "start yes.service no.service", "restart yes.service", "stop yes.service"}},
	// The Type=exec processes live a little: when one ends at once, systemd 252 sometimes
	// reaps it before it has seen the exec succeed, and fails the start job.
	{name: "simple-exec-exit", units: map[string]string{
		"simple-fail.service": "[Service]\nType=simple\nExecStart=/bin/sh -c 'exit 3'",
		"exec-fail.service":   "[Service]\nType=exec\nExecStart=/bin/sh -c 'sleep 0.2; exit 1'",
		"exec-ok.service":     "[Service]\nType=exec\nExecStart=/bin/sh -c 'sleep 0.2'",
		"exec-run.service":    "[Service]\nType=exec\nExecStart=/bin/sleep 30",
	}, steps: []string{"start simple-fail.service", "start exec-fail.service", "start exec-ok.service", "start exec-run.service", "stop exec-run.service"}},
	{name: "masked", units: map[string]string{
		"m.service":     maskedUnit,
		"req.service":   "Requires=m.service\n[Service]\nExecStart=/bin/sleep 30",
		"wants.service": "Wants=m.service\n[Service]\nExecStart=/bin/sleep 30",
	}, steps: []string{"start m.service", "stop m.service", "start req.service", "start wants.service"}},
	{name: "not-found", units: map[string]string{
		"req.service":   "Requires=nope.service\n[Service]\nExecStart=/bin/sleep 30",
		"wants.service": "Wants=nope.service\n[Service]\nExecStart=/bin/sleep 30",
	}, show: []string{"nope.service"},
		steps: []string{"start nope.service", "stop nope.service", "restart nope.service", "start req.service", "start wants.service"}},
	{name: "stop-inactive", units: map[string]string{
		"a.service": "[Service]\nExecStart=/bin/sleep 30",
	}, steps: []string{"stop a.service", "try-restart a.service"}},
	// isolate stops every other active unit but those with IgnoreOnIsolate=yes, and needs
	// AllowIsolate=yes and a start job.
	{name: "isolate", units: map[string]string{
		"t.target":     "AllowIsolate=yes\nWants=in.service",
		"plain.target": "Wants=in.service",
		"in.service":   "[Service]\nExecStart=" + counted,
		"out.service":  "[Service]\nExecStart=" + counted,
		"keep.service": "IgnoreOnIsolate=yes\n[Service]\nExecStart=" + counted,
	}, steps: []string{"start out.service keep.service", "isolate plain.target", "stop --job-mode=isolate t.target",
		"start --job-mode=isolate t.target", "start out.service", "isolate t"}},
	{name: "job-mode-ignore", units: map[string]string{
		"a.service": "Requires=b.service\nAfter=b.service\n[Service]\nExecStart=" + counted,
		"b.service": "[Service]\nExecStart=" + counted,
	}, steps: []string{"start --job-mode=ignore-requirements a.service", "stop a.service",
		"start --job-mode=ignore-dependencies a.service", "restart --ignore-dependencies a.service",
		"start --job-mode=bogus a.service", "start --job-mode=fail b.service", "stop --job-mode=replace-irreversibly b.service"}},
	// OnFailureJobMode=isolate: to a unit that allows it; to one that does not (the job is
	// refused and logged); two OnFailure= units with it do not load.
	{name: "on-failure-isolate", units: map[string]string{
		"r.target":        "AllowIsolate=yes\nWants=r.service",
		"r.service":       "[Service]\nExecStart=" + counted,
		"other.service":   "[Service]\nExecStart=" + counted,
		"broken.service":  "OnFailure=r.target\nOnFailureJobMode=isolate\n[Service]\nExecStart=/bin/false",
		"n.target":        "Wants=n.service",
		"n.service":       "[Service]\nExecStart=" + counted,
		"refused.service": "OnFailure=n.target\nOnFailureJobMode=isolate\n[Service]\nExecStart=/bin/false",
		"two.service":     "OnFailure=r.service other.service\nOnFailureIsolate=yes\n[Service]\nExecStart=/bin/false",
	}, steps: []string{"start other.service", "start refused.service", "start two.service", "start broken.service"}},
	// A target's stop stops its parts (PartOf=) in the reverse of their start order (b is
	// After=a, c After=b); each records its start and stop in @STATE@/order.
	{name: "stop-order", units: map[string]string{
		"t.target":  "Wants=a.service b.service c.service",
		"a.service": "PartOf=t.target\n" + ordered("a"),
		"b.service": "PartOf=t.target\nAfter=a.service\n" + ordered("b"),
		"c.service": "PartOf=t.target\nAfter=b.service\n" + ordered("c"),
	}, steps: []string{"start t.target", "stop t.target"}, files: []string{"order"}},
	// The restart of the target restarts its parts (PartOf=): each restart job stops first,
	// in the reverse of the start order, and the starts follow in the start order.
	{name: "restart-order", units: map[string]string{
		"t.target":  "Wants=a.service b.service c.service",
		"a.service": "PartOf=t.target\n" + ordered("a"),
		"b.service": "PartOf=t.target\nAfter=a.service\n" + ordered("b"),
		"c.service": "PartOf=t.target\nAfter=b.service\n" + ordered("c"),
	}, steps: []string{"start t.target", "restart t.target", "restart b.service"}, files: []string{"order"}},
	// Between a start job and a stop job of two units ordered either way, the stop runs first
	// (each stop takes 0.3 s). a conflicts with b and is ordered after it, d conflicts with c,
	// which is ordered before it.
	{name: "conflicts-order", units: map[string]string{
		"a.service": "Conflicts=b.service\nAfter=b.service\n" + ordered("a"),
		"b.service": ordered("b"),
		"c.service": "Before=d.service\n" + ordered("c"),
		"d.service": "Conflicts=c.service\n" + ordered("d"),
	}, steps: []string{"start b.service", "start d.service", "start a.service", "start c.service", "start b.service", "start d.service"},
		files: []string{"order"}},
	// A required or bound unit that fails while active (killed): Requires= leaves the
	// requiring unit running, BindsTo= stops the bound one; starting them again starts the
	// failed units again.
	{name: "requires-fails-later", units: map[string]string{
		"a.service": "Requires=b.service\nAfter=b.service\n[Service]\nExecStart=" + counted,
		"b.service": "[Service]\nExecStart=" + counted,
		"c.service": "BindsTo=d.service\nAfter=d.service\n[Service]\nExecStart=" + counted,
		"d.service": "[Service]\nExecStart=" + counted,
	}, steps: []string{"start a.service c.service", "kill --signal=KILL b.service d.service", "start a.service c.service"}},
	// The bound unit fails to start: without After= the binder's start succeeds and it is
	// stopped after; with After= its job fails ("dependency").
	{name: "bindsto-fails", units: map[string]string{
		"a.service": "BindsTo=b.service\n[Service]\nExecStart=/bin/sleep 30",
		"b.service": "[Service]\nType=oneshot\nExecStart=/bin/false",
		"c.service": "BindsTo=d.service\nAfter=d.service\n[Service]\nExecStart=" + counted,
		"d.service": "[Service]\nType=oneshot\nExecStart=/bin/false",
	}, steps: []string{"start a.service", "start c.service"}},
	// OnFailure= with Restart=on-failure: the handler runs once the restarts end at the start
	// limit, not at each failure (a oneshot, whose start job lasts through the restarts, and
	// a simple service).
	{name: "onfailure-restart", units: map[string]string{
		"a.service": "OnFailure=h.service\nStartLimitIntervalSec=60\nStartLimitBurst=3\n[Service]\nType=oneshot\nRestart=on-failure\nRestartSec=100ms\n" +
			"ExecStart=/bin/sh -c 'echo >>@STATE@/%n; exit 1'",
		"h.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=" + countedOnce,
		"s.service": "OnFailure=g.service\nStartLimitIntervalSec=60\nStartLimitBurst=3\n[Service]\nRestart=on-failure\nRestartSec=100ms\n" +
			"ExecStart=/bin/sh -c 'echo >>@STATE@/%n; sleep 0.1; exit 1'",
		"g.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=" + countedOnce,
	}, steps: []string{"start a.service", "start s.service", "sleep 1500ms"}},
	// Requisite= on a unit whose start job runs (a 2 s oneshot): the requisite's check merges
	// into that job; a (After=) starts once b is up, c (no ordering) at once (@STATE@/order);
	// d's job fails when e's start fails (and starts its OnFailure= unit). The starts do not
	// block: systemd's side would delay flint's until b is up.
	{name: "requisite-activating", units: map[string]string{
		"a.service": "Requisite=b.service\nAfter=b.service\n[Service]\nExecStartPre=/bin/sh -c 'echo start a >>@STATE@/order'\nExecStart=" + counted,
		"b.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sh -c '/bin/sleep 2; echo b up >>@STATE@/order'",
		"c.service": "Requisite=b.service\n[Service]\nExecStartPre=/bin/sh -c 'echo start c >>@STATE@/order'\nExecStart=" + counted,
		"d.service": "Requisite=e.service\nAfter=e.service\nOnFailure=h.service\n[Service]\nExecStart=" + counted,
		"h.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=" + countedOnce,
		"e.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sh -c 'sleep 2; exit 1'",
	}, steps: []string{"nowait start --no-block b.service e.service", "nowait sleep 300ms", "start --no-block c.service a.service d.service"},
		files: []string{"order"}},
	// StopWhenUnneeded= cascades: a wants b, b wants c, b and c stop when unneeded.
	{name: "stopwhenunneeded-cascade", units: map[string]string{
		"a.service": "Wants=b.service\n[Service]\nExecStart=" + counted,
		"b.service": "StopWhenUnneeded=yes\nWants=c.service\n[Service]\nExecStart=" + counted,
		"c.service": "StopWhenUnneeded=yes\n[Service]\nExecStart=" + counted,
	}, steps: []string{"start a.service", "stop b.service", "start a.service", "stop a.service"}},
	// PartOf= a target: the target's restart (when inactive: its start) restarts the active
	// part, its stop stops it, its start does not start it.
	{name: "partof-target", units: map[string]string{
		"t.target":  "",
		"a.service": "PartOf=t.target\n[Service]\nExecStart=" + counted,
	}, steps: []string{"start a.service", "restart t.target", "stop t.target", "start t.target", "start a.service", "try-restart t.target"}},
	// x requires y, y is part of x: x's restart restarts y once (the start that Requires=
	// adds and the try-restart that PartOf= adds merge into one restart).
	{name: "restart-merge", units: map[string]string{
		"x.service": "Requires=y.service\n[Service]\nExecStart=" + counted,
		"y.service": "PartOf=x.service\n[Service]\nExecStart=" + counted,
	}, steps: []string{"start x.service", "restart x.service", "stop y.service", "restart x.service"}},
	// stop of a unit whose start job runs (a 2 s oneshot): the start is cancelled and the
	// process killed; b (After=a) starts once a's job is gone, c (Requires=a) is stopped
	// with a, so its start never runs.
	{name: "stop-cancels-start", units: map[string]string{
		"a.service": "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; exec /bin/sleep 2'",
		"b.service": "After=a.service\n[Service]\nExecStart=" + counted,
		"c.service": "Requires=a.service\nAfter=a.service\n[Service]\nExecStart=" + counted,
	}, steps: []string{"nowait start --no-block a.service b.service c.service", "nowait sleep 500ms", "stop a.service"}},
	// start of a unit that requires b while b stops (ExecStop= takes 1 s): the start job
	// replaces the stop job, and b starts again once stopped, then a (@STATE@/order).
	// (--no-block: a blocking start on systemd's side would delay flint's past b's stop.)
	{name: "start-while-stopping", units: map[string]string{
		"a.service": "Requires=b.service\nAfter=b.service\n[Service]\nExecStartPre=/bin/sh -c 'echo start a >>@STATE@/order'\nExecStart=" + counted,
		"b.service": "[Service]\nExecStartPre=/bin/sh -c 'echo start b >>@STATE@/order'\nExecStart=" + counted +
			"\nExecStop=/bin/sh -c '/bin/sleep 1; echo stop b >>@STATE@/order'",
	}, steps: []string{"start b.service", "nowait stop --no-block b.service", "nowait sleep 300ms", "start --no-block a.service"},
		files: []string{"order"}},
	// CollectMode=inactive-or-failed: the failed unit is unloaded at once, so it shows as
	// inactive (and loaded again by show); the default keeps it failed. keep fails later, so
	// both managers report the two failures in the same order.
	{name: "collect-mode", units: map[string]string{
		"gc.service":   "CollectMode=inactive-or-failed\n[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; exit 1'",
		"keep.service": "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; sleep 0.5; exit 1'",
	}, steps: []string{"start gc.service keep.service", "start gc.service"}},
	// A unit that refers to another by its configuration (After=, Wants=, Requires=, ...: all
	// are systemd's UNIT_REFERENCES) keeps it loaded while the referrer itself is kept (a job,
	// active, failed with the default CollectMode=): gc stays failed, and systemctl finds its
	// result. Once keep is reset, it goes and takes gc with it. keep's job waits for gc's
	// start to end (After=); gc fails only after 0.3 s: systemctl enqueues the two jobs one
	// bus call after the other, and a gc failing at once would be collected before systemd
	// has even loaded keep (flint enqueues both in one request; see compatibility.md).
	{name: "collect-after-referrer", units: map[string]string{
		"gc.service":   gcOneshotSlow,
		"keep.service": "After=gc.service\n[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; sleep 0.5; exit 1'",
	}, steps: []string{"start gc.service keep.service", "start gc.service", "reset-failed keep.service", "start gc.service"}},
	// An inactive referrer keeps nothing: keep succeeds after gc failed, and both go at the
	// end of keep's job, gc still failed when its own job ended.
	{name: "collect-inactive-referrer", units: map[string]string{
		"gc.service":   gcOneshotSlow,
		"keep.service": "After=gc.service\n[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; sleep 0.5'",
	}, steps: []string{"start gc.service keep.service", "start gc.service"}},
	// An active unit keeps the units it wants or requires (without After=, the requiring unit
	// starts though gcr fails); stopped, it goes and they with it.
	{name: "collect-wants-requires", units: map[string]string{
		"gcw.service":   gcOneshot,
		"gcr.service":   gcOneshot,
		"keepw.service": "Wants=gcw.service\n[Service]\nExecStart=" + counted,
		"keepr.service": "Requires=gcr.service\n[Service]\nExecStart=" + counted,
	}, steps: []string{"start keepw.service", "start keepr.service", "start gcw.service", "stop keepw.service", "stop keepr.service"}},
	// Requires= and After= a failing unit: keep's job fails with "dependency", keep stays
	// inactive, and both go.
	{name: "collect-requires-dependency", units: map[string]string{
		"gc.service":   gcOneshot,
		"keep.service": "Requires=gc.service\nAfter=gc.service\n[Service]\nExecStart=" + counted,
	}, steps: []string{"start keep.service", "start gc.service"}},
	// A reference goes one way: gc wants keep, which runs, and gc goes all the same.
	{name: "collect-reverse-reference", units: map[string]string{
		"gc.service":   "Wants=keep.service\n" + gcOneshot,
		"keep.service": "[Service]\nExecStart=" + counted,
	}, steps: []string{"start keep.service", "start gc.service"}},
	// A failed unit stays while its OnFailure= unit has a job (systemd's
	// unit_success_failure_handler_has_jobs): systemctl finds gc's result; when h is done,
	// both go.
	{name: "collect-onfailure-pending", units: map[string]string{
		"gc.service": "OnFailure=h.service\n" + gcOneshot,
		"h.service":  "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; sleep 0.5'",
	}, steps: []string{"start gc.service", "start gc.service"}},
	// Upholds= a unit that keeps failing: it is started again each time until its start
	// limit; reset-failed lets it start again.
	{name: "upholds-failing", units: map[string]string{
		"a.service": "Upholds=b.service\n[Service]\nExecStart=/bin/sleep 30",
		"b.service": "StartLimitIntervalSec=60\nStartLimitBurst=3\n[Service]\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; sleep 0.2; exit 1'",
	}, steps: []string{"start a.service", "sleep 2s", "reset-failed b.service", "sleep 2s"}},
	// An automatic restart of b (Restart=always, killed) is a restart job: it restarts the
	// units that require it, are bound to it or are part of it, not those that only want it.
	{name: "requires-auto-restart", units: map[string]string{
		"b.service":   "[Service]\nRestart=always\nRestartSec=100ms\nExecStart=" + counted,
		"req.service": "Requires=b.service\nAfter=b.service\n[Service]\nExecStart=" + counted,
		"bnd.service": "BindsTo=b.service\nAfter=b.service\n[Service]\nExecStart=" + counted,
		"prt.service": "PartOf=b.service\n[Service]\nExecStart=" + counted,
		"wnt.service": "Wants=b.service\nAfter=b.service\n[Service]\nExecStart=" + counted,
	}, steps: []string{"start req.service bnd.service prt.service wnt.service", "kill --signal=KILL b.service", "sleep 1s"}},
	// A required unit whose condition fails is skipped, which is no failure: the requiring
	// unit starts. One whose assertion fails fails the requiring unit's job.
	{name: "condition-dependency", units: map[string]string{
		"a.service":    "Requires=cond.service\nAfter=cond.service\n[Service]\nExecStart=" + counted,
		"cond.service": "ConditionPathExists=/nonexistent\n[Service]\nExecStart=" + counted,
		"c.service":    "Requires=asrt.service\nAfter=asrt.service\n[Service]\nExecStart=" + counted,
		"asrt.service": "AssertPathExists=/nonexistent\n[Service]\nExecStart=" + counted,
	}, steps: []string{"start a.service", "start c.service", "start asrt.service"}},
	// Requisite= propagates a stop and a restart of the required unit, as Requires= does, not
	// its failure; a's start then fails.
	{name: "requisite-stop", units: map[string]string{
		"a.service": "Requisite=b.service\nAfter=b.service\n[Service]\nExecStart=" + counted,
		"b.service": "[Service]\nExecStart=" + counted,
	}, steps: []string{"start b.service", "start a.service", "restart b.service", "stop b.service", "start b.service",
		"start a.service", "kill --signal=KILL b.service", "start a.service"}},
	// PropagatesStopTo= (b to d) and StopPropagatedFrom= (c from b) propagate b's stop, also
	// when b fails (killed), not its restart; a stop in mode ignore-dependencies not.
	{name: "stop-propagated-from", units: map[string]string{
		"b.service": "PropagatesStopTo=d.service\n[Service]\nExecStart=" + counted,
		"c.service": "StopPropagatedFrom=b.service\n[Service]\nExecStart=" + counted,
		"d.service": "[Service]\nExecStart=" + counted,
	}, steps: []string{"start b.service c.service d.service", "restart b.service", "stop b.service", "start b.service c.service d.service",
		"kill --signal=KILL b.service", "start c.service d.service", "start b.service", "stop --job-mode=ignore-dependencies b.service"}},
	// --job-mode=fail refuses a stop that would cancel a's start job (a 2 s oneshot), and a
	// start that would cancel b's stop job (ExecStop= takes 2 s); replace does both.
	{name: "job-mode-fail-pending", units: map[string]string{
		"a.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; exec /bin/sleep 2'",
		"b.service": "[Service]\nExecStart=" + counted + "\nExecStop=/bin/sleep 2",
	}, steps: []string{"start b.service", "nowait start --no-block a.service", "nowait stop --no-block b.service", "nowait sleep 300ms",
		"nowait stop --job-mode=fail a.service", "nowait start --job-mode=fail b.service", "stop a.service", "start b.service"}},
}

// JobDifference is a known difference of TestJobsDifferential: after step Step (1-based) of
// Scenario, Property of Unit is Systemd in systemd 252 and Flint in flint. Property "exit"
// (Unit empty) is the exit status of the step's command, "message" its output (flint's names
// for its own commands turned into systemctl's and journalctl's, see flintWords), "connect"
// the outcome of a connect or client step; Property "file" of Unit "@STATE@/NAME" is that
// file (jobScenario.files). In the known lists, Systemd and Flint are path.Match patterns.
type JobDifference struct {
	Scenario string
	Step     int
	Unit     string
	Property string
	Systemd  string
	Flint    string
	Reason   string
}

// JobKnownDifferences are accepted differences of the job engine.
var JobKnownDifferences = []JobDifference{
	{Scenario: "conflicts-cancel-pending", Step: 1, Unit: "a.service", Property: "ActiveState", Systemd: "failed", Flint: "inactive",
		Reason: "systemctl start a b sends two requests; systemd runs a's start job from its run queue, which sometimes comes before b's request, whose conflict then kills the running oneshot (failed/signal), and sometimes after it, when the conflict cancels a's job before a's process exists (inactive/dead). flint gets both units in one request and runs the jobs after it, so it always shows the second."},
	{Scenario: "conflicts-cancel-pending", Step: 1, Unit: "a.service", Property: "SubState", Systemd: "failed", Flint: "dead",
		Reason: "the same"},
	{Scenario: "conflicts-cancel-pending", Step: 1, Unit: "a.service", Property: "Result", Systemd: "signal", Flint: "success",
		Reason: "the same"},
	{Scenario: "conflicts-required", Step: 1, Property: "message",
		Systemd: "Failed to start a.service: Transaction contains conflicting jobs '*' and '*' for ?.service. Probably contradicting requirement dependencies configured.\nSee system logs and 'systemctl status a.service' for details.",
		Flint:   "Failed to start a.service: Transaction contains conflicting jobs 'start' and 'stop' for b.service. Probably contradicting requirement dependencies configured.\nSee system logs and 'systemctl status a.service' for details.",
		Reason:  "systemd names the jobs of a.service or b.service, in either order (hash order); flint always the ones it met, 'start' and 'stop' for b.service."},
	{Scenario: "cycle-requires", Step: 1, Property: "message",
		Systemd: "Failed to start a.service: Transaction order is cyclic. See system logs for details.\nSee system logs and 'systemctl status a.service' for details.",
		Flint:   "Failed to start a.service: Transaction order is cyclic (a.service/start -> b.service/start). See 'journalctl -xe' for details.\nSee system logs and 'systemctl status a.service' for details.",
		Reason:  "flint names the cycle in the message (systemd logs it), and points to its log command."},
}

// JobOpenBugs are differences of the job engine that are flint bugs to fix; the test accepts
// them so that it guards everything else, and lists them in its log.
var JobOpenBugs = []JobDifference{}

func matches(pattern, s string) bool {
	ok, err := path.Match(pattern, s)
	return ok || err != nil && pattern == s
}

// jobSide is systemd or flint as the test drives it.
type jobSide interface {
	// run runs a verb with its units and returns the exit status and the output.
	run(ctx context.Context, args ...string) (int, string)
	// show returns props of units, one map per unit.
	show(ctx context.Context, units, props []string) ([]map[string]string, error)
	// jobs returns the jobs listed, "" when there are none.
	jobs(ctx context.Context) (string, error)
}

type systemdSide struct{ s *Systemd }

func (d systemdSide) run(ctx context.Context, args ...string) (int, string) {
	// Standard output, then standard error (warnings too when systemctl succeeds), as flint's.
	out, stderr, err := d.s.SystemctlOutput(ctx, args...)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), string(out) + strings.TrimSpace(string(stderr))
	}
	if err != nil {
		return -1, err.Error()
	}
	return 0, string(out) + string(stderr)
}

func (d systemdSide) show(ctx context.Context, units, props []string) ([]map[string]string, error) {
	blocks, err := d.s.Show(ctx, units, props)
	if err != nil {
		return nil, err
	}
	return propMaps(blocks), nil
}

func (d systemdSide) jobs(ctx context.Context) (string, error) {
	out, err := d.s.Systemctl(ctx, "list-jobs", "--no-legend")
	return noJobs(out), err
}

type flintSide struct{ bin, control string }

func (d flintSide) command(ctx context.Context, args ...string) ([]byte, []byte, int, error) {
	cmd := exec.CommandContext(ctx, d.bin, append([]string{"--control", d.control}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return stdout.Bytes(), stderr.Bytes(), ee.ExitCode(), nil
	}
	return stdout.Bytes(), stderr.Bytes(), 0, err
}

func (d flintSide) run(ctx context.Context, args ...string) (int, string) {
	out, errOut, code, err := d.command(ctx, args...)
	if err != nil {
		return -1, err.Error()
	}
	return code, string(out) + string(errOut)
}

func (d flintSide) show(ctx context.Context, units, props []string) ([]map[string]string, error) {
	args := []string{"show", "-p", strings.Join(props, ","), "--"}
	out, errOut, code, err := d.command(ctx, append(args, units...)...)
	if err != nil || code != 0 {
		return nil, fmt.Errorf("flint show: exit %d %v: %s", code, err, errOut)
	}
	blocks := ParseShow(out)
	if len(blocks) != len(units) {
		return nil, fmt.Errorf("flint show %d units printed %d blocks:\n%s", len(units), len(blocks), out)
	}
	return propMaps(blocks), nil
}

func (d flintSide) jobs(ctx context.Context) (string, error) {
	out, errOut, code, err := d.command(ctx, "list-jobs", "--no-legend")
	if err == nil && code != 0 {
		err = fmt.Errorf("flint list-jobs: exit %d: %s", code, errOut)
	}
	return noJobs(out), err
}

func noJobs(out []byte) string {
	s := strings.TrimSpace(string(out))
	if s == "No jobs running." {
		return ""
	}
	return s
}

func propMaps(blocks [][]Property) []map[string]string {
	out := make([]map[string]string, len(blocks))
	for i, b := range blocks {
		out[i] = map[string]string{}
		for _, p := range b {
			out[i][p.Name] = p.Value
		}
	}
	return out
}

// settle waits until neither side lists a job, twice 150 ms apart (systemd queues the stops
// of StopWhenUnneeded= and BindsTo= units from its event loop, after the job that caused
// them has finished).
func settle(ctx context.Context, sides ...jobSide) error {
	deadline := time.Now().Add(10 * time.Second)
	quiet := 0
	for quiet < 2 {
		busy := ""
		for _, s := range sides {
			j, err := s.jobs(ctx)
			if err != nil {
				return err
			}
			if j != "" {
				busy = j
			}
		}
		if busy == "" {
			quiet++
		} else {
			quiet = 0
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("jobs still pending after 10s:\n%s", busy)
		}
		if quiet < 2 {
			time.Sleep(150 * time.Millisecond)
		}
	}
	return nil
}

// unitNameRE matches the unit names in a scenario's unit texts: plain names, templates and
// instances (a@x.service, a@%i.service, a@foo\x2dbar.service).
var unitNameRE = regexp.MustCompile(`\b[A-Za-z0-9_-]+(@[A-Za-z0-9_:.%\\-]*)?\.(service|target|socket)\b`)

// typeDropIns are the drop-in directories of a whole unit type, which keep their name.
var typeDropIns = map[string]bool{"service.d": true, "socket.d": true, "target.d": true}

// writeJobUnits writes the scenario's units into dir/units, each name (file names and names
// in the texts) prefixed with prefix, with @STATE@ = dir/state, @PORT@ = port and @DIR@ =
// execDir, and returns the unit directory, the state directory and the replacer of those.
func writeJobUnits(dir, prefix string, port int, execDir string, sc jobScenario) (string, string, *strings.Replacer, error) {
	units, state := filepath.Join(dir, "units"), filepath.Join(dir, "state")
	vars := strings.NewReplacer("@STATE@", state, "@PORT@", fmt.Sprint(port), "@DIR@", execDir)
	for _, d := range []string{units, state} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", "", nil, err
		}
	}
	for name, body := range sc.units {
		if err := writeUnit(units, prefix, vars, name, body); err != nil {
			return "", "", nil, err
		}
	}
	return units, state, vars, nil
}

// freePort returns a TCP port of 127.0.0.1 that nothing listens on.
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// usesPort reports whether a scenario's units listen on @PORT@.
func usesPort(sc jobScenario) bool {
	for _, m := range []map[string]string{sc.units, sc.edits} {
		for _, body := range m {
			if strings.Contains(body, "@PORT@") {
				return true
			}
		}
	}
	return false
}

// unitPath is where the unit or drop-in name of a scenario is written under units.
func unitPath(units, prefix, name string) string {
	if dir, file, ok := strings.Cut(name, "/"); ok {
		if !typeDropIns[dir] {
			dir = prefix + dir
		}
		return filepath.Join(units, dir, file)
	}
	return filepath.Join(units, prefix+name)
}

// writeUnit writes one unit or drop-in of a scenario (see jobScenario).
func writeUnit(units, prefix string, vars *strings.Replacer, name, body string) error {
	p := unitPath(units, prefix, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	os.Remove(p)
	if body == maskedUnit {
		return os.Symlink("/dev/null", p)
	}
	text := vars.Replace(unitNameRE.ReplaceAllString(body, prefix+"$0")) + "\n"
	if !strings.Contains(name, "/") {
		text = "[Unit]\nDefaultDependencies=no\n" + text
	}
	return os.WriteFile(p, []byte(text), 0o644)
}

// stateFile is the pseudo-property "file" of @STATE@/name: "absent", the content of a
// regular file, or the type and permissions of anything else ("socket 600", "dir 755").
func stateFile(state, name string) string {
	p := filepath.Join(state, name)
	fi, err := os.Lstat(p)
	if err != nil {
		return "absent"
	}
	perm := fmt.Sprintf("%o", fi.Mode().Perm())
	switch {
	case fi.Mode().IsRegular():
		data, err := os.ReadFile(p)
		if err != nil {
			return err.Error()
		}
		return string(data)
	case fi.IsDir():
		return "dir " + perm
	case fi.Mode()&os.ModeSocket != 0:
		return "socket " + perm
	case fi.Mode()&os.ModeNamedPipe != 0:
		return "fifo " + perm
	case fi.Mode()&os.ModeSymlink != 0:
		target, _ := os.Readlink(p)
		return "symlink " + target
	}
	return "other " + perm
}

// clientScript connects to the Unix stream socket $ARGV[0] and closes the connection.
const clientScript = `use IO::Socket::UNIX; IO::Socket::UNIX->new(Type => SOCK_STREAM(), Peer => $ARGV[0]) or die "$!\n"; print "connected\n"`

// client runs clientScript on path, inside systemd's pid and mount namespaces when s is not
// nil, so that the manager sees the client's pid; it returns "connected" or the error.
func client(ctx context.Context, s *Systemd, path string) string {
	args := []string{"perl", "-e", clientScript, path}
	if s != nil {
		args = append([]string{"nsenter", "-t", fmt.Sprint(s.Pid), "-p", "-m", "--"}, args...)
	}
	out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
	if err != nil && len(out) == 0 {
		return err.Error()
	}
	return strings.TrimSpace(string(out))
}

// connect opens a connection to address and closes it at once, and returns "connected" or
// the error. address is a Unix stream socket's path, a TCP address (127.0.0.1:PORT), or one of
// "unixpacket:PATH" (a Unix sequential-packet socket), "unixgram:PATH" (a Unix datagram
// socket: it sends one datagram "x") and "fifo:PATH" (a FIFO: it writes "x" without
// blocking). A datagram socket or FIFO is readable only once something is sent.
func connect(address string) string {
	network, p := "unix", address
	if n, rest, ok := strings.Cut(address, ":"); ok && slices.Contains([]string{"unixpacket", "unixgram", "fifo"}, n) {
		network, p = n, rest
	} else if !strings.HasPrefix(address, "/") {
		network = "tcp"
	}
	var err error
	if network == "fifo" {
		var f *os.File
		if f, err = os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			_, err = f.Write([]byte("x"))
			f.Close()
		}
	} else {
		var c net.Conn
		if c, err = net.Dial(network, p); err == nil {
			if network == "unixgram" {
				_, err = c.Write([]byte("x"))
			}
			c.Close()
		}
	}
	if err != nil {
		return err.Error()
	}
	return "connected"
}

// starts counts the lines of state/UNIT.
func starts(state, unit string) string {
	data, err := os.ReadFile(filepath.Join(state, unit))
	if err != nil {
		return "0"
	}
	return fmt.Sprint(bytes.Count(data, []byte("\n")))
}

// startFlint runs `flint run --units units --control SOCK` in its own process group until the
// test ends, and waits for its control socket.
func startFlint(t *testing.T, bin, units string) flintSide {
	t.Helper()
	return startFlintWith(t, bin, units, nil, nil)
}

// startFlintWith is startFlint with groups, when not nil, as the manager's supplementary
// groups, and without the capabilities dropCaps (see BootOptions).
func startFlintWith(t *testing.T, bin, units string, groups []uint32, dropCaps []string) flintSide {
	t.Helper()
	control := filepath.Join(t.TempDir(), "control.sock")
	var out bytes.Buffer
	argv := WithoutCaps(dropCaps, bin, "run", "--no-booted", "--no-journal-sockets", "--units", units, "--control", control)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if groups != nil {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 0, Gid: 0, Groups: groups}
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("flint run: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("flint run did not exit 10s after SIGTERM")
		}
		if t.Failed() {
			t.Logf("flint run output:\n%s", out.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		if fi, err := os.Stat(control); err == nil && fi.Mode()&os.ModeSocket != 0 {
			return flintSide{bin: bin, control: control}
		}
		select {
		case <-done:
			t.Fatalf("flint run exited early:\n%s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("flint run: no control socket after 10s:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestJobsDifferential runs the same commands on the same unit files on systemd 252 and on a
// `flint run` manager, a fresh one of each per scenario, and compares each command's exit
// status and message and, once no job is left on either side, ActiveState, SubState, Result
// and the number of starts (Starts) of every unit of the scenario.
func TestJobsDifferential(t *testing.T) {
	runDifferential(t, jobScenarios, jobRun)
}

// diffRun is what a differential test of the manager compares and accepts: TestJobsDifferential
// runs jobRun, TestServiceDifferential serviceRun.
type diffRun struct {
	tag      string   // unit name prefix, with the pid and the scenario's index (see runJobScenario)
	props    []string // properties compared after every step, besides Starts
	known    []JobDifference
	openBugs []JobDifference
	// After each step, when the sides differ, they are looked at again until they agree, for
	// at most wait. When stable is not zero, each side must moreover show the same values
	// twice, stable apart (a unit that restarts by itself changes without a job).
	wait, stable time.Duration
	// counts are pseudo-properties compared besides Starts: each counts the lines of the file
	// @STATE@/UNIT+SUFFIX (the map's value), as Starts counts those of @STATE@/UNIT.
	counts map[string]string
	// timeout bounds the whole test (every scenario, which run two at a time on two CPUs);
	// 150 s when zero.
	timeout time.Duration
	// groups, when not nil, are both managers' supplementary groups; dropCaps are
	// capabilities both go without (see BootOptions).
	groups   []uint32
	dropCaps []string
}

var jobRun = diffRun{tag: "jd", props: jobProps, known: JobKnownDifferences, openBugs: JobOpenBugs,
	wait: 1500 * time.Millisecond}

// lookup returns the known difference or open bug that d matches.
func (r diffRun) lookup(d JobDifference) (JobDifference, bool) {
	for _, k := range append(r.known[:len(r.known):len(r.known)], r.openBugs...) {
		if k.Scenario == d.Scenario && k.Step == d.Step && k.Unit == d.Unit && k.Property == d.Property &&
			matches(k.Systemd, d.Systemd) && matches(k.Flint, d.Flint) {
			return k, true
		}
	}
	return JobDifference{}, false
}

// prefix is the unit name prefix of scenario idx (see runJobScenario).
func (r diffRun) prefix(idx int) string {
	return fmt.Sprintf("%s%d-%d-", r.tag, os.Getpid(), idx)
}

// countNames are the names of r.counts, sorted.
func (r diffRun) countNames() []string {
	names := make([]string, 0, len(r.counts))
	for n := range r.counts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// runDifferential runs scenarios on systemd 252 and on a `flint run` manager, a fresh one of
// each per scenario, and compares each command's exit status and message and, once no job is
// left on either side, r's properties and the number of starts (Starts) of every unit of the
// scenario.
func runDifferential(t *testing.T, scenarios []jobScenario, r diffRun) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("boots systemd")
	}
	timeout := r.timeout
	if timeout == 0 {
		timeout = 150 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	begin := time.Now()

	// Probe first: skips (or fails under CI) where systemd cannot boot.
	probe := t.TempDir()
	if err := os.MkdirAll(filepath.Join(probe, "units"), 0o755); err != nil {
		t.Fatal(err)
	}
	bootOrSkip(t, ctx, probe, filepath.Join(probe, "units")).Stop()

	bin := filepath.Join(t.TempDir(), "flint")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/flint")
	build.Dir = "../.."
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build flint: %v\n%s", err, out)
	}

	var mu sync.Mutex // guards the three below
	seen := map[JobDifference]bool{}
	var found []string
	ran := 0
	// The scenarios run in parallel (go test's -parallel, GOMAXPROCS by default), each on its
	// own systemd and flint; the group returns when all have ended.
	t.Run("scenarios", func(t *testing.T) {
		for i, sc := range scenarios {
			t.Run(sc.name, func(t *testing.T) {
				t.Parallel()
				diffs := runJobScenario(t, ctx, bin, i, sc, r)
				mu.Lock()
				defer mu.Unlock()
				ran++
				for _, d := range diffs {
					if k, ok := r.lookup(d); ok {
						seen[k] = true
						continue
					}
					found = append(found, fmt.Sprintf("{Scenario: %q, Step: %d, Unit: %q, Property: %q, Systemd: %q, Flint: %q},",
						d.Scenario, d.Step, d.Unit, d.Property, d.Systemd, d.Flint))
				}
			})
		}
	})
	for _, b := range r.openBugs {
		t.Logf("open flint bug, accepted: %s step %d %s %s: systemd %q, flint %q: %s", b.Scenario, b.Step, b.Unit, b.Property, b.Systemd, b.Flint, b.Reason)
	}
	if ran == len(scenarios) {
		for _, k := range r.known {
			if !seen[k] {
				t.Logf("known difference no longer seen (remove the entry): %+v", k)
			}
		}
		// A fixed bug must leave the list, so that the test guards the fix.
		for _, k := range r.openBugs {
			if !seen[k] {
				t.Errorf("open bug no longer seen, fixed? Remove its entry: %+v", k)
			}
		}
	}
	if len(found) > 0 {
		t.Logf("new differences, as entries:\n%s", strings.Join(found, "\n"))
	}
	t.Logf("%d scenarios in %v", ran, time.Since(begin).Round(time.Millisecond))
}

// runJobScenario boots systemd and starts flint on the scenario's units, runs its steps on
// both, fails the test on each difference that is not known, and returns all differences.
//
// The unit names get a prefix unique to the scenario and the test process, as systemd names
// a service's cgroup after the unit and every systemd that Boot starts shares the host's
// cgroup tree: two of them running a.service at once would take each other's cgroup. The
// prefix is removed again from the names and messages compared.
func runJobScenario(t *testing.T, ctx context.Context, bin string, idx int, sc jobScenario, r diffRun) []JobDifference {
	prefix := r.prefix(idx)
	sysDir, flintDir := t.TempDir(), t.TempDir()
	// The two sides share the network: each gets its own @PORT@.
	sysPort, flintPort := freePort(t), freePort(t)
	sysExecDir, flintExecDir := execDirName(prefix, "s"), execDirName(prefix, "f")
	sysUnits, sysState, sysVars, err := writeJobUnits(sysDir, prefix, sysPort, sysExecDir, sc)
	if err != nil {
		t.Fatal(err)
	}
	flintUnits, flintState, flintVars, err := writeJobUnits(flintDir, prefix, flintPort, flintExecDir, sc)
	if err != nil {
		t.Fatal(err)
	}
	// Runs after systemd and flint have stopped (cleanups run last first).
	t.Cleanup(func() { removeExecDirs(sc, sysExecDir, flintExecDir) })
	names, templates := shownUnits(sc)
	real := make([]string, len(names))
	for i, n := range names {
		real[i] = prefix + n
	}
	// systemd puts the instances of template PREFIXa@.service into the slice
	// system-PREFIXa.slice ('-' escaped), which removeCgroups empties and removes.
	cgroups := real
	for _, tmpl := range templates {
		cgroups = append(cgroups, "system-"+strings.ReplaceAll(prefix+tmpl, "-", `\x2d`)+".slice")
	}
	// Runs after systemd has been stopped (cleanups run last first).
	t.Cleanup(func() { removeCgroups(cgroups) })
	s := bootOrSkipWith(t, ctx, sysDir, sysUnits, BootOptions{Groups: r.groups, DropCaps: r.dropCaps})
	sys, fl := systemdSide{s}, startFlintWith(t, bin, flintUnits, r.groups, r.dropCaps)
	defer func() {
		if t.Failed() {
			t.Logf("systemd console:\n%s", tail(filepath.Join(sysDir, "console")))
		}
	}()
	if err := settle(ctx, sys, fl); err != nil {
		t.Fatal(err)
	}
	var masks []*regexp.Regexp
	for _, m := range sc.masks {
		masks = append(masks, regexp.MustCompile(m))
	}
	// normalizers turn a side's paths into @STATE@ and @UNITS@ (its port into @PORT@, its
	// directory name into @DIR@) and drop the prefix (also as %P, %J and %f show it
	// unescaped).
	normalizer := func(state, units string, port int, execDir string) func(string) string {
		pairs := []string{execDir, "@DIR@", state, "@STATE@", units, "@UNITS@", prefix, "", strings.ReplaceAll(prefix, "-", "/"), ""}
		if usesPort(sc) {
			pairs = append(pairs, fmt.Sprint(port), "@PORT@")
		}
		rep := strings.NewReplacer(pairs...)
		return func(v string) string {
			v = rep.Replace(v)
			for _, m := range masks {
				v = m.ReplaceAllString(v, "#")
			}
			return v
		}
	}
	sysNorm, flintNorm := normalizer(sysState, sysUnits, sysPort, sysExecDir), normalizer(flintState, flintUnits, flintPort, flintExecDir)

	var diffs []JobDifference
	statusLogged := map[string]bool{}
	differ := func(step int, unit, prop, sv, fv string) {
		if sv == fv {
			return
		}
		d := JobDifference{Scenario: sc.name, Step: step, Unit: unit, Property: prop, Systemd: sv, Flint: fv}
		diffs = append(diffs, d)
		if _, ok := r.lookup(d); !ok {
			t.Errorf("step %d (%s): %s %s: systemd %q, flint %q", step, sc.steps[step-1], unit, prop, sv, fv)
			if unit != "" && !strings.HasPrefix(unit, "@") && !statusLogged[unit] {
				statusLogged[unit] = true
				_, sst := sys.run(ctx, "status", "--full", "--lines=20", prefix+unit)
				_, fst := fl.run(ctx, "status", "-n", "20", prefix+unit)
				t.Logf("systemctl status %s:\n%s\nflint status %s:\n%s", unit, sst, unit, fst)
			}
		}
	}
	props := append(r.props[:len(r.props):len(r.props)], sc.props...)
	compared := append(append(props, "Starts"), r.countNames()...)
	look := func(step int) ([]map[string]string, []map[string]string) {
		sProps, err := sys.show(ctx, real, props)
		if err != nil {
			t.Fatalf("step %d: %v (systemd log %s)", step, err, s.LogPath)
		}
		fProps, err := fl.show(ctx, real, props)
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		for j, n := range real {
			for _, p := range props {
				sProps[j][p], fProps[j][p] = sysNorm(sProps[j][p]), flintNorm(fProps[j][p])
			}
			sProps[j]["Starts"], fProps[j]["Starts"] = starts(sysState, n), starts(flintState, n)
			for c, suffix := range r.counts {
				sProps[j][c], fProps[j][c] = starts(sysState, n+suffix), starts(flintState, n+suffix)
			}
		}
		return sProps, fProps
	}
	for i, step := range sc.steps {
		args := strings.Fields(step)
		nowait := args[0] == "nowait"
		if nowait {
			args = args[1:]
		}
		switch args[0] {
		case "sleep":
			// A pause, run on neither side: "sleep DURATION" (time.ParseDuration). With
			// "nowait", the units are not compared after it (jobs may still run).
			d, err := time.ParseDuration(args[1])
			if err != nil {
				t.Fatalf("step %d %s: %v", i+1, step, err)
			}
			time.Sleep(d)
			if nowait {
				continue
			}
		case "connect", "client":
			// A client, run on both sides: "connect ADDRESS" connects to the Unix socket
			// ADDRESS (a path; @STATE@ is the side's state directory) or to the TCP address
			// ADDRESS (127.0.0.1:@PORT@) and closes the connection at once; a prefix names
			// another kind of socket (see connect). "client PATH" does
			// the same from a process of its own, on systemd's side in its pid namespace, so
			// that the manager knows the client's pid (an Accept=yes instance's name).
			var res [2]string
			for k, vars := range []*strings.Replacer{sysVars, flintVars} {
				norm := []func(string) string{sysNorm, flintNorm}[k]
				p := vars.Replace(args[1])
				if args[0] == "client" {
					var in *Systemd
					if k == 0 {
						in = s
					}
					res[k] = norm(client(ctx, in, p))
					continue
				}
				res[k] = norm(connect(p))
			}
			t.Logf("step %d %s: systemd %s; flint %s", i+1, step, res[0], res[1])
			differ(i+1, "", "connect", res[0], res[1])
		case "write", "remove":
			// "write NAME" writes the unit or drop-in sc.edits[NAME] on both sides (NAME up to
			// a '#'), "remove NAME" removes it.
			name, _, _ := strings.Cut(args[1], "#")
			for k, units := range []string{sysUnits, flintUnits} {
				var err error
				if args[0] == "write" {
					err = writeUnit(units, prefix, []*strings.Replacer{sysVars, flintVars}[k], name, sc.edits[args[1]])
				} else {
					err = os.Remove(unitPath(units, prefix, name))
				}
				if err != nil {
					t.Fatalf("step %d %s: %v", i+1, step, err)
				}
			}
		default:
			// Options (-x, --x=y) are passed as they are, the other words are units.
			for k, a := range args[1:] {
				if !strings.HasPrefix(a, "-") {
					args[k+1] = prefix + a
				}
			}
			sCode, sOut := sys.run(ctx, args...)
			fCode, fOut := fl.run(ctx, args...)
			sOut = strings.TrimSpace(sysNorm(sOut))
			fOut = strings.TrimSpace(flintNorm(flintWords.Replace(fOut)))
			t.Logf("step %d %s: systemd exit %d %q; flint exit %d %q", i+1, step, sCode, sOut, fCode, fOut)
			differ(i+1, "", "exit", fmt.Sprint(sCode), fmt.Sprint(fCode))
			differ(i+1, "", "message", sOut, fOut)
			if nowait {
				continue
			}
		}
		// Compare once both sides have settled. A unit can still change without a job (a
		// Type=simple process exiting): while the states differ (or, with r.stable, still
		// change), settle and look again, for at most r.wait.
		var sProps, fProps []map[string]string
		var sFiles, fFiles []string
		for deadline := time.Now().Add(r.wait); ; {
			if err := settle(ctx, sys, fl); err != nil {
				t.Fatalf("step %d %s: %v", i+1, step, err)
			}
			sProps, fProps = look(i + 1)
			sFiles, fFiles = stateFiles(sc.files, sysState, sysNorm), stateFiles(sc.files, flintState, flintNorm)
			steady := true
			if r.stable > 0 {
				time.Sleep(r.stable)
				sAgain, fAgain := look(i + 1)
				steady = sameStates(sProps, sAgain, compared) && sameStates(fProps, fAgain, compared)
				sProps, fProps = sAgain, fAgain
				sFilesAgain, fFilesAgain := stateFiles(sc.files, sysState, sysNorm), stateFiles(sc.files, flintState, flintNorm)
				steady = steady && slices.Equal(sFiles, sFilesAgain) && slices.Equal(fFiles, fFilesAgain)
				sFiles, fFiles = sFilesAgain, fFilesAgain
			}
			if steady && sameStates(sProps, fProps, compared) && slices.Equal(sFiles, fFiles) || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		var sLine, fLine []string
		for j, n := range names {
			sv, fv := sProps[j], fProps[j]
			for _, p := range compared {
				differ(i+1, n, p, sv[p], fv[p])
			}
			sLine = append(sLine, stateLine(n, sv, props, r.countNames()))
			fLine = append(fLine, stateLine(n, fv, props, r.countNames()))
		}
		for j, f := range sc.files {
			differ(i+1, "@STATE@/"+f, "file", sFiles[j], fFiles[j])
		}
		t.Logf("  systemd: %s", strings.Join(sLine, " "))
		t.Logf("  flint:   %s", strings.Join(fLine, " "))
		if len(sc.files) > 0 {
			t.Logf("  systemd files: %q", sFiles)
			t.Logf("  flint files:   %q", fFiles)
		}
	}
	return diffs
}

// shownUnits returns the units of a scenario whose properties are compared (those of its
// files but templates and drop-ins, then its show list), and the prefixes of its templates
// ("a" for a@.service).
func shownUnits(sc jobScenario) (names, templates []string) {
	for n := range sc.units {
		// A template (x@.service) is not a unit that show can name.
		if strings.Contains(n, "/") {
			continue
		}
		if tmpl, _, ok := strings.Cut(n, "@."); ok {
			templates = append(templates, tmpl)
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	return append(names, sc.show...), templates
}

// stateFiles are the files' pseudo-properties (stateFile) on one side, normalized.
func stateFiles(files []string, state string, norm func(string) string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = norm(stateFile(state, f))
	}
	return out
}

func sameStates(a, b []map[string]string, props []string) bool {
	for j := range a {
		for _, p := range props {
			if a[j][p] != b[j][p] {
				return false
			}
		}
	}
	return true
}

// flintWords turns flint's own names in its messages into systemctl's, so that the messages
// compare.
var flintWords = strings.NewReplacer(
	"flint status ", "systemctl status ",
	"flint logs -u ", "journalctl -xeu ",
	"'flint logs'", "'journalctl -xe'",
	"\"flint logs\"", "\"journalctl -xe\"",
	"\"flint reset-failed ", "\"systemctl reset-failed ",
	"'flint list-unit-files'", "'systemctl list-unit-files'",
	"\"flint start ", "\"systemctl start ",
	"'flint daemon-reload'", "'systemctl daemon-reload'",
	"Warning: flint start called", "Warning: systemctl start called",
)

// stateLine is one unit's compared values for the log:
// unit=active/sub/result[/more]/starts[/counts].
func stateLine(unit string, v map[string]string, props, counts []string) string {
	vals := make([]string, 0, len(props)+1+len(counts))
	for _, p := range append(append(props[:len(props):len(props)], "Starts"), counts...) {
		vals = append(vals, v[p])
	}
	return unit + "=" + strings.Join(vals, "/")
}

// removeCgroups removes the cgroups systemd made for units (UNIT under system.slice of its
// root, the test's own cgroup, in each hierarchy; for a slice also the services in it), once
// systemd and its processes are gone.
// The names are the test's own (see runJobScenario); a cgroup still busy is retried for a
// second, then left.
func removeCgroups(units []string) {
	roots := map[string]bool{}
	data, _ := os.ReadFile("/proc/self/cgroup")
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		// "ID:CONTROLLERS:PATH"; systemd takes its root from the name=systemd or the v2 entry.
		if f := strings.SplitN(line, ":", 3); len(f) == 3 && (f[1] == "name=systemd" || f[1] == "") {
			roots[f[2]] = true
		}
	}
	hierarchies, _ := filepath.Glob("/sys/fs/cgroup/*")
	hierarchies = append(hierarchies, "/sys/fs/cgroup")
	var dirs []string
	for root := range roots {
		for _, h := range hierarchies {
			for _, u := range units {
				d := filepath.Join(h, root, "system.slice", u)
				if fi, err := os.Stat(d); err == nil && fi.IsDir() {
					if strings.HasSuffix(u, ".slice") {
						// The units in a slice go first.
						children, _ := filepath.Glob(filepath.Join(d, "*.service"))
						dirs = append(dirs, children...)
					}
					dirs = append(dirs, d)
				}
			}
		}
	}
	deadline := time.Now().Add(time.Second)
	for len(dirs) > 0 && time.Now().Before(deadline) {
		var busy []string
		for _, d := range dirs {
			if err := syscall.Rmdir(d); err != nil && !errors.Is(err, syscall.ENOENT) {
				busy = append(busy, d)
			}
		}
		dirs = busy
		if len(dirs) > 0 {
			time.Sleep(50 * time.Millisecond)
		}
	}
}
