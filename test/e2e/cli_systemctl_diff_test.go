package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/difftest"
)

// TestCLIMatchesSystemctl runs the same command lines, in the same order, against the
// machine's real systemd 252 (booted in private namespaces by internal/difftest) and against
// flint, on the same unit files, and compares what the user sees: the output (systemctl's
// and journalctl's names replaced by flint's) and the exit code.
func TestCLIMatchesSystemctl(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("booting systemd needs root")
	}
	if _, err := os.Stat(difftest.SystemdBinary); err != nil {
		t.Skipf("no %s", difftest.SystemdBinary)
	}
	work := t.TempDir()
	units := filepath.Join(work, "units")
	os.MkdirAll(units, 0o755)
	nd := "[Unit]\nDefaultDependencies=no\n"
	webSock := filepath.Join("/tmp", "flint-cli-diff-"+strconv.Itoa(os.Getpid())+".sk")
	t.Cleanup(func() {
		os.Remove(webSock)
		os.Remove(webSock + ".seq")
		os.Remove("/run/flint-cli-diff-" + strconv.Itoa(os.Getpid()))
	})
	files := map[string]string{
		"ok.service":      "[Unit]\nDescription=A sleeper\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\nExecReload=/bin/true\n",
		"plain.service":   nd + "[Service]\nExecStart=/bin/sleep 1000\n",
		"fail.service":    nd + "[Service]\nType=oneshot\nExecStart=/bin/false\n",
		"sig.service":     nd + "[Service]\nType=oneshot\nExecStart=/bin/sh -c 'kill -KILL $$$$'\n",
		"dep.service":     "[Unit]\nDefaultDependencies=no\nRequires=fail.service\nAfter=fail.service\n[Service]\nExecStart=/bin/sleep 1000\n",
		"refuse.service":  "[Unit]\nDefaultDependencies=no\nRefuseManualStart=yes\n[Service]\nExecStart=/bin/sleep 1000\n",
		"tmpl@.service":   nd + "[Service]\nExecStart=/bin/sleep 1000\n",
		"trap.service":    nd + "[Service]\nExecStart=/bin/sleep 1000\n",
		"starter.service": nd + "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n",
		// systemd's /tmp is private to its namespaces: the same path is a different file.
		"web.socket":   "[Unit]\nDescription=Web socket\nDefaultDependencies=no\n[Socket]\nListenStream=" + webSock + "\nListenSequentialPacket=" + webSock + ".seq\n",
		"web.service":  nd + "[Service]\nExecStart=/bin/sleep 1000\n",
		"late.timer":   "[Unit]\nDescription=Late timer\nDefaultDependencies=no\n[Timer]\nOnActiveSec=1h\n",
		"late.service": nd + "[Service]\nType=oneshot\nExecStart=/bin/true\n",
		"orphan.timer": nd + "[Timer]\nOnActiveSec=1h\nUnit=gone.service\n",
		// systemd's /run is private to its namespaces: the same path is a different file.
		"watch.path":    "[Unit]\nDescription=Spool watcher\nDefaultDependencies=no\n[Path]\nDirectoryNotEmpty=/run/flint-cli-diff-" + strconv.Itoa(os.Getpid()) + "\nMakeDirectory=yes\n",
		"watch.service": nd + "[Service]\nType=oneshot\nExecStart=/bin/true\n",
		"nopath.path":   nd + "[Path]\nMakeDirectory=yes\n",
	}
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(units, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/dev/null", filepath.Join(units, "masked.service")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sd, err := difftest.Boot(ctx, work, units+":")
	if err != nil {
		t.Fatalf("boot systemd: %v", err)
	}
	defer sd.Stop()
	m := startManager(t, units)

	systemctl := func(args ...string) (string, int) {
		full := append([]string{"-t", strconv.Itoa(sd.Pid), "-m", "-p", "-u", "systemctl", "--no-pager"}, args...)
		cmd := exec.CommandContext(ctx, "nsenter", full...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.Run()
		return out.String(), cmd.ProcessState.ExitCode()
	}
	journal := regexp.MustCompile(`"journalctl -xeu (\S+)"`)
	normalise := func(s string) string {
		s = journal.ReplaceAllString(s, `"flint logs -u $1"`)
		s = strings.ReplaceAll(s, "'journalctl -xe'", "'flint logs'")
		s = strings.ReplaceAll(s, `"journalctl -xe"`, `"flint logs"`)
		return strings.ReplaceAll(s, "systemctl", "flint")
	}
	// Times and pids differ between the two; everything else must not. (systemd unloads an
	// inactive unit nothing references, forgetting its runtime state; flint keeps it, so
	// properties are compared while the units are still loaded in both.)
	for _, args := range [][]string{
		{"start", "ok"},
		{"show", "ok", "-p", "MainPID,ExecMainPID,ActiveState,SubState,StatusText,UnitFileState"},
		{"show", "ok", "-p", "MainPID", "--value"},
		{"is-active", "ok", "plain", "nope"},
		{"start", "fail"},
		{"show", "fail", "-p", "Result,ExecMainCode,ExecMainStatus,ActiveState,SubState,NRestarts,LoadState"},
		{"start", "sig"},
		{"start", "dep"},
		{"start", "nope"},
		{"stop", "nope"},
		{"restart", "nope"},
		{"try-restart", "nope"},
		{"reload-or-restart", "nope"},
		{"start", "masked"},
		{"stop", "masked"},
		{"start", "refuse"},
		{"reload", "plain"},
		{"reload", "ok"},
		{"start", "plain", "nope", "fail"},
		{"start", "tmpl@.service"},
		{"start", "tmpl@one.service"},
		// a template names no unit object: these stop at it
		{"show", "-p", "Id", "tmpl@.service", "ok"},
		{"is-active", "tmpl@.service", "tmpl@one.service"},
		{"is-failed", "tmpl@"},
		{"status", "tmpl@.service", "-n", "0"},
		{"start", "starter"},
		{"is-active", "starter", "fail", "dep"},
		{"is-failed", "ok", "fail"},
		{"is-failed", "ok"},
		{"is-active", "-q", "fail"},
		{"status", "fail", "-n", "0"},
		{"kill", "nope"},
		{"kill", "-s", "FOO", "ok"},
		{"kill", "--kill-whom=control", "ok"},
		{"kill", "-s", "KILL", "trap"},
		{"reset-failed", "nope"},
		{"reset-failed", "fail"},
		{"is-failed", "fail"},
		{"list-units", "--type=service", "--state=failed"},
		{"list-units", "--type=service", "--state=active", "--no-legend"},
		{"stop", "ok"},
		{"reload", "ok"},
		{"restart", "fail"},
		{"try-restart", "plain"},
		{"reload-or-restart", "plain"},
		{"kill", "starter"},
		{"start"},
		{"is-active"},
		{"list-jobs"},
		{"is-system-running"},
		{"reset-failed"},
		{"is-system-running"},
		{"start", "web.socket"},
		{"list-sockets"},
		{"list-sockets", "--show-types", "--no-legend"},
		{"list-units", "--type=socket"},
		{"is-active", "web.socket", "web.service"},
		{"kill", "--kill-whom=main", "web.socket"},
		{"stop", "web.socket"},
		{"list-sockets"},
		{"status", "nope"},
		{"status", "masked"},
		{"list-timers"},
		{"start", "late.timer"},
		{"status", "late.timer", "-n", "0"},
		{"show", "late.timer", "-p", "Unit,Result,ActiveState,SubState,AccuracyUSec,RemainAfterElapse,Triggers"},
		{"is-active", "late.timer", "late.service"},
		{"start", "orphan.timer"},
		{"is-failed", "orphan.timer"},
		{"stop", "late.timer"},
		{"list-timers", "--all", "late*"},
		{"list-timers", "--no-legend"},
		{"start", "watch.path"},
		{"status", "watch.path", "-n", "0"},
		{"show", "watch.path", "-p", "Unit,Result,ActiveState,SubState,MakeDirectory,DirectoryMode,TriggerLimitBurst"},
		{"start", "nopath.path"},
		{"stop", "watch.path"},
		{"is-active", "watch.path"},
		// options before the verb, after it, between the units; combined, attached, abbreviated
		{"-q", "is-active", "ok"},
		{"is-active", "ok", "-q"},
		{"is-active", "ok", "--quiet", "nope"},
		{"start", "ok", "--no-block"},
		{"--no-block", "-q", "start", "plain", "ok"},
		{"is-failed", "fail", "-q"},
		{"show", "-pId", "ok", "--value"},
		{"show", "ok", "-P", "ActiveState"},
		{"-p", "Id,ActiveState", "show", "ok", "plain"},
		{"--prop=SubState", "show", "ok"},
		{"show", "ok", "-p", "Id", "-p", "LoadState"},
		{"list-units", "-t", "service", "--state=active", "--no-legend", "ok*"},
		{"list-units", "ok*", "-tservice", "--legend=no"},
		{"-aq", "list-units", "ok*", "plain*"},
		{"list-units", "plain*", "--all", "-q"},
		{"list-units", "--failed", "--no-legend"},
		{"list-units", "--type=bogus"},
		{"list-units", "-t", "help"},
		{"--state=help"},
		{"list-units", "--state=active,bogus", "--plain", "--no-legend", "ok*"},
		{"status", "-n0", "fail"},
		{"status", "fail", "--lines=0", "-l", "--no-pager"},
		{"kill", "ok", "-s", "CONT"},
		{"kill", "--signal=SIGCONT", "--kill-who=main", "ok"},
		{"kill", "-sRTMIN+1", "nope"},
		{"kill", "--signal=0", "ok"},
		{"start", "--", "ok"},
		{"-n", "5", "status", "--", "nope"},
		{"--bogus", "start", "ok"},
		{"start", "ok", "-Z"},
		{"start", "--type"},
		{"reload-or-restart", "--marked", "ok"},
		{"--wait", "--no-block", "start", "ok"},
		{"--root=/tmp", "start", "ok"},
		{"status", "ok", "--root=/tmp"},
		{"is-system-running", "-q"},
		{"stop", "ok", "plain", "--no-block", "-q"},
		{"frobnicate"},
	} {
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			want, wantCode := systemctl(args...)
			got, gotCode := m.flint(args...)
			if args[0] == "status" || args[0] == "show" {
				want, got = systemctlVariable.ReplaceAllString(want, "X"), systemctlVariable.ReplaceAllString(got, "X")
			}
			got = strings.ReplaceAll(got, flintBin, "flint") // getopt names the program as invoked
			if normalise(want) != got || wantCode != gotCode {
				t.Errorf("systemctl %s: exit %d\n%s\nflint: exit %d\n%s", strings.Join(args, " "), wantCode, want, gotCode, got)
			}
		})
	}
	// The file verbs, offline on the same unit directory.
	for _, args := range [][]string{
		{"is-enabled", "web.service", "-l"},
		{"--full", "--no-ask-password", "is-enabled", "web.service", "masked.service"},
		{"is-enabled", "-q", "web.service"},
		{"list-unit-files", "web.*", "--no-legend", "-t", "socket"},
		{"-q", "list-unit-files", "web.*", "fail.*"},
		{"list-unit-files", "nope.*"},
	} {
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			want, wantCode := systemctl(args...)
			got, gotCode := runFlint(t, append([]string{"--units", units}, args...)...)
			if want != got || wantCode != gotCode {
				t.Errorf("systemctl %s: exit %d\n%s\nflint: exit %d\n%s", strings.Join(args, " "), wantCode, want, gotCode, got)
			}
		})
	}
	t.Run("list-unit-files", func(t *testing.T) {
		want, wantCode := systemctl("list-unit-files", "web.*", "fail.*", "masked.*", "tmpl@*")
		got, gotCode := runFlint(t, "--units", units, "list-unit-files", "web.*", "fail.*", "masked.*", "tmpl@*")
		if want != got || wantCode != gotCode {
			t.Errorf("systemctl list-unit-files: exit %d\n%s\nflint: exit %d\n%s", wantCode, want, gotCode, got)
		}
	})
}
