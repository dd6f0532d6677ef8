package manager

import (
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
		names = append(names, s.String()+"/"+string(s.active()))
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
		prop("SendSIGHUP", true), prop("AddRef", true), prop("After", []string{"a.service"})}, 7)
	if err != nil {
		t.Fatal(err)
	}
	_, body, _ := strings.Cut(text, "\n")
	if want := "[Unit]\nDescription=/bin/sleep 10\nAfter=a.service\n\n[Scope]\nSlice=user.slice\nTimeoutStopSec=5000000us\nKillSignal=2\nSendSIGHUP=yes\n"; body != want {
		t.Errorf("file:\n%s\nwant\n%s", body, want)
	}
	if _, sr0, _ := transientScope([][]any{prop("PIDs", []uint32{0})}, 7); len(sr0.pids) != 1 || sr0.pids[0] != 7 {
		t.Errorf("PIDs=0: %v", sr0.pids)
	}
	if len(sr.pids) != 2 || sr.pids[0] != 42 || sr.slice != "user.slice" || sr.timeoutStop != 5*time.Second ||
		sr.killSignal != syscall.SIGINT || !sr.sendSIGHUP || !sr.sendSIGKILL {
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
		{[][]any{prop("KillMode", "mixed")}, "flint kills a scope's processes as a control group: KillMode=mixed is not supported."},
		{[][]any{prop("ExecStart", "x")}, "Cannot set property ExecStart, or unknown property."},
		{[][]any{prop("Description", "a\nb")}, "Invalid value for Description: a line break."},
	} {
		if _, _, err := transientScope(tc.props, 7); err == nil || err.Error() != tc.err {
			t.Errorf("%v: %v, want %s", tc.props, err, tc.err)
		}
	}
}
