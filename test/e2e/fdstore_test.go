package e2e

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// fdstoreVerb makes the test binary act as a service that fills its fd store (see TestMain):
//
//	e2e.test __e2e_fdstore COUNT
//
// Started without LISTEN_FDS it opens /dev/null COUNT times (COUNT different open files) and
// stores them with FDSTORE=1, the first half as FDNAME=a, the rest as FDNAME=b. Started with
// LISTEN_FDS (its store given back) it stores the descriptors it got once more, as a daemon
// that re-stores what it received does. Then it sends READY=1, and at SIGUSR1 FDSTOREREMOVE=1
// FDNAME=b; it runs until SIGTERM.
const fdstoreVerb = "__e2e_fdstore"

func fdstoreMain(args []string) int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "fdstore:", err)
		return 1
	}
	if len(args) != 1 {
		return fail(fmt.Errorf("usage: %s COUNT", fdstoreVerb))
	}
	count, err := strconv.Atoi(args[0])
	if err != nil {
		return fail(err)
	}
	sock, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fail(err)
	}
	addr := os.Getenv("NOTIFY_SOCKET")
	if addr != "" && addr[0] == '@' {
		addr = "\x00" + addr[1:]
	}
	to := &syscall.SockaddrUnix{Name: addr}
	send := func(msg string, fds []int) error {
		var oob []byte
		if len(fds) > 0 {
			oob = syscall.UnixRights(fds...)
		}
		return syscall.Sendmsg(sock, []byte(msg), oob, to, 0)
	}
	// storeAll sends fds in datagrams of at most 250 (the kernel passes 253 at the most).
	storeAll := func(name string, fds []int) error {
		for len(fds) > 0 {
			n := min(len(fds), 250)
			if err := send("FDSTORE=1\nFDNAME="+name, fds[:n]); err != nil {
				return err
			}
			fds = fds[n:]
		}
		return nil
	}
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	if n, err := strconv.Atoi(os.Getenv("LISTEN_FDS")); err == nil && n > 0 {
		fds := make([]int, n)
		for i := range fds {
			fds[i] = 3 + i
		}
		if err := storeAll("again", fds); err != nil {
			return fail(err)
		}
	} else {
		fds := make([]int, count)
		for i := range fds {
			fd, err := syscall.Open("/dev/null", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
			if err != nil {
				return fail(err)
			}
			fds[i] = fd
		}
		if err := storeAll("a", fds[:count/2]); err != nil {
			return fail(err)
		}
		if err := storeAll("b", fds[count/2:]); err != nil {
			return fail(err)
		}
		for _, fd := range fds {
			syscall.Close(fd)
		}
	}
	if err := send("READY=1", nil); err != nil {
		return fail(err)
	}
	for range usr1 {
		if err := send("FDSTOREREMOVE=1\nFDNAME=b", nil); err != nil {
			return fail(err)
		}
	}
	return 0
}

// TestFDStoreClosed: a service stores 1000 fds, again and again. The manager closes the store
// when the service stops (inactive, no job), keeps it across a restart without storing the
// fds the service gives back twice, and closes the fds FDSTOREREMOVE=1 names: its own fd
// count follows, and comes back to where it was after every stop. The manager runs with
// GOGC=off, so that no garbage collection closes a forgotten file for it.
func TestFDStoreClosed(t *testing.T) {
	const count = 1000
	units := writeUnits(t, map[string]string{
		"store.service": unitFile("Service", fmt.Sprintf("Type=notify\nFileDescriptorStoreMax=%d\nLimitNOFILE=4096\nExecStart=%s %s %d",
			count, selfBin, fdstoreVerb, count)),
	})
	m := launchManager(t, units, launchOptions{env: append(os.Environ(), "GOGC=off"), stopWait: 10 * time.Second})
	c := on(t, m)
	pid := m.cmd.Process.Pid
	base := fdCount(t, pid)
	// The descriptors the manager opens at its first start of a service and keeps: /dev/null
	// for standard input, its client socket to its own notify socket (notifysync.go); while
	// the service runs, also the read end of its output pipe.
	const slack, running = 2, 3
	for round := 0; round < 3; round++ {
		c.start("store.service")
		c.waitProps("store.service", map[string]string{"NFileDescriptorStore": strconv.Itoa(count)})
		if n := fdCount(t, pid); n < base+count {
			t.Fatalf("round %d: the manager has %d fds with %d stored, %d before", round, n, count, base)
		}
		// A restart gives the store back to the service, which stores it again: nothing new.
		c.run(0, "restart", "store.service")
		c.waitProps("store.service", map[string]string{"ActiveState": "active", "NFileDescriptorStore": strconv.Itoa(count)})
		// (Upper bounds are waited for: a control connection just answered may still be open.)
		var n int
		if !waitFor(5*time.Second, func() bool { n = fdCount(t, pid); return n <= base+count+running }) {
			t.Errorf("round %d: the manager has %d fds after the restart, %d before the first start: the store holds duplicates", round, n, base)
		}
		c.run(0, "kill", "-s", "USR1", "store.service")
		c.waitProps("store.service", map[string]string{"NFileDescriptorStore": strconv.Itoa(count / 2)})
		if !waitFor(5*time.Second, func() bool { n = fdCount(t, pid); return n <= base+count/2+running }) {
			t.Errorf("round %d: the manager has %d fds after FDSTOREREMOVE=1 of half the store, %d before the first start", round, n, base)
		}
		c.run(0, "stop", "store.service")
		c.waitState("store.service", "inactive/dead")
		if !waitFor(10*time.Second, func() bool { n = fdCount(t, pid); return n <= base+slack }) {
			t.Fatalf("round %d: the manager holds %d fds after the stop, %d before the first start", round, n, base)
		}
		if got := c.prop("store.service", "NFileDescriptorStore"); got != "0" {
			t.Errorf("round %d: NFileDescriptorStore=%s after the stop, want 0", round, got)
		}
	}
}
