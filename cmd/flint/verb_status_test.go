package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/flint-init/flint/client"
)

// TestPrintStatusEscapes: whatever a unit file or a process gives status to print (the
// Description=, drop-in paths, Listen=, STATUS=, the command line) comes out with its
// control characters escaped; a log line that is no printable text is "[N blob data]", as
// journalctl shows it, and one with a tab keeps it.
func TestPrintStatusEscapes(t *testing.T) {
	esc := "\x1b]0;pwned\x07\x1b[2J"
	st := client.UnitStatus{
		Name: "h.service",
		Props: []client.Property{
			{Name: "Description", Value: "desc" + esc},
			{Name: "LoadState", Value: "loaded"},
			{Name: "FragmentPath", Value: "/etc/flint/h.service"},
			{Name: "DropInPaths", Value: "/etc/flint/h.service.d/" + esc + ".conf"},
			{Name: "ActiveState", Value: "active"},
			{Name: "SubState", Value: "running"},
			{Name: "Listen", Value: "/run/" + esc + " (Stream)"},
			{Name: "MainPID", Value: "42"},
			{Name: "StatusText", Value: "status" + esc},
			{Name: "TasksCurrent", Value: "1"},
		},
		Processes: []client.Process{{PID: 42, Command: "/bin/sh -c " + esc}},
		Logs: []client.LogLine{{Time: time.Now(), Unit: "h.service", PID: 42, Ident: "sh", Text: "out\t" + esc},
			{Time: time.Now(), Unit: "h.service", PID: 42, Ident: "sh", Text: "tab\tkept"}},
	}
	var b bytes.Buffer
	printStatus(&b, st, false)
	out := b.String()
	if strings.ContainsAny(out, "\x1b\x07") {
		t.Fatalf("status printed an escape sequence:\n%q", out)
	}
	for _, want := range []string{`desc\033]0;pwned\a\033[2J`, `Status: "status\033]0;pwned\a\033[2J"`, " sh[42]: [18B blob data]\n", " sh[42]: tab\tkept\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}
