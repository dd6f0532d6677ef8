package manager

import (
	"os"
	"slices"
	"syscall"
)

// Process tracking without cgroups: which unit a process belongs to. Attribution never
// guesses. A process belongs to a unit by one of the rules below, each exact (the kernel
// guarantees it) but the last, which is evidence that only the process's own user (or root)
// can forge; a process no rule places belongs to no unit. An orphan that was reparented to
// flint (its child subreaper) and that no rule places is left alone, and the manager says so
// once: no stop signals it, none waits for it. attributor.owner is the one place that answers
// the question (unitPIDs, the orphans' adoption, NotifyAccess=all and the main-pid checks ask
// it); a cgroup-based tracker would answer it from /proc/PID/cgroup instead.
//
// The rules rest on two facts. Every process flint starts for a unit is a session leader
// (setsid at spawn), so a unit's processes live in sessions its own processes made. And the
// kernel gives no new process a pid that is still a process's pid, process group or session
// id: a pid flint has not reaped yet, and a session id while any process is in that session,
// stay what they are. In order:
//
//  1. known: a process flint started for the unit (main and control processes), or adopted
//     for it (the orphans rules 3 to 6 placed; a main process from PIDFile= or MAINPID=).
//     flint reaps them, so their pids are theirs until flint reaps them; a main process that
//     is not flint's child (a MAINPID= naming another process) is polled, and the unit's while
//     it lives.
//  2. parent: a process whose parent (other than flint) is the unit's is the unit's.
//  3. leader: a process in a session whose leader (the process whose pid is the session id)
//     still exists — a process of rule 1 that flint has not reaped, or one that /proc shows
//     leading the session, alive or a zombie — is in the leader's unit: every member of a
//     session descends from its leader.
//  4. member: a process in the session of a process flint adopted by rules 1 to 5 and has not
//     reaped, which is still in that session, is in that process's unit.
//  5. session: when flint reaps such a process, it notes the time T with its session (while
//     the session's process group still has members): a process of that session that started
//     before T is in the unit. A process changes its session only by making one of its own,
//     so it has been in that session since it started, and before T the session could not
//     have been another.
//  6. invocation: an orphan that no other rule places, carrying the INVOCATION_ID= of an
//     active unit in its environment (inherited from that unit's processes), belongs to that
//     unit if it runs as the unit's user (User=, else flint's own) or as root. A process can
//     rewrite its environment (nginx's setproctitle overwrites it, and one that clears it is
//     not found), so this rule only lets a process join a unit whose processes its own user
//     could signal anyway, and what it places does not make rules 4 and 5 for other
//     processes. A daemon that leaves its session and clears its environment once its parent
//     has died is therefore nobody's.
//
// Orphans are attributed when flint reaps a child — before the reap, while the exited child
// still holds its pid and session, so that rules 3 and 4 see it — and whenever a unit's
// processes are listed while an orphan is unknown. /proc is read one file after the other;
// the rules assume that no pid is used twice between the reads of one look at the processes,
// which would take the kernel handing out every pid up to pid_max in that time.

// adoptee is an orphan that was reparented to flint and placed in a unit.
type adoptee struct {
	u     *Unit
	sid   int  // its session when adopted
	exact bool // placed by rules 1 to 5: its session places others (rules 4 and 5)
}

// sessionEnd records that session sid was u's until end (rule 5).
type sessionEnd struct {
	u   *Unit
	end uint64 // CLOCK_BOOTTIME ticks: the reap of the session's last process flint knew
}

// maxSessionEnds bounds the sessions rule 5 remembers; past it the oldest note goes, and an
// orphan of that session may be left alone (never misplaced).
const maxSessionEnds = 4096

// ownership is the answer of attributor.owner.
type ownership struct {
	u     *Unit
	rule  string // known, parent, leader, member, session, invocation
	exact bool   // by rules 1 to 5 only (see adoptee.exact)
}

// attributor answers which unit a process belongs to, from a view of the processes and what
// the manager knows (see the file comment). One is made per look at the processes.
type attributor struct {
	self int
	// stat reads a process's /proc/PID/stat (ok false if it is gone).
	stat func(pid int) (procInfo, bool)
	// known is rule 1: the unit of a process the manager knows, whether flint reaps it (child),
	// and whether it was placed exactly.
	known func(pid int) (u *Unit, child, exact bool)
	// members lists the processes flint adopted exactly in session sid (rule 4), leader aside.
	members func(sid int) []int
	// sessions are rule 5's notes.
	sessions map[int]sessionEnd
	// invocation reads a process's INVOCATION_ID= and real uid (rule 6).
	invocation func(pid int) (id string, ruid int, ok bool)
	// byInvocation is the active unit of an invocation ID, nil if none.
	byInvocation func(id string) *Unit
	// mayRunAs reports whether u's processes run as uid (rule 6).
	mayRunAs func(u *Unit, uid int) bool
	// cgroup is the unit whose cgroup holds a process (cgroup.go), nil without cgroups.
	cgroup func(pid int) *Unit
	memo   map[int]ownership
}

// owner is the unit pid belongs to (nil if none), with the rule that says so.
func (a *attributor) owner(pid int) ownership {
	if o, ok := a.memo[pid]; ok {
		return o
	}
	a.memo[pid] = ownership{} // a parent loop (of a view read over time) ends here
	o := a.find(pid)
	a.memo[pid] = o
	return o
}

func (a *attributor) find(pid int) ownership {
	if pid <= 1 || pid == a.self {
		return ownership{}
	}
	if u, _, exact := a.known(pid); u != nil {
		return ownership{u, "known", exact}
	}
	if a.cgroup != nil {
		if u := a.cgroup(pid); u != nil {
			return ownership{u, "cgroup", true}
		}
	}
	pi, ok := a.stat(pid)
	if !ok {
		return ownership{}
	}
	if pi.ppid > 1 && pi.ppid != a.self {
		if o := a.owner(pi.ppid); o.u != nil {
			return ownership{o.u, "parent", o.exact}
		}
	}
	if pi.sid > 1 && pi.sid != pid {
		if o := a.sessionOwner(pi.sid, pi.start); o.u != nil {
			return o
		}
	}
	if pi.ppid == a.self && !pi.zombie {
		if id, ruid, ok := a.invocation(pid); ok {
			if u := a.byInvocation(id); u != nil && a.mayRunAs(u, ruid) {
				return ownership{u, "invocation", false}
			}
		}
	}
	return ownership{}
}

// sessionOwner places a process of session sid that started at start (rules 3 to 5).
func (a *attributor) sessionOwner(sid int, start uint64) ownership {
	// A process flint has not reaped holds its pid: a session of that id is its own.
	if u, child, exact := a.known(sid); u != nil && child {
		return ownership{u, "leader", exact}
	}
	if li, ok := a.stat(sid); ok && li.sid == sid {
		if o := a.owner(sid); o.u != nil {
			return ownership{o.u, "leader", o.exact}
		}
	}
	for _, w := range a.members(sid) {
		if wi, ok := a.stat(w); ok && wi.sid == sid {
			if u, _, exact := a.known(w); u != nil && exact {
				return ownership{u, "member", true}
			}
		}
	}
	if r, ok := a.sessions[sid]; ok && start < r.end {
		return ownership{r.u, "session", true}
	}
	return ownership{}
}

// attributor makes the manager's attributor over view (all processes, read at once), or over
// /proc read as needed when view is nil.
func (m *Manager) attributor(view map[int]procInfo) *attributor {
	a := &attributor{
		self:       os.Getpid(),
		sessions:   m.sessions,
		invocation: procInvocation,
		memo:       map[int]ownership{},
	}
	if m.cgroupsOn() {
		a.cgroup = m.cgroupOwner
	}
	if view != nil {
		a.stat = func(pid int) (procInfo, bool) { pi, ok := view[pid]; return pi, ok }
	} else {
		seen := map[int]procInfo{}
		a.stat = func(pid int) (procInfo, bool) {
			if pi, ok := seen[pid]; ok {
				return pi, true
			}
			pi, ok := readProcInfo(pid)
			if ok {
				seen[pid] = pi
			}
			return pi, ok
		}
	}
	var watched map[int]*Unit // main and control processes flint does not reap, by pid
	a.known = func(pid int) (*Unit, bool, bool) {
		if p, ok := m.procs[pid]; ok && p.u != nil {
			return p.u, true, !p.trusted
		}
		if ad, ok := m.adopted[pid]; ok {
			return ad.u, true, ad.exact
		}
		if watched == nil {
			watched = map[int]*Unit{}
			for _, u := range m.order {
				for _, w := range u.watchedPIDs() {
					if _, ours := m.procs[w]; !ours {
						watched[w] = u
					}
				}
			}
		}
		return watched[pid], false, false
	}
	a.members = func(sid int) []int {
		var out []int
		for pid, ad := range m.adopted {
			if ad.exact && ad.sid == sid && pid != sid {
				out = append(out, pid)
			}
		}
		for pid, p := range m.procs {
			if !p.trusted && p.sid == sid && pid != sid {
				out = append(out, pid) // an adopted process that became a main process
			}
		}
		return out
	}
	var byID map[string]*Unit
	a.byInvocation = func(id string) *Unit {
		if byID == nil {
			byID = map[string]*Unit{}
			for _, u := range m.order {
				if u.hs().invocationID != "" && !isInactiveOrFailed(u.activeState()) {
					byID[u.hs().invocationID] = u
				}
			}
		}
		return byID[id]
	}
	a.mayRunAs = func(u *Unit, uid int) bool { return uid == 0 || uid == m.unitUID(u) }
	return a
}

// ownerOf is the unit pid belongs to, nil if none can be told (reading /proc as needed).
func (m *Manager) ownerOf(pid int) *Unit { return m.attributor(nil).owner(pid).u }

// unitUID is the uid u's processes run as: its User=, else the manager's own (-1 if User=
// names nobody known).
func (m *Manager) unitUID(u *Unit) int {
	ec := u.execContext()
	if ec == nil || ec.User == "" {
		return os.Getuid()
	}
	cr, err := resolveCreds(ec)
	if err != nil || cr == nil {
		return -1
	}
	return int(cr.uid)
}

// watchedPIDs are u's main and control processes.
func (u *Unit) watchedPIDs() []int {
	var out []int
	switch {
	case u.isService():
		if u.svcState().mainPID > 0 {
			out = append(out, u.svcState().mainPID)
		}
		if u.svcState().controlPID > 0 {
			out = append(out, u.svcState().controlPID)
		}
	case u.sock != nil && u.sock.controlPID > 0:
		out = append(out, u.sock.controlPID)
	}
	return out
}

// unitPIDs lists the live processes of u: those attributed to it (see the file comment), and
// its main and control processes when they are another unit's (a MAINPID= naming one).
func (m *Manager) unitPIDs(u *Unit) []int {
	if pids, ok := m.scopeUnitPIDs(u); ok {
		return pids // scope.go: the processes it was given
	}
	if pids, ok := m.cgroupPIDs(u); ok {
		return pids // cgroup.go: the kernel's list
	}
	own, extra := map[int]bool{}, map[int]bool{}
	for pid, p := range m.procs {
		if p.u == u {
			own[pid] = true
		}
	}
	for pid, ad := range m.adopted {
		if ad.u == u {
			own[pid] = true
		}
	}
	for _, pid := range u.watchedPIDs() {
		switch o := m.knownOwner(pid); {
		case o == nil:
			own[pid] = true // not flint's child: polled, its descendants are the unit's
		case o != u:
			extra[pid] = true
		}
	}
	m.recheckAlone(u, own)
	// The unknown-child checks come after the look at the roots: a process orphaned while we
	// looked (its parent exiting between our reads of two children lists) has been
	// reparented to flint by then, and shows up as an unknown child.
	if !anyAlive(own) && !anyAlive(extra) {
		if !m.hasUnknownChild() {
			// Fast path: every root is gone with its process group, so nothing descends from
			// one, and no orphan waits to be placed: nothing to scan every process for.
			return nil
		}
	} else if m.subreaper {
		// Every process of the unit descends from a live root: an orphan would have been
		// reparented to flint (the subreaper) and placed, or be an unknown child of ours.
		// Following the children lists from the roots reads a few small files per process
		// of the unit instead of every process's stat.
		out := descendants(own)
		for pid := range extra {
			if procAlive(pid) {
				out = append(out, pid)
			}
		}
		if !m.hasUnknownChild() {
			return out
		}
	}
	procs := readProcs()
	if procs == nil {
		var out []int
		for pid := range own {
			out = append(out, pid)
		}
		return out
	}
	a := m.attributor(procs)
	m.placeOrphans(a, procs)
	var out []int
	for pid, pi := range procs {
		if !pi.zombie && (extra[pid] || a.owner(pid).u == u) {
			out = append(out, pid)
		}
	}
	return out
}

// recheckAlone looks again at the orphans left alone, and adds to own those now placed in u.
// An orphan is looked at once when it is reparented, which may be while it is in execve(2):
// then its environment reads empty for an instant (the new image's stack is not set up yet),
// and rule 6 cannot see the INVOCATION_ID it carries. Each look reads a few small files per
// orphan left alone, which are rare.
func (m *Manager) recheckAlone(u *Unit, own map[int]bool) {
	if len(m.alone) == 0 {
		return
	}
	a := m.attributor(nil)
	for pid := range m.alone {
		pi, ok := a.stat(pid)
		if !ok || pi.zombie || pi.ppid != a.self {
			continue // gone, or reaped soon: placeOrphans and the reap forget it
		}
		m.place(a, pid, pi)
		if ad, ok := m.adopted[pid]; ok && ad.u == u {
			own[pid] = true
		}
	}
}

// knownOwner is the unit of a process flint reaps (started or adopted), nil if none.
func (m *Manager) knownOwner(pid int) *Unit {
	if p, ok := m.procs[pid]; ok {
		return p.u
	}
	return m.adopted[pid].u
}

// isKnown reports whether flint started or adopted pid.
func (m *Manager) isKnown(pid int) bool {
	_, started := m.procs[pid]
	_, adopted := m.adopted[pid]
	return started || adopted
}

// placeOrphans places every orphan of view that flint does not know (re-examining those left
// alone), and forgets what view shows to be gone: adopted processes that exited without
// flint's reap (another subreaper's), the sessions of rule 5 nobody is in any more.
func (m *Manager) placeOrphans(a *attributor, view map[int]procInfo) {
	for pid, pi := range view {
		if pi.ppid == a.self && !pi.zombie && !m.isKnown(pid) {
			m.place(a, pid, pi)
		}
	}
	for pid := range m.adopted {
		if _, ok := view[pid]; !ok {
			delete(m.adopted, pid)
		}
	}
	for pid := range m.alone {
		if _, ok := view[pid]; !ok {
			delete(m.alone, pid)
		}
	}
	if len(m.sessions) > 0 {
		inUse := map[int]bool{}
		for _, pi := range view {
			inUse[pi.sid] = true
		}
		for sid := range m.sessions {
			if !inUse[sid] {
				delete(m.sessions, sid)
			}
		}
		m.compactSessionOrder()
	}
}

// adoptOrphans places the children flint does not know, reading /proc as needed; reaping is
// the exited child flint is about to reap (left out: it is gone).
func (m *Manager) adoptOrphans(reaping int) {
	if !m.readChildren() {
		procs := readProcs()
		m.placeOrphans(m.attributor(procs), procs)
		return
	}
	var a *attributor
	for _, pid := range m.childBuf {
		if pid == reaping || m.isKnown(pid) || m.alone[pid] {
			continue // the fast path: every child of flint is one it started, adopted or left alone
		}
		if a == nil {
			a = m.attributor(nil)
		}
		if pi, ok := a.stat(pid); ok && !pi.zombie && pi.ppid == a.self {
			m.place(a, pid, pi)
		}
	}
}

// place adopts the orphan pid into its unit, or leaves it alone, saying so once.
func (m *Manager) place(a *attributor, pid int, pi procInfo) {
	o := a.owner(pid)
	if o.u == nil {
		if !m.alone[pid] {
			m.alone[pid] = true
			m.consolef("Process %d (%s) was reparented to the manager, but no unit can be told to own it; leaving it alone.", pid, procComm(pid))
		}
		return
	}
	delete(m.alone, pid)
	m.adopted[pid] = adoptee{u: o.u, sid: pi.sid, exact: o.exact}
}

// reaped updates tracking for a child flint just reaped, with end the time just before the
// reap: a process placed exactly notes its session for rule 5 (if the session's process
// group still has members, who may outlive it), and adopted processes are forgotten. It
// returns the unit of an adopted one.
func (m *Manager) reaped(pid int, end uint64) (adoptedBy *Unit) {
	u, sid, exact := (*Unit)(nil), 0, false
	if p, ok := m.procs[pid]; ok {
		u, sid, exact = p.u, p.sid, !p.trusted
	} else if ad, ok := m.adopted[pid]; ok {
		u, sid, exact = ad.u, ad.sid, ad.exact
		adoptedBy = u
		delete(m.adopted, pid)
	}
	delete(m.alone, pid)
	if u == nil || !exact || sid <= 1 || syscall.Kill(-sid, 0) != nil {
		return adoptedBy
	}
	if m.sessions == nil {
		m.sessions = map[int]sessionEnd{}
	}
	m.sessions[sid] = sessionEnd{u: u, end: end}
	m.sessionOrder = append(m.sessionOrder, sessionNote{sid, end})
	for len(m.sessions) > maxSessionEnds {
		old := m.sessionOrder[0]
		m.sessionOrder = m.sessionOrder[1:]
		if r, ok := m.sessions[old.sid]; ok && r.end == old.end {
			delete(m.sessions, old.sid)
		}
	}
	if len(m.sessionOrder) > 2*maxSessionEnds {
		m.compactSessionOrder()
	}
	return adoptedBy
}

// sessionNote is an entry of m.sessionOrder: the note of session sid made at end, which is
// the current one while m.sessions holds that end.
type sessionNote struct {
	sid int
	end uint64
}

// compactSessionOrder drops the entries of m.sessionOrder that are no longer notes.
func (m *Manager) compactSessionOrder() {
	m.sessionOrder = slices.DeleteFunc(m.sessionOrder, func(n sessionNote) bool {
		r, ok := m.sessions[n.sid]
		return !ok || r.end != n.end
	})
}

// forgetTracking drops what tracking holds about u (unloaded).
func (m *Manager) forgetTracking(u *Unit) {
	for pid, ad := range m.adopted {
		if ad.u == u {
			delete(m.adopted, pid)
		}
	}
	for sid, r := range m.sessions {
		if r.u == u {
			delete(m.sessions, sid)
		}
	}
	m.compactSessionOrder()
}

// hasAdopted reports whether u has adopted processes left.
func (m *Manager) hasAdopted(u *Unit) bool {
	for _, ad := range m.adopted {
		if ad.u == u {
			return true
		}
	}
	return false
}

// hasUnknownChild reports whether flint has a child process it neither started, adopted nor
// left alone (an orphan reparented to it), or cannot tell (readChildren).
func (m *Manager) hasUnknownChild() bool {
	if !m.readChildren() {
		return true
	}
	for _, pid := range m.childBuf {
		if !m.isKnown(pid) && !m.alone[pid] {
			return true
		}
	}
	return false
}

// readChildren lists flint's children in m.childBuf. The kernel gives a subreaper's (or
// PID 1's) orphans to the first live thread of its thread group, the leader, which in a Go
// program never exits: so the leader's /proc/self/task/PID/children, one small file, lists
// every orphan flint has (children flint started from other threads are in those threads'
// lists, and are known anyway). false where the kernel lacks the file.
func (m *Manager) readChildren() bool {
	pids, ok := leaderChildren(m.childBuf[:0])
	m.childBuf = pids
	return ok
}
