package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/difftest"
)

// TestFileVerbsMatchSystemctl runs the file verbs (enable, mask, reenable, preset, link,
// revert, add-wants, set-default, edit, ...) and the verbs of the manager's environment,
// set-property, status PID, help and daemon-reexec against systemd 252 (in private
// namespaces with an empty /etc/systemd: its configuration directory /etc/systemd/system
// comes first in its unit path) and against flint (on --units ETC --units UNITS: ETC is its
// configuration directory), in the same order on the same unit files, and compares what the
// user sees: output (ETC read as /etc/systemd/system, systemctl's name as flint's) and exit
// code.
func TestFileVerbsMatchSystemctl(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("booting systemd needs root")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	work, units, etc, sd, m := bootWithConfig(t, ctx, fileUnits)
	outside := filepath.Join(work, "outside.service")
	os.WriteFile(outside, []byte(unitFile("Unit", "DefaultDependencies=no", "Service", "ExecStart=/bin/sleep 1000", "Install", "WantedBy=multi-user.target")), 0o644)

	run := func(cmd *exec.Cmd, tty bool) (string, int) {
		if tty {
			// systemd 252 ends its log lines with "\r\n" on a terminal: the same to the eye
			out, code := runOnTTY(t, cmd, "")
			return strings.ReplaceAll(out, "\r\n", "\n"), code
		}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		code := exitCode(t, cmd.Run())
		return out.String(), code
	}
	// the editor keeps what it is given (in the work directory, the same path in both
	// namespaces) and writes a drop-in between the markers
	seen := filepath.Join(work, "seen")
	editor := filepath.Join(work, "editor")
	os.WriteFile(editor, []byte("#!/bin/sh\ncat \"$1\" > "+seen+"\nsed -i 's/^### Lines below this comment/[Unit]\\nDescription=Edited\\n&/' \"$1\"\n"), 0o755)
	env := []string{"SYSTEMD_EDITOR=" + editor, "IMPORTED=from the client", "SYSTEMD_COLORS=0", "SYSTEMD_LOG_COLOR=0"}
	systemctl := func(tty bool, args ...string) (string, int, string) {
		full := append([]string{"-t", strconv.Itoa(sd.Pid), "-m", "-p", "-u", "systemctl", "--no-pager"}, args...)
		cmd := exec.CommandContext(ctx, "nsenter", full...)
		cmd.Env = append(os.Environ(), env...)
		os.Remove(seen)
		out, code := run(cmd, tty)
		s, _ := os.ReadFile(seen)
		return out, code, string(s)
	}
	flint := func(tty bool, args ...string) (string, int, string) {
		cmd := exec.CommandContext(ctx, flintBin, append([]string{"--control", m.control}, args...)...)
		cmd.Env = append(os.Environ(), env...)
		os.Remove(seen)
		out, code := run(cmd, tty)
		s, _ := os.ReadFile(seen)
		norm := strings.NewReplacer(etc, "/etc/systemd/system")
		return norm.Replace(out), code, norm.Replace(string(s))
	}
	// LANG comes from where each manager was started
	lang := regexp.MustCompile(`(?m)^LANG=.*\n|"LANG":"[^"]*",`)
	for _, args := range [][]string{
		{"enable", "--now", "good.service"},
		{"is-active", "good"},
		{"is-enabled", "good", "web"},
		{"enable", "good"},
		{"reenable", "good"},
		{"disable", "good"},
		{"preset", "good"},
		{"preset", "--preset-mode=disable-only", "good"},
		{"is-enabled", "good"},
		{"enable", "nope"},
		{"disable", "nope"},
		{"reenable", "nope"},
		{"enable", "web"},
		{"mask", "web"},
		{"is-enabled", "web"},
		{"start", "web"},
		{"mask", "web"},
		{"unmask", "web"},
		{"start", "web"},
		{"mask", "nope"},
		{"unmask", "nope"},
		{"mask", "-q", "--now", "web"},
		{"is-active", "web"},
		{"unmask", "web", "-q"},
		{"link", outside},
		{"link", "outside.service"},
		{"enable", "outside"},
		{"is-enabled", "outside"},
		{"disable", "outside"},
		{"add-wants", "multi-user", "web"},
		{"add-requires", "multi-user.target", "vendor", "web"},
		{"add-wants", "multi-user.target", "nope"},
		{"is-enabled", "web", "vendor"},
		{"set-default", "app"},
		{"get-default"},
		{"set-default", "nope"},
		{"set-default", "web.service"},
		{"set-default"},
		{"revert", "web"},
		{"is-enabled", "web"},
		{"edit", "vendor"},
		{"show", "-P", "Description", "vendor"},
		{"edit", "vendor"},
		{"revert", "vendor"},
		{"show", "-P", "Description", "vendor"},
		{"edit", "nope"},
		{"edit", "--runtime", "--full", "nope"},
		{"set-environment", "A=hello world", "B=it's", "C=plain", "D=tab\tnew\nline"},
		{"show-environment"},
		{"show-environment", "-o", "json"},
		{"show-environment", "-o", "json-pretty"},
		{"unset-environment", "A", "C=other", "NOPE"},
		{"show-environment"},
		{"set-environment", "1A=x"},
		{"set-environment", "FOO"},
		{"unset-environment", "X Y"},
		{"set-environment"},
		{"show-environment", "x"},
		{"import-environment", "IMPORTED", "MISSING"},
		{"import-environment", "1x"},
		{"show-environment"},
		{"set-property", "web", "Description=New web"},
		{"show", "-P", "Description", "web"},
		{"set-property", "web", "Bogus=1"},
		{"set-property", "web", "ExecStart=/bin/true"},
		{"set-property", "web", "Description"},
		{"set-property", "web"},
		{"set-property", "nope", "Description=x"},
		{"status", "999999"},
		{"help", "web"},
		{"help", "nope"},
		{"daemon-reexec"},
		{"daemon-reexec", "x"},
		{"is-active", "good", "web"},
		{"cat", "good"},
	} {
		t.Run(strings.Join(args, "_"), func(t *testing.T) {
			if args[0] == "cat" {
				// changed on disk since both managers loaded it: cat warns
				os.WriteFile(filepath.Join(units, "good.service"), []byte(fileUnits["good.service"]+"# changed\n"), 0o644)
			}
			tty := args[0] == "edit"
			want, wantCode, wantSeen := systemctl(tty, args...)
			got, gotCode, gotSeen := flint(tty, args...)
			want = strings.ReplaceAll(want, "'systemctl ", "'flint ") // "Run 'systemctl edit ..."
			if args[0] == "show-environment" {
				want, got = lang.ReplaceAllString(want, ""), lang.ReplaceAllString(got, "")
			}
			if args[0] == "disable" {
				want, got = sortedLines(want), sortedLines(got) // systemctl removes in readdir order
			}
			if want != got || wantCode != gotCode {
				t.Errorf("systemctl %q: exit %d\n%q\nflint: exit %d\n%q", args, wantCode, want, gotCode, got)
			}
			if wantSeen != gotSeen {
				t.Errorf("the editor got from systemctl:\n%s\nfrom flint:\n%s", wantSeen, gotSeen)
			}
		})
	}
	// status PID: each its own process of good.service
	t.Run("status_PID", func(t *testing.T) {
		sdPID, _, _ := systemctl(false, "show", "-P", "MainPID", "good")
		flPID, _, _ := flint(false, "show", "-P", "MainPID", "good")
		want, wantCode, _ := systemctl(false, "status", "-n0", strings.TrimSpace(sdPID))
		got, gotCode, _ := flint(false, "status", "-n0", strings.TrimSpace(flPID))
		first := func(s string) string { // the unit's line ("changed on disk" may come before)
			_, l, _ := strings.Cut("\n"+s, "\n●")
			l, _, _ = strings.Cut(l, "\n")
			return l
		}
		if first(want) == "" || first(want) != first(got) || wantCode != gotCode {
			t.Errorf("systemctl status %s: exit %d\n%s\nflint status %s: exit %d\n%s", sdPID, wantCode, want, flPID, gotCode, got)
		}
	})
}

// bootWithConfig writes files into WORK/units (WORK a new directory, the same path inside
// systemd's namespaces) and starts on them systemd 252, with an empty /etc/systemd (its
// configuration directory /etc/systemd/system comes first in its unit path), and a flint
// manager on --units ETC --units WORK/units (ETC its configuration directory). Both are
// stopped when the test ends.
func bootWithConfig(t *testing.T, ctx context.Context, files map[string]string) (work, units, etc string, sd *difftest.Systemd, m *manager) {
	t.Helper()
	work = t.TempDir()
	units = filepath.Join(work, "units")
	os.MkdirAll(units, 0o755)
	for n, c := range files {
		if err := os.WriteFile(filepath.Join(units, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sd, err := difftest.BootWith(ctx, work, "/etc/systemd/system:"+units+":", difftest.BootOptions{PrivateConfig: true})
	if err != nil {
		t.Fatalf("boot systemd: %v", err)
	}
	t.Cleanup(func() { sd.Stop() })
	etc = t.TempDir()
	return work, units, etc, sd, startManagerDirs(t, etc, units)
}

func sortedLines(s string) string {
	lines := strings.SplitAfter(s, "\n")
	sort.Strings(lines)
	return strings.Join(lines, "")
}
