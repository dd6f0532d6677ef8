package manager

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// sleeper starts a process of the test's own, which to the manager under test is a main
// process that it did not start; the test kills and reaps it at the end unless it did.
func sleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	c := exec.Command("/bin/sleep", "100")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c.ProcessState == nil {
			c.Process.Kill()
			c.Wait()
		}
	})
	return c
}

// runLoopUntil runs what was posted to m's loop until done says so (a hang guard fails the
// test; it measures nothing).
func runLoopUntil(t *testing.T, m *Manager, what string, done func() bool) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for !done() {
		select {
		case fn := <-m.loop:
			fn()
		case <-deadline:
			t.Fatalf("%s: not seen", what)
		}
	}
}

// The exit of a main process that flint did not start is noticed: through its pidfd, or by
// polling where pidfd_open fails. The service's main process is then gone, as is the watch,
// and the service has left running. A watch whose process is no longer the main one is
// dropped (its pidfd closed). A main process that became the manager's child (reparented
// to it) and exited is left to the reaper, which has its exit status (orphanExited).
func TestWatchForeignMain(t *testing.T) {
	for _, noPidfd := range []bool{false, true} {
		t.Run(map[bool]string{false: "pidfd", true: "polled"}[noPidfd], func(t *testing.T) {
			if noPidfd {
				old := pidfdOpen
				pidfdOpen = func(int, int) (int, error) { return -1, unix.ENOSYS }
				t.Cleanup(func() { pidfdOpen = old })
			} else if fd, err := unix.PidfdOpen(os.Getpid(), 0); err != nil {
				t.Skipf("no pidfd_open here: %v", err)
			} else {
				unix.Close(fd)
			}
			m, _ := testManager(t, map[string]string{
				"d.service": "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 100\n",
			})
			m.loop = make(chan func(), 16)
			// No process of the unit is looked for or signalled: fakeSys knows none.
			var trace []string
			m.osys = &fakeSys{t: t, trace: &trace, procs: map[int]*fakeProc{}, clock: time.Now(), fail: map[string]bool{},
				watches: map[string]*fakeWatch{}}
			u := m.load("d.service")
			first, second, third := sleeper(t), sleeper(t), sleeper(t)
			u.sub = svcRunning
			u.service().mainPID = first.Process.Pid
			m.watchForeignMain(u, first.Process.Pid)
			watch := u.service().mainWatch
			if (watch == nil) != noPidfd {
				t.Fatalf("pidfd watch %v, want one: %v", watch, !noPidfd)
			}
			// The daemon says its main process is another one now.
			u.service().mainPID = second.Process.Pid
			m.watchForeignMain(u, second.Process.Pid)
			if watch != nil && !errors.Is(watch.Close(), os.ErrClosed) {
				t.Errorf("the first process's pidfd is still open")
			}
			// It exits, and is reaped by its parent (the test) before the manager looks.
			second.Process.Kill()
			second.Wait()
			runLoopUntil(t, m, "the exit of the second process", func() bool { return u.service().mainPID == 0 })
			if u.service().mainWatch != nil {
				t.Errorf("the watch is still there after the exit")
			}
			if u.sub == svcRunning {
				t.Errorf("the service is still running")
			}
			if first.ProcessState != nil || !procAlive(first.Process.Pid) {
				t.Errorf("the first process, no longer watched, is gone")
			}

			// The third is the manager's child: its exit is the reaper's.
			u.sub = svcRunning
			pid := third.Process.Pid
			u.service().mainPID, u.service().execMainPID = pid, pid
			m.watchForeignMain(u, pid)
			third.Process.Kill()
			// Until the manager has looked at the process as the zombie it is.
			looked := false
			for deadline := time.After(30 * time.Second); !looked; {
				select {
				case fn := <-m.loop:
					pi, ok := readProcInfo(pid)
					fn()
					looked = ok && pi.zombie
				case <-deadline:
					t.Fatal("the exit of the third process: not seen")
				}
			}
			if u.service().mainPID != pid || u.sub != svcRunning || u.service().mainWatch != nil {
				t.Fatalf("main pid %d, %s, watch %v: the exit was taken from the watch, not left to the reaper", u.service().mainPID, u.sub, u.service().mainWatch)
			}
			third.Wait()
			m.orphanExited(pid, third.ProcessState.Sys().(syscall.WaitStatus))
			if u.service().mainPID != 0 || u.service().execMainCode != "killed" {
				t.Errorf("after the reaper: main pid %d, ExecMainCode %q, want 0, killed", u.service().mainPID, u.service().execMainCode)
			}
		})
	}
}
