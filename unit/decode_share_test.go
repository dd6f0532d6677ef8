package unit

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func init() {
	// Every test that decodes checks that what is shared is the same value.
	checkShare = func(own, shared *ExecContext) {
		if !reflect.DeepEqual(own, shared) {
			panic("shareExec: shared an ExecContext of a different value")
		}
	}
	checkShareOptions = func(own, shared *ServiceOptions) {
		if !reflect.DeepEqual(own, shared) {
			panic("shareServiceOptions: shared ServiceOptions of a different value")
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
	if *defaultSettings != *newUnitSettings() || a.Unit.StartLimitBurst != 5 || a.Unit.CollectMode != "inactive" {
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
	if *defaultSocketOptions != *newSocketOptions() {
		t.Errorf("shared socket options %+v are not the defaults", *defaultSocketOptions)
	}

	// Service options likewise, one shared value per NotifyAccess=.
	n := decode("n.service", "[Service]\nType=notify\nExecStart=/bin/true\n")
	o := decode("o.service", "[Service]\nExecStart=/bin/true\nSuccessExitStatus=3\n")
	if a.Service.ServiceOptions != serviceOptionsShared["none"] || n.Service.ServiceOptions != serviceOptionsShared["main"] ||
		n.Service.NotifyAccess != "main" || a.Service.NotifyAccess != "none" || a.Service.FileDescriptorStorePreserve != "no" {
		t.Errorf("service options: shared %v / %v, NotifyAccess %q / %q", a.Service.ServiceOptions == serviceOptionsShared["none"],
			n.Service.ServiceOptions == serviceOptionsShared["main"], a.Service.NotifyAccess, n.Service.NotifyAccess)
	}
	if o.Service.ServiceOptions == serviceOptionsShared["none"] || !reflect.DeepEqual(o.Service.SuccessExitStatus.Codes, []int{3}) ||
		serviceOptionsShared["none"].SuccessExitStatus.Codes != nil {
		t.Errorf("SuccessExitStatus=3: shared %v, %v", o.Service.ServiceOptions == serviceOptionsShared["none"], o.Service.SuccessExitStatus)
	}

	dir := t.TempDir()
	l := NewLoader(System, []string{dir})
	for _, name := range []string{"missing.service", "bad@name@.service"} {
		u := l.Load(name)
		if u.LoadState == Loaded || u.Unit.UnitSettings == nil || *u.Unit.UnitSettings != (UnitSettings{}) || u.Install != noInstall {
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
