package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// socketInode identifies the socket file at path (a re-created socket gets a new inode).
func socketInode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// TestDaemonReloadKeepsSockets: daemon-reload re-reads changed unit files without losing
// anything: the socket (its Listen= unchanged) keeps its fd, so a connection made during the
// reloads is never refused, the running service keeps running (same MainPID) and serves
// clients throughout; with the service stopped, a connection that arrives during a reload is
// held by the kept socket and served by the service it activates.
func TestDaemonReloadKeepsSockets(t *testing.T) {
	server := copyExecutable(t, foobardC)
	units, sock := foobarUnits(t, server)
	m := startManager(t, units)
	c := on(t, m)
	if !waitFor(10*time.Second, func() bool { return isSocket(sock) }) {
		t.Fatalf("%s is not a socket", sock)
	}
	if got, err := echo(sock, "first"); err != nil || got != "first" {
		t.Fatalf("echo = %q, %v", got, err)
	}
	pid := c.prop("foobar.service", "MainPID")
	ino := socketInode(t, sock)

	// Change both files (not Listen=) so that the reload has something to apply.
	rewrite := func(desc string) {
		os.WriteFile(filepath.Join(units, "foobar.socket"), []byte("[Unit]\nDescription="+desc+" socket\n\n[Socket]\nListenStream="+sock+"\nBacklog=128\n"), 0o644)
		os.WriteFile(filepath.Join(units, "foobar.service"), []byte("[Unit]\nDescription="+desc+" daemon\n\n[Service]\nExecStart="+server+"\n"), 0o644)
	}

	t.Run("running_service_serves_during_reloads", func(t *testing.T) {
		var stop atomic.Bool
		var served, failed atomic.Int32
		var firstErr atomic.Value
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; !stop.Load(); i++ {
					msg := fmt.Sprintf("w%d-%d", w, i)
					if got, err := echo(sock, msg); err != nil || got != msg {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, fmt.Sprintf("%s: %q, %v", msg, got, err))
						continue
					}
					served.Add(1)
				}
			}(w)
		}
		for i := 0; i < 10; i++ {
			rewrite(fmt.Sprintf("round %d", i))
			if out, code := c.flint("daemon-reload"); code != 0 {
				t.Errorf("daemon-reload %d: exit %d %s", i, code, out)
			}
		}
		stop.Store(true)
		wg.Wait()
		if failed.Load() > 0 || served.Load() == 0 {
			t.Errorf("during 10 reloads: %d served, %d failed (first: %v)", served.Load(), failed.Load(), firstErr.Load())
		}
		got := c.props("foobar.service", "MainPID", "ActiveState", "Description")
		if got["MainPID"] != pid || got["ActiveState"] != "active" || got["Description"] != "round 9 daemon" {
			t.Errorf("foobar.service after the reloads: %v, want MainPID %s, active, the new Description", got, pid)
		}
		if d := c.prop("foobar.socket", "Description"); d != "round 9 socket" {
			t.Errorf("foobar.socket Description=%q after reload", d)
		}
		if now := socketInode(t, sock); now != ino {
			t.Errorf("the socket file was re-created by daemon-reload (inode %d -> %d)", ino, now)
		}
	})

	t.Run("connection_during_reload_activates", func(t *testing.T) {
		if out, code := c.flint("stop", "foobar.service"); code != 0 {
			t.Fatalf("stop: exit %d %s", code, out)
		}
		// Connect (the kernel queues it on the kept socket), then reload at once, then talk.
		conn, err := net.DialTimeout("unix", sock, 5*time.Second)
		if err != nil {
			t.Fatalf("connect to the stopped service's socket: %v", err)
		}
		defer conn.Close()
		rewrite("after stop")
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; i < 3; i++ {
				c.flint("daemon-reload")
			}
		}()
		conn.SetDeadline(time.Now().Add(15 * time.Second))
		fmt.Fprintf(conn, "held across reloads\n")
		buf := make([]byte, 64)
		n, err := conn.Read(buf)
		<-done
		if err != nil || string(buf[:n]) != "held across reloads\n" {
			t.Errorf("the connection made during the reload read %q, %v", buf[:n], err)
		}
		if now := socketInode(t, sock); now != ino {
			t.Errorf("socket re-created (inode %d -> %d)", ino, now)
		}
		if newPID := c.prop("foobar.service", "MainPID"); newPID == pid || newPID == "0" {
			t.Errorf("MainPID %s: want a new activation", newPID)
		}
	})

	t.Run("changed_listen_applies_at_restart", func(t *testing.T) {
		other := filepath.Join(filepath.Dir(sock), "other.sk")
		os.WriteFile(filepath.Join(units, "foobar.socket"), []byte("[Socket]\nListenStream="+other+"\n"), 0o644)
		c.flint("daemon-reload")
		if got, err := echo(sock, "old address"); err != nil || got != "old address" {
			t.Errorf("old address after reload with a new Listen=: %q, %v", got, err)
		}
		c.flint("stop", "foobar.service")
		if out, code := c.flint("restart", "foobar.socket"); code != 0 {
			t.Fatalf("restart foobar.socket: exit %d %s", code, out)
		}
		if !waitFor(10*time.Second, func() bool { return isSocket(other) }) {
			t.Fatalf("%s not created by the restart", other)
		}
		if got, err := echo(other, "new address"); err != nil || got != "new address" {
			t.Errorf("new address: %q, %v", got, err)
		}
	})
}

// startManagerDirs is startManager with several unit directories (the first one is where
// mask, enable and link write).
func startManagerDirs(t *testing.T, dirs ...string) *manager {
	t.Helper()
	return launchManager(t, dirs[0], launchOptions{more: dirs[1:], stopWait: 10 * time.Second})
}

// TestMaskWhileRunning: mask + daemon-reload on a running service: it keeps running but shows
// masked and refuses a new start once stopped; unmask + daemon-reload makes it startable.
func TestMaskWhileRunning(t *testing.T) {
	etc, lib := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(lib, "p.service"), []byte("[Service]\nExecStart=/bin/sleep 1000\n"), 0o644)
	m := startManagerDirs(t, etc, lib)
	c := on(t, m)
	dirs := []string{"--units", etc, "--units", lib}
	c.start("p.service")
	pid := c.prop("p.service", "MainPID")
	if out, code := runFlint(t, append(dirs, "mask", "p.service")...); code != 0 || !strings.Contains(out, "Created symlink") {
		t.Fatalf("mask: exit %d %s", code, out)
	}
	if out, code := c.flint("daemon-reload"); code != 0 {
		t.Fatalf("daemon-reload: exit %d %s", code, out)
	}
	if got := c.props("p.service", "LoadState", "ActiveState", "MainPID"); got["LoadState"] != "masked" || got["ActiveState"] != "active" || got["MainPID"] != pid {
		t.Errorf("after mask and daemon-reload: %v, want masked, still active with MainPID %s", got, pid)
	}
	if out, code := c.flint("stop", "p.service"); code != 0 {
		t.Errorf("stop of a masked running unit: exit %d %s", code, out)
	}
	if out, code := c.flint("start", "p.service"); code != 1 || out != "Failed to start p.service: Unit p.service is masked.\n" {
		t.Errorf("start masked: exit %d %q", code, out)
	}
	if out, code := runFlint(t, append(dirs, "unmask", "p.service")...); code != 0 {
		t.Fatalf("unmask: exit %d %s", code, out)
	}
	c.flint("daemon-reload")
	if out, code := c.flint("start", "p.service"); code != 0 {
		t.Errorf("start after unmask and daemon-reload: exit %d %s", code, out)
	}
}
