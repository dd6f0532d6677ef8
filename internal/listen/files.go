package listen

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/unit"
)

// openFIFO creates (or reuses) a FIFO with SocketMode and opens it read-write and
// non-blocking, so that it never sees EOF while no writer is around.
func (s *Socket) openFIFO(cfg *unit.SocketSection) error {
	path := s.Spec.Path
	if err := mkdirParents(path, cfg.DirectoryMode); err != nil {
		return err
	}
	if err := unix.Mkfifo(path, uint32(cfg.SocketMode.Perm())); err != nil && !errors.Is(err, unix.EEXIST) {
		return os.NewSyscallError("mkfifo", err)
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_NOFOLLOW, 0)
	if err != nil {
		return os.NewSyscallError("open", err)
	}
	s.fd = fd
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return os.NewSyscallError("fstat", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return fmt.Errorf("%s exists and is not a FIFO: %w", path, unix.EEXIST)
	}
	uid, gid, err := socketOwner(cfg)
	if err != nil {
		return err
	}
	// A FIFO someone else made (a user who may write to the directory, who would then read
	// what is meant for the service) is not taken over: systemd 252 takes only its own.
	// flint also takes one of SocketUser='s, which it gave away itself.
	if int(st.Uid) != os.Geteuid() && (uid < 0 || int(st.Uid) != uid) {
		return fmt.Errorf("%s exists and is a FIFO of uid %d, not the manager's: %w", path, st.Uid, unix.EEXIST)
	}
	if err := unix.Fchmod(fd, uint32(cfg.SocketMode.Perm())); err != nil {
		return os.NewSyscallError("fchmod", err)
	}
	if uid >= 0 || gid >= 0 {
		if err := unix.Fchown(fd, uid, gid); err != nil {
			return os.NewSyscallError("fchown", err)
		}
	}
	if cfg.PipeSize > 0 {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETPIPE_SZ, int(cfg.PipeSize)); err != nil {
			s.warn("setting pipe size %d failed, ignoring: %v", cfg.PipeSize, err)
		}
	}
	return nil
}

// openSpecial opens a character device or a file in /proc or /sys (Writable= selects
// read-write).
func (s *Socket) openSpecial(cfg *unit.SocketSection) error {
	flags := unix.O_RDONLY
	if cfg.Writable {
		flags = unix.O_RDWR
	}
	fd, err := unix.Open(s.Spec.Path, flags|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_NOFOLLOW, 0)
	if err != nil {
		return os.NewSyscallError("open", err)
	}
	s.fd = fd
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return os.NewSyscallError("fstat", err)
	}
	if t := st.Mode & unix.S_IFMT; t != unix.S_IFREG && t != unix.S_IFCHR {
		return fmt.Errorf("not a regular file or character device: %w", unix.EEXIST)
	}
	return nil
}

// mqAttr is struct mq_attr.
type mqAttr struct {
	Flags, MaxMsg, MsgSize, CurMsgs int64
	_                               [4]int64
}

// openMessageQueue creates or opens a POSIX message queue (ListenMessageQueue=) read-only
// with SocketMode and, when both are set, MessageQueueMaxMessages/MessageQueueMessageSize.
func (s *Socket) openMessageQueue(cfg *unit.SocketSection) error {
	name := strings.TrimPrefix(s.Spec.Path, "/")
	if name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("invalid message queue name %q", s.Spec.Path)
	}
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		return err
	}
	var attr *mqAttr
	if cfg.MessageQueueMaxMessages > 0 && cfg.MessageQueueMessageSize > 0 {
		attr = &mqAttr{Flags: unix.O_NONBLOCK, MaxMsg: cfg.MessageQueueMaxMessages, MsgSize: cfg.MessageQueueMessageSize}
	}
	r, _, errno := unix.Syscall6(unix.SYS_MQ_OPEN, uintptr(unsafe.Pointer(p)),
		uintptr(unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_CREAT),
		uintptr(cfg.SocketMode.Perm()), uintptr(unsafe.Pointer(attr)), 0, 0)
	if errno != 0 {
		return os.NewSyscallError("mq_open", errno)
	}
	s.fd = int(r)
	// mq_open applies the umask; set SocketMode exactly (changing the process umask
	// would race with other goroutines).
	if err := unix.Fchmod(s.fd, uint32(cfg.SocketMode.Perm())); err != nil {
		return os.NewSyscallError("fchmod", err)
	}
	return nil
}

// mqUnlink removes a POSIX message queue.
func mqUnlink(path string) error {
	p, err := unix.BytePtrFromString(strings.TrimPrefix(path, "/"))
	if err != nil {
		return err
	}
	if _, _, errno := unix.Syscall(unix.SYS_MQ_UNLINK, uintptr(unsafe.Pointer(p)), 0, 0); errno != 0 {
		return os.NewSyscallError("mq_unlink", errno)
	}
	return nil
}

// symlinkTarget is the path Symlinks= point to: this socket's path when it is the only
// unix socket path or FIFO of the unit (systemd creates no symlinks otherwise).
func (s *Socket) symlinkTarget(cfg *unit.SocketSection) string {
	if len(cfg.Symlinks) == 0 || !(s.isUnixPath() || s.Spec.Kind == unit.ListenFIFO) {
		return ""
	}
	n := 0
	for _, l := range cfg.Listen {
		o := Socket{Spec: &l}
		if o.isUnixPath() || l.Kind == unit.ListenFIFO {
			n++
			if l.Path != s.Spec.Path {
				return ""
			}
		}
	}
	if n > 1 {
		return ""
	}
	return s.Spec.Path
}

// createSymlinks creates Symlinks= pointing to target; failures are warnings, as in
// systemd. An existing link to target is kept; anything else there is replaced only with
// RemoveOnStop=.
func (s *Socket) createSymlinks(target string, cfg *unit.SocketSection) {
	for _, l := range cfg.Symlinks {
		_ = mkdirParents(l, cfg.DirectoryMode)
		err := os.Symlink(target, l)
		if errors.Is(err, os.ErrExist) {
			if cur, rerr := os.Readlink(l); rerr == nil && cur == target {
				continue
			}
			if cfg.RemoveOnStop && os.Remove(l) == nil {
				err = os.Symlink(target, l)
			}
		}
		if err != nil {
			s.warn("failed to create symlink %s -> %s, ignoring: %v", l, target, err)
		}
	}
}

// lookupUser resolves a user name or number.
func lookupUser(name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil && n >= 0 {
		return n, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, fmt.Errorf("SocketUser=%s: %w", name, err)
	}
	return strconv.Atoi(u.Uid)
}

// lookupGroup resolves a group name or number.
func lookupGroup(name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil && n >= 0 {
		return n, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("SocketGroup=%s: %w", name, err)
	}
	return strconv.Atoi(g.Gid)
}
