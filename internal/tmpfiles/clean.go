package tmpfiles

import (
	"bufio"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const maxDepth = 256

// clean applies a line for --clean: the contents of the directories of d, D, v, q, Q, x and C
// lines (and of what e and X lines match) older than the line's age are removed.
func (r *Runner) clean(i *Item) error {
	r.logf(LevelDebug, "Running clean action for entry %c %s", i.Type, i.Path)
	switch i.Type {
	case CreateDirectory, CreateSubvolume, CreateSubvolumeQ, CreateSubvolumeNewQ, TruncateDirectory, IgnorePath, CopyFiles:
		r.cleanInstance(i, i.Path, foundExisting)
		return nil
	case EmptyDirectory, IgnoreDirectoryPath:
		return r.globItem(i, r.cleanInstance)
	}
	return nil
}

// nsec is a statx timestamp in nanoseconds (a negative one is "infinitely new", as systemd
// treats it).
func nsec(ts unix.StatxTimestamp) int64 {
	if ts.Sec < 0 {
		return 1<<63 - 1
	}
	return ts.Sec*1e9 + int64(ts.Nsec)
}

// cleanInstance cleans one directory (clean_item_instance).
func (r *Runner) cleanInstance(i *Item, p string, _ creation) error {
	if !i.AgeSet {
		return nil
	}
	now := r.now()
	if i.Age == AgeInfinity || time.Duration(now.UnixNano()) < i.Age {
		return nil
	}
	// The cut-off has microseconds, as systemd's clock.
	cutoff := (now.UnixNano()/1e3 - i.Age.Microseconds()) * 1e3
	fd, err := r.openDirNoFollow(p)
	if err != nil {
		if err == unix.ENOENT || err == unix.ENOTDIR {
			r.logf(LevelDebug, "Directory \"%s\": %s", p, strerror(err))
			return nil
		}
		return r.errorf(err, "Failed to open directory %s: %s", p, strerror(err))
	}
	defer unix.Close(fd)
	var sx unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_MODE|unix.STATX_INO|unix.STATX_ATIME|unix.STATX_MTIME, &sx); err != nil {
		return r.errorf(err, "statx(%s) failed: %s", p, strerror(err))
	}
	mountpoint := sx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 && sx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0
	return r.dirCleanup(i, p, fd, nsec(sx.Atime), nsec(sx.Mtime), cutoff, mountpoint, maxDepth, i.KeepFirstLevel)
}

// openDirNoFollow opens a directory (inside the root directory) for reading, not following
// a symlink in its last component, with O_NOATIME when allowed.
func (r *Runner) openDirNoFollow(p string) (int, error) {
	pfd, name, err := r.parentOf(p)
	if err == unix.EBUSY {
		return r.root.openRoot()
	}
	if err != nil {
		return -1, err
	}
	defer unix.Close(pfd)
	return openDirAt(pfd, name)
}

func openDirAt(dfd int, name string) (int, error) {
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NOATIME, 0)
	if err == unix.EPERM {
		fd, err = unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	}
	return fd, err
}

// needsCleanup reports whether every timestamp of ageBy is older than the cut-off.
func needsCleanup(sx *unix.Statx_t, cutoff int64, by AgeBy) bool {
	for _, t := range []struct {
		bit  AgeBy
		mask uint32
		ts   unix.StatxTimestamp
	}{
		{AgeByMtime, unix.STATX_MTIME, sx.Mtime},
		{AgeByAtime, unix.STATX_ATIME, sx.Atime},
		{AgeByCtime, unix.STATX_CTIME, sx.Ctime},
		{AgeByBtime, unix.STATX_BTIME, sx.Btime},
	} {
		if by&t.bit == 0 {
			continue
		}
		v := int64(0)
		if sx.Mask&t.mask != 0 {
			v = nsec(t.ts)
		}
		if v != 1<<63-1 && v >= cutoff {
			return false
		}
	}
	return true
}

// dirCleanup removes what is old in the open directory fd (dir_cleanup): not what another
// line names, not mount points, not lost+found or quota files at the top of a mount, not
// files with the sticky bit, live sockets or device nodes, not a directory locked with
// flock(2); directories are emptied first, then removed when old and empty. keep: the
// entries of this level stay (the '~' of an age).
func (r *Runner) dirCleanup(i *Item, p string, fd int, selfAtime, selfMtime, cutoff int64, mountpoint bool, depth int, keep bool) error {
	var first error
	deleted := false
	dfd, err := unix.Dup(fd)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(dfd), p)
	names, _ := f.Readdirnames(-1)
	f.Close()
	var rootSx unix.Statx_t
	unix.Statx(fd, "", unix.AT_EMPTY_PATH, 0, &rootSx)
	for _, n := range names {
		var sx unix.Statx_t
		err := unix.Statx(fd, n, unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT,
			unix.STATX_TYPE|unix.STATX_MODE|unix.STATX_UID|unix.STATX_ATIME|unix.STATX_MTIME|unix.STATX_CTIME|unix.STATX_BTIME, &sx)
		if err == unix.ENOENT {
			continue
		}
		if err != nil {
			level := LevelErr
			if err == unix.EACCES {
				level = LevelDebug
			}
			r.logf(level, "statx(%s/%s) failed: %s", p, n, strerror(err))
			first = err
			continue
		}
		if sx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 {
			if sx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0 {
				r.logf(LevelDebug, "Ignoring \"%s/%s\": different mount points.", p, n)
				continue
			}
		} else if sx.Dev_major != rootSx.Dev_major || sx.Dev_minor != rootSx.Dev_minor {
			r.logf(LevelDebug, "Ignoring \"%s/%s\": different filesystem.", p, n)
			continue
		}
		sub := joinPath(p, n)
		if r.cfg.items.get(sub) != nil {
			r.logf(LevelDebug, "Ignoring \"%s\": a separate entry exists.", sub)
			continue
		}
		if r.findGlob(sub) {
			r.logf(LevelDebug, "Ignoring \"%s\": a separate glob exists.", sub)
			continue
		}
		mode := uint32(sx.Mode)
		if mode&unix.S_IFMT == unix.S_IFDIR {
			if mountpoint && n == "lost+found" && sx.Uid == 0 {
				r.logf(LevelDebug, "Ignoring directory \"%s\".", sub)
				continue
			}
			if depth <= 0 {
				r.logf(LevelWarning, "Reached max depth on \"%s\".", sub)
			} else {
				cfd, err := openDirAt(fd, n)
				if err != nil {
					if err != unix.ENOENT {
						r.logf(LevelWarning, "Opening directory \"%s\" failed, ignoring: %s", sub, strerror(err))
						first = err
					}
					continue
				}
				if err := unix.Flock(cfd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
					r.logf(LevelDebug, "Couldn't acquire shared BSD lock on directory \"%s\", skipping: %s", p, strerror(err))
					unix.Close(cfd)
					continue
				}
				if err := r.dirCleanup(i, sub, cfd, nsec(sx.Atime), nsec(sx.Mtime), cutoff, false, depth-1, false); err != nil {
					first = err
				}
				unix.Close(cfd)
			}
			if keep {
				r.logf(LevelDebug, "Keeping directory \"%s\".", sub)
				continue
			}
			if !needsCleanup(&sx, cutoff, i.AgeByDir) {
				continue
			}
			r.logf(LevelDebug, "Removing directory \"%s\".", sub)
			if err := unix.Unlinkat(fd, n, unix.AT_REMOVEDIR); err != nil && err != unix.ENOENT && err != unix.ENOTEMPTY {
				r.logf(LevelWarning, "Failed to remove directory \"%s\", ignoring: %s", sub, strerror(err))
				first = err
			}
			continue
		}
		if mode&unix.S_ISVTX != 0 {
			r.logf(LevelDebug, "Skipping \"%s\": sticky bit set.", sub)
			continue
		}
		if mountpoint && mode&unix.S_IFMT == unix.S_IFREG && sx.Uid == 0 && (n == ".journal" || n == "aquota.user" || n == "aquota.group") {
			r.logf(LevelDebug, "Skipping \"%s\".", sub)
			continue
		}
		if mode&unix.S_IFMT == unix.S_IFSOCK && r.socketAlive(sub) {
			r.logf(LevelDebug, "Skipping \"%s\": live socket.", sub)
			continue
		}
		if mode&unix.S_IFMT == unix.S_IFCHR || mode&unix.S_IFMT == unix.S_IFBLK {
			r.logf(LevelDebug, "Skipping \"%s\": a device.", sub)
			continue
		}
		if keep {
			r.logf(LevelDebug, "Keeping \"%s\".", sub)
			continue
		}
		if !needsCleanup(&sx, cutoff, i.AgeByFile) {
			continue
		}
		r.logf(LevelDebug, "Removing \"%s\".", sub)
		if err := unix.Unlinkat(fd, n, 0); err != nil && err != unix.ENOENT {
			r.logf(LevelWarning, "Failed to remove \"%s\", ignoring: %s", sub, strerror(err))
			first = err
		}
		deleted = true
	}
	if deleted {
		ts := []unix.Timespec{unix.NsecToTimespec(selfAtime), unix.NsecToTimespec(selfMtime)}
		if err := unix.UtimesNanoAt(fd, "", ts, unix.AT_EMPTY_PATH); err != nil {
			r.logf(LevelWarning, "Failed to revert timestamps of '%s', ignoring: %s", p, strerror(err))
		}
	}
	return first
}

// findGlob reports whether a glob line matches p exactly (fnmatch with FNM_PATHNAME).
func (r *Runner) findGlob(p string) bool {
	for _, a := range r.cfg.globs.order {
		for _, g := range a.items {
			if fnmatch(g.Path, p, true) {
				return true
			}
		}
	}
	return false
}

// socketAlive reports whether a unix socket path is listed in /proc/net/unix (a socket of a
// running program); when that cannot be read, every socket counts as alive.
func (r *Runner) socketAlive(p string) bool {
	if r.sockets == nil {
		f, err := os.Open("/proc/net/unix")
		if err != nil {
			return true
		}
		defer f.Close()
		r.sockets = map[string]bool{}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		sc.Scan() // the header
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) >= 8 && strings.HasPrefix(fs[7], "/") {
				r.sockets[fs[7]] = true
			}
		}
	}
	return r.sockets[p]
}
