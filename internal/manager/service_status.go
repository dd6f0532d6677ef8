package manager

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/flint-init/flint/internal/spawn"
	"github.com/flint-init/flint/unit"
)

// How a process ended, in systemd's terms: code/status pairs, clean exits, results.

// waitCode turns a wait status into systemd's code/status pair.
func waitCode(ws syscall.WaitStatus) (string, int) {
	switch {
	case ws.Exited():
		return "exited", ws.ExitStatus()
	case ws.Signaled() && ws.CoreDump():
		return "dumped", int(ws.Signal())
	case ws.Signaled():
		return "killed", int(ws.Signal())
	}
	return "exited", 0
}

func statusString(code string, status int) string {
	if code == "exited" {
		if n := spawn.ExitStatusName(status); n != "" {
			return fmt.Sprintf("%d/%s", status, n)
		}
		return strconv.Itoa(status)
	}
	return fmt.Sprintf("%d/%s", status, signalName(syscall.Signal(status)))
}

func signalName(s syscall.Signal) string {
	n := unixSignalName(s)
	if n == "" {
		return strconv.Itoa(int(s))
	}
	return strings.TrimPrefix(n, "SIG")
}

// cleanExit: exit 0, SuccessExitStatus=, or (not oneshot) SIGHUP/SIGINT/SIGTERM/SIGPIPE.
func (m *Manager) cleanExit(cfg *unit.ServiceSection, ws syscall.WaitStatus) bool {
	if ws.Exited() {
		if ws.ExitStatus() == 0 {
			return true
		}
		for _, c := range cfg.SuccessExitStatus.Codes {
			if c == ws.ExitStatus() {
				return true
			}
		}
		return false
	}
	if ws.Signaled() {
		for _, sg := range cfg.SuccessExitStatus.Signals {
			if sg == ws.Signal() {
				return true
			}
		}
		if cfg.Type != unit.Oneshot {
			switch ws.Signal() {
			case syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM, syscall.SIGPIPE:
				return true
			}
		}
	}
	return false
}

func failureResult(ws syscall.WaitStatus) string {
	switch {
	case ws.Signaled() && ws.CoreDump():
		return "core-dump"
	case ws.Signaled():
		return "signal"
	}
	return "exit-code"
}

// maxPIDFile bounds how much of a PID file is read; only its first line counts.
const maxPIDFile = 4096

// readPIDFile reads the pid a PID file names. The file is often written by the service, whose
// author could make it a FIFO (an open(2) that never returns would stop the manager) or a
// link to /dev/zero: only a regular file is read, opened without blocking, and at most
// maxPIDFile bytes of it.
func readPIDFile(path string) (int, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		return 0, err
	} else if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("PID file %s: not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPIDFile))
	if err != nil {
		return 0, err
	}
	pid, ok := parsePIDFile(data)
	if !ok {
		return 0, fmt.Errorf("PID file %s: invalid content", path)
	}
	if err := syscall.Kill(pid, 0); err != nil && err != syscall.EPERM {
		return 0, fmt.Errorf("PID %d read from file %s does not exist or is a zombie", pid, path)
	}
	return pid, nil
}

// parsePIDFile reads a PID file's content as systemd does (read_one_line_file, parse_pid):
// the first line holds the pid, a decimal number above 0 in pid_t's range (white space
// around it is allowed).
func parsePIDFile(data []byte) (int, bool) {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	pid, err := strconv.ParseInt(strings.TrimSpace(string(line)), 10, 32)
	if err != nil || pid <= 0 {
		return 0, false
	}
	return int(pid), true
}
