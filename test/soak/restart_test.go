package soak

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// settle waits until the manager has no job queued (its boot is over).
func (m *manager) settle(t *testing.T) {
	t.Helper()
	var ov struct {
		Jobs  int    `json:"jobs"`
		State string `json:"state"`
	}
	if !waitUntil(60*time.Second, func() bool {
		r, err := request(m.control, `{"verb":"ping"}`, 10*time.Second)
		return err == nil && json.Unmarshal(r.Data, &ov) == nil && ov.Jobs == 0
	}) {
		t.Fatalf("the manager still has jobs after 60s (%+v)", ov)
	}
}

// TestManagerSIGKILL (issue 16, item 7): a manager runs an enabled Accept=no socket whose
// service is active and an enabled daemon; it is killed with SIGKILL, and its services keep
// running. The next `flint run` on the same directories takes over: the socket listens again
// and is answered, exactly one copy of each service runs (the old process adopted as the main
// process, or stopped and started anew), and nothing fails with "address already in use".
func TestManagerSIGKILL(t *testing.T) {
	const port = 23405
	dir := openDir(t)
	var exes []string
	for _, name := range []string{"kept", "daemon"} {
		d := filepath.Join(dir, name)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		exes = append(exes, copyFile(t, hostileBin, d))
	}
	killLeftovers(t, exes...)
	units := writeFiles(t, filepath.Join(dir, "units"), map[string]string{
		"kept.socket":                            fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\n[Install]\nWantedBy=sockets.target\n", port),
		"kept.service":                           "[Service]\nExecStart=" + exes[0] + " serve\n",
		"daemon.service":                         "[Service]\nExecStart=" + exes[1] + " sleep\n[Install]\nWantedBy=multi-user.target\n",
		"sockets.target.wants/kept.socket":       "-> ../kept.socket",
		"multi-user.target.wants/daemon.service": "-> ../daemon.service",
	})
	f := newFigures(t)
	rounds := pick(1, 5)
	m := startManager(t, units)
	for r := 0; r < rounds; r++ {
		m.settle(t)
		m.waitProps(t, "kept.socket", map[string]string{"ActiveState": "active"})
		m.waitProps(t, "daemon.service", map[string]string{"ActiveState": "active", "SubState": "running"})
		before, err := ask(port, 30*time.Second)
		if err != nil {
			t.Fatalf("round %d: before the kill: %v", r, err)
		}
		oldKept, oldDaemon := pidsOf(exes[0]), pidsOf(exes[1])
		m.kill9()
		for i, pids := range [][]int{oldKept, oldDaemon} {
			if len(pids) != 1 || syscall.Kill(pids[0], 0) != nil {
				t.Fatalf("round %d: %s processes %v after the manager's SIGKILL, want one still running", r, exes[i], pids)
			}
		}
		start := time.Now()
		m = launch(t, units, m.control)
		m.settle(t)
		took := time.Since(start)
		sock := m.props(t, "kept.socket", "ActiveState", "SubState", "Result")
		answer, askErr := ask(port, 30*time.Second)
		m.settle(t)
		kept, daemon := pidsOf(exes[0]), pidsOf(exes[1])
		mains := m.props(t, "kept.service", "MainPID", "ActiveState")
		daemonMain := m.props(t, "daemon.service", "MainPID", "ActiveState")
		f.add(fmt.Sprintf("round %d", r), "served by %d before the kill; after it kept.socket %s, answered by %d (%v); "+
			"kept.service %s, processes %v (old %v); daemon.service %s, processes %v (old %v); settled in %s",
			before.pid, brief(sock), answer.pid, askErr, brief(mains), kept, oldKept, brief(daemonMain), daemon, oldDaemon, took.Round(time.Millisecond))
		if sock["ActiveState"] != "active" {
			t.Errorf("round %d: kept.socket after the restart: %v", r, sock)
		}
		if askErr != nil {
			t.Errorf("round %d: kept.socket not answered after the restart: %v", r, askErr)
		}
		for _, c := range []struct {
			unit string
			now  []int
			old  int
			main string
		}{{"kept.service", kept, oldKept[0], mains["MainPID"]}, {"daemon.service", daemon, oldDaemon[0], daemonMain["MainPID"]}} {
			if len(c.now) != 1 {
				t.Errorf("round %d: %d copies of %s run: %v (the old one was %d)", r, len(c.now), c.unit, c.now, c.old)
				continue
			}
			if c.now[0] == c.old && c.main != strconv.Itoa(c.old) {
				t.Errorf("round %d: the old %s process %d runs on, but MainPID=%s", r, c.unit, c.old, c.main)
			}
		}
		if out := m.out.String(); strings.Contains(strings.ToLower(out), "address already in use") {
			t.Errorf("round %d: the new manager says address already in use:\n%s", r, out)
		}
		if t.Failed() {
			return
		}
	}
}
