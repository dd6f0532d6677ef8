package tmpfiles

import (
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// fdAction is an operation on an inode opened with O_PATH (st may be nil: not yet known).
type fdAction func(i *Item, fd int, p string, st *unix.Stat_t, cr creation) error

// pathAction turns an fdAction into an action on a path, opened without following its last
// component (path_open_safe).
func (r *Runner) pathAction(a fdAction) func(*Item, string, creation) error {
	return func(i *Item, p string, cr creation) error {
		fd, err := r.openSafe(p)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return a(i, fd, p, nil, cr)
	}
}

// pathSetPerms is z: the mode and owner of an existing path.
func (r *Runner) pathSetPerms(i *Item, p string, cr creation) error {
	return r.pathAction(r.setPerms)(i, p, cr)
}

// hardlinkVulnerable: a hard link to a file is changed while fs.protected_hardlinks is off.
func (r *Runner) hardlinkVulnerable(st *unix.Stat_t) bool {
	if st.Mode&unix.S_IFMT == unix.S_IFDIR || st.Nlink <= 1 {
		return false
	}
	if r.protectedHardlinks == nil {
		on := false
		if b, err := os.ReadFile("/proc/sys/fs/protected_hardlinks"); err == nil {
			on = strings.TrimSpace(string(b)) == "1"
		}
		r.protectedHardlinks = &on
	}
	return !*r.protectedHardlinks
}

// maskPerms is the '~' of a mode: the read, write and execute bits of the new mode only
// where the current mode has some; set-id and sticky bits only on directories.
func maskPerms(mode, current uint32) uint32 {
	if current&0o111 == 0 {
		mode &^= 0o111
	}
	if current&0o222 == 0 {
		mode &^= 0o222
	}
	if current&0o444 == 0 {
		mode &^= 0o444
	}
	if current&unix.S_IFMT != unix.S_IFDIR {
		mode &^= 0o7000
	}
	return mode
}

// setPerms applies the mode, user and group of a line to an inode (fd_set_perms): the owner
// first (through a mode with the common bits of the old and new one, so that no one gains
// access in between), then the mode; a symlink's mode is left alone.
func (r *Runner) setPerms(i *Item, fd int, p string, st *unix.Stat_t, cr creation) error {
	if !i.ModeSet && !i.UIDSet && !i.GIDSet {
		return nil
	}
	if st == nil {
		var err error
		if st, err = fstat(fd); err != nil {
			return r.errorf(err, "fstat(%s) failed: %s", p, strerror(err))
		}
	}
	if r.hardlinkVulnerable(st) {
		return r.errorf(syscall.EPERM, "Refusing to set permissions on hardlinked file %s while the fs.protected_hardlinks sysctl is turned off.", p)
	}
	existing := cr == foundExisting
	uid, gid := st.Uid, st.Gid
	if i.UIDSet && (!existing || !i.UIDOnlyCreate) {
		uid = i.UID
	}
	if i.GIDSet && (!existing || !i.GIDOnlyCreate) {
		gid = i.GID
	}
	doChown := uid != st.Uid || gid != st.Gid
	mode := st.Mode & 0o7777
	if i.ModeSet && (!existing || !i.ModeOnlyCreate) {
		mode = i.Mode
		if i.MaskPerms {
			mode = maskPerms(i.Mode, st.Mode)
		}
	}
	doChmod := (mode^st.Mode)&0o7777 != 0
	isLink := st.Mode&unix.S_IFMT == unix.S_IFLNK
	if doChmod && doChown && !isLink {
		if m := mode & st.Mode; (m^st.Mode)&0o7777 != 0 {
			if err := unix.Chmod(procPath(fd), m&0o7777); err != nil {
				return r.errorf(err, "fchmod() of %s failed: %s", p, strerror(err))
			}
		}
	}
	if doChown {
		nu, ng := -1, -1
		if uid != st.Uid {
			nu = int(uid)
		}
		if gid != st.Gid {
			ng = int(gid)
		}
		if err := unix.Fchownat(fd, "", nu, ng, unix.AT_EMPTY_PATH); err != nil {
			return r.errorf(err, "fchownat() of %s failed: %s", p, strerror(err))
		}
	}
	if (doChmod || doChown) && !isLink {
		if err := unix.Chmod(procPath(fd), mode); err != nil {
			return r.errorf(err, "fchmod() of %s failed: %s", p, strerror(err))
		}
	}
	return nil
}

// setXattrs is t and T.
func (r *Runner) setXattrs(i *Item, fd int, p string, _ *unix.Stat_t, _ creation) error {
	for _, kv := range i.Xattrs {
		r.logf(LevelDebug, "Setting extended attribute '%s=%s' on %s.", kv[0], kv[1], p)
		if err := unix.Setxattr(procPath(fd), kv[0], []byte(kv[1]), 0); err != nil {
			return r.errorf(err, "Setting extended attribute %s=%s on %s failed: %s", kv[0], kv[1], p, strerror(err))
		}
	}
	return nil
}

// setACLs is a and A (fd_set_acls): the access ACL, and on directories the default ACL;
// with '+' merged into the inode's ACL. A file system without ACLs is no error.
func (r *Runner) setACLs(i *Item, fd int, p string, st *unix.Stat_t, _ creation) error {
	if st == nil {
		var err error
		if st, err = fstat(fd); err != nil {
			return r.errorf(err, "fstat(%s) failed: %s", p, strerror(err))
		}
	}
	if r.hardlinkVulnerable(st) {
		return r.errorf(syscall.EPERM, "Refusing to set ACLs on hardlinked file %s while the fs.protected_hardlinks sysctl is turned off.", p)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		r.logf(LevelDebug, "Skipping ACL fix for symlink %s.", p)
		return nil
	}
	if i.ACL == nil {
		return nil
	}
	var err error
	if len(i.ACL.Access) > 0 {
		err = r.setACL(fd, p, "system.posix_acl_access", i.ACL.Access, i.Force, st.Mode)
	}
	if err == nil && len(i.ACL.Default) > 0 && st.Mode&unix.S_IFMT == unix.S_IFDIR {
		err = r.setACL(fd, p, "system.posix_acl_default", i.ACL.Default, i.Force, st.Mode)
	}
	if notSupported(err) {
		r.logf(LevelDebug, "ACLs not supported by file system at %s", p)
		return nil
	}
	if e, ok := err.(aclWarned); ok {
		return e.err
	}
	if err != nil {
		return r.errorf(err, "ACL operation on \"%s\" failed: %s", p, strerror(err))
	}
	return nil
}

// aclWarned is an ACL error already logged.
type aclWarned struct{ err error }

func (e aclWarned) Error() string { return e.err.Error() }

// setACL writes one ACL (path_set_acl).
func (r *Runner) setACL(fd int, p, attr string, acl []aclEntry, modify bool, mode uint32) error {
	es := acl
	if modify {
		old, err := readACL(fd, attr, mode)
		if err != nil {
			return err
		}
		es = maskIfNeeded(mergeACL(old, acl))
	}
	es = withBase(es, mode)
	kind := "access"
	if attr == "system.posix_acl_default" {
		kind = "default"
	}
	text := aclText(es)
	r.logf(LevelDebug, "Setting %s ACL %s on %s.", kind, text, p)
	if err := unix.Setxattr(procPath(fd), attr, encodeACL(es), 0); err != nil {
		if notSupported(err) {
			return err
		}
		r.logf(LevelErr, "Setting %s ACL \"%s\" on %s failed: %s", kind, text, p, strerror(err))
		return aclWarned{err}
	}
	return nil
}

// readACL is the inode's ACL (acl_get_file()): the access ACL made from the mode when there
// is none, an empty default ACL.
func readACL(fd int, attr string, mode uint32) ([]aclEntry, error) {
	buf := make([]byte, 4096)
	n, err := unix.Getxattr(procPath(fd), attr, buf)
	if err == unix.ENODATA {
		if attr == "system.posix_acl_access" {
			return withBase(nil, mode), nil
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return decodeACL(buf[:n])
}

// setAttribute is h and H (fd_set_attribute): only on regular files and directories; what
// the file system refuses is reported and ignored.
func (r *Runner) setAttribute(i *Item, fd int, p string, st *unix.Stat_t, _ creation) error {
	if !i.AttrSet || i.AttrMask == 0 {
		return nil
	}
	if st == nil {
		var err error
		if st, err = fstat(fd); err != nil {
			return r.errorf(err, "fstat(%s) failed: %s", p, strerror(err))
		}
	}
	t := st.Mode & unix.S_IFMT
	if t != unix.S_IFREG && t != unix.S_IFDIR {
		return r.errorf(syscall.EINVAL, "Setting file flags is only supported on regular files and directories, cannot set on '%s'.", p)
	}
	f := i.AttrValue & i.AttrMask
	if t != unix.S_IFDIR {
		f &^= dirsyncFlag
	}
	rfd, err := unix.Open(procPath(fd), unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOATIME, 0)
	if err != nil {
		return r.errorf(err, "Failed to re-open '%s': %s", p, strerror(err))
	}
	defer unix.Close(rfd)
	debug := func(format string, a ...any) { r.logf(LevelDebug, format, a...) }
	prev, cur, err := chattr(rfd, f, i.AttrMask, debug)
	switch {
	case err == errSomeAttrs:
		r.logf(LevelWarning, "Cannot set file attributes for '%s', maybe due to incompatibility in specified attributes, previous=0x%08x, current=0x%08x, expected=0x%08x, ignoring.",
			p, prev, cur, prev&^i.AttrMask|f&i.AttrMask)
	case err != nil:
		level := LevelWarning
		if notSupported(err) {
			level = LevelDebug
		}
		r.logf(level, "Cannot set file attributes for '%s', value=0x%08x, mask=0x%08x, ignoring: %s", p, i.AttrValue, i.AttrMask, strerror(err))
	}
	return nil
}
