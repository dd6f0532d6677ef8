package dynuser

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// asUser runs f on a thread of its own whose effective uid and gid are uid and gid: the IPC
// objects it creates belong to them. The thread is thrown away afterwards (its goroutine
// ends locked to it), so no other goroutine ever runs with those credentials.
func asUser(t *testing.T, uid, gid uint32, f func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		// Raw syscalls: only this thread changes (syscall.Setresuid would change them all).
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, ^uintptr(0), uintptr(gid), ^uintptr(0)); e != 0 {
			done <- e
			return
		}
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, ^uintptr(0), uintptr(uid), ^uintptr(0)); e != 0 {
			done <- e
			return
		}
		done <- f()
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// freeID is a dynamic id that owns no IPC object now.
func freeID(t *testing.T, not ...uint32) uint32 {
	t.Helper()
	for id := uint32(MaxUID - 10 - os.Getpid()%2000); id > MinUID; id-- {
		taken := FindIPC(id, id)
		for _, n := range not {
			taken = taken || n == id
		}
		if !taken {
			return id
		}
	}
	t.Fatal("no free id")
	return 0
}

type sysvObjects struct{ shm, sem, msg, attached int }

// makeSysV creates a shared memory segment, a semaphore set and a message queue as uid:gid,
// and a second segment that stays attached (to this process).
func makeSysV(t *testing.T, uid, gid uint32) sysvObjects {
	t.Helper()
	var o sysvObjects
	asUser(t, uid, gid, func() error {
		var err error
		if o.shm, err = unix.SysvShmGet(unix.IPC_PRIVATE, 4096, unix.IPC_CREAT|0o600); err != nil {
			return err
		}
		if o.attached, err = unix.SysvShmGet(unix.IPC_PRIVATE, 4096, unix.IPC_CREAT|0o600); err != nil {
			return err
		}
		r, _, e := unix.Syscall(unix.SYS_SEMGET, unix.IPC_PRIVATE, 1, unix.IPC_CREAT|0o600)
		if e != 0 {
			return e
		}
		o.sem = int(r)
		r, _, e = unix.Syscall(unix.SYS_MSGGET, unix.IPC_PRIVATE, unix.IPC_CREAT|0o600, 0)
		if e != 0 {
			return e
		}
		o.msg = int(r)
		return nil
	})
	mem, err := unix.SysvShmAttach(o.attached, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unix.SysvShmDetach(mem)
		for _, id := range []int{o.shm, o.attached} {
			unix.SysvShmCtl(id, unix.IPC_RMID, nil)
		}
		unix.Syscall(unix.SYS_SEMCTL, uintptr(o.sem), 0, unix.IPC_RMID)
		unix.Syscall(unix.SYS_MSGCTL, uintptr(o.msg), unix.IPC_RMID, 0)
	})
	return o
}

// exists reports which of the objects are still there.
func (o sysvObjects) exists() (shm, sem, msg, attached bool) {
	_, err := unix.SysvShmCtl(o.shm, unix.IPC_STAT, &unix.SysvShmDesc{})
	shm = err == nil
	_, err = unix.SysvShmCtl(o.attached, unix.IPC_STAT, &unix.SysvShmDesc{})
	attached = err == nil
	const getval = 12 // semctl's GETVAL: fails once the set is gone
	_, _, e := unix.Syscall6(unix.SYS_SEMCTL, uintptr(o.sem), 0, getval, 0, 0, 0)
	sem = e == 0
	var buf [256]byte // room for struct msqid64_ds
	_, _, e = unix.Syscall(unix.SYS_MSGCTL, uintptr(o.msg), unix.IPC_STAT, uintptr(unsafe.Pointer(&buf[0])))
	msg = e == 0
	return
}

// withPOSIXDirs points /dev/shm and /dev/mqueue at directories of the test's own.
func withPOSIXDirs(t *testing.T) (shm, mq string) {
	t.Helper()
	old := ipcPaths
	t.Cleanup(func() { ipcPaths = old })
	shm, mq = t.TempDir(), t.TempDir()
	ipcPaths.devShm, ipcPaths.mqueue = shm, mq
	return shm, mq
}

func touchOwned(t *testing.T, p string, dir bool, uid, gid uint32) {
	t.Helper()
	var err error
	if dir {
		err = os.Mkdir(p, 0o700)
	} else {
		err = os.WriteFile(p, nil, 0o600)
	}
	if err == nil {
		err = os.Lchown(p, int(uid), int(gid))
	}
	if err != nil {
		t.Fatal(err)
	}
}

func TestRemoveIPCOfUID(t *testing.T) {
	uid := freeID(t)
	other := freeID(t, uid)
	shm, mq := withPOSIXDirs(t)
	if FindIPC(uid, uid) {
		t.Fatal("a fresh uid owns IPC objects")
	}
	mine := makeSysV(t, uid, other)
	theirs := makeSysV(t, other, other)
	touchOwned(t, filepath.Join(shm, "seg"), false, uid, other)
	touchOwned(t, filepath.Join(shm, "dir"), true, uid, other)
	touchOwned(t, filepath.Join(shm, "dir", "sem.x"), false, uid, other)
	touchOwned(t, filepath.Join(shm, "keep"), false, other, other)
	touchOwned(t, filepath.Join(mq, "queue"), false, uid, other)
	if !FindIPC(uid, 0o7777777) {
		t.Fatal("FindIPC does not see the uid's objects")
	}
	if err := RemoveIPCOfUID(uid); err != nil {
		t.Fatal(err)
	}
	if s, se, m, a := mine.exists(); s || se || m || !a {
		t.Errorf("uid's objects after removal: shm %v sem %v msg %v; attached segment kept: %v", s, se, m, a)
	}
	if s, se, m, a := theirs.exists(); !s || !se || !m || !a {
		t.Errorf("another uid's objects removed: shm %v sem %v msg %v attached %v", s, se, m, a)
	}
	for _, p := range []string{filepath.Join(shm, "seg"), filepath.Join(shm, "dir"), filepath.Join(mq, "queue")} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s kept", p)
		}
	}
	if _, err := os.Lstat(filepath.Join(shm, "keep")); err != nil {
		t.Error("another uid's file removed")
	}
	// What is left of the uid is the attached segment, which does not count.
	if FindIPC(uid, 0o7777777) {
		t.Error("FindIPC still sees objects of the uid")
	}
}

func TestRemoveIPCOfGID(t *testing.T) {
	gid := freeID(t)
	other := freeID(t, gid)
	shm, _ := withPOSIXDirs(t)
	mine := makeSysV(t, other, gid)
	touchOwned(t, filepath.Join(shm, "g"), false, other, gid)
	if err := RemoveIPCOfGID(gid); err != nil {
		t.Fatal(err)
	}
	if s, se, m, _ := mine.exists(); s || se || m {
		t.Errorf("gid's objects after removal: shm %v sem %v msg %v", s, se, m)
	}
	if _, err := os.Lstat(filepath.Join(shm, "g")); err == nil {
		t.Error("gid's file kept")
	}
	// Root's objects are never looked for nor removed.
	if !FindIPC(0, gid) || RemoveIPCOfUID(0) != nil || RemoveIPCOfGID(0) != nil {
		t.Error("root's IPC not left alone")
	}
}
