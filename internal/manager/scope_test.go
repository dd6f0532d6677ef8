package manager

import (
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/flint-init/flint/unit"
)

// TestScopeStates: systemd 252's words and ActiveStates of a scope's states, and its table:
// a scope starts into running (or fails), its processes' end takes it down from any active
// state, a stop escalates SIGTERM to SIGKILL and never goes back.
func TestScopeStates(t *testing.T) {
	var names []string
	for s := scopeState(0); s < nScopeStates; s++ {
		names = append(names, s.String()+"/"+s.active().String())
	}
	if got := strings.Join(names, " "); got != "dead/inactive running/active abandoned/active stop-sigterm/deactivating stop-sigkill/deactivating failed/failed" {
		t.Errorf("scope states: %s", got)
	}
	for _, tc := range []struct {
		from, to scopeState
		ok       bool
	}{
		{scopeDead, scopeRunning, true},
		{scopeDead, scopeFailed, true},
		{scopeDead, scopeAbandoned, false},
		{scopeRunning, scopeAbandoned, true},
		{scopeAbandoned, scopeRunning, false},
		{scopeRunning, scopeStopSigterm, true},
		{scopeStopSigterm, scopeStopSigkill, true},
		{scopeStopSigkill, scopeStopSigterm, false},
		{scopeStopSigkill, scopeFailed, true},
		{scopeStopSigterm, scopeRunning, false},
		{scopeFailed, scopeDead, true},
		{scopeFailed, scopeRunning, true},
	} {
		if got := tc.from.next(tc.to); got != tc.ok {
			t.Errorf("%s -> %s: %v, want %v", tc.from, tc.to, got, tc.ok)
		}
	}
	if scopeRunning.next(targetActive) || nScopeStates.next(scopeDead) {
		t.Error("a scope state goes to another type's state, or an invalid one goes anywhere")
	}
	if deadState(unit.TypeScope) != scopeDead || failedState(unit.TypeScope) != scopeFailed {
		t.Error("dead and failed states of a scope")
	}
}

// TestTransientScope: StartTransientUnit's properties for a scope (systemd-run --scope's)
// become its unit file and runtime; what flint cannot honour fails the call.
func TestTransientScope(t *testing.T) {
	prop := func(name string, v any) []any { return []any{name, dbus.MakeVariant(v)} }
	text, sr, err := transientScope([][]any{prop("Description", "/bin/sleep 10"), prop("PIDs", []uint32{42, 43}),
		prop("Slice", "user.slice"), prop("TimeoutStopUSec", uint64(5_000_000)), prop("KillSignal", int32(2)),
		prop("SendSIGHUP", true), prop("AddRef", true), prop("After", []string{"a.service"}),
		prop("Controller", ":1.42")}, 7, true)
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := strings.Cut(text, "\n")
	if want := "[Unit]\nDescription=/bin/sleep 10\nAfter=a.service\n\n[Scope]\nSlice=user.slice\nTimeoutStopSec=5000000us\nKillSignal=2\nSendSIGHUP=yes\n"; body != want {
		t.Errorf("file:\n%s\nwant\n%s", body, want)
	}
	if _, sr0, _ := transientScope([][]any{prop("PIDs", []uint32{0})}, 7, false); len(sr0.pids) != 1 || sr0.pids[0] != 7 {
		t.Errorf("PIDs=0: %v", sr0.pids)
	}
	if len(sr.pids) != 2 || sr.pids[0] != 42 || sr.slice != "user.slice" || sr.timeoutStop != 5*time.Second ||
		sr.killSignal != syscall.SIGINT || !sr.sendSIGHUP || !sr.sendSIGKILL || sr.controller != ":1.42" {
		t.Errorf("runtime %+v", sr)
	}
	for _, tc := range []struct {
		props [][]any
		err   string
	}{
		{[][]any{prop("PIDs", []uint32{1 << 30})}, "Invalid PID 1073741824."},
		{[][]any{prop("PIDs", []uint32{})}, "Invalid value for PIDs: no PID."},
		{[][]any{prop("PIDs", "1")}, "Invalid value for PIDs."},
		{[][]any{prop("Slice", "foo.service")}, "Invalid slice name foo.service."},
		{[][]any{prop("KillMode", "bogus")}, "Invalid KillMode bogus."},
		{[][]any{prop("KillMode", uint32(1))}, "Invalid value for KillMode."},
		{[][]any{prop("ExecStart", "x")}, "Cannot set property ExecStart, or unknown property."},
		{[][]any{prop("Description", "a\nb")}, "Invalid value for Description: a line break."},
		{[][]any{prop("Controller", "noname")}, "Controller 'noname' is not a valid bus name."},
		{[][]any{prop("Controller", "org.1x.App")}, "Controller 'org.1x.App' is not a valid bus name."},
		{[][]any{prop("Controller", uint32(1))}, "Invalid value for Controller."},
	} {
		if _, _, err := transientScope(tc.props, 7, true); err == nil || err.Error() != tc.err {
			t.Errorf("%v: %v, want %s", tc.props, err, tc.err)
		}
	}
	// Controller= needs a bus: a peer connection has no name to send RequestStop to.
	_, _, err = transientScope([][]any{prop("Controller", "org.example.App")}, 7, false)
	if ce, ok := err.(*callError); !ok || ce.name != "org.freedesktop.DBus.Error.NotSupported" {
		t.Errorf("Controller= over a peer connection: %v", err)
	}
	for _, ok := range []string{":1.42", "org.example.App", "a.b-c_d", ":1.2.3"} {
		if !validBusName(ok) {
			t.Errorf("validBusName(%q) false", ok)
		}
	}
}

// fakeScopeProcs are the processes of a scope in a table test: alive until the row says
// they exit; a watch records what it watches and reports when one of them exits.
type fakeScopeProcs struct {
	mc    *machine
	live  map[int]string // pid: path
	gone  func()
	token int
}

func (f *fakeScopeProcs) alive(pid int) bool { _, ok := f.live[pid]; return ok }

func (f *fakeScopeProcs) tree(pids []int) []int {
	var out []int
	for _, pid := range pids {
		if f.alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

func (f *fakeScopeProcs) watch(post func(func()), pids []int, gone func()) (func(), error) {
	var paths []string
	for _, pid := range pids {
		paths = append(paths, f.live[pid])
	}
	slices.Sort(paths)
	f.mc.trace = append(f.mc.trace, "watch "+strings.Join(paths, " "))
	f.token++
	tok := f.token
	f.gone = gone
	return func() {
		if f.token == tok {
			f.gone = nil
		}
	}, nil
}

// TestScopeMachine walks a transient scope through its states (systemd's scope.c): its
// processes given at the start (PIDs=), running until they are all gone, a stop that signals
// them and escalates on TimeoutStopSec=, AbandonScope. Processes are fake: /bin/a and /bin/b,
// pids 501 and 502, alive unless a row's "dead PATH" says otherwise before the start; "exit
// PATH" ends one and reports it to the watch.
func TestScopeMachine(t *testing.T) {
	for _, r := range []struct {
		name   string
		setup  func(sr *scopeRun)
		events []string
		state  string
		result string
		trace  []string
	}{
		{name: "runs until its processes are gone", events: []string{"start", "exit /bin/a", "exit /bin/b"}, state: "dead", result: "success",
			trace: []string{"→running", "watch /bin/a /bin/b", "watch /bin/b", "→dead"}},
		{name: "no process left", events: []string{"dead /bin/a", "dead /bin/b", "start"}, state: "failed", result: "resources",
			trace: []string{"→failed"}},
		{name: "one of two left", events: []string{"dead /bin/a", "start", "exit /bin/b"}, state: "dead", result: "success",
			trace: []string{"→running", "watch /bin/b", "→dead"}},
		{name: "stop", events: []string{"start", "stop", "exit /bin/a", "exit /bin/b"}, state: "dead", result: "success",
			trace: []string{"→running", "watch /bin/a /bin/b", "kill /bin/a SIGTERM", "kill /bin/b SIGTERM", "→stop-sigterm",
				"watch /bin/b", "→dead"}},
		{name: "stop times out", events: []string{"start", "stop", "timeout", "timeout"}, state: "failed", result: "timeout",
			trace: []string{"→running", "watch /bin/a /bin/b", "kill /bin/a SIGTERM", "kill /bin/b SIGTERM", "→stop-sigterm",
				"timer stop 1m30s", "kill /bin/a SIGKILL", "kill /bin/b SIGKILL", "→stop-sigkill", "timer stop 1m30s", "→failed"}},
		{name: "killed after the timeout", events: []string{"start", "stop", "timeout", "exit /bin/a", "exit /bin/b"}, state: "failed", result: "timeout",
			trace: []string{"→running", "watch /bin/a /bin/b", "kill /bin/a SIGTERM", "kill /bin/b SIGTERM", "→stop-sigterm",
				"timer stop 1m30s", "kill /bin/a SIGKILL", "kill /bin/b SIGKILL", "→stop-sigkill", "watch /bin/b", "→failed"}},
		{name: "SendSIGKILL=no", setup: func(sr *scopeRun) { sr.sendSIGKILL = false; sr.timeoutStop = time.Second },
			events: []string{"start", "stop", "timeout"}, state: "failed", result: "timeout",
			trace: []string{"→running", "watch /bin/a /bin/b", "kill /bin/a SIGTERM", "kill /bin/b SIGTERM", "→stop-sigterm",
				"timer stop 1s", "→failed"}},
		{name: "KillSignal=SIGINT, SendSIGHUP=yes", setup: func(sr *scopeRun) { sr.killSignal = syscall.SIGINT; sr.sendSIGHUP = true },
			events: []string{"dead /bin/b", "start", "stop", "exit /bin/a"}, state: "dead", result: "success",
			trace: []string{"→running", "watch /bin/a", "kill /bin/a SIGINT", "kill /bin/a SIGHUP", "→stop-sigterm", "→dead"}},
		{name: "KillMode=mixed", setup: func(sr *scopeRun) { sr.killMode = "mixed" },
			events: []string{"start", "stop", "exit /bin/a", "exit /bin/b"}, state: "dead", result: "success",
			trace: []string{"→running", "watch /bin/a /bin/b", "kill /bin/a SIGKILL", "kill /bin/b SIGKILL", "→stop-sigkill",
				"watch /bin/b", "→dead"}},
		{name: "KillMode=process", setup: func(sr *scopeRun) { sr.killMode = "process" },
			events: []string{"start", "stop", "exit /bin/a"}, state: "dead", result: "success",
			trace: []string{"→running", "watch /bin/a /bin/b", "→dead"}},
		{name: "KillMode=none", setup: func(sr *scopeRun) { sr.killMode = "none" },
			events: []string{"start", "stop"}, state: "dead", result: "success",
			trace: []string{"→running", "watch /bin/a /bin/b", "→dead"}},
		{name: "abandoned", events: []string{"start", "abandon", "exit /bin/a", "exit /bin/b"}, state: "dead", result: "success",
			trace: []string{"→running", "watch /bin/a /bin/b", "→abandoned", "watch /bin/b", "→dead"}},
		{name: "abandoned, stopped", events: []string{"start", "abandon", "stop", "exit /bin/a", "exit /bin/b"}, state: "dead", result: "success",
			trace: []string{"→running", "watch /bin/a /bin/b", "→abandoned", "kill /bin/a SIGTERM", "kill /bin/b SIGTERM", "→stop-sigterm",
				"watch /bin/b", "→dead"}},
		{name: "abandon a dead scope", events: []string{"abandon"}, state: "dead", result: "success",
			trace: []string{"abandon: Scope x.scope is not running, cannot abandon."}},
		{name: "Controller= asked instead", setup: func(sr *scopeRun) { sr.controller = "org.example.Ctl" },
			events: []string{"start", "stop", "exit /bin/a", "exit /bin/b"}, state: "dead", result: "success",
			trace: []string{"→running", "watch /bin/a /bin/b", "RequestStop to org.example.Ctl", "→stop-sigterm", "watch /bin/b", "→dead"}},
		{name: "Controller= does not stop it", setup: func(sr *scopeRun) { sr.controller = "org.example.Ctl" },
			events: []string{"start", "stop", "timeout", "exit /bin/a", "exit /bin/b"}, state: "failed", result: "timeout",
			trace: []string{"→running", "watch /bin/a /bin/b", "RequestStop to org.example.Ctl", "→stop-sigterm", "timer stop 1m30s",
				"kill /bin/a SIGKILL", "kill /bin/b SIGKILL", "→stop-sigkill", "watch /bin/b", "→failed"}},
		{name: "Controller= with KillMode=none times out", setup: func(sr *scopeRun) { sr.controller = "org.example.Ctl"; sr.killMode = "none" },
			events: []string{"start", "stop", "timeout"}, state: "failed", result: "timeout",
			trace: []string{"→running", "watch /bin/a /bin/b", "RequestStop to org.example.Ctl", "→stop-sigterm", "timer stop 1m30s", "→failed"}},
		{name: "Controller= gone from the bus", setup: func(sr *scopeRun) { sr.controller = "org.example.Ctl" },
			events: []string{"start", "gone org.example.Other", "gone org.example.Ctl", "stop", "exit /bin/a", "exit /bin/b"}, state: "dead", result: "success",
			trace: []string{"→running", "watch /bin/a /bin/b", "kill /bin/a SIGTERM", "kill /bin/b SIGTERM", "→stop-sigterm",
				"watch /bin/b", "→dead"}},
		{name: "Controller= without a bus", setup: func(sr *scopeRun) { sr.controller = "no.Bus" },
			events: []string{"start", "stop", "exit /bin/a", "exit /bin/b"}, state: "dead", result: "success",
			trace: []string{"→running", "watch /bin/a /bin/b", "kill /bin/a SIGTERM", "kill /bin/b SIGTERM", "→stop-sigterm",
				"watch /bin/b", "→dead"}},
		{name: "Controller= dropped by abandon", setup: func(sr *scopeRun) { sr.controller = "org.example.Ctl" },
			events: []string{"start", "abandon", "stop", "exit /bin/a", "exit /bin/b"}, state: "dead", result: "success",
			trace: []string{"→running", "watch /bin/a /bin/b", "→abandoned", "kill /bin/a SIGTERM", "kill /bin/b SIGTERM", "→stop-sigterm",
				"watch /bin/b", "→dead"}},
		// Started once only (systemd's once_only): a second start's job fails as "once".
		{name: "not started again", events: []string{"start", "exit /bin/a", "exit /bin/b", "alive /bin/a", "start"}, state: "dead", result: "success",
			trace: []string{"→running", "watch /bin/a /bin/b", "watch /bin/b", "→dead"}},
	} {
		t.Run(r.name, func(t *testing.T) {
			mc := newMachine(t, "x.scope", map[string]string{"x.scope": "[Unit]\nDefaultDependencies=no\n"})
			sr := newScopeRun()
			fp := &fakeScopeProcs{mc: mc, live: map[int]string{501: "/bin/a", 502: "/bin/b"}}
			sr.procs, sr.pids = fp, []int{501, 502}
			if r.setup != nil {
				r.setup(sr)
			}
			mc.m.dbus = &dbusState{scopes: map[*Unit]*scopeRun{mc.u: sr}, transient: map[*Unit]string{}}
			if ctl := sr.controller; ctl != "" {
				sr.controller = ""
				mc.m.setController(mc.u, sr, ctl)
			}
			mc.m.dbus.unicast = func(dest string, path dbus.ObjectPath, iface, member string) bool {
				if dest == "no.Bus" {
					return false
				}
				mc.trace = append(mc.trace, member+" to "+dest)
				return path == "/org/freedesktop/systemd1/unit/x_2escope" && iface == "org.freedesktop.systemd1.Scope"
			}
			pidOf := func(path string) int {
				for pid, p := range map[int]string{501: "/bin/a", 502: "/bin/b"} {
					if p == path {
						return pid
					}
				}
				t.Fatalf("no process %s", path)
				return 0
			}
			for pid, path := range fp.live {
				mc.sys.procs[pid] = &fakeProc{u: mc.u, path: path}
			}
			before := bugs.Load()
			for _, ev := range r.events {
				f := strings.Fields(ev)
				switch f[0] {
				case "start", "stop":
					mc.do(ev)
				case "dead", "exit":
					pid := pidOf(f[1])
					delete(fp.live, pid)
					delete(mc.sys.procs, pid)
					if f[0] == "exit" && fp.gone != nil {
						gone := fp.gone
						fp.gone = nil
						gone()
					}
				case "alive":
					pid := pidOf(f[1])
					fp.live[pid] = f[1]
					mc.sys.procs[pid] = &fakeProc{u: mc.u, path: f[1]}
				case "timeout":
					mc.fire("stop", sr.timer)
				case "gone":
					if mc.m.dbus.controlsScope(f[1]) {
						mc.m.scopeControllerGone(f[1])
					}
				case "abandon":
					if err := mc.m.scopeAbandon(mc.u); err != nil {
						mc.trace = append(mc.trace, "abandon: "+err.Error())
					}
				}
			}
			var got []string
			for _, l := range mc.trace {
				if !strings.HasPrefix(l, "# ") {
					got = append(got, l)
				}
			}
			if strings.Join(got, "\n") != strings.Join(r.trace, "\n") {
				t.Errorf("trace:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(r.trace, "\n\t"))
			}
			if s := mc.u.sub.String(); s != r.state {
				t.Errorf("state %s, want %s", s, r.state)
			}
			if res := mc.u.result.String(); res != r.result {
				t.Errorf("result %s, want %s", res, r.result)
			}
			if n := bugs.Load() - before; n != 0 {
				t.Errorf("%d internal errors", n)
			}
		})
	}
}
