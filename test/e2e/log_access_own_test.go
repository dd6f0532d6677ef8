package e2e

import (
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testUser adds a regular user (uid from 1000 up, as useradd picks it) for the test and
// removes it at the end.
func testUser(t *testing.T, name string) *syscall.Credential {
	t.Helper()
	exec.Command("userdel", name).Run() // a leftover of a killed run
	if out, err := exec.Command("useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() { exec.Command("userdel", name).Run() })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if uid < 1000 {
		t.Fatalf("useradd gave %s uid %d, not a regular user's", name, uid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
}

// TestOwnLogLines: on the system manager a regular user reads the lines its own processes
// wrote (its service's output), as journald 252 keeps them in the user's own journal
// (SplitMode=uid) for it to read, with journalctl's hint that it sees no others; not root's
// lines, not the manager's messages, not another user's; status shows its lines with the
// warning that others were withheld. Another regular user, who wrote nothing, reads nothing.
func TestOwnLogLines(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root for useradd and User=")
	}
	tag := strconv.Itoa(os.Getpid())
	alice := testUser(t, "flinthz-a"+tag)
	bob := testUser(t, "flinthz-b"+tag)
	units := writeUnits(t, map[string]string{
		"mine.service":    unitFile("Service", "Type=oneshot\nRemainAfterExit=yes\nUser="+strconv.Itoa(int(alice.Uid))+"\nExecStart=/bin/echo alice-line"),
		"rootsvc.service": unitFile("Service", "Type=oneshot\nRemainAfterExit=yes\nExecStart=/bin/echo root-line"),
	})
	m := startManager(t, units)
	c := on(t, m)
	reachable(t, filepath.Dir(m.control))
	c.start("mine.service")
	c.start("rootsvc.service")
	for _, u := range []string{"mine.service", "rootsvc.service"} {
		u := u
		if !waitFor(10*time.Second, func() bool { out, _ := c.flint("logs", "-u", u); return strings.Contains(out, "-line") }) {
			t.Fatalf("%s's output never reached its log", u)
		}
	}
	bin := nobodyFlint(t)
	ctl := []string{"--control", m.control}
	runAccessCases(t, bin, ctl, []accessCase{
		{name: "alice_own_unit", cred: alice, args: []string{"logs", "-u", "mine.service"}, code: 0,
			want: []string{logHint, "alice-line"}, not: []string{"Started", "Finished", logDenied}},
		{name: "alice_all", cred: alice, args: []string{"logs"}, code: 0,
			want: []string{"alice-line"}, not: []string{"root-line", "Reached target", "Started"}},
		{name: "alice_quiet", cred: alice, args: []string{"logs", "-q", "-u", "mine.service"}, code: 0,
			want: []string{"alice-line"}, not: []string{"Hint"}},
		{name: "alice_root_unit", cred: alice, args: []string{"logs", "-u", "rootsvc.service"}, code: 0,
			want: []string{logHint, "-- No entries --"}, not: []string{"root-line"}},
		{name: "alice_status", cred: alice, args: []string{"status", "mine.service"}, code: 0,
			want: []string{"]: alice-line", logWarning}, not: []string{"Started", "Finished"}},
		{name: "bob_logs", cred: bob, args: []string{"logs", "-u", "mine.service"}, code: 1, exact: logHint + logDenied},
		{name: "bob_status", cred: bob, args: []string{"status", "mine.service"}, code: 0,
			want: []string{logWarning}, not: []string{"]: alice-line"}},
	})
}
