package sdbus

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"
)

// File descriptors a client passes with a message (SCM_RIGHTS, once NEGOTIATE_UNIX_FD was
// agreed): systemd-run --pipe gives its stdin, stdout and stderr as StartTransientUnit's
// Standard*FileDescriptor properties (type 'h', an index into the message's fds).

// maxMessageFDs is the most fds one message may carry (the kernel's SCM_MAX_FD, which
// dbus-daemon also allows); maxQueuedFDs bounds those received and not yet claimed by a
// message: a client that sends more is dropped.
const (
	maxMessageFDs = 253
	maxQueuedFDs  = 4 * maxMessageFDs
)

// fdReader reads a unix connection's bytes and collects the fds that come with them. The
// fds of a message come with its first byte, so the fds queued when a message has been
// decoded begin with that message's (a buffered reader may have read on into the next).
type fdReader struct {
	nc     *net.UnixConn
	oob    []byte
	queued []*os.File
	err    error // too many fds, or bad control data
}

func newFDReader(nc *net.UnixConn) *fdReader {
	return &fdReader{nc: nc, oob: make([]byte, unix.CmsgSpace(maxMessageFDs*4))}
}

func (r *fdReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	// Go reads unix sockets' control messages with MSG_CMSG_CLOEXEC.
	n, oobn, flags, _, err := r.nc.ReadMsgUnix(p, r.oob)
	if oobn > 0 {
		if ferr := r.collect(r.oob[:oobn]); ferr != nil {
			r.err = ferr
		}
	}
	if flags&unix.MSG_CTRUNC != 0 && r.err == nil {
		r.err = errors.New("D-Bus: control data truncated (too many fds)")
	}
	if n < 0 {
		n = 0
	}
	if r.err != nil && err == nil && n == 0 {
		err = r.err
	}
	if n == 0 && err == nil && len(p) > 0 {
		err = io.EOF // recvmsg's 0 on a stream: the peer hung up (ReadMsgUnix does not say so)
	}
	return n, err
}

// collect queues the fds of the control messages oob.
func (r *fdReader) collect(oob []byte) error {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return err
	}
	var bad error
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue // credentials and the like
		}
		for _, fd := range fds {
			if len(r.queued) >= maxQueuedFDs {
				unix.Close(fd)
				bad = errors.New("D-Bus: too many fds passed")
				continue
			}
			r.queued = append(r.queued, os.NewFile(uintptr(fd), "passed fd"))
		}
	}
	return bad
}

// take removes the first n fds queued; an error when fewer are.
func (r *fdReader) take(n int) ([]*os.File, error) {
	if n > len(r.queued) {
		return nil, fmt.Errorf("D-Bus: a message announces %d fds, %d came", n, len(r.queued))
	}
	out := append([]*os.File(nil), r.queued[:n]...)
	r.queued = r.queued[n:]
	return out, nil
}

// closeAll closes the fds received and not claimed.
func (r *fdReader) closeAll() {
	closeFiles(r.queued)
	r.queued = nil
}

func closeFiles(fs []*os.File) {
	for _, f := range fs {
		if f != nil {
			f.Close()
		}
	}
}

// readMessage decodes the next message of br (which reads fr) and claims the fds its
// UnixFDs header announces.
func readMessage(br *bufio.Reader, fr *fdReader) (*dbus.Message, []*os.File, error) {
	msg, err := dbus.DecodeMessage(br)
	if err != nil {
		return nil, nil, err
	}
	v, ok := msg.Headers[dbus.FieldUnixFDs]
	if !ok {
		return msg, nil, nil
	}
	n, _ := v.Value().(uint32)
	if n > maxMessageFDs {
		return nil, nil, fmt.Errorf("D-Bus: a message announces %d fds", n)
	}
	fds, err := fr.take(int(n))
	return msg, fds, err
}

// FD is the file passed with the call at index i (the value of an 'h' argument); the call
// keeps it open until its reply is sent or Take claims it.
func (c *Call) FD(i dbus.UnixFDIndex) (*os.File, error) {
	c.fdMu.Lock()
	defer c.fdMu.Unlock()
	if int(i) >= len(c.fds) || c.fds[i] == nil {
		return nil, fmt.Errorf("no file descriptor %d passed with the call", i)
	}
	return c.fds[i], nil
}

// TakeFD is FD, the file then the caller's: the call no longer closes it.
func (c *Call) TakeFD(i dbus.UnixFDIndex) (*os.File, error) {
	c.fdMu.Lock()
	defer c.fdMu.Unlock()
	if int(i) >= len(c.fds) || c.fds[i] == nil {
		return nil, fmt.Errorf("no file descriptor %d passed with the call", i)
	}
	f := c.fds[i]
	c.fds[i] = nil
	return f, nil
}

// closeFDs closes the call's fds that were not taken (its reply is sent).
func (c *Call) closeFDs() {
	c.fdMu.Lock()
	defer c.fdMu.Unlock()
	closeFiles(c.fds)
	c.fds = nil
}
