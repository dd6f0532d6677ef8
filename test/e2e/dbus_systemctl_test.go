package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// systemdSystemctl is systemd 252's own systemctl, which speaks D-Bus to the manager.
const systemdSystemctl = "/bin/systemctl"

// systemctlVariable is what differs between two runs of systemctl status or show: times and
// every number of two digits or more (pids, sizes).
var systemctlVariable = regexp.MustCompile(`since .*; .* ago|\b\d{2,}\b`)

// statusOnly is what systemctl status reads elsewhere than from the manager: the journal
// (flint's log lines are flint's), and the processes, which it shows under the unit's control
// group (flint's units have none). flint's built-in status leaves out the task limit, which
// systemctl prints from TasksMax. The main process's name is each client's own look at
// /proc: right after a start it may still be flint's spawn shim for one and the program for
// the other.
var statusOnly = regexp.MustCompile(`(?m)^\s+[└├│].*\n|^\n(.*\n)*| \(limit: X\)|(Main PID: X) \(\S+\)`)

// maskSystemctl blanks what differs from run to run, or from client to client, in the output
// of a systemctl (or flint) verb: systemctlVariable in status and show, statusOnly in status.
func maskSystemctl(verb, out string) string {
	if verb == "status" || verb == "show" {
		out = systemctlVariable.ReplaceAllString(out, "X")
	}
	if verb == "status" {
		out = statusOnly.ReplaceAllString(out, "$2")
	}
	return out
}

// TestDBusSystemctl: systemd's own systemctl drives flint over D-Bus (/run/systemd/private, in
// a private mount namespace where flint is the booted manager) and shows what flint's
// built-in systemctl shows for the same commands on an identical manager: the same output
// (times, pids and the program's name aside) and exit codes.
func TestDBusSystemctl(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a private mount namespace needs root")
	}
	if _, err := os.Stat(systemdSystemctl); err != nil {
		t.Skipf("no %s", systemdSystemctl)
	}
	nd := "[Unit]\nDefaultDependencies=no\n"
	files := map[string]string{
		"ok.service":      "[Unit]\nDescription=A sleeper\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\nExecReload=/bin/true\n[Install]\nWantedBy=multi-user.target\n",
		"plain.service":   nd + "[Service]\nExecStart=/bin/sleep 1000\n",
		"fail.service":    nd + "[Service]\nType=oneshot\nExecStart=/bin/false\n",
		"dep.service":     "[Unit]\nDefaultDependencies=no\nRequires=fail.service\nAfter=fail.service\n[Service]\nExecStart=/bin/sleep 1000\n",
		"refuse.service":  nd + "RefuseManualStart=yes\n[Service]\nExecStart=/bin/sleep 1000\n",
		"starter.service": nd + "[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n",
		"late.timer":      "[Unit]\nDescription=Late timer\nDefaultDependencies=no\n[Timer]\nOnActiveSec=1h\n",
		"late.service":    nd + "[Service]\nType=oneshot\nExecStart=/bin/true\n",
		"noinst.service":  nd + "[Service]\nExecStart=/bin/sleep 1000\n",
		"inst@.service":   nd + "[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=multi-user.target\n",
	}
	// Two managers on identical unit directories: one for each systemctl.
	unitsA, unitsB := writeUnits(t, files), writeUnits(t, files)
	for _, d := range []string{unitsA, unitsB} {
		if err := os.Symlink("/dev/null", filepath.Join(d, "masked.service")); err != nil {
			t.Fatal(err)
		}
	}
	a := startManager(t, unitsA)
	holder := privateRun(t)
	b := launchManager(t, unitsB, launchOptions{booted: true, stopWait: 10 * time.Second,
		wrap: []string{"nsenter", "-t", strconv.Itoa(holder), "-m"}})
	if !waitFor(10*time.Second, func() bool {
		return exec.Command("nsenter", "-t", strconv.Itoa(holder), "-m", "test", "-S", "/run/systemd/private").Run() == nil
	}) {
		t.Fatal("no /run/systemd/private in the manager's namespace")
	}
	systemctl := func(args ...string) (string, int) {
		full := append([]string{"-t", strconv.Itoa(holder), "-m", systemdSystemctl, "--no-pager"}, args...)
		cmd := exec.Command("nsenter", full...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		cmd.Run()
		return out.String(), cmd.ProcessState.ExitCode()
	}
	journal := regexp.MustCompile(`"journalctl -xeu (\S+)"`)
	normalise := func(s string) string {
		s = strings.ReplaceAll(s, unitsB, unitsA)
		s = journal.ReplaceAllString(s, `"flint logs -u $1"`)
		s = strings.ReplaceAll(s, "'journalctl -xe'", "'flint logs'")
		s = strings.ReplaceAll(s, `"journalctl -xe"`, `"flint logs"`)
		s = strings.ReplaceAll(s, "systemctl", "flint")
		// The no-installation-config warning names systemctl in both.
		s = strings.ReplaceAll(s, "using flint.", "using systemctl.")
		return strings.ReplaceAll(s, "scripted flint call", "scripted systemctl call")
	}
	for _, args := range [][]string{
		{"start", "ok"},
		{"show", "ok", "-p", "MainPID,ExecMainPID,ActiveState,SubState,StatusText,UnitFileState,Id,Names,Description,LoadState"},
		{"show", "ok", "-p", "MainPID", "--value"},
		{"show", "ok", "-p", "ExecStart,Restart,Type,TimeoutStartUSec,RestartUSec,KillMode,KillSignal,NRestarts,UMask,LimitNOFILE"},
		{"status", "ok", "-n", "0"},
		{"is-active", "ok", "plain", "nope"},
		{"start", "fail"},
		{"show", "fail", "-p", "Result,ExecMainCode,ExecMainStatus,ActiveState,SubState,NRestarts,LoadState"},
		{"status", "fail", "-n", "0"},
		{"start", "dep"},
		{"start", "nope"},
		{"stop", "nope"},
		{"restart", "nope"},
		{"start", "masked"},
		{"start", "refuse"},
		{"reload", "plain"},
		{"reload", "ok"},
		{"start", "plain", "nope", "fail"},
		{"start", "starter"},
		{"is-active", "starter", "fail", "dep"},
		{"is-failed", "ok", "fail"},
		{"list-units"},
		{"list-units", "--all", "--type=service"},
		{"list-units", "--type=service", "--state=failed"},
		{"list-units", "--failed", "--no-legend"},
		{"list-units", "ok*", "plain*", "--all"},
		{"kill", "nope"},
		{"kill", "--kill-whom=control", "ok"},
		{"reset-failed", "nope"},
		{"reset-failed", "fail"},
		{"is-failed", "fail"},
		{"stop", "ok"},
		{"try-restart", "plain"},
		{"reload-or-restart", "plain"},
		{"restart", "starter"},
		{"list-jobs"},
		{"start", "late.timer"},
		{"status", "late.timer", "-n", "0"},
		{"show", "late.timer", "-p", "Unit,Result,ActiveState,SubState,AccuracyUSec,RemainAfterElapse,Triggers"},
		{"stop", "late.timer"},
		{"enable", "ok"},
		{"is-enabled", "ok"},
		{"is-enabled", "ok", "plain", "-l"},
		{"show", "ok", "-p", "LoadError,UnitFileState"},
		{"show", "masked", "-p", "LoadState,LoadError,UnitFileState"},
		{"show", "nope", "-p", "LoadState,LoadError,UnitFileState"},
		{"show", "inst@.service"},
		{"daemon-reload"},
		{"status", "ok", "-n", "0"},
		{"disable", "ok"},
		{"enable", "noinst"},
		{"enable", "nope"},
		{"mask", "plain"},
		{"unmask", "plain"},
		{"daemon-reload"},
		{"show-environment"},
		{"set-environment", "FOO=bar"},
		{"show-environment"},
		{"unset-environment", "FOO"},
		{"get-default"},
		{"is-system-running"},
		{"list-unit-files", "ok*", "fail*", "masked*"},
		{"reenable", "ok"},
		{"preset", "ok"},
		{"daemon-reexec"},
		{"set-property", "ok", "Description=Renamed sleeper"},
		{"show", "ok", "-p", "Description"},
		{"set-property", "ok", "CPUWeight=50"},
		{"set-property", "nope", "Description=x"},
		{"stop", "ok", "plain", "--no-block", "-q"},
	} {
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			want, wantCode := systemctl(args...)
			got, gotCode := a.flint(args...)
			want, got = normalise(want), strings.ReplaceAll(got, flintBin, "flint")
			want, got = maskSystemctl(args[0], want), maskSystemctl(args[0], got)
			if want != got || wantCode != gotCode {
				t.Errorf("systemd's systemctl %s: exit %d\n%s\nflint: exit %d\n%s", strings.Join(args, " "), wantCode, want, gotCode, got)
			}
		})
	}
	// systemd-run: a transient service, started, shown, refused a second time, stopped (and
	// its file gone with it); a failing one; scopes.
	t.Run("systemd-run", func(t *testing.T) {
		run := func(args ...string) (string, int) {
			cmd := exec.Command("nsenter", append([]string{"-t", strconv.Itoa(holder), "-m", "systemd-run"}, args...)...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			cmd.Run()
			return out.String(), cmd.ProcessState.ExitCode()
		}
		if out, code := run("--unit=trans1", "-p", "Description=Transient sleeper", "/bin/sleep", "1000"); code != 0 || out != "Running as unit: trans1.service\n" {
			t.Fatalf("systemd-run: exit %d\n%s", code, out)
		}
		out, code := systemctl("status", "trans1", "-n", "0")
		file := filepath.Join(filepath.Dir(b.control), "transient", "trans1.service") // the runtime directory's
		want := "● trans1.service - Transient sleeper\n     Loaded: loaded (" + file + "; transient)\n  Transient: yes\n     Active: active (running) since "
		if code != 0 || !strings.HasPrefix(out, want) {
			t.Errorf("status of the transient unit: exit %d\n%s", code, out)
		}
		if out, code := run("--unit=trans1", "/bin/true"); code != 1 || out != "Failed to start transient service unit: Unit trans1.service already exists.\n" {
			t.Errorf("systemd-run on an existing unit: exit %d\n%s", code, out)
		}
		if out, code := run("--unit=trans2", "-p", "Type=oneshot", "/bin/false"); code != 1 || !strings.HasPrefix(out, "Job for trans2.service failed because the control process exited with error code.\n") {
			t.Errorf("systemd-run of a failing oneshot: exit %d\n%s", code, out)
		}
		// A scope: systemd-run moves itself into it and executes the command; the scope
		// goes when its processes have.
		if out, code := run("--scope", "--unit=sc1", "-p", "Description=A scope", "/bin/sh", "-c", "echo in the scope"); code != 0 ||
			!strings.Contains(out, "Running scope as unit: sc1.scope\n") || !strings.Contains(out, "in the scope\n") {
			t.Errorf("systemd-run --scope: exit %d\n%s", code, out)
		}
		if !waitFor(10*time.Second, func() bool { out, _ := systemctl("is-active", "sc1.scope"); return out == "inactive\n" }) {
			out, _ := systemctl("status", "sc1.scope")
			t.Errorf("the scope outlives its process:\n%s", out)
		}
		// A scope that runs until stopped.
		long := exec.Command("nsenter", "-t", strconv.Itoa(holder), "-m", "systemd-run", "--scope", "--unit=sc2", "/bin/sleep", "1000")
		var longOut syncBuffer
		long.Stdout, long.Stderr = &longOut, &longOut
		if err := long.Start(); err != nil {
			t.Fatal(err)
		}
		longDone := make(chan error, 1)
		go func() { longDone <- long.Wait() }()
		defer long.Process.Kill()
		if !waitFor(10*time.Second, func() bool { out, _ := systemctl("is-active", "sc2.scope"); return out == "active\n" }) {
			t.Fatalf("sc2.scope is not active:\n%s", longOut.String())
		}
		out, code = systemctl("status", "sc2.scope", "-n", "0")
		if code != 0 || !strings.Contains(out, "● sc2.scope - /bin/sleep 1000\n") || !strings.Contains(out, "; transient)\n") ||
			!strings.Contains(out, "Active: active (running) since ") {
			t.Errorf("status of the scope: exit %d\n%s", code, out)
		}
		// The Scope interface's properties come first, as a service's do.
		if out, code := systemctl("show", "sc2.scope", "-p", "Id,ActiveState,SubState,Result,Transient"); code != 0 ||
			out != "Result=success\nId=sc2.scope\nActiveState=active\nSubState=running\nTransient=yes\n" {
			t.Errorf("show the scope: exit %d\n%s", code, out)
		}
		if out, code := systemctl("stop", "sc2.scope"); code != 0 {
			t.Errorf("stop the scope: exit %d\n%s", code, out)
		}
		select {
		case err := <-longDone:
			if err == nil {
				t.Errorf("the scope's process was not killed")
			}
		case <-time.After(30 * time.Second):
			t.Errorf("the scope's process outlives the stop")
		}
		if out, code := systemctl("stop", "trans1"); code != 0 {
			t.Errorf("stop: exit %d\n%s", code, out)
		}
		if out, _ := systemctl("is-active", "trans1", "trans2"); out != "inactive\nfailed\n" {
			t.Errorf("is-active after the stop: %s", out)
		}
		if !waitFor(10*time.Second, func() bool {
			_, err := os.Stat(file)
			return os.IsNotExist(err)
		}) {
			t.Errorf("the stopped transient unit's file is still there")
		}
	})
}
