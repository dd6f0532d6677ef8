package difftest

import (
	"fmt"
	"os"
	"testing"

	"github.com/flint-init/flint/internal/testproc"
)

// TestMain fails the run when a test changed what the host has at /dev/log and
// /run/systemd/journal: systemd 252 booted with journald's socket units (sysinit.target of
// the machine's unit path) links /dev/log from its namespace, which shares the host's /dev.
func TestMain(m *testing.M) {
	before := testproc.HostJournalState()
	code := m.Run()
	if after := testproc.HostJournalState(); after != before {
		fmt.Fprintf(os.Stderr, "difftest: a test changed the host's journal sockets (%s, was %s): a systemd booted with journald's socket units\n", after, before)
		code = 1
	}
	os.Exit(code)
}
