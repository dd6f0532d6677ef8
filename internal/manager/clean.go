package manager

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/internal/control"
	"github.com/flint-init/flint/internal/sdbus"
	"github.com/flint-init/flint/unit"
)

// `clean` (systemctl clean, the CleanUnit D-Bus method) removes what units keep on disk, as
// systemd 252's unit_clean:
//   - --what= names the kinds: runtime, state, cache, logs, configuration, or all (default
//     cache and runtime, the client's); another word is "Invalid resource type: X".
//   - A service or socket removes its RuntimeDirectory=, StateDirectory=, CacheDirectory=,
//     LogsDirectory= and ConfigurationDirectory= of those kinds: each BASE/NAME, and but for
//     configuration BASE/private/NAME too (DynamicUser='s real directory; the BASE/NAME link
//     is removed, never followed). A timer with Persistent= removes its stamp
//     file (kind state). Other unit types do not support cleaning.
//   - The unit must be loaded, without a job, and inactive (a failed unit is not: reset-failed
//     first), else "Unit is not inactive or has pending job.".
//   - A service or socket is in ActiveState=maintenance, SubState=cleaning while the trees
//     are removed, off the manager's loop, for at most TimeoutCleanSec= (default infinity);
//     then dead, or failed with Result= and CleanResult= exit-code (a removal failed) or
//     timeout. A start waits for the end; a stop ends it at once (what is left stays), the
//     unit dead. What is removed is gone whatever the outcome.

// cleanKinds are the words of --what=, in execDirs' order.
var cleanKinds = [5]string{"runtime", "state", "cache", "logs", "configuration"}

// cleanMask is the set of kinds what names (bit i: cleanKinds[i]).
func cleanMask(what []string) (uint8, error) {
	var mask uint8
	for _, w := range what {
		if w == "all" {
			mask = 1<<len(cleanKinds) - 1
			continue
		}
		i := slices.Index(cleanKinds[:], w)
		if i < 0 {
			return 0, &cleanError{sdbus.ErrInvalidArgs, "Invalid resource type: " + w}
		}
		mask |= 1 << i
	}
	return mask, nil
}

// cleanRun is a unit's clean under way.
type cleanRun struct {
	cancel  context.CancelFunc
	done    chan struct{} // closed once the unit has left the cleaning state
	stopped bool          // a stop ended it
}

// cleanError is why a unit cannot be cleaned, with its D-Bus error name.
type cleanError struct{ name, msg string }

func (e *cleanError) Error() string { return e.msg }

// The refusals of unit_clean and the CleanUnit method.
var (
	errNothingToClean = &cleanError{"org.freedesktop.systemd1.NothingToClean", "No matching resources found."}
	errCleanBusy      = &cleanError{"org.freedesktop.systemd1.UnitBusy", "Unit is not inactive or has pending job."}
)

// answerClean runs a clean request: every unit named is checked and its clean started in
// the loop; then, unless no_block, the request waits for the cleans to end. The error
// names each unit that could not be cleaned, one line each, as systemctl prints them.
func answerClean(m *Manager, req *api.Request, _ *control.Peer) (any, error) {
	var runs []*cleanRun
	var msgs []string
	m.call(func() { runs, msgs = m.clean(req) })
	if !req.NoBlock {
		for _, r := range runs {
			select {
			case <-r.done:
			case <-m.quit:
			}
		}
	}
	if len(msgs) > 0 {
		return nil, &reqError{"failed", strings.Join(msgs, "\n")}
	}
	return nil, nil
}

// clean starts the cleans req asks for (see the top of this file) and returns them, with
// systemctl's message for each unit refused.
func (m *Manager) clean(req *api.Request) ([]*cleanRun, []string) {
	what := req.What
	if len(what) == 0 {
		what = []string{"cache", "runtime"}
	}
	mask, maskErr := cleanMask(what)
	var runs []*cleanRun
	var msgs []string
	for _, n := range req.Units {
		name := normalizeName(n)
		var us []*Unit
		if strings.ContainsAny(name, "*?[") {
			us = m.matchUnits([]string{name}, false)
		} else {
			us = []*Unit{m.load(name)}
		}
		for _, u := range us {
			if !u.loaded() {
				prefix := "Failed to add reference to unit " // systemctl's RefUnit, before it waits
				if req.NoBlock {
					prefix = "Failed to clean unit "
				}
				_, msg := loadRefusal(u)
				msgs = append(msgs, prefix+u.Name+": "+msg)
				continue
			}
			run, err := m.cleanUnit(u, mask, maskErr)
			if err != nil {
				msgs = append(msgs, fmt.Sprintf("Failed to clean unit %s: %v", u.Name, err))
				continue
			}
			if run != nil {
				runs = append(runs, run)
			}
		}
	}
	return runs, msgs
}

// cleanUnit checks u and starts its clean (nil for a timer's, done at once).
func (m *Manager) cleanUnit(u *Unit, mask uint8, maskErr error) (*cleanRun, error) {
	if maskErr != nil {
		return nil, maskErr
	}
	switch u.cfg.Type {
	case unit.TypeService, unit.TypeSocket, unit.TypeTimer:
	default:
		return nil, &cleanError{sdbus.ErrNotSupported, fmt.Sprintf("Unit '%s' does not support cleaning.", u.Name)}
	}
	if u.job != nil || u.activeState() != Inactive {
		return nil, errCleanBusy
	}
	if u.cfg.Type == unit.TypeTimer {
		if u.cfg.Timer == nil || !u.cfg.Timer.Persistent || mask&(1<<1) == 0 {
			return nil, errNothingToClean
		}
		if err := os.Remove(m.stampPath(u)); err != nil && !errors.Is(err, os.ErrNotExist) {
			m.logUnit(u, "Failed to clean stamp file of timer: %v", err)
			return nil, err
		}
		return nil, nil
	}
	ec := u.execContext()
	if ec == nil {
		return nil, errNothingToClean
	}
	paths := cleanPaths(execDirs(m.opt.Scope, ec), mask)
	if len(paths) == 0 {
		return nil, errNothingToClean
	}
	return m.startClean(u, ec.CleanTimeout(), paths), nil
}

// cleanPaths are the paths the kinds of mask remove among dirs: BASE/NAME, and but for
// configuration BASE/private/NAME (systemd 252's exec_context_get_clean_directories removes
// those "unconditionally", the runtime one too).
func cleanPaths(dirs [5]execDir, mask uint8) []string {
	var paths []string
	for i, d := range dirs {
		if mask&(1<<i) == 0 || d.base == "" {
			continue
		}
		for _, n := range d.names {
			paths = append(paths, filepath.Join(d.base, n))
			if d.kind != "ConfigurationDirectory" {
				paths = append(paths, filepath.Join(d.base, "private", n))
			}
		}
	}
	return paths
}

// startClean puts u in its cleaning state and removes paths off the loop, for at most
// timeout (unit.DurationInfinity: no limit).
func (m *Manager) startClean(u *Unit, timeout time.Duration, paths []string) *cleanRun {
	ctx, cancel := context.WithCancel(context.Background())
	if timeout != unit.DurationInfinity {
		ctx, cancel = context.WithTimeout(context.Background(), timeout)
	}
	run := &cleanRun{cancel: cancel, done: make(chan struct{})}
	if m.cleans == nil {
		m.cleans = map[*Unit]*cleanRun{}
	}
	m.cleans[u] = run
	u.cleanResult = resultSuccess
	if u.cfg.Type == unit.TypeSocket {
		m.setState(u, sockCleaning)
	} else {
		m.setState(u, svcCleaning)
	}
	remove := m.cleanRemove
	if remove == nil {
		remove = removeTree
	}
	go func() {
		var err error
		for _, p := range paths {
			if err = remove(ctx, p); err != nil {
				break
			}
		}
		m.post(func() { m.cleanDone(u, run, err) })
	}()
	return run
}

// cleanDone ends u's clean run, which ended with err.
func (m *Manager) cleanDone(u *Unit, run *cleanRun, err error) {
	defer close(run.done)
	run.cancel()
	if m.cleans[u] != run {
		return
	}
	delete(m.cleans, u)
	res := resultSuccess
	switch {
	case run.stopped:
	case errors.Is(err, context.DeadlineExceeded):
		m.logUnitAt(u, priorityWarning, nil, "Cleaning timed out. killing.")
		res = resultTimeout
	case err != nil:
		m.logUnitAt(u, priorityWarning, nil, "Failed to clean: %v", err)
		res = resultExitCode
	}
	u.cleanResult = res
	dead, failed := subState(svcDead), subState(svcFailed)
	if u.cfg.Type == unit.TypeSocket {
		dead, failed = sockDead, sockFailed
	}
	if res == resultSuccess {
		m.setState(u, dead)
	} else {
		u.setResult(res)
		m.consolef("%s: Failed with result '%s'.", u.Name, u.result)
		m.logUnitResult(u)
		m.setState(u, failed)
	}
	m.dispatch() // a start waited for the clean's end (waitsForStop)
}

// abortClean ends u's clean under way for a stop: what is removed stays removed, the unit
// goes dead. It reports whether there was one.
func (m *Manager) abortClean(u *Unit) bool {
	run := m.cleans[u]
	if run == nil {
		return false
	}
	run.stopped = true
	run.cancel()
	return true
}

// removeTree removes p, and when it is a directory everything below it, reaching each entry
// through its directory's fd without following symlinks (a link is removed itself). A
// missing p is no error. It stops with ctx's error once ctx is done.
func removeTree(ctx context.Context, p string) error {
	dir, err := unix.Open(filepath.Dir(p), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return &os.PathError{Op: "open", Path: filepath.Dir(p), Err: err}
	}
	defer unix.Close(dir)
	return removeAt(ctx, dir, filepath.Base(p), p)
}

// removeAt removes name in the directory dirfd (path p) and what is below it.
func removeAt(ctx context.Context, dirfd int, name, p string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return &os.PathError{Op: "stat", Path: p, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if err := unix.Unlinkat(dirfd, name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
			return &os.PathError{Op: "remove", Path: p, Err: err}
		}
		return nil
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: p, Err: err}
	}
	f := os.NewFile(uintptr(fd), p) // owns fd
	defer f.Close()
	for {
		names, err := f.Readdirnames(256)
		for _, n := range names {
			if err := removeAt(ctx, fd, n, filepath.Join(p, n)); err != nil {
				return err
			}
		}
		if err != nil {
			break // io.EOF: all read (removing while reading may repeat a name: it is gone)
		}
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
		return &os.PathError{Op: "remove", Path: p, Err: err}
	}
	return nil
}

// dbusClean serves the CleanUnit method (and the Unit interface's Clean): the clean starts
// and the call returns, as systemd's; the unit's state says when it is over.
func (m *Manager) dbusClean(c *sdbus.Call, name string, what []string) {
	m.dbusServe(func() {
		u := m.load(normalizeName(name))
		if !u.loaded() {
			code, msg := loadRefusal(u)
			c.Fail(dbusError(code), msg)
			return
		}
		mask, maskErr := cleanMask(what)
		if _, err := m.cleanUnit(u, mask, maskErr); err != nil {
			var ce *cleanError
			if errors.As(err, &ce) {
				c.Fail(ce.name, ce.msg)
				return
			}
			c.Fail(sdbus.ErrFailed, err.Error())
			return
		}
		c.Reply()
	})
}
