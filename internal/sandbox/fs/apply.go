package fs

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// Apply sets up s in the calling process: network, IPC namespaces, the mount namespace
// with every mount s asks for (and the credentials directory), the UTS namespace. It locks
// the calling goroutine to its thread for good: the caller must execve from it. A
// refused namespace systemd tolerates is passed to s.Warn; any other failure is an
// *Error with systemd's exit status.
func Apply(s *Spec) error {
	runtime.LockOSThread()
	if s.RootImage != "" {
		return fail(StatusNamespace, "RootImage=%s: disk images are not supported by flint", s.RootImage)
	}
	for _, c := range s.Credentials {
		if c.Encrypted {
			return fail(StatusCredentials, "credential %s: LoadCredentialEncrypted=/SetCredentialEncrypted= are not supported by flint (no TPM2 or host key to decrypt with)", c.ID)
		}
	}
	for _, n := range s.nsSteps() {
		if err := s.setupNS(n); err != nil {
			return err
		}
	}
	if s.NeedsMountNamespace() {
		if err := s.setupMountNamespace(); err != nil {
			return err
		}
	} else if s.RootDirectory != "" {
		if err := unix.Chroot(s.RootDirectory); err != nil {
			return fail(StatusChroot, "Failed to change root directory to %s: %v", s.RootDirectory, err)
		}
		if err := unix.Chdir("/"); err != nil {
			return fail(StatusChroot, "Failed to change directory to /: %v", err)
		}
	}
	return s.setupUTS()
}

// setupMountNamespace is setup_namespace() with exec_child's handling of a refused
// unshare: tolerated unless the sandbox changes what the unit sees (insist).
func (s *Spec) setupMountNamespace() error {
	old := unix.Umask(0)
	defer unix.Umask(old)

	if empty := EmptyDir(s.RuntimeDir); s.TmpDir == empty || s.VarTmpDir == empty {
		if err := os.MkdirAll(empty, 0o500); err != nil {
			return fail(StatusNamespace, "Failed to create %s: %v", empty, err)
		}
	}
	root := s.stagingRoot()
	forcePrefix := true
	if s.RootDirectory != "" {
		root, forcePrefix = path.Clean(s.RootDirectory), false
	} else if err := os.MkdirAll(root, 0o700); err != nil {
		return fail(StatusNamespace, "Failed to create %s: %v", root, err)
	}
	credsPath := ""
	if len(s.Credentials) > 0 {
		credsPath = CredentialsDir(s.Unit)
	}
	es, err := s.entries(root, forcePrefix, credsPath)
	if err != nil {
		return fail(StatusNamespace, "Failed to set up mount namespacing: %v", err)
	}
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		if privilege(err) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS) {
			if s.insist() {
				return fail(StatusNamespace, "Failed to set up namespace, and refusing to continue since the selected namespacing options alter mount environment non-trivially: %v", err)
			}
			s.warn(fmt.Sprintf("Failed to set up namespace, assuming containerized execution and ignoring: %v", err))
			if s.RootDirectory != "" {
				if err := unix.Chroot(s.RootDirectory); err != nil {
					return fail(StatusChroot, "Failed to change root directory to %s: %v", s.RootDirectory, err)
				}
				return unix.Chdir("/")
			}
			return nil
		}
		return fail(StatusNamespace, "Failed to unshare the mount namespace: %v", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fail(StatusNamespace, "Failed to remount '/' as SLAVE: %v", err)
	}
	if credsPath != "" {
		if err := s.setupCredentials(s.credentialsMount()); err != nil {
			return err
		}
	}
	if s.RootDirectory != "" {
		mp, err := isMountPoint(root)
		if err != nil {
			return fail(StatusNamespace, "Failed to detect that %s is a mount point or not: %v", root, err)
		}
		if !mp {
			if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
				return fail(StatusNamespace, "Failed to bind %s: %v", root, err)
			}
		}
	} else if err := unix.Mount("/", root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fail(StatusNamespace, "Failed to bind / to %s: %v", root, err)
	}
	// Symlinked mount points are mounted where they lead (/bin on a merged /usr is
	// /usr/bin); the list is then sorted and pruned again, as apply_mounts() does.
	for i := range es {
		if err := chaseEntry(root, &es[i]); err != nil {
			return fail(StatusNamespace, "Failed to set up mount namespacing: %s: %v", es[i].inner, err)
		}
	}
	es = dropUnused(root, es)
	if err := s.applyMounts(root, es); err != nil {
		return fail(StatusNamespace, "Failed to set up mount namespacing: %v", err)
	}
	if err := moveRoot(root); err != nil {
		return fail(StatusNamespace, "Failed to mount root with MS_MOVE: %v", err)
	}
	flags := uintptr(unix.MS_SHARED)
	switch s.MountFlags {
	case "slave":
		flags = unix.MS_SLAVE
	case "private":
		flags = unix.MS_PRIVATE
	}
	if err := unix.Mount("", "/", "", flags|unix.MS_REC, ""); err != nil {
		return fail(StatusNamespace, "Failed to remount '/' with desired mount flags: %v", err)
	}
	return nil
}

// moveRoot is mount_move_root(): root becomes "/" of this thread.
func moveRoot(root string) error {
	if err := unix.Chdir(root); err != nil {
		return err
	}
	if err := unix.Mount(root, "/", "", unix.MS_MOVE, ""); err != nil {
		return err
	}
	if err := unix.Chroot("."); err != nil {
		return err
	}
	return unix.Chdir("/")
}

// applyMounts is apply_mounts(): every entry mounted, then the read-only, noexec and
// nosuid flags flipped with the entries' own paths spared from their parents' changes.
func (s *Spec) applyMounts(root string, es []entry) error {
	for i := range es {
		e := &es[i]
		if e.applied {
			continue
		}
		if err := s.applyOne(root, e); err != nil {
			return fmt.Errorf("%s: %w", e.inner, err)
		}
		e.applied = true
	}
	deny := make([]string, len(es))
	for i := range es {
		deny[i] = es[i].path
	}
	for i := range es {
		e := &es[i]
		var set, mask uintptr
		if e.isReadOnly() || e.mode == privateDev {
			set, mask = unix.MS_RDONLY, unix.MS_RDONLY
		}
		if e.nosuid {
			set, mask = set|unix.MS_NOSUID, mask|unix.MS_NOSUID
		}
		if mask == 0 {
			continue
		}
		rec := e.isReadOnly() && e.mode != emptyDir && e.mode != tmpfs
		if err := remount(e.path, set, mask, rec, deny); err != nil {
			if e.ignore && errors.Is(err, os.ErrNotExist) {
				continue
			}
			return fmt.Errorf("Failed to re-mount '%s' read-only: %w", e.inner, err)
		}
	}
	var execDeny []string
	for i := range es {
		if es[i].mode == execMode || es[i].mode == noExec {
			execDeny = append(execDeny, es[i].path)
		}
	}
	for i := range es {
		e := &es[i]
		var set, mask uintptr
		switch {
		case e.isNoExec():
			set, mask = unix.MS_NOEXEC, unix.MS_NOEXEC
		case e.isExec():
			mask = unix.MS_NOEXEC
		default:
			continue
		}
		rec := e.mode != emptyDir && e.mode != tmpfs
		if err := remount(e.path, set, mask, rec, execDeny); err != nil {
			if e.ignore && errors.Is(err, os.ErrNotExist) {
				continue
			}
			return fmt.Errorf("Failed to re-mount '%s' noexec: %w", e.inner, err)
		}
	}
	if s.MountNoSUID {
		for i := range es {
			e := &es[i]
			rec := e.mode != emptyDir && e.mode != tmpfs
			if err := remount(e.path, unix.MS_NOSUID, unix.MS_NOSUID, rec, nil); err != nil {
				if e.ignore && errors.Is(err, os.ErrNotExist) {
					continue
				}
				return fmt.Errorf("Failed to re-mount '%s' nosuid: %w", e.inner, err)
			}
		}
	}
	return nil
}

// chaseEntry resolves the symlinks of an entry's path inside root (chase_symlinks() with
// CHASE_NONEXISTENT): a symlinked mount point is mounted where it leads.
func chaseEntry(root string, e *entry) error {
	rel := strings.TrimPrefix(e.path, root)
	if root == "/" {
		rel = e.path
	}
	resolved, err := chase(root, rel)
	if err != nil {
		return err
	}
	e.path = resolved
	return nil
}

// chase resolves p inside root, following symlinks as if root were "/"; the components
// that do not exist are kept as written.
func chase(root, p string) (string, error) {
	todo := strings.Split(strings.Trim(path.Clean("/"+p), "/"), "/")
	done := "/"
	for n := 0; len(todo) > 0; {
		c := todo[0]
		todo = todo[1:]
		if c == "" || c == "." {
			continue
		}
		if c == ".." {
			done = path.Dir(done)
			continue
		}
		next := path.Join(done, c)
		fi, err := os.Lstat(join(root, next))
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			done = next
			if err != nil {
				// the rest does not exist: keep it as written
				done = path.Join(append([]string{done}, todo...)...)
				break
			}
			continue
		}
		if n++; n > 32 {
			return "", fmt.Errorf("Symlink loop on '%s'", p)
		}
		target, err := os.Readlink(join(root, next))
		if err != nil {
			return "", err
		}
		if path.IsAbs(target) {
			done = "/"
		}
		todo = append(strings.Split(strings.Trim(target, "/"), "/"), todo...)
	}
	return join(root, done), nil
}

// applyOne is apply_one_mount().
func (s *Spec) applyOne(root string, e *entry) error {
	what := ""
	rbind, make := true, false
	switch e.mode {
	case inaccessible:
		umountRecursive(e.path)
		fi, err := os.Lstat(e.path)
		if err != nil {
			if e.ignore && errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		node, err := s.inaccessibleNode(fi.Mode())
		if err != nil {
			return err
		}
		what = node
	case readOnly, readWrite, readWriteImplicit, execMode, noExec:
		mp, err := isMountPoint(e.path)
		if err != nil {
			if e.ignore && errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return err
		}
		if mp {
			return nil
		}
		what = e.path
	case bindMount, bindMountRecursive:
		rbind = e.mode == bindMountRecursive
		src, err := filepath.EvalSymlinks(e.source)
		if err != nil {
			if e.ignore && errors.Is(err, os.ErrNotExist) {
				return nil
			}
			return fmt.Errorf("Failed to follow symlinks on %s: %w", e.source, err)
		}
		what, make = src, true
	case emptyDir, tmpfs:
		return mountTmpfs(e)
	case privateTmp, privateTmpReadOnly:
		what, make = e.source, true
	case privateDev:
		return mountPrivateDev(e, s.DevMountFD)
	case bindDev:
		return mountIfNot(e.path, "/dev")
	case sysfs:
		return mountIfNot(e.path, "/sys")
	case procfs:
		return s.mountProcfs(e)
	case runTmpfs:
		if mp, err := isMountPoint(e.path); err == nil && mp {
			return nil
		}
		return mountTmpfs(e)
	case mqueuefs:
		_ = os.MkdirAll(e.path, 0o755)
		umountRecursive(e.path)
		if s.MqueueMountFD > 0 {
			return unix.MoveMount(s.MqueueMountFD, "", unix.AT_FDCWD, e.path, unix.MOVE_MOUNT_F_EMPTY_PATH)
		}
		return unix.Mount("mqueue", e.path, "mqueue", e.flags, "")
	}
	flags := uintptr(unix.MS_BIND)
	if rbind {
		flags |= unix.MS_REC
	}
	err := unix.Mount(what, e.path, "", flags, "")
	if errors.Is(err, unix.ENOENT) && make {
		_ = os.MkdirAll(path.Dir(e.path), 0o755)
		if err := makeMountPoint(what, e.path); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("Failed to create destination mount point node '%s': %w", e.path, err)
		}
		err = unix.Mount(what, e.path, "", flags, "")
	}
	if err != nil {
		return fmt.Errorf("Failed to mount %s to %s: %w", what, e.path, err)
	}
	return nil
}

// makeMountPoint makes dst a directory or an empty file, as what is.
func makeMountPoint(what, dst string) error {
	fi, err := os.Stat(what)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return os.Mkdir(dst, 0o755)
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o755)
	if err != nil {
		return err
	}
	return f.Close()
}

// mountIfNot binds the host's src recursively on p unless p is a mount point already
// (mount_bind_dev(), mount_sysfs()).
func mountIfNot(p, src string) error {
	_ = os.MkdirAll(p, 0o755)
	if mp, err := isMountPoint(p); err != nil {
		return err
	} else if mp {
		return nil
	}
	return unix.Mount(src, p, "", unix.MS_BIND|unix.MS_REC, "")
}

func mountTmpfs(e *entry) error {
	_ = os.MkdirAll(e.path, 0o755)
	umountRecursive(e.path)
	return unix.Mount("tmpfs", e.path, "tmpfs", e.flags, e.options)
}

// umountRecursive unmounts everything at and below p, deepest first; it returns how many.
func umountRecursive(p string) int {
	n := 0
	for {
		mis, err := readMountinfo()
		if err != nil {
			return n
		}
		progress := false
		for i := len(mis) - 1; i >= 0; i-- {
			if hasPathPrefix(mis[i].path, p) {
				if unix.Unmount(mis[i].path, unix.MNT_DETACH) == nil {
					n++
					progress = true
				}
			}
		}
		if !progress {
			return n
		}
	}
}

// mountProcfs is mount_procfs(): a new proc instance with ProtectProc='s hidepid= and
// ProcSubset='s subset=; without the privilege, the host's /proc.
func (s *Spec) mountProcfs(e *entry) error {
	opts := ""
	if hidepid, subset := s.procOptions(); hidepid != "" {
		opts = "hidepid=" + hidepid
		if subset != "" {
			opts += ",subset=" + subset
		}
	}
	_ = os.MkdirAll(e.path, 0o755)
	n := umountRecursive(e.path)
	if s.ProcMountFD > 0 {
		return s.attachProcMount(e.path)
	}
	const flags = unix.MS_NOSUID | unix.MS_NOEXEC | unix.MS_NODEV
	err := unix.Mount("proc", e.path, "proc", flags, opts)
	if errors.Is(err, unix.EINVAL) && opts != "" {
		err = unix.Mount("proc", e.path, "proc", flags, "")
	}
	if errors.Is(err, unix.EPERM) {
		if n > 0 {
			return err
		}
		return mountIfNot(e.path, "/proc")
	}
	return err
}

// inaccessibleNode returns the mode-0000 node of the same type as m, making it first.
func (s *Spec) inaccessibleNode(m os.FileMode) (string, error) {
	name, mode := "", uint32(0)
	switch {
	case m.IsDir():
		name = "dir"
	case m.IsRegular():
		name, mode = "reg", unix.S_IFREG
	case m&os.ModeCharDevice != 0:
		name, mode = "chr", unix.S_IFCHR
	case m&os.ModeDevice != 0:
		name, mode = "blk", unix.S_IFBLK
	case m&os.ModeNamedPipe != 0:
		name, mode = "fifo", unix.S_IFIFO
	case m&os.ModeSocket != 0:
		name, mode = "sock", unix.S_IFSOCK
	default:
		return "", fmt.Errorf("File type not supported for inaccessible mounts. Note that symlinks are not allowed")
	}
	p := s.inaccessibleDir() + "/" + name
	if _, err := os.Lstat(p); err == nil {
		return p, nil
	}
	if err := os.MkdirAll(s.inaccessibleDir(), 0o755); err != nil {
		return "", err
	}
	var err error
	if name == "dir" {
		err = unix.Mkdir(p, 0)
	} else {
		err = unix.Mknod(p, mode, 0)
		if err != nil && (mode == unix.S_IFCHR || mode == unix.S_IFBLK) {
			// no mknod in a container: systemd falls back to the fifo's sibling, a file
			err = unix.Mknod(p, unix.S_IFREG, 0)
		}
	}
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return "", err
	}
	return p, nil
}
