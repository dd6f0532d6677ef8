package manager

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/internal/listen"
)

// TestServiceRuntimeLazy: a service that never started holds no serviceRT, through the
// loading, its socket's start, show, status, list-units, the state file and D-Bus's GetAll,
// and what those show of it is what a zero serviceRT (the state every service had from its
// load before) shows.
func TestServiceRuntimeLazy(t *testing.T) {
	dir := t.TempDir()
	m, _ := testManager(t, map[string]string{
		"idle.socket":  "[Unit]\nDefaultDependencies=no\n[Socket]\nListenStream=" + filepath.Join(dir, "idle.sk") + "\n",
		"idle.service": "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/cat\n",
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
		st, err := m.statusOf(&api.Request{Verb: "status", Units: []string{"idle.service"}}, true)
		if err != nil {
			t.Fatal(err)
		}
		v.status = st
		v.list = m.listUnits(&api.Request{Verb: "list-units", All: true})
		v.dbus = map[string]any{}
		for _, p := range m.dbusUnitProps(svc) {
			v.dbus[p.Name] = [2]any{p.Value, p.Text}
		}
		m.recordUnit(svc, nil)
		return v
	}
	lazy := look()
	if svc.svc != nil {
		t.Fatalf("a service never started has a serviceRT")
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
	svc.svc = &serviceRT{} // what register gave every service before
	eager := look()
	if !reflect.DeepEqual(lazy.props, eager.props) {
		t.Errorf("show: without a serviceRT\n%v\nwith a zero one\n%v", lazy.props, eager.props)
	}
	if !reflect.DeepEqual(lazy.status, eager.status) {
		t.Errorf("status: without a serviceRT\n%v\nwith a zero one\n%v", lazy.status, eager.status)
	}
	if !reflect.DeepEqual(lazy.list, eager.list) {
		t.Errorf("list-units: without a serviceRT\n%v\nwith a zero one\n%v", lazy.list, eager.list)
	}
	if !reflect.DeepEqual(lazy.dbus, eager.dbus) {
		t.Errorf("D-Bus GetAll: without a serviceRT\n%v\nwith a zero one\n%v", lazy.dbus, eager.dbus)
	}
}

// TestServiceRuntimeAtFirstStart: the first start of a service gives it its serviceRT, and
// what it records there (its main process) shows.
func TestServiceRuntimeAtFirstStart(t *testing.T) {
	mc := newMachine(t, "a.service", map[string]string{"a.service": "[Service]\nExecStart=/bin/a\n"})
	if mc.u.svc != nil {
		t.Fatal("a serviceRT before the first start")
	}
	mc.do("start")
	if mc.u.svc == nil || mc.u.svc.mainPID == 0 || mc.u.sub != svcRunning {
		t.Fatalf("after the start: %s, serviceRT %+v", mc.u.sub, mc.u.svc)
	}
}
