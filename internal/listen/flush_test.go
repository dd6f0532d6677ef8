package listen

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/unit"
)

func TestFlush(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		spec unit.Listen
		fill func(t *testing.T, s *Socket)
	}{
		{"stream", tcp("127.0.0.1", 20280), func(t *testing.T, s *Socket) {
			for i := 0; i < 3; i++ {
				c, err := net.Dial("tcp", "127.0.0.1:20280")
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
			}
		}},
		{"datagram", udp("127.0.0.1", 20281), func(t *testing.T, s *Socket) {
			c, err := net.Dial("udp", "127.0.0.1:20281")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for i := 0; i < 5; i++ {
				c.Write([]byte("datagram"))
			}
		}},
		{"fifo", unit.Listen{Kind: unit.ListenFIFO, Path: filepath.Join(dir, "fifo")}, func(t *testing.T, s *Socket) {
			w, err := os.OpenFile(filepath.Join(dir, "fifo"), os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(make([]byte, 10000)) // below the pipe capacity: the write must not block
			w.Close()
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := mustOpen(t, tc.spec, nil)
			// The manager hands Accept=no sockets to services in blocking mode; Flush
			// must not block on them.
			if err := unix.SetNonblock(s.Fd(), false); err != nil {
				t.Fatal(err)
			}
			tc.fill(t, s)
			waitReadable(t, s.Fd())
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
			pfd := []unix.PollFd{{Fd: int32(s.Fd()), Events: unix.POLLIN}}
			if n, _ := unix.Poll(pfd, 50); n != 0 {
				t.Errorf("still readable after Flush")
			}
		})
	}
}

func TestDup(t *testing.T) {
	s := mustOpen(t, tcp("127.0.0.1", 20282), nil)
	f, err := s.Dup()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	checkFdFlags(t, fd, false) // close-on-exec; the blocking mode is shared with the original
	if fd == s.Fd() {
		t.Fatal("Dup returned the same descriptor")
	}
	sa, err := unix.Getsockname(fd)
	if err != nil || sa.(*unix.SockaddrInet4).Port != 20282 {
		t.Errorf("getsockname = %v %v", sa, err)
	}
}
