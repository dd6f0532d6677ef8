package difftest

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// serviceProps are the properties TestServiceDifferential compares after every step, besides
// Starts.
var serviceProps = []string{"ActiveState", "SubState", "Result", "ExecMainCode", "ExecMainStatus", "NRestarts"}

// failThen counts its start, exits with status code until it has been started more than n
// times, then runs then (a shell command).
func failThen(n, code int, then string) string {
	return fmt.Sprintf("/bin/sh -c 'echo >>@STATE@/%%n; [ $$(wc -l <@STATE@/%%n) -gt %d ] || exit %d; %s'", n, code, then)
}

// execPID appends to @STATE@/pid "NAME own" when the process's SYSTEMD_EXEC_PID is its own pid,
// else "NAME other:<the value, or unset>".
func execPID(name string) string {
	return fmt.Sprintf(`/bin/sh -c 'if [ "$$SYSTEMD_EXEC_PID" = "$$$$" ]; then echo %s own; else echo %s other:$${SYSTEMD_EXEC_PID-unset}; fi >>@STATE@/pid'`, name, name)
}

// restarts are the settings of a unit that restarts quickly and often.
const restarts = "StartLimitBurst=100\n[Service]\nRestartSec=100ms\n"

// serviceScenarios are the rows of TestServiceDifferential: the life cycle of one service
// (restarts, exit statuses, the Exec*= commands around ExecStart=, the service types,
// timeouts, kill modes). They are written as jobScenario's are.
var serviceScenarios = held([]jobScenario{
	// a fails twice, then runs; o (oneshot) fails twice, then succeeds. o's start job fails with
	// the first failure (systemd 252); systemctl asks for the unit's Result then, while o
	// waits RestartSec= for its restart (long enough not to have restarted yet).
	{name: "restart-on-failure", units: map[string]string{
		"a.service": restarts + "Restart=on-failure\nExecStart=" + failThen(2, 1, "exec /bin/sleep 30"),
		"o.service": "StartLimitBurst=100\n[Service]\nRestartSec=500ms\nType=oneshot\nRestart=on-failure\nExecStart=" + failThen(2, 1, "exit 0"),
	}, steps: []string{"start a.service", "start o.service", "stop a.service"}},
	// always exits 0 twice, then runs.
	{name: "restart-always-no", units: map[string]string{
		"always.service": restarts + "Restart=always\nExecStart=" + failThen(2, 0, "exec /bin/sleep 30"),
		"no.service":     restarts + "Restart=no\nExecStart=" + failThen(100, 1, ""),
	}, steps: []string{"start always.service", "start no.service", "stop always.service"}},
	// Killed by SIGKILL is abnormal (restart), by SIGTERM clean (no restart).
	{name: "restart-on-abnormal", units: map[string]string{
		"exit.service": restarts + "Restart=on-abnormal\nExecStart=" + failThen(100, 1, ""),
		"sig.service":  restarts + "Restart=on-abnormal\nExecStart=" + counted,
	}, steps: []string{"start exit.service", "start sig.service", "kill --signal=KILL sig.service",
		"kill --signal=TERM sig.service"}},
	// a hits the limit at its third (automatic) start: systemd 252 leaves Result=exit-code
	// then, from the last run (the start that fails the limit does not reset it). b, started
	// by hand, succeeds twice and hits the limit the third time: Result=start-limit-hit.
	{name: "start-limit", units: map[string]string{
		"a.service": "StartLimitBurst=2\nStartLimitIntervalSec=10\n[Service]\nRestart=always\nRestartSec=100ms\nExecStart=" + failThen(100, 1, ""),
		"b.service": "StartLimitBurst=2\nStartLimitIntervalSec=10\n[Service]\nType=oneshot\nExecStart=" + countedOnce,
	}, steps: []string{"start a.service", "start a.service", "reset-failed a.service", "start a.service",
		"start b.service", "start b.service", "start b.service"}},
	{name: "exit-status", units: map[string]string{
		"prevent.service":   restarts + "Restart=always\nRestartPreventExitStatus=3\nExecStart=" + failThen(100, 3, ""),
		"ok3.service":       "[Service]\nSuccessExitStatus=3\nExecStart=/bin/sh -c 'exit 3'",
		"usr1.service":      "[Service]\nSuccessExitStatus=SIGUSR1\nExecStart=/bin/sh -c 'kill -USR1 $$$$'",
		"usr1-fail.service": "[Service]\nExecStart=/bin/sh -c 'kill -USR1 $$$$'",
	}, steps: []string{"start prevent.service ok3.service usr1.service usr1-fail.service"}},
	{name: "exec-start-pre", units: map[string]string{
		"pre-fail.service":    "[Service]\nExecStartPre=/bin/false\nExecStart=" + counted,
		"pre-ignored.service": "[Service]\nExecStartPre=-/bin/false\nExecStart=" + counted,
	}, steps: []string{"start pre-fail.service", "start pre-ignored.service"}},
	{name: "exec-start-post-stop", units: map[string]string{
		"post-fail.service": "[Service]\nExecStartPost=/bin/false\nExecStart=/bin/sleep 30",
		"stop-fail.service": "[Service]\nExecStop=/bin/false\nExecStart=" + counted,
	}, steps: []string{"start post-fail.service", "start stop-fail.service", "stop stop-fail.service"}},
	// (post-fail's main process does not count its start: ExecStartPost= runs at the same time
	// and its failure kills it, before or after it could count.)
	// ExecStopPost= counts too: a starts twice (ExecStart= and ExecStopPost=), b once
	// (ExecStopPost= after the failed ExecStartPre=).
	{name: "exec-stop-post", units: map[string]string{
		"a.service": "[Service]\nExecStart=" + failThen(100, 1, "") + "\nExecStopPost=" + countedOnce,
		"b.service": "[Service]\nExecStartPre=/bin/false\nExecStart=/bin/sleep 30\nExecStopPost=" + countedOnce,
	}, steps: []string{"start a.service", "start b.service"}},
	{name: "oneshot", units: map[string]string{
		"two.service":    "[Service]\nType=oneshot\nExecStart=" + countedOnce + "\nExecStart=/bin/false",
		"remain.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=" + countedOnce,
	}, steps: []string{"start two.service", "start remain.service", "stop remain.service"}},
	{name: "forking", units: map[string]string{
		"pidfile.service": "[Service]\nType=forking\nPIDFile=@STATE@/fork.pid\n" +
			"ExecStart=/bin/sh -c 'echo >>@STATE@/%n; /bin/sleep 30 & echo $$! >@STATE@/fork.pid'",
		"nopid.service": "[Service]\nType=forking\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; /bin/sleep 30 &'",
	}, steps: []string{"start pidfile.service", "start nopid.service", "stop pidfile.service nopid.service"}},
	{name: "notify", units: map[string]string{
		"never.service": "[Service]\nType=notify\nTimeoutStartSec=1\nExecStart=/bin/sleep 30",
		"ready.service": "[Service]\nType=notify\nNotifyAccess=all\n" +
			"ExecStart=/bin/sh -c 'echo >>@STATE@/%n; /bin/systemd-notify --ready; exec /bin/sleep 30'",
	}, steps: []string{"start never.service", "start ready.service", "stop ready.service"}},
	// ignore ignores SIGTERM (SIGKILL after TimeoutStopSec=); term1 exits 1 on it.
	{name: "stop-signals", units: map[string]string{
		"ignore.service": "[Service]\nTimeoutStopSec=1\nExecStart=/bin/sh -c 'trap \"\" TERM; /bin/sleep 30'",
		"term1.service":  "[Service]\nExecStart=/bin/sh -c 'trap \"exit 1\" TERM; /bin/sleep 30 & wait'",
	}, steps: []string{"start ignore.service term1.service", "stop ignore.service", "stop term1.service"}},
	// The child lives 3 s only: KillMode=process leaves it running after the stop.
	{name: "killmode", units: map[string]string{
		"proc.service": "[Service]\nKillMode=process\nExecStart=/bin/sh -c '/bin/sleep 3 & exec /bin/sleep 30'",
		"cg.service":   "[Service]\nKillMode=control-group\nExecStart=/bin/sh -c '/bin/sleep 3 & exec /bin/sleep 30'",
	}, steps: []string{"start proc.service cg.service", "stop proc.service cg.service"}},
	{name: "runtime-max", units: map[string]string{
		"r.service": "[Service]\nRuntimeMaxSec=1\nExecStart=" + counted,
	}, steps: []string{"start r.service", "sleep 1.5s"}},
	// Restart=on-failure restarts after an unclean signal, not after exit 0; a restart by hand
	// keeps NRestarts.
	{name: "restart-on-failure-signal", units: map[string]string{
		"sig.service":  restarts + "Restart=on-failure\nExecStart=" + counted,
		"zero.service": restarts + "Restart=on-failure\nExecStart=" + countedOnce,
	}, steps: []string{"start sig.service zero.service", "kill --signal=KILL sig.service", "restart sig.service",
		"stop sig.service", "start sig.service"}},
	// Restart=on-abort restarts after an unclean signal (SIGUSR1) only: not after SIGTERM nor
	// an exit status.
	{name: "restart-on-abort", units: map[string]string{
		"sig.service":  restarts + "Restart=on-abort\nExecStart=" + counted,
		"exit.service": restarts + "Restart=on-abort\nExecStart=" + failThen(100, 1, ""),
	}, steps: []string{"start sig.service exit.service", "kill --signal=USR1 sig.service", "kill --signal=TERM sig.service"}},
	// RestartForceExitStatus= restarts whatever Restart= says; RestartPreventExitStatus= takes
	// a signal name too; SuccessExitStatus= is no failure for Restart=on-failure.
	{name: "restart-force-prevent", units: map[string]string{
		"force.service":     restarts + "Restart=no\nRestartForceExitStatus=2\nExecStart=" + failThen(1, 2, "exec /bin/sleep 30"),
		"force-sig.service": restarts + "Restart=on-success\nRestartForceExitStatus=SIGUSR1\nExecStart=" + counted,
		"prevent.service":   restarts + "Restart=always\nRestartPreventExitStatus=SIGUSR2\nExecStart=" + counted,
		"success.service":   restarts + "Restart=on-failure\nSuccessExitStatus=4\nExecStart=" + failThen(100, 4, ""),
	}, steps: []string{"start force.service force-sig.service prevent.service success.service",
		"kill --signal=USR1 force-sig.service", "kill --signal=USR2 prevent.service"}},
	// The first run is killed by the watchdog (restarted), the second exits 0.
	{name: "restart-on-watchdog", units: map[string]string{
		"w.service": restarts + "Restart=on-watchdog\nWatchdogSec=1\n" +
			"ExecStart=/bin/sh -c 'echo >>@STATE@/%n; [ $$(wc -l <@STATE@/%n) -gt 1 ] || exec /bin/sleep 30'",
		"exit.service": restarts + "Restart=on-watchdog\nExecStart=" + failThen(100, 1, ""),
	}, steps: []string{"start w.service exit.service", "sleep 2s"}},
	// ExecCondition= exit 1 to 254 skips the unit, 255 fails it.
	{name: "exec-condition", units: map[string]string{
		"skip.service":    "[Service]\nExecCondition=/bin/sh -c 'exit 1'\nExecStart=" + counted,
		"fail.service":    "[Service]\nExecCondition=/bin/sh -c 'exit 255'\nExecStart=" + counted,
		"pass.service":    "[Service]\nExecCondition=/bin/true\nExecStart=" + counted,
		"ignored.service": "[Service]\nExecCondition=-/bin/sh -c 'exit 255'\nExecStart=" + counted,
		"signal.service":  "[Service]\nExecCondition=/bin/sh -c 'kill -USR1 $$$$'\nExecStart=" + counted,
	}, steps: []string{"start skip.service", "start fail.service", "start pass.service", "start ignored.service",
		"start signal.service"}},
	// A '-' ExecStart= failure is recorded but not a failure; RemainAfterExit= of a failed
	// oneshot and of a simple service.
	{name: "exec-start-ignored", units: map[string]string{
		"dash.service":          "[Service]\nType=oneshot\nExecStart=-/bin/false\nExecStart=" + countedOnce,
		"simple-dash.service":   "[Service]\nExecStart=-/bin/sh -c 'exit 7'",
		"remain-fail.service":   "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/false",
		"simple-remain.service": "[Service]\nRemainAfterExit=yes\nExecStart=" + countedOnce,
	}, steps: []string{"start dash.service", "start simple-dash.service remain-fail.service simple-remain.service",
		"restart simple-remain.service", "start dash.service"}},
	// '-' ExecStartPost= and ExecStop= failures are ignored; a failing ExecStopPost= fails the unit.
	{name: "exec-ignored", units: map[string]string{
		"post.service":     "[Service]\nExecStartPost=-/bin/false\nExecStart=" + counted,
		"stop.service":     "[Service]\nExecStop=-/bin/false\nExecStart=" + counted,
		"stoppost.service": "[Service]\nExecStopPost=/bin/false\nExecStart=" + counted,
	}, steps: []string{"start post.service stop.service stoppost.service", "stop post.service stop.service stoppost.service"}},
	// Type=notify services that exit before READY=1.
	{name: "notify-exit", units: map[string]string{
		"zero.service":   "[Service]\nType=notify\nExecStart=" + countedOnce,
		"one.service":    "[Service]\nType=notify\nExecStart=/bin/sh -c 'exit 1'",
		"remain.service": "[Service]\nType=notify\nRemainAfterExit=yes\nExecStart=" + countedOnce,
	}, steps: []string{"start zero.service", "start one.service", "start remain.service"}},
	{name: "missing-binary", units: map[string]string{
		"exec.service":   "[Service]\nType=exec\nExecStart=/nonexistent/bin",
		"simple.service": "[Service]\nType=simple\nExecStart=/nonexistent/bin",
		"dash.service":   "[Service]\nType=exec\nExecStart=-/nonexistent/bin",
		"pre.service":    "[Service]\nExecStartPre=/nonexistent/bin\nExecStart=" + counted,
	}, steps: []string{"start exec.service", "start simple.service", "start dash.service", "start pre.service"}},
	{name: "reload", units: map[string]string{
		"fail.service": "[Service]\nExecReload=/bin/false\nExecStart=" + counted,
		"ok.service":   "[Service]\nExecReload=/bin/true\nExecStart=" + counted,
		"none.service": "[Service]\nExecStart=" + counted,
	}, steps: []string{"start fail.service ok.service none.service", "reload fail.service", "reload ok.service",
		"reload none.service", "reload-or-restart none.service", "reload-or-restart fail.service",
		"reload ok.service fail.service"}},
	// restart, try-restart, reload-or-restart and try-reload-or-restart on inactive, active and
	// failed services.
	{name: "restart-verbs", units: map[string]string{
		"a.service": "[Service]\nExecStart=" + counted,
		"b.service": "[Service]\nExecStart=" + counted,
		"c.service": "[Service]\nExecStart=" + counted,
		"f.service": "[Service]\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; exit 1'",
	}, steps: []string{"try-restart a.service", "restart a.service", "try-restart a.service",
		"reload-or-restart b.service", "try-reload-or-restart c.service", "try-reload-or-restart b.service",
		"start f.service", "try-restart f.service", "restart f.service"}},
	{name: "start-timeout", units: map[string]string{
		"oneshot.service": "[Service]\nType=oneshot\nTimeoutStartSec=1\nExecStart=" + counted,
		"pre.service":     "[Service]\nTimeoutStartSec=1\nExecStartPre=/bin/sleep 30\nExecStart=" + counted,
		"fork.service":    "[Service]\nType=forking\nTimeoutStartSec=1\nExecStart=" + counted,
		"kill.service":    "[Service]\nType=notify\nTimeoutStartSec=1\nTimeoutStartFailureMode=kill\nExecStart=" + counted,
	}, steps: []string{"start oneshot.service", "start pre.service", "start fork.service", "start kill.service"}},
	// hup exits 3 on its KillSignal=; final ignores SIGTERM and is killed with FinalKillSignal=.
	{name: "kill-signals", units: map[string]string{
		"hup.service":   "[Service]\nKillSignal=SIGHUP\nExecStart=/bin/sh -c 'trap \"exit 3\" HUP; /bin/sleep 30 & wait'",
		"final.service": "[Service]\nTimeoutStopSec=1\nFinalKillSignal=SIGUSR2\nExecStart=/bin/sh -c 'trap \"\" TERM; /bin/sleep 30'",
	}, steps: []string{"start hup.service final.service", "stop hup.service", "stop final.service"}},
	// TimeoutStopFailureMode=abort: a SIGTERM that times out (stop-sigterm) or an ExecStopPost=
	// that does (stop-post) gets WatchdogSignal=, SIGABRT, through stop-watchdog/final-watchdog.
	{name: "stop-abort", units: map[string]string{
		"abort.service": "[Service]\nTimeoutStopSec=1\nTimeoutStopFailureMode=abort\nLimitCORE=0\n" +
			"ExecStart=/bin/sh -c 'trap \"\" TERM; /bin/sleep 30'",
		"post.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nTimeoutStopSec=1\nTimeoutStopFailureMode=abort\n" +
			"LimitCORE=0\nExecStart=/bin/true\nExecStopPost=/bin/sh -c 'trap \"\" TERM; /bin/sleep 30'",
		"wd.service": "[Service]\nTimeoutStopSec=1\nTimeoutStopFailureMode=abort\nWatchdogSignal=SIGUSR1\n" +
			"ExecStart=/bin/sh -c 'trap \"\" TERM; trap \"exit 7\" USR1; /bin/sleep 30 & wait'",
	}, steps: []string{"start abort.service post.service wd.service", "stop abort.service", "stop post.service", "stop wd.service"}},
	{name: "forking-fail", units: map[string]string{
		"exit1.service": "[Service]\nType=forking\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; /bin/sleep 30 & exit 1'",
		"nopidfile.service": "[Service]\nType=forking\nTimeoutStartSec=1\nPIDFile=@STATE@/none.pid\n" +
			"ExecStart=/bin/sh -c 'echo >>@STATE@/%n; /bin/sleep 30 &'",
		"mainexit.service": "[Service]\nType=forking\nPIDFile=@STATE@/m.pid\n" +
			"ExecStart=/bin/sh -c '/bin/sh -c \"sleep 1; exit 4\" & echo $$! >@STATE@/m.pid'",
	}, steps: []string{"start exit1.service", "start nopidfile.service", "start mainexit.service", "sleep 1.5s"}},
	// A root service names another unit's main process as its own (MAINPID=, sent in the name
	// of the service's main process: systemd-notify's --pid= would send it in the name of the
	// process it names): its stop kills that process, and the other unit, which watches it
	// too, goes down with it (MainPID=0), its own stop then having nothing to wait for.
	{name: "mainpid-other-unit", units: map[string]string{
		"victim.service": "[Service]\nExecStart=/bin/sh -c 'echo $$$$ >@STATE@/victim.pid; exec /bin/sleep 30'",
		"thief.service": "[Service]\nType=notify\nNotifyAccess=all\nExecStart=/bin/sh -c " +
			"'while [ ! -s @STATE@/victim.pid ]; do sleep 0.1; done; /bin/systemd-notify --ready MAINPID=$$(cat @STATE@/victim.pid); exec /bin/sleep 30'",
	}, props: []string{"MainPID"}, masks: []string{`^[1-9][0-9]+$`},
		steps: []string{"start victim.service", "start thief.service", "stop thief.service", "stop victim.service"}},
	// Every process of a unit gets SYSTEMD_EXEC_PID=<its own pid>; Environment= sets it
	// otherwise, UnsetEnvironment= removes it.
	{name: "exec-pid", units: map[string]string{
		"pid.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStartPre=" + execPID("pre") +
			"\nExecStart=" + execPID("main") + "\nExecStartPost=" + execPID("post") + "\nExecStop=" + execPID("stop"),
		"set.service":   "[Service]\nType=oneshot\nEnvironment=SYSTEMD_EXEC_PID=configured\nExecStart=" + execPID("set"),
		"unset.service": "[Service]\nType=oneshot\nUnsetEnvironment=SYSTEMD_EXEC_PID\nExecStart=" + execPID("unset"),
	}, files: []string{"pid"}, steps: []string{"start pid.service", "stop pid.service", "start set.service", "start unset.service"}},
	// StartLimitIntervalSec=0 has no limit; restarts by hand count towards the limit, and
	// reset-failed forgets them.
	{name: "start-limit-manual", units: map[string]string{
		"off.service": "StartLimitIntervalSec=0\nStartLimitBurst=1\n[Service]\nType=oneshot\nExecStart=" + countedOnce,
		"r.service":   "StartLimitBurst=2\nStartLimitIntervalSec=30\n[Service]\nExecStart=" + counted,
	}, steps: []string{"start off.service", "start off.service", "start off.service", "start r.service",
		"restart r.service", "restart r.service", "reset-failed r.service", "restart r.service"}},
})

// held adds to each scenario the unit hold.target, ordered Before= every unit compared (see
// shownUnits), and starts it first. systemd 252 unloads an inactive unit that no loaded unit
// refers to (its garbage collection), and shows it then as never started: ExecMainCode=0,
// NRestarts=0. The active target's references keep the units loaded, so that their last run
// is compared.
func held(scenarios []jobScenario) []jobScenario {
	for i, sc := range scenarios {
		names, _ := shownUnits(sc)
		units := map[string]string{"hold.target": "Before=" + strings.Join(names, " ")}
		for n, text := range sc.units {
			units[n] = text
		}
		scenarios[i].units = units
		scenarios[i].steps = append([]string{"start hold.target"}, sc.steps...)
	}
	return scenarios
}

// ServiceKnownDifferences are accepted differences of the service life cycle.
var ServiceKnownDifferences = []JobDifference{}

// ServiceOpenBugs are differences of the service life cycle that are flint bugs to fix; the
// test accepts them so that it guards everything else, and fails when one is no longer seen.
var ServiceOpenBugs = []JobDifference{}

// serviceRun compares serviceProps; a restarting unit changes without a job, so the states
// must also hold still for a while before they are compared.
var serviceRun = diffRun{tag: "sd", props: serviceProps, known: ServiceKnownDifferences, openBugs: ServiceOpenBugs,
	wait: 3 * time.Second, stable: 300 * time.Millisecond, timeout: 300 * time.Second}

// TestServiceDifferential runs serviceScenarios on systemd 252 and on `flint run` as
// TestJobsDifferential does, and compares besides the states the main process's exit
// (ExecMainCode, ExecMainStatus) and the number of automatic restarts (NRestarts).
func TestServiceDifferential(t *testing.T) {
	runDifferential(t, serviceScenarios, serviceRun)
}
