package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/utmp"
)

// TestExecUtmp: UtmpIdentifier= with UtmpMode=user writes INIT_PROCESS, LOGIN_PROCESS and
// USER_PROCESS records before the service runs (who(1) in it sees its own login), and
// DEAD_PROCESS when it exits, in utmp and wtmp (files of a private mount namespace).
func TestExecUtmp(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: a private mount namespace")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	u, w := filepath.Join(dir, "utmp"), filepath.Join(dir, "wtmp")
	for _, p := range []string{u, w} {
		os.WriteFile(p, nil, 0o664)
	}
	out := filepath.Join(dir, "who")
	units := writeUnits(t, map[string]string{
		"login.service": unitFile("Service", "Type=oneshot\nUtmpIdentifier=fl9\nUtmpMode=user\nTTYPath=/dev/pts/99\n"+
			"ExecStart=/bin/sh -c 'who /run/utmp >"+out+"'"),
		"init.service": unitFile("Service", "Type=oneshot\nUtmpIdentifier=initsvc\n"+
			"ExecStart=/bin/sh -c 'exit 4'"),
	})
	script := "mount -t tmpfs tmpfs /run && touch /run/utmp && mount --bind " + u + " /run/utmp && mount --bind " + w +
		" /var/log/wtmp && "
	m := launchManager(t, units, launchOptions{stopWait: 10 * time.Second,
		wrap: []string{"unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script + `exec "$@"`, "sh"}})
	c := on(t, m)
	c.start("login.service")
	if who := readWait(t, out); !strings.HasPrefix(who, "root     pts/99") {
		t.Errorf("who in the service: %q", who)
	}
	c.run(1, "start", "init.service")
	c.waitState("init.service", "failed")
	initPID := c.prop("init.service", "ExecMainPID")
	var recs []utmp.Record
	ok := waitFor(10*time.Second, func() bool {
		b, _ := os.ReadFile(u)
		recs = recs[:0]
		for len(b) >= 384 {
			recs = append(recs, utmp.Unmarshal(b[:384]))
			b = b[384:]
		}
		return len(recs) == 2 && recs[1].Type == utmp.DeadProcess
	})
	if !ok || recs[0].Type != utmp.DeadProcess || recs[0].ID != "fl9" || recs[0].Line != "pts/99" || recs[0].PID <= 0 ||
		recs[0].Termination != 1 || recs[0].Exit != 0 || recs[1].ID != "tsvc" || strconv.Itoa(recs[1].PID) != initPID || recs[1].Exit != 4 {
		t.Errorf("utmp %+v (init.service pid %s)", recs, initPID)
	}
	b, _ := os.ReadFile(w)
	var types []int
	for len(b) >= 384 {
		r := utmp.Unmarshal(b[:384])
		types = append(types, r.Type)
		if r.Type == utmp.UserProcess && (r.User != "root" || r.Session != r.PID) {
			t.Errorf("USER_PROCESS %+v", r)
		}
		b = b[384:]
	}
	// login: INIT, LOGIN, USER, DEAD; init: INIT, DEAD.
	if want := []int{5, 6, 7, 8, 5, 8}; !slices.Equal(types, want) {
		t.Errorf("wtmp types %v, want %v", types, want)
	}
}
