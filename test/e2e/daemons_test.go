package e2e

import (
	"os"
	"os/exec"
	"testing"
)

// realDaemon is one Debian 12 daemon that issue 3 runs under flint with its packaged, unchanged
// unit files (docs/daemons.md has the units, runtime needs and checks).
type realDaemon struct {
	name     string
	pkg      string   // Debian package that ships the units (installed by .ci/run)
	units    []string // packaged unit files, copied unchanged into the test's unit dir
	user     bool     // user units: flint run --user
	binaries []string // programs the daemon and its check need
}

var realDaemons = []realDaemon{
	{
		name:     "cups_notify",
		pkg:      "cups-daemon",
		units:    []string{"/lib/systemd/system/cups.socket", "/lib/systemd/system/cups.service"},
		binaries: []string{"/usr/sbin/cupsd", "/usr/bin/lpstat"},
	},
	{
		name:     "tinysshd_inetd",
		pkg:      "tinysshd",
		units:    []string{"/lib/systemd/system/tinysshd.socket", "/lib/systemd/system/tinysshd@.service"},
		binaries: []string{"/usr/sbin/tinysshd", "/usr/sbin/tinysshd-makekey", "/usr/bin/ssh-keyscan"},
	},
	{
		name:     "rpcbind_udp_tcp_unix",
		pkg:      "rpcbind",
		units:    []string{"/lib/systemd/system/rpcbind.socket", "/lib/systemd/system/rpcbind.service"},
		binaries: []string{"/sbin/rpcbind", "/usr/sbin/rpcinfo"},
	},
	{
		name: "gpg_agent_fdnames",
		pkg:  "gpg-agent",
		units: []string{
			"/usr/lib/systemd/user/gpg-agent.socket", "/usr/lib/systemd/user/gpg-agent-ssh.socket",
			"/usr/lib/systemd/user/gpg-agent-extra.socket", "/usr/lib/systemd/user/gpg-agent-browser.socket",
			"/usr/lib/systemd/user/gpg-agent.service",
		},
		user:     true,
		binaries: []string{"/usr/bin/gpg-agent", "/usr/bin/gpg-connect-agent", "/usr/bin/ssh-add"},
	},
}

// TestRealDaemons is the skeleton of issue 3. It already fails when a package is missing (a
// missing tool is a failed run, never a skip: .ci/run installs them); running the daemons
// under flint is still to be written.
func TestRealDaemons(t *testing.T) {
	for _, d := range realDaemons {
		t.Run(d.name, func(t *testing.T) {
			for _, p := range append(append([]string{}, d.units...), d.binaries...) {
				if _, err := os.Stat(p); err != nil {
					t.Fatalf("%v (install package %s: see docs/daemons.md and .ci/run)", err, d.pkg)
				}
			}
			if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", d.pkg).CombinedOutput(); err != nil ||
				string(out) != "install ok installed" {
				t.Fatalf("package %s: %q %v", d.pkg, out, err)
			}
			t.Skip("issue 3: running " + d.name + " under flint is not written yet (see docs/daemons.md)")
		})
	}
}
