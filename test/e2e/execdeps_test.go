package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExecDepsStart: a system service with PrivateTmp=yes and journal output shows the
// orderings systemd 252 adds for them (After=systemd-tmpfiles-setup.service,
// systemd-journald.socket, RequiresMountsFor=/var/tmp and its WorkingDirectory=) and still
// starts under flint run, where systemd-journald.socket does not exist and
// systemd-tmpfiles-setup.service is not part of the start: After= alone pulls in nothing.
func TestExecDepsStart(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("PrivateTmp= needs root")
	}
	// The report and the working directory live outside /tmp, which the service does not see.
	dir, err := os.MkdirTemp("/srv", "flint-execdeps-")
	if err != nil {
		t.Skipf("no directory outside /tmp: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	out := filepath.Join(dir, "out")
	marker := "flint-e2e-execdeps-" + filepath.Base(dir)
	units := writeUnits(t, map[string]string{
		"private-tmp.service": "[Service]\nType=oneshot\nRemainAfterExit=yes\nPrivateTmp=yes\n" +
			"WorkingDirectory=" + dir + "\n" +
			"ExecStart=/bin/sh -c 'test -z \"$(ls -A /tmp)$(ls -A /var/tmp)\" && touch /tmp/" + marker + " && echo private > " + out + "'\n",
	})
	m := startManager(t, units)
	after, code := m.flint("show", "-p", "After", "--value", "private-tmp.service")
	if code != 0 {
		t.Fatalf("show After: exit %d: %s", code, after)
	}
	for _, want := range []string{"systemd-tmpfiles-setup.service", "systemd-journald.socket", "sysinit.target", "basic.target"} {
		if !strings.Contains(" "+strings.TrimSpace(after)+" ", " "+want+" ") {
			t.Errorf("After=%s lacks %s", strings.TrimSpace(after), want)
		}
	}
	mounts, _ := m.flint("show", "-p", "RequiresMountsFor", "--value", "private-tmp.service")
	if got, want := strings.Fields(mounts), []string{dir, "/var/tmp"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("RequiresMountsFor=%q, want %q", got, want)
	}
	if o, code := m.flint("start", "private-tmp.service"); code != 0 {
		t.Fatalf("start private-tmp.service: exit %d: %s", code, o)
	}
	if b, err := os.ReadFile(out); err != nil || string(b) != "private\n" {
		t.Fatalf("the service's report: %q, %v (want an empty private /tmp and /var/tmp)", b, err)
	}
	if _, err := os.Stat(filepath.Join("/tmp", marker)); !os.IsNotExist(err) {
		t.Errorf("the service's /tmp/%s reached the host's /tmp (%v)", marker, err)
	}
	for _, u := range []string{"systemd-tmpfiles-setup.service", "systemd-journald.socket"} {
		if st, _ := m.flint("show", "-p", "ActiveState", "--value", u); strings.TrimSpace(st) != "inactive" {
			t.Errorf("%s is %q: an After= dependency started it", u, strings.TrimSpace(st))
		}
	}
}
