package soak

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

// server is who answered a request: the process's pid and a token of its own (pids are
// reused).
type server struct {
	pid   int
	token string
}

// ask sends one request to the Accept=no socket and returns who served it.
func ask(port int, wait time.Duration) (server, error) {
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), wait)
	if err != nil {
		return server{}, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write([]byte("request\n")); err != nil {
		return server{}, err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return server{}, fmt.Errorf("no answer: %w", err)
	}
	var s server
	if _, err := fmt.Sscanf(line, "served %d %s\n", &s.pid, &s.token); err != nil {
		return server{}, fmt.Errorf("answer %q: %v", line, err)
	}
	return s, nil
}

// TestCrashLoop: requests arrive at 200 per second on an Accept=no socket
// (TriggerLimitIntervalSec=0) whose service answers one request and then crashes (exit 1;
// Restart=always, RestartSec=0, no start limit). The listening socket stays with the manager,
// so no request is lost; every request is served by a process of its own, NRestarts counts
// exactly the crashes, root's status answers all along and the manager's descriptors stay
// flat.
func TestCrashLoop(t *testing.T) {
	const port = 23404
	dir := openDir(t)
	bin := copyFile(t, hostileBin, dir)
	killLeftovers(t, bin)
	units := writeFiles(t, filepath.Join(dir, "units"), map[string]string{
		"crash.socket": fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\nTriggerLimitIntervalSec=0\nBacklog=4096\n", port),
		"crash.service": "[Unit]\nStartLimitIntervalSec=0\n[Service]\nExecStart=" + bin + " serve-once\n" +
			"Restart=always\nRestartSec=0\n",
	})
	m := startManager(t, units)
	f := newFigures(t)
	m.mustFlint(t, "start", "crash.socket")
	m.waitProps(t, "crash.socket", map[string]string{"ActiveState": "active", "SubState": "listening"})
	// One request first: the service has run (and been restarted) once before the baseline.
	if _, err := ask(port, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	m.waitProps(t, "crash.service", map[string]string{"NRestarts": "1", "SubState": "running"})
	before := m.usage()

	const rate = 200
	d := pick(time.Second, 15*time.Second)
	n := int(d.Seconds() * rate)
	p := m.startProbe("crash.service")
	var mu sync.Mutex
	var lat []time.Duration
	servers := map[server]bool{}
	lost := 0
	var firstErr error
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / rate)
	start := time.Now()
	for i := 0; i < n; i++ {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			by, err := ask(port, 10*time.Minute)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				lost++
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			lat = append(lat, time.Since(t0))
			servers[by] = true
		}()
	}
	tick.Stop()
	sent := time.Since(start)
	wg.Wait()
	took := time.Since(start)
	served := len(lat)
	// Each crash is followed by one restart: the last one leaves the service waiting for the
	// next request.
	got := m.waitProps(t, "crash.service", map[string]string{"NRestarts": strconv.Itoa(served + 1), "SubState": "running"})
	statusLat := p.stop()
	statusLat.check(t, "the service crashes after every request")
	if lost > 0 {
		t.Errorf("%d of %d requests lost (first: %v)", lost, n, firstErr)
	}
	if len(servers) != n-lost {
		t.Errorf("%d requests served by %d processes: a service that crashes after each request", n-lost, len(servers))
	}
	if s := m.props(t, "crash.socket", "ActiveState", "SubState"); s["ActiveState"] != "active" {
		t.Errorf("crash.socket after the crash loop: %v", s)
	}
	after, ok := m.fdsBackTo(before, 20*time.Second)
	if !ok {
		t.Errorf("manager descriptors: %d before the crash loop, %d 20s after", before.fds, after.fds)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	f.add("requests", "%d at %d/s (sent in %s, all answered after %s)", n, rate, sent.Round(time.Millisecond), took.Round(time.Millisecond))
	f.add("served / lost", "%d / %d", served, lost)
	f.add("service turnover", "%.0f crash-and-restart cycles/s (the machine's bound: each request starts a process)", float64(served)/took.Seconds())
	if served > 0 {
		f.add("request latency", "p50 %s, p99 %s, max %s", ms(lat[served/2]), ms(lat[served*99/100]), ms(lat[served-1]))
	}
	f.add("NRestarts", "%s (crashes: %d, the first request's included)", got["NRestarts"], served+1)
	f.add("manager before", "%s", before)
	f.add("manager after", "%s", after)
	f.add("root's status latency", "%s", statusLat)
}
