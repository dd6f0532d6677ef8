package manager

import (
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/flint-init/flint/unit"
)

// The states of the unit types, as systemd 252 names them (its *_state_to_string tables), each
// type its own enum: a service's "running" and a socket's "running" are different values.

// ActiveState is systemd's high-level unit state; its String is systemd's word
// (ActiveState=), which is all that leaves the package.
type ActiveState uint8

const (
	Inactive ActiveState = iota
	Activating
	Active
	Deactivating
	Reloading
	Failed
	Maintenance // cleaning (clean.go)
	nActiveStates
)

var activeStateNames = [nActiveStates]string{
	Inactive:     "inactive",
	Activating:   "activating",
	Active:       "active",
	Deactivating: "deactivating",
	Reloading:    "reloading",
	Failed:       "failed",
	Maintenance:  "maintenance",
}

func (s ActiveState) String() string {
	if s < nActiveStates {
		return activeStateNames[s]
	}
	return fmt.Sprintf("ActiveState(%d)", uint8(s))
}

func isInactiveOrFailed(s ActiveState) bool  { return s == Inactive || s == Failed }
func isActiveOrReloading(s ActiveState) bool { return s == Active || s == Reloading }

// subState is the sub-state of a unit: a serviceState, socketState, timerState, pathState or
// targetState. Its String is systemd's word (SubState=), active its ActiveState, and next
// whether the state machine may go from it to another state of its type.
type subState interface {
	fmt.Stringer
	active() ActiveState
	next(to subState) bool
}

// serviceState is a service's sub-state (systemd's ServiceState).
type serviceState uint8

const (
	svcDead serviceState = iota
	svcCondition
	svcStartPre
	svcStart
	svcStartPost
	svcRunning
	svcExited
	svcReload
	svcStop
	svcStopWatchdog
	svcStopSigterm
	svcStopSigkill
	svcStopPost
	svcFinalWatchdog
	svcFinalSigterm
	svcFinalSigkill
	svcFailed
	svcAutoRestart
	svcCleaning
	nServiceStates
)

var serviceStates = [nServiceStates]struct {
	name   string
	active ActiveState
}{
	svcDead:          {"dead", Inactive},
	svcCondition:     {"condition", Activating},
	svcStartPre:      {"start-pre", Activating},
	svcStart:         {"start", Activating},
	svcStartPost:     {"start-post", Activating},
	svcRunning:       {"running", Active},
	svcExited:        {"exited", Active},
	svcReload:        {"reload", Reloading},
	svcStop:          {"stop", Deactivating},
	svcStopWatchdog:  {"stop-watchdog", Deactivating},
	svcStopSigterm:   {"stop-sigterm", Deactivating},
	svcStopSigkill:   {"stop-sigkill", Deactivating},
	svcStopPost:      {"stop-post", Deactivating},
	svcFinalWatchdog: {"final-watchdog", Deactivating},
	svcFinalSigterm:  {"final-sigterm", Deactivating},
	svcFinalSigkill:  {"final-sigkill", Deactivating},
	svcFailed:        {"failed", Failed},
	svcAutoRestart:   {"auto-restart", Activating},
	svcCleaning:      {"cleaning", Maintenance},
}

func (s serviceState) String() string {
	if s < nServiceStates {
		return serviceStates[s].name
	}
	return fmt.Sprintf("serviceState(%d)", uint8(s))
}

func (s serviceState) active() ActiveState {
	if s < nServiceStates {
		return serviceStates[s].active
	}
	return Inactive // an invalid value; setState reports it
}

// svcStopping are the states a stop or a failure leads to from any state before stop-post:
// flint skips a signal state with nothing to kill, as systemd's service_enter_signal does.
var svcStopping = []serviceState{svcStopSigterm, svcStopWatchdog, svcStopSigkill, svcStopPost}

// svcOOMKill is where OOMPolicy=kill sends a service that is starting, running or in stop
// (systemd's service_notify_cgroup_oom_event: SIGKILL to all of it, no ExecStopPost=).
var svcOOMKill = []serviceState{svcFinalSigkill}

// svcDown are the states stop-post and the final states lead to.
var svcDown = []serviceState{svcDead, svcFailed, svcAutoRestart}

// serviceNext is the service's transition table: from each state, where it may go. Entering
// the state it is in is always allowed (a state whose timer or notification state changed).
var serviceNext = [nServiceStates][]serviceState{
	// A start (condition; start-limit-hit: failed); reset-failed (failed to dead); the
	// restart timer or a stop (auto-restart to dead).
	// A clean (dead to cleaning, back to dead, or failed when it failed).
	svcDead:        {svcCondition, svcFailed, svcCleaning},
	svcFailed:      {svcCondition, svcDead},
	svcCleaning:    {svcDead, svcFailed},
	svcAutoRestart: {svcCondition, svcFailed, svcDead},
	svcCondition:   slices.Concat([]serviceState{svcStartPre}, svcStopping, svcOOMKill),
	// No ExecStart= (start-post); the start runs on.
	svcStartPre: slices.Concat([]serviceState{svcStart, svcStartPost}, svcStopping, svcOOMKill),
	// The start is over (start-post, or service_enter_running when the main process exited
	// or sent READY=1 and RELOADING=1/STOPPING=1 before).
	svcStart:     slices.Concat([]serviceState{svcStartPost, svcRunning, svcExited, svcReload, svcStop}, svcStopping, svcOOMKill),
	svcStartPost: slices.Concat([]serviceState{svcRunning, svcExited, svcReload, svcStop}, svcStopping, svcOOMKill),
	svcRunning:   slices.Concat([]serviceState{svcReload, svcExited, svcStop}, svcStopping, svcOOMKill),
	svcExited:    slices.Concat([]serviceState{svcReload, svcStop}, svcStopping, svcOOMKill),
	svcReload:    cat([]serviceState{svcRunning, svcExited, svcStop}, svcStopping),
	svcStop:      slices.Concat(svcStopping, svcOOMKill),
	// A timeout escalates (watchdog, sigkill) or, with nothing left, goes on to stop-post.
	svcStopSigterm:   {svcStopWatchdog, svcStopSigkill, svcStopPost},
	svcStopWatchdog:  {svcStopSigkill, svcStopPost},
	svcStopSigkill:   {svcStopPost},
	svcStopPost:      cat([]serviceState{svcFinalSigterm, svcFinalWatchdog, svcFinalSigkill}, svcDown),
	svcFinalSigterm:  cat([]serviceState{svcFinalWatchdog, svcFinalSigkill}, svcDown),
	svcFinalWatchdog: cat([]serviceState{svcFinalSigkill}, svcDown),
	svcFinalSigkill:  svcDown,
}

func (s serviceState) next(to subState) bool {
	t, ok := to.(serviceState)
	return ok && s < nServiceStates && t < nServiceStates && (s == t || slices.Contains(serviceNext[s], t))
}

// socketState is a socket's sub-state (systemd's SocketState). flint has no start-chown (it
// changes the sockets' owner while opening them) and no signal states of its own (a stop
// kills the control process, whose exit ends the state).
type socketState uint8

const (
	sockDead socketState = iota
	sockStartPre
	sockStartPost
	sockListening
	sockRunning
	sockStopPre
	sockStopPost
	sockFailed
	sockCleaning
	nSocketStates
)

var socketStates = [nSocketStates]struct {
	name   string
	active ActiveState
}{
	sockDead:      {"dead", Inactive},
	sockStartPre:  {"start-pre", Activating},
	sockStartPost: {"start-post", Activating},
	sockListening: {"listening", Active},
	sockRunning:   {"running", Active},
	sockStopPre:   {"stop-pre", Deactivating},
	sockStopPost:  {"stop-post", Deactivating},
	sockFailed:    {"failed", Failed},
	sockCleaning:  {"cleaning", Maintenance},
}

func (s socketState) String() string {
	if s < nSocketStates {
		return socketStates[s].name
	}
	return fmt.Sprintf("socketState(%d)", uint8(s))
}

func (s socketState) active() ActiveState {
	if s < nSocketStates {
		return socketStates[s].active
	}
	return Inactive
}

// socketNext is the socket's transition table.
var socketNext = [nSocketStates][]socketState{
	sockDead:     {sockStartPre, sockCleaning},
	sockFailed:   {sockStartPre, sockDead},
	sockCleaning: {sockDead, sockFailed},
	// A failing ExecStartPre= fails the socket at once; a stop job or a failure to listen
	// goes through stop-pre.
	sockStartPre:  {sockStartPost, sockFailed, sockStopPre},
	sockStartPost: {sockListening, sockStopPre},
	// A connection (Accept=no) or a service that runs; the service went down.
	sockListening: {sockRunning, sockStopPre},
	sockRunning:   {sockListening, sockStopPre},
	sockStopPre:   {sockStopPost},
	sockStopPost:  {sockDead, sockFailed},
}

func (s socketState) next(to subState) bool {
	t, ok := to.(socketState)
	return ok && s < nSocketStates && t < nSocketStates && (s == t || slices.Contains(socketNext[s], t))
}

// timerState is a timer's sub-state (systemd's TimerState).
type timerState uint8

const (
	timerDead timerState = iota
	timerWaiting
	timerRunning
	timerElapsed
	timerFailed
	nTimerStates
)

var timerStates = [nTimerStates]struct {
	name   string
	active ActiveState
}{
	timerDead:    {"dead", Inactive},
	timerWaiting: {"waiting", Active},
	timerRunning: {"running", Active},
	timerElapsed: {"elapsed", Active},
	timerFailed:  {"failed", Failed},
}

func (s timerState) String() string {
	if s < nTimerStates {
		return timerStates[s].name
	}
	return fmt.Sprintf("timerState(%d)", uint8(s))
}

func (s timerState) active() ActiveState {
	if s < nTimerStates {
		return timerStates[s].active
	}
	return Inactive
}

// timerNext is the timer's transition table. A start (from dead or failed) may go straight to
// running or elapsed when an elapse is already due, or fail (start-limit-hit); any active
// state may go to any other as the elapses and the started unit come and go.
var timerNext = [nTimerStates][]timerState{
	timerDead:    {timerWaiting, timerRunning, timerElapsed, timerFailed},
	timerFailed:  {timerWaiting, timerRunning, timerElapsed, timerDead},
	timerWaiting: {timerRunning, timerElapsed, timerDead, timerFailed},
	timerRunning: {timerWaiting, timerElapsed, timerDead, timerFailed},
	timerElapsed: {timerWaiting, timerRunning, timerDead, timerFailed},
}

func (s timerState) next(to subState) bool {
	t, ok := to.(timerState)
	return ok && s < nTimerStates && t < nTimerStates && (s == t || slices.Contains(timerNext[s], t))
}

// pathState is a path unit's sub-state (systemd's PathState).
type pathState uint8

const (
	pathDead pathState = iota
	pathWaiting
	pathRunning
	pathFailed
	nPathStates
)

var pathStates = [nPathStates]struct {
	name   string
	active ActiveState
}{
	pathDead:    {"dead", Inactive},
	pathWaiting: {"waiting", Active},
	pathRunning: {"running", Active},
	pathFailed:  {"failed", Failed},
}

func (s pathState) String() string {
	if s < nPathStates {
		return pathStates[s].name
	}
	return fmt.Sprintf("pathState(%d)", uint8(s))
}

func (s pathState) active() ActiveState {
	if s < nPathStates {
		return pathStates[s].active
	}
	return Inactive
}

// pathNext is the path unit's transition table.
var pathNext = [nPathStates][]pathState{
	pathDead:    {pathWaiting, pathRunning, pathFailed},
	pathFailed:  {pathWaiting, pathRunning, pathDead},
	pathWaiting: {pathRunning, pathDead, pathFailed},
	pathRunning: {pathWaiting, pathDead, pathFailed},
}

func (s pathState) next(to subState) bool {
	t, ok := to.(pathState)
	return ok && s < nPathStates && t < nPathStates && (s == t || slices.Contains(pathNext[s], t))
}

// targetState is the sub-state of a target, and of the types flint takes as present without
// managing them (slice, mount, swap, device: their SubState is dead or active here).
type targetState uint8

const (
	targetDead targetState = iota
	targetActive
	nTargetStates
)

func (s targetState) String() string {
	switch s {
	case targetDead:
		return "dead"
	case targetActive:
		return "active"
	}
	return fmt.Sprintf("targetState(%d)", uint8(s))
}

func (s targetState) active() ActiveState {
	if s == targetActive {
		return Active
	}
	return Inactive
}

func (s targetState) next(to subState) bool {
	t, ok := to.(targetState)
	return ok && s < nTargetStates && t < nTargetStates
}

// deadState is the initial state of a unit of type t.
func deadState(t unit.Type) subState {
	switch t {
	case unit.TypeService:
		return svcDead
	case unit.TypeSocket:
		return sockDead
	case unit.TypeTimer:
		return timerDead
	case unit.TypePath:
		return pathDead
	case unit.TypeScope:
		return scopeDead
	}
	return targetDead
}

// failedState is the failed state of a unit of type t; a target has none (nil).
func failedState(t unit.Type) subState {
	switch t {
	case unit.TypeService:
		return svcFailed
	case unit.TypeSocket:
		return sockFailed
	case unit.TypeTimer:
		return timerFailed
	case unit.TypePath:
		return pathFailed
	case unit.TypeScope:
		return scopeFailed
	}
	return nil
}

// bugs counts the internal errors reported by bug (the package's tests fail on any), and
// bugHook, when set (by tests), sees each.
var (
	bugs    atomic.Int64
	bugHook func(msg string)
)

// bug reports an internal error: a state machine asked for what its table forbids. The
// manager goes on (as systemd logs and carries on), loudly.
func (m *Manager) bug(format string, a ...any) {
	bugs.Add(1)
	msg := fmt.Sprintf(format, a...)
	if bugHook != nil {
		bugHook(msg)
	}
	m.consolef("BUG: %s", msg)
}

func cat[T any](a, b []T) []T { return append(append([]T(nil), a...), b...) }

// scopeState is a scope's sub-state (systemd's ScopeState; flint has no start-chown: the
// scope's processes are moved into its group before the state is entered).
type scopeState uint8

const (
	scopeDead scopeState = iota
	scopeRunning
	scopeAbandoned
	scopeStopSigterm
	scopeStopSigkill
	scopeFailed
	nScopeStates
)

var scopeStates = [nScopeStates]struct {
	name   string
	active ActiveState
}{
	scopeDead:        {"dead", Inactive},
	scopeRunning:     {"running", Active},
	scopeAbandoned:   {"abandoned", Active},
	scopeStopSigterm: {"stop-sigterm", Deactivating},
	scopeStopSigkill: {"stop-sigkill", Deactivating},
	scopeFailed:      {"failed", Failed},
}

func (s scopeState) String() string {
	if s < nScopeStates {
		return scopeStates[s].name
	}
	return fmt.Sprintf("scopeState(%d)", uint8(s))
}

func (s scopeState) active() ActiveState {
	if s < nScopeStates {
		return scopeStates[s].active
	}
	return Inactive
}

// scopeNext is the scope's transition table. A start runs or fails (no process left to
// take); the scope's processes all gone end it from any state; a stop signals them, a
// timeout escalates to SIGKILL and then fails the scope.
var scopeNext = [nScopeStates][]scopeState{
	scopeDead:        {scopeRunning, scopeFailed},
	scopeFailed:      {scopeRunning, scopeDead},
	scopeRunning:     {scopeAbandoned, scopeStopSigterm, scopeStopSigkill, scopeDead, scopeFailed},
	scopeAbandoned:   {scopeStopSigterm, scopeStopSigkill, scopeDead, scopeFailed},
	scopeStopSigterm: {scopeStopSigkill, scopeDead, scopeFailed},
	scopeStopSigkill: {scopeDead, scopeFailed},
}

func (s scopeState) next(to subState) bool {
	t, ok := to.(scopeState)
	return ok && s < nScopeStates && t < nScopeStates && (s == t || slices.Contains(scopeNext[s], t))
}
