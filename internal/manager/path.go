package manager

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/unit"
)

// Path units (systemd.path(5)), as systemd 252's src/core/path.c: a path unit is dead,
// waiting (it watches its paths with inotify), running (it started its unit, which has not
// stopped yet; nothing is watched then) or failed. Each watched path has an inotify fd of its
// own, read by a goroutine through Go's poller, which posts what it read to the manager.

// pathRT is the runtime side of a path unit.
type pathRT struct {
	watches        []io.Closer // one per cfg.Path.Specs entry while waiting
	previousExists []bool      // PathChanged=/PathModified=: whether the path existed at the last look
	triggerLimit   rateLimit
	notifyPending  bool // a trigger notification waits for the next turn of the loop
}

// pathWatch is the inotify fd of one watched path.
type pathWatch struct {
	f       *os.File
	fd      int
	primary int // the watch descriptor of the path itself; -1 while it does not exist
}

// inotify flags, as systemd's path_spec_watch: on the path itself by kind, on each parent
// what makes the next component appear or go.
func pathWatchFlags(k unit.PathKind) uint32 {
	const self = unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ATTRIB
	const changed = self | unix.IN_CLOSE_WRITE | unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO
	switch k {
	case unit.PathChanged:
		return changed
	case unit.PathModified:
		return changed | unix.IN_MODIFY
	case unit.DirectoryNotEmpty:
		return self | unix.IN_CREATE | unix.IN_MOVED_TO
	}
	return self
}

// watchPath creates the inotify watches for spec: every existing prefix of the path (what
// creates, deletes or moves its next component), the path itself with the flags of its kind,
// both through a symlink and on the symlink itself. It fails when not even "/" can be watched.
func watchPath(spec unit.PathSpec) (*pathWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, os.NewSyscallError("inotify_init1", err)
	}
	p := spec.Path
	prefixes := []string{"/"}
	for i := 1; i < len(p); i++ {
		if p[i] == '/' {
			prefixes = append(prefixes, p[:i])
		}
	}
	prefixes = append(prefixes, p)
	w := &pathWatch{fd: fd, primary: -1}
	exists := false
	for k, cut := range prefixes {
		last := k == len(prefixes)-1
		flags := uint32(unix.IN_MOVE_SELF | unix.IN_DELETE_SELF | unix.IN_CREATE | unix.IN_MOVED_TO)
		if last {
			flags = pathWatchFlags(spec.Kind)
		}
		wd, missing := -1, false
		for _, f := range []uint32{flags | unix.IN_DONT_FOLLOW, flags} {
			wd, err = unix.InotifyAddWatch(fd, cut, f)
			if err == nil {
				continue
			}
			if errors.Is(err, unix.EACCES) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
				missing = true // not there (yet): the watch on its parent sees it come
				break
			}
			unix.Close(fd)
			return nil, &os.PathError{Op: "inotify_add_watch", Path: cut, Err: err}
		}
		if missing {
			break
		}
		exists = true
		if k > 0 {
			// It exists: its parent only matters if it moves away.
			unix.InotifyAddWatch(fd, prefixes[k-1], unix.IN_MOVE_SELF)
		}
		if last {
			w.primary = wd
		}
	}
	if !exists {
		unix.Close(fd)
		return nil, &os.PathError{Op: "inotify_add_watch", Path: p, Err: unix.ENOENT}
	}
	w.f = os.NewFile(uintptr(fd), "inotify")
	return w, nil
}

// read runs until the watch is closed, posting to the manager whether each batch of events
// touched the path itself (primary watch).
func (w *pathWatch) read(post func(func()), got func(primary bool)) {
	buf := make([]byte, 4096+unix.SizeofInotifyEvent+unix.PathMax)
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			return // closed
		}
		primary := false
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			wd := int32(uint32(buf[off]) | uint32(buf[off+1])<<8 | uint32(buf[off+2])<<16 | uint32(buf[off+3])<<24)
			nameLen := int(uint32(buf[off+12]) | uint32(buf[off+13])<<8 | uint32(buf[off+14])<<16 | uint32(buf[off+15])<<24)
			if int(wd) == w.primary {
				primary = true
			}
			off += unix.SizeofInotifyEvent + nameLen
		}
		post(func() { got(primary) })
	}
}

func (w *pathWatch) Close() error {
	if w.f != nil {
		return w.f.Close()
	}
	return nil
}

// pathUnwatch closes u's watches.
func (m pathMachine) pathUnwatch(u *Unit) {
	for _, w := range u.mo().pth.watches {
		w.Close()
	}
	u.mo().pth.watches = nil
}

// pathWatchAll watches every path of u.
func (m pathMachine) pathWatchAll(u *Unit) error {
	m.pathUnwatch(u)
	for _, spec := range u.cfg.Path.Specs {
		// The events name their watch: those of one closed since are ignored (pathEvent).
		var w io.Closer
		w, err := m.watchPath(spec, func(primary bool) { m.pathEvent(u, w, primary) })
		if err != nil {
			m.pathUnwatch(u)
			return err
		}
		u.mo().pth.watches = append(u.mo().pth.watches, w)
	}
	return nil
}

// pathEvent is path_dispatch_io: a change to the path itself of a PathChanged= or
// PathModified= starts the unit, anything else makes the unit look again.
func (m pathMachine) pathEvent(u *Unit, w io.Closer, primary bool) {
	if u.mo().pth == nil || (u.sub != pathWaiting && u.sub != pathRunning) {
		return
	}
	idx := -1
	for i, x := range u.mo().pth.watches {
		if x == w {
			idx = i
		}
	}
	if idx < 0 {
		return // a watch closed since
	}
	spec := u.cfg.Path.Specs[idx]
	if primary && (spec.Kind == unit.PathChanged || spec.Kind == unit.PathModified) {
		m.pathEnterRunning(u, spec.Path)
		return
	}
	m.pathEnterWaiting(u, false, false)
}

// pathCheck is path_spec_check_good for spec i: what triggers the unit now, or "".
func (m pathMachine) pathCheck(u *Unit, i int, initial, fromNotify bool) string {
	spec := u.cfg.Path.Specs[i]
	switch spec.Kind {
	case unit.PathExists:
		if unix.Access(spec.Path, unix.F_OK) == nil {
			return spec.Path
		}
	case unit.PathExistsGlob:
		if matches, _ := filepath.Glob(spec.Path); len(matches) > 0 {
			return matches[0]
		}
	case unit.DirectoryNotEmpty:
		if dirHasEntries(spec.Path) {
			return spec.Path
		}
	case unit.PathChanged, unit.PathModified:
		exists := unix.Access(spec.Path, unix.F_OK) == nil
		good := !initial && !fromNotify && exists != u.mo().pth.previousExists[i]
		u.mo().pth.previousExists[i] = exists
		if good {
			return spec.Path
		}
	}
	return ""
}

// dirHasEntries is !dir_is_empty(ignore_hidden_or_backup): a directory with an entry that
// is not hidden (".x") nor a backup file ("x~", "x.rpmnew", ...).
func dirHasEntries(dir string) bool {
	// O_DIRECTORY: a FIFO at that path fails at once instead of blocking the loop in open(2)
	f, err := os.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return false
	}
	defer f.Close()
	for {
		names, err := f.Readdirnames(64)
		for _, n := range names {
			if !hiddenOrBackup(n) {
				return true
			}
		}
		if err != nil {
			return false
		}
	}
}

// hiddenOrBackup is systemd's hidden_or_backup_file.
func hiddenOrBackup(n string) bool {
	if strings.HasPrefix(n, ".") || strings.HasSuffix(n, "~") {
		return true
	}
	for _, s := range []string{".rpmnew", ".rpmsave", ".rpmorig", ".dpkg-old", ".dpkg-new", ".dpkg-tmp",
		".dpkg-dist", ".dpkg-bak", ".dpkg-backup", ".dpkg-remove", ".ucf-new", ".ucf-old", ".ucf-dist",
		".swp", ".bak", ".old", ".new"} {
		if strings.HasSuffix(n, s) {
			return true
		}
	}
	return false
}

// pathCheckAll is path_check_good: the first spec that triggers.
func (m pathMachine) pathCheckAll(u *Unit, initial, fromNotify bool) (string, bool) {
	for i := range u.cfg.Path.Specs {
		if p := m.pathCheck(u, i, initial, fromNotify); p != "" {
			return p, true
		}
	}
	return "", false
}

// pathStart is path_start.
func (m pathMachine) pathStart(u *Unit) {
	if !triggerLoaded(m, u) {
		return
	}
	u.hist().invocationID = newInvocationID()
	if u.cfg.Path.MakeDirectory {
		for _, s := range u.cfg.Path.Specs {
			if s.Kind == unit.PathExists || s.Kind == unit.PathExistsGlob {
				continue
			}
			if err := os.MkdirAll(s.Path, u.cfg.Path.DirectoryMode.Perm()); err != nil {
				m.logUnit(u, "mkdir(%s) failed: %v", s.Path, err)
			}
		}
	}
	u.result = resultSuccess
	m.pathEnterWaiting(u, true, false)
}

// pathStop is path_stop.
func (m pathMachine) pathStop(u *Unit) { triggerStop(m, u, m.pathEnterDead) }

// pathSetState is path_set_state: only waiting watches.
func (m pathMachine) pathSetState(u *Unit, sub subState) {
	if sub != pathWaiting {
		m.pathUnwatch(u)
	}
	m.setState(u, sub)
}

// pathEnterDead is path_enter_dead.
func (m pathMachine) pathEnterDead(u *Unit, result Result) {
	triggerEnterDead(m, u, result, m.pathSetState)
}

// pathEnterWaiting is path_enter_waiting: running while the unit runs; else start it if a
// path already says so, or watch, and look once more (the path may have changed before the
// watch was in place).
func (m pathMachine) pathEnterWaiting(u *Unit, initial, fromNotify bool) {
	if n := len(u.cfg.Path.Specs); len(u.mo().pth.previousExists) != n {
		u.mo().pth.previousExists = make([]bool, n) // a first start, or a reload changed the paths
	}
	target := m.lookup(u.cfg.PathUnit())
	if target != nil && !isInactiveOrFailed(target.activeState()) {
		m.pathSetState(u, pathRunning)
		return
	}
	if p, ok := m.pathCheckAll(u, initial, fromNotify); ok {
		m.pathEnterRunning(u, p)
		return
	}
	if err := m.pathWatchAll(u); err != nil {
		m.logUnit(u, "Failed to enter waiting state: %v", err)
		m.pathEnterDead(u, resultResources)
		return
	}
	if p, ok := m.pathCheckAll(u, false, fromNotify); ok {
		m.pathEnterRunning(u, p)
		return
	}
	m.pathSetState(u, pathWaiting)
}

// pathEnterRunning is path_enter_running: start the unit (job mode replace), within the
// trigger limit.
func (m pathMachine) pathEnterRunning(u *Unit, trigger string) {
	if u.job != nil && u.job.typ == "stop" {
		return // going down
	}
	c := u.cfg.Path
	if !u.mo().pth.triggerLimit.below(c.TriggerLimitInterval, c.TriggerLimitBurst, m.sys().now()) {
		m.logUnit(u, "Trigger limit hit, refusing further activation.")
		m.consolef("%s: Trigger limit hit, refusing further activation.", u.Name)
		m.pathEnterDead(u, resultTriggerLimitHit)
		return
	}
	target := triggerTarget(m, u, m.pathEnterDead)
	if target == nil {
		return
	}
	triggerStart(m, u, target, []string{"TRIGGER_PATH=" + trigger}, " ("+trigger+")", m.pathSetState, m.pathEnterDead)
}

// pathTriggerNotify is path_trigger_notify: the unit changed state. A unit that hit its start
// limit fails the path unit; otherwise, once no job is left, the path unit follows it (running
// while the unit is, waiting again once it stopped), on the next turn of the loop, where the
// same is checked again, as systemd defers it.
func (m pathMachine) pathTriggerNotify(u, target *Unit, deferred bool) {
	if u.sub != pathWaiting && u.sub != pathRunning {
		return
	}
	if target.isService() && target.svcState().limitHit {
		m.pathEnterDead(u, resultUnitStartLimitHit)
		return
	}
	if target.job != nil {
		return
	}
	inactive := isInactiveOrFailed(target.activeState())
	if !(u.sub == pathRunning && inactive || u.sub == pathWaiting && !inactive) {
		return
	}
	if deferred {
		m.pathEnterWaiting(u, false, true)
		return
	}
	if u.mo().pth.notifyPending {
		return
	}
	u.mo().pth.notifyPending = true
	m.later(func() {
		u.mo().pth.notifyPending = false
		if m.lookup(u.Name) != u {
			return
		}
		if t := m.lookup(u.cfg.PathUnit()); t != nil {
			m.pathTriggerNotify(u, t, true)
		}
	})
}
