package manager

import (
	"encoding/json"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/install"
	"github.com/flint-init/flint/unit/show"
)

// properties returns the configuration properties of u merged with its runtime state.
func (m *Manager) properties(u *Unit) []api.Property {
	cfg := show.Properties(u.cfg)
	var rt []show.Property
	add := func(n, v string) { rt = append(rt, show.Property{Name: n, Value: v}) }
	add("ActiveState", u.activeState().String())
	add("SubState", u.sub.String())
	stateChange := m.stateChangeOf(u)
	add("StateChangeTimestamp", show.FormatTimestamp(stateChange.time()))
	add("ActiveEnterTimestamp", show.FormatTimestamp(u.hs().activeEnter.time()))
	add("ActiveExitTimestamp", show.FormatTimestamp(u.hs().ex().activeExit.time()))
	add("InactiveEnterTimestamp", show.FormatTimestamp(u.hs().ex().inactiveEnter.time()))
	add("InactiveExitTimestamp", show.FormatTimestamp(u.hs().inactiveExit.time()))
	for _, ts := range []struct {
		name string
		t    stamp
	}{{"StateChangeTimestampMonotonic", stateChange}, {"ActiveEnterTimestampMonotonic", u.hs().activeEnter},
		{"ActiveExitTimestampMonotonic", u.hs().ex().activeExit}, {"InactiveEnterTimestampMonotonic", u.hs().ex().inactiveEnter},
		{"InactiveExitTimestampMonotonic", u.hs().inactiveExit}} {
		add(ts.name, strconv.FormatInt(ts.t.monotonic().Microseconds(), 10))
	}
	add("NeedDaemonReload", unit.FormatBool(m.loader.NeedDaemonReload(u.cfg)))
	add("InvocationID", u.hs().invocationID)
	add("ConditionResult", unit.FormatBool(u.hs().conditionResult)) // "no" until conditions were checked, as systemd
	add("AssertResult", unit.FormatBool(u.hs().assertResult))
	add("ConditionTimestamp", show.FormatTimestamp(u.hs().conditionStamp.time()))
	add("ConditionTimestampMonotonic", strconv.FormatInt(u.hs().conditionStamp.monotonic().Microseconds(), 10))
	add("AssertTimestamp", show.FormatTimestamp(u.hs().assertStamp.time()))
	add("AssertTimestampMonotonic", strconv.FormatInt(u.hs().assertStamp.monotonic().Microseconds(), 10))
	if u.job != nil {
		add("Job", strconv.Itoa(u.job.id)+" "+u.job.typ)
	}
	// The unmet conditions and assertions of the last check, for status (JSON lists).
	var unmet unmetChecks
	if p := u.hs().unmet; p != nil {
		unmet = *p
	}
	for name, l := range map[string][]string{"FlintUnmetConditions": unmet.conditions, "FlintUnmetAsserts": unmet.asserts} {
		if len(l) > 0 {
			data, _ := json.Marshal(l)
			add(name, string(data))
		}
	}
	switch u.cfg.Type {
	case unit.TypeService, unit.TypeSocket, unit.TypeTimer, unit.TypePath:
		add("Result", u.result.String())
	}
	if u.cfg.Type == unit.TypeService && u.cleanResult != resultNone {
		add("CleanResult", u.cleanResult.String())
	}
	if t := u.mo().tmr; t != nil && u.cfg.Timer != nil {
		for i, v := range u.cfg.Timer.Values {
			if v.Base == unit.OnCalendar {
				var next time.Time
				if i < len(t.nextCal) {
					next = t.nextCal[i]
				}
				add("TimersCalendar", show.FormatTimerCalendar(v, next))
			} else {
				var next time.Duration
				if i < len(t.nextMono) {
					next = t.nextMono[i]
				}
				add("TimersMonotonic", show.FormatTimerMonotonic(v, next))
			}
		}
		add("NextElapseUSecRealtime", show.FormatTimestamp(t.elapseReal))
		mono := "infinity"
		if t.elapseMono != 0 {
			mono = unit.FormatTimespan(t.elapseMono)
		}
		add("NextElapseUSecMonotonic", mono)
		add("LastTriggerUSec", show.FormatTimestamp(t.lastTrigger))
		add("LastTriggerUSecMonotonic", unit.FormatTimespan(t.lastTriggerMono))
	}
	if s := u.svcState(); s != nil {
		reload := s.reloadResult
		if reload == resultNone {
			reload = resultSuccess // never started
		}
		add("ReloadResult", reload.String())
		add("MainPID", strconv.Itoa(s.mainPID))
		add("ControlPID", strconv.Itoa(s.controlPID))
		add("ExecMainPID", strconv.Itoa(s.execMainPID))
		add("ExecMainStartTimestamp", show.FormatTimestamp(s.execMainStart))
		add("ExecMainExitTimestamp", show.FormatTimestamp(s.execMainExit))
		add("ExecMainStartTimestampMonotonic", strconv.FormatInt(monotonicUsec(s.execMainStart), 10))
		add("ExecMainExitTimestampMonotonic", strconv.FormatInt(monotonicUsec(s.execMainExit), 10))
		code := 0
		switch s.execMainCode {
		case "exited":
			code = 1
		case "killed":
			code = 2
		case "dumped":
			code = 3
		}
		add("ExecMainCode", strconv.Itoa(code))
		add("ExecMainStatus", strconv.Itoa(s.execMainStatus))
		add("NRestarts", strconv.Itoa(s.nRestarts))
		add("StatusText", s.statusText)
		add("StatusErrno", strconv.Itoa(s.errno))
		add("NFileDescriptorStore", strconv.Itoa(len(s.fdstore)))
		if s.triggeredBy != "" {
			add("FlintTriggeredBy", s.triggeredBy)
		}
	}
	if u.cfg.Type == unit.TypeService {
		// The watchdog in effect since the last start, infinity before it (systemd shows it
		// for a masked or missing service too).
		wd := "infinity"
		if s := u.svcState(); s != nil && s.wdKnown {
			wd = unit.FormatTimespan(s.wdUSec)
		}
		add("WatchdogUSec", wd)
	}
	if s := u.sock; s != nil {
		add("NAccepted", strconv.FormatUint(uint64(s.nAccepted), 10))
		add("NConnections", strconv.Itoa(int(s.nConnections)))
		add("NRefused", strconv.FormatUint(uint64(s.nRefused), 10))
		add("ControlPID", strconv.Itoa(s.controlPID))
	}
	if c := u.mo().cooldown; c != nil {
		add("FlintTriggerLimitRearmTimestamp", show.FormatTimestamp(c.due))
		add("FlintTriggerLimitRearmWaitsFor", c.waitsFor)
	}
	rt = append(rt, execRunProperties(u)...)
	if r := u.mo().run; r != nil && r.known {
		// The user and group the unit runs as, as systemd refers to them while it runs
		// (not root's nor nobody's).
		for _, id := range []struct {
			name string
			v    uint32
		}{{"UID", r.uid}, {"GID", r.gid}} {
			if id.v != 0 && id.v != 65534 {
				add(id.name, strconv.FormatUint(uint64(id.v), 10))
			}
		}
	}
	if u.isService() || u.sock != nil {
		// The tasks of its cgroup. systemd has none (TasksCurrent=[not set]) for a unit
		// without processes unless it is an active service: a socket's cgroup is made for
		// its commands, a service's goes when it leaves the active states (auto-restart).
		tasks := "[not set]"
		accounting := true
		if ec := u.execContext(); ec != nil {
			if v, ok := ec.NotEnforcedValues["TasksAccounting"]; ok {
				accounting, _ = unit.ParseBool(v)
			}
		}
		if n := len(m.unitPIDs(u)); accounting && (n > 0 || u.isService() && isActiveOrReloading(u.activeState())) {
			tasks = strconv.Itoa(n)
		}
		add("TasksCurrent", tasks)
	}
	if u.cfg.FragmentPath != "" && u.cfg.LoadState == unit.Loaded {
		if st, _ := install.IsEnabled(m.loader, u.Name); st != "" {
			add("UnitFileState", st) // "bad" when the unit file cannot be read now
			add("UnitFilePreset", m.presetsNow().State(u.Name))
		}
	}
	rt = m.cgroupProperties(u, rt)
	rt = m.bpfProperties(u, rt)
	rt = m.runtimeProperties(u, rt) // dbus_scope.go
	merged := show.MergeProperties(u.cfg.Type, cfg, rt...)
	out := make([]api.Property, 0, len(merged))
	for _, p := range merged {
		out = append(out, api.Property{Name: p.Name, Value: p.Value})
	}
	return out
}

// execRunProperties are the Exec*= properties of u whose commands ran since it last
// started, with their pids, times and exits.
func execRunProperties(u *Unit) []show.Property {
	if len(u.hs().ex().runs) == 0 {
		return nil
	}
	type setting struct {
		name string
		cmds []unit.ExecCommand
	}
	var list []setting
	withEx := false
	switch {
	case u.cfg.Service != nil:
		s := u.cfg.Service
		withEx = true
		list = []setting{{"ExecCondition", s.ExecCondition}, {"ExecStartPre", s.ExecStartPre}, {"ExecStart", s.ExecStart},
			{"ExecStartPost", s.ExecStartPost}, {"ExecReload", s.ExecReload}, {"ExecStop", s.ExecStop}, {"ExecStopPost", s.ExecStopPost}}
	case u.cfg.Socket != nil:
		s := u.cfg.Socket
		list = []setting{{"ExecStartPre", s.ExecStartPre}, {"ExecStartPost", s.ExecStartPost}, {"ExecStopPre", s.ExecStopPre}, {"ExecStopPost", s.ExecStopPost}}
	}
	var out []show.Property
	for _, st := range list {
		var runs []*show.ExecRun
		for i := range st.cmds {
			runs = append(runs, u.hs().ex().runs[execKey{st.name, i}])
		}
		if slices.ContainsFunc(runs, func(r *show.ExecRun) bool { return r != nil }) {
			out = append(out, show.ExecProperties(st.name, st.cmds, withEx, runs)...)
		}
	}
	return out
}

// presetsNow are the preset files' rules (systemd.preset(5)), read once until the next
// daemon-reload, as systemd caches a unit's preset state.
func (m *Manager) presetsNow() *install.Presets {
	if m.presets == nil {
		m.presets = install.LoadPresets(m.opt.Scope, "")
	}
	return m.presets
}

func readFileSmall(p string) ([]byte, error) { return os.ReadFile(p) }

// monotonicUsec converts t to CLOCK_MONOTONIC microseconds (systemd's *TimestampMonotonic
// properties); 0 for the zero time.
func monotonicUsec(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return monoOf(t).Microseconds()
}
