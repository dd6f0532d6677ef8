package manager

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/internal/spawn"
	"github.com/flint-init/flint/unit"
)

// RuntimeDirectory=, StateDirectory=, CacheDirectory=, LogsDirectory= and
// ConfigurationDirectory= (systemd.exec(5)), set up before every command of a unit as systemd
// 252's exec_child does it (setup_exec_directory; internal/difftest's exec-dirs scenarios
// compare it with systemd itself):
//   - They belong to the unit's User= and Group=, whatever the command's prefix: a '+' or '!'
//     command runs as root but finds them already its user's. A system manager gives root
//     what User=/Group= leave unset; a user manager leaves the owner alone then.
//   - The directories of one setting are handled parents first (StateDirectory=a/b a: a,
//     then a/b; execDirs sorts them). Missing parents of a configured directory are made
//     0755 (less the umask) and stay root's (the manager's); the configured directory itself
//     is made with, and set to, its *DirectoryMode= (0755 by default).
//   - An existing directory gets the mode, and, when its own owner is not the wanted one,
//     the whole tree below it is given to the user: every file, directory and symlink (the
//     link itself, never its target), permission bits kept (see DynamicUser= below). A directory already owned by the
//     user is taken as right and not descended into.
//   - An existing ConfigurationDirectory= is left as it is (a line in the log when its mode
//     differs); a new one is made as the others are.
//
//
// With DynamicUser= (a system manager's), StateDirectory=, CacheDirectory= and
// LogsDirectory= live under BASE/private, a directory 0700 root:root that keeps unprivileged
// host users out of what a reused uid owns: the real directory is BASE/private/NAME, and
// BASE/NAME a relative symlink to it (made by setupPrivateDir; the unit's processes reach it
// through the mounts of dynuser.go). A BASE/NAME directory found without BASE/private/NAME
// (the unit had DynamicUser=no before) is moved there. The trees are given to the dynamic
// user without set-user-ID and set-group-ID bits: the uid is someone else's later.
// RuntimeDirectory= and ConfigurationDirectory= stay where they are.

type execDir struct {
	env    string // RUNTIME_DIRECTORY, ...
	base   string // /run, /var/lib, ... (unit.ExecDirectoryBases; "": none)
	names  []string
	mode   os.FileMode
	kind   string // the setting: RuntimeDirectory, ...
	status int    // the exit status when it cannot be set up (systemd's EXIT_*_DIRECTORY)
	// private: DynamicUser='s layout under base/private; dynamic: DynamicUser= at all.
	private, dynamic bool
}

// execDirs lists RuntimeDirectory= and friends with their base directories, each setting's
// names parents first (systemd's exec_directory_sort; RUNTIME_DIRECTORY= and friends list
// them in that order too).
func execDirs(scope unit.Scope, ec *unit.ExecContext) [5]execDir {
	// A base that cannot be determined (a user manager without $XDG_RUNTIME_DIR) is "":
	// setupExecDirs refuses the directories below it.
	base, _ := unit.ExecDirectoryBases(scope)
	return execDirsAt(base, ec, ec.DynamicUser && scope == unit.System)
}

// execDirsAt is execDirs with the five base directories given; dynamic says whether
// DynamicUser= applies (only a system manager allocates users).
func execDirsAt(base [5]string, ec *unit.ExecContext, dynamic bool) [5]execDir {
	dirs := [5]execDir{
		{"RUNTIME_DIRECTORY", base[0], ec.RuntimeDirectory, ec.RuntimeDirectoryMode, "RuntimeDirectory", 233, false, false},
		{"STATE_DIRECTORY", base[1], ec.StateDirectory, ec.StateDirectoryMode, "StateDirectory", 238, false, false},
		{"CACHE_DIRECTORY", base[2], ec.CacheDirectory, ec.CacheDirectoryMode, "CacheDirectory", 239, false, false},
		{"LOGS_DIRECTORY", base[3], ec.LogsDirectory, ec.LogsDirectoryMode, "LogsDirectory", 240, false, false},
		{"CONFIGURATION_DIRECTORY", base[4], ec.ConfigurationDirectory, ec.ConfigurationDirectoryMode, "ConfigurationDirectory", 241, false, false},
	}
	for i := range dirs {
		dirs[i].dynamic = dynamic
		dirs[i].private = dynamic && i >= 1 && i <= 3
		if len(dirs[i].names) > 1 {
			dirs[i].names = slices.Clone(dirs[i].names)
			slices.SortStableFunc(dirs[i].names, pathLess)
		}
	}
	return dirs
}

// dirOwner is the owner RuntimeDirectory= and friends get; nil leaves it.
type dirOwner struct{ uid, gid int }

// execDirOwner is the owner of a unit's directories: its User= and Group= (cr, resolved by
// resolveCreds), root for a system manager when neither is set, nil (the owner is left) for
// a user manager then.
func execDirOwner(scope unit.Scope, cr *creds) *dirOwner {
	if cr != nil {
		return &dirOwner{int(cr.uid), int(cr.gid)}
	}
	if scope == unit.System {
		return &dirOwner{0, 0}
	}
	return nil
}

// pathLess orders paths component by component, so that a directory comes right before
// what is below it ("a", "a/b", "a-b"), as systemd's path_compare.
func pathLess(a, b string) int {
	return slices.Compare(strings.Split(a, "/"), strings.Split(b, "/"))
}

// setupExecDirs creates and adjusts the directories of dirs (execDirs; see the top of this
// file) for owner; warn takes the lines systemd logs without failing. An error is a
// *spawn.ExecError with the setting's exit status.
func setupExecDirs(dirs [5]execDir, owner *dirOwner, warn func(string)) error {
	for _, d := range dirs {
		mode := d.mode
		if mode == 0 {
			mode = 0o755
		}
		for _, n := range d.names {
			if d.base == "" {
				return &spawn.ExecError{Status: d.status, Step: d.env, Err: fmt.Errorf("failed to set up %s=%s: no directory to make it in ($XDG_RUNTIME_DIR or the home directory unknown)", d.kind, n)}
			}
			if err := setupExecDir(d, n, mode, owner, warn); err != nil {
				return &spawn.ExecError{Status: d.status, Step: d.env, Err: fmt.Errorf("failed to set up %s=%s: %w", d.kind, n, err)}
			}
		}
	}
	return nil
}

// setupExecDir sets up directory name of d with mode (the unit file's bits, 07777).
func setupExecDir(d execDir, name string, mode os.FileMode, owner *dirOwner, warn func(string)) error {
	p := filepath.Join(d.base, name)
	want := uint32(mode) & 0o7777
	if err := mkdirParents(p); err != nil {
		return err
	}
	var err error
	if d.private {
		if p, err = setupPrivateDir(d, name, mode, warn); err != nil {
			return err
		}
	} else if err = os.Mkdir(p, mode); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if err != nil && d.kind == "ConfigurationDirectory" {
		// Not meant to be written by the service: left as it is.
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if have := unixMode(fi.Mode()); have != want {
			warn(fmt.Sprintf("%s '%s' already exists but the mode is different. (File system: %o %sMode: %o)",
				d.kind, name, have, d.kind, want))
		}
		return nil
	}
	// From here on through the directory's fd: a component that is (or becomes) a symlink is
	// not followed.
	fd, err := unix.Open(p, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: p, Err: err}
	}
	if err := unix.Fchmod(fd, want); err != nil {
		unix.Close(fd)
		return &os.PathError{Op: "chmod", Path: p, Err: err}
	}
	if owner == nil {
		unix.Close(fd)
		return nil
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return &os.PathError{Op: "stat", Path: p, Err: err}
	}
	keep := uint32(0o7777)
	if d.dynamic {
		keep = 0o1777
	}
	if int(st.Uid) == owner.uid && int(st.Gid) == owner.gid && st.Mode&0o7777&^keep == 0 {
		unix.Close(fd)
		return nil // owned right: the tree is taken as right (systemd's path_chown_recursive)
	}
	return chownDirTree(fd, p, &st, owner, keep)
}

// setupPrivateDir makes d's directory name under d.base/private (see the top of this file),
// or finds it there, and returns its path.
func setupPrivateDir(d execDir, name string, mode os.FileMode, warn func(string)) (string, error) {
	p := filepath.Join(d.base, name)
	private := filepath.Join(d.base, "private")
	pp := filepath.Join(private, name)
	if err := os.Mkdir(private, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return pp, err
	}
	// The boundary must be root's own directory, open to nobody else (systemd's mkdir_safe:
	// a stricter mode is fine).
	var st unix.Stat_t
	if err := unix.Lstat(private, &st); err != nil {
		return pp, &os.PathError{Op: "stat", Path: private, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Uid != 0 || st.Gid != 0 {
		return pp, &os.PathError{Op: "mkdir", Path: private, Err: unix.EEXIST}
	}
	if st.Mode&0o077 != 0 {
		warn(fmt.Sprintf("Directory \"%s\" already exists, but has mode %04o that is too permissive (%04o was requested), refusing.", private, st.Mode&0o7777, 0o700))
		return pp, &os.PathError{Op: "mkdir", Path: private, Err: unix.EEXIST}
	}
	if err := mkdirParents(pp); err != nil {
		return pp, err
	}
	var pst, ppst unix.Stat_t
	if unix.Lstat(p, &pst) == nil && pst.Mode&unix.S_IFMT == unix.S_IFDIR && errors.Is(unix.Lstat(pp, &ppst), unix.ENOENT) {
		warn(fmt.Sprintf("Found pre-existing public %s= directory %s, migrating to %s.\n"+
			"Apparently, service previously had DynamicUser= turned off, and has now turned it on.", d.kind, p, pp))
		if err := os.Rename(p, pp); err != nil {
			return pp, err
		}
	} else if err := os.Mkdir(pp, mode); err != nil && !errors.Is(err, fs.ErrExist) {
		return pp, err
	}
	target, rerr := filepath.Rel(filepath.Dir(p), pp)
	if rerr != nil {
		return pp, rerr
	}
	if lerr := os.Symlink(target, p); lerr != nil {
		// An existing link is right when it leads where this one would; anything else in
		// its place is an error, as systemd's symlink_idempotent.
		if have, rlerr := os.Readlink(p); rlerr != nil || have != target {
			return pp, &os.PathError{Op: "symlink", Path: p, Err: unix.EEXIST}
		}
	}
	return pp, nil
}

// unixMode is the permission bits of m with set-user-ID, set-group-ID and sticky as in stat(2).
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= unix.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		u |= unix.S_ISGID
	}
	if m&fs.ModeSticky != 0 {
		u |= unix.S_ISVTX
	}
	return u
}

// mkdirParents makes the missing parent directories of p with mode 0755 (less the umask), as
// systemd's mkdir_parents; existing ones are left as they are.
func mkdirParents(p string) error {
	dir := filepath.Dir(p)
	fi, err := os.Stat(dir)
	if err == nil {
		if !fi.IsDir() {
			return &os.PathError{Op: "mkdir", Path: dir, Err: unix.ENOTDIR}
		}
		return nil
	}
	if dir == p || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := mkdirParents(dir); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return nil
}

// chownDirTree gives the directory open as fd (path p, stat st), and everything below it, to
// owner, and closes fd. Entries are reached through their directory's fd and never through a
// symlink (a symlink gets the owner itself), so that a user who can write in the tree cannot
// make the manager change anything outside it. Permission bits are restored after each
// chown, which clears set-user-ID and set-group-ID: those of keep (07777, or 01777 for a
// dynamic user).
func chownDirTree(fd int, p string, st *unix.Stat_t, owner *dirOwner, keep uint32) error {
	f := os.NewFile(uintptr(fd), p) // owns fd from here
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, n := range names {
		var est unix.Stat_t
		if err := unix.Fstatat(fd, n, &est, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // gone meanwhile
			}
			return &os.PathError{Op: "stat", Path: filepath.Join(p, n), Err: err}
		}
		if est.Mode&unix.S_IFMT == unix.S_IFDIR {
			sub, err := unix.Openat(fd, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				return &os.PathError{Op: "open", Path: filepath.Join(p, n), Err: err}
			}
			if err := chownDirTree(sub, filepath.Join(p, n), &est, owner, keep); err != nil {
				return err
			}
			continue
		}
		if err := chownEntry(fd, n, filepath.Join(p, n), owner, keep); err != nil {
			return err
		}
	}
	if err := unix.Fchown(fd, owner.uid, owner.gid); err != nil {
		return &os.PathError{Op: "chown", Path: p, Err: err}
	}
	if err := unix.Fchmod(fd, st.Mode&keep); err != nil {
		return &os.PathError{Op: "chmod", Path: p, Err: err}
	}
	return nil
}

// chownEntry gives the non-directory name in the directory dirfd to owner, through an O_PATH
// fd of the entry itself (a symlink is not followed).
func chownEntry(dirfd int, name, p string, owner *dirOwner, keep uint32) error {
	fd, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return &os.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "stat", Path: p, Err: err}
	}
	if err := unix.Fchownat(fd, "", owner.uid, owner.gid, unix.AT_EMPTY_PATH); err != nil {
		return &os.PathError{Op: "chown", Path: p, Err: err}
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return nil
	}
	// fchmod(2) does not take an O_PATH fd; its /proc/self/fd link names the same inode.
	if err := unix.Fchmodat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), st.Mode&keep, 0); err != nil {
		return &os.PathError{Op: "chmod", Path: p, Err: err}
	}
	return nil
}

// removeRuntimeDirs removes RuntimeDirectory= unless RuntimeDirectoryPreserve=yes (the caller
// handles RuntimeDirectoryPreserve=restart).
func removeRuntimeDirs(scope unit.Scope, ec *unit.ExecContext) {
	if ec.RuntimeDirectoryPreserve == "yes" {
		return
	}
	for _, d := range execDirs(scope, ec) {
		if d.kind != "RuntimeDirectory" || d.base == "" {
			continue
		}
		for _, n := range d.names {
			os.RemoveAll(filepath.Join(d.base, n))
		}
	}
}

// ambientCapsSupported reports whether the kernel has ambient capabilities (Linux 4.3): a
// '!!' command then runs as User= like one without prefix (systemd.service(5)); only
// without them is it run as root, as '!'.
var ambientCapsSupported = sync.OnceValue(func() bool {
	_, err := unix.PrctlRetInt(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_IS_SET, unix.CAP_KILL, 0, 0)
	return err == nil
})
