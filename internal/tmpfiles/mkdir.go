package tmpfiles

import (
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// mkdirParents creates the directories above a line's path, mode 0755 (mkdir_parents_item):
// with '=', an inode of the wrong type on the way (and for childMode, the path itself) is
// removed first; without, failures are left to the creation that follows.
func (r *Runner) mkdirParents(i *Item, childMode uint32) error {
	in := r.root.inner(i.Path)
	if !i.TryReplace {
		r.mkdirAll(in)
		return nil
	}
	err := r.mkdirParentsReplacing(in, childMode)
	if err != nil && err != unix.ENOENT {
		return err
	}
	return nil
}

// mkdirAll is mkdir_parents(): nothing when the parent is a directory; else every directory
// above p, stopping at the first error.
func (r *Runner) mkdirAll(p string) {
	parent := parentPath(p)
	if fd, _, _, err := r.root.chase(parent, 0); err == nil {
		unix.Close(fd)
		return
	}
	comps := strings.Split(strings.Trim(parent, "/"), "/")
	done := "/"
	for _, c := range comps {
		if c == "" {
			continue
		}
		dfd, _, _, err := r.root.chase(done, 0)
		if err != nil {
			return
		}
		err = unix.Mkdirat(dfd, c, 0o755)
		unix.Close(dfd)
		if err != nil && err != unix.EEXIST {
			return
		}
		done = joinPath(done, c)
	}
}

// mkdirParentsReplacing is mkdir_parents_rm_if_wrong_type(): every component above p must be
// a directory (or a symlink to one), else it is removed and a directory made; with
// childMode, p itself must be of that type or is removed.
func (r *Runner) mkdirParentsReplacing(p string, childMode uint32) error {
	pfd, err := r.root.openRoot()
	if err != nil {
		return r.errorf(err, "Failed to open root: %s", strerror(err))
	}
	defer func() { unix.Close(pfd) }()
	var pst unix.Stat_t
	if err := unix.Fstat(pfd, &pst); err != nil {
		return r.errorf(err, "Failed to stat root: %s", strerror(err))
	}
	comps := strings.Split(strings.Trim(p, "/"), "/")
	done := "/"
	for k, t := range comps {
		if k == len(comps)-1 {
			if childMode == 0 {
				return nil
			}
			return r.rmIfWrongType(childMode, pfd, done, &pst, t, false)
		}
		err := r.rmIfWrongType(unix.S_IFDIR, pfd, done, &pst, t, true)
		if err == unix.ENOENT {
			err = r.rmIfWrongType(unix.S_IFDIR, pfd, done, &pst, t, false)
		}
		if err == unix.ENOENT {
			if err := unix.Mkdirat(pfd, t, 0o755); err != nil {
				return r.errorf(err, "Failed to mkdir \"%s\" at \"%s\": %s", t, fdPath(pfd), strerror(err))
			}
		} else if err != nil {
			return err
		}
		done = joinPath(done, t)
		// The next directory, a symlink on the way resolved inside the root directory.
		nfd, _, _, err := r.root.chase(done, 0)
		if err != nil {
			return r.errorf(err, "Failed to open \"%s\" at \"%s\": %s", t, fdPath(pfd), strerror(err))
		}
		if err := unix.Fstat(nfd, &pst); err != nil {
			unix.Close(nfd)
			return r.errorf(err, "Failed to stat \"%s\" at \"%s\": %s", t, fdPath(pfd), strerror(err))
		}
		unix.Close(pfd)
		pfd = nfd
	}
	return nil
}

// rmIfWrongType removes name in pfd (and everything below it) when it is not of type mode;
// follow: a symlink counts as what it points to, inside the root directory. dir is pfd's path
// inside the root. ENOENT: name does not exist (any more).
func (r *Runner) rmIfWrongType(mode uint32, pfd int, dir string, pst *unix.Stat_t, name string, follow bool) error {
	if name == "." || name == ".." || name == "" || strings.Contains(name, "/") {
		return r.errorf(syscall.EINVAL, "\"%s\" is not a valid filename.", name)
	}
	var st unix.Stat_t
	var err error
	if follow {
		err = r.statFollow(pfd, dir, name, &st)
	} else {
		err = unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
	}
	if err != nil {
		level := LevelErr
		if err == unix.ENOENT {
			level = LevelDebug
		}
		r.logf(level, "Failed to stat \"%s\" at \"%s\": %s", name, fdPath(pfd), strerror(err))
		return err
	}
	if follow && unsafeTransition(pst, &st) {
		return r.errorf(syscall.ENOLINK, "Unsafe transition from \"%s\" to \"%s\".", fdPath(pfd), name)
	}
	if st.Mode&unix.S_IFMT == mode {
		return nil
	}
	r.logf(LevelNotice, "Wrong file type 0o%o; rm -rf \"%s/%s\"", st.Mode&unix.S_IFMT, fdPath(pfd), name)
	if follow {
		if err := unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return r.errorf(err, "Failed to stat \"%s\" at \"%s\": %s", name, fdPath(pfd), strerror(err))
		}
	}
	if isMountPoint(pfd, name) {
		return r.errorf(syscall.EBUSY, "Not removing  \"%s/%s\" because it is a mount point.", fdPath(pfd), name)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		cfd, err := unix.Openat(pfd, name, unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_DIRECTORY, 0)
		if err != nil {
			return r.errorf(err, "Failed to open \"%s\" at \"%s\": %s", name, fdPath(pfd), strerror(err))
		}
		err = rmChildren(cfd, name)
		unix.Close(cfd)
		if err != nil {
			return r.errorf(err, "Failed to remove contents of \"%s\" at \"%s\": %s", name, fdPath(pfd), strerror(err))
		}
		err = unix.Unlinkat(pfd, name, unix.AT_REMOVEDIR)
		if err != nil {
			return r.errorf(err, "Failed to remove \"%s\" at \"%s\": %s", name, fdPath(pfd), strerror(err))
		}
	} else if err := unix.Unlinkat(pfd, name, 0); err != nil {
		return r.errorf(err, "Failed to remove \"%s\" at \"%s\": %s", name, fdPath(pfd), strerror(err))
	}
	return unix.ENOENT
}

// statFollow stats name in dfd (the inner path dir) following a symlink inside the root
// directory.
func (r *Runner) statFollow(dfd int, dir, name string, st *unix.Stat_t) error {
	if err := unix.Fstatat(dfd, name, st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		return nil
	}
	fd, _, _, err := r.root.chase(joinPath(dir, name), 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Fstat(fd, st)
}
