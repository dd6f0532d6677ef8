package unit

import (
	"sync"
	"time"
	"unsafe"
)

// A service or socket that sets none of the exec settings ends with the same ExecContext as
// every other one (about 1.4 KB): Decode replaces it by one shared value, so that thousands of
// such units do not each hold a copy. The shared values are read only; whoever changes a
// loaded unit's settings (set-property) copies the context first.

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
			} else {
				sharedSocketExec = u.Socket.Exec
			}
		}
	})
	if t == TypeService {
		return sharedServiceExec
	}
	return sharedSocketExec
}

// shareExec returns the shared context for t when c holds the same value, else c. Equal
// memory is equal values (strings, slices and maps compare by their pointers, so a setting
// written, even back to its default, makes a unit keep its own copy; nothing is ever shared
// wrongly). Both come from newExecContext, which zeroes the padding.
func shareExec(t Type, c *ExecContext) *ExecContext {
	s := sharedExec(t)
	if c == nil || c == s {
		return c
	}
	const n = unsafe.Sizeof(ExecContext{})
	if *(*[n]byte)(unsafe.Pointer(c)) == *(*[n]byte)(unsafe.Pointer(s)) {
		if checkShare != nil {
			checkShare(c, s)
		}
		return s
	}
	return c
}

// checkShare, set by tests, is told of each context shareExec replaces.
var checkShare func(own, shared *ExecContext)

// newUnitSettings is a fresh UnitSettings with systemd's defaults, for a unit being decoded.
func newUnitSettings() *UnitSettings {
	return &UnitSettings{
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

var (
	// defaultSettings is shared by the decoded units that write none of UnitSettings.
	defaultSettings = newUnitSettings()
	// noSettings is shared by the units that are never decoded (not found, a bad name, a
	// built-in target before its own settings): the zero value their section had before
	// UnitSettings was split out of it.
	noSettings = &UnitSettings{}
)

// shareSettings returns the shared defaults when s holds the same values, else s.
func shareSettings(s *UnitSettings) *UnitSettings {
	if s != nil && *s == *defaultSettings {
		return defaultSettings
	}
	return s
}

// OwnSettings makes s's UnitSettings its own (a copy of the shared one) before a change, and
// returns it.
func (s *UnitSection) OwnSettings() *UnitSettings {
	if s.UnitSettings == nil || s.UnitSettings == defaultSettings || s.UnitSettings == noSettings {
		c := UnitSettings{}
		if s.UnitSettings != nil {
			c = *s.UnitSettings
		}
		s.UnitSettings = &c
	}
	return s.UnitSettings
}

// defaultSocketOptions is shared by the decoded sockets that write none of SocketOptions.
var defaultSocketOptions = newSocketOptions()

// shareSocketOptions returns the shared defaults when o holds the same values, else o.
func shareSocketOptions(o *SocketOptions) *SocketOptions {
	if o != nil && *o == *defaultSocketOptions {
		return defaultSocketOptions
	}
	return o
}

// serviceOptionsShared are the ServiceOptions shared by the decoded services that write none
// of them, one per value of NotifyAccess= (which follows Type=).
var serviceOptionsShared = map[string]*ServiceOptions{
	"":     {FileDescriptorStorePreserve: "no"},
	"none": {FileDescriptorStorePreserve: "no", NotifyAccess: "none"},
	"main": {FileDescriptorStorePreserve: "no", NotifyAccess: "main"},
}

// shareServiceOptions returns a shared value when o holds the same values (the exit status
// sets empty and nil), else o.
func shareServiceOptions(o *ServiceOptions) *ServiceOptions {
	if o == nil {
		return o
	}
	s := serviceOptionsShared[o.NotifyAccess]
	if s == nil || !sameServiceOptions(o, s) {
		return o
	}
	if checkShareOptions != nil {
		checkShareOptions(o, s)
	}
	return s
}

// checkShareOptions, set by tests, is told of each ServiceOptions shareServiceOptions
// replaces.
var checkShareOptions func(own, shared *ServiceOptions)

// sameServiceOptions reports whether a holds b's values, b's exit status sets and Sockets=
// being nil.
func sameServiceOptions(a, b *ServiceOptions) bool {
	for _, e := range []*ExitStatusSet{&a.SuccessExitStatus, &a.RestartPreventExitStatus, &a.RestartForceExitStatus} {
		if e.Codes != nil || e.Signals != nil {
			return false
		}
	}
	return a.Sockets == nil && a.RootDirectoryStartOnly == b.RootDirectoryStartOnly &&
		a.PermissionsStartOnly == b.PermissionsStartOnly && a.NonBlocking == b.NonBlocking &&
		a.NotifyAccess == b.NotifyAccess && a.FileDescriptorStoreMax == b.FileDescriptorStoreMax &&
		a.FileDescriptorStorePreserve == b.FileDescriptorStorePreserve &&
		a.USBFunctionDescriptors == b.USBFunctionDescriptors && a.USBFunctionStrings == b.USBFunctionStrings
}

// noInstall is the [Install] section of the units that have none, shared.
var noInstall = &InstallSection{}

// shareInstall returns noInstall when s sets nothing, else s.
func shareInstall(s *InstallSection) *InstallSection {
	if s != nil && s.Alias == nil && s.WantedBy == nil && s.RequiredBy == nil && s.Also == nil && s.DefaultInstance == "" {
		return noInstall
	}
	return s
}
