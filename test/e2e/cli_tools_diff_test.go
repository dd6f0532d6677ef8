package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/difftest"
)

// toolUnits are the unit files of TestToolsMatchSystemctl: one of every install state
// (enabled by a step, static, indirect, alias, template, masked by a step), a socket and a
// timer whose times do not depend on the moment the test runs.
func toolUnits(sock string) map[string]string {
	nd := "[Unit]\nDefaultDependencies=no\n"
	return map[string]string{
		"multi-user.target": "[Unit]\nDescription=Multi-User System\n",
		"web.service":       "[Unit]\nDescription=Web\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\nExecReload=/bin/true\n[Install]\nWantedBy=multi-user.target\n",
		"idle.service":      nd + "[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=multi-user.target\n",
		"static.service":    "[Unit]\nDescription=Static\nDefaultDependencies=no\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n",
		"indirect.service":  nd + "[Service]\nExecStart=/bin/sleep 1000\n[Install]\nAlso=idle.service\n",
		"alias.service":     nd + "[Service]\nExecStart=/bin/sleep 1000\n[Install]\nAlias=www.service\nWantedBy=multi-user.target\n",
		"tmpl@.service":     "[Unit]\nDescription=Instance %i\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=multi-user.target\n",
		"fail.service":      nd + "[Service]\nType=oneshot\nExecStart=/bin/false\n",
		"once.service":      nd + "[Service]\nType=oneshot\nExecStart=/bin/true\n",
		"late.timer":        "[Unit]\nDescription=Late\nDefaultDependencies=no\n[Timer]\nOnCalendar=2099-01-01 00:00:00 UTC\n[Install]\nWantedBy=multi-user.target\n",
		"late.service":      nd + "[Service]\nType=oneshot\nExecStart=/bin/true\n",
		"lsn.socket":        "[Unit]\nDescription=Listener\nDefaultDependencies=no\n[Socket]\nListenStream=" + sock + "\n[Install]\nWantedBy=multi-user.target\n",
		"lsn.service":       nd + "[Service]\nExecStart=/bin/sleep 1000\n",
	}
}

// TestToolsMatchSystemctl runs the command lines that scripts, configuration management and
// package maintainer scripts run, against systemd 252 (booted in private namespaces on the
// unit directory alone, with an empty /etc/systemd) and against flint under the name
// systemctl (a symlink, FLINT_CONTROL naming the manager, which runs on ETC and the unit
// directory), in the same order, and compares standard output, standard error and exit code
// apart. Normalised: ETC read as /etc/systemd/system, and status's and show's per-system
// values (times, pids, memory).
func TestToolsMatchSystemctl(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("booting systemd needs root")
	}
	if _, err := os.Stat(difftest.SystemdBinary); err != nil {
		t.Skipf("no %s", difftest.SystemdBinary)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	work := t.TempDir()
	units := filepath.Join(work, "units")
	os.MkdirAll(units, 0o755)
	// systemd's /tmp is private to its namespaces: the same path is a different file.
	sock := filepath.Join("/tmp", "flint-tools-diff-"+strconv.Itoa(os.Getpid())+".sk")
	t.Cleanup(func() { os.Remove(sock) })
	for n, c := range toolUnits(sock) {
		if err := os.WriteFile(filepath.Join(units, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sd, err := difftest.BootWith(ctx, work, "/etc/systemd/system:"+units, difftest.BootOptions{PrivateConfig: true})
	if err != nil {
		t.Fatalf("boot systemd: %v", err)
	}
	defer sd.Stop()
	etc := t.TempDir()
	// flint starts what systemd booted: the boot target (and its unit file, listed by
	// list-unit-files in both)
	m := launchManager(t, etc, launchOptions{more: []string{units, filepath.Join(work, "boot")}, runFlags: []string{"--target", difftest.BootTarget}, stopWait: 10 * time.Second})
	bin := filepath.Join(work, "bin")
	os.MkdirAll(bin, 0o755)
	if err := os.Symlink(flintBin, filepath.Join(bin, "systemctl")); err != nil {
		t.Fatal(err)
	}
	// the editor of `edit`: writes a drop-in between the markers
	editor := filepath.Join(work, "editor")
	os.WriteFile(editor, []byte("#!/bin/sh\nsed -i 's/^### Lines below this comment/[Service]\\nEnvironment=EDITED=1\\n&/' \"$1\"\n"), 0o755)
	env := append(os.Environ(), "SYSTEMD_EDITOR="+editor, "SYSTEMD_COLORS=0", "SYSTEMD_LOG_COLOR=0", "SYSTEMD_PAGER=", "LC_ALL=C")
	run := func(cmd *exec.Cmd) (string, string, int) {
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr, cmd.Env = &o, &e, env
		cmd.Run()
		return o.String(), e.String(), cmd.ProcessState.ExitCode()
	}
	systemctl := func(args ...string) (string, string, int) {
		return run(exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(sd.Pid), "-m", "-p", "-u", "systemctl"}, args...)...))
	}
	flint := func(args ...string) (string, string, int) {
		o, e, c := run(exec.CommandContext(ctx, filepath.Join(bin, "systemctl"), args...))
		norm := strings.NewReplacer(etc, "/etc/systemd/system")
		return norm.Replace(o), norm.Replace(e), c
	}
	env = append(env, "FLINT_CONTROL="+m.control)
	// status's lines from cgroups: flint's manager may run without them
	cgroupLines := regexp.MustCompile("(?m)^\\s+(Tasks|Memory|CPU|CGroup): .*\n|(?m)^\\s+(└─|`-).*\n")
	variable := regexp.MustCompile("(?i)since:? .*; .* ago|\\b\\d{2,}\\b")
	managerVersion := regexp.MustCompile("(?m)^(  systemd: ).*$")
	flintOwn := regexp.MustCompile("(?m)^(  Cgroups: .*|   Units: .*|          .*)\n")
	unitCount := regexp.MustCompile(`Units: \d+`)
	// The version: the scripts that check it read the first two words.
	t.Run("version", func(t *testing.T) {
		wo, _, _ := systemctl("--version")
		fo, _, fc := flint("--version")
		w, f := strings.Fields(wo), strings.Fields(fo)
		if len(f) < 3 || w[0] != f[0] || w[1] != f[1] || fc != 0 {
			t.Errorf("systemctl --version: %q\nflint: exit %d %q", wo, fc, fo)
		}
	})
	for _, args := range toolSteps {
		if args[0] == "#change" {
			// a unit file changed on disk, in both managers' unit directory
			f, err := os.OpenFile(filepath.Join(units, args[1]), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.WriteString("# changed\n")
			f.Close()
			continue
		}
		name := strings.Join(args, "_")
		t.Run(name, func(t *testing.T) {
			wo, we, wc := systemctl(args...)
			fo, fe, fc := flint(args...)
			if args[0] == "status" || args[0] == "show" || args[0] == "list-timers" {
				wo, fo = cgroupLines.ReplaceAllString(wo, ""), cgroupLines.ReplaceAllString(fo, "")
				if len(args) == 1 {
					// the manager: its version and the number of units, systemd's cgroup tree,
					// flint's lines of its own
					wo = managerVersion.ReplaceAllString(flintOwn.ReplaceAllString(wo, ""), "${1}VERSION")
					fo = managerVersion.ReplaceAllString(flintOwn.ReplaceAllString(fo, ""), "${1}VERSION")
					wo, fo = unitCount.ReplaceAllString(wo, "Units: X"), unitCount.ReplaceAllString(fo, "Units: X")
				}
				wo, fo = variable.ReplaceAllString(wo, "X"), variable.ReplaceAllString(fo, "X")
				// a service just started may not have run exec yet: systemd shows its
				// child's name (every service here runs sleep)
				wo = strings.ReplaceAll(wo, "Main PID: X (systemd)\n", "Main PID: X (sleep)\n")
			}
			if slices.ContainsFunc(args, func(a string) bool { return strings.ContainsAny(a, "*?[") }) {
				// systemctl lists what a pattern matches in the order of systemd's hash
				// table, flint in name order
				wo, fo = sortedBlocks(wo), sortedBlocks(fo)
			}
			if wo != fo || we != fe || wc != fc {
				t.Errorf("systemctl %q:\nsystemd exit %d\nstdout %q\nstderr %q\nflint exit %d\nstdout %q\nstderr %q", args, wc, wo, we, fc, fo, fe)
			}
		})
	}
}

// sortedBlocks is s's blocks (units of show or status, separated by an empty line; lines
// when there is no empty line) in sorted order.
func sortedBlocks(s string) string {
	sep := "\n\n"
	if !strings.Contains(s, sep) {
		return sortedLines(s)
	}
	blocks := strings.Split(strings.TrimSuffix(s, "\n"), sep)
	slices.Sort(blocks)
	return strings.Join(blocks, sep) + "\n"
}

// toolSteps are TestToolsMatchSystemctl's command lines, in order. (Not compared, as flint
// knowingly differs, docs/compatibility.md: `show` of a unit that is not loaded without -p,
// --runtime with --units, --wait, -H and -M.)
var toolSteps = [][]string{
	{"is-active", "web", "idle", "nope"},
	{"is-active", "--quiet", "web"},
	{"is-enabled", "web", "idle", "static", "indirect", "alias", "www.service", "tmpl@.service", "tmpl@a.service", "late.timer", "lsn.socket", "multi-user.target"},
	{"is-enabled", "nope"},
	{"is-enabled", "nope.service", "web"},
	{"is-enabled", "--quiet", "static"},
	{"is-failed", "web", "fail"},
	{"enable", "--now", "web"},
	{"enable", "alias"},
	{"is-enabled", "web", "alias", "www.service", "www"},
	{"enable", "tmpl@a.service"},
	{"is-enabled", "tmpl@.service", "tmpl@a.service", "tmpl@b.service"},
	{"enable", "indirect"},
	{"is-enabled", "indirect", "idle"},
	{"is-active", "web", "idle", "nope"},
	{"is-active", "www.service"},
	{"start", "fail"},
	{"is-failed", "web", "fail", "nope"},
	{"is-failed", "--quiet", "fail"},
	{"show", "web", "-p", "ActiveState,SubState", "--value"},
	{"show", "web", "-p", "ActiveState", "-p", "UnitFileState", "--property=LoadState"},
	{"show", "web", "--property=Id", "--property=Names"},
	{"show", "nope", "-p", "LoadState,ActiveState,UnitFileState"},
	{"show", "-p", "Id,LoadState", "web", "nope"},
	{"show", "www.service", "-p", "Id,Names"},
	{"show", "tmpl@x.service", "-p", "Id,LoadState,ActiveState,Description"},
	{"show", "web", "-p", "Bogus"},
	{"show", "web", "-p", "Bogus", "--all"},
	{"list-units", "--plain", "--no-legend", "--type=service", "--state=running,failed"},
	{"list-units", "--plain", "--no-legend", "--type=service", "--all"},
	{"list-units", "--no-pager", "--type=service"},
	{"list-unit-files", "--state=enabled", "--no-pager"},
	{"list-unit-files", "--no-legend", "--type=service"},
	{"list-unit-files", "--state=static,indirect", "--plain"},
	{"list-unit-files", "--state=bogus"},
	{"start", "late.timer", "lsn.socket"},
	{"list-timers", "--all"},
	{"list-timers", "--all", "--no-legend"},
	{"list-sockets"},
	{"list-sockets", "--all", "--no-legend"},
	{"list-dependencies", "web"},
	{"list-dependencies", "--plain", "multi-user.target"},
	{"list-dependencies", "--reverse", "web"},
	{"list-dependencies", "nope"},
	{"list-dependencies", "--all", "multi-user.target"},
	{"list-dependencies", "--all", "--plain", "multi-user.target"},
	{"list-dependencies", "--type=service", "multi-user.target"},
	{"list-dependencies", "--reverse", "system-tmpl.slice"},
	{"list-dependencies", "web", "idle"},
	{"list-dependencies", "--plain", "web", "idle"},
	{"status", "web", "-n", "0"},
	{"status", "idle", "-n", "0"},
	{"status", "nope"},
	{"status", "fail", "-n", "0"},
	{"status", "web", "nope", "-n", "0"},
	{"disable", "--now", "web"},
	{"is-active", "web"},
	{"is-enabled", "web"},
	{"reenable", "web"},
	{"disable", "web"},
	{"preset", "web"},
	{"--preset-mode=enable-only", "preset", "idle"},
	{"is-enabled", "web", "idle"},
	{"is-enabled", "idle"},
	{"mask", "idle"},
	{"is-enabled", "idle"},
	{"unmask", "idle"},
	{"daemon-reload"},
	{"start", "web"},
	{"try-restart", "web"},
	{"try-restart", "idle"},
	{"is-active", "idle"},
	{"reload-or-restart", "idle"},
	{"is-active", "idle"},
	{"reload-or-restart", "web"},
	{"kill", "-s", "CONT", "idle"}, // (a signal that ended it would race systemd's unloading of it)
	{"kill", "-s", "CONT", "web", "idle"},
	{"kill", "-s", "TERM", "nope"},
	{"reset-failed", "fail"},
	{"reset-failed", "web"},
	{"is-failed", "fail"},
	{"cat", "web"},
	{"cat", "nope"},
	{"cat", "web", "nope"},
	{"edit", "--runtime", "idle"},
	{"cat", "idle"},
	{"status", "idle", "-n0"},
	{"show", "-p", "Environment", "idle"},
	{"set-environment", "FOO=bar"},
	{"show-environment"},
	{"unset-environment", "FOO"},
	{"--no-ask-password", "restart", "web"},
	{"--quiet", "stop", "idle"},
	// Ansible's service_facts, monitoring checks
	{"list-units", "--no-pager", "--type", "service", "--all"},
	{"list-unit-files", "--no-pager", "--type", "service"},
	{"--type=service", "--no-legend"},
	{"-t", "service", "--state=running", "--no-legend", "--no-pager"},
	{"--failed", "--no-legend"},
	{"status"}, // the manager's lines (flint's Cgroups: line and its units' processes left out)
	{"list-units", "--failed", "--plain", "--no-legend", "--no-pager"},
	{"list-units", "web*", "lsn*", "--all"},
	{"list-timers"},
	{"list-units", "--type=service", "-o", "json"},
	{"list-units", "--type=service,socket", "--all", "-o", "json-pretty"},
	{"list-unit-files", "--type=service", "-o", "json"},
	{"list-sockets", "-o", "json"},
	{"list-timers", "--all", "-o", "json"},
	{"list-sockets", "--show-types", "-o", "json-pretty"},
	{"list-units", "nomatch*", "-o", "json"},
	{"list-units", "--type=socket", "-o", "json-seq"},
	{"show", "web", "-p", "Id,ActiveState", "-o", "json"},
	{"show", "-p", "SystemState", "-o", "json"},
	{"list-dependencies", "web", "-o", "json"},
	{"list-jobs", "-o", "json"},
	{"is-active", "web", "-o", "json"},
	{"show", "-p", "ActiveState", "-p", "SubState", "web", "idle"},
	{"show", "-p", "SubState", "--value", "web", "idle"},
	// the manager's own properties (those whose values are not per system)
	{"show", "-p", "SystemState,NFailedUnits,NJobs,Architecture,ConfirmSpawn,DefaultStandardOutput,DefaultStandardError"},
	{"show", "-p", "DefaultTimeoutStartUSec,DefaultTimeoutStopUSec,DefaultTimeoutAbortUSec,DefaultRestartUSec", "-p", "DefaultStartLimitIntervalUSec,DefaultStartLimitBurst,DefaultOOMPolicy,Tainted"},
	{"show", "--property=SystemState", "--value"},
	{"show", "-p", "Bogus"},
	{"show", "--property=NRestarts,Result,ExecMainStatus", "fail"},
	{"start", "tmpl@a.service", "tmpl@b"},
	{"is-active", "tmpl@a", "tmpl@b.service", "tmpl@c"},
	{"show", "-p", "Id,Description,ActiveState", "tmpl@a.service"},
	{"cat", "tmpl@a.service"},
	{"cat", "www.service"},
	{"start", "alias"},
	{"is-active", "www.service", "alias"},
	{"status", "www.service", "-n0"},
	{"status", "tmpl@a.service", "idle", "-n0"},
	{"enable", "--now", "web"},
	{"enable", "web"},
	{"mask", "--now", "idle"},
	{"is-active", "idle"},
	{"is-failed", "idle", "nope"},
	{"is-enabled", "idle", "www.service"},
	{"status", "idle", "-n0"},
	{"start", "idle"},
	{"unmask", "idle"},
	{"reset-failed"},
	{"start", "web", "idle", "nope"},
	{"restart", "nope"},
	{"stop", "nope.service"},
	{"reload", "idle"},
	{"try-reload-or-restart", "web", "idle"},
	// patterns: the loaded units they match
	{"show", "web*", "-p", "Id,ActiveState"},
	{"show", "*.socket", "-p", "Id,SubState", "--value"},
	{"status", "lsn*", "-n0"},
	{"is-active", "web*", "idle*"},
	{"is-failed", "fail*"},
	{"kill", "-s", "CONT", "web*"},
	{"stop", "nomatch*"},
	{"restart", "tmpl@*"},
	{"is-active", "nomatch*"},
	{"is-failed", "nomatch*", "-q"},
	{"status", "nomatch*"},
	{"show", "nomatch*", "-p", "Id"},
	{"kill", "nomatch*"},
	{"show", "*.service", "-p", "Id", "--all"},
	{"is-active", "-t", "socket", "*"},
	{"status", "--all", "lsn*", "-n0"},
	{"reset-failed", "fail*"},
	{"stop", "tmpl@*"},
	{"restart", "tmpl@*"},
	{"try-restart", "tmpl@*"},
	{"start", "tmpl@*"},
	{"is-active", "tmpl@a", "tmpl@b"},
	{"start", "--all", "tmpl@*"},
	{"is-active", "tmpl@a", "tmpl@b"},
	{"#change", "web.service"},
	{"show", "-p", "NeedDaemonReload", "web"},
	{"status", "web", "-n0"},
	{"restart", "web"},
	{"cat", "web"},
	{"daemon-reload"},
	{"show", "-p", "NeedDaemonReload", "web"},
	{"daemon-reload"},
	{"stop", "web", "lsn.socket", "late.timer"},
}
