package manager

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/internal/notify"
)

// A service's fd store (FileDescriptorStoreMax=, sd_notify FDSTORE=1): descriptors the
// service hands the manager to get them back, after LISTEN_FDS's sockets, at its next start.
// The manager owns them from the moment they are stored and closes each one itself, never
// leaving one to the garbage collector: at FDSTOREREMOVE=1, when the store is full, and when
// the store is released — as systemd 252's service_release_resources(), once the service is
// inactive (or failed) and no job is queued for it, so that a restart, manual or automatic,
// keeps the store and a stop does not.

// storedFD is one descriptor of the store with its FDNAME=.
type storedFD struct {
	name string
	f    *os.File
}

// fdStoreMessage applies FDSTOREREMOVE=1 or FDSTORE=1 of msg to u's store, as systemd's
// service_notify_message(): a removal takes precedence over an addition in the same message.
// keep gets the files the store took; the caller closes the others.
func (m *Manager) fdStoreMessage(u *Unit, msg *notify.Message, keep map[*os.File]bool) {
	name, named := msg.First("FDNAME")
	switch {
	case hasEntry(msg, "FDSTOREREMOVE", "1"):
		if !named || !fdNameValid(name) {
			m.logUnit(u, "FDSTOREREMOVE=1 requested, but no valid file descriptor name passed, ignoring.")
			return
		}
		m.removeFDStore(u, name)
	case hasEntry(msg, "FDSTORE", "1"):
		if named && !fdNameValid(name) {
			m.logUnit(u, "Passed FDNAME= name is invalid, ignoring.")
			named = false
		}
		if !named {
			name = "stored"
		}
		m.addFDStore(u, msg.Files, name, keep)
	}
}

// hasEntry reports whether msg holds the line key=value (systemd's strv_contains).
func hasEntry(msg *notify.Message, key, value string) bool {
	for _, f := range msg.Fields {
		if f.Key == key && f.Value == value {
			return true
		}
	}
	return false
}

// addFDStore puts files into u's store under name: a file that is already stored (the same
// open file) is not stored twice, and past FileDescriptorStoreMax= the rest are refused.
// Newer entries come first, as in systemd's list (and so in LISTEN_FDS).
func (m *Manager) addFDStore(u *Unit, files []*os.File, name string, keep map[*os.File]bool) {
	s := u.service()
	limit := u.cfg.Service.FileDescriptorStoreMax
	for _, f := range files {
		if len(s.fdstore) >= limit {
			m.logUnit(u, "Cannot store more fds than FileDescriptorStoreMax=%d, closing remaining.", limit)
			return
		}
		if storedAlready(s.fdstore, f) {
			continue // the caller closes the duplicate
		}
		keep[f] = true
		s.fdstore = append(s.fdstore, storedFD{})
		copy(s.fdstore[1:], s.fdstore)
		s.fdstore[0] = storedFD{name: name, f: f}
	}
}

// removeFDStore closes and forgets the stored fds named name.
func (m *Manager) removeFDStore(u *Unit, name string) {
	s := u.service()
	kept := s.fdstore[:0]
	for _, sf := range s.fdstore {
		if sf.name == name {
			sf.f.Close()
			continue
		}
		kept = append(kept, sf)
	}
	clear(s.fdstore[len(kept):])
	s.fdstore = kept
}

// releaseFDStore closes every stored fd of u (systemd's service_release_fd_store).
func (m *Manager) releaseFDStore(u *Unit) {
	s := u.svc
	if s == nil || len(s.fdstore) == 0 {
		return
	}
	for _, sf := range s.fdstore {
		sf.f.Close()
	}
	s.fdstore = nil
}

// storedAlready reports whether f is one of the store's open files (systemd's same_fd).
func storedAlready(store []storedFD, f *os.File) bool {
	for _, sf := range store {
		if sameOpenFile(f, sf.f) {
			return true
		}
	}
	return false
}

// sameOpenFile is sameFile on two files' descriptors (without switching them to blocking
// mode, as Fd() would).
func sameOpenFile(f, g *os.File) bool {
	fc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	gc, err := g.SyscallConn()
	if err != nil {
		return false
	}
	same := false
	fc.Control(func(a uintptr) {
		gc.Control(func(b uintptr) { same = sameFile(int(a), int(b)) })
	})
	return same
}

// sameFile reports whether descriptors a and b of this process refer to the same open file:
// kcmp(2) says so for dup()ed descriptors (and those passed over a socket, which are dups of
// the sender's). Without kcmp (kernel without CONFIG_KCMP, or a seccomp filter refusing it),
// as systemd's same_fd: the same inode (devices excepted, whose descriptors may be different
// contexts) with the same file status flags.
func sameFile(a, b int) bool {
	if a == b {
		return true
	}
	pid := uintptr(os.Getpid())
	r, _, errno := syscall.Syscall6(unix.SYS_KCMP, pid, pid, 0 /* KCMP_FILE */, uintptr(a), uintptr(b), 0)
	if errno == 0 {
		return r == 0
	}
	var sa, sb unix.Stat_t
	if unix.Fstat(a, &sa) != nil || unix.Fstat(b, &sb) != nil {
		return false
	}
	if sa.Dev != sb.Dev || sa.Ino != sb.Ino {
		return false
	}
	if t := sa.Mode & unix.S_IFMT; t == unix.S_IFCHR || t == unix.S_IFBLK {
		return false
	}
	fa, errA := unix.FcntlInt(uintptr(a), unix.F_GETFL, 0)
	fb, errB := unix.FcntlInt(uintptr(b), unix.F_GETFL, 0)
	return errA == nil && errB == nil && fa == fb
}

// fdNameValid is systemd's fdname_is_valid: up to 255 characters of printable ASCII other
// than ':' (the separator of LISTEN_FDNAMES); the empty name is valid.
func fdNameValid(s string) bool {
	if len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c >= 127 || c == ':' {
			return false
		}
	}
	return true
}
