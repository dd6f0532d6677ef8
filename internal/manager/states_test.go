package manager

import (
	"slices"
	"strings"
	"testing"
)

// TestStateNames: every state of every type has systemd 252's word (its *_state_table) and
// ActiveState (state_translation_table), and an invalid value is no valid state.
func TestStateNames(t *testing.T) {
	type st struct {
		s      subState
		active ActiveState
	}
	var all []st
	for s := serviceState(0); s < nServiceStates; s++ {
		all = append(all, st{s, s.active()})
	}
	want := "dead condition start-pre start start-post running exited reload stop stop-watchdog stop-sigterm stop-sigkill stop-post final-watchdog final-sigterm final-sigkill failed auto-restart cleaning"
	check := func(kind string, got []string, want string) {
		if strings.Join(got, " ") != want {
			t.Errorf("%s states %v, want %s", kind, got, want)
		}
	}
	var names []string
	for s := serviceState(0); s < nServiceStates; s++ {
		names = append(names, s.String())
	}
	check("service", names, want)
	names = nil
	for s := socketState(0); s < nSocketStates; s++ {
		names = append(names, s.String())
	}
	check("socket", names, "dead start-pre start-post listening running stop-pre stop-post failed cleaning")
	names = nil
	for s := timerState(0); s < nTimerStates; s++ {
		names = append(names, s.String())
	}
	check("timer", names, "dead waiting running elapsed failed")
	names = nil
	for s := pathState(0); s < nPathStates; s++ {
		names = append(names, s.String())
	}
	check("path", names, "dead waiting running failed")
	check("target", []string{targetDead.String(), targetActive.String()}, "dead active")
	names = nil
	for s := ActiveState(0); s < nActiveStates; s++ {
		names = append(names, s.String())
	}
	check("active", names, "inactive activating active deactivating reloading failed maintenance")
	if s := nActiveStates.String(); s != "ActiveState(7)" {
		t.Errorf("an invalid ActiveState is %q", s)
	}

	actives := map[subState]ActiveState{
		svcDead: Inactive, svcCondition: Activating, svcAutoRestart: Activating, svcRunning: Active, svcExited: Active,
		svcReload: Reloading, svcStop: Deactivating, svcFinalSigkill: Deactivating, svcFailed: Failed, svcCleaning: Maintenance,
		sockDead: Inactive, sockStartPre: Activating, sockListening: Active, sockRunning: Active, sockStopPost: Deactivating, sockFailed: Failed, sockCleaning: Maintenance,
		timerElapsed: Active, timerFailed: Failed, pathWaiting: Active, pathDead: Inactive, targetActive: Active, targetDead: Inactive,
	}
	for s, a := range actives {
		if s.active() != a {
			t.Errorf("%T %s is %s, want %s", s, s, s.active(), a)
		}
	}
	for _, s := range []subState{nServiceStates, nSocketStates, nTimerStates, nPathStates, nTargetStates} {
		if s.next(s) {
			t.Errorf("invalid %T %s accepted", s, s)
		}
	}
	for r := resultNone + 1; r < nResults; r++ {
		if n := r.String(); n == "" || strings.ContainsAny(n, " _(") {
			t.Errorf("result %d is %q", r, n)
		}
	}
}

// TestTransitionTables: each type's table names states of its own type only, every state
// can be left (none but an invalid one is a trap) and every state can be reached from dead,
// and a state of another type is never a legal next state.
func TestTransitionTables(t *testing.T) {
	reach := func(kind string, n int, next func(from, to int) bool) {
		seen := map[int]bool{0: true}
		queue := []int{0}
		for len(queue) > 0 {
			from := queue[0]
			queue = queue[1:]
			leaves := false
			for to := 0; to < n; to++ {
				if to != from && next(from, to) {
					leaves = true
					if !seen[to] {
						seen[to] = true
						queue = append(queue, to)
					}
				}
			}
			if !leaves {
				t.Errorf("%s: state %d cannot be left", kind, from)
			}
		}
		if len(seen) != n {
			t.Errorf("%s: %d of %d states reachable from dead", kind, len(seen), n)
		}
	}
	reach("service", int(nServiceStates), func(a, b int) bool { return serviceState(a).next(serviceState(b)) })
	reach("socket", int(nSocketStates), func(a, b int) bool { return socketState(a).next(socketState(b)) })
	reach("timer", int(nTimerStates), func(a, b int) bool { return timerState(a).next(timerState(b)) })
	reach("path", int(nPathStates), func(a, b int) bool { return pathState(a).next(pathState(b)) })
	reach("target", int(nTargetStates), func(a, b int) bool { return targetState(a).next(targetState(b)) })

	others := []subState{svcRunning, sockRunning, timerRunning, pathRunning, targetActive}
	for _, from := range []subState{svcDead, sockDead, timerDead, pathDead, targetDead} {
		for _, to := range others {
			same := slices.Index(others, to) == slices.Index([]subState{svcDead, sockDead, timerDead, pathDead, targetDead}, from)
			if from.next(to) && !same {
				t.Errorf("%T %s may go to %T %s", from, from, to, to)
			}
		}
	}
	// The service's diagram, as systemd draws it: the main path and where a stop leads.
	for _, e := range [][2]serviceState{
		{svcDead, svcCondition}, {svcCondition, svcStartPre}, {svcStartPre, svcStart}, {svcStart, svcStartPost},
		{svcStartPost, svcRunning}, {svcRunning, svcReload}, {svcReload, svcRunning}, {svcRunning, svcStop},
		{svcStop, svcStopSigterm}, {svcStopSigterm, svcStopSigkill}, {svcStopSigkill, svcStopPost},
		{svcStopPost, svcFinalSigterm}, {svcFinalSigterm, svcFinalSigkill}, {svcFinalSigkill, svcDead},
		{svcFinalSigkill, svcFailed}, {svcStopPost, svcAutoRestart}, {svcAutoRestart, svcDead},
	} {
		if !e[0].next(e[1]) {
			t.Errorf("service may not go from %s to %s", e[0], e[1])
		}
	}
	for _, e := range [][2]serviceState{{svcDead, svcRunning}, {svcRunning, svcDead}, {svcStopPost, svcRunning}, {svcFailed, svcRunning}} {
		if e[0].next(e[1]) {
			t.Errorf("service may go from %s to %s", e[0], e[1])
		}
	}
}
