package difftest

import (
	"fmt"
	"os"
	"testing"
)

// TestMain fails the run when a test changed what the host has at /dev/log and
// /run/systemd/journal: systemd 252 booted with journald's socket units (sysinit.target of
// the machine's unit path) links /dev/log from its namespace, which shares the host's /dev.
func TestMain(m *testing.M) {
	before := hostJournalState()
	code := m.Run()
	if after := hostJournalState(); after != before {
		fmt.Fprintf(os.Stderr, "difftest: a test changed the host's journal sockets (%s, was %s): a systemd booted with journald's socket units\n", after, before)
		code = 1
	}
	os.Exit(code)
}

// hostJournalState is what the host has at /dev/log and /run/systemd/journal.
func hostJournalState() string {
	link, err := os.Readlink("/dev/log")
	if err != nil {
		link = err.Error()
	}
	_, err = os.Lstat("/run/systemd/journal")
	return fmt.Sprintf("/dev/log -> %q, /run/systemd/journal exists: %v", link, err == nil)
}
