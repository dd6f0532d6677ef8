package soak

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// controlUnits is a manager for the control-socket cases: quiet.service runs and writes
// nothing (followers of its log wait for ever), busy.socket is a service's own socket, which
// must keep accepting while the control socket is flooded.
func controlUnits(t *testing.T, port int) *manager {
	t.Helper()
	dir := openDir(t)
	bin := copyFile(t, hostileBin, dir)
	killLeftovers(t, bin)
	units := writeFiles(t, filepath.Join(dir, "units"), map[string]string{
		"quiet.service": "[Service]\nExecStart=" + bin + " sleep\n",
		"busy.socket":   fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\nAccept=yes\n", port),
		"busy@.service": "[Service]\nExecStart=" + bin + " hold\nStandardInput=socket\n",
	})
	m := startManager(t, units)
	m.mustFlint(t, "start", "quiet.service", "busy.socket")
	m.waitProps(t, "quiet.service", map[string]string{"ActiveState": "active", "SubState": "running"})
	m.waitProps(t, "busy.socket", map[string]string{"ActiveState": "active", "SubState": "listening"})
	return m
}

// greeted connects to the Accept=yes socket and reports whether its service said hi.
func greeted(port int) error {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return fmt.Errorf("no greeting: %w", err)
	}
	if line != "hi\n" {
		return fmt.Errorf("greeting %q", line)
	}
	return nil
}

// TestControlSocket: garbage, oversize requests, slow-loris clients and idle clients on the
// control socket, all from nobody. Each is answered or cut off (nothing hangs), root's status
// answers all along, and the manager gives back every descriptor once the clients are gone.
func TestControlSocket(t *testing.T) {
	const port = 23401
	m := controlUnits(t, port)
	base := m.usage()
	for _, tc := range []struct {
		kind  string
		n     int
		check func(t *testing.T, h *hostile, n int)
	}{
		{"garbage", pick(300, 5000), func(t *testing.T, h *hostile, n int) {
			// Each answered bad-request, or refused by a limit on nobody's connections (with
			// an error or by closing); none taken for a request.
			got := h.count("bad_request") + h.count("refused") + h.count("closed")
			if got != n || h.count("answered") != 0 || h.count("bad_request") == 0 {
				t.Errorf("%d of %d garbage requests refused: %s", got, n, brief(h.result))
			}
		}},
		{"oversize", pick(20, 200), func(t *testing.T, h *hostile, n int) {
			// Cut off: a bad-request answer, a limit, or the connection closed under the writer.
			if got := h.count("bad_request") + h.count("refused") + h.count("closed"); got != n {
				t.Errorf("%d of %d oversize requests refused: %s", got, n, brief(h.result))
			}
		}},
		{"slowloris", pick(20, 500), func(t *testing.T, h *hostile, n int) {
			if got := h.count("bad_request") + h.count("refused") + h.count("closed"); got != n {
				t.Errorf("%d of %d slow clients cut off: %s", got, n, brief(h.result))
			}
			// The server's read timeout (10s, control.Server.ReadTimeout) bounds a request line.
			if ms := h.count("max_ms"); ms > 15000 {
				t.Errorf("a slow client was served for %d ms", ms)
			}
		}},
		{"idle", pick(500, 10000), func(t *testing.T, h *hostile, n int) {
			if got := h.count("opened"); got != n {
				t.Errorf("%d of %d idle clients connected: %s", got, n, brief(h.result))
			}
			if out, code := m.flint(t, "status", "quiet.service"); code != 0 {
				t.Errorf("flint status while %d clients idle: exit %d\n%s", n, code, out)
			}
		}},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			f := newFigures(t)
			before := m.usage()
			p := m.startProbe("quiet.service")
			start := time.Now()
			h := startHostile(t, false, "control", tc.kind, strconv.Itoa(tc.n), m.control, "quiet.service")
			peak := m.usage()
			tc.check(t, h, tc.n)
			if err := greeted(port); err != nil {
				t.Errorf("busy.socket while %s clients: %v", tc.kind, err)
			}
			// Let the probe see the held connections for a while.
			p.waitRequests(20, 10*time.Second)
			lat := p.stop()
			h.release()
			took := time.Since(start)
			after, ok := m.fdsBackTo(before, 20*time.Second)
			if !ok {
				t.Errorf("manager descriptors: %d before the %s clients, %d 20s after they left", before.fds, tc.kind, after.fds)
			}
			lat.check(t, tc.kind+" clients")
			f.add("clients (nobody)", "%d", tc.n)
			f.add("outcome", "%s", brief(h.result))
			f.add("duration", "%s", took.Round(time.Millisecond))
			f.add("manager before", "%s", before)
			f.add("manager with the clients", "%s", peak)
			f.add("manager after", "%s", after)
			f.add("root's status latency", "%s", lat)
		})
	}
	if after := m.usage(); after.fds > base.fds {
		t.Errorf("manager descriptors %d at the start, %d at the end", base.fds, after.fds)
	}
	if !m.running() {
		t.Fatalf("the manager died")
	}
}

// TestFollowFlood (issue 16, item 1): nobody opens many `logs --follow` connections on a
// unit that writes nothing, then exits. While they are held, root's status answers and a
// service's own socket still accepts; once the clients are gone, the manager holds no more
// descriptors than before (a closed peer ends its stream at once).
// followsPerUID is the most followed logs the control socket serves one uid other than root
// (control.DefaultLimits: 64, fewer with a small fd limit).
const followsPerUID = 64

func TestFollowFlood(t *testing.T) {
	const port = 23402
	m := controlUnits(t, port)
	f := newFigures(t)
	n := pick(1000, 19000)
	before := m.usage()
	p := m.startProbe("quiet.service")
	// In group adm, nobody may read the logs: its follows are served, up to the control
	// socket's limits for one uid, and the rest refused.
	h := startHostileIn(t, []string{"adm"}, "control", "follow", strconv.Itoa(n), m.control, "quiet.service")
	peak := m.usage()
	served, refused := h.count("answered"), h.count("refused")
	if served == 0 || served > followsPerUID || served+refused != n {
		t.Errorf("%d follows of one uid: %d served, %d refused (limit %d per uid): %v", n, served, refused, followsPerUID, h.result)
	}
	if e, _ := h.result["first_error"].(string); refused > 0 && !strings.HasPrefix(e, "limit: ") {
		t.Errorf("follows beyond the limit refused with %q, want the limit's message", e)
	}
	if err := greeted(port); err != nil {
		t.Errorf("busy.socket while %d follows are held: %v", n, err)
	}
	if out, code := m.flint(t, "status", "quiet.service"); code != 0 {
		t.Errorf("flint status while %d follows are held: exit %d\n%s", n, code, out)
	}
	p.waitRequests(20, 10*time.Second)
	lat := p.stop()
	released := time.Now()
	h.release()
	after, ok := m.fdsBackTo(before, 10*time.Second)
	back := time.Since(released)
	lat.check(t, "nobody holds follows")
	if !ok {
		t.Errorf("manager descriptors: %d before %d follows, %d 10s after their clients exited", before.fds, n, after.fds)
	}
	f.add("follow connections (nobody)", "%d", n)
	f.add("outcome", "%s", brief(h.result))
	f.add("manager before", "%s", before)
	f.add("manager with the follows", "%s", peak)
	f.add("manager after", "%s (%s after the clients exited)", after, back.Round(time.Millisecond))
	f.add("root's status latency", "%s", lat)
}
