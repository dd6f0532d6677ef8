package unit

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"
)

func init() {
	// Every test that decodes checks that what is shared is the same value.
	checkShared = func(own, shared any) {
		if !reflect.DeepEqual(own, shared) {
			panic(fmt.Sprintf("keepShared: shared a %T of a different value", own))
		}
	}
}

// Units that set no exec setting share one ExecContext per type; one that sets any keeps its
// own, and the shared one is not changed by it.
func TestShareExec(t *testing.T) {
	decode := func(name, text string) *Unit {
		t.Helper()
		typ := TypeService
		if strings.HasSuffix(name, ".socket") {
			typ = TypeSocket
		}
		f, err := ParseFile("/x/"+name, []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		u := &Unit{Name: name, Type: typ}
		Decode(u, []*File{f}, nil)
		if u.LoadState != Loaded {
			t.Fatalf("%s: %s %s", name, u.LoadState, u.LoadError)
		}
		return u
	}
	a := decode("a.service", "[Service]\nExecStart=/bin/true\nRestart=always\n")
	b := decode("b.service", "[Unit]\nDescription=b\n[Service]\nExecStart=/bin/false\n")
	if a.Service.Exec != b.Service.Exec || a.Service.Exec != sharedExec(TypeService) {
		t.Errorf("two services without exec settings do not share their ExecContext")
	}
	c := decode("c.service", "[Service]\nExecStart=/bin/true\nUser=nobody\n")
	if c.Service.Exec == a.Service.Exec || c.Service.Exec.User != "nobody" || a.Service.Exec.User != "" {
		t.Errorf("a service with User= shares the ExecContext: %q / %q", c.Service.Exec.User, a.Service.Exec.User)
	}
	d := decode("d.service", "[Service]\nExecStart=/bin/true\nStandardOutput=journal\n")
	if d.Service.Exec.StandardOutput != "journal" {
		t.Errorf("StandardOutput=%q", d.Service.Exec.StandardOutput)
	}
	e := decode("e.service", "[Service]\nExecStart=/bin/true\nStandardInput=socket\n")
	if e.Service.Exec == a.Service.Exec || e.Service.Exec.StandardOutput != "inherit" {
		t.Errorf("StandardInput=socket: shared %v, StandardOutput=%q", e.Service.Exec == a.Service.Exec, e.Service.Exec.StandardOutput)
	}
	s1 := decode("s1.socket", "[Socket]\nListenStream=/run/s1\n")
	s2 := decode("s2.socket", "[Socket]\nListenStream=/run/s2\nAccept=yes\n")
	if s1.Socket.Exec != s2.Socket.Exec || s1.Socket.Exec != sharedExec(TypeSocket) || s1.Socket.Exec == a.Service.Exec {
		t.Errorf("sockets: shared %v, same as the services' %v", s1.Socket.Exec == s2.Socket.Exec, s1.Socket.Exec == a.Service.Exec)
	}
	s3 := decode("s3.socket", "[Socket]\nListenStream=/run/s3\nSocketUser=nobody\nUser=nobody\n")
	if s3.Socket.Exec == s1.Socket.Exec || s1.Socket.Exec.User != "" {
		t.Errorf("a socket with User= shares the ExecContext")
	}
	if got, want := *sharedExec(TypeService), *newExecContext(); got.StandardOutput != want.StandardOutput || got.UMask != want.UMask {
		t.Errorf("shared service context %+v is not the defaults", got)
	}
}

// Units that write none of UnitSettings share one; one that writes any keeps its own; units
// that are never decoded read the zero settings; a change after decoding copies the shared.
func TestShareSettings(t *testing.T) {
	decode := func(name, text string) *Unit {
		t.Helper()
		f, err := ParseFile("/x/"+name, []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		u := &Unit{Name: name, Type: TypeOf(name)}
		Decode(u, []*File{f}, nil)
		if u.LoadState != Loaded {
			t.Fatalf("%s: %s %s", name, u.LoadState, u.LoadError)
		}
		return u
	}
	a := decode("a.service", "[Unit]\nDescription=a\nOnFailureJobMode=fail\n[Service]\nExecStart=/bin/true\n")
	b := decode("b.socket", "[Socket]\nListenStream=/run/b\n")
	if a.Unit.UnitSettings != defaultSettings || b.Unit.UnitSettings != defaultSettings {
		t.Errorf("units without such settings do not share them")
	}
	if want := newUnitSettings(); !reflect.DeepEqual(*defaultSettings, want) || a.Unit.StartLimitBurst != 5 || a.Unit.CollectMode != "inactive" {
		t.Errorf("shared settings %+v are not the defaults", *defaultSettings)
	}
	c := decode("c.service", "[Unit]\nJobTimeoutSec=5\nStartLimitBurst=3\n[Service]\nExecStart=/bin/true\n")
	if c.Unit.UnitSettings == defaultSettings || c.Unit.StartLimitBurst != 3 || c.Unit.JobTimeout != 5*time.Second || a.Unit.StartLimitBurst != 5 {
		t.Errorf("JobTimeoutSec=5 StartLimitBurst=3: shared %v, %v %d; shared burst %d",
			c.Unit.UnitSettings == defaultSettings, c.Unit.JobTimeout, c.Unit.StartLimitBurst, a.Unit.StartLimitBurst)
	}
	// Written back to its default: the same values, so shared.
	d := decode("d.service", "[Unit]\nCollectMode=inactive\n[Service]\nExecStart=/bin/true\n")
	if d.Unit.UnitSettings != defaultSettings {
		t.Errorf("CollectMode=inactive: own settings of the default values")
	}
	own := d.Unit.OwnSettings()
	own.SuccessAction = "exit"
	if d.Unit.UnitSettings == defaultSettings || d.Unit.SuccessAction != "exit" || defaultSettings.SuccessAction != "none" {
		t.Errorf("OwnSettings did not copy the shared settings")
	}

	// [Install]: shared when empty.
	w := decode("w.service", "[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n")
	if a.Install != noInstall || w.Install == noInstall || !reflect.DeepEqual(w.Install.WantedBy, []string{"multi-user.target"}) || noInstall.WantedBy != nil {
		t.Errorf("[Install]: shared %v / %v, WantedBy %v", a.Install == noInstall, w.Install == noInstall, w.Install.WantedBy)
	}
	sp := decode("sp.service", "[Unit]\nSourcePath=/etc/init.d/sp\n[Service]\nExecStart=/bin/true\n")
	if sp.Unit.UnitSettings == defaultSettings || sp.Unit.SourcePath != "/etc/init.d/sp" || defaultSettings.SourcePath != "" {
		t.Errorf("SourcePath=: %q, shared %v", sp.Unit.SourcePath, sp.Unit.UnitSettings == defaultSettings)
	}

	// Socket options likewise.
	k := decode("k.socket", "[Socket]\nListenStream=/run/k\nKeepAlive=yes\nPriority=6\n")
	if b.Socket.SocketOptions != defaultSocketOptions || k.Socket.SocketOptions == defaultSocketOptions ||
		!k.Socket.KeepAlive || k.Socket.Priority != 6 || b.Socket.KeepAlive || b.Socket.Priority != -1 {
		t.Errorf("socket options: shared %v / %v, KeepAlive %v / %v, Priority %d / %d",
			b.Socket.SocketOptions == defaultSocketOptions, k.Socket.SocketOptions == defaultSocketOptions,
			b.Socket.KeepAlive, k.Socket.KeepAlive, b.Socket.Priority, k.Socket.Priority)
	}
	if !reflect.DeepEqual(*defaultSocketOptions, *newSocketOptions()) {
		t.Errorf("shared socket options %+v are not the defaults", *defaultSocketOptions)
	}

	// Service options likewise, one shared value per NotifyAccess=.
	n := decode("n.service", "[Service]\nType=notify\nExecStart=/bin/true\n")
	o := decode("o.service", "[Service]\nExecStart=/bin/true\nSuccessExitStatus=3\n")
	if a.Service.ServiceOptions != defaultServiceOptions[0] || n.Service.ServiceOptions != defaultServiceOptions[2] ||
		n.Service.NotifyAccess != "main" || a.Service.NotifyAccess != "none" || a.Service.FileDescriptorStorePreserve != "no" {
		t.Errorf("service options: shared %v / %v, NotifyAccess %q / %q", a.Service.ServiceOptions == defaultServiceOptions[0],
			n.Service.ServiceOptions == defaultServiceOptions[2], a.Service.NotifyAccess, n.Service.NotifyAccess)
	}
	if o.Service.ServiceOptions == defaultServiceOptions[0] || !reflect.DeepEqual(o.Service.SuccessExitStatus.Codes, []int{3}) ||
		defaultServiceOptions[0].SuccessExitStatus.Codes != nil {
		t.Errorf("SuccessExitStatus=3: shared %v, %v", o.Service.ServiceOptions == defaultServiceOptions[0], o.Service.SuccessExitStatus)
	}

	dir := t.TempDir()
	l := NewLoader(System, []string{dir})
	for _, name := range []string{"missing.service", "bad@name@.service"} {
		u := l.Load(name)
		if u.LoadState == Loaded || u.Unit.UnitSettings == nil || !reflect.DeepEqual(*u.Unit.UnitSettings, UnitSettings{}) || u.Install != noInstall {
			t.Errorf("%s: %s, settings %+v, want the zero settings", name, u.LoadState, u.Unit.UnitSettings)
		}
	}
	p := l.Builtin("systemd-poweroff.service")
	if p.Unit.SuccessAction != "poweroff-force" || defaultSettings.SuccessAction != "none" || noSettings.SuccessAction != "" {
		t.Errorf("built-in service: SuccessAction=%q; shared %q, %q", p.Unit.SuccessAction, defaultSettings.SuccessAction, noSettings.SuccessAction)
	}
	if tg := l.Builtin("poweroff.target"); tg.Unit.StartLimitBurst != 5 || tg.Unit.StartLimitInterval != 10*time.Second || tg.Unit.CollectMode != "" {
		t.Errorf("built-in target: %+v", *tg.Unit.UnitSettings)
	}
}

// TestSharedIntactCatchesWrite: SharedIntact, which the package's TestMain runs after every
// test, reports a write to a shared part.
func TestSharedIntactCatchesWrite(t *testing.T) {
	if err := SharedIntact(); err != nil {
		t.Fatalf("before: %v", err)
	}
	noBindings.Requisite = []string{"x.service"}
	err := SharedIntact()
	noBindings.Requisite = nil
	if err == nil || !strings.Contains(err.Error(), "noBindings") {
		t.Errorf("a write to noBindings: %v", err)
	}
	defaultServiceTimeouts[0].Restart = "always"
	err = SharedIntact()
	defaultServiceTimeouts[0].Restart = "no"
	if err == nil || !strings.Contains(err.Error(), "defaultServiceTimeouts") {
		t.Errorf("a write to the default service timeouts: %v", err)
	}
}

// TestSharedParts: the parts of units that write none of a part are one shared value; what a
// unit writes, and what the loader adds to one unit afterwards (an alias resolved in a list
// of a shared part, a .upholds/ entry, a drop-in, a diagnostic, an instance), is its own and
// shows in no other unit, before and after a reload that adds a dependency.
func TestSharedParts(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, name string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	write("plain.service", "[Service]\nExecStart=/bin/true\n")
	write("plain.socket", "[Socket]\nListenStream=/run/plain.sk\n")
	write("acc.socket", "[Socket]\nListenStream=/run/acc.sk\nAccept=yes\n")
	write("acc@.service", "[Service]\nExecStart=/bin/cat\nStandardInput=socket\n")
	write("real.target", "[Unit]\nDescription=real\n")
	link("real.target", "alias.target")
	write("real.service", "[Service]\nExecStart=/bin/true\n")
	link("real.service", "alias.service")
	// lists of shared parts naming aliases: resolved in a copy
	write("aliased.service", "[Unit]\nRequisite=alias.target\nOnFailure=alias.service\n[Service]\nExecStart=/bin/true\n")
	// a .upholds/ entry: Upholds= in a copy
	write("up.service", "[Service]\nExecStart=/bin/true\n")
	link("/dev/null", "up.service.upholds/real.service")        // a mask: no dependency
	link("../real.service", "up.service.upholds/real.service~") // not a unit name: a warning
	write("holder.service", "[Service]\nExecStart=/bin/true\n")
	link("../real.service", "holder.service.upholds/real.service")
	// a drop-in
	write("dropped.service", "[Service]\nExecStart=/bin/true\n")
	write("dropped.service.d/x.conf", "[Unit]\nWants=real.service\n[Service]\nRestart=always\nExecStop=/bin/true\n")
	write("tpl@.service", "[Unit]\nDocumentation=man:tpl(8)\nConditionPathExists=/%i\n[Service]\nExecStart=/bin/echo %i\nTimeoutStopSec=7\n")

	l := NewLoader(System, []string{dir})
	load := func(name string) *Unit {
		t.Helper()
		u := l.Load(name)
		if u.LoadState != Loaded {
			t.Fatalf("%s: %s %s", name, u.LoadState, u.LoadError)
		}
		return u
	}
	plain, sock := load("plain.service"), load("plain.socket")
	for _, c := range []struct {
		what         string
		got, want    any
		shared, ours bool
	}{
		{"service UnitLoad", plain.UnitLoad, sharedLoads[Loaded], true, false},
		{"service UnitSources", plain.UnitSources, noSources, true, false},
		{"service UnitDocs", plain.Unit.UnitDocs, noDocs, true, false},
		{"service UnitBindings", plain.Unit.UnitBindings, noBindings, true, false},
		{"service UnitPropagation", plain.Unit.UnitPropagation, defaultPropagation, true, false},
		{"service UnitSettings", plain.Unit.UnitSettings, defaultSettings, true, false},
		{"service ServiceStartup", plain.Service.ServiceStartup, defaultServiceStartup[0], true, false},
		{"service ServiceCommands", plain.Service.ServiceCommands, noServiceCommands, true, false},
		{"service ServiceTimeouts", plain.Service.ServiceTimeouts, defaultServiceTimeouts[0], true, false},
		{"service ServiceOptions", plain.Service.ServiceOptions, defaultServiceOptions[0], true, false},
		{"socket SocketBinding", sock.Socket.SocketBinding, defaultSocketBinding, true, false},
		{"socket SocketOptions", sock.Socket.SocketOptions, defaultSocketOptions, true, false},
		{"socket SocketCommands", sock.Socket.SocketCommands, defaultSocketCommands[0], true, false},
		{"socket Kill", sock.Socket.Kill, defaultKill, true, false},
		{"service Kill", plain.Service.Kill, defaultKill, true, false},
		{"socket UnitBindings", sock.Unit.UnitBindings, noBindings, true, false},
	} {
		if c.got != c.want {
			t.Errorf("%s: not the shared value", c.what)
		}
	}
	// Triggers= and TriggeredBy= are the start of Before= and After=, in the same array; an
	// append to one does not show in the other.
	if !reflect.DeepEqual(sock.Triggers, []string{"plain.service"}) || len(sock.Unit.Before) < 2 || &sock.Triggers[0] != &sock.Unit.Before[0] ||
		!reflect.DeepEqual(plain.TriggeredBy, []string{"plain.socket"}) || len(plain.Unit.After) < 2 || &plain.TriggeredBy[0] != &plain.Unit.After[0] {
		t.Errorf("socket Triggers=%v Before=%v, service TriggeredBy=%v After=%v", sock.Triggers, sock.Unit.Before, plain.TriggeredBy, plain.Unit.After)
	}
	before := sock.Unit.Before[1]
	if more := appendUnique(sock.Triggers, "x.service"); more[1] != "x.service" || sock.Unit.Before[1] != before {
		t.Errorf("an append to Triggers= changed Before=: %v", sock.Unit.Before)
	}
	if acc := load("acc.socket"); acc.Socket.SocketCommands != defaultSocketCommands[1] || acc.Socket.TriggerLimitBurst != 200 {
		t.Errorf("Accept=yes socket: shared commands %v, TriggerLimitBurst=%d", acc.Socket.SocketCommands == defaultSocketCommands[1], acc.Socket.TriggerLimitBurst)
	}

	a := load("aliased.service")
	if !reflect.DeepEqual(a.Unit.Requisite, []string{"real.target"}) || !reflect.DeepEqual(a.Unit.OnFailure, []string{"real.service"}) ||
		a.Unit.UnitBindings == noBindings || a.Unit.UnitPropagation == defaultPropagation || a.Unit.OnFailureJobMode != "replace" {
		t.Errorf("aliases in Requisite=/OnFailure=: %v %v (job mode %q)", a.Unit.Requisite, a.Unit.OnFailure, a.Unit.OnFailureJobMode)
	}
	if up := load("up.service"); up.Unit.UnitBindings != noBindings || up.Unit.Upholds != nil || len(up.Diagnostics) == 0 || up.UnitSources == noSources {
		t.Errorf("up.service: Upholds=%v, diagnostics %v", up.Unit.Upholds, up.Diagnostics)
	}
	if h := load("holder.service"); !reflect.DeepEqual(h.Unit.Upholds, []string{"real.service"}) || h.Unit.UnitBindings == noBindings {
		t.Errorf("holder.service: Upholds=%v", h.Unit.Upholds)
	}
	d := load("dropped.service")
	if !reflect.DeepEqual(d.DropInPaths, []string{filepath.Join(dir, "dropped.service.d/x.conf")}) || d.Service.Restart != "always" ||
		len(d.Service.ExecStop) != 1 || !contains(d.Unit.Wants, "real.service") {
		t.Errorf("dropped.service: drop-ins %v, Restart=%s, ExecStop=%v, Wants=%v", d.DropInPaths, d.Service.Restart, d.Service.ExecStop, d.Unit.Wants)
	}
	i1, i2 := load("tpl@one.service"), load("tpl@two.service")
	if i1.Instance != "one" || i2.Instance != "two" || i1.Template != "tpl@.service" || i1.UnitLoad == i2.UnitLoad ||
		i1.Unit.Conditions[0].Param != "/one" || i2.Unit.Conditions[0].Param != "/two" || i1.Unit.UnitDocs != i2.Unit.UnitDocs && !reflect.DeepEqual(i1.Unit.Documentation, i2.Unit.Documentation) ||
		i1.Service.TimeoutStopSec != 7*time.Second || i1.Service.ServiceTimeouts == defaultServiceTimeouts[0] {
		t.Errorf("instances: %q %q of %q, conditions %v / %v, TimeoutStopSec=%v", i1.Instance, i2.Instance, i1.Template,
			i1.Unit.Conditions, i2.Unit.Conditions, i1.Service.TimeoutStopSec)
	}
	inst, err := l.AcceptInstance(load("acc.socket"), "1-2-3")
	if err != nil || inst.Instance != "1-2-3" || !contains(inst.Unit.After, "acc.socket") {
		t.Fatalf("accept instance: %v %+v", err, inst)
	}
	tr := l.LoadTransient("run-x.service", filepath.Join(dir, "run-x.service"),
		[]byte("[Unit]\nDocumentation=man:x(1)\nBindsTo=real.service\n[Service]\nExecStart=/bin/true\nPIDFile=/run/x.pid\n"))
	if tr.LoadState != Loaded || !reflect.DeepEqual(tr.Unit.BindsTo, []string{"real.service"}) || tr.Service.PIDFile != "/run/x.pid" ||
		!reflect.DeepEqual(tr.Unit.Documentation, []string{"man:x(1)"}) {
		t.Errorf("transient: %s BindsTo=%v PIDFile=%q Documentation=%v", tr.LoadState, tr.Unit.BindsTo, tr.Service.PIDFile, tr.Unit.Documentation)
	}

	// The units that set none of it still read nothing of it.
	for _, u := range []*Unit{plain, load("real.service"), load("plain.socket")} {
		if u.Unit.Requisite != nil || u.Unit.OnFailure != nil || u.Unit.Upholds != nil || u.Unit.BindsTo != nil || u.DropInPaths != nil ||
			u.Diagnostics != nil || u.Instance != "" || u.Unit.Documentation != nil || u.Unit.Conditions != nil {
			t.Errorf("%s reads another unit's settings: %+v", u.Name, u.Unit)
		}
		if s := u.Service; s != nil && (s.Restart != "no" || s.ExecStop != nil || s.PIDFile != "" || s.TimeoutStopSec != DefaultTimeout) {
			t.Errorf("%s reads another unit's [Service]: %+v", u.Name, *s)
		}
	}

	// A reload after the drop-in changed: a new dependency in the unit, in no other.
	write("dropped.service.d/x.conf", "[Unit]\nWants=real.service\nPartOf=real.target\n[Service]\nRestart=always\n")
	if !l.NeedDaemonReload(d) {
		t.Errorf("NeedDaemonReload after the drop-in changed")
	}
	l.Reload()
	d2 := load("dropped.service")
	if !reflect.DeepEqual(d2.Unit.PartOf, []string{"real.target"}) || d.Unit.PartOf != nil || d2.Service.ExecStop != nil || len(d.Service.ExecStop) != 1 {
		t.Errorf("after the reload: PartOf=%v (before %v), ExecStop=%v (before %v)", d2.Unit.PartOf, d.Unit.PartOf, d2.Service.ExecStop, d.Service.ExecStop)
	}
	for _, name := range []string{"plain.service", "real.service", "up.service"} {
		if u := load(name); u.Unit.PartOf != nil || u.Unit.UnitBindings != noBindings && name != "up.service" {
			t.Errorf("%s after the reload: PartOf=%v", name, u.Unit.PartOf)
		}
	}

	// A copy of a loaded unit that changes a part (as set-property does) copies it first.
	c := *plain
	c.Unit.OwnDocs().Documentation = []string{"man:c(1)"}
	c.OwnSources().DropInPaths = []string{"/x.conf"}
	cs := *c.Service
	cs.OwnTimeouts().Restart = "always"
	if plain.Unit.Documentation != nil || plain.DropInPaths != nil || plain.Service.Restart != "no" || cs.Restart != "always" {
		t.Errorf("a change to a copy shows in the loaded unit")
	}
	if err := SharedIntact(); err != nil {
		t.Error(err)
	}
}

// TestSharedSizes: Unit and the sections that every socket and service has stay within the
// allocator's size classes they were made to fit (448, 96 and 112 bytes: 10,000 sockets
// with their services hold 20,000 Units).
func TestSharedSizes(t *testing.T) {
	for _, c := range []struct {
		what      string
		size, max uintptr
	}{
		{"Unit", unsafe.Sizeof(Unit{}), 448},
		{"SocketSection", unsafe.Sizeof(SocketSection{}), 96},
		{"ServiceSection", unsafe.Sizeof(ServiceSection{}), 112},
	} {
		if c.size > c.max {
			t.Errorf("%s is %d bytes, more than %d", c.what, c.size, c.max)
		}
	}
}

// TestCheckKept: a unit whose part still points into the decoder's scratch values (which the
// next Decode reuses) is a bug checkKept reports; after keepParts none does.
func TestCheckKept(t *testing.T) {
	d := &decoder{u: &Unit{Name: "x.service", Type: TypeService}}
	d.u.initShared()
	d.setDefaults()
	func() {
		defer func() {
			if recover() == nil {
				t.Error("no panic for parts left in the scratch values")
			}
		}()
		d.checkKept()
	}()
	d.keepParts() // checks too
	if d.u.Service.ServiceTimeouts != defaultServiceTimeouts[0] {
		t.Errorf("keepParts: the defaults are not shared")
	}
}
