package soak

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// dialFrom connects to port on 127.0.0.1 from the loopback address src and reads the first
// line: accepted (the service said hi, the connection is returned open), refused (closed
// without a word), or an error.
func dialFrom(src string, port int, wait time.Duration) (c net.Conn, accepted bool, err error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: wait}
	c, err = d.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return nil, false, err
	}
	c.SetReadDeadline(time.Now().Add(wait))
	line, err := bufio.NewReader(c).ReadString('\n')
	switch {
	case err == nil && line == "hi\n":
		c.SetReadDeadline(time.Time{})
		return c, true, nil
	case errors.Is(err, io.EOF) && line == "", isReset(err) && line == "":
		c.Close()
		return nil, false, nil
	case err == nil:
		err = fmt.Errorf("greeting %q", line)
	}
	c.Close()
	return nil, false, err
}

func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

// TestAcceptFlood: an Accept=yes socket with MaxConnections=50 and MaxConnectionsPerSource=10.
// First 20 connections from each of six loopback sources are held open: exactly 50 are
// served, none from one source beyond 10, the 70 others closed at once, as the socket's
// counters say too. Then a flood of short connections from 24 clients: every one is served or
// refused (none lost), the counters match the clients' count, root's status answers all
// along, and the manager's descriptors come back.
func TestAcceptFlood(t *testing.T) {
	const port, maxConn, perSource = 23403, 50, 10
	dir := openDir(t)
	bin := copyFile(t, hostileBin, dir)
	killLeftovers(t, bin)
	units := writeFiles(t, filepath.Join(dir, "units"), map[string]string{
		"flood.socket": fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\nAccept=yes\nMaxConnections=%d\nMaxConnectionsPerSource=%d\n"+
			"TriggerLimitIntervalSec=0\nBacklog=4096\n", port, maxConn, perSource),
		"flood@.service": "[Service]\nExecStart=" + bin + " hold\nStandardInput=socket\n",
	})
	m := startManager(t, units)
	m.mustFlint(t, "start", "flood.socket")
	m.waitProps(t, "flood.socket", map[string]string{"ActiveState": "active", "SubState": "listening"})
	sources := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6", "127.0.0.7"}

	t.Run("limits", func(t *testing.T) {
		f := newFigures(t)
		const each = 20
		var mu sync.Mutex
		var held []net.Conn
		served := map[string]int{}
		refused, failed := 0, 0
		var wg sync.WaitGroup
		for _, src := range sources {
			for i := 0; i < each; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, ok, err := dialFrom(src, port, 60*time.Second)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err != nil:
						failed++
						t.Errorf("from %s: %v", src, err)
					case ok:
						held = append(held, c)
						served[src]++
					default:
						refused++
					}
				}()
			}
		}
		wg.Wait()
		total := len(held)
		for src, n := range served {
			if n > perSource {
				t.Errorf("%d connections served from %s, MaxConnectionsPerSource=%d", n, src, perSource)
			}
		}
		want := map[string]string{"NConnections": strconv.Itoa(maxConn), "NAccepted": strconv.Itoa(maxConn),
			"NRefused": strconv.Itoa(len(sources)*each - maxConn)}
		if total != maxConn || refused != len(sources)*each-maxConn {
			t.Errorf("%d served, %d refused of %d; want %d served (MaxConnections=%d)", total, refused, len(sources)*each, maxConn, maxConn)
		}
		got := m.waitProps(t, "flood.socket", want)
		for _, c := range held {
			c.Close()
		}
		m.waitProps(t, "flood.socket", map[string]string{"NConnections": "0"})
		f.add("connections", "%d from each of %d sources, held", each, len(sources))
		f.add("served / refused / failed", "%d / %d / %d", total, refused, failed)
		f.add("served per source", "%s", brief(served))
		f.add("socket counters", "%s", brief(got))
	})

	t.Run("flood", func(t *testing.T) {
		f := newFigures(t)
		n := pick(600, 10000)
		const perSrc = 4 // clients per source: below MaxConnectionsPerSource even with a lag
		start0 := m.props(t, "flood.socket", "NAccepted", "NRefused")
		before := m.usage()
		p := m.startProbe("flood.socket")
		var mu sync.Mutex
		accepted, refused, failed := 0, 0, 0
		var firstErr error
		next := make(chan struct{}, n)
		for i := 0; i < n; i++ {
			next <- struct{}{}
		}
		close(next)
		start := time.Now()
		var wg sync.WaitGroup
		for _, src := range sources {
			for w := 0; w < perSrc; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range next {
						c, ok, err := dialFrom(src, port, 60*time.Second)
						mu.Lock()
						switch {
						case err != nil:
							failed++
							if firstErr == nil {
								firstErr = err
							}
						case ok:
							accepted++
							c.Close()
						default:
							refused++
						}
						mu.Unlock()
					}
				}()
			}
		}
		wg.Wait()
		took := time.Since(start)
		peak := m.usage()
		lat := p.stop()
		lat.check(t, "the socket is flooded")
		if failed > 0 {
			t.Errorf("%d of %d connections neither served nor refused (first: %v)", failed, n, firstErr)
		}
		got := m.waitProps(t, "flood.socket", map[string]string{"NConnections": "0",
			"NAccepted": strconv.Itoa(atoi(t, start0["NAccepted"]) + accepted),
			"NRefused":  strconv.Itoa(atoi(t, start0["NRefused"]) + refused)})
		after, ok := m.fdsBackTo(before, 20*time.Second)
		if !ok {
			t.Errorf("manager descriptors: %d before the flood, %d 20s after", before.fds, after.fds)
		}
		f.add("connections", "%d from %d clients on %d sources", n, perSrc*len(sources), len(sources))
		f.add("served / refused / lost", "%d / %d / %d", accepted, refused, failed)
		f.add("rate", "%.0f connections/s over %s", float64(n)/took.Seconds(), took.Round(time.Millisecond))
		f.add("socket counters", "%s", brief(got))
		f.add("manager before", "%s", before)
		f.add("manager after the flood", "%s", peak)
		f.add("manager settled", "%s", after)
		f.add("root's status latency", "%s", lat)
	})
}
