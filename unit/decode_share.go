package unit

import (
	"fmt"
	"sync"
	"time"
	"unsafe"
)

// Most units write few of the settings a Unit holds: a decoded unit's rarely written parts
// are structs embedded by pointer (UnitInstance, UnitSources, UnitDocs, UnitBindings,
// UnitPropagation, UnitSettings, SocketBinding, SocketOptions, SocketCommands,
// ServiceStartup, ServiceCommands, ServiceTimeouts, ServiceOptions) or held by pointer
// (ExecContext, InstallSection), and a unit whose value of one is the same as a shared
// value's points to that one instead of a copy of its own. The shared values are read
// only: whoever changes a loaded unit copies the part first (the Own* methods, or a copy of
// the struct as copyExecConfig in internal/manager does).
//
// "The same" is the same memory: strings, slices and maps compare by their pointers, so a
// setting written, even back to its default, makes a unit keep its own copy, and nothing is
// ever shared wrongly. The decoder fills the parts in its own scratch values (decoder.own,
// zeroed with it, padding included) and keepShared then points the unit at a shared value
// or at a copy.

// sameMem reports whether a and b hold the same bytes.
func sameMem[T any](a, b *T) bool {
	n := unsafe.Sizeof(*a)
	return unsafe.String((*byte)(unsafe.Pointer(a)), n) == unsafe.String((*byte)(unsafe.Pointer(b)), n)
}

// keepShared returns the first of shared that holds the same value as v, else a copy of v.
func keepShared[T any](v *T, shared ...*T) *T {
	for _, s := range shared {
		if sameMem(v, s) {
			if checkShared != nil {
				checkShared(v, s)
			}
			return s
		}
	}
	c := new(T)
	*c = *v
	return c
}

// checkShared, set by tests, is told of each value keepShared replaces by a shared one.
var checkShared func(own, shared any)

// ownCopy returns a copy of *p that the caller may change, and points *p at it.
func ownCopy[T any](p **T) *T {
	c := new(T)
	if *p != nil {
		*c = **p
	}
	*p = c
	return c
}

var (
	sharedExecOnce                      sync.Once
	sharedServiceExec, sharedSocketExec *ExecContext
)

// sharedExec is the ExecContext a decoded unit of type t has when its files set nothing.
func sharedExec(t Type) *ExecContext {
	sharedExecOnce.Do(func() {
		for _, t := range []Type{TypeService, TypeSocket} {
			u := &Unit{Name: "shared." + string(t), Type: t}
			d := &decoder{u: u}
			d.setDefaults()
			d.postDefaults()
			if t == TypeService {
				sharedServiceExec = u.Service.Exec
				watchShared("the services' ExecContext", sharedServiceExec)
			} else {
				sharedSocketExec = u.Socket.Exec
				watchShared("the sockets' ExecContext", sharedSocketExec)
			}
		}
	})
	if t == TypeService {
		return sharedServiceExec
	}
	return sharedSocketExec
}

// keepExec returns the shared context for t when the decoder's scratch context c holds the
// same value, else a copy of c (initExec zeroed the padding that sameMem compares).
func keepExec(t Type, c *ExecContext) *ExecContext {
	return keepShared(c, sharedExec(t))
}

// newUnitSettings is a fresh UnitSettings with systemd's defaults, for a unit being decoded.
func newUnitSettings() UnitSettings {
	return UnitSettings{
		CollectMode:             "inactive",
		FailureAction:           "none",
		SuccessAction:           "none",
		JobTimeoutAction:        "none",
		StartLimitAction:        "none",
		FailureActionExitStatus: -1,
		SuccessActionExitStatus: -1,
		StartLimitInterval:      10 * time.Second,
		StartLimitBurst:         5,
	}
}

// The shared values. The "no" ones are what units that are never decoded (not found, a bad
// name, a built-in target) read: the zero values their fields had before the parts were
// split out of Unit and its sections.
var (
	// the load of a unit that is no instance and has no error, one per load state
	sharedLoads = func() map[LoadState]*UnitLoad {
		m := map[LoadState]*UnitLoad{}
		for _, s := range []LoadState{"", Loaded, NotFound, BadSetting, LoadError, Masked} {
			m[s] = &UnitLoad{LoadState: s}
		}
		return m
	}()
	noLoad        = sharedLoads[""]
	noSources     = &UnitSources{}
	noDocs        = &UnitDocs{}
	noBindings    = &UnitBindings{}
	noPropagation = &UnitPropagation{}
	noSettings    = &UnitSettings{}
	noInstall     = &InstallSection{}

	defaultPropagation = newUnitPropagation()
	defaultSettings    = func() *UnitSettings { s := newUnitSettings(); return &s }()

	defaultSocketBinding = newSocketBinding()
	defaultSocketOptions = newSocketOptions()
	// the socket commands and limits after the defaults, with Accept=no and Accept=yes
	defaultSocketCommands = [2]*SocketCommands{newSocketCommands(false), newSocketCommands(true)}

	// the service parts after the defaults: with RemainAfterExit= no and yes; the timeouts
	// of Type=oneshot (no start timeout) and of the others
	defaultServiceStartup  = [2]*ServiceStartup{newServiceStartup(), func() *ServiceStartup { s := newServiceStartup(); s.RemainAfterExit = true; return s }()}
	noServiceCommands      = &ServiceCommands{}
	defaultKill            = func() *KillContext { k := newKillContext(); return &k }()
	defaultServiceTimeouts = [2]*ServiceTimeouts{newServiceTimeouts(), func() *ServiceTimeouts { s := newServiceTimeouts(); s.TimeoutStartSec = 0; return s }()}
	// the service options as postDefaults leaves them: one per NotifyAccess= (which follows
	// Type=) and OOMPolicy= (which follows Delegate=)
	defaultServiceOptions = func() []*ServiceOptions {
		var out []*ServiceOptions
		for _, n := range []string{"none", "main"} {
			for _, o := range []string{"stop", "continue"} {
				out = append(out, &ServiceOptions{FileDescriptorStorePreserve: "no", NotifyAccess: n, OOMPolicy: o})
			}
		}
		return out
	}()
)

// initShared points every part of u that is nil at its shared empty value, for a unit made
// outside Decode (the loader's units that are not decoded, built-in and transient ones).
func (u *Unit) initShared() {
	if u.UnitLoad == nil {
		u.UnitLoad = noLoad
	}
	if u.UnitSources == nil {
		u.UnitSources = noSources
	}
	u.Unit.initShared()
	if u.Install == nil {
		u.Install = noInstall
	}
}

func (s *UnitSection) initShared() {
	if s.UnitDocs == nil {
		s.UnitDocs = noDocs
	}
	if s.UnitBindings == nil {
		s.UnitBindings = noBindings
	}
	if s.UnitPropagation == nil {
		s.UnitPropagation = noPropagation
	}
	if s.UnitSettings == nil {
		s.UnitSettings = noSettings
	}
}

// SetInstance sets u's Instance and Template (in a UnitLoad of its own).
func (u *Unit) SetInstance(instance, template string) {
	l := UnitLoad{Instance: instance, Template: template}
	if u.UnitLoad != nil {
		l.LoadState, l.LoadError = u.LoadState, u.LoadError
	}
	u.UnitLoad = shareLoad(&l)
}

func (u *Unit) setLoadState(s LoadState) {
	if u.UnitLoad == nil || u.LoadState != s {
		u.changeLoad(func(l *UnitLoad) { l.LoadState = s })
	}
}

func (u *Unit) setLoadError(e string) {
	if u.UnitLoad == nil || u.LoadError != e {
		u.changeLoad(func(l *UnitLoad) { l.LoadError = e })
	}
}

// changeLoad points u at a UnitLoad like its own (the zero one when it has none) with
// change applied: shared or a copy, never the value it had, which may be shared.
func (u *Unit) changeLoad(change func(*UnitLoad)) {
	var l UnitLoad
	if u.UnitLoad != nil {
		l = *u.UnitLoad
	}
	change(&l)
	u.UnitLoad = shareLoad(&l)
}

// shareLoad returns the shared UnitLoad of l's load state when l has nothing else, else a
// copy of l.
func shareLoad(l *UnitLoad) *UnitLoad {
	if l.Instance == "" && l.Template == "" && l.LoadError == "" {
		if s := sharedLoads[l.LoadState]; s != nil {
			return s
		}
	}
	c := *l
	return &c
}

// OwnSources makes u's UnitSources its own (a copy of the shared or the loader's one)
// before a change, and returns it: a copy of a loaded Unit shares it with the loader's.
func (u *Unit) OwnSources() *UnitSources { return ownCopy(&u.UnitSources) }

// addDiagnostics appends diags to u.Diagnostics, in a UnitSources of u's own. For units the
// loader is making (their UnitSources is their own unless shared).
func (u *Unit) addDiagnostics(diags ...Diagnostic) {
	if len(diags) == 0 {
		return
	}
	if u.UnitSources == nil || u.UnitSources == noSources {
		ownCopy(&u.UnitSources)
	}
	u.Diagnostics = append(u.Diagnostics, diags...)
}

// OwnDocs makes s's UnitDocs its own before a change, and returns it.
func (s *UnitSection) OwnDocs() *UnitDocs { return ownCopy(&s.UnitDocs) }

// OwnBindings makes s's UnitBindings its own before a change, and returns it.
func (s *UnitSection) OwnBindings() *UnitBindings { return ownCopy(&s.UnitBindings) }

// OwnPropagation makes s's UnitPropagation its own before a change, and returns it.
func (s *UnitSection) OwnPropagation() *UnitPropagation { return ownCopy(&s.UnitPropagation) }

// OwnSettings makes s's UnitSettings its own (a copy) before a change, and returns it.
func (s *UnitSection) OwnSettings() *UnitSettings { return ownCopy(&s.UnitSettings) }

func newUnitPropagation() *UnitPropagation {
	return &UnitPropagation{OnFailureJobMode: "replace", OnSuccessJobMode: "fail"}
}

func newSocketBinding() *SocketBinding {
	return &SocketBinding{BindIPv6Only: "default", Backlog: DefaultBacklog, DirectoryMode: 0o755, SocketMode: 0o666}
}

// newSocketOptions is a fresh SocketOptions with systemd's defaults.
func newSocketOptions() *SocketOptions {
	return &SocketOptions{MaxConnections: 64, Priority: -1, IPTOS: -1, IPTTL: -1, Mark: -1, Timestamping: "off"}
}

func newSocketCommands(accept bool) *SocketCommands {
	return &SocketCommands{TimeoutSec: DefaultTimeout, TriggerLimitInterval: DefaultTriggerLimitInterval,
		TriggerLimitBurst: defaultTriggerLimitBurst(accept)}
}

func newServiceStartup() *ServiceStartup {
	return &ServiceStartup{ExitType: "main", GuessMainPID: true}
}

func newServiceTimeouts() *ServiceTimeouts {
	return &ServiceTimeouts{
		RestartSec:              100 * time.Millisecond,
		TimeoutStartSec:         DefaultTimeout,
		TimeoutStopSec:          DefaultTimeout,
		TimeoutAbortSec:         DefaultTimeout, // follows TimeoutStopSec= (Decode)
		RuntimeMaxSec:           DurationInfinity,
		TimeoutStartFailureMode: "terminate",
		TimeoutStopFailureMode:  "terminate",
		Restart:                 "no",
	}
}

// ownParts are the decoder's scratch values of the shared parts: the unit being decoded
// points at them until keepParts points it at shared values or copies.
type ownParts struct {
	docs        UnitDocs
	bindings    UnitBindings
	propagation UnitPropagation
	settings    UnitSettings
	install     InstallSection

	socketBinding  SocketBinding
	socketOptions  SocketOptions
	socketCommands SocketCommands

	socketKill KillContext
	socketExec ExecContext

	serviceStartup  ServiceStartup
	serviceCommands ServiceCommands
	serviceTimeouts ServiceTimeouts
	serviceOptions  ServiceOptions
	serviceKill     KillContext
	serviceExec     ExecContext
}

// keepParts points u's parts that are the decoder's scratch values at shared values or at
// copies of their own (the end of Decode).
func (d *decoder) keepParts() {
	u, o := d.u, &d.own
	x := &u.Unit
	if x.UnitDocs == &o.docs {
		x.UnitDocs = keepShared(&o.docs, noDocs)
	}
	if x.UnitBindings == &o.bindings {
		x.UnitBindings = keepShared(&o.bindings, noBindings)
	}
	if x.UnitPropagation == &o.propagation {
		x.UnitPropagation = keepShared(&o.propagation, defaultPropagation, noPropagation)
	}
	if x.UnitSettings == &o.settings {
		x.UnitSettings = keepShared(&o.settings, defaultSettings, noSettings)
	}
	if u.Install == &o.install {
		u.Install = keepShared(&o.install, noInstall)
	}
	if s := u.Socket; s != nil {
		if s.SocketBinding == &o.socketBinding {
			s.SocketBinding = keepShared(&o.socketBinding, defaultSocketBinding)
		}
		if s.SocketOptions == &o.socketOptions {
			s.SocketOptions = keepShared(&o.socketOptions, defaultSocketOptions)
		}
		if s.SocketCommands == &o.socketCommands {
			s.SocketCommands = keepShared(&o.socketCommands, defaultSocketCommands[:]...)
		}
		if s.Kill == &o.socketKill {
			s.Kill = keepShared(&o.socketKill, defaultKill)
		}
		if s.Exec == &o.socketExec {
			s.Exec = keepExec(TypeSocket, &o.socketExec)
		}
	}
	if s := u.Service; s != nil {
		if s.ServiceStartup == &o.serviceStartup {
			s.ServiceStartup = keepShared(&o.serviceStartup, defaultServiceStartup[:]...)
		}
		if s.ServiceCommands == &o.serviceCommands {
			s.ServiceCommands = keepShared(&o.serviceCommands, noServiceCommands)
		}
		if s.ServiceTimeouts == &o.serviceTimeouts {
			s.ServiceTimeouts = keepShared(&o.serviceTimeouts, defaultServiceTimeouts[:]...)
		}
		if s.ServiceOptions == &o.serviceOptions {
			s.ServiceOptions = keepShared(&o.serviceOptions, defaultServiceOptions...)
		}
		if s.Kill == &o.serviceKill {
			s.Kill = keepShared(&o.serviceKill, defaultKill)
		}
		if s.Exec == &o.serviceExec {
			s.Exec = keepExec(TypeService, &o.serviceExec)
		}
	}
	u.initShared()
	d.checkKept()
}

// checkKept panics when a part of the unit still points into the decoder's scratch values,
// which the next Decode reuses: a part keepParts does not know of.
func (d *decoder) checkKept() {
	lo := uintptr(unsafe.Pointer(&d.own))
	hi := lo + unsafe.Sizeof(d.own)
	in := func(p unsafe.Pointer) bool { return uintptr(p) >= lo && uintptr(p) < hi }
	u := d.u
	bad := in(unsafe.Pointer(u.Unit.UnitDocs)) || in(unsafe.Pointer(u.Unit.UnitBindings)) ||
		in(unsafe.Pointer(u.Unit.UnitPropagation)) || in(unsafe.Pointer(u.Unit.UnitSettings)) || in(unsafe.Pointer(u.Install))
	if s := u.Socket; s != nil {
		bad = bad || in(unsafe.Pointer(s.SocketBinding)) || in(unsafe.Pointer(s.SocketOptions)) ||
			in(unsafe.Pointer(s.SocketCommands)) || in(unsafe.Pointer(s.Kill)) || in(unsafe.Pointer(s.Exec))
	}
	if s := u.Service; s != nil {
		bad = bad || in(unsafe.Pointer(s.ServiceStartup)) || in(unsafe.Pointer(s.ServiceCommands)) ||
			in(unsafe.Pointer(s.ServiceTimeouts)) || in(unsafe.Pointer(s.ServiceOptions)) || in(unsafe.Pointer(s.Kill)) ||
			in(unsafe.Pointer(s.Exec))
	}
	if bad {
		panic("unit: Decode left a part of " + u.Name + " in the decoder's scratch values")
	}
}

// setDropIns sets u.DropInPaths and newest, the newest drop-in's modification time (a unit
// the loader is making).
func (u *Unit) setDropIns(paths []string, newest stamp) {
	if len(paths) == 0 && newest == 0 && u.DropInPaths == nil && u.dropInMtime == 0 {
		return
	}
	s := u.UnitSources
	if s == nil || s == noSources {
		s = ownCopy(&u.UnitSources)
	}
	s.DropInPaths, s.dropInMtime = paths, newest
}

// OwnBinding makes s's SocketBinding its own before a change, and returns it.
func (s *SocketSection) OwnBinding() *SocketBinding { return ownCopy(&s.SocketBinding) }

// OwnOptions makes s's SocketOptions its own before a change, and returns it.
func (s *SocketSection) OwnOptions() *SocketOptions { return ownCopy(&s.SocketOptions) }

// OwnCommands makes s's SocketCommands its own before a change, and returns it.
func (s *SocketSection) OwnCommands() *SocketCommands { return ownCopy(&s.SocketCommands) }

// OwnKill makes s's KillContext its own before a change, and returns it.
func (s *SocketSection) OwnKill() *KillContext { return ownCopy(&s.Kill) }

// OwnKill makes s's KillContext its own before a change, and returns it.
func (s *ServiceSection) OwnKill() *KillContext { return ownCopy(&s.Kill) }

// OwnStartup makes s's ServiceStartup its own before a change, and returns it.
func (s *ServiceSection) OwnStartup() *ServiceStartup { return ownCopy(&s.ServiceStartup) }

// OwnCommands makes s's ServiceCommands its own before a change, and returns it.
func (s *ServiceSection) OwnCommands() *ServiceCommands { return ownCopy(&s.ServiceCommands) }

// OwnTimeouts makes s's ServiceTimeouts its own before a change, and returns it.
func (s *ServiceSection) OwnTimeouts() *ServiceTimeouts { return ownCopy(&s.ServiceTimeouts) }

// OwnOptions makes s's ServiceOptions its own before a change, and returns it.
func (s *ServiceSection) OwnOptions() *ServiceOptions { return ownCopy(&s.ServiceOptions) }

// NewUnit returns a Unit called name that is not loaded, with its names (Type, Prefix,
// Instance and Template as the name gives them) and its parts at their shared empty
// values: for code that builds a Unit outside the Loader (to expand specifiers, say).
func NewUnit(name, fragment string) *Unit {
	u := &Unit{Name: name, FragmentPath: fragment}
	u.initShared()
	prefix, inst, sfx, _ := ParseName(name)
	u.Type, u.Prefix = Type(sfx), prefix
	if inst != "" {
		u.SetInstance(inst, TemplateOf(name))
	}
	return u
}

// watched are the shared values with a copy of what they held when made (SharedIntact).
var (
	watchedMu sync.Mutex
	watched   []func() string
)

// watchShared records p's value for SharedIntact.
func watchShared[T any](name string, p *T) {
	kept := *p
	watchedMu.Lock()
	watched = append(watched, func() string {
		if !sameMem(p, &kept) {
			return fmt.Sprintf("%s (%T): %+v, made as %+v", name, p, *p, kept)
		}
		return ""
	})
	watchedMu.Unlock()
}

func init() {
	for s, l := range sharedLoads {
		watchShared("the UnitLoad of "+string(s), l)
	}
	watchShared("noSources", noSources)
	watchShared("noDocs", noDocs)
	watchShared("noBindings", noBindings)
	watchShared("noPropagation", noPropagation)
	watchShared("noSettings", noSettings)
	watchShared("noInstall", noInstall)
	watchShared("defaultPropagation", defaultPropagation)
	watchShared("defaultSettings", defaultSettings)
	watchShared("defaultSocketBinding", defaultSocketBinding)
	watchShared("defaultSocketOptions", defaultSocketOptions)
	for _, s := range defaultSocketCommands {
		watchShared("defaultSocketCommands", s)
	}
	for _, s := range defaultServiceStartup {
		watchShared("defaultServiceStartup", s)
	}
	watchShared("noServiceCommands", noServiceCommands)
	watchShared("defaultKill", defaultKill)
	for _, s := range defaultServiceTimeouts {
		watchShared("defaultServiceTimeouts", s)
	}
	for _, s := range defaultServiceOptions {
		watchShared("defaultServiceOptions", s)
	}
}

// SharedIntact reports a shared part of the decoded units (decode_share.go) that something
// changed, which must copy it first: for tests, of this package and of the manager's.
func SharedIntact() error {
	watchedMu.Lock()
	defer watchedMu.Unlock()
	for _, f := range watched {
		if msg := f(); msg != "" {
			return fmt.Errorf("a shared part of the units was written to: %s", msg)
		}
	}
	return nil
}
