package difftest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// JournalMasks are the journald socket units that reach outside the namespaces (the
// /dev/log symlink in the host's /dev, the kernel's audit netlink): a units directory whose
// systemd runs StartJournal must mask them (MaskJournalSockets).
var JournalMasks = []string{"systemd-journald-dev-log.socket", "systemd-journald-audit.socket"}

// MaskJournalSockets writes JournalMasks into units (links to /dev/null), the directory
// that comes first in the unit path given to Boot.
func MaskJournalSockets(units string) error {
	for _, n := range JournalMasks {
		if err := os.Symlink("/dev/null", filepath.Join(units, n)); err != nil && !os.IsExist(err) {
			return err
		}
	}
	return nil
}

// StartJournal starts systemd-journald in the namespaces, its journal in a tmpfs of their
// own (over /var/log, which the host keeps), and has PID 1 log to it as on a booted system:
// journalctl inside then shows what systemd logs about units and what their processes
// write. Boot must have been given systemd's own unit path (a trailing ':'), with the
// journald sockets of JournalMasks masked (MaskJournalSockets).
func (s *Systemd) StartJournal(ctx context.Context) error {
	if err := s.nsenter(ctx, "sh", "-c", "mount -t tmpfs -o mode=0755 tmpfs /var/log && mkdir -m 2755 /var/log/journal"); err != nil {
		return fmt.Errorf("start journal: %w", err)
	}
	if _, err := s.Systemctl(ctx, "start", "systemd-journald.socket", "systemd-journald.service"); err != nil {
		return fmt.Errorf("start journal: %w", err)
	}
	if _, err := s.Systemctl(ctx, "log-target", "journal"); err != nil {
		return fmt.Errorf("start journal: %w", err)
	}
	return nil
}

func (s *Systemd) nsenter(ctx context.Context, args ...string) error {
	full := append([]string{"-t", strconv.Itoa(s.Pid), "-m", "-p", "-u"}, args...)
	out, err := exec.CommandContext(ctx, "nsenter", full...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// Journalctl runs journalctl with args inside the namespaces (its journal: StartJournal)
// and returns what it printed (standard output, then standard error) and its exit code.
func (s *Systemd) Journalctl(ctx context.Context, args ...string) (stdout, stderr string, code int) {
	full := append([]string{"-t", strconv.Itoa(s.Pid), "-m", "-p", "-u", "journalctl", "--no-pager"}, args...)
	cmd := exec.CommandContext(ctx, "nsenter", full...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.Run()
	return o.String(), e.String(), cmd.ProcessState.ExitCode()
}
