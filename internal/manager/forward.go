package manager

import (
	"strconv"
	"strings"
	"time"

	"github.com/flint-init/flint/internal/logs"
	"github.com/flint-init/flint/unit"
)

// forwardDrain bounds how long the manager's end waits for the readers of its units' pipes
// to store what is left in them, so that it is copied too.
const forwardDrain = 2 * time.Second

// forwardLogs starts copying the units' log lines to the console (Options.ForwardLogs: a
// container runtime shows flint run's output as the container's log) and returns what stops
// it once the lines left in the units' pipes are copied. Each line is handed to the
// console's backlog as it is stored, in the store's order: a service's output never waits
// for flint run's, and no line is lost on the way; when nobody reads flint run's output the
// lines beyond the backlog are dropped there, and said so. A line is "UNIT[PID]: TEXT", or
// "UNIT: TEXT" while the pid is not known (docs/compatibility.md). The manager's own
// messages about units are not copied: the console has them as status lines already.
func (m *Manager) forwardLogs() (stop func()) {
	cancel := m.logs.FollowFunc(func(l *logs.Line) {
		if l.Stream != "manager" {
			m.console.line(forwardedLine(l))
		}
	})
	return func() {
		m.logs.Drain(forwardDrain)
		cancel()
	}
}

// forwardedLine is l as flint run prints it: control characters but tabs escaped, as `flint
// logs` prints text.
func forwardedLine(l *logs.Line) string {
	parts := strings.Split(l.Text, "\t")
	for i, p := range parts {
		parts[i] = unit.Printable(p)
	}
	text := strings.Join(parts, "\t")
	if l.PID > 0 {
		return l.Unit + "[" + strconv.Itoa(l.PID) + "]: " + text
	}
	return l.Unit + ": " + text
}
