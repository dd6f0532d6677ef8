package manager

import (
	"bufio"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestOpenStdioFile: a FIFO given as a service's output opens without a reader (the manager's
// loop never waits in open(2)), the service gets a blocking file, and what it writes waits
// in the pipe for a reader; a regular file opens as before.
func TestOpenStdioFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "out.fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var f *os.File
	var err error
	go func() {
		defer close(done)
		f, err = openStdioFile(fifo, os.O_WRONLY|os.O_CREATE|syscall.O_NOCTTY, 0o644)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second): // a blocking open(2) never returns: no one reads
		t.Fatal("openStdioFile blocked on a FIFO without a reader")
	}
	if err != nil {
		t.Fatalf("open a FIFO without a reader: %v", err)
	}
	defer f.Close()
	flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	if err != nil || flags&unix.O_NONBLOCK != 0 {
		t.Errorf("the service's file is non-blocking (flags %#o, %v)", flags, err)
	}
	if _, err := f.WriteString("waiting\n"); err != nil {
		t.Fatalf("write: %v", err)
	}
	r, err := os.Open(fifo)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if line, err := bufio.NewReader(r).ReadString('\n'); line != "waiting\n" || err != nil {
		t.Errorf("read %q, %v", line, err)
	}

	reg := filepath.Join(dir, "out.log")
	g, err := openStdioFile(reg, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	g.WriteString("x")
	g.Close()
	if data, _ := os.ReadFile(reg); string(data) != "x" {
		t.Errorf("regular file: %q", data)
	}
	if _, err := openStdioFile(filepath.Join(dir, "missing/x"), os.O_RDONLY, 0); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}
