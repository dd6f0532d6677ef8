package difftest

import (
	"testing"
	"time"
)

// reloadProps are the properties TestReloadDifferential compares after every step, besides
// Starts and Reloads.
var reloadProps = []string{"ActiveState", "SubState", "Result", "ReloadResult", "StatusText", "NRestarts", "WatchdogUSec"}

const (
	// countedReload counts its run (the pseudo-property Reloads) and exits 0.
	countedReload = "/bin/sh -c 'echo >>@STATE@/%n.reload'"
	// notifyAll starts a [Service] section of a Type=notify service whose every process may
	// notify (systemd-notify sends as its parent, the shell).
	notifyAll = "[Service]\nType=notify\nNotifyAccess=all\n"
	// readyThenSleep counts its start, says READY=1 with STATUS=up, and runs for 30 s.
	readyThenSleep = "/bin/sh -c 'echo >>@STATE@/%n; /bin/systemd-notify --ready --status=up; exec /bin/sleep 30'"
	// pings counts its start and sends WATCHDOG=1 every 0.2 s.
	pings = "/bin/sh -c 'echo >>@STATE@/%n; while :; do /bin/systemd-notify WATCHDOG=1; /bin/sleep 0.2; done'"
	// reloadsOnHUP says READY=1, then reloads on SIGHUP: RELOADING=1, counts the reload,
	// READY=1 with STATUS=reloaded.
	reloadsOnHUP = "/bin/sh -c 'trap \"/bin/systemd-notify RELOADING=1; echo >>@STATE@/%n.reload; /bin/systemd-notify READY=1 STATUS=reloaded\" HUP; " +
		"/bin/systemd-notify --ready; while :; do /bin/sleep 0.2; done'"
)

// reloadsOrNot are the units of the rows on the verbs that reload or restart: r reloads, n
// (no ExecReload=) and the target t cannot.
func reloadsOrNot() map[string]string {
	return map[string]string{
		"r.service": "[Service]\nExecStart=" + counted + "\nExecReload=" + countedReload,
		"n.service": "[Service]\nExecStart=" + counted,
		"t.target":  "",
	}
}

// reloadScenarios are the rows of TestReloadDifferential: reload jobs (ExecReload=, the verbs
// that reload or restart, PropagatesReloadTo=), sd_notify messages sent with systemd-notify
// (READY=1, STATUS=, MAINPID=, RELOADING=1, STOPPING=1) and the watchdog. They are written as
// jobScenario's are; a service's ExecReload= counts its runs with countedReload.
var reloadScenarios = held([]jobScenario{
	{name: "reload", units: map[string]string{
		"ok.service":   "[Service]\nExecStart=" + counted + "\nExecReload=" + countedReload,
		"fail.service": "[Service]\nExecStart=" + counted + "\nExecReload=/bin/false",
	}, steps: []string{"start ok.service fail.service", "reload ok.service", "reload fail.service", "reload ok.service",
		"restart fail.service", "reload fail.service", "stop ok.service fail.service"}},
	// Reloads that do not apply, of units that are not active, do not exist or are masked.
	// (systemctl 252 ignores the error of try-restart and try-reload-or-restart on a masked
	// unit: it is not running.)
	{name: "reload-not-applicable", units: map[string]string{
		"none.service":     "[Service]\nExecStart=/bin/sleep 30",
		"inactive.service": "[Service]\nExecStart=/bin/sleep 30\nExecReload=" + countedReload,
		"failed.service":   "[Service]\nExecStart=/bin/false\nExecReload=" + countedReload,
		"t.target":         "",
		"m.service":        maskedUnit,
		"s.socket":         "[Socket]\nListenStream=@STATE@/s.sock\n",
		"s.service":        "[Service]\nExecStart=/bin/sleep 30\nExecReload=" + countedReload,
	}, show: []string{"nope.service"},
		steps: []string{"start none.service", "reload none.service", "reload inactive.service", "reload t.target",
			"start t.target", "reload t.target", "start failed.service", "reload failed.service", "reload m.service",
			"reload nope.service", "reload s.socket", "start s.socket", "reload s.socket", "try-reload-or-restart m.service",
			"reload-or-restart m.service", "force-reload nope.service", "condrestart nope.service", "condstop nope.service", "try-restart m.service"}},
	// RefuseManualStart= refuses a reload-or-restart that starts the unit, not one that reloads
	// it; RefuseManualStop= refuses one that restarts it.
	{name: "refuse-manual", units: map[string]string{
		"nostart.service": "RefuseManualStart=yes\n[Service]\nExecStart=" + counted + "\nExecReload=" + countedReload,
		"nostop.service":  "RefuseManualStop=yes\n[Service]\nExecStart=" + counted,
		"w.target":        "Wants=nostart.service nostop.service",
	}, steps: []string{"reload-or-restart nostart.service", "start w.target", "reload-or-restart nostart.service",
		"try-reload-or-restart nostart.service", "reload nostart.service", "reload-or-restart nostop.service",
		"try-reload-or-restart nostop.service"}},
	{name: "reload-or-restart", units: reloadsOrNot(), steps: []string{"reload-or-restart r.service", "reload-or-restart n.service", "reload-or-restart r.service",
		"reload-or-restart n.service", "reload-or-restart t.target", "reload-or-restart t.target"}},
	{name: "try-reload-or-restart", units: reloadsOrNot(), steps: []string{"try-reload-or-restart r.service", "try-reload-or-restart n.service", "try-reload-or-restart t.target",
		"start r.service n.service t.target", "try-reload-or-restart r.service", "try-reload-or-restart n.service",
		"try-reload-or-restart t.target"}},
	// systemctl 252's legacy names: force-reload, condreload and reload-or-try-restart are
	// try-reload-or-restart, condrestart is try-restart, condstop is stop.
	{name: "legacy-verbs", units: reloadsOrNot(), steps: []string{"force-reload r.service", "start r.service n.service", "force-reload r.service", "force-reload n.service",
		"condreload r.service", "reload-or-try-restart n.service", "condrestart r.service", "condstop r.service n.service",
		"condrestart r.service"}},
	// Each ExecReload= line runs in turn; a failure ends the reload unless the line has "-".
	{name: "reload-commands", units: map[string]string{
		"two.service":         "[Service]\nExecStart=" + counted + "\nExecReload=" + countedReload + "\nExecReload=" + countedReload,
		"first-fails.service": "[Service]\nExecStart=" + counted + "\nExecReload=/bin/false\nExecReload=" + countedReload,
		"ignored.service":     "[Service]\nExecStart=" + counted + "\nExecReload=-/bin/false\nExecReload=" + countedReload,
		"last-fails.service":  "[Service]\nExecStart=" + counted + "\nExecReload=" + countedReload + "\nExecReload=/bin/sh -c 'exit 3'",
	}, steps: []string{"start two.service first-fails.service ignored.service last-fails.service", "reload two.service",
		"reload first-fails.service", "reload ignored.service", "reload last-fails.service"}},
	// A propagated reload goes to the active units that can reload; c (no ExecReload=) and e
	// (inactive) are left out; b's reload propagates further to f. A target with
	// PropagatesReloadTo= can be reloaded.
	{name: "propagates-reload", units: map[string]string{
		"a.service": "PropagatesReloadTo=b.service c.service\n[Service]\nExecStart=" + counted + "\nExecReload=" + countedReload,
		"b.service": "[Service]\nExecStart=" + counted + "\nExecReload=" + countedReload,
		"c.service": "[Service]\nExecStart=" + counted,
		"d.service": "ReloadPropagatedFrom=a.service\n[Service]\nExecStart=" + counted + "\nExecReload=" + countedReload,
		"e.service": "ReloadPropagatedFrom=a.service\n[Service]\nExecStart=" + counted + "\nExecReload=" + countedReload,
		"f.service": "ReloadPropagatedFrom=b.service\n[Service]\nExecStart=" + counted + "\nExecReload=" + countedReload,
		"t.target":  "PropagatesReloadTo=b.service",
	}, steps: []string{"start a.service b.service c.service d.service f.service t.target", "reload a.service", "reload t.target",
		"stop b.service", "reload a.service", "reload-or-restart t.target", "try-reload-or-restart t.target"}},
	{name: "oneshot-remain", units: map[string]string{
		"ok.service":   "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=" + countedOnce + "\nExecReload=" + countedReload,
		"fail.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=" + countedOnce + "\nExecReload=/bin/false",
		"gone.service": "[Service]\nType=oneshot\nExecStart=" + countedOnce + "\nExecReload=" + countedReload,
	}, steps: []string{"start ok.service fail.service gone.service", "reload ok.service", "reload fail.service",
		"reload gone.service", "reload-or-restart ok.service", "reload-or-restart gone.service"}},
	// ExecReload= outlives TimeoutStartSec=: it is killed, and the reload fails.
	{name: "reload-timeout", units: map[string]string{
		"slow.service": "[Service]\nTimeoutStartSec=1\nExecStart=" + counted + "\nExecReload=/bin/sh -c 'echo >>@STATE@/%n.reload; exec /bin/sleep 30'",
	}, steps: []string{"start slow.service", "reload slow.service", "reload slow.service"}},
	// A reload requested while the unit's reload job runs is run again after it. The second
	// request waits until the first job runs: sent at once, it may reach either manager while
	// the first job still waits, and merge into it.
	{name: "reload-while-reloading", units: map[string]string{
		"slow.service": "[Service]\nExecStart=" + counted + "\nExecReload=/bin/sh -c 'echo >>@STATE@/%n.reload; /bin/sleep 2'",
	}, steps: []string{"start slow.service", "nowait reload --no-block slow.service", "sleep 500ms", "reload --no-block slow.service"}},
	// A reload requested while the unit's start job runs merges into the start.
	{name: "reload-while-starting", units: map[string]string{
		"slow.service": "[Service]\nExecStartPre=/bin/sleep 2\nExecStart=" + counted + "\nExecReload=" + countedReload,
	}, steps: []string{"nowait start --no-block slow.service", "reload --no-block slow.service"}},
	// ExecReload= stops the main process (SIGTERM, a clean exit) and ends a second later:
	// the service stops when the reload is over.
	{name: "reload-main-exits", units: map[string]string{
		"a.service": "[Service]\nExecStart=" + counted + "\nExecReload=/bin/sh -c 'kill $$MAINPID; /bin/sleep 1'",
	}, steps: []string{"start a.service", "reload a.service"}},
	{name: "notify-status", units: map[string]string{
		"all.service": notifyAll + "ExecStart=" + readyThenSleep + "\nExecReload=/bin/sh -c '/bin/systemd-notify STATUS=reloaded'",
		// NotifyAccess=main (Type=notify's default): ExecReload= has no $NOTIFY_SOCKET.
		"main.service": "[Service]\nType=notify\nExecStart=" + readyThenSleep + "\nExecReload=/bin/sh -c '/bin/systemd-notify STATUS=reloaded'",
		"exec.service": "[Service]\nType=notify\nNotifyAccess=exec\nExecStart=" + readyThenSleep + "\nExecReload=/bin/sh -c '/bin/systemd-notify STATUS=reloaded'",
		// Type=simple may send STATUS= too.
		"simple.service": "[Service]\nNotifyAccess=all\nExecStart=/bin/sh -c '/bin/systemd-notify STATUS=simple; exec /bin/sleep 30'",
	}, steps: []string{"start all.service main.service exec.service simple.service", "sleep 1s",
		"reload all.service", "reload main.service", "reload exec.service", "stop all.service", "start all.service"}},
	// ExecReload= says RELOADING=1, then READY=1; early says READY=1 and then fails.
	{name: "notify-reload", units: map[string]string{
		"a.service": notifyAll + "ExecStart=" + readyThenSleep +
			"\nExecReload=/bin/sh -c '/bin/systemd-notify RELOADING=1; echo >>@STATE@/%n.reload; /bin/systemd-notify READY=1 STATUS=reloaded'",
		"early.service": notifyAll + "ExecStart=" + readyThenSleep +
			"\nExecReload=/bin/sh -c '/bin/systemd-notify READY=1 STATUS=early; /bin/sleep 1; exit 1'",
	}, steps: []string{"start a.service early.service", "reload a.service", "reload early.service"}},
	// The main process reloads on SIGHUP by itself (RELOADING=1 ... READY=1): the reload
	// propagates to b. h's ExecReload= sends it SIGHUP ($MAINPID, a word of its own, is
	// replaced by the manager).
	{name: "notify-reloading-main", units: map[string]string{
		"a.service": "PropagatesReloadTo=b.service\n" + notifyAll + "ExecStart=" + reloadsOnHUP,
		"b.service": "[Service]\nExecStart=" + counted + "\nExecReload=" + countedReload,
		"h.service": notifyAll + "ExecStart=" + reloadsOnHUP + "\nExecReload=/bin/kill -HUP $MAINPID",
	}, steps: []string{"start a.service b.service h.service", "kill --kill-whom=main --signal=HUP a.service", "sleep 1s",
		"reload h.service", "sleep 1s"}},
	// MAINPID= names the shell's child as the main process before the shell exits.
	{name: "notify-mainpid", units: map[string]string{
		"m.service": notifyAll + "ExecStart=/bin/sh -c 'echo >>@STATE@/%n; /bin/sleep 30 & /bin/systemd-notify MAINPID=$$! READY=1'" +
			"\nExecReload=/bin/sh -c 'kill -0 $$MAINPID && echo >>@STATE@/%n.reload'",
		"gone.service": notifyAll + "ExecStart=/bin/sh -c 'echo >>@STATE@/%n; /bin/systemd-notify MAINPID=4000000 READY=1; exec /bin/sleep 30'",
	}, steps: []string{"start m.service gone.service", "sleep 1s", "reload m.service", "stop m.service gone.service"}},
	// STOPPING=1 puts the service in stop-sigterm (without a signal) until it exits.
	{name: "notify-stopping", units: map[string]string{
		"s.service": notifyAll + "ExecStart=/bin/sh -c 'echo >>@STATE@/%n; /bin/systemd-notify --ready; /bin/sleep 1; /bin/systemd-notify STOPPING=1; /bin/sleep 5'",
	}, steps: []string{"start s.service", "sleep 2s", "sleep 6s"}},
	// never does not ping; restart does not ping on its first run and restarts once; pings
	// pings (NotifyAccess= is main by default with WatchdogSec=); env checks the variables.
	{name: "watchdog", units: map[string]string{
		"never.service": "[Service]\nWatchdogSec=1\nLimitCORE=0\nExecStart=" + counted,
		"restart.service": "StartLimitBurst=100\n[Service]\nWatchdogSec=2\nLimitCORE=0\nRestart=on-watchdog\nRestartSec=100ms\n" +
			"ExecStart=/bin/sh -c 'echo >>@STATE@/%n; [ $$(wc -l <@STATE@/%n) -gt 1 ] || exec /bin/sleep 30; while :; do /bin/systemd-notify WATCHDOG=1; /bin/sleep 0.2; done'",
		"pings.service": "[Service]\nWatchdogSec=2\nLimitCORE=0\nExecStart=" + pings,
		"env.service": "[Service]\nWatchdogSec=5\nLimitCORE=0\n" +
			"ExecStart=/bin/sh -c 'test \"$$WATCHDOG_PID\" = $$$$ && test \"$$WATCHDOG_USEC\" = 5000000 || exit 3; " +
			"while :; do /bin/systemd-notify WATCHDOG=1; /bin/sleep 0.2; done'",
	}, steps: []string{"start never.service restart.service pings.service env.service", "sleep 5s", "stop restart.service pings.service env.service"}},
	// WATCHDOG=trigger fails the service as a missed ping would, even without WatchdogSec=.
	{name: "watchdog-trigger", units: map[string]string{
		"t.service": notifyAll + "LimitCORE=0\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; /bin/systemd-notify --ready; /bin/sleep 1; /bin/systemd-notify WATCHDOG=trigger; exec /bin/sleep 30'",
		"r.service": "StartLimitBurst=100\n" + notifyAll + "LimitCORE=0\nRestart=on-watchdog\nRestartSec=100ms\n" +
			"ExecStart=/bin/sh -c 'echo >>@STATE@/%n; /bin/systemd-notify --ready; [ $$(wc -l <@STATE@/%n) -gt 1 ] || /bin/systemd-notify WATCHDOG=trigger; exec /bin/sleep 30'",
	}, steps: []string{"start t.service r.service", "sleep 3s"}},
	// WATCHDOG=trigger before READY=1 fails the start as well.
	{name: "watchdog-trigger-start", units: map[string]string{
		"s.service": notifyAll + "LimitCORE=0\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; /bin/systemd-notify WATCHDOG=trigger; exec /bin/sleep 30'",
	}, steps: []string{"start s.service", "sleep 2s"}},
	// WATCHDOG_USEC= overrides WatchdogSec= until the next start: o sets 1.5 s on its first
	// run only; z turns the watchdog off and never pings.
	{name: "watchdog-override", units: map[string]string{
		"o.service": "[Service]\nWatchdogSec=3\nLimitCORE=0\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; /bin/systemd-notify WATCHDOG=1; " +
			"[ $$(wc -l <@STATE@/%n) -gt 1 ] || /bin/systemd-notify WATCHDOG_USEC=1500000; while :; do /bin/systemd-notify WATCHDOG=1; /bin/sleep 0.2; done'",
		"z.service": "[Service]\nWatchdogSec=1\nLimitCORE=0\nExecStart=/bin/sh -c 'echo >>@STATE@/%n; /bin/systemd-notify WATCHDOG_USEC=0; exec /bin/sleep 30'",
	}, steps: []string{"start o.service z.service", "sleep 2s", "restart o.service", "stop o.service z.service"}},
	// Of two STATUS= in one message the first counts (READY=1 and the like: the last).
	{name: "notify-repeated-field", units: map[string]string{
		"s.service": notifyAll + "ExecStart=/bin/sh -c 'echo >>@STATE@/%n; /bin/systemd-notify --ready STATUS=first STATUS=second; exec /bin/sleep 30'",
	}, steps: []string{"start s.service", "stop s.service"}},
})

// ReloadKnownDifferences are accepted differences of reloads and notifications.
var ReloadKnownDifferences = []JobDifference{}

// ReloadOpenBugs are differences of reloads and notifications that are flint bugs to fix;
// the test accepts them so that it guards everything else, and fails when one is no longer
// seen.
var ReloadOpenBugs = []JobDifference{}

// reloadRun compares reloadProps and the runs of ExecReload= (Reloads); a unit changes
// without a job (notifications, the watchdog, restarts), so the states must also hold still
// for a while before they are compared.
var reloadRun = diffRun{tag: "rl", props: reloadProps, known: ReloadKnownDifferences, openBugs: ReloadOpenBugs,
	wait: 4 * time.Second, stable: 300 * time.Millisecond, counts: map[string]string{"Reloads": ".reload"},
	timeout: 300 * time.Second}

// TestReloadDifferential runs reloadScenarios on systemd 252 and on `flint run` as
// TestJobsDifferential does, and compares besides the states the reload's result
// (ReloadResult), the status text of notifications (StatusText), the automatic restarts
// (NRestarts) and the runs of ExecReload= (Reloads).
func TestReloadDifferential(t *testing.T) {
	runDifferential(t, reloadScenarios, reloadRun)
}
