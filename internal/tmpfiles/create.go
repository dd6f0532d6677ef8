package tmpfiles

import (
	"os"
	"path"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// creation says how the inode a line applies to came to be: its ':' fields apply only to
// inodes created now.
type creation int

const (
	createdNow creation = iota
	foundExisting
	createdReplacement
	copied // C: the fields apply as to a new inode
)

// create applies a line for --create.
func (r *Runner) create(i *Item) error {
	switch i.Type {
	case IgnorePath, IgnoreDirectoryPath, RemovePath, RecursiveRemovePath:
		return nil
	case TruncateFile, CreateFile:
		if err := r.mkdirParents(i, unix.S_IFREG); err != nil {
			return err
		}
		if i.Type == TruncateFile || i.Force {
			return r.truncateFile(i)
		}
		return r.createFile(i)
	case CopyFiles:
		if err := r.mkdirParents(i, 0); err != nil {
			return err
		}
		return r.copyFiles(i)
	case WriteFile:
		return r.globItem(i, r.writeFile)
	case CreateDirectory, TruncateDirectory, CreateSubvolume, CreateSubvolumeQ, CreateSubvolumeNewQ:
		if err := r.mkdirParents(i, unix.S_IFDIR); err != nil {
			return err
		}
		return r.createDirectory(i)
	case EmptyDirectory:
		return r.globItem(i, r.emptyDirectory)
	case CreateFIFO:
		if err := r.mkdirParents(i, unix.S_IFIFO); err != nil {
			return err
		}
		return r.createNode(i, unix.S_IFIFO)
	case CreateSymlink:
		if err := r.mkdirParents(i, unix.S_IFLNK); err != nil {
			return err
		}
		return r.createSymlink(i)
	case CreateBlockDevice, CreateCharDevice:
		if !haveCapMknod() {
			r.logf(LevelDebug, "We lack CAP_MKNOD, skipping creation of device node %s.", i.Path)
			return nil
		}
		kind := uint32(unix.S_IFCHR)
		if i.Type == CreateBlockDevice {
			kind = unix.S_IFBLK
		}
		if err := r.mkdirParents(i, kind); err != nil {
			return err
		}
		return r.createNode(i, kind)
	case AdjustMode, RelabelPath:
		return r.globItem(i, r.pathSetPerms)
	case RecursiveRelabelPath:
		return r.globItemRecursively(i, r.setPerms)
	case SetXattr:
		return r.globItem(i, r.pathAction(r.setXattrs))
	case RecursiveSetXattr:
		return r.globItemRecursively(i, r.setXattrs)
	case SetACL:
		return r.globItem(i, r.pathAction(r.setACLs))
	case RecursiveSetACL:
		return r.globItemRecursively(i, r.setACLs)
	case SetAttribute:
		if !i.AttrSet || i.AttrMask == 0 {
			return nil
		}
		return r.globItem(i, r.pathAction(r.setAttribute))
	case RecursiveSetAttribute:
		return r.globItemRecursively(i, r.setAttribute)
	}
	return nil
}

// baseName is the last component of an item's path (path_extract_filename); "/" has none.
func (r *Runner) baseName(p string) (string, error) {
	if p == "/" || p == "" {
		return "", r.errorf(syscall.EADDRNOTAVAIL, "Failed to extract filename from path '%s': %s", p, strerror(syscall.EADDRNOTAVAIL))
	}
	return path.Base(p), nil
}

// openParentOf is the last component of p and an fd of the directory it is in (openParentSafe);
// the caller closes the fd.
func (r *Runner) openParentOf(p string) (string, int, error) {
	bn, err := r.baseName(p)
	if err != nil {
		return "", -1, err
	}
	fd, err := r.openParentSafe(p)
	return bn, fd, err
}

// openParentSafe opens the directory p is in, refusing unsafe symlink steps
// (path_open_parent_safe).
func (r *Runner) openParentSafe(p string) (int, error) {
	if !normalized(p) {
		return -1, r.errorf(syscall.EINVAL, "Failed to open parent of '%s': path not normalized.", p)
	}
	dn := path.Dir(p)
	if r.root.prefix != "" {
		if _, ok := pathStartsWith(dn, r.root.prefix); !ok {
			r.logf(LevelWarning, "Specified path '%s' is outside of specified root directory '%s', refusing to resolve.", dn, r.root.prefix)
			return -1, r.errorf(syscall.ECHRNG, "Failed to open path '%s': %s", dn, strerror(syscall.ECHRNG))
		}
	}
	fd, _, _, err := r.root.chase(r.root.inner(dn), chaseSafe)
	if isErrno(err, syscall.ENOLINK) {
		return -1, err
	}
	if err != nil {
		return -1, r.errorf(err, "Failed to open path '%s': %s", dn, strerror(err))
	}
	return fd, nil
}

// openSafe opens p itself with O_PATH, not following a symlink in its last component,
// refusing unsafe steps (path_open_safe).
func (r *Runner) openSafe(p string) (int, error) {
	if !normalized(p) {
		return -1, r.errorf(syscall.EINVAL, "Failed to open invalid path '%s'.", p)
	}
	fd, _, _, err := r.root.chase(r.root.inner(p), chaseSafe|chaseNoFollow)
	if isErrno(err, syscall.ENOLINK) {
		return -1, err
	}
	if err != nil {
		return -1, r.errorf(err, "Failed to open path %s: %s", p, strerror(err))
	}
	return fd, nil
}

func fstat(fd int) (*unix.Stat_t, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

func (r *Runner) createFile(i *Item) error {
	bn, dfd, err := r.openParentOf(i.Path)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	fd, err := unix.Openat(dfd, bn, unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_WRONLY|unix.O_NOCTTY, i.Mode)
	var st *unix.Stat_t
	cr := createdNow
	if err != nil {
		if err != unix.EEXIST {
			return r.errorf(err, "Failed to create file %s: %s", i.Path, strerror(err))
		}
		fd, err = unix.Openat(dfd, bn, unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_PATH, 0)
		if err != nil {
			return r.errorf(err, "Failed to re-open file %s: %s", i.Path, strerror(err))
		}
		defer unix.Close(fd)
		if st, err = fstat(fd); err != nil {
			return r.errorf(err, "stat(%s) failed: %s", i.Path, strerror(err))
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG {
			return r.errorf(syscall.EEXIST, "%s exists and is not a regular file.", i.Path)
		}
		cr = foundExisting
	} else {
		defer unix.Close(fd)
		if err := r.writeContent(i, fd, i.Path); err != nil {
			return err
		}
	}
	return r.setPerms(i, fd, i.Path, st, cr)
}

func (r *Runner) truncateFile(i *Item) error {
	bn, dfd, err := r.openParentOf(i.Path)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	cr := foundExisting
	flags := unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_CLOEXEC | unix.O_WRONLY | unix.O_NOCTTY
	fd, err := unix.Openat(dfd, bn, flags, i.Mode)
	if err == unix.ENOENT {
		cr = createdNow
		fd, err = unix.Openat(dfd, bn, flags|unix.O_CREAT, i.Mode)
	}
	erofs := false
	if err != nil {
		if err != unix.EROFS {
			return r.errorf(err, "Failed to open/create file %s: %s", i.Path, strerror(err))
		}
		fd, err = unix.Openat(dfd, bn, unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_PATH, 0)
		if err != nil {
			if err == unix.ENOENT {
				return r.errorf(syscall.EROFS, "Cannot create file %s on a read-only file system.", i.Path)
			}
			return r.errorf(err, "Failed to re-open file %s: %s", i.Path, strerror(err))
		}
		erofs, cr = true, foundExisting
	}
	defer unix.Close(fd)
	st, err := fstat(fd)
	if err != nil {
		return r.errorf(err, "stat(%s) failed: %s", i.Path, strerror(err))
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return r.errorf(syscall.EEXIST, "%s exists and is not a regular file.", i.Path)
	}
	if st.Size > 0 {
		if err := unix.Ftruncate(fd, 0); err != nil {
			if erofs {
				err = unix.EROFS
			}
			return r.errorf(err, "Failed to truncate file %s: %s", i.Path, strerror(err))
		}
		st = nil
	}
	if i.HasArg || i.HasContent {
		if err := r.writeContent(i, fd, i.Path); err != nil {
			return err
		}
	}
	return r.setPerms(i, fd, i.Path, st, cr)
}

// writeContent writes what the line writes (nothing when it is empty).
func (r *Runner) writeContent(i *Item, fd int, p string) error {
	data := i.content()
	for len(data) > 0 {
		n, err := unix.Write(fd, data)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return r.errorf(err, "Failed to write file \"%s\": %s", p, strerror(err))
		}
		data = data[n:]
	}
	return nil
}

// writeFile is w: write to an existing file (following a symlink inside the root directory).
func (r *Runner) writeFile(i *Item, p string, _ creation) error {
	if _, err := r.baseName(p); err != nil {
		return err
	}
	dfd, err := r.openParentSafe(p)
	if err != nil {
		return err
	}
	unix.Close(dfd)
	flags := unix.O_NONBLOCK | unix.O_CLOEXEC | unix.O_WRONLY | unix.O_NOCTTY
	if i.Force {
		flags |= unix.O_APPEND
	}
	fd, err := r.openInRoot(r.root.inner(p), flags)
	if err != nil {
		if err == unix.ENOENT {
			r.logf(LevelDebug, "Not writing missing file \"%s\": %s", p, strerror(err))
			return nil
		}
		if i.AllowFailure {
			r.logf(LevelDebug, "Failed to open file \"%s\", ignoring: %s", p, strerror(err))
			return err
		}
		return r.errorf(err, "Failed to open file \"%s\": %s", p, strerror(err))
	}
	defer unix.Close(fd)
	if err := r.writeContent(i, fd, p); err != nil {
		return err
	}
	return r.setPerms(i, fd, p, nil, foundExisting)
}

// openInRoot opens an inner path, every symlink resolved inside the root directory.
func (r *Runner) openInRoot(p string, flags int) (int, error) {
	rfd, err := r.root.openRoot()
	if err != nil {
		return -1, err
	}
	defer unix.Close(rfd)
	for {
		fd, err := unix.Openat2(rfd, strings.TrimLeft(p, "/"), &unix.OpenHow{
			Flags:   uint64(flags),
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
		})
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		return fd, err
	}
}

func (r *Runner) createDirectory(i *Item) error {
	bn, pfd, err := r.openParentOf(i.Path)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	merr := unix.Mkdirat(pfd, bn, i.Mode)
	cr := createdNow
	if merr != nil {
		cr = foundExisting
	}
	fd, err := unix.Openat(pfd, bn, unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_DIRECTORY|unix.O_PATH, 0)
	if err != nil {
		if err == unix.ENOTDIR {
			// Logged as an error, but not a failure of the line (create_directory()).
			r.logf(LevelErr, "\"%s\" already exists and is not a directory.", i.Path)
			return nil
		}
		if merr != nil {
			return r.errorf(merr, "Failed to create directory or subvolume \"%s\": %s", i.Path, strerror(merr))
		}
		return r.errorf(err, "Failed to open directory/subvolume we just created '%s': %s", i.Path, strerror(err))
	}
	defer unix.Close(fd)
	st, err := fstat(fd)
	if err != nil {
		return r.errorf(err, "Failed to fstat(%s): %s", i.Path, strerror(err))
	}
	r.logf(LevelDebug, "%s directory \"%s\".", map[creation]string{createdNow: "Created", foundExisting: "Found existing"}[cr], i.Path)
	return r.setPerms(i, fd, i.Path, st, cr)
}

// emptyDirectory is e: the perms of an existing directory.
func (r *Runner) emptyDirectory(i *Item, p string, cr creation) error {
	fd, _, _, err := r.root.chase(r.root.inner(p), chaseSafe)
	if isErrno(err, syscall.ENOLINK) {
		return err
	}
	if err == unix.ENOENT {
		r.logf(LevelDebug, "Skipping missing directory: %s", p)
		return nil
	}
	if err != nil {
		return r.errorf(err, "Failed to open directory '%s': %s", p, strerror(err))
	}
	defer unix.Close(fd)
	st, err := fstat(fd)
	if err != nil {
		return r.errorf(err, "Failed to fstat(%s): %s", p, strerror(err))
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		r.logf(LevelWarning, "'%s' already exists and is not a directory.", p)
		return nil
	}
	return r.setPerms(i, fd, p, st, cr)
}

// createNode is p (a FIFO), c and b (device nodes); with '+' an inode of another type is
// replaced.
func (r *Runner) createNode(i *Item, kind uint32) error {
	what := map[uint32]string{unix.S_IFIFO: "FIFO", unix.S_IFCHR: "device node", unix.S_IFBLK: "device node"}[kind]
	bn, pfd, err := r.openParentOf(i.Path)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	mknod := func(name string) error {
		if kind == unix.S_IFIFO {
			return unix.Mkfifoat(pfd, name, i.Mode)
		}
		return unix.Mknodat(pfd, name, i.Mode|kind, int(i.MajorMinor))
	}
	createErr := func(err error) error {
		if kind == unix.S_IFIFO {
			return r.errorf(err, "Failed to create FIFO %s: %s", i.Path, strerror(err))
		}
		return r.errorf(err, "Failed to create device node '%s': %s", i.Path, strerror(err))
	}
	privileged := func(err error) bool {
		return kind != unix.S_IFIFO && (err == unix.EPERM || err == unix.EACCES)
	}
	merr := mknod(bn)
	cr := createdNow
	if merr != nil {
		cr = foundExisting
	}
	fd, err := unix.Openat(pfd, bn, unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_PATH, 0)
	if err != nil {
		if merr != nil {
			if privileged(merr) {
				r.logf(LevelDebug, "We lack permissions, possibly because of cgroup configuration; skipping creation of device node '%s'.", i.Path)
				return nil
			}
			return createErr(merr)
		}
		if kind == unix.S_IFIFO {
			return r.errorf(err, "Failed to open FIFO we just created %s: %s", i.Path, strerror(err))
		}
		return r.errorf(err, "Failed to open device node '%s' we just created: %s", i.Path, strerror(err))
	}
	st, err := fstat(fd)
	if err != nil {
		unix.Close(fd)
		return r.errorf(err, "Failed to fstat(%s): %s", i.Path, strerror(err))
	}
	if st.Mode&unix.S_IFMT != kind {
		unix.Close(fd)
		if !i.Force {
			r.logf(LevelWarning, "\"%s\" already exists and is not a %s.", i.Path, what)
			return nil
		}
		err := r.replaceAtomically(pfd, bn, mknod)
		if privileged(err) {
			r.logf(LevelDebug, "We lack permissions, possibly because of cgroup configuration; skipping creation of device node '%s'.", i.Path)
			return nil
		}
		if err == unix.EISDIR || err == unix.EEXIST || err == unix.ENOTEMPTY {
			if err := r.rmRfChild(pfd, bn); err != nil {
				return r.errorf(err, "rm -rf %s failed: %s", i.Path, strerror(err))
			}
			err = mknod(bn)
		}
		if err != nil {
			return createErr(err)
		}
		if fd, err = unix.Openat(pfd, bn, unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_PATH, 0); err != nil {
			if kind == unix.S_IFIFO {
				return r.errorf(err, "Failed to open FIFO we just created '%s': %s", i.Path, strerror(err))
			}
			return r.errorf(err, "Failed to open device node we just created '%s': %s", i.Path, strerror(err))
		}
		if st, err = fstat(fd); err != nil {
			unix.Close(fd)
			return r.errorf(err, "Failed to fstat(%s): %s", i.Path, strerror(err))
		}
		if st.Mode&unix.S_IFMT != kind {
			unix.Close(fd)
			if kind == unix.S_IFIFO {
				return r.errorf(syscall.EBADF, "FIFO inode we just created is not a FIFO, refusing.")
			}
			return r.errorf(syscall.EBADF, "Device node we just created is not a device node, refusing.")
		}
		cr = createdReplacement
	}
	defer unix.Close(fd)
	return r.setPerms(i, fd, i.Path, st, cr)
}

// replaceAtomically makes a new inode under a temporary name with mk and renames it over
// name (systemd's *_atomic() helpers).
func (r *Runner) replaceAtomically(dfd int, name string, mk func(string) error) error {
	tmp := tmpName(name)
	if err := mk(tmp); err != nil {
		return err
	}
	if err := unix.Renameat(dfd, tmp, dfd, name); err != nil {
		unix.Unlinkat(dfd, tmp, 0)
		return err
	}
	return nil
}

// tmpName is a temporary name next to name (tempfn_random()'s ".#name" and a random suffix).
func tmpName(name string) string {
	var b [8]byte
	f, err := os.Open("/dev/urandom")
	if err == nil {
		f.Read(b[:])
		f.Close()
	}
	const hexd = "0123456789abcdef"
	out := []byte(".#" + name)
	for _, c := range b {
		out = append(out, hexd[c>>4], hexd[c&15])
	}
	return string(out)
}

func (r *Runner) createSymlink(i *Item) error {
	bn, pfd, err := r.openParentOf(i.Path)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	target := string(i.Arg)
	serr := unix.Symlinkat(target, pfd, bn)
	cr := createdNow
	if serr != nil {
		cr = foundExisting
	}
	fd, err := unix.Openat(pfd, bn, unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_PATH, 0)
	if err != nil {
		if serr != nil {
			return r.errorf(serr, "Failed to create symlink '%s': %s", i.Path, strerror(serr))
		}
		return r.errorf(err, "Failed to open symlink we just created '%s': %s", i.Path, strerror(err))
	}
	st, err := fstat(fd)
	if err != nil {
		unix.Close(fd)
		return r.errorf(err, "Failed to fstat(%s): %s", i.Path, strerror(err))
	}
	good := false
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		x, err := readlinkat(fd, "")
		if err != nil {
			unix.Close(fd)
			return r.errorf(err, "readlinkat(%s) failed: %s", i.Path, strerror(err))
		}
		good = x == target
	}
	if !good {
		unix.Close(fd)
		if !i.Force {
			r.logf(LevelDebug, "\"%s\" is not a symlink or does not point to the correct path.", i.Path)
			return nil
		}
		mk := func(name string) error { return unix.Symlinkat(target, pfd, name) }
		err := r.replaceAtomically(pfd, bn, mk)
		if err == unix.EISDIR || err == unix.EEXIST || err == unix.ENOTEMPTY {
			if err := r.rmRfChild(pfd, bn); err != nil {
				return r.errorf(err, "rm -rf %s failed: %s", i.Path, strerror(err))
			}
			err = mk(bn)
		}
		if err != nil {
			return r.errorf(err, "symlink(%s, %s) failed: %s", target, i.Path, strerror(err))
		}
		if fd, err = unix.Openat(pfd, bn, unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_PATH, 0); err != nil {
			return r.errorf(err, "Failed to open symlink we just created '%s': %s", i.Path, strerror(err))
		}
		if st, err = fstat(fd); err != nil {
			unix.Close(fd)
			return r.errorf(err, "Failed to fstat(%s): %s", i.Path, strerror(err))
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			unix.Close(fd)
			return r.errorf(syscall.EBADF, "Symlink we just created is not a symlink, refusing.")
		}
		cr = createdReplacement
	}
	defer unix.Close(fd)
	return r.setPerms(i, fd, i.Path, st, cr)
}

// haveCapMknod reports whether the process has CAP_MKNOD in its effective set.
func haveCapMknod() bool {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return true
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			var caps uint64
			for _, c := range strings.TrimSpace(v) {
				caps = caps<<4 | uint64(unhex(byte(c)))
			}
			return caps&(1<<unix.CAP_MKNOD) != 0
		}
	}
	return true
}
