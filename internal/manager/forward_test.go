package manager

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/flint-init/flint/internal/logs"
)

// TestForwardedLine: a line names the unit and the pid (the unit only while the pid is not
// known); control characters but tabs are escaped, so that one line stays one line.
func TestForwardedLine(t *testing.T) {
	tests := []struct {
		line logs.Line
		want string
	}{
		{logs.Line{Unit: "a.service", Stream: "stdout", PID: 42, Text: "hello"}, "a.service[42]: hello"},
		{logs.Line{Unit: "a.service", Stream: "stderr", PID: 42, Text: "col1\tcol2"}, "a.service[42]: col1\tcol2"},
		{logs.Line{Unit: "a.service", Stream: "stdout", PID: 42, Text: "\x1b[31mred"}, `a.service[42]: \033[31mred`},
		{logs.Line{Unit: "a.service", Stream: "stdout", PID: 0, Text: "two\nlines"}, `a.service: two\nlines`},
		{logs.Line{Unit: "a:b.service", Stream: "stdout", PID: 0, Text: "no pid yet"}, "a:b.service: no pid yet"},
	}
	for _, tt := range tests {
		l := tt.line
		if got := forwardedLine(&l); got != tt.want {
			t.Errorf("forwardedLine(%+v) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

// TestForwardLogs: the units' lines reach the console in order, the manager's own messages
// (its status lines already) do not, and lines stored before the stop are all out when it
// returns, however many lines come at once.
func TestForwardLogs(t *testing.T) {
	var out strings.Builder
	m := &Manager{logs: logs.NewStore(10, ""), console: &console{out: &out, direct: true}}
	stop := m.forwardLogs()
	m.logs.Append(logs.Line{Unit: "a.service", Stream: "stdout", PID: 7, Text: "first"})
	m.logs.Append(logs.Line{Unit: "a.service", Stream: "manager", Text: "Started a.service."})
	for i := range 5000 {
		m.logs.Append(logs.Line{Unit: "b.service", Stream: "stderr", PID: 8, Text: fmt.Sprint("line ", i)})
	}
	stop()
	want := []string{"a.service[7]: first"}
	for i := range 5000 {
		want = append(want, fmt.Sprint("b.service[8]: line ", i))
	}
	if got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"); !slices.Equal(got, want) {
		t.Errorf("forwarded:\n%s\nwant the %d lines of a.service and b.service", out.String(), len(want))
	}
}
