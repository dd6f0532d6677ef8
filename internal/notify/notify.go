// Package notify receives sd_notify(3) messages on the manager's NOTIFY_SOCKET: one
// datagram of newline-separated KEY=VALUE lines per message, the sender identified by the
// SCM_CREDENTIALS the kernel attaches (SO_PASSCRED), descriptors (FDSTORE=1, BARRIER=1)
// passed with SCM_RIGHTS.
//
// The package only receives and parses; what a message means (READY=1, MAINPID=,
// NotifyAccess=, the fd store) is the manager's business.
package notify

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// MaxMessage is the largest message accepted, as systemd (NOTIFY_BUFFER_MAX = PIPE_BUF);
// longer datagrams are dropped.
const MaxMessage = 4096

// maxFds is the most descriptors one datagram can carry (the kernel's SCM_MAX_FD).
const maxFds = 253

// receiveBuffer is the socket receive buffer asked for (systemd uses 8 MiB), so that a
// burst of notifications is not lost while the manager is busy.
const receiveBuffer = 8 << 20

// Field is one KEY=VALUE line of a message.
type Field struct {
	Key, Value string
}

// Message is one notification datagram.
type Message struct {
	// PID, UID and GID are the sender's credentials from SCM_CREDENTIALS.
	PID      int
	UID, GID uint32
	// Fields are the KEY=VALUE lines in order; lines without '=' are left out.
	Fields []Field
	// Files are the descriptors received with SCM_RIGHTS, close-on-exec. Whoever takes the
	// message from Run owns them and must close them (for BARRIER=1 closing is the answer).
	Files []*os.File
}

// Get returns the value of the last occurrence of key.
func (m *Message) Get(key string) (string, bool) {
	for i := len(m.Fields) - 1; i >= 0; i-- {
		if m.Fields[i].Key == key {
			return m.Fields[i].Value, true
		}
	}
	return "", false
}

// First returns the value of the first field named key, as systemd reads most fields of a
// message (strv_find_startswith: of two STATUS= in one message the first counts).
func (m *Message) First(key string) (string, bool) {
	for _, f := range m.Fields {
		if f.Key == key {
			return f.Value, true
		}
	}
	return "", false
}

// CloseFiles closes the message's descriptors and forgets them.
func (m *Message) CloseFiles() {
	for _, f := range m.Files {
		f.Close()
	}
	m.Files = nil
}

// Receiver is a NOTIFY_SOCKET: a unix datagram socket with SO_PASSCRED.
type Receiver struct {
	conn *net.UnixConn
	addr string // as given to Listen: a path or "@abstract"

	closeOnce sync.Once
	done      chan struct{}
}

// Listen creates the notification socket at path, a file-system path or "@name" for the
// abstract namespace. A file already at path is removed first; the socket file gets mode
// 0777 so that services running under other users can send to it. The descriptor is
// close-on-exec.
func Listen(path string) (*Receiver, error) {
	abstract := strings.HasPrefix(path, "@")
	if !abstract {
		if !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("notify socket %s: not an absolute path or @abstract name", path)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("notify socket %s: %w", path, err)
		}
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("notify socket %s: %w", path, err)
	}
	r := &Receiver{conn: conn, addr: path, done: make(chan struct{})}
	if err := r.setup(abstract); err != nil {
		conn.Close()
		if !abstract {
			os.Remove(path)
		}
		return nil, fmt.Errorf("notify socket %s: %w", path, err)
	}
	return r, nil
}

func (r *Receiver) setup(abstract bool) error {
	rc, err := r.conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1); serr != nil {
			serr = os.NewSyscallError("setsockopt SO_PASSCRED", serr)
			return
		}
		// The receive buffer is best effort: FORCE needs CAP_NET_ADMIN.
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, receiveBuffer) != nil {
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, receiveBuffer)
		}
	})
	if err == nil {
		err = serr
	}
	if err != nil || abstract {
		return err
	}
	return os.Chmod(r.addr, 0o777)
}

// Addr is the value for NOTIFY_SOCKET.
func (r *Receiver) Addr() string { return r.addr }

// Run receives messages and sends them on out until Close. Messages without credentials,
// longer than MaxMessage, or with truncated control data are dropped and their
// descriptors closed. If out is not being read when Close is called, the pending message's
// descriptors are closed. Run does not close out.
func (r *Receiver) Run(out chan<- *Message) {
	buf := make([]byte, MaxMessage+1)
	oob := make([]byte, unix.CmsgSpace(maxFds*4)+unix.CmsgSpace(unix.SizeofUcred))
	for {
		n, oobn, flags, _, err := r.conn.ReadMsgUnix(buf, oob)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-r.done:
				return
			default:
				continue // a transient error (e.g. ENOBUFS); keep serving
			}
		}
		m, ok := parse(buf[:n], oob[:oobn], flags)
		if !ok {
			continue
		}
		select {
		case out <- m:
		case <-r.done:
			m.CloseFiles()
			return
		}
	}
}

// parse turns one datagram into a Message; ok is false when it must be dropped (its
// descriptors are closed then).
func parse(data, oob []byte, flags int) (m *Message, ok bool) {
	m = &Message{}
	var cred *unix.Ucred
	cmsgs, err := unix.ParseSocketControlMessage(oob)
	if err == nil {
		for _, c := range cmsgs {
			if c.Header.Level != unix.SOL_SOCKET {
				continue
			}
			switch c.Header.Type {
			case unix.SCM_RIGHTS:
				fds, ferr := unix.ParseUnixRights(&c)
				if ferr != nil {
					continue
				}
				for _, fd := range fds {
					m.Files = append(m.Files, os.NewFile(uintptr(fd), "notify-fd"))
				}
			case unix.SCM_CREDENTIALS:
				if uc, cerr := unix.ParseUnixCredentials(&c); cerr == nil {
					cred = uc
				}
			}
		}
	}
	if err != nil || cred == nil || cred.Pid <= 0 || flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 || len(data) > MaxMessage {
		m.CloseFiles()
		return nil, false
	}
	fields, ok := parseFields(data)
	if !ok {
		m.CloseFiles()
		return nil, false
	}
	m.PID, m.UID, m.GID = int(cred.Pid), cred.Uid, cred.Gid
	m.Fields = fields
	return m, true
}

// parseFields splits a message into KEY=VALUE lines as systemd 252 does
// (manager_dispatch_notify_fd, strv_split_newlines): one trailing NUL is allowed and any
// other NUL makes the message invalid; lines end at '\n' or '\r', empty lines are skipped; a
// backslash makes the character after it literal (a newline too) and is removed, and a
// backslash at the very end makes the message invalid. Lines without '=' or with an empty
// key match no field and are left out.
func parseFields(data []byte) (fields []Field, ok bool) {
	if n := len(data); n > 0 && data[n-1] == 0 {
		data = data[:n-1]
	}
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, false
	}
	var line []byte
	flush := func() {
		if k, v, found := strings.Cut(string(line), "="); found && k != "" {
			fields = append(fields, Field{Key: k, Value: v})
		}
		line = line[:0]
	}
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '\\':
			if i+1 == len(data) {
				return nil, false
			}
			i++
			line = append(line, data[i])
		case '\n', '\r':
			flush()
		default:
			line = append(line, c)
		}
	}
	flush()
	return fields, true
}

// Close stops Run, closes the socket and removes its file.
func (r *Receiver) Close() error {
	err := net.ErrClosed
	r.closeOnce.Do(func() {
		close(r.done)
		err = r.conn.Close()
		if !strings.HasPrefix(r.addr, "@") {
			if rerr := os.Remove(r.addr); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
				err = rerr
			}
		}
	})
	return err
}
