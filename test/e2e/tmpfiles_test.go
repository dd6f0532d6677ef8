package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tmpfilesNS is the private mount namespace flint runs in for TestTmpfilesSetupAtStart: a
// tmpfs over /run with the test's snippet in /run/tmpfiles.d, empty tmpfs mounts over the
// other tmpfiles.d directories (so that the host's snippets are not applied), and, with
// $FLINT_E2E_MASK=1, /dev/null over the host's systemd-tmpfiles (which makes it absent
// there: it is no longer an executable file). $FLINT_E2E_RUN are more flags for flint run.
const tmpfilesNS = `set -e
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir /run/tmpfiles.d
cp "$FLINT_E2E_CONF" /run/tmpfiles.d/
for d in /etc/tmpfiles.d /usr/local/lib/tmpfiles.d /usr/lib/tmpfiles.d; do
	if [ -d "$d" ]; then mount -t tmpfs -o mode=0755 tmpfs "$d"; fi
done
if [ "$FLINT_E2E_MASK" = 1 ]; then
	for b in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin; do
		if [ -e "$b/systemd-tmpfiles" ]; then mount --bind /dev/null "$b/systemd-tmpfiles"; fi
	done
fi
exec "$0" "$@" $FLINT_E2E_RUN
`

// TestTmpfilesSetupAtStart: a system manager on a machine without systemd-tmpfiles applies
// tmpfiles.d before its boot target starts (a service of the boot reads what a snippet
// created), shows systemd-tmpfiles-setup.service active, with the messages of the lines it
// refused in its log (file:line as systemd-tmpfiles writes them); with systemd-tmpfiles
// installed, or with --no-tmpfiles, it leaves the files alone, and units that require
// systemd-tmpfiles-setup.service still load and start it. Each manager runs in a private
// mount namespace whose /run is its own: nothing reaches the host's files.
func TestTmpfilesSetupAtStart(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a private mount namespace needs root")
	}
	conf := filepath.Join(t.TempDir(), "flint-e2e.conf")
	if err := os.WriteFile(conf, []byte(`# made by flint's e2e test
d /run/flint-e2e-tmpfiles 0750 root daemon -
f /run/flint-e2e-tmpfiles/greeting 0640 - - - hello from tmpfiles.d
L /run/flint-e2e-tmpfiles/link - - - - greeting
d /run/flint-e2e-tmpfiles/bad - no-such-user-e2e
F! /run/flint-e2e-tmpfiles/boot - - - - at boot
`), 0o644); err != nil {
		t.Fatal(err)
	}
	units := writeUnits(t, map[string]string{
		"default.target": "[Unit]\nWants=uses-tmpfiles.service\n",
		"uses-tmpfiles.service": `[Unit]
Requires=systemd-tmpfiles-setup.service
After=systemd-tmpfiles-setup.service
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/cat /run/flint-e2e-tmpfiles/greeting /run/flint-e2e-tmpfiles/link /run/flint-e2e-tmpfiles/boot
`,
	})
	for _, c := range []struct {
		name      string
		mask      bool
		flags     string
		applied   bool
		userState string
	}{
		{name: "absent", mask: true, applied: true, userState: "active"},
		{name: "installed", userState: "failed"},
		{name: "no-tmpfiles", mask: true, flags: "--no-tmpfiles", userState: "failed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			mask := "0"
			if c.mask {
				mask = "1"
			}
			m := launchManager(t, units, launchOptions{
				stopWait: 10 * time.Second,
				env: append(os.Environ(), "FLINT_E2E_CONF="+conf, "FLINT_E2E_MASK="+mask,
					"FLINT_E2E_RUN="+c.flags),
				wrap: []string{"unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", tmpfilesNS},
			})
			root := fmt.Sprintf("/proc/%d/root", m.cmd.Process.Pid)
			if !waitFor(20*time.Second, func() bool {
				out, _ := m.flint("show", "-P", "ActiveState", "uses-tmpfiles.service")
				return strings.TrimSpace(out) == c.userState
			}) {
				out, _ := m.flint("status", "uses-tmpfiles.service")
				t.Fatalf("uses-tmpfiles.service is not %s:\n%s", c.userState, out)
			}
			out, _ := m.flint("show", "-p", "LoadState,ActiveState,SubState,Description", "systemd-tmpfiles-setup.service")
			if want := "Description=Create System Files and Directories\nLoadState=loaded\nActiveState=active\nSubState=exited\n"; out != want {
				t.Errorf("systemd-tmpfiles-setup.service:\n%s\nwant\n%s", out, want)
			}
			dir := filepath.Join(root, "run/flint-e2e-tmpfiles")
			st, err := os.Lstat(dir)
			if !c.applied {
				if err == nil {
					t.Errorf("%s exists", dir)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sys := st.Sys().(*syscall.Stat_t); !st.IsDir() || st.Mode().Perm() != 0o750 || sys.Uid != 0 || sys.Gid != 1 {
				t.Errorf("%s: %v %d:%d", dir, st.Mode(), sys.Uid, sys.Gid)
			}
			if target, err := os.Readlink(filepath.Join(dir, "link")); err != nil || target != "greeting" {
				t.Errorf("link: %q %v", target, err)
			}
			if _, err := os.Lstat(filepath.Join(dir, "bad")); err == nil {
				t.Error("the line with an unknown user was applied")
			}
			logs, _ := m.flint("logs", "-u", "uses-tmpfiles.service")
			if !strings.Contains(logs, "hello from tmpfiles.d") || !strings.Contains(logs, "at boot") {
				t.Errorf("uses-tmpfiles.service logs:\n%s", logs)
			}
			logs, _ = m.flint("logs", "-u", "systemd-tmpfiles-setup.service")
			if want := "/run/tmpfiles.d/flint-e2e.conf:5: Failed to resolve user 'no-such-user-e2e': No such process"; !strings.Contains(logs, want) {
				t.Errorf("systemd-tmpfiles-setup.service logs lack %q:\n%s", want, logs)
			}
			if want := "Some tmpfiles.d lines were not applied (exit status 65)"; !strings.Contains(m.out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, m.out.String())
			}
		})
	}
}
