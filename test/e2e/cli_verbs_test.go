package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestListVerbs: list-units, list-sockets, list-dependencies, is-active, is-failed in
// systemctl 252's layout, words and exit codes, and their --output=json.
func TestListVerbs(t *testing.T) {
	units, _ := cliUnits(t)
	if err := os.WriteFile(filepath.Join(units, "web.socket"), []byte(unitFile("Socket",
		"ListenStream="+filepath.Join(t.TempDir(), "web.sk")+"\nListenDatagram=127.0.0.1:21531")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(units, "web.service"), []byte(unitFile("Service", "ExecStart=/bin/sleep 1000")), 0o644); err != nil {
		t.Fatal(err)
	}
	m := startManager(t, units)
	c := on(t, m)
	c.start("ok.service")
	c.start("echo.socket")
	c.start("web.socket")
	c.flint("start", "fail.service")
	webSock := c.prop("web.socket", "Listen")
	webPath := strings.TrimSuffix(strings.Split(webSock, "\n")[0], " (Stream)")

	seeFiles := "To show all installed unit files use 'flint list-unit-files'.\n"
	legend := "\nLOAD   = Reflects whether the unit definition was properly loaded.\n" +
		"ACTIVE = The high-level unit activation state, i.e. generalization of SUB.\n" +
		"SUB    = The low-level unit activation state, values depend on unit type.\n"
	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"list_units_type_service", []string{"list-units", "--type=service"}, 0,
			"  UNIT         LOAD   ACTIVE SUB     DESCRIPTION\n" +
				"● fail.service loaded failed failed  fail.service\n" +
				"  ok.service   loaded active running A sleeper\n" + legend +
				"2 loaded units listed. Pass --all to see loaded but inactive units, too.\n" + seeFiles},
		{"list_units_state_failed", []string{"list-units", "--state=failed"}, 0,
			"  UNIT         LOAD   ACTIVE SUB    DESCRIPTION\n" +
				"● fail.service loaded failed failed fail.service\n" + legend +
				"1 loaded units listed.\n"},
		{"list_units_pattern_all", []string{"list-units", "--all", "--no-legend", "--plain", "o*", "fail", "swap.target"}, 0,
			"fail.service loaded failed failed  fail.service\nok.service   loaded active running A sleeper\nswap.target  loaded active active  Swaps\n"},
		{"list_units_type_socket", []string{"list-units", "-t", "socket"}, 0,
			"  UNIT        LOAD   ACTIVE SUB       DESCRIPTION\n" +
				"  echo.socket loaded active listening Echo socket\n" +
				"  web.socket  loaded active listening web.socket\n" + legend +
				"2 loaded units listed. Pass --all to see loaded but inactive units, too.\n" + seeFiles},
		{"list_sockets", []string{"list-sockets"}, 0, fmt.Sprintf(
			"LISTEN%[2]s UNIT        ACTIVATES\n"+
				"%[1]s%[3]s web.socket  web.service\n"+
				"127.0.0.1:21530%[4]s echo.socket -\n"+
				"127.0.0.1:21531%[4]s web.socket  web.service\n\n"+
				"3 sockets listed.\nPass --all to see loaded but inactive sockets, too.\n",
			webPath, strings.Repeat(" ", len(webPath)-6), "", strings.Repeat(" ", len(webPath)-15))},
		{"list_dependencies", []string{"list-dependencies", "dep.service"}, 0,
			"dep.service\n× ├─fail.service\n● ├─system.slice\n● └─sysinit.target\n●   ├─local-fs.target\n●   └─swap.target\n"},
		// dep.service, inactive (its start job failed) and referred to by no loaded unit, is
		// unloaded, so nothing requires fail.service any more (systemd 252 prints the same,
		// TestTemplateDifferential's collected).
		{"list_dependencies_reverse", []string{"list-dependencies", "--reverse", "fail.service"}, 0,
			"fail.service\n"},
		{"is_active", []string{"is-active", "ok", "fail", "nope"}, 0, "active\nfailed\ninactive\n"},
		{"is_active_none", []string{"is-active", "plain", "nope"}, 3, "inactive\ninactive\n"},
		{"is_active_quiet", []string{"is-active", "-q", "ok"}, 0, ""},
		{"is_failed", []string{"is-failed", "ok", "fail"}, 0, "active\nfailed\n"},
		{"is_failed_none", []string{"is-failed", "ok"}, 1, "active\n"},
		{"is_enabled", []string{"--units", units, "is-enabled", "echo.socket"}, 1, "disabled\n"},
		{"is_system_running_degraded", []string{"is-system-running"}, 1, "degraded\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code := c.flint(tc.args...)
			if code != tc.code || out != tc.out {
				t.Errorf("flint %s: exit %d, output:\n%s\nwant exit %d, output:\n%s", strings.Join(tc.args, " "), code, out, tc.code, tc.out)
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		out, code := c.flint("list-units", "--all", "--output=json")
		var us []map[string]any
		if err := json.Unmarshal([]byte(out), &us); err != nil || code != 0 {
			t.Fatalf("list-units --output=json: exit %d, %v\n%s", code, err, out)
		}
		found := false
		for _, u := range us {
			if u["unit"] == "ok.service" && u["active"] == "active" && u["sub"] == "running" && u["load"] == "loaded" {
				found = true
			}
		}
		if !found {
			t.Errorf("list-units --output=json lacks ok.service active/running: %s", out)
		}
		out, code = c.flint("--output=json", "list-sockets")
		var ss []map[string]any
		if err := json.Unmarshal([]byte(out), &ss); err != nil || code != 0 || len(ss) != 3 {
			t.Fatalf("list-sockets --output=json: exit %d, %v\n%s", code, err, out)
		}
		if ss[1]["listen"] != "127.0.0.1:21530" || ss[1]["unit"] != "echo.socket" || ss[1]["type"] != "Stream" {
			t.Errorf("list-sockets --output=json: %v", ss)
		}
	})
}

// TestControlVerbs: kill, reset-failed, daemon-reload, enable/disable --now, cat, mask,
// unmask, logs.
func TestControlVerbs(t *testing.T) {
	units, _ := cliUnits(t)
	if err := os.WriteFile(filepath.Join(units, "trap.service"), []byte(unitFile("Service",
		"ExecStart=/bin/sh -c 'trap \"echo got-usr1\" USR1; echo ready; while :; do sleep 0.1; done'")), 0o644); err != nil {
		t.Fatal(err)
	}
	m := startManager(t, units)
	c := on(t, m)

	t.Run("kill", func(t *testing.T) {
		c.start("trap.service")
		c.start("echo.socket")
		// The shell says ready once its trap is set: a signal before that would kill it.
		if !waitFor(10*time.Second, func() bool {
			out, _ := c.flint("logs", "-u", "trap.service")
			return strings.Contains(out, "ready")
		}) {
			t.Fatal("trap.service never said ready")
		}
		out, code := c.flint("kill", "-s", "USR1", "--kill-whom=main", "trap.service")
		if code != 0 {
			t.Fatalf("kill -s USR1: exit %d: %s", code, out)
		}
		if !waitFor(10*time.Second, func() bool {
			out, _ := c.flint("logs", "-u", "trap.service")
			return strings.Contains(out, "got-usr1")
		}) {
			t.Errorf("the main process did not get SIGUSR1")
		}
		for _, tc := range []struct {
			args []string
			code int
			out  string
		}{
			{[]string{"kill", "nope"}, 1, "Failed to kill unit nope.service: Unit nope.service not loaded.\n"},
			{[]string{"kill", "-s", "FOO", "trap"}, 1, "Failed to parse signal string \"FOO\".\n"},
			{[]string{"kill", "--kill-whom=control", "trap"}, 1, "Failed to kill unit trap.service: No control process to kill\n"},
			{[]string{"kill", "--kill-whom=main", "echo.socket"}, 1, "Failed to kill unit echo.socket: socket units have no main processes\n"},
			{[]string{"kill", "--signal=KILL", "trap"}, 0, ""},
		} {
			if out, code := c.flint(tc.args...); code != tc.code || out != tc.out {
				t.Errorf("flint %s: exit %d %q, want %d %q", strings.Join(tc.args, " "), code, out, tc.code, tc.out)
			}
		}
		c.waitState("trap.service", "failed")
		if r := c.prop("trap.service", "Result"); r != "signal" {
			t.Errorf("Result=%s after SIGKILL, want signal", r)
		}
	})
	t.Run("reset_failed", func(t *testing.T) {
		if out, code := c.flint("reset-failed", "trap.service"); code != 0 {
			t.Fatalf("exit %d: %s", code, out)
		}
		if st := c.props("trap.service", "ActiveState", "Result"); st["ActiveState"] != "inactive" || st["Result"] != "success" {
			t.Errorf("after reset-failed: %v", st)
		}
		if out, code := c.flint("reset-failed", "nope"); code != 1 || out != "Failed to reset failed state of unit nope.service: Unit nope.service not loaded.\n" {
			t.Errorf("reset-failed nope: exit %d %q", code, out)
		}
	})
	t.Run("enable_now_disable_now", func(t *testing.T) {
		out, code := runFlint(t, "--control", m.control, "--units", units, "enable", "--now", "echo.socket")
		if code != 0 || !isSymlink(filepath.Join(units, "sockets.target.wants", "echo.socket")) {
			t.Fatalf("enable --now: exit %d: %s", code, out)
		}
		if st := c.prop("echo.socket", "ActiveState"); st != "active" {
			t.Errorf("after enable --now: ActiveState=%s", st)
		}
		out, code = runFlint(t, "--control", m.control, "--units", units, "disable", "--now", "echo.socket")
		if code != 0 || isSymlink(filepath.Join(units, "sockets.target.wants", "echo.socket")) {
			t.Fatalf("disable --now: exit %d: %s", code, out)
		}
		if st := c.prop("echo.socket", "ActiveState"); st != "inactive" {
			t.Errorf("after disable --now: ActiveState=%s", st)
		}
	})
	t.Run("cat", func(t *testing.T) {
		out, code := runFlint(t, "--units", units, "cat", "plain")
		want := "# " + filepath.Join(units, "plain.service") + "\n" + unitFile("Service", "ExecStart=/bin/sleep 1000")
		if code != 0 || strings.TrimSpace(out) != strings.TrimSpace(want) {
			t.Errorf("cat plain: exit %d:\n%s\nwant:\n%s", code, out, want)
		}
	})
	t.Run("daemon_reload_new_and_changed_units", func(t *testing.T) {
		if out, code := c.flint("start", "new.service"); code != 5 {
			t.Fatalf("start new.service before it exists: exit %d %q", code, out)
		}
		c.start("ok.service")
		pid := c.prop("ok.service", "MainPID")
		os.WriteFile(filepath.Join(units, "new.service"), []byte(unitFile("Service", "ExecStart=/bin/sleep 1000")), 0o644)
		os.WriteFile(filepath.Join(units, "ok.service"), []byte(unitFile("Unit", "Description=Changed", "Service", "ExecStart=/bin/sleep 1000")), 0o644)
		if out, code := c.flint("daemon-reload"); code != 0 || out != "" {
			t.Fatalf("daemon-reload: exit %d: %s", code, out)
		}
		if out, code := c.flint("start", "new"); code != 0 {
			t.Errorf("start new.service after daemon-reload: exit %d %q", code, out)
		}
		if got := c.props("ok.service", "Description", "MainPID", "ActiveState"); got["Description"] != "Changed" || got["MainPID"] != pid || got["ActiveState"] != "active" {
			t.Errorf("ok.service after daemon-reload: %v, want Description=Changed, MainPID=%s still active", got, pid)
		}
	})
	t.Run("logs", func(t *testing.T) {
		c.start("ok.service")
		c.flint("start", "fail.service")
		res := []*regexp.Regexp{
			// journalctl's: the process's name and pid, the manager's messages as systemd[PID]'s.
			regexp.MustCompile(`(?m)^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d sh\[\d+\]: started$`),
			regexp.MustCompile(`(?m)^[A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d systemd\[\d+\]: fail\.service: Failed with result 'exit-code'\.$`),
		}
		var out string
		var code int
		// ok.service's output reaches the log when the manager has read it from the
		// service's pipe, which may be after the start job is done: wait for it.
		waitFor(10*time.Second, func() bool {
			out, code = c.flint("logs", "-u", "ok", "-u", "fail.service", "--no-hostname")
			return code == 0 && res[0].MatchString(out) && res[1].MatchString(out)
		})
		for _, re := range res {
			if code != 0 || !re.MatchString(out) {
				t.Errorf("logs -u ok -u fail: exit %d, no %s in:\n%s", code, re, out)
			}
		}
		if strings.Contains(out, "trap.service") {
			t.Errorf("logs -u ok -u fail shows trap.service:\n%s", out)
		}
		out, _ = c.flint("logs", "-u", "fail", "-n", "1")
		if n := strings.Count(out, "\n"); n != 1 {
			t.Errorf("logs -n 1: %d lines:\n%s", n, out)
		}
		out, _ = c.flint("logs", "-u", "ok", "-o", "json", "-t", "sh")
		var l map[string]any
		if err := json.Unmarshal([]byte(strings.Split(out, "\n")[0]), &l); err != nil || l["_SYSTEMD_UNIT"] != "ok.service" || l["_TRANSPORT"] != "stdout" || l["MESSAGE"] != "started" {
			t.Errorf("logs -o json: %v %s", err, out)
		}
		if out, _ := c.flint("logs", "-u", "ok", "--since", "2099-01-01"); out != "-- No entries --\n" {
			t.Errorf("logs --since in the future: %q", out)
		}
		// -f: a line written after the follower attached arrives. The follower watches
		// fail.service too: a line of its start proves the follower attached.
		cmd := exec.Command(flintBin, "--control", m.control, "logs", "-f", "-u", "ok", "-u", "fail", "-n", "0")
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { cmd.Process.Kill(); cmd.Wait() }()
		lines := make(chan string, 16)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		var got []string
		attached := false
		for deadline := time.Now().Add(10 * time.Second); !attached; {
			if time.Now().After(deadline) {
				t.Fatalf("logs -f: no line of fail.service's starts within 10s: %q", got)
			}
			c.flint("start", "fail")
			select {
			case l := <-lines:
				if strings.Contains(l, "fail.service") {
					attached = true
				} else {
					_, msg, _ := strings.Cut(l, "]: ")
					got = append(got, msg) // a line of ok.service from before: wrong
				}
			case <-time.After(time.Second): // started before the follower attached: again
			}
		}
		c.flint("restart", "ok")
		// The restart's lines, the manager's as systemd[PID] logs them, and (-n 0) none
		// from before.
		want := []string{"Stopping ok.service - Changed...", "ok.service: Deactivated successfully.",
			"Stopped ok.service - Changed.", "Started ok.service - Changed."}
		for len(got) < len(want) {
			select {
			case l := <-lines:
				if strings.Contains(l, "fail.service") {
					continue // the rest of its starts
				}
				_, msg, _ := strings.Cut(l, "]: ")
				got = append(got, msg)
			case <-time.After(10 * time.Second):
				t.Fatalf("logs -f: %q within 10s of a restart, want %q", got, want)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("logs -f -n 0 after a restart: %q, want %q", got, want)
		}
	})
}

// TestHelpAndCompletion: every verb answers --help with exit 0; completion scripts for bash
// (exercised), zsh and fish.
func TestHelpAndCompletion(t *testing.T) {
	out, code := runFlint(t, "--help")
	if code != 0 {
		t.Fatalf("flint --help: exit %d", code)
	}
	// The verbs are the indented lines after "verbs:" (the usage also lists the multi-call
	// names and the options, indented too).
	var names []string
	inVerbs := false
	for _, l := range strings.Split(out, "\n") {
		switch {
		case l == "verbs:":
			inVerbs = true
		case inVerbs && strings.HasPrefix(l, "  "):
			names = append(names, strings.Fields(l)[0])
		case inVerbs && strings.TrimSpace(l) != "":
			inVerbs = false
		}
	}
	if len(names) < 25 {
		t.Fatalf("flint --help lists %d verbs:\n%s", len(names), out)
	}
	for _, v := range names {
		t.Run("help_"+v, func(t *testing.T) {
			out, code := runFlint(t, "--control", "/nonexistent/control.sock", v, "--help")
			if code != 0 || !strings.Contains(out, v) {
				t.Errorf("flint %s --help: exit %d:\n%s", v, code, out)
			}
		})
	}
	units, _ := cliUnits(t)
	m := startManager(t, units)
	for _, sh := range []string{"bash", "zsh", "fish"} {
		t.Run("completion_"+sh, func(t *testing.T) {
			out, code := runFlint(t, "completion", sh)
			if code != 0 || !strings.Contains(out, "list-sockets") || !strings.Contains(out, "reload-or-restart") {
				t.Fatalf("completion %s: exit %d:\n%s", sh, code, out)
			}
			if path, err := exec.LookPath(sh); err == nil {
				check := map[string][]string{"bash": {"-n"}, "zsh": {"-n"}, "fish": {"--no-execute"}}[sh]
				f := filepath.Join(t.TempDir(), "c")
				os.WriteFile(f, []byte(out), 0o644)
				if o, err := exec.Command(path, append(check, f)...).CombinedOutput(); err != nil {
					t.Errorf("%s rejects the script: %v\n%s", sh, err, o)
				}
			}
		})
	}
	t.Run("bash_completes_units", func(t *testing.T) {
		script, _ := runFlint(t, "completion", "bash")
		f := filepath.Join(t.TempDir(), "c.bash")
		os.WriteFile(f, []byte(script), 0o644)
		probe := fmt.Sprintf(`source %s
COMP_WORDS=(flint --control %s re); COMP_CWORD=3; _flint; echo "verbs: ${COMPREPLY[*]}"
COMP_WORDS=(flint --control %s start sw); COMP_CWORD=4; _flint; echo "units: ${COMPREPLY[*]}"
COMP_WORDS=(flint list-sockets --sh); COMP_CWORD=2; _flint; echo "opts: ${COMPREPLY[*]}"`, f, m.control, m.control)
		cmd := exec.Command("bash", "-c", probe)
		cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(flintBin)+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		want := "verbs: reboot reenable reload reload-or-restart reset-failed restart revert\nunits: swap.target\nopts: --show-types\n"
		if err != nil || string(out) != want {
			t.Errorf("bash completion: %v\n%s\nwant:\n%s", err, out, want)
		}
	})
}

// TestSystemctlMultiCall: under the name systemctl flint takes systemctl's command line:
// options before the verb, enable in a container build (no manager), start refused without a
// manager (saying where flint looked), verbs against a running manager.
func TestSystemctlMultiCall(t *testing.T) {
	units, _ := cliUnits(t)
	link := filepath.Join(t.TempDir(), "systemctl")
	if err := os.Symlink(flintBin, link); err != nil {
		t.Fatal(err)
	}
	run := func(env []string, args ...string) (string, int) {
		cmd := exec.Command(link, args...)
		cmd.Env = append(os.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			t.Fatal(err)
		}
		return string(out), cmd.ProcessState.ExitCode()
	}
	noManager := []string{"FLINT_CONTROL=" + filepath.Join(t.TempDir(), "none.sock")}
	out, code := run(noManager, "--units", units, "enable", "echo.socket")
	if code != 0 || !isSymlink(filepath.Join(units, "sockets.target.wants", "echo.socket")) {
		t.Fatalf("systemctl enable echo.socket (no manager): exit %d: %s", code, out)
	}
	if !strings.Contains(out, "Created symlink") {
		t.Errorf("systemctl enable: %q", out)
	}
	if out, code := run(noManager, "--quiet", "--units", units, "is-enabled", "echo.socket"); code != 0 || out != "" {
		t.Errorf("systemctl --quiet is-enabled: exit %d %q", code, out)
	}
	if out, code := run(noManager, "start", "echo.socket"); code != 1 || !strings.HasPrefix(out, "No flint manager is running: nothing answers on "+strings.TrimPrefix(noManager[0], "FLINT_CONTROL=")+".\n") {
		t.Errorf("systemctl start without a manager: exit %d %q", code, out)
	}
	if out, code := run(noManager, "is-active", "echo.socket"); code != 1 || !strings.HasPrefix(out, "No flint manager is running") {
		t.Errorf("systemctl is-active without a manager: exit %d %q", code, out)
	}
	if out, code := run(noManager, "is-system-running"); code != 1 || out != "offline\n" {
		t.Errorf("systemctl is-system-running without a manager: exit %d %q", code, out)
	}
	if out, code := run(noManager, "daemon-reload"); code != 1 || !strings.HasPrefix(out, "No flint manager is running") {
		t.Errorf("systemctl daemon-reload without a manager: exit %d %q", code, out)
	}
	if out, code := run(append(noManager, "SYSTEMD_OFFLINE=1"), "daemon-reload"); code != 0 || out != "Running in chroot, ignoring command 'daemon-reload'\n" {
		t.Errorf("systemctl daemon-reload offline: exit %d %q", code, out)
	}
	t.Run("chroot", func(t *testing.T) {
		// In a chroot (its / is not PID 1's root) systemctl ignores the verbs that need a
		// manager. The chroot gets a PID namespace, whose PID 1 (the shell, outside the
		// chroot) it may look at, and its /proc in a mount namespace of its own.
		root := t.TempDir()
		bin, err := os.ReadFile(flintBin)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, "flint"), bin, 0o755); err != nil {
			t.Fatal(err)
		}
		os.Symlink("flint", filepath.Join(root, "systemctl"))
		os.Mkdir(filepath.Join(root, "proc"), 0o755)
		script := "mount -t proc proc " + root + "/proc && chroot " + root + " /systemctl start echo.socket; echo exit=$?"
		out, err := exec.Command("unshare", "--mount", "--propagation", "private", "--pid", "--fork", "sh", "-c", script).CombinedOutput()
		if err != nil || string(out) != "Running in chroot, ignoring command 'start'\nexit=0\n" {
			t.Errorf("systemctl start in a chroot: %v %q", err, out)
		}
	})
	m := startManager(t, units)
	withManager := []string{"FLINT_CONTROL=" + m.control}
	if out, code := run(withManager, "is-active", "echo.socket"); code != 0 || out != "active\n" {
		t.Errorf("systemctl is-active echo.socket (enabled, manager running): exit %d %q", code, out)
	}
	if out, code := run(withManager, "--no-pager", "start", "fail.service"); code != 1 || !strings.Contains(out, "See \"systemctl status fail.service\"") {
		t.Errorf("systemctl start fail.service: exit %d %q", code, out)
	}
	if out, code := run(withManager, "-t", "socket", "--no-legend", "list-units"); code != 0 || !strings.Contains(out, "echo.socket loaded active listening Echo socket") {
		t.Errorf("systemctl -t socket list-units: exit %d %q", code, out)
	}
	if out, code := run(withManager); code != 0 || !strings.Contains(out, "UNIT") {
		t.Errorf("systemctl (no verb lists units): exit %d %q", code, out)
	}
	if out, code := run(withManager, "frobnicate"); code != 1 || out != "Unknown command verb frobnicate.\n" {
		t.Errorf("systemctl frobnicate: exit %d %q", code, out)
	}
}

// TestColourOnlyOnTerminal: status and list-units colour their output on a terminal (run
// under script(1), which gives flint a pty) and never in a pipe.
func TestColourOnlyOnTerminal(t *testing.T) {
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("no script(1) to provide a terminal")
	}
	units, _ := cliUnits(t)
	m := startManager(t, units)
	c := on(t, m)
	c.flint("start", "fail.service")
	c.start("ok.service")
	for _, args := range [][]string{{"status", "fail.service", "ok.service"}, {"list-units", "--type=service"}} {
		full := append([]string{flintBin, "--control", m.control}, args...)
		piped, _ := c.flint(args...)
		if strings.Contains(piped, "\x1b[") {
			t.Errorf("flint %s in a pipe has escape sequences:\n%q", strings.Join(args, " "), piped)
		}
		out, err := exec.Command(script, "-qec", strings.Join(full, " "), "/dev/null").CombinedOutput()
		if err != nil {
			if _, ok := err.(*exec.ExitError); !ok {
				t.Fatal(err)
			}
		}
		for _, want := range []string{"\x1b[0;1;31m"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("flint %s on a terminal lacks %q:\n%q", strings.Join(args, " "), want, out)
			}
		}
		if args[0] == "status" && !strings.Contains(string(out), "\x1b[0;1;32mactive (running)\x1b[0m") {
			t.Errorf("status on a terminal: active state not green:\n%q", out)
		}
	}
}
