package procnet

import (
	"path/filepath"
	"syscall"
	"testing"
)

func TestUnixListening(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sk")
	if UnixListening(path) {
		t.Fatal("listening before the socket exists")
	}
	// Bound but not listening yet: the file exists, the socket is not listening.
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if UnixListening(path) {
		t.Error("listening after bind alone")
	}
	if err := syscall.Listen(fd, 1); err != nil {
		t.Fatal(err)
	}
	if !UnixListening(path) {
		t.Error("not listening after listen")
	}
}

// CountUnixListening counts the listening sockets under a prefix, not bound-only ones nor
// those elsewhere.
func TestCountUnixListening(t *testing.T) {
	dir := t.TempDir()
	for i, name := range []string{"a.sk", "b.sk", "bound.sk"} {
		fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer syscall.Close(fd)
		if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: filepath.Join(dir, name)}); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			if err := syscall.Listen(fd, 1); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := CountUnixListening(dir + "/"); got != 2 {
		t.Errorf("CountUnixListening = %d, want 2", got)
	}
	if got := CountUnixListening(dir + "/none"); got != 0 {
		t.Errorf("CountUnixListening of another prefix = %d, want 0", got)
	}
}
