package manager

import (
	"fmt"
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

func failureResult(ws syscall.WaitStatus) Result {
	switch {
	case ws.Signaled() && ws.CoreDump():
		return resultCoreDump
	case ws.Signaled():
		return resultSignal
	}
	return resultExitCode
}
