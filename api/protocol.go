// Package api is flint's control protocol: newline-delimited JSON over a unix stream socket.
// A client sends one Request per connection and reads Responses until one has Done set (or, for
// a followed log, until it closes the connection). Verbs lists every verb with who may send it
// (ReadOnly verbs: any uid; the others: root and the manager's own uid), what it answers
// (Kind) and the request fields it reads. The types are the wire format; the Go client is
// package client, the server internal/control. docs/api.md describes the protocol for clients
// in other languages.
package api

import (
	"encoding/json"
	"time"
)

// MaxRequestSize bounds one request line; a longer one is refused.
const MaxRequestSize = 1 << 20

// Request is one control request.
type Request struct {
	Verb  Verb     `json:"verb"`            // one of Verbs
	Units []string `json:"units,omitempty"` // unit names or patterns
	// Options per verb.
	NoBlock  bool      `json:"no_block,omitempty"`
	Mode     string    `json:"mode,omitempty"` // job mode (systemctl --job-mode=); empty is replace
	All      bool      `json:"all,omitempty"`
	Types    []string  `json:"types,omitempty"`
	States   []string  `json:"states,omitempty"`
	Props    []string  `json:"props,omitempty"`
	Signal   int       `json:"signal,omitempty"`
	KillWhom string    `json:"kill_whom,omitempty"`
	Lines    int       `json:"lines,omitempty"`
	Follow   bool      `json:"follow,omitempty"`
	Since    time.Time `json:"since,omitempty"`
	Reverse  bool      `json:"reverse,omitempty"`
	// logs as journalctl selects entries: Match narrows them, Range positions them (it
	// replaces lines and since); Cursors asks for each line's cursor.
	Match   *LogMatch `json:"match,omitempty"`
	Range   *LogRange `json:"range,omitempty"`
	Cursors bool      `json:"cursors,omitempty"`
	// ExitCode is set-exit-code's code (0-255); a pointer, as 0 is a code.
	ExitCode *int `json:"exit_code,omitempty"`
	// Env are set-environment's assignments, unset-environment's names or assignments, and
	// set-property's assignments (Units then names the one unit).
	Env []string `json:"env,omitempty"`
	// Runtime: set-property --runtime (until the manager exits).
	Runtime bool `json:"runtime,omitempty"`
	// PID is unit-by-pid's process.
	PID int `json:"pid,omitempty"`
	// What are clean's kinds: runtime, state, cache, logs, configuration, all (none: cache
	// and runtime).
	What []string `json:"what,omitempty"`
}

// Response is one reply line. Error is set on failure; Done marks the last line of a reply.
type Response struct {
	Done  bool   `json:"done,omitempty"`
	Error string `json:"error,omitempty"`
	// Code is the machine-readable error class: not-found, permission, bad-request, limit
	// (a limit on connections or followed logs, named in Error), log-access (the peer may
	// not read log lines), ...
	Code string `json:"code,omitempty"`
	// Hint goes with some errors: what the client prints before Error (journalctl's hint
	// about who may read logs, with log-access).
	Hint string          `json:"hint,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

// JobResult is the outcome of one job, as systemctl reports it. A job verb answers with one
// JobResult per unit named, in order, and no error: a unit whose job could not even be
// enqueued has Error set (and Result empty).
type JobResult struct {
	Unit string `json:"unit"`
	Job  string `json:"job"` // start, stop, ...
	// Result is the job's result: done, failed, canceled, timeout, dependency, skipped,
	// invalid, assert, unsupported; "queued" with no_block.
	Result string `json:"result,omitempty"`
	// UnitResult is the unit's own Result property after a failed job (exit-code, signal,
	// timeout, core-dump, start-limit-hit, resources, ...), from which systemctl words its
	// message.
	UnitResult string `json:"unit_result,omitempty"`
	// Error is why no job was enqueued ("Unit foo.service not found."), with ErrorCode one of
	// not-found, not-loaded, masked, bad-setting, refused, not-applicable, invalid-name,
	// transaction (the jobs could not be made consistent), destructive (they would replace
	// a queued job that the job mode protects).
	Error     string `json:"error,omitempty"`
	ErrorCode string `json:"error_code,omitempty"`
	// NeedDaemonReload: the unit's files changed on disk since it was loaded, which
	// systemctl warns about when it enqueues the job.
	NeedDaemonReload bool `json:"need_daemon_reload,omitempty"`
	// ActiveTriggers are, after a stop job, the units that trigger the unit (its sockets)
	// and are still active: systemctl warns that they can start it again.
	ActiveTriggers []string `json:"active_triggers,omitempty"`
}

// Property is a systemd-named property with its systemctl-formatted value.
type Property struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// UnitStatus is what `status` returns for one unit.
type UnitStatus struct {
	Name  string     `json:"name"`
	Props []Property `json:"props"`
	Logs  []LogLine  `json:"logs,omitempty"`
	// LogsWithheld: the unit has log lines that this peer may not read (systemctl status
	// then warns that some journal files were not opened).
	LogsWithheld bool      `json:"logs_withheld,omitempty"`
	Processes    []Process `json:"processes,omitempty"`
}

// Process is one process that belongs to a unit.
type Process struct {
	PID     int    `json:"pid"`
	Command string `json:"command"`
	// CGroup is the process's cgroup below the unit's ("" the unit's own, "bar.service" in
	// a slice), when the unit has a cgroup: status prints the tree.
	CGroup string `json:"cgroup,omitempty"`
}

// UnitInfo is one row of list-units.
type UnitInfo struct {
	Name        string `json:"unit"`
	Load        string `json:"load"`
	Active      string `json:"active"`
	Sub         string `json:"sub"`
	Job         string `json:"job,omitempty"` // type of the pending job, if any
	Description string `json:"description"`
}

// DepNode is one line of list-dependencies: a unit, its ActiveState and its depth in the
// tree (0 for the unit asked about), in tree order.
type DepNode struct {
	Unit   string `json:"unit"`
	Active string `json:"active"`
	Depth  int    `json:"depth"`
}

// SocketInfo is one row of list-sockets.
type SocketInfo struct {
	Listen    string   `json:"listen"`
	Type      string   `json:"type"`
	Unit      string   `json:"unit"`
	Activates []string `json:"activates"`
}

// TimerInfo is one row of list-timers: the next elapse (zero: none), the last trigger (zero:
// never), the timer and the unit it starts.
type TimerInfo struct {
	Next      time.Time `json:"next,omitzero"`
	Last      time.Time `json:"last,omitzero"`
	Unit      string    `json:"unit"`
	Activates []string  `json:"activates"`
}

// LogMatch narrows the lines of logs (units are the request's units, which may be
// journalctl's glob patterns): by SYSLOG_IDENTIFIER (journalctl -t), by priority
// (Priorities has bit n set for priority n; 0: all) and by a regular expression on the
// message (Go's syntax; journalctl -g).
type LogMatch struct {
	Identifiers []string `json:"identifiers,omitempty"`
	Priorities  int      `json:"priorities,omitempty"`
	Grep        string   `json:"grep,omitempty"`
}

// LogRange positions the lines of logs as journalctl does: from a cursor (a line's
// cursor; just after it with after_cursor), else from since, else the last lines; newest
// first with reverse; at most lines lines (-1: all), none after until (before since going
// backward).
type LogRange struct {
	Lines       int       `json:"lines"`
	Since       time.Time `json:"since,omitzero"`
	Until       time.Time `json:"until,omitzero"`
	Cursor      string    `json:"cursor,omitempty"`
	AfterCursor bool      `json:"after_cursor,omitempty"`
	Reverse     bool      `json:"reverse,omitempty"`
}

// LogLine is one log entry: a unit's output line or the manager's message about a unit,
// with what the journal records about it.
type LogLine struct {
	Time   time.Time `json:"time"`
	Mono   int64     `json:"monotonic_usec,omitempty"` // CLOCK_MONOTONIC when stored
	Unit   string    `json:"unit"`
	Stream string    `json:"stream"` // stdout, stderr or manager
	PID    int       `json:"pid,omitempty"`
	Prio   int       `json:"priority"`
	Text   string    `json:"text"`
	// The writer: SYSLOG_IDENTIFIER, _COMM, _EXE, _CMDLINE, _UID, _GID, _TRANSPORT
	// (stdout or journal), and for a unit's output its _SYSTEMD_INVOCATION_ID and
	// _STREAM_ID.
	Ident      string `json:"identifier,omitempty"`
	Comm       string `json:"comm,omitempty"`
	Exe        string `json:"exe,omitempty"`
	Cmdline    string `json:"cmdline,omitempty"`
	UID        int    `json:"uid"`
	GID        int    `json:"gid"`
	Transport  string `json:"transport,omitempty"`
	Invocation string `json:"invocation_id,omitempty"`
	StreamID   string `json:"stream_id,omitempty"`
	// Fields are the manager's further journal fields (MESSAGE_ID, JOB_ID, EXIT_CODE, ...),
	// in order.
	Fields []LogField `json:"fields,omitempty"`
	Cursor string     `json:"cursor,omitempty"` // with cursors
}

// LogField is one NAME=value journal field.
type LogField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Overview is the reply to ping: the manager's pid, state (starting, running, degraded,
// stopping, as systemctl is-system-running words it), how many units it has loaded, how many
// jobs are queued, how many units failed, and when it started; then what its control socket
// holds (connections and followed logs, this ping's included) and its goroutines, which tell
// whether clients that left were let go. (Where it finds units: unit-paths.)
type Overview struct {
	PID                int       `json:"pid"`
	State              string    `json:"state"`
	Units              int       `json:"units"`
	Jobs               int       `json:"jobs"`
	Failed             int       `json:"failed"`
	Since              time.Time `json:"since"`
	StartMonotonicUsec int64     `json:"start_monotonic_usec"`
	Connections        int       `json:"connections"`
	Follows            int       `json:"follows"`
	Goroutines         int       `json:"goroutines"`
	Cgroups            string    `json:"cgroups"` // how the units' processes are tracked
}

// JobInfo is one row of list-jobs: a queued or running job.
type JobInfo struct {
	ID    int    `json:"id"`
	Unit  string `json:"unit"`
	Type  string `json:"type"`  // start, stop, restart, reload, verify-active
	State string `json:"state"` // waiting, running
}

// UnitPaths is the reply to unit-paths: where the manager reads unit files, and where the
// file verbs (enable, mask, edit, set-property, ...) write for it. Directories it does not
// have are empty.
type UnitPaths struct {
	Scope      string   `json:"scope"`       // system or user
	SearchPath []string `json:"search_path"` // highest priority first
	Config     string   `json:"config"`      // enable, mask, edit, set-default
	Runtime    string   `json:"runtime,omitempty"`
	Control    string   `json:"control,omitempty"` // set-property
	// RuntimeControl is set-property --runtime's directory.
	RuntimeControl string `json:"runtime_control,omitempty"`
	// Explicit: the search path is the manager's --units directories (flint's built-in
	// standard targets complete it).
	Explicit bool `json:"explicit,omitempty"`
}
