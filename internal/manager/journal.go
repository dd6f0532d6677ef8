package manager

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/flint-init/flint/internal/logs"
	"github.com/flint-init/flint/unit"
)

// A unit's log holds what systemd 252's journal holds for it: its processes' output (with
// their identifier and pid, logs.Pipe) and the manager's messages about it, worded, leveled
// and tagged as PID 1 logs them (src/core/job.c, unit.c, service.c): SYSLOG_IDENTIFIER
// systemd, the MESSAGE_IDs of systemd's catalog, and JOB_ID, JOB_TYPE, JOB_RESULT,
// UNIT_RESULT, EXIT_CODE, EXIT_STATUS, COMMAND, N_RESTARTS, CPU_USAGE_NSEC where systemd
// adds them. The manager's own pid is the message's _PID (1 when flint is PID 1).

// systemd's message ids (sd-messages.h) for the manager's messages about units.
const (
	msgUnitStarting  = "7d4958e842da4a758f6c1cdc7b36dcc5"
	msgUnitStarted   = "39f53479d3a045ac8e11786248231fbf"
	msgUnitFailed    = "be02cf6855d2428ba40df7e9d022f03d"
	msgUnitStopping  = "de5b426a63be47a7b6ac3eaac82e2f6f"
	msgUnitStopped   = "9d1aaa27d60140bd96365438aad20286"
	msgUnitReloading = "d34d037fff1847e6ae669a370e694725"
	msgUnitReloaded  = "7b05ebc668384222baa8881179cfda54"
	msgUnitSuccess   = "7ad2d189f7e94e70a38c781354912448"
	msgUnitSkipped   = "0e4284a0caca4bfc81c0bb6786972673"
	msgUnitFailure   = "d9b373ed55a64feb8242e02dbe79a49c"
	msgProcessExit   = "98e322203f7a4ed290d09fe03c09fe15"
	msgRestartSched  = "5eb03494b6584870a536b337290809b3"
	msgUnitResources = "ae8f7b866b0347b9af31fe1c80b127c0"
	msgSpawnFailed   = "641257651c1b4ec9a8624d7a40a9e1e7"
	mentionworthyCPU = time.Second      // systemd logs the CPU time at info above this
	noticeworthyCPU  = 10 * time.Minute // and at notice above this
	priorityWarning  = 4
)

// newLogSource is what the journal records about the manager's messages: systemd's
// identifier (what `journalctl -t systemd` and log readers look for), and flint's own
// process.
func newLogSource() *logs.Source {
	comm, _ := os.ReadFile("/proc/self/comm")
	exe, _ := os.Executable()
	return &logs.Source{Ident: "systemd", Comm: strings.TrimSpace(string(comm)), Exe: exe,
		Cmdline: logs.Cmdline(os.Args), UID: os.Getuid(), GID: os.Getgid(), Transport: "journal"}
}

// unitStatusName is the unit as systemd 252's status messages name it (StatusUnitFormat=
// combined): "web.service - Web server", or the name alone without a Description=.
func unitStatusName(u *Unit) string {
	if d := u.cfg.Unit.Description; d != "" && d != u.Name {
		return u.Name + " - " + d
	}
	return u.Name
}

// logUnit records a manager message about u at priority info: "u: text", as systemd's
// log_unit_info.
func (m *Manager) logUnit(u *Unit, format string, a ...any) {
	m.logUnitAt(u, logs.PriorityInfo, nil, format, a...)
}

// logUnitAt records "u: text" at priority prio with the journal fields given.
func (m *Manager) logUnitAt(u *Unit, prio int, fields []logs.Field, format string, a ...any) {
	text := format
	if len(a) > 0 {
		text = sprintf(format, a...)
	}
	m.journal(u, prio, fields, u.Name+": "+text)
}

// journal records the manager's message text about u: its MESSAGE as systemd writes it,
// with fields and the unit's invocation id.
func (m *Manager) journal(u *Unit, prio int, fields []logs.Field, text string) {
	if unitLogDropped(u, prio) {
		return // LogLevelMax=
	}
	if u.hs().invocationID != "" {
		name := "INVOCATION_ID"
		if m.opt.Scope == unit.User {
			name = "USER_INVOCATION_ID"
		}
		fields = append(fields, logs.Field{Name: name, Value: u.hs().invocationID})
	}
	m.logs.Append(logs.Line{Unit: u.Name, Stream: "manager", PID: m.pid, Priority: prio, Text: text,
		Source: m.logSource, Fields: fields})
}

func field(name, value string) logs.Field { return logs.Field{Name: name, Value: value} }

// logJobStart is job_emit_start_message: the job of type typ ("start", "stop", "reload";
// the stop half of a restart is "stop") is under way and the unit is not there yet.
func (m *Manager) logJobStart(j *job, typ string) {
	var format, id string
	switch typ {
	case "start":
		format, id = "Starting %s...", msgUnitStarting
	case "stop":
		format, id = "Stopping %s...", msgUnitStopping
	case "reload":
		format, id = "Reloading %s...", msgUnitReloading
	default:
		return
	}
	fields := append(make([]logs.Field, 0, 4), field("MESSAGE_ID", id), field("JOB_ID", strconv.Itoa(j.id)),
		field("JOB_TYPE", typ)) // room for journal's INVOCATION_ID=
	m.journal(j.u, logs.PriorityInfo, fields, sprintf(format, unitStatusName(j.u)))
}

// jobDoneFormat is job_done_message_format: the message (a format for the unit's status
// name) and priority of a job of type typ that ended with result; "" for none.
func jobDoneFormat(u *Unit, typ, result string) (string, int) {
	prio := logs.PriorityInfo
	switch result {
	case "failed", "timeout":
		prio = logs.PriorityErr
	case "dependency", "assert", "unsupported":
		prio = priorityWarning
	case "skipped":
		prio = logs.PriorityNotice
	}
	switch u.cfg.Type {
	case unit.TypeSocket:
		switch {
		case typ == "start" && result == "done":
			return "Listening on %s.", prio
		case typ == "start" && result == "failed":
			return "Failed to listen on %s.", prio
		case typ != "start" && typ != "reload" && result == "done":
			return "Closed %s.", prio
		case typ != "start" && typ != "reload" && result == "failed":
			return "Failed stopping %s.", prio
		}
	case unit.TypeTarget:
		switch {
		case typ == "start" && result == "done":
			return "Reached target %s.", prio
		case typ != "start" && typ != "reload" && result == "done":
			return "Stopped target %s.", prio
		}
	case unit.TypeService:
		if typ == "start" && result == "done" && u.cfg.Service != nil && u.cfg.Service.Type == unit.Oneshot {
			return "Finished %s.", prio
		}
	}
	switch typ {
	case "start":
		switch result {
		case "done":
			return "Started %s.", prio
		case "timeout":
			return "Timed out starting %s.", prio
		case "failed":
			return "Failed to start %s.", prio
		case "dependency":
			return "Dependency failed for %s.", prio
		case "assert":
			return "Assertion failed for %s.", prio
		case "unsupported":
			return "Starting of %s unsupported.", prio
		}
	case "stop", "restart":
		switch result {
		case "done":
			return "Stopped %s.", prio
		case "failed":
			return "Stopped %s with error.", prio
		case "timeout":
			return "Timed out stopping %s.", prio
		}
	case "reload":
		switch result {
		case "done":
			return "Reloaded %s.", prio
		case "failed":
			return "Reload failed for %s.", prio
		case "timeout":
			return "Timed out reloading %s.", prio
		}
	case "verify-active":
		if result == "skipped" {
			return "%s is not active.", prio
		}
	}
	return "", 0
}

// logJobDone is job_emit_done_message: the job j of type typ (a restart's stop half is
// "restart") ended with result.
func (m *Manager) logJobDone(j *job, typ, result string) {
	u := j.u
	var id string
	switch typ {
	case "start":
		id = msgUnitStarted
		if result != "done" {
			id = msgUnitFailed
		}
	case "stop", "restart":
		id = msgUnitStopped
	case "reload":
		id = msgUnitReloaded
	}
	// One allocation for the fields and journal's INVOCATION_ID=.
	fields := make([]logs.Field, 0, 5)
	if id != "" {
		fields = append(fields, field("MESSAGE_ID", id))
	}
	fields = append(fields, field("JOB_ID", strconv.Itoa(j.id)), field("JOB_TYPE", typ), field("JOB_RESULT", result))
	if typ == "start" && result == "done" && !u.hs().conditionResult && u.hs().ex().conditionFailed != "" {
		// A start that did nothing for an unmet Condition*=.
		m.journal(u, logs.PriorityInfo, fields, sprintf("%s was skipped because of an unmet condition check (%s).", unitStatusName(u), u.hs().ex().conditionFailed))
		return
	}
	format, prio := jobDoneFormat(u, typ, result)
	if format == "" {
		return
	}
	m.journal(u, prio, fields, sprintf(format, unitStatusName(u)))
}

// logUnitResult is unit_log_success, unit_log_skip and unit_log_failure: u (a service,
// socket, timer or path unit) is down, with its Result=.
func (m *Manager) logUnitResult(u *Unit) {
	switch u.result {
	case resultSuccess:
		m.logUnitAt(u, logs.PriorityInfo, []logs.Field{field("MESSAGE_ID", msgUnitSuccess)}, "Deactivated successfully.")
	case resultExecCondition:
		m.logUnitAt(u, logs.PriorityInfo, []logs.Field{field("MESSAGE_ID", msgUnitSkipped), field("UNIT_RESULT", u.result.String())},
			"Skipped due to '%s'.", u.result)
	default:
		m.logUnitAt(u, priorityWarning, []logs.Field{field("MESSAGE_ID", msgUnitFailure), field("UNIT_RESULT", u.result.String())},
			"Failed with result '%s'.", u.result)
	}
}

// logResources is unit_log_resources: the CPU time u's processes used since it started
// (from the rusage of every process of u that flint reaped), at info above a second, at
// notice above ten minutes, and not at all below (systemd logs it at debug).
func (m *Manager) logResources(u *Unit) {
	if u.hs().ex().cpu <= mentionworthyCPU {
		return
	}
	prio := logs.PriorityInfo
	if u.hs().ex().cpu > noticeworthyCPU {
		prio = logs.PriorityNotice
	}
	m.logUnitAt(u, prio, []logs.Field{field("CPU_USAGE_NSEC", strconv.FormatInt(u.hs().ex().cpu.Nanoseconds(), 10)),
		field("MESSAGE_ID", msgUnitResources)}, "Consumed %s CPU time.", unit.FormatTimespanAccuracy(u.hs().ex().cpu, time.Millisecond))
}

// logProcessExit is unit_log_process_exit: a main or control process (command, its
// Exec*= name) of u ended with code and status; a clean exit is systemd's debug message,
// which flint does not keep.
func (m *Manager) logProcessExit(u *Unit, kind, command, code string, status int, clean bool) {
	if clean {
		return
	}
	prio := logs.PriorityNotice
	if code != "exited" {
		prio = priorityWarning
	}
	m.logUnitAt(u, prio, []logs.Field{field("MESSAGE_ID", msgProcessExit), field("EXIT_CODE", code),
		field("EXIT_STATUS", strconv.Itoa(status)), field("COMMAND", command)},
		"%s exited, code=%s, status=%s", kind, code, statusString(code, status))
}

// logRestartScheduled is service_enter_restart's message.
func (m *Manager) logRestartScheduled(u *Unit, n int) {
	m.logUnitAt(u, logs.PriorityInfo, []logs.Field{field("MESSAGE_ID", msgRestartSched), field("N_RESTARTS", strconv.Itoa(n))},
		"Scheduled restart job, restart counter is at %d.", n)
}

// logSpawnFailed records what systemd's forked child logs when it cannot run a command:
// the cause (here err's text; systemd words some of them itself), then "Failed at step
// STEP spawning PATH: ERR", both tagged with the child's pid and "(" + the command's name +
// ")", the name systemd's child has until its exec.
func (m *Manager) logSpawnFailed(u *Unit, pid int, path, step string, err error) {
	name := path
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	comm := "(" + name + ")"
	if len(comm) > 15 {
		comm = comm[:14] + ")"
	}
	// The child is the unit's (its _SYSTEMD_UNIT, _SYSTEMD_INVOCATION_ID), still flint's
	// program before its exec.
	src := &logs.Source{Ident: comm, Comm: comm, Exe: m.logSource.Exe, UID: m.logSource.UID, GID: m.logSource.GID,
		Transport: "journal", Invocation: u.hs().invocationID}
	fields := []logs.Field{field("MESSAGE_ID", msgSpawnFailed), field("EXECUTABLE", path)}
	if errno, ok := errors.AsType[syscall.Errno](err); ok {
		fields = append(fields, field("ERRNO", strconv.Itoa(int(errno))))
	}
	if u.hs().invocationID != "" {
		fields = append(fields, field("INVOCATION_ID", u.hs().invocationID))
	}
	cause := unit.Strerror(err)
	if step == "EXEC" {
		// systemd looks the executable up first (ENOENT, EACCES: "Failed to locate"), then
		// execs it.
		text, prio := "%s: Failed to locate executable %s: %s", logs.PriorityInfo
		if !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.EACCES) {
			text, prio = "%s: Failed to execute %s: %s", logs.PriorityErr
		}
		m.logs.Append(logs.Line{Unit: u.Name, Stream: "manager", PID: pid, Priority: prio, Source: src, Fields: fields,
			Text: sprintf(text, u.Name, path, cause)})
	}
	m.logs.Append(logs.Line{Unit: u.Name, Stream: "manager", PID: pid, Priority: logs.PriorityErr, Source: src, Fields: fields,
		Text: sprintf("%s: Failed at step %s spawning %s: %s", u.Name, step, path, cause)})
}
