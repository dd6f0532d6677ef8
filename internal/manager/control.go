package manager

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"syscall"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/internal/control"
	"github.com/flint-init/flint/internal/logs"
)

// handler answers the requests of one verb. A verb of kind api.Stream has stream, which sends
// its responses itself; the others have answer, whose data (or error) is the one response,
// and then, after a successful reply, after (what must happen once the client has its
// answer).
type handler struct {
	answer func(m *Manager, req *api.Request, peer *control.Peer) (any, error)
	stream func(m *Manager, ctx context.Context, req *api.Request, peer *control.Peer, send func(*api.Response) error)
	after  func(m *Manager, req *api.Request)
}

// handlers answer every verb of api.Verbs (TestHandlersCoverVerbs holds them to it).
var handlers = map[api.Verb]handler{
	api.VerbPing:               {answer: (*Manager).answerPing},
	api.VerbUnitPaths:          {answer: inLoop((*Manager).unitPaths)},
	api.VerbShowEnvironment:    {answer: answerEnvironment},
	api.VerbSetEnvironment:     {answer: answerEnvironment},
	api.VerbUnsetEnvironment:   {answer: answerEnvironment},
	api.VerbSetProperty:        {answer: action((*Manager).setProperty)},
	api.VerbUnitByPID:          {answer: answerUnitByPID},
	api.VerbDaemonReexec:       {answer: answerDaemonReload},
	api.VerbStart:              {answer: answerJobs},
	api.VerbStop:               {answer: answerJobs},
	api.VerbRestart:            {answer: answerJobs},
	api.VerbReload:             {answer: answerJobs},
	api.VerbTryRestart:         {answer: answerJobs},
	api.VerbReloadOrRestart:    {answer: answerJobs},
	api.VerbTryReloadOrRestart: {answer: answerJobs},
	api.VerbStatus:             {answer: answerStatus},
	api.VerbShow:               {answer: answerStatus},
	api.VerbManagerProperties:  {answer: query((*Manager).managerProperties)},
	api.VerbListUnits:          {answer: query((*Manager).listUnits)},
	api.VerbListSockets:        {answer: query((*Manager).listSockets)},
	api.VerbListTimers:         {answer: query((*Manager).listTimers)},
	api.VerbListDependencies:   {answer: answerListDependencies},
	api.VerbListJobs:           {answer: inLoop((*Manager).listJobs)},
	api.VerbIsActive:           {answer: query((*Manager).activeStates)},
	api.VerbIsFailed:           {answer: query((*Manager).activeStates)},
	api.VerbDaemonReload:       {answer: answerDaemonReload},
	api.VerbKill:               {answer: action((*Manager).killRequest)},
	api.VerbResetFailed:        {answer: action(func(m *Manager, req *api.Request) error { return m.resetFailed(req.Units) })},
	api.VerbClean:              {answer: answerClean},
	api.VerbSetExitCode:        {answer: answerSetExitCode},
	api.VerbExit:               quitHandler,
	api.VerbPoweroff:           quitHandler,
	api.VerbHalt:               quitHandler,
	api.VerbReboot:             quitHandler,
	api.VerbLogs:               {stream: (*Manager).serveLogs},
}

// handleRequest serves one control request (on the API server's goroutine; state is only
// touched inside m.call closures).
func (m *Manager) handleRequest(ctx context.Context, req *api.Request, peer *control.Peer, send func(*api.Response) error) {
	h, ok := handlers[req.Verb]
	switch {
	case !ok:
		send(&api.Response{Done: true, Code: "bad-request", Error: fmt.Sprintf("unknown verb %q", req.Verb)})
	case h.stream != nil:
		h.stream(m, ctx, req, peer, send)
	default:
		v, err := h.answer(m, req, peer)
		send(replyOf(v, err))
		if err == nil && h.after != nil {
			h.after(m, req)
		}
	}
}

// replyOf is the one response of a request that answered v (nil: no data) or failed with
// err (a *reqError has its code; any other error is "failed").
func replyOf(v any, err error) *api.Response {
	if err != nil {
		code := "failed"
		if e, ok := err.(*reqError); ok {
			code = e.code
		}
		return &api.Response{Done: true, Error: err.Error(), Code: code}
	}
	if v == nil {
		return &api.Response{Done: true}
	}
	data, err := json.Marshal(v)
	if err != nil {
		return &api.Response{Done: true, Error: err.Error(), Code: "failed"}
	}
	return &api.Response{Done: true, Data: data}
}

// query makes a handler of a read that needs the request and never fails; it runs in the
// manager's loop.
func query[T any](f func(m *Manager, req *api.Request) T) func(*Manager, *api.Request, *control.Peer) (any, error) {
	return func(m *Manager, req *api.Request, _ *control.Peer) (any, error) {
		var out T
		m.call(func() { out = f(m, req) })
		return out, nil
	}
}

// inLoop makes a handler of a read that needs nothing of the request.
func inLoop[T any](f func(m *Manager) T) func(*Manager, *api.Request, *control.Peer) (any, error) {
	return query(func(m *Manager, _ *api.Request) T { return f(m) })
}

// action makes a handler of a change that answers no data; it runs in the manager's loop.
func action(f func(m *Manager, req *api.Request) error) func(*Manager, *api.Request, *control.Peer) (any, error) {
	return func(m *Manager, req *api.Request, _ *control.Peer) (any, error) {
		var err error
		m.call(func() { err = f(m, req) })
		return nil, err
	}
}

func (m *Manager) answerPing(_ *api.Request, _ *control.Peer) (any, error) {
	var ov api.Overview
	m.call(func() { ov = m.overview() })
	ov.PID, ov.StartMonotonicUsec = syscall.Getpid(), monotonicUsec(m.bootTime)
	ov.Connections, ov.Follows = m.api.Counts()
	ov.Goroutines = runtime.NumGoroutine()
	return ov, nil
}

// answerJobs runs the job verbs; it waits for the jobs outside the loop (runJobs).
func answerJobs(m *Manager, req *api.Request, _ *control.Peer) (any, error) {
	res, err := m.runJobs(req)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// statusChunk is how many of the names of a status or show request one turn of the
// manager's loop answers: a request naming thousands of units (each a lookup, perhaps a
// load, and all its properties) does not hold the loop while other requests, root's among
// them, wait.
const statusChunk = 64

// answerStatus answers status and show: the log lines of status only to a peer that may
// read them. The names are answered statusChunk at a time; a unit named twice (or matched
// by two patterns) is answered once, where first named.
func answerStatus(m *Manager, req *api.Request, peer *control.Peer) (any, error) {
	var out []api.UnitStatus
	var err error
	var own func(*logs.Line) bool
	if !peer.ReadsLogs && req.Verb == api.VerbStatus {
		own = m.ownLines(peer)
	}
	if len(req.Units) <= statusChunk {
		m.call(func() { out, err = m.statusOf(req, peer.ReadsLogs, own) })
		return out, err
	}
	seen := map[string]bool{}
	for i := 0; i < len(req.Units); i += statusChunk {
		part := *req
		part.Units = req.Units[i:min(i+statusChunk, len(req.Units))]
		var sts []api.UnitStatus
		m.call(func() { sts, err = m.statusOf(&part, peer.ReadsLogs, own) })
		if err != nil {
			return nil, err
		}
		for _, st := range sts {
			if !seen[st.Name] {
				seen[st.Name] = true
				out = append(out, st)
			}
		}
	}
	return out, nil
}

func answerListDependencies(m *Manager, req *api.Request, _ *control.Peer) (any, error) {
	var out []api.DepNode
	var err error
	m.call(func() { out, err = m.listDependencies(req) })
	return out, err
}

// answerDaemonReload answers daemon-reload and daemon-reexec: until flint re-executes
// itself, a re-exec is what daemon-reload does (every unit file read anew, the running
// services kept, as systemd keeps them across one).
func answerDaemonReload(m *Manager, _ *api.Request, _ *control.Peer) (any, error) {
	m.call(func() { m.daemonReload() })
	return nil, nil
}

// answerEnvironment answers show-environment with the block, set- and unset-environment
// with no data.
func answerEnvironment(m *Manager, req *api.Request, _ *control.Peer) (any, error) {
	var out []string
	var err error
	m.call(func() { out, err = m.environmentRequest(req) })
	if err != nil || req.Verb != api.VerbShowEnvironment {
		return nil, err
	}
	return out, nil
}

func answerUnitByPID(m *Manager, req *api.Request, _ *control.Peer) (any, error) {
	var name string
	var err error
	m.call(func() { name, err = m.unitByPID(req.PID) })
	if err != nil {
		return nil, err
	}
	return name, nil
}

func answerSetExitCode(m *Manager, req *api.Request, _ *control.Peer) (any, error) {
	if req.ExitCode == nil {
		return nil, &reqError{"bad-request", "set-exit-code needs exit_code."}
	}
	var err error
	m.call(func() { err = m.setExitCode(*req.ExitCode) })
	return nil, err
}

// quitHandler answers exit, poweroff, halt and reboot (systemctl --force VERB, actions.go).
// The reply goes out before the objective is set: the manager may be gone soon after.
var quitHandler = handler{
	answer: func(m *Manager, req *api.Request, _ *control.Peer) (any, error) {
		var err error
		m.call(func() { err = m.quitRefusal(string(req.Verb)) })
		return nil, err
	},
	after: func(m *Manager, req *api.Request) { m.post(func() { m.quitObjective(string(req.Verb)) }) },
}

// activeStates answers is-active and is-failed: the ActiveState of each unit named
// ("inactive" for one that is not loaded).
func (m *Manager) activeStates(req *api.Request) []string {
	var out []string
	for _, n := range req.Units {
		u, ok := m.units[n]
		if !ok {
			out = append(out, "inactive")
			continue
		}
		out = append(out, u.activeState().String())
	}
	return out
}

// listJobs answers list-jobs: the queued and running jobs, oldest first.
func (m *Manager) listJobs() []api.JobInfo {
	var out []api.JobInfo
	for _, j := range m.sortedJobs() {
		st := "waiting"
		if j.running {
			st = "running"
		}
		out = append(out, api.JobInfo{ID: j.id, Unit: j.u.Name, Type: j.typ, State: st})
	}
	return out
}

// overview is what `ping` answers (and `flint status` without units shows): the manager's
// state, counts of units, jobs and failed units, and its start time.
func (m *Manager) overview() api.Overview {
	ov := api.Overview{Since: m.bootTime, Units: len(m.order), Jobs: len(m.jobs), Cgroups: m.cgroupDescribe()}
	for _, u := range m.order {
		if u.activeState() == Failed {
			ov.Failed++
		}
	}
	switch {
	case m.shuttingDown:
		ov.State = "stopping"
	case ov.Jobs > 0:
		ov.State = "starting"
	case ov.Failed > 0:
		ov.State = "degraded"
	default:
		ov.State = "running"
	}
	return ov
}

type reqError struct {
	code string
	msg  string
}

func (e *reqError) Error() string { return e.msg }
