// Package testproc holds what the tests that run real processes (test/e2e, test/soak) share:
// waiting for a condition, and finding the processes that run a given executable.
package testproc

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// WaitFor polls cond every 20ms until it is true or timeout passes, and reports whether it
// became true.
func WaitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// PidsOf lists the processes whose executable is path (a test's own copy of a program, so
// that they are the test's). A zombie (exited, not yet reaped) has no executable any more
// and is not listed.
func PidsOf(path string) []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == path {
			pids = append(pids, pid)
		}
	}
	return pids
}

// HostJournalState is what the host has at /dev/log and /run/systemd/journal: a test run
// compares it before and after (a manager or a booted systemd serving journald's sockets
// outside a private mount namespace changes it).
func HostJournalState() string {
	link, err := os.Readlink("/dev/log")
	if err != nil {
		link = err.Error()
	}
	_, err = os.Lstat("/run/systemd/journal")
	return fmt.Sprintf("/dev/log -> %q, /run/systemd/journal exists: %v", link, err == nil)
}
