// Package client is the Go client of flint's control API (package api defines the protocol,
// docs/api.md describes it). The flint CLI talks to the manager only through this package.
package client

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/flint-init/flint/api"
)

// The protocol's types, under the names this package has always given them.
type (
	Verb       = api.Verb
	Request    = api.Request
	Response   = api.Response
	JobResult  = api.JobResult
	Property   = api.Property
	UnitStatus = api.UnitStatus
	UnitInfo   = api.UnitInfo
	SocketInfo = api.SocketInfo
	TimerInfo  = api.TimerInfo
	LogLine    = api.LogLine
	LogMatch   = api.LogMatch
	LogRange   = api.LogRange
	LogField   = api.LogField
	DepNode    = api.DepNode
	Process    = api.Process
	Overview   = api.Overview
	JobInfo    = api.JobInfo
	UnitPaths  = api.UnitPaths
)

// ErrNoManager is returned (wrapped) when nothing answers on the control socket.
var ErrNoManager = errors.New("no manager is running")

// Error is an error reply from the manager.
type Error struct {
	Code string // not-found, permission, bad-request, limit, log-access, ...
	Msg  string
	Hint string // printed before Msg, if any (log-access: who may read logs)
}

func (e *Error) Error() string { return e.Msg }

// Client talks to one manager.
type Client struct {
	Path string
	// Timeout bounds connecting; 0 means 5s. Requests themselves wait as long as their job runs.
	Timeout time.Duration
}

// New returns a client for the control socket at path.
func New(path string) *Client { return &Client{Path: path} }

// Stream sends req and calls fn for each response line until the one with Done, or until fn
// returns an error (then the connection is closed and that error returned).
func (c *Client) Stream(req *Request, fn func(*Response) error) error {
	to := c.Timeout
	if to == 0 {
		to = 5 * time.Second
	}
	conn, err := dial(c.Path, to)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || isConnRefused(err) {
			return fmt.Errorf("%s: %w", c.Path, ErrNoManager)
		}
		return fmt.Errorf("connect to manager at %s: %w", c.Path, err)
	}
	defer conn.Close()
	b, err := req.AppendJSON(make([]byte, 0, 256))
	if err != nil {
		return err
	}
	_, werr := conn.Write(append(b, '\n'))
	dec := json.NewDecoder(bufio.NewReader(conn))
	for {
		var r Response
		if err := dec.Decode(&r); err != nil {
			if werr != nil {
				return fmt.Errorf("send request: %w", werr)
			}
			return fmt.Errorf("read reply: %w", err)
		}
		if r.Error != "" {
			// Also after a failed write: a manager over its connection limits answers
			// before it reads, and closes.
			return &Error{Code: r.Code, Msg: r.Error, Hint: r.Hint}
		}
		if werr != nil {
			return fmt.Errorf("send request: %w", werr)
		}
		if err := fn(&r); err != nil {
			return err
		}
		if r.Done {
			return nil
		}
	}
}

// Do sends req and decodes the data of the final response into out (if out is not nil).
func (c *Client) Do(req *Request, out any) error {
	var last *Response
	err := c.Stream(req, func(r *Response) error { last = r; return nil })
	if err != nil {
		return err
	}
	if out != nil && last != nil && len(last.Data) > 0 {
		return json.Unmarshal(last.Data, out)
	}
	return nil
}

// Jobs runs a job verb (an api.Verbs entry of kind api.Job: start, stop, ...) on units.
// Unless noBlock, it returns after the jobs finished, with their results.
func (c *Client) Jobs(verb Verb, units []string, noBlock bool) ([]JobResult, error) {
	return c.JobsMode(verb, units, noBlock, "")
}

// JobsMode is Jobs in a job mode (systemctl's --job-mode=: fail, replace,
// replace-irreversibly, isolate, flush, ignore-dependencies, ignore-requirements; "" is
// replace).
func (c *Client) JobsMode(verb Verb, units []string, noBlock bool, mode string) ([]JobResult, error) {
	var res []JobResult
	err := c.Do(&Request{Verb: verb, Units: units, NoBlock: noBlock, Mode: mode}, &res)
	return res, err
}

// Status returns the status of units (all loaded units if none given).
func (c *Client) Status(units []string, lines int) ([]UnitStatus, error) {
	var res []UnitStatus
	err := c.Do(&Request{Verb: api.VerbStatus, Units: units, Lines: lines}, &res)
	return res, err
}

// Show returns the properties of units (props empty = all).
func (c *Client) Show(units []string, props []string) ([]UnitStatus, error) {
	var res []UnitStatus
	err := c.Do(&Request{Verb: api.VerbShow, Units: units, Props: props}, &res)
	return res, err
}

// ListUnits returns the loaded units as list-units filters them: patterns (globs, empty =
// all), types (service, socket, ...), states (load, active or sub states); without all and
// states, inactive units without a job are left out.
func (c *Client) ListUnits(all bool, types, states, patterns []string) ([]UnitInfo, error) {
	var res []UnitInfo
	err := c.Do(&Request{Verb: api.VerbListUnits, All: all, Types: types, States: states, Units: patterns}, &res)
	return res, err
}

// ListSockets returns the listening sockets.
func (c *Client) ListSockets(all bool) ([]SocketInfo, error) {
	var res []SocketInfo
	err := c.Do(&Request{Verb: api.VerbListSockets, All: all}, &res)
	return res, err
}

// Logs returns captured log lines; with follow, fn is called for each new line until it
// returns an error.
func (c *Client) Logs(req *Request, fn func(LogLine) error) error { return c.LogsHint(req, nil, fn) }

// LogsHint is Logs, and calls hint (when not nil) with the hint the manager sends with the
// lines (journalctl's, to a user who sees only its own lines) before the first of them.
func (c *Client) LogsHint(req *Request, hint func(string), fn func(LogLine) error) error {
	req.Verb = api.VerbLogs
	return c.Stream(req, func(r *Response) error {
		if r.Hint != "" && hint != nil {
			hint(r.Hint)
			hint = nil
		}
		if len(r.Data) == 0 {
			return nil
		}
		var lines []LogLine
		if err := json.Unmarshal(r.Data, &lines); err != nil {
			return err
		}
		for _, l := range lines {
			if err := fn(l); err != nil {
				return err
			}
		}
		return nil
	})
}

// ListDependencies returns the dependency tree of name ("" = default.target) in tree order.
// all expands every unit (not only targets); reverse lists what depends on name.
func (c *Client) ListDependencies(name string, all, reverse bool) ([]DepNode, error) {
	req := &Request{Verb: api.VerbListDependencies, All: all, Reverse: reverse}
	if name != "" {
		req.Units = []string{name}
	}
	var res []DepNode
	err := c.Do(req, &res)
	return res, err
}

// ActiveStates returns the ActiveState of each unit, in order ("inactive" for unknown units).
func (c *Client) ActiveStates(units []string) ([]string, error) {
	var res []string
	err := c.Do(&Request{Verb: api.VerbIsActive, Units: units}, &res)
	return res, err
}

// Clean removes what units keep on disk (systemctl clean): the kinds of what (runtime,
// state, cache, logs, configuration, all; none: cache and runtime). Unless noBlock it
// returns once the removals are over. An error names each unit that could not be cleaned.
func (c *Client) Clean(units, what []string, noBlock bool) error {
	return c.Do(&Request{Verb: api.VerbClean, Units: units, What: what, NoBlock: noBlock}, nil)
}

// Kill sends signal (0 = SIGTERM) to the processes of units: whom is all, main or control.
func (c *Client) Kill(units []string, signal int, whom string) error {
	return c.Do(&Request{Verb: api.VerbKill, Units: units, Signal: signal, KillWhom: whom}, nil)
}

// DaemonReload makes the manager re-read the unit files.
func (c *Client) DaemonReload() error { return c.Do(&Request{Verb: api.VerbDaemonReload}, nil) }

// ResetFailed resets the failed state of units (all units if none given).
func (c *Client) ResetFailed(units []string) error {
	return c.Do(&Request{Verb: api.VerbResetFailed, Units: units}, nil)
}

// Ping checks that a manager answers and returns its pid.
func (c *Client) Ping() (int, error) {
	ov, err := c.Overview()
	return ov.PID, err
}

// Overview returns the manager's state and counts (the ping verb).
func (c *Client) Overview() (Overview, error) {
	var ov Overview
	err := c.Do(&Request{Verb: api.VerbPing}, &ov)
	return ov, err
}

// ListJobs returns the queued and running jobs, oldest first.
func (c *Client) ListJobs() ([]JobInfo, error) {
	var res []JobInfo
	err := c.Do(&Request{Verb: api.VerbListJobs}, &res)
	return res, err
}

// UnitPaths returns where the manager reads unit files and where the file verbs write for it.
func (c *Client) UnitPaths() (UnitPaths, error) {
	var p UnitPaths
	err := c.Do(&Request{Verb: api.VerbUnitPaths}, &p)
	return p, err
}

// ManagerProperties returns the manager's own properties under systemd's names, in
// systemctl's text form and order (systemctl show without a unit).
func (c *Client) ManagerProperties() ([]Property, error) {
	var p []Property
	err := c.Do(&Request{Verb: api.VerbManagerProperties}, &p)
	return p, err
}

// Environment returns the manager's environment block, KEY=VALUE in its order.
func (c *Client) Environment() ([]string, error) {
	var env []string
	err := c.Do(&Request{Verb: api.VerbShowEnvironment}, &env)
	return env, err
}

// SetEnvironment adds or replaces assignments (KEY=VALUE) in the manager's environment.
func (c *Client) SetEnvironment(assignments []string) error {
	return c.Do(&Request{Verb: api.VerbSetEnvironment, Env: assignments}, nil)
}

// UnsetEnvironment removes variables (by name, or KEY=VALUE: only with that value) from the
// manager's environment.
func (c *Client) UnsetEnvironment(names []string) error {
	return c.Do(&Request{Verb: api.VerbUnsetEnvironment, Env: names}, nil)
}

// SetProperty changes properties (Name=value) of a unit, as set-property: the manager writes
// a drop-in (runtime: one that lasts until it exits) and applies them.
func (c *Client) SetProperty(unit string, assignments []string, runtime bool) error {
	return c.Do(&Request{Verb: api.VerbSetProperty, Units: []string{unit}, Env: assignments, Runtime: runtime}, nil)
}

// UnitByPID returns the unit a process belongs to.
func (c *Client) UnitByPID(pid int) (string, error) {
	var name string
	err := c.Do(&Request{Verb: api.VerbUnitByPID, PID: pid}, &name)
	return name, err
}

// Simple sends a verb with units and no reply data (daemon-reload, kill, reset-failed, ...).
func (c *Client) Simple(req *Request) error { return c.Do(req, nil) }
