package main

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// parseCtl reads a systemctl command line (the verb left out) as flint does, and returns
// the options and the operands.
func parseCtl(t *testing.T, args ...string) (*globals, []string) {
	t.Helper()
	g := newGlobals("flint")
	p := ctlSpec.Parse(args)
	var out bytes.Buffer
	if code, done := applyCtlOptions(g, p, &out, &out); done {
		t.Fatalf("%q: exit %d: %s", args, code, out.String())
	}
	return g, p.Operands()
}

// realTool runs the machine's systemd 252 tool under its plain name (getopt's messages start
// with argv[0]) and returns its stdout, stderr and exit code.
func realTool(t *testing.T, path, name string, args ...string) (string, string, int) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("%s is needed to compare with (Debian package systemd): %v", path, err)
	}
	cmd := exec.Command(path, args...)
	cmd.Args[0] = name
	cmd.Env = append(os.Environ(), "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", "SYSTEMD_LOG_COLOR=0")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// TestSystemctlOptionErrors compares flint's systemctl with /bin/systemctl 252 on command
// lines systemctl refuses, or answers, while reading its options, before it needs a bus:
// same stdout, stderr and exit code.
func TestSystemctlOptionErrors(t *testing.T) {
	t.Cleanup(func() { invokedAs = "flint" }) // runSystemctl names the program for messages
	for _, args := range [][]string{
		{"--bogus"}, {"--bogus=1", "start", "x"}, {"-z"}, {"start", "x", "-aqz"}, {"--no"}, {"--fai=x"},
		{"-t"}, {"list-units", "--type"}, {"--ty"}, {"-tbogus"}, {"list-units", "--type=service,bogus"},
		{"--type="}, {"--state="}, {"-t", "help"}, {"-t", "service", "-t", "help"}, {"-q", "-t", "help"},
		{"--state=help"}, {"--legend=no", "--state=help"}, {"list-units", "--state=help", "-q"},
		{"-o", "help"}, {"-obogus"}, {"-o", ""}, {"-n"}, {"status", "x", "-nabc"}, {"-n", "-1"},
		{"-s", "help"}, {"kill", "-s", "FOO", "x"}, {"--signal=99"}, {"-s", "0"}, {"-s", "sigterm"},
		{"--legend=maybe"}, {"--legend="}, {"--preset-mode=help"}, {"--preset-mode=bad"},
		{"--timestamp=help"}, {"--timestamp=x"}, {"--what=help"}, {"--what="},
		{"--check-inhibitors=bad"}, {"--full=x"}, {"-pId", "-P"}, {"-."}, {"-.swap"},
		{"--wait", "--no-block", "start", "x"}, {"--marked", "start"}, {"reload-or-restart", "--marked", "x"},
		{"--user", "-H", "x"}, {"frobnicate"}, {"--", "--bogus"}, {"-"},
		{"--root=/nonexistent", "start", "x"}, {"status", "--root=/nonexistent", "x"},
		{"--root=/nonexistent", "list-dependencies"}, {"--version", "--bogus"}, {"--bogus", "--version"},
		{"--root=/nonexistent", "help", "x"}, {"--root=/nonexistent", "edit", "x"},
		{"--root=/nonexistent", "set-property", "x", "Description=y"}, {"--root=/nonexistent", "show-environment"},
		{"--root=/nonexistent", "daemon-reexec"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			wantOut, wantErr, wantCode := realTool(t, "/bin/systemctl", "systemctl", args...)
			var out, errOut bytes.Buffer
			code := runSystemctl("systemctl", args, &out, &errOut)
			if strings.Contains(wantOut, "systemd 252") {
				wantOut = versionString + "\n"
			}
			if out.String() != wantOut || errOut.String() != wantErr || code != wantCode {
				t.Errorf("systemctl %q:\nsystemd: exit %d\n%s%s\nflint: exit %d\n%s%s", args, wantCode, wantOut, wantErr, code, out.String(), errOut.String())
			}
		})
	}
}

// TestJournalctlOptionErrors: the same for journalctl 252.
func TestJournalctlOptionErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--bogus"}, {"-z"}, {"-o", "bogus"}, {"-o", "help"}, {"-ohelp", "-u"}, {"-n", "-1"}, {"-nabc"},
		{"--lines=x"}, {"--since=x"}, {"--no"}, {"-u"}, {"--unit"}, {"-o"}, {"--fol=1"}, {"-S"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			wantOut, wantErr, wantCode := realTool(t, "/bin/journalctl", "journalctl", args...)
			var out, errOut bytes.Buffer
			g := newGlobals("journalctl")
			code := runLogs(g, args, &out, &errOut)
			if out.String() != wantOut || errOut.String() != wantErr || code != wantCode {
				t.Errorf("journalctl %q:\nsystemd: exit %d\n%s%s\nflint: exit %d\n%s%s", args, wantCode, wantOut, wantErr, code, out.String(), errOut.String())
			}
		})
	}
}
