package manager

import (
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"unsafe"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/internal/listen"
	"github.com/flint-init/flint/unit/show"
)

// TestServiceRuntimeLazy: a service that never started holds no serviceRT and no unitHist, through the
// loading, its socket's start, show, status, list-units, the state file and D-Bus's GetAll,
// and what those show of it is what zero ones (the state every service had from its load
// before) show.
func TestServiceRuntimeLazy(t *testing.T) {
	dir := t.TempDir()
	m, _ := testManager(t, map[string]string{
		"idle.socket":  "[Unit]\nDefaultDependencies=no\n[Socket]\nListenStream=" + filepath.Join(dir, "idle.sk") + "\n",
		"idle.service": "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/cat\n",
		"late.target":  "[Unit]\nDefaultDependencies=no\n",
	})
	p, err := listen.NewPoller()
	if err != nil {
		t.Fatal(err)
	}
	m.poller = p
	sock := m.load("idle.socket")
	t.Cleanup(func() { socketMachine{m}.sockClose(sock); p.Close() })
	svc := m.units["idle.service"]
	if svc == nil {
		t.Fatal("the socket's service is not loaded with it")
	}
	if err := m.enqueueErr("start", sock, "replace", nil); err != nil {
		t.Fatal(err)
	}
	runLoopUntil(t, m, "the socket listening", func() bool { return sock.sub == sockListening && sock.job == nil })
	type views struct {
		props  []api.Property
		status []api.UnitStatus
		list   []api.UnitInfo
		dbus   map[string]any
	}
	look := func() views {
		var v views
		v.props = m.properties(svc)
		st, err := m.statusOf(&api.Request{Verb: "status", Units: []string{"idle.service"}}, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		v.status = st
		v.list = m.listUnits(&api.Request{Verb: "list-units", All: true})
		v.dbus = map[string]any{}
		for _, p := range m.dbusUnitProps(svc) {
			v.dbus[p.Name] = [2]any{p.Value, p.Text}
		}
		if m.rs == nil {
			m.rs = &stateFile{starts: map[int]uint64{}} // what the state file's writes call it with
		}
		m.recordUnit(svc, nil)
		return v
	}
	lazy := look()
	if svc.svc != nil || svc.h != nil {
		t.Fatalf("a service never started has a serviceRT (%v) or a unitHist (%v)", svc.svc != nil, svc.h != nil)
	}
	if svc.rec != nil {
		t.Errorf("a service never started has lines in the state file")
	}
	prop := map[string]string{}
	for _, p := range lazy.props {
		prop[p.Name] = p.Value
	}
	for name, want := range map[string]string{
		"ActiveState": "inactive", "SubState": "dead", "Result": "success", "ReloadResult": "success",
		"MainPID": "0", "ControlPID": "0", "ExecMainPID": "0", "ExecMainCode": "0", "ExecMainStatus": "0",
		"NRestarts": "0", "ExecMainStartTimestamp": "", "ExecMainExitTimestamp": "",
		"ExecMainStartTimestampMonotonic": "0", "WatchdogUSec": "infinity", "StatusText": "",
		"StatusErrno": "0", "TriggeredBy": "idle.socket",
	} {
		if got, ok := prop[name]; !ok || got != want {
			t.Errorf("%s=%q (present %v), want %q", name, got, ok, want)
		}
	}
	compare := func(when string, lazy views, h *unitHist) {
		t.Helper()
		svc.svc, svc.h = &serviceRT{}, h // what every service had from its load before
		eager := look()
		svc.svc, svc.h = nil, nil
		if !reflect.DeepEqual(lazy.props, eager.props) {
			t.Errorf("%s: show: without a serviceRT\n%v\nwith a zero one\n%v", when, lazy.props, eager.props)
		}
		if !reflect.DeepEqual(lazy.status, eager.status) {
			t.Errorf("%s: status: without a serviceRT\n%v\nwith a zero one\n%v", when, lazy.status, eager.status)
		}
		if !reflect.DeepEqual(lazy.list, eager.list) {
			t.Errorf("%s: list-units: without a serviceRT\n%v\nwith a zero one\n%v", when, lazy.list, eager.list)
		}
		if !reflect.DeepEqual(lazy.dbus, eager.dbus) {
			t.Errorf("%s: D-Bus GetAll: without a serviceRT\n%v\nwith a zero one\n%v", when, lazy.dbus, eager.dbus)
		}
	}
	compare("loaded", lazy, &unitHist{})
	// A daemon-reload gives it a state change at the reload's time, as systemd, still
	// without a unitHist; a unit loaded after the reload has none.
	m.daemonReload()
	runLoopUntil(t, m, "the reload's jobs", func() bool { return len(m.jobs) == 0 })
	if svc = m.units["idle.service"]; svc == nil || svc.svc != nil || svc.h != nil {
		t.Fatalf("after a daemon-reload: %v", svc)
	}
	want := show.FormatTimestamp(m.reloads[0].at)
	for _, p := range m.properties(svc) {
		if p.Name == "StateChangeTimestamp" && (p.Value != want || want == "") {
			t.Errorf("after a daemon-reload: StateChangeTimestamp=%q, want %q", p.Value, want)
		}
	}
	late := m.load("late.target")
	for _, p := range m.properties(late) {
		if p.Name == "StateChangeTimestamp" && p.Value != "" {
			t.Errorf("a unit loaded after the reload: StateChangeTimestamp=%q, want none", p.Value)
		}
	}
	compare("after a daemon-reload", look(), &unitHist{stateChange: stampOf(m.reloads[0].at)})
}

// TestServiceRuntimeAtFirstStart: the first start of a service gives it its serviceRT and
// its unitHist, with what the start records there.
func TestServiceRuntimeAtFirstStart(t *testing.T) {
	mc := newMachine(t, "a.service", map[string]string{"a.service": "[Service]\nExecStart=/bin/a\n"})
	if mc.u.svc != nil || mc.u.h != nil {
		t.Fatal("a serviceRT or a unitHist before the first start")
	}
	mc.do("start")
	if mc.u.svc == nil || mc.u.svc.mainPID == 0 || mc.u.sub != svcRunning {
		t.Fatalf("after the start: %s, serviceRT %+v", mc.u.sub, mc.u.svc)
	}
	if h := mc.u.h; h == nil || h.invocationID == "" || h.activeEnter.isZero() || h.inactiveExit.isZero() || h.conditionStamp.isZero() {
		t.Fatalf("after the start: unitHist %+v", h)
	}
}

// TestUnitSize: a Unit and a unitHist stay within the allocator's size classes they fill
// (128 bytes each; a started socket's socketRT 128 too): two Units per socket and service
// loaded, a unitHist and a socketRT per listening socket.
func TestUnitSize(t *testing.T) {
	if n := unsafe.Sizeof(Unit{}); n > 128 {
		t.Errorf("Unit is %d bytes, more than 128", n)
	}
	if n := unsafe.Sizeof(socketRT{}); n > 128 {
		t.Errorf("socketRT is %d bytes, more than 128", n)
	}
	if n := unsafe.Sizeof(unitHist{}); n > 128 {
		t.Errorf("unitHist is %d bytes, more than 128", n)
	}
}

// TestHistExtraAtFirstStop: a unit that started and runs no command keeps its history
// without a histExtra; its stop gives it one, with the times show and D-Bus give.
func TestHistExtraAtFirstStop(t *testing.T) {
	m, _ := testManager(t, map[string]string{"a.target": "[Unit]\nDefaultDependencies=no\n"})
	u := m.load("a.target")
	if err := m.enqueueErr("start", u, "replace", nil); err != nil || u.h == nil {
		t.Fatalf("start: %v, unitHist %v", err, u.h)
	}
	prop := func(name string) string {
		for _, p := range m.properties(u) {
			if p.Name == name {
				return p.Value
			}
		}
		return "?"
	}
	if u.h.x != nil || prop("ActiveExitTimestamp") != "" || prop("InactiveEnterTimestampMonotonic") != "0" {
		t.Fatalf("active: histExtra %+v, ActiveExitTimestamp=%q", u.h.x, prop("ActiveExitTimestamp"))
	}
	if err := m.enqueueErr("stop", u, "replace", nil); err != nil || u.h.x == nil {
		t.Fatalf("stop: %v, histExtra %v", err, u.h.x)
	}
	if x := u.h.x; x.activeExit.isZero() || x.inactiveEnter.isZero() || prop("ActiveExitTimestamp") == "" ||
		prop("InactiveEnterTimestampMonotonic") != strconv.FormatInt(x.inactiveEnter.monotonic().Microseconds(), 10) {
		t.Errorf("stopped: histExtra %+v, ActiveExitTimestamp=%q InactiveEnterTimestampMonotonic=%q", x,
			prop("ActiveExitTimestamp"), prop("InactiveEnterTimestampMonotonic"))
	}
}

// TestUnitMoreOnlyWhereNeeded: a target that starts and stops and a service never started
// hold no unitMore; a timer has its timerRT there from its loading.
func TestUnitMoreOnlyWhereNeeded(t *testing.T) {
	m, _ := testManager(t, map[string]string{
		"a.target":  "[Unit]\nDefaultDependencies=no\n",
		"b.timer":   "[Unit]\nDefaultDependencies=no\n[Timer]\nOnActiveSec=1h\n",
		"b.service": "[Service]\nExecStart=/bin/true\n",
	})
	a, b := m.load("a.target"), m.load("b.timer")
	for _, verb := range []string{"start", "stop"} {
		if err := m.enqueueErr(verb, a, "replace", nil); err != nil {
			t.Fatalf("%s: %v", verb, err)
		}
	}
	if a.more != nil || m.units["b.service"].more != nil {
		t.Errorf("a unitMore for a.target (%+v) or b.service (%+v)", a.more, m.units["b.service"].more)
	}
	if b.more == nil || b.mo().tmr == nil || b.mo().pth != nil {
		t.Errorf("b.timer's unitMore %+v, want its timerRT alone", b.more)
	}
	if noMore != (unitMore{}) {
		t.Errorf("noMore written to: %+v", noMore)
	}
}
