package tmpfiles

import (
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// copyFiles is C: copy the source (inside the root directory) to the line's path unless
// something is there already (an empty directory is filled), then apply the mode and owner.
func (r *Runner) copyFiles(i *Item) error {
	r.logf(LevelDebug, "Copying tree \"%s\" to \"%s\".", i.Arg, i.Path)
	bn, dfd, err := r.openParentOf(i.Path)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	src := string(i.Arg)
	sfd, _, _, serr := r.root.chase(r.root.inner(src), chaseNoFollow)
	var cerr error
	if serr != nil {
		cerr = serr
	} else {
		c := &treeCopy{hardlinks: map[[2]uint64]string{}}
		if i.UIDSet {
			c.uid = int(i.UID)
		} else {
			c.uid = -1
		}
		if i.GIDSet {
			c.gid = int(i.GID)
		} else {
			c.gid = -1
		}
		cerr = c.copyAt(sfd, "", dfd, bn, "")
		unix.Close(sfd)
	}
	fd, err := unix.Openat(dfd, bn, unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_PATH, 0)
	if err != nil {
		if cerr != nil {
			return r.errorf(cerr, "Failed to copy files to %s: %s", i.Path, strerror(cerr))
		}
		return r.errorf(err, "Failed to openat(%s): %s", i.Path, strerror(err))
	}
	defer unix.Close(fd)
	st, err := fstat(fd)
	if err != nil {
		return r.errorf(err, "Failed to fstat(%s): %s", i.Path, strerror(err))
	}
	afd, _, _, err := r.root.chase(r.root.inner(src), 0)
	if err != nil {
		return r.errorf(err, "Failed to stat(%s): %s", src, strerror(err))
	}
	a, err := fstat(afd)
	unix.Close(afd)
	if err != nil {
		return r.errorf(err, "Failed to stat(%s): %s", src, strerror(err))
	}
	if (st.Mode^a.Mode)&unix.S_IFMT != 0 {
		r.logf(LevelDebug, "Can't copy to %s, file exists already and is of different type", i.Path)
		return nil
	}
	return r.setPerms(i, fd, i.Path, st, copied)
}

// treeCopy copies a tree as systemd's copy_tree_at() with COPY_MERGE_EMPTY and
// COPY_HARDLINKS: modes, owners (or the line's), times and extended attributes kept, files
// hard-linked in the source hard-linked in the copy.
type treeCopy struct {
	uid, gid  int
	hardlinks map[[2]uint64]string // source (dev, inode) → first copy, relative to the top
	top       int                  // the top target directory's parent, for hardlinks
}

// copyAt copies from (name in sdfd, or sdfd itself when "") to name to in tdfd; rel is the
// copy's path below the top.
func (c *treeCopy) copyAt(sdfd int, from string, tdfd int, to, rel string) error {
	var st unix.Stat_t
	flags := unix.AT_SYMLINK_NOFOLLOW
	if from == "" {
		flags |= unix.AT_EMPTY_PATH
	}
	if err := unix.Fstatat(sdfd, from, &st, flags); err != nil {
		return err
	}
	if rel == "" {
		c.top = tdfd
		rel = to
	}
	uid, gid := int(st.Uid), int(st.Gid)
	if c.uid >= 0 {
		uid = c.uid
	}
	if c.gid >= 0 {
		gid = c.gid
	}
	mode := st.Mode & 0o7777
	times := []unix.Timespec{st.Atim, st.Mtim}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return c.copyDir(sdfd, from, &st, tdfd, to, rel, uid, gid)
	case unix.S_IFREG, unix.S_IFIFO, unix.S_IFCHR, unix.S_IFBLK, unix.S_IFSOCK:
		if c.tryHardlink(&st, tdfd, to) {
			return nil
		}
	}
	var err error
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		err = c.copyRegular(sdfd, from, tdfd, to, mode, uid, gid, times)
	case unix.S_IFLNK:
		target, rerr := readlinkat(sdfd, from)
		if rerr != nil {
			return rerr
		}
		if err = unix.Symlinkat(target, tdfd, to); err != nil {
			return err
		}
		err = unix.Fchownat(tdfd, to, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
		unix.UtimesNanoAt(tdfd, to, times, unix.AT_SYMLINK_NOFOLLOW)
		return err
	case unix.S_IFIFO:
		if err = unix.Mkfifoat(tdfd, to, mode); err != nil {
			return err
		}
		err = c.finishNode(tdfd, to, mode, uid, gid, times)
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFSOCK:
		if err = unix.Mknodat(tdfd, to, st.Mode, int(st.Rdev)); err != nil {
			return err
		}
		err = c.finishNode(tdfd, to, mode, uid, gid, times)
	default:
		return unix.EOPNOTSUPP
	}
	if st.Nlink > 1 && st.Mode&unix.S_IFMT != unix.S_IFDIR {
		c.hardlinks[[2]uint64{st.Dev, st.Ino}] = rel
	}
	return err
}

func (c *treeCopy) finishNode(tdfd int, to string, mode uint32, uid, gid int, times []unix.Timespec) error {
	err := unix.Fchownat(tdfd, to, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
	if e := unix.Fchmodat(tdfd, to, mode, 0); e != nil {
		err = e
	}
	unix.UtimesNanoAt(tdfd, to, times, unix.AT_SYMLINK_NOFOLLOW)
	return err
}

// tryHardlink links to the copy of an inode copied before.
func (c *treeCopy) tryHardlink(st *unix.Stat_t, tdfd int, to string) bool {
	if st.Nlink <= 1 {
		return false
	}
	first, ok := c.hardlinks[[2]uint64{st.Dev, st.Ino}]
	if !ok {
		return false
	}
	return unix.Linkat(c.top, first, tdfd, to, 0) == nil
}

func (c *treeCopy) copyRegular(sdfd int, from string, tdfd int, to string, mode uint32, uid, gid int, times []unix.Timespec) error {
	var in *os.File
	if from == "" {
		fd, err := unix.Open(procPath(sdfd), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
		if err != nil {
			return err
		}
		in = os.NewFile(uintptr(fd), "source")
	} else {
		fd, err := unix.Openat(sdfd, from, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NOFOLLOW, 0)
		if err != nil {
			return err
		}
		in = os.NewFile(uintptr(fd), from)
	}
	defer in.Close()
	ofd, err := unix.Openat(tdfd, to, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NOFOLLOW, mode)
	if err != nil {
		return err
	}
	out := os.NewFile(uintptr(ofd), to)
	if unix.IoctlFileClone(ofd, int(in.Fd())) != nil {
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			unix.Unlinkat(tdfd, to, 0)
			return err
		}
	}
	err = unix.Fchown(ofd, uid, gid)
	if e := unix.Fchmod(ofd, mode); e != nil {
		err = e
	}
	unix.UtimesNanoAt(ofd, "", times, unix.AT_EMPTY_PATH)
	copyXattrs(int(in.Fd()), ofd)
	if e := out.Close(); e != nil && err == nil {
		err = e
	}
	return err
}

// copyDir copies a directory: into an empty existing one (merged), else a new one; an
// existing non-empty directory is EEXIST.
func (c *treeCopy) copyDir(sdfd int, from string, st *unix.Stat_t, tdfd int, to, rel string, uid, gid int) error {
	var sfd int
	var err error
	if from == "" {
		sfd, err = unix.Open(procPath(sdfd), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	} else {
		sfd, err = unix.Openat(sdfd, from, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NOFOLLOW, 0)
	}
	if err != nil {
		return err
	}
	defer unix.Close(sfd)
	empty, err := dirEmptyAt(tdfd, to)
	if err != nil && err != unix.ENOENT {
		return err
	}
	created := false
	if !empty {
		if err := unix.Mkdirat(tdfd, to, st.Mode&0o7777); err != nil {
			return err
		}
		created = true
	}
	tfd, err := unix.Openat(tdfd, to, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer unix.Close(tfd)
	f, err := os.Open(procPath(sfd))
	if err != nil {
		return err
	}
	names, _ := f.Readdirnames(-1)
	f.Close()
	var res error
	for _, n := range names {
		if err := c.copyAt(sfd, n, tfd, n, rel+"/"+n); err != nil {
			res = err
		}
	}
	if created {
		if err := unix.Fchown(tfd, uid, gid); err != nil {
			res = err
		}
		if err := unix.Fchmod(tfd, st.Mode&0o7777); err != nil {
			res = err
		}
		copyXattrs(sfd, tfd)
		unix.UtimesNanoAt(tfd, "", []unix.Timespec{st.Atim, st.Mtim}, unix.AT_EMPTY_PATH)
	}
	return res
}

// dirEmptyAt reports whether name in dfd is an empty directory (ENOENT: missing).
func dirEmptyAt(dfd int, name string) (bool, error) {
	fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return false, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	names, err := f.Readdirnames(1)
	if err == io.EOF {
		return true, nil
	}
	return len(names) == 0, err
}

// copyXattrs copies the extended attributes of one open file to another, ignoring failures.
func copyXattrs(from, to int) {
	buf := make([]byte, 64*1024)
	n, err := unix.Flistxattr(from, buf)
	if err != nil || n == 0 {
		return
	}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00") {
		val := make([]byte, 64*1024)
		m, err := unix.Fgetxattr(from, name, val)
		if err != nil {
			continue
		}
		unix.Fsetxattr(to, name, val[:m], 0)
	}
}
