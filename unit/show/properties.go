package show

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/flint-init/flint/unit"
)

// Property is one line of `systemctl show`: a systemd D-Bus property name and its value
// formatted exactly as systemctl 252 prints it.
type Property struct {
	Name, Value string
}

// Properties returns the configuration properties of u under systemd's names and in
// systemctl's value formats and order, as `systemctl show` prints them for a unit that is
// loaded but not running. Runtime properties (ActiveState, MainPID, NAccepted...) are not
// included: a manager merges its own with MergeProperties. Like `systemctl show -p NAME`,
// properties with an empty value are included; `show` without -p drops them.
//
// A unit that is not loaded (not-found, masked) gets only the [Unit]-level properties
// systemd still knows: Id, Names, Description, LoadState, LoadError and the paths.
func Properties(u *unit.Unit) []Property {
	var ps propList
	loaded := u.LoadState == unit.Loaded || u.LoadState == unit.BadSetting || u.LoadState == unit.LoadError
	if loaded {
		switch {
		case u.Service != nil:
			serviceProperties(&ps, u.Service)
			execProperties(&ps, u, u.Service.Exec)
			ps.bool("NonBlocking", u.Service.NonBlocking)
			killProperties(&ps, u.Service.Kill)
		case u.Socket != nil:
			socketProperties(&ps, u)
			execProperties(&ps, u, u.Socket.Exec)
			ps.bool("NonBlocking", false) // NonBlocking= is a [Service] setting in flint
			killProperties(&ps, u.Socket.Kill)
		case u.Timer != nil:
			timerProperties(&ps, u)
		case u.Path != nil:
			pathProperties(&ps, u)
		case u.Type == unit.TypeScope:
			scopeProperties(&ps)
		case u.Slice != nil:
			// A slice shows its cgroup context alone (systemd's org.freedesktop.systemd1.Slice).
			var all propList
			resourceProperties(&all, u.Type, &u.Slice.Resources, u.LoadState == unit.Loaded)
			bpfProperties(&all, &u.Slice.Resources) // properties_bpf.go
			rank := propertyRank(unit.TypeSlice)
			for _, p := range all {
				if p.Name == "TasksMax" && u.Slice.Resources.TasksMax == 0 {
					p.Value = "infinity" // no DefaultTasksMax= for a slice (systemd's unit_new)
				}
				if _, ok := rank[p.Name]; ok && !slices.Contains(targetPropertyOrder, p.Name) {
					ps = append(ps, p)
				}
			}
		}
	}
	unitProperties(&ps, u, loaded)
	return SortProperties(u.Type, ps)
}

// scopeProperties are a scope's (org.freedesktop.systemd1.Scope) at systemd's defaults: its
// own, its cgroup context and its kill context. What StartTransientUnit set, and the
// scope's state, are the manager's runtime properties, which replace them.
func scopeProperties(ps *propList) {
	ps.add("TimeoutStopUSec", unit.FormatTimespan(unit.DefaultTimeout))
	ps.add("Result", "success")
	ps.add("RuntimeMaxUSec", "infinity")
	ps.add("RuntimeRandomizedExtraUSec", "0")
	ps.add("OOMPolicy", "stop")
	var all propList
	var ec unit.ExecContext
	resourceProperties(&all, unit.TypeScope, &ec, true)
	bpfProperties(&all, &ec)
	rank := propertyRank(unit.TypeSlice) // the cgroup context's part of the order
	for _, p := range all {
		if _, ok := rank[p.Name]; ok && !slices.Contains(targetPropertyOrder, p.Name) {
			*ps = append(*ps, p)
		}
	}
	killProperties(ps, &unit.KillContext{SendSIGKILL: true})
}

// propList collects properties in any order; SortProperties puts them in systemctl's.
type propList []Property

func (p *propList) add(name, value string) { *p = append(*p, Property{name, value}) }
func (p *propList) bool(name string, b bool) {
	p.add(name, unit.FormatBool(b))
}
func (p *propList) int(name string, i int) { p.add(name, strconv.Itoa(i)) }
func (p *propList) strv(name string, list []string) {
	p.add(name, FormatStrv(list))
}
func (p *propList) span(name string, d time.Duration) { p.add(name, unit.FormatTimespan(d)) }

// cooldown adds X-Flint-TriggerLimitCooldownSec= as FlintTriggerLimitCooldownUSec, only
// when set: systemd has no such property, and flint's own properties appear only where they
// say something.
func (p *propList) cooldown(d time.Duration) {
	if d > 0 {
		p.span("FlintTriggerLimitCooldownUSec", d)
	}
}

// spanInf formats d with 0 meaning "infinity", as systemd's timeouts that 0 disables.
func (p *propList) spanInf(name string, d time.Duration) {
	if d == 0 {
		p.add(name, "infinity")
		return
	}
	p.add(name, unit.FormatTimespan(d))
}

// exec adds one property line per command, as systemctl prints an a(sasbttttuii) property,
// and, for services, the ...Ex variant with the prefix flags spelled out.
func (p *propList) exec(name string, cmds []unit.ExecCommand, withEx bool) {
	p.execRuns(name, cmds, withEx, nil)
}

func (p *propList) execRuns(name string, cmds []unit.ExecCommand, withEx bool, runs []*ExecRun) {
	run := func(i int) *ExecRun {
		if i < len(runs) {
			return runs[i]
		}
		return nil
	}
	for i, c := range cmds {
		p.add(name, formatExec(c, false, run(i)))
	}
	if withEx {
		for i, c := range cmds {
			p.add(name+"Ex", formatExec(c, true, run(i)))
		}
	}
}

// ExecRun is what became of one command the last time it ran (systemd's ExecStatus): its
// pid, when it started and exited, and how ("exited" with its exit status, "killed" or
// "dumped" with the signal; "" while it runs).
type ExecRun struct {
	PID         int
	Start, Exit time.Time
	Code        string
	Status      int
}

// ExecProperties returns the Exec*= properties name (and nameEx when withEx) of commands
// cmds with what became of them (runs[i] for cmds[i]; nil or missing: never ran), as
// systemctl show prints them: "{ path=... ; argv[]=... ; ignore_errors=no ; start_time=[...]
// ; stop_time=[...] ; pid=N ; code=exited ; status=1 }".
func ExecProperties(name string, cmds []unit.ExecCommand, withEx bool, runs []*ExecRun) []Property {
	var p propList
	p.execRuns(name, cmds, withEx, runs)
	return p
}

func formatExec(c unit.ExecCommand, ex bool, r *ExecRun) string {
	var b strings.Builder
	b.WriteString("{ path=")
	b.WriteString(c.Path)
	b.WriteString(" ; argv[]=")
	b.WriteString(strings.Join(c.Argv, " "))
	if ex {
		b.WriteString(" ; flags=")
		b.WriteString(strings.Join(execFlagNames(c.Flags), " "))
	} else {
		b.WriteString(" ; ignore_errors=")
		b.WriteString(unit.FormatBool(c.Flags.IgnoreFailure))
	}
	if r == nil || r.PID == 0 {
		b.WriteString(" ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }")
		return b.String()
	}
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return "n/a"
		}
		return FormatTimestamp(t)
	}
	start := stamp(r.Start)
	if r.Exit.IsZero() && r.Code == "" {
		start = "n/a" // systemd 252 keeps a command's times from its exit on: none while it runs
	}
	fmt.Fprintf(&b, " ; start_time=[%s] ; stop_time=[%s] ; pid=%d ; ", start, stamp(r.Exit), r.PID)
	switch r.Code {
	case "":
		b.WriteString("code=(null) ; status=0/0 }")
	case "exited":
		fmt.Fprintf(&b, "code=exited ; status=%d }", r.Status)
	default:
		fmt.Fprintf(&b, "code=%s ; status=%d/%s }", r.Code, r.Status, strings.TrimPrefix(unit.SignalName(syscall.Signal(r.Status)), "SIG"))
	}
	return b.String()
}

// execFlagNames spells out the prefixes as systemd's exec_command_flags_to_strv.
func execFlagNames(f unit.ExecFlags) []string {
	var out []string
	if f.IgnoreFailure {
		out = append(out, "ignore-failure")
	}
	if f.FullPrivilege {
		out = append(out, "privileged")
	}
	if f.NoSetuid && !f.AmbientOnly {
		out = append(out, "no-setuid")
	}
	if f.AmbientOnly {
		out = append(out, "ambient")
	}
	if f.NoEnvExpand {
		out = append(out, "no-env-expand")
	}
	return out
}

func serviceProperties(p *propList, s *unit.ServiceSection) {
	typ := string(s.Type)
	p.add("Type", typ)
	p.add("ExitType", orDefault(s.ExitType, "main"))
	p.add("Restart", orDefault(s.Restart, "no"))
	p.add("PIDFile", s.PIDFile)
	p.add("NotifyAccess", notifyAccess(s))
	p.span("RestartUSec", s.RestartSec)
	p.spanInf("TimeoutStartUSec", s.TimeoutStartSec)
	p.spanInf("TimeoutStopUSec", s.TimeoutStopSec)
	p.span("TimeoutAbortUSec", s.TimeoutAbortSec)
	p.add("TimeoutStartFailureMode", orDefault(s.TimeoutStartFailureMode, "terminate"))
	p.add("TimeoutStopFailureMode", orDefault(s.TimeoutStopFailureMode, "terminate"))
	p.span("RuntimeMaxUSec", s.RuntimeMaxSec)
	// systemd 252 shows the watchdog in effect, which is infinity until the service runs.
	p.add("WatchdogUSec", "infinity")
	p.add("WatchdogTimestampMonotonic", "0")
	p.addExecProp(execProp{"RuntimeRandomizedExtraUSec", fixed("0"), []string{"RuntimeRandomizedExtraSec"}, span}, s.Exec)
	p.add("CleanResult", "success")
	p.add("ExecMainStartTimestampMonotonic", "0")
	p.add("ExecMainExitTimestampMonotonic", "0")
	p.bool("RootDirectoryStartOnly", s.RootDirectoryStartOnly)
	p.bool("RemainAfterExit", s.RemainAfterExit)
	p.bool("GuessMainPID", s.GuessMainPID)
	p.add("RestartPreventExitStatus", formatExitStatus(s.RestartPreventExitStatus))
	p.add("RestartForceExitStatus", formatExitStatus(s.RestartForceExitStatus))
	p.add("SuccessExitStatus", formatExitStatus(s.SuccessExitStatus))
	p.add("BusName", s.BusName)
	p.int("FileDescriptorStoreMax", s.FileDescriptorStoreMax)
	p.add("USBFunctionDescriptors", s.USBFunctionDescriptors)
	p.add("USBFunctionStrings", s.USBFunctionStrings)
	p.add("OOMPolicy", s.OOMPolicy) // "" for a unit that failed to load, as systemd
	p.exec("ExecCondition", s.ExecCondition, true)
	p.exec("ExecStartPre", s.ExecStartPre, true)
	p.exec("ExecStart", s.ExecStart, true)
	p.exec("ExecStartPost", s.ExecStartPost, true)
	p.exec("ExecReload", s.ExecReload, true)
	p.exec("ExecStop", s.ExecStop, true)
	p.exec("ExecStopPost", s.ExecStopPost, true)
}

func notifyAccess(s *unit.ServiceSection) string {
	if s.NotifyAccess != "" {
		return s.NotifyAccess
	}
	if s.Type == unit.Notify || s.Type == unit.NotifyReload || s.WatchdogSec > 0 {
		return "main"
	}
	return "none"
}

func socketProperties(p *propList, u *unit.Unit) {
	s := u.Socket
	p.add("BindIPv6Only", orDefault(s.BindIPv6Only, "default"))
	backlog := uint64(s.Backlog)
	if backlog > 2147483647 {
		backlog = 2147483647 // systemd keeps it in an int: SOMAXCONN_DELUXE
	}
	p.add("Backlog", strconv.FormatUint(backlog, 10))
	p.spanInf("TimeoutUSec", s.TimeoutSec)
	p.add("BindToDevice", s.BindToDevice)
	p.add("SocketUser", s.SocketUser)
	p.add("SocketGroup", s.SocketGroup)
	p.add("SocketMode", FormatMode(uint32(s.SocketMode)&0o7777))
	p.add("DirectoryMode", FormatMode(uint32(s.DirectoryMode)&0o7777))
	p.bool("Accept", s.Accept)
	p.bool("FlushPending", s.FlushPending)
	p.bool("Writable", s.Writable)
	p.bool("KeepAlive", s.KeepAlive)
	p.span("KeepAliveTimeUSec", s.KeepAliveTime)
	p.span("KeepAliveIntervalUSec", s.KeepAliveInterval)
	p.int("KeepAliveProbes", s.KeepAliveProbes)
	p.span("DeferAcceptUSec", s.DeferAcceptSec)
	p.bool("NoDelay", s.NoDelay)
	p.int("Priority", s.Priority)
	p.add("ReceiveBuffer", strconv.FormatUint(s.ReceiveBuffer, 10))
	p.add("SendBuffer", strconv.FormatUint(s.SendBuffer, 10))
	p.int("IPTOS", s.IPTOS)
	p.int("IPTTL", s.IPTTL)
	p.add("PipeSize", strconv.FormatUint(s.PipeSize, 10))
	p.bool("FreeBind", s.FreeBind)
	p.bool("Transparent", s.Transparent)
	p.bool("Broadcast", s.Broadcast)
	p.bool("PassCredentials", s.PassCredentials)
	p.bool("PassSecurity", s.PassSecurity)
	p.bool("PassPacketInfo", s.PassPacketInfo)
	p.add("Timestamping", orDefault(s.Timestamping, "off"))
	p.bool("RemoveOnStop", s.RemoveOnStop)
	for _, l := range s.Listen {
		p.add("Listen", FormatListen(l))
	}
	p.strv("Symlinks", s.Symlinks)
	p.int("Mark", s.Mark)
	p.int("MaxConnections", s.MaxConnections)
	p.int("MaxConnectionsPerSource", s.MaxConnectionsPerSource)
	p.add("MessageQueueMaxMessages", strconv.FormatInt(s.MessageQueueMaxMessages, 10))
	p.add("MessageQueueMessageSize", strconv.FormatInt(s.MessageQueueMessageSize, 10))
	p.add("TCPCongestion", s.TCPCongestion)
	p.bool("ReusePort", s.ReusePort)
	p.add("SmackLabel", s.SmackLabel)
	p.add("SmackLabelIPIn", s.SmackLabelIPIn)
	p.add("SmackLabelIPOut", s.SmackLabelIPOut)
	p.add("FileDescriptorName", orDefault(s.FileDescriptorName, u.Name))
	p.add("SocketProtocol", socketProtocolNumber(s.SocketProtocol))
	p.span("TriggerLimitIntervalUSec", s.TriggerLimitInterval)
	p.int("TriggerLimitBurst", s.TriggerLimitBurst)
	p.cooldown(s.TriggerLimitCooldown)
	p.exec("ExecStartPre", s.ExecStartPre, false)
	p.exec("ExecStartPost", s.ExecStartPost, false)
	p.exec("ExecStopPre", s.ExecStopPre, false)
	p.exec("ExecStopPost", s.ExecStopPost, false)
}

// socketProtocolNumber is SocketProtocol= as the IPPROTO number systemd exports.
func socketProtocolNumber(s string) string {
	switch s {
	case "udplite":
		return strconv.Itoa(syscall.IPPROTO_UDPLITE)
	case "sctp":
		return strconv.Itoa(syscall.IPPROTO_SCTP)
	}
	return "0"
}

func execProperties(p *propList, u *unit.Unit, e *unit.ExecContext) {
	p.strv("Environment", e.Environment)
	// EnvironmentFiles is an a(sb): one line per entry, like the Exec* properties.
	for _, f := range e.EnvironmentFiles {
		p.add("EnvironmentFiles", fmt.Sprintf("%s (ignore_errors=%s)", f.Path, unit.FormatBool(f.Optional)))
	}
	p.strv("PassEnvironment", e.PassEnvironment)
	p.strv("UnsetEnvironment", e.UnsetEnvironment)
	p.add("UMask", FormatMode(uint32(e.UMask)&0o7777))
	resourceProperties(p, u.Type, e, u.LoadState == unit.Loaded)
	bpfProperties(p, e) // properties_bpf.go
	wd := e.WorkingDirectory
	if e.WorkingDirectoryOptional && wd != "" {
		wd = "!" + wd
	}
	p.add("WorkingDirectory", wd)
	p.add("RootDirectory", e.RootDirectory)
	if e.OOMScoreAdjustSet {
		p.int("OOMScoreAdjust", e.OOMScoreAdjust)
	}
	if e.NiceSet {
		p.int("Nice", e.Nice)
	}
	p.add("StandardInput", stdName(stdinOf(e)))
	p.add("StandardInputFileDescriptorName", stdFDName(stdinOf(e), "stdin"))
	p.add("StandardOutput", stdName(stdoutOf(e)))
	p.add("StandardOutputFileDescriptorName", stdFDName(stdoutOf(e), "stdout"))
	p.add("StandardError", stdName(stderrOf(e)))
	p.add("StandardErrorFileDescriptorName", stdFDName(stderrOf(e), "stderr"))
	p.add("TTYPath", e.TTYPath)
	p.add("SyslogIdentifier", e.SyslogIdentifier)
	// With DynamicUser=yes, User= and Group= are those systemd names (patchDynamicUser).
	p.add("User", e.User)
	p.add("Group", e.Group)
	p.bool("DynamicUser", e.DynamicUser)
	p.strv("SupplementaryGroups", e.SupplementaryGroups)
	p.add("RuntimeDirectoryPreserve", orDefault(e.RuntimeDirectoryPreserve, "no"))
	p.add("RuntimeDirectoryMode", FormatMode(uint32(e.RuntimeDirectoryMode)&0o7777))
	p.strv("RuntimeDirectory", sortedStrings(e.RuntimeDirectory))
	p.add("StateDirectoryMode", FormatMode(uint32(e.StateDirectoryMode)&0o7777))
	p.strv("StateDirectory", sortedStrings(e.StateDirectory))
	p.add("CacheDirectoryMode", FormatMode(uint32(e.CacheDirectoryMode)&0o7777))
	p.strv("CacheDirectory", sortedStrings(e.CacheDirectory))
	p.add("LogsDirectoryMode", FormatMode(uint32(e.LogsDirectoryMode)&0o7777))
	p.strv("LogsDirectory", sortedStrings(e.LogsDirectory))
	p.add("ConfigurationDirectoryMode", FormatMode(uint32(e.ConfigurationDirectoryMode)&0o7777))
	p.strv("ConfigurationDirectory", sortedStrings(e.ConfigurationDirectory))
}

// Standard stream defaults as systemd applies them: input null; output journal unless input
// is a terminal or the socket (then inherit); error inherit.
func stdinOf(e *unit.ExecContext) string {
	if e.StandardInput == "" {
		if e.StandardInputText != "" {
			return "data"
		}
		return "null"
	}
	return e.StandardInput
}

func stdoutOf(e *unit.ExecContext) string {
	if e.StandardOutput != "" {
		return e.StandardOutput
	}
	switch stdName(stdinOf(e)) {
	case "tty", "tty-force", "tty-fail", "socket":
		return "inherit"
	}
	return "journal"
}

func stderrOf(e *unit.ExecContext) string { return orDefault(e.StandardError, "inherit") }

// stdName is the exported StandardX value: "file:/x" is shown as "file", "fd:name" as "fd".
func stdName(v string) string {
	if i := strings.IndexByte(v, ':'); i >= 0 {
		return v[:i]
	}
	return v
}

// stdFDName is the StandardXFileDescriptorName of "fd:NAME"; a bare "fd" names the stream
// itself (def: "stdin", "stdout" or "stderr"), as systemd shows it.
func stdFDName(v, def string) string {
	if strings.HasPrefix(v, "fd:") {
		return v[3:]
	}
	if v == "fd" {
		return def
	}
	return ""
}

var rlimitNames = map[int]string{
	syscall.RLIMIT_CPU: "CPU", syscall.RLIMIT_FSIZE: "FSIZE", syscall.RLIMIT_DATA: "DATA",
	syscall.RLIMIT_STACK: "STACK", syscall.RLIMIT_CORE: "CORE", 5: "RSS",
	syscall.RLIMIT_NOFILE: "NOFILE", syscall.RLIMIT_AS: "AS", 6: "NPROC", 8: "MEMLOCK",
	10: "LOCKS", 11: "SIGPENDING", 12: "MSGQUEUE", 13: "NICE", 14: "RTPRIO", 15: "RTTIME",
}

func formatRlimit(v uint64) string {
	if v == unit.Infinity {
		return "infinity"
	}
	return strconv.FormatUint(v, 10)
}

func killProperties(p *propList, k *unit.KillContext) {
	p.add("KillMode", orDefault(k.KillMode, "control-group"))
	kill := k.KillSignal
	if kill == 0 {
		kill = syscall.SIGTERM
	}
	p.int("KillSignal", int(kill))
	restart := k.RestartKillSignal
	if restart == 0 {
		restart = kill
	}
	p.int("RestartKillSignal", int(restart))
	p.int("FinalKillSignal", int(sigOr(k.FinalKillSignal, syscall.SIGKILL)))
	p.bool("SendSIGKILL", k.SendSIGKILL)
	p.bool("SendSIGHUP", k.SendSIGHUP)
	p.int("WatchdogSignal", int(sigOr(k.WatchdogSignal, syscall.SIGABRT)))
}

func sigOr(s, def syscall.Signal) syscall.Signal {
	if s == 0 {
		return def
	}
	return s
}

func unitProperties(p *propList, u *unit.Unit, loaded bool) {
	p.add("Id", u.Name)
	names := u.Names
	if len(names) == 0 {
		names = []string{u.Name}
	}
	p.strv("Names", names)
	desc := u.Unit.Description
	if desc == "" {
		desc = u.Name
	}
	p.add("Description", desc)
	p.add("LoadState", string(u.LoadState))
	if loaded {
		// runtime state a manager fills in: until then, never checked, never frozen
		p.add("FreezerState", "running")
		p.add("AssertResult", "no")
		p.add("ConditionTimestampMonotonic", "0")
		p.add("AssertTimestampMonotonic", "0")
	}
	p.add("FragmentPath", u.FragmentPath)
	p.add("SourcePath", cmp.Or(u.SourcePath, u.Unit.SourcePath)) // a generator's SourcePath=
	p.strv("DropInPaths", u.DropInPaths)
	p.add("LoadError", loadErrorProperty(u))
	if !loaded {
		return
	}
	s := &u.Unit
	p.strv("Requires", s.Requires)
	p.strv("Requisite", s.Requisite)
	p.strv("Wants", s.Wants)
	p.strv("BindsTo", s.BindsTo)
	p.strv("PartOf", s.PartOf)
	p.strv("Upholds", s.Upholds)
	p.strv("Conflicts", s.Conflicts)
	p.strv("Before", s.Before)
	p.strv("After", s.After)
	p.strv("OnSuccess", s.OnSuccess)
	p.strv("OnFailure", s.OnFailure)
	p.strv("Triggers", u.Triggers)
	p.strv("TriggeredBy", u.TriggeredBy)
	p.strv("PropagatesReloadTo", s.PropagatesReloadTo)
	p.strv("ReloadPropagatedFrom", s.ReloadPropagatedFrom)
	p.strv("PropagatesStopTo", s.PropagatesStopTo)
	p.strv("StopPropagatedFrom", s.StopPropagatedFrom)
	p.strv("JoinsNamespaceOf", s.JoinsNamespaceOf)
	p.strv("RequiresMountsFor", s.RequiresMountsFor)
	p.strv("Documentation", s.Documentation)
	p.bool("StopWhenUnneeded", s.StopWhenUnneeded)
	p.bool("RefuseManualStart", s.RefuseManualStart)
	p.bool("RefuseManualStop", s.RefuseManualStop)
	p.bool("AllowIsolate", s.AllowIsolate)
	p.bool("DefaultDependencies", s.DefaultDependencies)
	// systemd 252 initialises OnSuccessJobMode to "fail" (a quirk it prints as such).
	p.add("OnSuccessJobMode", orDefault(s.OnSuccessJobMode, "fail"))
	p.add("OnFailureJobMode", orDefault(s.OnFailureJobMode, "replace"))
	p.bool("IgnoreOnIsolate", s.IgnoreOnIsolate)
	p.spanInf("JobTimeoutUSec", s.JobTimeout)
	p.spanInf("JobRunningTimeoutUSec", s.JobRunningTimeout)
	p.add("JobTimeoutAction", orDefault(s.JobTimeoutAction, "none"))
	p.add("JobTimeoutRebootArgument", s.JobTimeoutRebootArgument)
	p.span("StartLimitIntervalUSec", s.StartLimitInterval)
	p.int("StartLimitBurst", s.StartLimitBurst)
	p.add("StartLimitAction", orDefault(s.StartLimitAction, "none"))
	p.add("FailureAction", orDefault(s.FailureAction, "none"))
	p.add("FailureActionExitStatus", exitStatusOrNotSet(s.FailureActionExitStatus))
	p.add("SuccessAction", orDefault(s.SuccessAction, "none"))
	p.add("SuccessActionExitStatus", exitStatusOrNotSet(s.SuccessActionExitStatus))
	p.add("RebootArgument", s.RebootArgument)
	p.add("CollectMode", orDefault(s.CollectMode, "inactive"))
	p.bool("CanStart", u.LoadState == unit.Loaded && !s.RefuseManualStart) // unit_can_start()
	p.bool("CanStop", !s.RefuseManualStop)
	p.bool("CanIsolate", (u.Type == unit.TypeTarget || u.Type == unit.TypeService) && s.AllowIsolate)
	p.bool("CanFreeze", u.Type == unit.TypeService)
	p.bool("Transient", false)
	p.bool("Perpetual", u.Name == "-.slice") // system.slice too in the system manager (its own)
	p.bool("CanReload", u.Service != nil && len(u.Service.ExecReload) > 0)
	p.add("CanClean", strings.Join(CanClean(u), " "))
}

// CanClean are the kinds `clean` can remove of u (unit_can_clean): those of its
// RuntimeDirectory=, StateDirectory=, CacheDirectory=, LogsDirectory= and
// ConfigurationDirectory= (a service or socket), state for a timer with Persistent=.
func CanClean(u *unit.Unit) []string {
	var ec *unit.ExecContext
	switch {
	case u.Type == unit.TypeService && u.Service != nil:
		ec = u.Service.Exec
	case u.Type == unit.TypeSocket && u.Socket != nil:
		ec = u.Socket.Exec
	case u.Type == unit.TypeTimer && u.Timer != nil && u.Timer.Persistent:
		return []string{"state"}
	}
	if ec == nil {
		return nil
	}
	var kinds []string
	for i, names := range [][]string{ec.RuntimeDirectory, ec.StateDirectory, ec.CacheDirectory, ec.LogsDirectory, ec.ConfigurationDirectory} {
		if len(names) > 0 {
			kinds = append(kinds, [...]string{"runtime", "state", "cache", "logs", "configuration"}[i])
		}
	}
	return kinds
}

func exitStatusOrNotSet(v int) string {
	if v < 0 {
		return "[not set]"
	}
	return strconv.Itoa(v)
}

// loadErrorProperty is LoadError as systemctl prints it: the D-Bus error name and message.
func loadErrorProperty(u *unit.Unit) string {
	switch u.LoadState {
	case unit.NotFound:
		return fmt.Sprintf("org.freedesktop.systemd1.NoSuchUnit \"Unit %s not found.\"", u.Name)
	case unit.Masked:
		return fmt.Sprintf("org.freedesktop.systemd1.UnitMasked \"Unit %s is masked.\"", u.Name)
	case unit.BadSetting:
		return fmt.Sprintf("org.freedesktop.systemd1.BadUnitSetting \"Unit %s has a bad unit file setting.\"", u.Name)
	case unit.LoadError:
		return fmt.Sprintf("org.freedesktop.systemd1.LoadFailed \"Unit %s failed to load properly, please adjust/correct and reload service manager: %s\"", u.Name, u.LoadError)
	}
	return ""
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// formatExitStatus prints an exit status set as systemctl: codes, then signal names
// without "SIG", each ascending.
func formatExitStatus(s unit.ExitStatusSet) string {
	codes := append([]int(nil), s.Codes...)
	sort.Ints(codes)
	sigs := append([]syscall.Signal(nil), s.Signals...)
	sort.Slice(sigs, func(i, j int) bool { return sigs[i] < sigs[j] })
	var out []string
	for i, c := range codes {
		if i > 0 && c == codes[i-1] {
			continue
		}
		out = append(out, strconv.Itoa(c))
	}
	for i, sg := range sigs {
		if i > 0 && sg == sigs[i-1] {
			continue
		}
		out = append(out, strings.TrimPrefix(unit.SignalName(sg), "SIG"))
	}
	return strings.Join(out, " ")
}

// MergeProperties adds extra (runtime properties from a manager, UnitFileState...) to ps,
// replacing properties of the same name, and returns them in systemctl's order for t.
func MergeProperties(t unit.Type, ps []Property, extra ...Property) []Property {
	replace := map[string]bool{}
	for _, e := range extra {
		replace[e.Name] = true
	}
	out := make([]Property, 0, len(ps)+len(extra))
	for _, p := range ps {
		if !replace[p.Name] {
			out = append(out, p)
		}
	}
	return SortProperties(t, append(out, extra...))
}

// SortProperties orders ps as systemctl prints a unit of type t (a stable sort: the lines of
// a repeated property such as Listen or ExecStart keep their order). Names systemctl does
// not know go last, in their given order.
func SortProperties(t unit.Type, ps []Property) []Property {
	rank := propertyRank(t)
	out := append([]Property(nil), ps...)
	sort.SliceStable(out, func(i, j int) bool {
		ri, ok := rank[out[i].Name]
		if !ok {
			ri = len(rank)
		}
		rj, ok := rank[out[j].Name]
		if !ok {
			rj = len(rank)
		}
		return ri < rj
	})
	return out
}

// servicePropertyOrder and socketPropertyOrder are the orders of properties_order.go, composed
// when needed rather than at every start of the binary (as package-level appends would be).
func servicePropertyOrder() []string {
	return slices.Concat(serviceOwnProperties, processPropertyOrder)
}

// slicePropertyOrder is a slice's: the cgroup part of the process properties (Slice= to
// RestrictNetworkInterfaces=), then the [Unit] ones.
func slicePropertyOrder() []string {
	end := slices.Index(processPropertyOrder, "Environment")
	return slices.Concat(processPropertyOrder[:end], targetPropertyOrder)
}

// scopePropertyOrder is a scope's: its own properties, the cgroup part of the process
// properties, then the kill and [Unit] ones.
func scopePropertyOrder() []string {
	env := slices.Index(processPropertyOrder, "Environment")
	kill := slices.Index(processPropertyOrder, "KillMode")
	own := []string{"Controller", "TimeoutStopUSec", "Result", "RuntimeMaxUSec", "RuntimeRandomizedExtraUSec", "OOMPolicy"}
	return slices.Concat(own, processPropertyOrder[:env], processPropertyOrder[kill:])
}

func socketPropertyOrder() []string {
	return slices.Concat(socketOwnProperties, processPropertyOrder)
}

var (
	propertyRanks     = map[unit.Type]map[string]int{}
	propertyRanksOnce sync.Once // built on first use, not at every start of the binary
)

func buildPropertyRanks() {
	for t, order := range map[unit.Type][]string{unit.TypeService: servicePropertyOrder(), unit.TypeSocket: socketPropertyOrder(), unit.TypeTimer: timerPropertyOrder(), unit.TypePath: pathPropertyOrder(), unit.TypeTarget: targetPropertyOrder, unit.TypeSlice: slicePropertyOrder(), unit.TypeScope: scopePropertyOrder()} {
		m := make(map[string]int, len(order))
		for i, n := range order {
			if _, dup := m[n]; !dup {
				m[n] = i
			}
		}
		propertyRanks[t] = m
	}
}

func propertyRank(t unit.Type) map[string]int {
	propertyRanksOnce.Do(buildPropertyRanks)
	if m, ok := propertyRanks[t]; ok {
		return m
	}
	return propertyRanks[unit.TypeTarget] // the [Unit] properties only
}

// PropertyNames returns every property name systemctl 252 knows for a unit of type t, in its
// order (what `show --all` lists).
func PropertyNames(t unit.Type) []string {
	return slices.DeleteFunc(propertyNames(t), func(n string) bool { return entryProperties[n] })
}

func propertyNames(t unit.Type) []string {
	switch t {
	case unit.TypeService:
		return servicePropertyOrder()
	case unit.TypeSocket:
		return socketPropertyOrder()
	case unit.TypeTimer:
		return timerPropertyOrder()
	case unit.TypePath:
		return pathPropertyOrder()
	case unit.TypeSlice:
		return slicePropertyOrder()
	}
	return append([]string(nil), targetPropertyOrder...)
}

// sortedStrings is a sorted copy without duplicates: systemd keeps the *Directory= lists so.
func sortedStrings(l []string) []string {
	c := append([]string(nil), l...)
	sort.Strings(c)
	out := c[:0]
	for i, s := range c {
		if i == 0 || s != c[i-1] {
			out = append(out, s)
		}
	}
	return out
}
