package manager

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/flint-init/flint/internal/sdbus"
	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/install"
	"github.com/flint-init/flint/unit/show"
)

// This file serves systemd's D-Bus API (internal/sdbus) on the manager's private socket:
// /run/systemd/private for a system manager that marks itself as the booted systemd
// (BootedDir), else <runtime dir>/systemd/private; $XDG_RUNTIME_DIR/systemd/private for --user.
// The methods reuse the control requests' logic (dbus_methods.go); the manager's events reach
// the clients as systemd's signals through the hooks below.

// dbusState is the D-Bus side of the manager. Its fields other than srv and the queue are
// the manager goroutine's.
type dbusState struct {
	srv *sdbus.Server
	// holding: a method call is being served on the manager goroutine; the signals its
	// work raises wait in held until its reply is queued (a JobRemoved must follow the
	// StartUnit reply that names the job).
	holding bool
	held    []dbusSignal
	// transient are the files of the units StartTransientUnit made (dbus_transient.go).
	transient map[*Unit]string
	// link is the connection to the system or session bus (dbus_bus.go); closing: the
	// manager is closing the server.
	link    dbusBus
	closing bool
	// scopes are the runtimes of the transient scopes (scope.go).
	scopes map[*Unit]*scopeRun
	// stdio are the files passed for transient services' streams (dbus_stdio.go).
	stdio map[*Unit]*[3]*os.File
	// controllers counts the scopes each bus name controls (Controller=), for the bus's
	// read loop to tell the manager only of the names that matter when they go.
	ctlMu       sync.Mutex
	controllers map[string]int
	// unicast, when set, sends the signals meant for one bus client instead of the bus
	// connection (the table tests' bus).
	unicast func(dest string, path dbus.ObjectPath, iface, member string) bool
	// emitter: signals leave in order from one goroutine, so that the manager never
	// blocks on a client.
	mu    sync.Mutex
	queue []dbusSignal
	wake  chan struct{}
	stop  chan struct{}
	done  chan struct{}
}

// dbusSignal is one signal to emit: either a plain one or a PropertiesChanged whose values
// the emitter converts.
type dbusSignal struct {
	path   dbus.ObjectPath
	iface  string
	member string
	body   []any
	props  []sdbus.Prop // PropertiesChanged of iface
	unit   string       // job signals: the unit, for the job a call is waiting to name
	job    int
}

// DBusPath is where the manager serves systemd's D-Bus API.
func (m *Manager) DBusPath() string {
	if m.opt.Scope == unit.User {
		if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
			return filepath.Join(d, "systemd", "private")
		}
		return filepath.Join(m.opt.RuntimeDir, "systemd", "private")
	}
	if m.opt.BootedDir != "" {
		return "/run/systemd/private"
	}
	return filepath.Join(m.opt.RuntimeDir, "systemd", "private")
}

// startDBus opens the D-Bus socket and returns what closes it. A socket that cannot be
// made is logged: the control socket still serves.
func (m *Manager) startDBus() func() {
	path := m.DBusPath()
	srv, err := sdbus.Listen(path, &dbusBackend{m}, m.consolef)
	if err != nil {
		m.consolef("Failed to serve the D-Bus API on %s: %v", path, err)
		return func() {}
	}
	d := &dbusState{srv: srv, transient: map[*Unit]string{}, scopes: map[*Unit]*scopeRun{}, stdio: map[*Unit]*[3]*os.File{}, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	m.dbus = d
	go srv.Serve()
	go d.emitter()
	m.dbusBusCheck()
	return func() {
		d.closing = true
		close(d.stop)
		<-d.done
		srv.Close()
		if dir := filepath.Dir(path); dir == filepath.Join(m.opt.RuntimeDir, "systemd") {
			os.Remove(dir) // flint's own, also when a killed manager left it; only if empty
		}
	}
}

// emit queues a signal (on the manager goroutine), held while a call is served.
func (m *Manager) emit(s dbusSignal) {
	d := m.dbus
	if d == nil || d.srv == nil || !d.srv.Heard(s.member) {
		return // a client that connects later is not told what happened before
	}
	if d.holding {
		d.held = append(d.held, s)
		return
	}
	d.push(s)
}

// dbusHeard reports whether a client listens for the signal member: emit sends nothing
// otherwise, and the signals of every unit loaded and job run are not even built.
func (m *Manager) dbusHeard(member string) bool {
	d := m.dbus
	return d != nil && d.srv != nil && d.srv.Heard(member)
}

func (d *dbusState) push(ss ...dbusSignal) {
	if len(ss) == 0 {
		return
	}
	d.mu.Lock()
	d.queue = append(d.queue, ss...)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// emitter sends the queued signals, in order, until stop; what is queued then goes too.
func (d *dbusState) emitter() {
	defer close(d.done)
	for {
		d.mu.Lock()
		q := d.queue
		d.queue = nil
		d.mu.Unlock()
		for _, s := range q {
			if s.props != nil {
				d.srv.EmitPropertiesChanged(s.path, s.iface, s.props)
				continue
			}
			d.srv.Emit(s.path, s.iface, s.member, s.body...)
		}
		select {
		case <-d.wake:
		case <-d.stop:
			d.mu.Lock()
			q := d.queue
			d.mu.Unlock()
			for _, s := range q {
				if s.props == nil {
					d.srv.Emit(s.path, s.iface, s.member, s.body...)
				}
			}
			return
		}
	}
}

// dbusServe runs fn, a method's work, on the manager goroutine with the signals it raises
// held until fn has replied.
func (m *Manager) dbusServe(fn func()) {
	m.call(func() {
		d := m.dbus
		if d == nil {
			fn()
			return
		}
		d.holding = true
		fn()
		d.holding = false
		held := d.held
		d.held = nil
		d.push(held...)
	})
}

// Hooks: called where the manager's state changes.

// dbusJobNew: j was installed.
func (m *Manager) dbusJobNew(j *job) {
	if !m.dbusHeard("JobNew") {
		return
	}
	m.emit(dbusSignal{path: sdbus.ManagerPath, iface: sdbus.IfaceManager, member: "JobNew",
		body: []any{uint32(j.id), sdbus.JobPath(j.id), j.u.Name}, unit: j.u.Name, job: j.id})
}

// dbusJobRemoved: j ended with result.
func (m *Manager) dbusJobRemoved(j *job, result string) {
	if !m.dbusHeard("JobRemoved") {
		return
	}
	m.emit(dbusSignal{path: sdbus.ManagerPath, iface: sdbus.IfaceManager, member: "JobRemoved",
		body: []any{uint32(j.id), sdbus.JobPath(j.id), j.u.Name, result}, unit: j.u.Name, job: j.id})
}

// dbusUnitNew: u was loaded.
func (m *Manager) dbusUnitNew(u *Unit) {
	if !m.dbusHeard("UnitNew") {
		return
	}
	m.emit(dbusSignal{path: sdbus.ManagerPath, iface: sdbus.IfaceManager, member: "UnitNew",
		body: []any{u.Name, sdbus.UnitPath(u.Name)}})
}

// dbusUnitRemoved: u was unloaded.
func (m *Manager) dbusUnitRemoved(u *Unit) {
	if m.dbus == nil {
		return
	}
	m.dbus.forgetTransient(u)
	m.dbus.releaseStdio(u, true)
	m.scopeForget(u)
	if !m.dbusHeard("UnitRemoved") {
		return
	}
	m.emit(dbusSignal{path: sdbus.ManagerPath, iface: sdbus.IfaceManager, member: "UnitRemoved",
		body: []any{u.Name, sdbus.UnitPath(u.Name)}})
}

// dbusReloading: a daemon-reload starts (true) or ended (false).
func (m *Manager) dbusReloading(active bool) {
	if m.dbus == nil {
		return
	}
	m.emit(dbusSignal{path: sdbus.ManagerPath, iface: sdbus.IfaceManager, member: "Reloading", body: []any{active}})
}

// dbusUnitChanged: u changed state; PropertiesChanged of its Unit and type interfaces, when
// a client is connected to see it.
func (m *Manager) dbusUnitChanged(u *Unit) {
	m.dbusBusUnitChanged(u)
	if m.dbus != nil {
		m.dbus.releaseStdio(u, false)
	}
	if m.dbus == nil || m.dbus.srv == nil || m.dbus.srv.Connections() == 0 && !m.dbus.srv.Subscribed() {
		return
	}
	props := m.dbusUnitProps(u)
	path := sdbus.UnitPath(u.Name)
	m.emit(dbusSignal{path: path, iface: sdbus.IfaceUnit, props: props})
	if it := typeInterface(u); it != "" {
		m.emit(dbusSignal{path: path, iface: it, props: props})
	}
}

// typeInterface is the interface of u's type that flint serves ("" for the other types).
func typeInterface(u *Unit) string {
	switch u.cfg.Type {
	case unit.TypeService:
		return sdbus.IfaceService
	case unit.TypeSocket:
		return sdbus.IfaceSocket
	case unit.TypeTimer:
		return sdbus.IfaceTimer
	case unit.TypePath:
		return sdbus.IfacePath
	case unit.TypeTarget:
		return sdbus.IfaceTarget
	case unit.TypeScope:
		return sdbus.IfaceScope
	}
	return ""
}

// dbusUnitProps are u's properties for the D-Bus interfaces: those `show` prints, the typed
// ones that D-Bus gives in another shape.
func (m *Manager) dbusUnitProps(u *Unit) []sdbus.Prop {
	ps := m.properties(u)
	out := make([]sdbus.Prop, 0, len(ps)+4)
	fileState := false
	for _, p := range ps {
		switch p.Name {
		case "Job":
			continue
		case "LoadError":
			// (ss): show's `NAME "MESSAGE"`, empty for a loaded unit
			name, msg, _ := strings.Cut(p.Value, " ")
			out = append(out, sdbus.Prop{Name: p.Name, Value: struct{ F0, F1 string }{name, strings.TrimSuffix(strings.TrimPrefix(msg, `"`), `"`)}})
			continue
		case "UnitFileState":
			fileState = true
		}
		out = append(out, sdbus.Prop{Name: p.Name, Text: p.Value})
	}
	type jobRef struct {
		F0 uint32
		F1 dbus.ObjectPath
	}
	job := jobRef{0, "/"}
	if u.job != nil {
		job = jobRef{uint32(u.job.id), sdbus.JobPath(u.job.id)}
	}
	out = append(out, sdbus.Prop{Name: "Job", Value: job})
	// Timestamps to the microsecond (show prints them to the second).
	stamp := func(name string, t time.Time) {
		var us uint64
		if !t.IsZero() {
			us = uint64(t.UnixMicro())
		}
		out = append(out, sdbus.Prop{Name: name, Value: us})
	}
	stamp("StateChangeTimestamp", m.stateChangeOf(u).time())
	stamp("ActiveEnterTimestamp", u.hs().activeEnter.time())
	stamp("ActiveExitTimestamp", u.hs().ex().activeExit.time())
	stamp("InactiveEnterTimestamp", u.hs().ex().inactiveEnter.time())
	stamp("InactiveExitTimestamp", u.hs().inactiveExit.time())
	stamp("ConditionTimestamp", u.hs().conditionStamp.time())
	stamp("AssertTimestamp", u.hs().assertStamp.time())
	if s := u.svcState(); s != nil {
		stamp("ExecMainStartTimestamp", s.execMainStart)
		stamp("ExecMainExitTimestamp", s.execMainExit)
	}
	transient := false
	if d := m.dbus; d != nil {
		if _, transient = d.transient[u]; transient {
			out = append(out, sdbus.Prop{Name: "UnitFileState", Text: "transient"}, sdbus.Prop{Name: "Transient", Text: "yes"})
		}
	}
	// The state of the unit's file whatever the unit's load state (masked, a template),
	// as systemctl show prints it: the manager's properties have it for loaded units only.
	if !fileState && !transient {
		if st, err := install.IsEnabled(m.loader, u.Name); err == nil || st != "" {
			out = append(out, sdbus.Prop{Name: "UnitFileState", Text: st},
				sdbus.Prop{Name: "UnitFilePreset", Text: m.presetsNow().State(u.Name)})
		}
	}
	names := append([]string{u.Name}, u.aliasList()...)
	sort.Strings(names)
	out = append(out, sdbus.Prop{Name: "Names", Value: names})
	return out
}

// dbusBackend is the object tree: the manager, its units and its jobs.
type dbusBackend struct{ m *Manager }

const (
	unitPrefix = sdbus.ManagerPath + "/unit/"
	jobPrefix  = sdbus.ManagerPath + "/job/"
)

// lookupUnit is the unit of a unit object path, loading it as systemd does for a path it
// is asked about; nil for a path that names none.
func (m *Manager) lookupUnit(path dbus.ObjectPath) *Unit {
	label, ok := strings.CutPrefix(string(path), unitPrefix)
	if !ok || strings.Contains(label, "/") {
		return nil
	}
	name, ok := sdbus.UnescapeLabel(label)
	if !ok || !unit.IsValidName(name) || unit.IsTemplate(name) {
		return nil
	}
	return m.load(name)
}

// RefuseObject refuses a template's unit path as systemd does: a template without its
// instance is no unit (systemctl show then fails with this message).
func (b *dbusBackend) RefuseObject(path dbus.ObjectPath) (name, message string, refused bool) {
	label, ok := strings.CutPrefix(string(path), unitPrefix)
	if !ok {
		return "", "", false
	}
	if n, ok := sdbus.UnescapeLabel(label); ok && unit.IsTemplate(n) {
		return sdbus.ErrInvalidArgs, fmt.Sprintf("Unit name %s is neither a valid invocation ID nor unit name.", n), true
	}
	return "", "", false
}

func (m *Manager) lookupJob(path dbus.ObjectPath) *job {
	s, ok := strings.CutPrefix(string(path), jobPrefix)
	if !ok {
		return nil
	}
	id, err := strconv.Atoi(s)
	if err != nil {
		return nil
	}
	return m.jobs[id]
}

func (b *dbusBackend) Object(path dbus.ObjectPath) (ifaces, children []string, ok bool) {
	m := b.m
	switch string(path) {
	case "/":
		return nil, []string{"org"}, true
	case "/org":
		return nil, []string{"freedesktop"}, true
	case "/org/freedesktop":
		return nil, []string{"systemd1"}, true
	case sdbus.ManagerPath:
		return []string{sdbus.IfaceManager}, []string{"job", "unit"}, true
	case sdbus.ManagerPath + "/unit":
		m.call(func() {
			for _, u := range m.order {
				children = append(children, strings.TrimPrefix(string(sdbus.UnitPath(u.Name)), unitPrefix))
			}
		})
		return nil, children, true
	case sdbus.ManagerPath + "/job":
		m.call(func() {
			for _, j := range m.sortedJobs() {
				children = append(children, strconv.Itoa(j.id))
			}
		})
		return nil, children, true
	}
	m.call(func() {
		if u := m.lookupUnit(path); u != nil {
			// The type's interface first, as systemd's objects list them (GetAll of
			// every interface then gives ExecMainPID after the Unit's MainPID, ...).
			ifaces, ok = []string{sdbus.IfaceUnit}, true
			if it := typeInterface(u); it != "" {
				ifaces = []string{it, sdbus.IfaceUnit}
			}
			return
		}
		if j := m.lookupJob(path); j != nil {
			ifaces, ok = []string{sdbus.IfaceJob}, true
		}
	})
	return ifaces, nil, ok
}

func (b *dbusBackend) Properties(path dbus.ObjectPath, iface string) (props []sdbus.Prop, err error) {
	b.m.call(func() { props, err = b.m.dbusProps(path, iface) })
	return props, err
}

// PropertiesAll reads the properties of several interfaces of the object in one turn of the
// manager's loop (GetAll with no interface: systemd-run --wait reads ActiveState of Unit and
// Result of Service together, which must not straddle a state change).
func (b *dbusBackend) PropertiesAll(path dbus.ObjectPath, ifaces []string) (all [][]sdbus.Prop, err error) {
	b.m.call(func() {
		for _, iface := range ifaces {
			props, perr := b.m.dbusProps(path, iface)
			if perr != nil {
				all, err = nil, perr
				return
			}
			all = append(all, props)
		}
	})
	return all, err
}

// dbusProps are the properties of the object's interface iface (on the manager goroutine).
func (m *Manager) dbusProps(path dbus.ObjectPath, iface string) (props []sdbus.Prop, err error) {
	switch {
	case iface == sdbus.IfaceManager && path == sdbus.ManagerPath:
		props = m.dbusManagerProps()
	case iface == sdbus.IfaceJob:
		j := m.lookupJob(path)
		if j == nil {
			return nil, fmt.Errorf("Job %s does not exist.", path)
		}
		st := "waiting"
		if j.running {
			st = "running"
		}
		props = []sdbus.Prop{{Name: "Id", Value: uint32(j.id)},
			{Name: "Unit", Value: struct {
				F0 string
				F1 dbus.ObjectPath
			}{j.u.Name, sdbus.UnitPath(j.u.Name)}},
			{Name: "JobType", Text: j.typ}, {Name: "State", Text: st}}
	default:
		u := m.lookupUnit(path)
		if u == nil {
			return nil, fmt.Errorf("Unknown object '%s'.", path)
		}
		props = m.dbusUnitProps(u)
	}
	return props, nil
}

// dbusManagerProps are the Manager interface's properties.
func (m *Manager) dbusManagerProps() []sdbus.Prop {
	ov := m.overview()
	failed := 0
	for _, u := range m.order {
		if u.activeState() == Failed {
			failed++
		}
	}
	arch := map[string]string{"amd64": "x86-64", "386": "x86", "arm64": "arm64", "arm": "arm", "riscv64": "riscv64",
		"ppc64le": "ppc64-le", "s390x": "s390x"}[runtime.GOARCH]
	lk := m.loader.Lookup()
	return []sdbus.Prop{
		{Name: "Version", Text: "252 (flint)"},
		{Name: "Features", Text: "flint"},
		{Name: "Architecture", Text: arch},
		{Name: "Environment", Value: m.environment().list()},
		{Name: "NNames", Value: uint32(len(m.units))},
		{Name: "NFailedUnits", Value: uint32(failed)},
		{Name: "NJobs", Value: uint32(len(m.jobs))},
		{Name: "NInstalledJobs", Value: uint32(m.nextJob)},
		{Name: "SystemState", Text: ov.State},
		{Name: "UnitPath", Value: slices.Clone(lk.Path)},
		{Name: "ShowStatus", Text: "yes"},
		{Name: "DefaultStandardOutput", Text: "journal"},
		{Name: "DefaultStandardError", Text: "inherit"},
		{Name: "LogLevel", Text: "info"},
		{Name: "LogTarget", Text: "journal-or-kmsg"},
		{Name: "Progress", Value: float64(1)},
		{Name: "UserspaceTimestamp", Text: show.FormatTimestamp(m.bootTime)},
		{Name: "UserspaceTimestampMonotonic", Text: strconv.FormatInt(monotonicUsec(m.bootTime), 10)},
	}
}
