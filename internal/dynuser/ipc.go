package dynuser

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The IPC objects of a user or group, as systemd 252's clean-ipc.c finds and removes them:
// System V shared memory segments (not attached anywhere), semaphore sets and message
// queues (from /proc/sysvipc), POSIX shared memory and semaphores (files under /dev/shm, and
// directories there, emptied first) and POSIX message queues (/dev/mqueue). An object
// belongs to the uid or gid that owns it (not its creator's).

// ipcPaths are where the objects are listed; tests point them elsewhere.
var ipcPaths = struct{ shm, sem, msg, devShm, mqueue string }{
	"/proc/sysvipc/shm", "/proc/sysvipc/sem", "/proc/sysvipc/msg", "/dev/shm", "/dev/mqueue",
}

// owner selects objects owned by a uid or a gid (nil: no match on that side).
type owner struct{ uid, gid *uint32 }

func (o owner) match(uid, gid uint32) bool {
	return o.uid != nil && *o.uid == uid || o.gid != nil && *o.gid == gid
}

// FindIPC reports whether any IPC object is owned by uid or by gid. Root (0) is taken as
// always owning some, as systemd does: its id is never handed out nor cleaned.
func FindIPC(uid, gid uint32) bool {
	if uid == 0 || gid == 0 {
		return true
	}
	found, _ := scanIPC(owner{&uid, &gid}, false)
	return found
}

// RemoveIPCOfUID removes the IPC objects owned by uid (RemoveIPC=; nothing for root). It
// goes on past errors and returns them joined.
func RemoveIPCOfUID(uid uint32) error {
	if uid == 0 {
		return nil
	}
	_, err := scanIPC(owner{uid: &uid}, true)
	return err
}

// RemoveIPCOfGID removes the IPC objects owned by gid, as RemoveIPCOfUID.
func RemoveIPCOfGID(gid uint32) error {
	if gid == 0 {
		return nil
	}
	_, err := scanIPC(owner{gid: &gid}, true)
	return err
}

// scanIPC looks for (rm false: stops at the first) or removes the objects of o.
func scanIPC(o owner, rm bool) (bool, error) {
	var errs []error
	found := false
	// System V: the id's column, then uid and gid columns, of each /proc/sysvipc table.
	for _, t := range []struct {
		path         string
		id, uid, gid int
		attachedCol  int // shm: nattch; a segment still attached is left
		remove       func(id int) error
		what         string
	}{
		{ipcPaths.shm, 1, 7, 8, 6, func(id int) error { _, err := unix.SysvShmCtl(id, unix.IPC_RMID, nil); return err }, "shared memory segment"},
		{ipcPaths.sem, 1, 4, 5, -1, func(id int) error {
			_, _, e := unix.Syscall(unix.SYS_SEMCTL, uintptr(id), 0, unix.IPC_RMID)
			return errnoErr(e)
		}, "semaphore set"},
		{ipcPaths.msg, 1, 7, 8, -1, func(id int) error {
			_, _, e := unix.Syscall(unix.SYS_MSGCTL, uintptr(id), unix.IPC_RMID, 0)
			return errnoErr(e)
		}, "message queue"},
	} {
		rows, err := sysvRows(t.path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, f := range rows {
			if len(f) <= max(t.id, t.uid, t.gid, t.attachedCol) {
				continue
			}
			id, err1 := strconv.Atoi(f[t.id])
			uid, ok1 := num(f[t.uid])
			gid, ok2 := num(f[t.gid])
			if err1 != nil || !ok1 || !ok2 || !o.match(uid, gid) {
				continue
			}
			if t.attachedCol >= 0 && f[t.attachedCol] != "0" {
				continue
			}
			if !rm {
				return true, nil
			}
			found = true
			if err := t.remove(id); err != nil && !errors.Is(err, unix.EIDRM) && !errors.Is(err, unix.EINVAL) {
				errs = append(errs, fmt.Errorf("remove System V %s %d: %w", t.what, id, err))
			}
		}
	}
	// POSIX: shared memory and semaphores in /dev/shm (directories too), message queues.
	for _, d := range []struct {
		path    string
		recurse bool
	}{{ipcPaths.devShm, true}, {ipcPaths.mqueue, false}} {
		f, err := scanDir(d.path, o, rm, d.recurse, &errs)
		if err != nil {
			errs = append(errs, err)
		}
		if f && !rm {
			return true, nil
		}
		found = found || f
	}
	return found, errors.Join(errs...)
}

func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// sysvRows reads a /proc/sysvipc table without its header; a missing table (no System V IPC
// in the kernel) has no rows.
func sysvRows(p string) ([][]string, error) {
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows [][]string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	first := true
	for sc.Scan() {
		if first {
			first = false
			continue
		}
		rows = append(rows, strings.Fields(sc.Text()))
	}
	return rows, sc.Err()
}

// scanDir looks for or removes the entries of dir owned by o; with recurse, directories are
// descended into (and removed once their matching entries are gone, when o owns them too).
// Entries are reached through their directory's fd, symlinks never followed.
func scanDir(dir string, o owner, rm, recurse bool, errs *[]error) (bool, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return scanDirFD(fd, dir, o, rm, recurse, errs)
}

// scanDirFD is scanDir on the open directory fd, which it closes.
func scanDirFD(fd int, dir string, o owner, rm, recurse bool, errs *[]error) (bool, error) {
	d := os.NewFile(uintptr(fd), dir)
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return false, err
	}
	found := false
	for _, n := range names {
		var st unix.Stat_t
		if err := unix.Fstatat(fd, n, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			continue // gone meanwhile
		}
		p := filepath.Join(dir, n)
		isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
		if isDir && recurse {
			sub, err := unix.Openat(fd, n, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err == nil {
				f, err := scanDirFD(sub, p, o, rm, recurse, errs)
				if f && !rm {
					return true, nil
				}
				found = found || f
				if err != nil {
					*errs = append(*errs, err)
				}
			}
		}
		if !o.match(st.Uid, st.Gid) {
			continue
		}
		if !rm {
			return true, nil
		}
		found = true
		flags := 0
		if isDir {
			flags = unix.AT_REMOVEDIR
		}
		if err := unix.Unlinkat(fd, n, flags); err != nil && !errors.Is(err, unix.ENOENT) {
			*errs = append(*errs, &os.PathError{Op: "remove", Path: p, Err: err})
		}
	}
	return found, nil
}
