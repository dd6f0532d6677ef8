package tmpfiles

import (
	"os"
	"path"
	"syscall"

	"golang.org/x/sys/unix"
)

// remove applies a line for --remove: D empties its directory, r and R remove what their
// glob matches.
func (r *Runner) remove(i *Item) error {
	switch i.Type {
	case TruncateDirectory:
		r.logf(LevelDebug, "rm -rf \"%s\"", i.Path)
		if err := r.rmRf(i.Path, false); err != nil && err != unix.ENOENT {
			return r.errorf(err, "rm_rf(%s): %s", i.Path, strerror(err))
		}
		return nil
	case RemovePath, RecursiveRemovePath:
		return r.globItem(i, r.removeInstance)
	}
	return nil
}

// removeInstance is one path of r (remove(3): a file, a symlink or an empty directory) or R
// (everything below it too).
func (r *Runner) removeInstance(i *Item, p string, _ creation) error {
	if i.Type == RemovePath {
		err := r.removeOne(p)
		if err != nil && err != unix.ENOENT {
			return r.errorf(err, "rm(%s): %s", p, strerror(err))
		}
		return nil
	}
	r.logf(LevelDebug, "rm -rf \"%s\"", p)
	if err := r.rmRf(p, true); err != nil && err != unix.ENOENT {
		return r.errorf(err, "rm_rf(%s): %s", p, strerror(err))
	}
	return nil
}

// removeOne is remove(3) inside the root directory: unlink, and rmdir for a directory.
func (r *Runner) removeOne(p string) error {
	pfd, name, err := r.parentOf(p)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	err = unix.Unlinkat(pfd, name, 0)
	if err == unix.EISDIR {
		err = unix.Unlinkat(pfd, name, unix.AT_REMOVEDIR)
	}
	return err
}

// parentOf opens the directory p is in (symlinks followed inside the root directory) and
// returns p's last component.
func (r *Runner) parentOf(p string) (int, string, error) {
	in := r.root.inner(p)
	if in == "/" {
		return -1, "", syscall.EBUSY
	}
	fd, _, _, err := r.root.chase(path.Dir(in), 0)
	if err != nil {
		return -1, "", err
	}
	return fd, path.Base(in), nil
}

// rmRf is systemd's rm_rf(path, REMOVE_PHYSICAL[|REMOVE_ROOT|REMOVE_SUBVOLUME]): everything
// below a directory, not crossing into mount points, and with withRoot the path itself (a
// file or symlink is then just unlinked). The host's root directory is refused.
func (r *Runner) rmRf(p string, withRoot bool) error {
	if sameFile(r.root.outer(r.root.inner(p)), "/") {
		return r.errorf(syscall.EPERM, "Attempted to remove entire root file system (\"%s\"), and we can't allow that.", p)
	}
	pfd, name, err := r.parentOf(p)
	if err != nil {
		if err == unix.EBUSY { // the root directory itself: only its contents
			rfd, err := r.root.openRoot()
			if err != nil {
				return err
			}
			defer unix.Close(rfd)
			return rmChildren(rfd, ".")
		}
		return err
	}
	defer unix.Close(pfd)
	dfd, err := unix.Openat(pfd, name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NOATIME, 0)
	if err == unix.EPERM {
		dfd, err = unix.Openat(pfd, name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	}
	if err != nil {
		if err != unix.ENOTDIR && err != unix.ELOOP {
			return err
		}
		if !withRoot {
			return nil
		}
		return unix.Unlinkat(pfd, name, 0)
	}
	first := rmChildren(dfd, name)
	unix.Close(dfd)
	if withRoot {
		if err := unix.Unlinkat(pfd, name, unix.AT_REMOVEDIR); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// rmRfChild removes name in dfd and everything below it (rm_rf_child()).
func (r *Runner) rmRfChild(dfd int, name string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return unix.Unlinkat(dfd, name, 0)
	}
	if isMountPoint(dfd, name) {
		return nil
	}
	cfd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	first := rmChildren(cfd, name)
	unix.Close(cfd)
	if err := unix.Unlinkat(dfd, name, unix.AT_REMOVEDIR); err != nil {
		return err
	}
	return first
}

// rmChildren removes everything in the open directory dfd (rm_rf_children()), leaving mount
// points alone; it returns the first error (a file gone meanwhile is none).
func rmChildren(dfd int, name string) error {
	f, err := os.Open(procPath(dfd))
	if err != nil {
		return err
	}
	names, rerr := f.Readdirnames(-1)
	f.Close()
	var first error
	keep := func(err error) {
		if err != nil && err != unix.ENOENT && first == nil {
			first = err
		}
	}
	keep(rerr)
	for _, n := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(dfd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			keep(err)
			continue
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			keep(unix.Unlinkat(dfd, n, 0))
			continue
		}
		if isMountPoint(dfd, n) {
			continue
		}
		cfd, err := unix.Openat(dfd, n, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if err != nil {
			keep(err)
			continue
		}
		keep(rmChildren(cfd, n))
		unix.Close(cfd)
		keep(unix.Unlinkat(dfd, n, unix.AT_REMOVEDIR))
	}
	return first
}

// isMountPoint reports whether name in dfd is the root of a mount (statx's
// STATX_ATTR_MOUNT_ROOT).
func isMountPoint(dfd int, name string) bool {
	var sx unix.Statx_t
	if err := unix.Statx(dfd, name, unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT, 0, &sx); err != nil {
		return false
	}
	return sx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 && sx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0
}

// sameFile reports whether two paths name the same inode (without following the last
// component).
func sameFile(a, b string) bool {
	var sa, sb unix.Stat_t
	if unix.Lstat(a, &sa) != nil || unix.Lstat(b, &sb) != nil {
		return false
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino
}
