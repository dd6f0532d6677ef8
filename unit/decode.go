package unit

import (
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"
)

// decoder carries the state of one Decode call.
type decoder struct {
	u      *Unit
	expand Expander
	diags  []Diagnostic
	exec   *ExecContext
	kill   *KillContext

	// set while decoding, used by the post-load defaults
	startTimeoutSet bool
	stopTimeoutSet  bool
	abortTimeoutSet bool
	delegate        bool // Delegate= on: OOMPolicy= then defaults to continue

	// depSets are the names of the long dependency lists, by list (appendDep).
	depSets map[*[]string]map[string]bool

	// own are the scratch values of the unit's shared parts while it is decoded
	// (decode_share.go).
	own ownParts

	// stopped is set by the first fatal error: like config_parse(), the rest of the
	// files is not read.
	stopped bool
}

// Decode fills u's typed configuration from files (the fragment first, then the drop-ins in
// order), as systemd's load-fragment does: it starts from systemd's defaults, applies every
// entry in order, applies the post-load defaults and runs Verify. u.Name, u.Type and the
// other names must be set. It returns every diagnostic (also appended to u.Diagnostics);
// on a fatal problem u.LoadState becomes BadSetting and u.LoadError holds the first one.
// Entries whose value cannot be parsed are mostly logged and ignored, as in systemd.
func Decode(u *Unit, files []*File, expand Expander) []Diagnostic {
	d := decoders.Get().(*decoder)
	*d = decoder{u: u, expand: expand}
	defer func() {
		*d = decoder{} // nothing of u kept while pooled
		decoders.Put(d)
	}()
	u.initShared()
	if u.LoadState == "" {
		u.setLoadState(Loaded)
	}
	d.setDefaults()
	sections := allowedSections(u.Type)
	for _, f := range files {
		if f == nil || d.stopped {
			continue
		}
		for _, s := range f.Sections {
			if d.stopped {
				break
			}
			if strings.HasPrefix(s.Name, "X-") {
				if u.Extra == nil {
					u.Extra = map[string][]Entry{}
				}
				u.Extra[s.Name] = append(u.Extra[s.Name], s.Entries...)
				continue
			}
			table, ok := sections[s.Name]
			if !ok {
				d.diag(Warning, f.Path, s.Line, "Unknown section '%s'. Ignoring.", s.Name)
				continue
			}
			pending := s.Warnings
			for _, e := range s.Entries {
				for len(pending) > 0 && pending[0].Line < e.Line {
					d.add(pending[0])
					pending = pending[1:]
				}
				if d.stopped {
					break
				}
				d.apply(s.Name, table, e)
			}
			if !d.stopped {
				for _, w := range pending {
					d.add(w)
				}
			}
		}
	}
	if u.LoadState != LoadError {
		// a unit that failed to load keeps what its lines set, without the defaults
		// systemd computes after a successful load (Type=, OOMPolicy=, stdio fix-ups)
		d.postDefaults()
	}
	if s := u.Service; s != nil && !d.abortTimeoutSet {
		// TimeoutAbortSec= follows TimeoutStopSec= unless set (systemd computes it when
		// asked, whatever the load state)
		s.TimeoutAbortSec = s.TimeoutStopSec
		if s.TimeoutAbortSec == 0 {
			s.TimeoutAbortSec = DurationInfinity
		}
	}
	for _, diag := range Verify(u) {
		d.add(diag)
	}
	d.keepParts()
	if u.Socket != nil {
		u.Socket.service = u.deriveSocketService()
	}
	u.addDiagnostics(d.diags...)
	return d.diags
}

// decoders are Decode's decoders, reused: one carries the scratch values of a unit's shared
// parts (about 2 KB), garbage after each unit otherwise.
var decoders = sync.Pool{New: func() any { return new(decoder) }}

// allowedSections are the sections a unit type reads (systemd's vtable->sections).
func allowedSections(t Type) map[string]map[string]*directive {
	directives()
	switch t {
	case TypeService:
		return sectionsService
	case TypeSocket:
		return sectionsSocket
	case TypeTimer:
		return sectionsTimer
	case TypePath:
		return sectionsPath
	case TypeSlice:
		return sectionsSlice
	}
	return sectionsOther
}

// The section sets of allowedSections, made with directiveTable.
var sectionsService, sectionsSocket, sectionsTimer, sectionsPath, sectionsSlice, sectionsOther map[string]map[string]*directive

// PrepareTables builds the directive tables now rather than when the first unit is decoded: a
// manager calls it at start, so that its first start job does not pay for them.
func PrepareTables() { directives() }

func (d *decoder) apply(section string, table map[string]*directive, e Entry) {
	if strings.HasPrefix(e.Key, "X-") {
		if strings.HasPrefix(e.Key, FlintKeyPrefix) {
			if d.applyFlint(section, e) {
				return
			}
			d.warn(e, "Unknown flint key '%s' in section [%s], ignoring.", e.Key, section)
		}
		if d.u.Extra == nil {
			d.u.Extra = map[string][]Entry{}
		}
		d.u.Extra[section] = append(d.u.Extra[section], e)
		return
	}
	dir, ok := table[e.Key]
	if !ok {
		d.warn(e, "Unknown key '%s' in section [%s], ignoring.", e.Key, section)
		return
	}
	if dir.parse == nil {
		return
	}
	dir.parse(d, e, e.Value)
	if dir.status == NotEnforced && d.exec != nil {
		if d.exec.NotEnforcedValues == nil {
			d.exec.NotEnforcedValues = map[string]string{}
		}
		d.exec.NotEnforcedValues[e.Key] = e.Value // the last one, as written
		for _, k := range d.exec.NotEnforced {
			if k == e.Key {
				return
			}
		}
		d.exec.NotEnforced = append(d.exec.NotEnforced, e.Key)
	}
}

func (d *decoder) add(diag Diagnostic) {
	diag.Msg = Printable(diag.Msg) // it quotes the unit file: no control characters
	d.diags = append(d.diags, diag)
	if diag.Severity == Error {
		if d.u.LoadState == Loaded || d.u.LoadState == "" {
			d.u.setLoadState(BadSetting)
		}
		if d.u.LoadError == "" {
			if diag.Line > 0 {
				d.u.setLoadError(fmt.Sprintf("%s:%d: %s", Printable(diag.File), diag.Line, diag.Msg))
			} else if diag.File != "" {
				d.u.setLoadError(fmt.Sprintf("%s: %s", Printable(diag.File), diag.Msg))
			} else {
				d.u.setLoadError(diag.Msg)
			}
		}
	}
}

func (d *decoder) diag(sev Severity, file string, line int, format string, a ...any) {
	d.add(Diagnostic{Severity: sev, File: file, Line: line, Msg: fmt.Sprintf(format, a...)})
}

// warn logs a problem with an entry that systemd ignores.
func (d *decoder) warn(e Entry, format string, a ...any) {
	d.diag(Warning, e.File, e.Line, format, a...)
}

// fail records a problem that makes the unit fail to load (bad-setting); as in systemd,
// nothing after it is parsed.
func (d *decoder) fail(e Entry, format string, a ...any) {
	d.diag(Error, e.File, e.Line, format, a...)
	d.stopped = true
}

// printf expands specifiers in v. On an unknown specifier it reports at e's place: fatal
// makes the unit fail to load, otherwise the entry is ignored with a warning. ok is false
// when the entry must be ignored.
func (d *decoder) printf(e Entry, v string, fatal bool) (string, bool) {
	x, err := expandWith(d.expand, v)
	if err == nil {
		return x, true
	}
	if fatal {
		d.fail(e, "Failed to resolve unit specifiers in '%s': %s", v, specifierErr(err))
	} else {
		d.warn(e, "Failed to resolve unit specifiers in '%s', ignoring: %s", v, specifierErr(err))
	}
	return "", false
}

// printfMsg is printf with systemd's exact wording for the directive: msg is a format
// taking the value ("Failed to resolve unit specifiers in %s, ignoring"), the error is
// appended.
func (d *decoder) printfMsg(e Entry, v, msg string, fatal bool) (string, bool) {
	x, err := expandWith(d.expand, v)
	if err == nil {
		return x, true
	}
	text := fmt.Sprintf(msg, v) + ": " + specifierErr(err)
	if fatal {
		d.fail(e, "%s", text)
	} else {
		d.warn(e, "%s", text)
	}
	return "", false
}

// defaultSpecMsg is printf's message for a word whose specifiers cannot be resolved (non-fatal).
const defaultSpecMsg = "Failed to resolve unit specifiers in '%s', ignoring"

// eachWord calls f with every word of v, split as systemd's extract_first_word with flags,
// its specifiers resolved: a word that cannot be resolved is skipped (printfMsg warns with
// msg), and a syntax error warns and ends the list, as systemd's list parsers do.
func (d *decoder) eachWord(e Entry, v string, flags extractFlags, msg string, f func(w string)) {
	rest := v
	for {
		w, r, ok, err := extractWord(rest, flags)
		if err != nil {
			d.warn(e, "Invalid syntax, ignoring: %s", v)
			return
		}
		if !ok {
			return
		}
		rest = r
		if x, good := d.printfMsg(e, w, msg, false); good {
			f(x)
		}
	}
}

// printfBare is printf with systemd's unquoted message (conditions and the like).
func (d *decoder) printfBare(e Entry, v string) (string, bool) {
	x, err := expandWith(d.expand, v)
	if err != nil {
		d.warn(e, "Failed to resolve unit specifiers in %s, ignoring: %s", v, specifierErr(err))
		return "", false
	}
	return x, true
}

// specifierErr is what systemd prints for a failed expansion: an unknown specifier is
// EBADSLT ("Invalid slot").
func specifierErr(err error) string {
	m := err.Error()
	if strings.Contains(m, "unknown specifier") || strings.Contains(m, "incomplete specifier") {
		return "Invalid slot"
	}
	return m
}

// newExecContext is systemd's exec defaults, in zeroed memory field by field (sameExec
// compares the bytes, padding included).
func newExecContext() *ExecContext {
	c := new(ExecContext)
	initExec(c)
	return c
}

// initExec sets *c to systemd's exec defaults, its padding zeroed (sameMem compares it).
func initExec(c *ExecContext) {
	*c = ExecContext{}
	c.UMask = 0o022
	c.StandardInput = "null"
	c.StandardOutput = "journal"
	c.StandardError = "inherit"
	c.RuntimeDirectoryMode = 0o755
	c.StateDirectoryMode = 0o755
	c.CacheDirectoryMode = 0o755
	c.LogsDirectoryMode = 0o755
	c.ConfigurationDirectoryMode = 0o755
	c.RuntimeDirectoryPreserve = "no"
	c.ProtectSystem = "no"
	c.ProtectHome = "no"
}

func newKillContext() KillContext {
	return KillContext{
		KillMode:        "control-group",
		KillSignal:      syscall.SIGTERM,
		FinalKillSignal: syscall.SIGKILL,
		WatchdogSignal:  syscall.SIGABRT,
		SendSIGKILL:     true,
	}
}

// DefaultTimeout is systemd's DefaultTimeoutStartSec/DefaultTimeoutStopSec.
const DefaultTimeout = 90 * time.Second

func (d *decoder) setDefaults() {
	u, o := d.u, &d.own
	o.docs, o.bindings, o.propagation = UnitDocs{}, UnitBindings{}, *newUnitPropagation()
	o.settings, o.install = newUnitSettings(), InstallSection{}
	u.Unit = UnitSection{
		DefaultDependencies: true,
		UnitDocs:            &o.docs,
		UnitBindings:        &o.bindings,
		UnitPropagation:     &o.propagation,
		UnitSettings:        &o.settings,
	}
	u.Install = &o.install
	u.Extra = nil
	u.Socket, u.Service, u.Target, u.Timer, u.Path, u.Slice = nil, nil, nil, nil, nil, nil
	switch u.Type {
	case "slice", "scope", "mount", "automount", "swap", "device":
		// Their *_init in systemd: isolating never stops them.
		u.Unit.IgnoreOnIsolate = true
	}
	switch u.Type {
	case TypeService:
		o.serviceStartup, o.serviceCommands = *newServiceStartup(), ServiceCommands{}
		o.serviceTimeouts = *newServiceTimeouts()
		o.serviceOptions = ServiceOptions{FileDescriptorStorePreserve: "no"}
		o.serviceKill = newKillContext() // OOMPolicy: stop, or continue with Delegate= (postDefaults)
		initExec(&o.serviceExec)
		u.Service = &ServiceSection{
			ServiceStartup:  &o.serviceStartup,
			ServiceCommands: &o.serviceCommands,
			ServiceTimeouts: &o.serviceTimeouts,
			ServiceOptions:  &o.serviceOptions,
			Exec:            &o.serviceExec,
			Kill:            &o.serviceKill,
		}
		// A service's standard output starts as inherit; postDefaults (service_fix_stdio) turns
		// it into journal unless StandardInput= is a tty or socket (systemd.exec(5)).
		u.Service.Exec.StandardOutput = "inherit"
		d.exec, d.kill = u.Service.Exec, u.Service.Kill
	case TypeSocket:
		o.socketBinding, o.socketOptions = *newSocketBinding(), *newSocketOptions()
		o.socketCommands = *newSocketCommands(false)
		o.socketKill = newKillContext()
		initExec(&o.socketExec)
		u.Socket = &SocketSection{
			SocketBinding:  &o.socketBinding,
			SocketOptions:  &o.socketOptions,
			SocketCommands: &o.socketCommands,
			Exec:           &o.socketExec,
			Kill:           &o.socketKill,
		}
		// postDefaults sets the trigger limit from Accept= unless a directive set it.
		u.Socket.TriggerLimitBurst, u.Socket.TriggerLimitInterval = -1, -1
		d.exec, d.kill = u.Socket.Exec, u.Socket.Kill
	case TypeTarget:
		u.Target = &TargetSection{}
	case TypeTimer:
		u.Timer = &TimerSection{AccuracySec: time.Minute, RemainAfterElapse: true}
	case TypePath:
		u.Path = &PathSection{DirectoryMode: 0o755, TriggerLimitInterval: -1, TriggerLimitBurst: -1}
	case TypeSlice:
		u.Slice = &SliceSection{Resources: *newExecContext()}
		d.exec = &u.Slice.Resources
	}
}

// postDefaults applies what systemd computes after loading (service_add_extras,
// socket_add_extras and friends).
func (d *decoder) postDefaults() {
	if s := d.u.Service; s != nil {
		if s.Type == "" {
			switch {
			case s.BusName != "":
				s.Type = DBus
			case len(s.ExecStart) > 0:
				s.Type = Simple
			default:
				s.Type = Oneshot
			}
		}
		if s.Type == Oneshot && !d.startTimeoutSet {
			s.TimeoutStartSec = 0 // infinity
		}
		// service_add_extras(): Type=notify and WatchdogSec= force "none" to "main".
		if s.NotifyAccess == "" {
			s.NotifyAccess = "none"
		}
		if s.NotifyAccess == "none" && (s.Type == Notify || s.Type == NotifyReload || s.WatchdogSec > 0) { // infinity too
			s.NotifyAccess = "main"
		}
		if s.Exec.StandardInput == "null" && s.Exec.StandardInputText != "" {
			s.Exec.StandardInput = "data"
		}
		if s.OOMPolicy == "" {
			// service_add_extras(): a delegated subtree manages its own OOM kills
			s.OOMPolicy = "stop"
			s.OOMPolicyDefault = !d.delegate
			if d.delegate {
				s.OOMPolicy = "continue"
			}
		}
		fixServiceStdio(s.Exec)
		patchDynamicUser(d.u, s.Exec)
	}
	if s := d.u.Path; s != nil {
		// path_add_extras: a trigger limit even when none is set, against busy loops.
		if s.TriggerLimitInterval < 0 {
			s.TriggerLimitInterval = DefaultTriggerLimitInterval
		}
		if s.TriggerLimitBurst < 0 {
			s.TriggerLimitBurst = 200
		}
	}
	if s := d.u.Socket; s != nil {
		patchDynamicUser(d.u, s.Exec)
		if s.TriggerLimitInterval < 0 {
			s.TriggerLimitInterval = DefaultTriggerLimitInterval
		}
		if s.TriggerLimitBurst < 0 {
			s.TriggerLimitBurst = defaultTriggerLimitBurst(s.Accept)
		}
	}
}

// fixServiceStdio is systemd's service_fix_stdio(): inherit on standard output means the
// default (journal) unless standard input is a bidirectional stream (tty, socket, fd).
func fixServiceStdio(c *ExecContext) {
	switch c.StandardInput {
	case "tty", "tty-force", "tty-fail", "socket":
		return
	}
	if c.StandardInput == "fd" || strings.HasPrefix(c.StandardInput, "fd:") {
		return
	}
	if c.StandardOutput == "inherit" {
		c.StandardOutput = "journal"
	}
}
