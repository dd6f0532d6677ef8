package api

// Verb names a control request (Request.Verb).
type Verb string

// The verbs the manager answers. Verbs (below) says, for each, who may send it, what it
// answers and which request fields it reads.
const (
	VerbPing               Verb = "ping"
	VerbUnitPaths          Verb = "unit-paths"
	VerbManagerProperties  Verb = "manager-properties"
	VerbStart              Verb = "start"
	VerbStop               Verb = "stop"
	VerbRestart            Verb = "restart"
	VerbReload             Verb = "reload"
	VerbTryRestart         Verb = "try-restart"
	VerbReloadOrRestart    Verb = "reload-or-restart"
	VerbTryReloadOrRestart Verb = "try-reload-or-restart"
	VerbStatus             Verb = "status"
	VerbShow               Verb = "show"
	VerbListUnits          Verb = "list-units"
	VerbListSockets        Verb = "list-sockets"
	VerbListTimers         Verb = "list-timers"
	VerbListDependencies   Verb = "list-dependencies"
	VerbListJobs           Verb = "list-jobs"
	VerbIsActive           Verb = "is-active"
	VerbIsFailed           Verb = "is-failed"
	VerbLogs               Verb = "logs"
	VerbShowEnvironment    Verb = "show-environment"
	VerbUnitByPID          Verb = "unit-by-pid"
	VerbDaemonReload       Verb = "daemon-reload"
	VerbDaemonReexec       Verb = "daemon-reexec"
	VerbKill               Verb = "kill"
	VerbResetFailed        Verb = "reset-failed"
	VerbClean              Verb = "clean"
	VerbSetEnvironment     Verb = "set-environment"
	VerbUnsetEnvironment   Verb = "unset-environment"
	VerbSetProperty        Verb = "set-property"
	VerbSetExitCode        Verb = "set-exit-code"
	VerbExit               Verb = "exit"
	VerbPoweroff           Verb = "poweroff"
	VerbHalt               Verb = "halt"
	VerbReboot             Verb = "reboot"
)

// Kind is what a verb does and answers.
type Kind int

const (
	// Query reads state: one response with the verb's data.
	Query Kind = iota
	// Job enqueues one job per unit and answers []JobResult (after the jobs end, unless
	// no_block).
	Job
	// Action changes the manager's state: one response without data.
	Action
	// Stream answers with a response per batch of data ([]LogLine), for a followed log
	// until the client hangs up.
	Stream
)

func (k Kind) String() string {
	switch k {
	case Query:
		return "query"
	case Job:
		return "job"
	case Action:
		return "action"
	case Stream:
		return "stream"
	}
	return "kind?"
}

// VerbInfo describes one verb.
type VerbInfo struct {
	Verb Verb
	// ReadOnly: the verb only reads state, and any uid may send it; the others need root or
	// the manager's own uid.
	ReadOnly bool
	Kind     Kind
	// Fields are the request fields (their JSON names) the verb reads besides verb; the
	// others are ignored.
	Fields []string
}

// Verbs is every verb the manager answers, in the order docs/api.md lists them.
var Verbs = []VerbInfo{
	{VerbPing, true, Query, nil},
	{VerbUnitPaths, true, Query, nil},
	{VerbManagerProperties, true, Query, nil},
	{VerbShowEnvironment, true, Query, nil},
	{VerbSetEnvironment, false, Action, []string{"env"}},
	{VerbUnsetEnvironment, false, Action, []string{"env"}},
	{VerbSetProperty, false, Action, []string{"units", "env", "runtime"}},
	{VerbUnitByPID, true, Query, []string{"pid"}},
	{VerbDaemonReexec, false, Action, nil},
	{VerbStart, false, Job, jobFields},
	{VerbStop, false, Job, jobFields},
	{VerbRestart, false, Job, jobFields},
	{VerbReload, false, Job, jobFields},
	{VerbTryRestart, false, Job, jobFields},
	{VerbReloadOrRestart, false, Job, jobFields},
	{VerbTryReloadOrRestart, false, Job, jobFields},
	{VerbStatus, true, Query, []string{"units", "props", "lines"}},
	{VerbShow, true, Query, []string{"units", "props"}},
	{VerbListUnits, true, Query, []string{"units", "all", "types", "states"}},
	{VerbListSockets, true, Query, []string{"units", "all"}},
	{VerbListTimers, true, Query, []string{"units", "all"}},
	{VerbListDependencies, true, Query, []string{"units", "all", "reverse"}},
	{VerbListJobs, true, Query, nil},
	{VerbIsActive, true, Query, []string{"units"}},
	{VerbIsFailed, true, Query, []string{"units"}},
	{VerbDaemonReload, false, Action, nil},
	{VerbKill, false, Action, []string{"units", "signal", "kill_whom"}},
	{VerbResetFailed, false, Action, []string{"units"}},
	{VerbClean, false, Action, []string{"units", "what", "no_block"}},
	{VerbSetExitCode, false, Action, []string{"exit_code"}},
	{VerbExit, false, Action, nil},
	{VerbPoweroff, false, Action, nil},
	{VerbHalt, false, Action, nil},
	{VerbReboot, false, Action, nil},
	{VerbLogs, true, Stream, []string{"units", "lines", "follow", "since", "match", "range", "cursors"}},
}

var jobFields = []string{"units", "no_block", "mode"}

var verbIndex = func() map[Verb]int {
	idx := make(map[Verb]int, len(Verbs))
	for i, v := range Verbs {
		idx[v.Verb] = i
	}
	return idx
}()

// Lookup returns the description of a verb; ok is false for a verb the manager does not
// know.
func Lookup(v Verb) (info VerbInfo, ok bool) {
	i, ok := verbIndex[v]
	if !ok {
		return VerbInfo{}, false
	}
	return Verbs[i], true
}

// ReadOnly reports whether v only reads state (any uid may send it). An unknown verb is not
// read-only.
func (v Verb) ReadOnly() bool {
	info, ok := Lookup(v)
	return ok && info.ReadOnly
}

// Known reports whether the manager answers v.
func (v Verb) Known() bool {
	_, ok := verbIndex[v]
	return ok
}
