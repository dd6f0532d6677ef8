package sdbus

import (
	"encoding/binary"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// queuePair is a conn on one end of a socket pair, its writer running, and the other end.
func queuePair(t *testing.T) (*conn, *os.File) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fds[0]), "ours")
	fc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	c := newConn(&Server{logf: t.Logf}, fc.(*net.UnixConn))
	go c.writer()
	peer := os.NewFile(uintptr(fds[1]), "peer")
	t.Cleanup(func() { c.close(); peer.Close() })
	return c, peer
}

// message is an encoded message of n bytes with a serial set (the writer sends it as it is).
func message(n int) []byte {
	b := make([]byte, n)
	binary.LittleEndian.PutUint32(b[8:12], 1)
	return b
}

// TestQueueBurst: 50,000 small messages queued at once (the UnitNew signals of a call
// that loads as many units) reach a client that reads them, as sd-bus would queue them.
func TestQueueBurst(t *testing.T) {
	c, peer := queuePair(t)
	const n, size = 50000, 64
	for i := 0; i < n; i++ {
		c.queue(message(size))
	}
	got, err := io.ReadFull(peer, make([]byte, n*size))
	if err != nil || got != n*size {
		t.Fatalf("read %d of %d bytes: %v", got, n*size, err)
	}
	select {
	case <-c.done:
		t.Fatal("the client that read everything was dropped")
	default:
	}
}

// TestQueueBytesBound: a client that reads nothing is dropped once what waits for it passes
// outQueueBytes, and nothing more is queued for it.
func TestQueueBytesBound(t *testing.T) {
	c, _ := queuePair(t)
	for i := 0; i <= outQueueBytes>>20+1; i++ {
		c.queue(message(1 << 20))
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatal("a client that reads nothing is still served")
	}
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if c.outBytes > outQueueBytes {
		t.Errorf("%d bytes queued, more than %d", c.outBytes, outQueueBytes)
	}
}
