package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestGracefulStop checks the restart test's daemon (testdata/graceful.c): on SIGTERM it
// finishes the connection it serves, leaves queued connections in the listening socket and
// exits 0.
func TestGracefulStop(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "graceful")
	if out, err := exec.Command("gcc", "-O2", "-o", bin, "testdata/graceful.c", "-lsystemd").CombinedOutput(); err != nil {
		t.Skipf("cannot build graceful.c (libsystemd-dev?): %v: %s", err, out)
	}
	sock := filepath.Join(dir, "g.sk")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	lf, err := ln.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	// sh's $$ is the pid that exec keeps: LISTEN_PID is right.
	cmd := exec.Command("/bin/sh", "-c", "LISTEN_PID=$$ LISTEN_FDS=1 exec "+bin)
	cmd.ExtraFiles = []*os.File{lf}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lf.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	echo := func(c net.Conn, r *bufio.Reader, s string) {
		t.Helper()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write([]byte(s + "\n")); err != nil {
			t.Fatal(err)
		}
		got, err := r.ReadString('\n')
		if err != nil || got != s+"\n" {
			t.Fatalf("echo %q: got %q, %v", s, got, err)
		}
	}
	a, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ra := bufio.NewReader(a)
	echo(a, ra, "before")
	cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(100 * time.Millisecond)
	// In flight when SIGTERM came: still served.
	echo(a, ra, "after")
	b, err := net.Dial("unix", sock) // queued: must stay in the queue
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	a.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("graceful exited with %v, want 0", err)
		}
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatal("graceful did not exit after SIGTERM and its connection's end")
	}
	// The queued connection is still there for the next server (here: us).
	ln.(*net.UnixListener).SetDeadline(time.Now().Add(2 * time.Second))
	c, err := ln.Accept()
	if err != nil {
		t.Fatalf("queued connection lost: %v", err)
	}
	c.Close()
}
