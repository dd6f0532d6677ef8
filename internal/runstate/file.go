package runstate

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ErrLocked is returned by TakeLock when another process holds the runtime directory.
var ErrLocked = errors.New("another manager is running")

// LockName is the lock file's name in the runtime directory.
const LockName = "lock"

// Lock holds a runtime directory for one manager: an exclusive flock(2) on the file
// RUNTIME/lock, which the kernel releases when the process ends, however it ends. A second
// manager on the same directory fails with ErrLocked; the next manager after a crash gets
// the lock and knows that the state file's writer is gone. The file is the manager's own and
// readable by nobody else, so that no other user can take the lock first.
type Lock struct {
	fd   int
	path string
}

// TakeLock locks dir (which must exist). The descriptor is close-on-exec, so services do not
// inherit the lock. A lock file that an orderly manager removed between this open and the
// lock is opened again.
func TakeLock(dir string) (*Lock, error) {
	path := filepath.Join(dir, LockName)
	for attempt := 0; ; attempt++ {
		fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		var st, now unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFREG || int(st.Uid) != os.Geteuid() {
			unix.Close(fd)
			return nil, fmt.Errorf("lock %s: not a regular file owned by uid %d", path, os.Geteuid())
		}
		for {
			err = unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
			if err != unix.EINTR {
				break
			}
		}
		if err != nil {
			unix.Close(fd)
			if err == unix.EWOULDBLOCK {
				return nil, fmt.Errorf("%s: %w", dir, ErrLocked)
			}
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if unix.Stat(path, &now) == nil && now.Ino == st.Ino && now.Dev == st.Dev {
			return &Lock{fd: fd, path: path}, nil
		}
		unix.Close(fd)
		if attempt == 10 {
			return nil, fmt.Errorf("lock %s: replaced again and again", path)
		}
	}
}

// Close releases the lock; with remove set (an orderly end) the lock file goes first, while
// it is still held.
func (l *Lock) Close(remove bool) error {
	if l == nil || l.fd < 0 {
		return nil
	}
	if remove {
		os.Remove(l.path)
	}
	err := unix.Close(l.fd)
	l.fd = -1
	return err
}

// Path is where the state file of runtime directory dir is.
func Path(dir string) string { return filepath.Join(dir, FileName) }

// Read reads and decodes dir's state file and applies its log (log.go); (nil, nil) when there
// is none. The file is trusted
// only when it is a regular file owned by this process's user and writable by nobody else:
// a file another user could have written is refused with an error, as its pids would be
// signalled.
func Read(dir string) (*State, error) {
	path := Path(dir)
	data, err := readTrusted(path)
	if err != nil || data == nil {
		return nil, err
	}
	s, err := Decode(path, data)
	if err != nil {
		return nil, err
	}
	if err := applyLog(dir, s); err != nil {
		return nil, err
	}
	return s, nil
}

// Write replaces dir's state file with s atomically: a temporary file (created anew, never
// followed through a symlink) renamed over it, so that a manager killed in the middle leaves
// the old file or the new one, never half of one. No fsync: the file matters only while the
// processes it names may live, which a crash of the machine ends too.
func Write(dir string, s *State) error {
	return WriteData(dir, Encode(s))
}

// WriteData is Write for a state already encoded, given in parts (AppendHeader's, then
// AppendUnit's) that are written with writev(2), without joining them first.
func WriteData(dir string, parts ...[]byte) error {
	path := Path(dir)
	tmp := path + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: %w", tmp, err)
	}
	fd, err := unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("%s: %w", tmp, err)
	}
	if err := writeAll(fd, parts); err != nil {
		unix.Close(fd)
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", tmp, err)
	}
	if err := unix.Close(fd); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("%s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// writeAll writes parts to fd, at most IOV_MAX (1024) of them a writev(2), going on after a
// short write.
func writeAll(fd int, parts [][]byte) error {
	for len(parts) > 0 {
		batch := parts[:min(len(parts), 1024)]
		n, err := unix.Writev(fd, batch)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 && len(batch[0]) > 0 {
			return io.ErrShortWrite
		}
		// Drop what was written: whole parts, then the front of a part written in part.
		for len(parts) > 0 && n >= len(parts[0]) {
			n -= len(parts[0])
			parts = parts[1:]
		}
		if n > 0 {
			parts = append([][]byte{parts[0][n:]}, parts[1:]...)
		}
	}
	return nil
}

// Remove deletes dir's state file (and a temporary one a killed write left), as an orderly
// shutdown does: nothing is left to find.
func Remove(dir string) error {
	os.Remove(Path(dir) + ".tmp")
	if err := os.Remove(LogPath(dir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Remove(Path(dir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
