package journal

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/internal/logs"
)

// Streams of the store's lines that came through the sockets (logs.Line.Stream).
const (
	StreamNative = "journal" // the native protocol
	StreamSyslog = "syslog"  // /dev/log
	StreamStdout = "stream"  // the stream protocol (its _TRANSPORT is stdout)
)

const (
	datagramStart = 64 << 10 // a receiver's buffer to begin with
	datagramKeep  = 1 << 20  // a buffer grown beyond this is let go after its datagram
	maxPassedFDs  = 16       // room for fds in a datagram's control data (journald takes one)
)

// serveDatagrams receives the datagrams of the native socket (syslog false) or of dev-log
// until the socket is closed.
func (s *Server) serveDatagrams(c *net.UnixConn, syslog bool) {
	defer s.wg.Done()
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	buf := make([]byte, datagramStart)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred)+unix.CmsgSpace(4*maxPassedFDs))
	for {
		var n, oobn, flags int
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			// The next datagram's size (SIOCINQ), so that one up to MaxEntryBytes is read
			// whole; a larger one is truncated and dropped.
			if v, err := unix.IoctlGetInt(int(fd), unix.SIOCINQ); err == nil && v >= len(buf) {
				buf = make([]byte, min(v+1, MaxEntryBytes+1))
			}
			n, oobn, flags, _, rerr = unix.Recvmsg(int(fd), buf, oob, unix.MSG_DONTWAIT|unix.MSG_CMSG_CLOEXEC)
			return rerr != unix.EAGAIN
		})
		if err != nil {
			return // closed
		}
		if rerr != nil {
			if errors.Is(rerr, unix.EINTR) || errors.Is(rerr, unix.ENOMEM) || errors.Is(rerr, unix.ENOBUFS) {
				continue
			}
			return
		}
		cred, fds := parseControl(oob[:oobn])
		truncated := flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0
		switch {
		case truncated:
		case syslog && n > 0 && len(fds) == 0:
			s.syslogMessage(buf[:n], cred)
		case !syslog && n > 0 && len(fds) == 0:
			s.nativeMessage(buf[:n], cred)
		case !syslog && n == 0 && len(fds) == 1:
			s.nativeFile(fds[0], cred)
		}
		for _, fd := range fds {
			unix.Close(fd)
		}
		if len(buf) > datagramKeep {
			buf = make([]byte, datagramStart)
		}
	}
}

// parseControl reads the sender's credentials and the fds passed from control data.
func parseControl(oob []byte) (*unix.Ucred, []int) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil, nil
	}
	var cred *unix.Ucred
	var fds []int
	for i := range msgs {
		if msgs[i].Header.Level != unix.SOL_SOCKET {
			continue
		}
		switch msgs[i].Header.Type {
		case unix.SCM_CREDENTIALS:
			if c, err := unix.ParseUnixCredentials(&msgs[i]); err == nil {
				cred = c
			}
		case unix.SCM_RIGHTS:
			if f, err := unix.ParseUnixRights(&msgs[i]); err == nil {
				fds = append(fds, f...)
			}
		}
	}
	return cred, fds
}

// senderOf is what is known of the sender of credentials cred (nil: nothing).
func (s *Server) senderOf(cred *unix.Ucred) sender {
	if cred == nil {
		return sender{uid: -1, gid: -1}
	}
	return s.sender(int(cred.Pid), int(cred.Uid), int(cred.Gid))
}

// nativeMessage stores the entries of a native datagram (or file).
func (s *Server) nativeMessage(b []byte, cred *unix.Ucred) {
	var es []*Entry
	ParseNative(b, func(e *Entry) { es = append(es, e) })
	if len(es) == 0 {
		return
	}
	// Forwarded first, while the sender most likely still exists: its pid is then passed on.
	for _, e := range es {
		if e.HasMessage {
			s.fwd.forwardEntry(e, cred)
		}
	}
	snd := s.senderOf(cred)
	for _, e := range es {
		fields, keep := snd.out.Entry(e.Priority&7, e.Fields) // info without PRIORITY=, as journald tests it
		if !keep || !snd.admit(s.cfg.Store, e.Priority&7) {
			continue
		}
		s.cfg.Store.Append(logs.Line{Unit: snd.unit, Stream: StreamNative, PID: snd.pid, Priority: e.Level,
			Text: e.Message, Source: snd.source(e.Identifier, "journal"), Fields: fields})
	}
}

// nativeFile reads an entry passed as a file (a large one, which sd_journal_send passes as a
// sealed memfd), as journald's server_process_native_file: a file that is not a sealed memfd
// is read only from root, or from /dev/shm, /tmp or /var/tmp; it must be a regular file of at
// most MaxEntryBytes.
func (s *Server) nativeFile(fd int, cred *unix.Ucred) {
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	sealed := err == nil && seals > 0
	if !sealed && (cred == nil || cred.Uid != 0) {
		p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
		if err != nil {
			return
		}
		ok := false
		for _, dir := range []string{"/dev/shm/", "/tmp/", "/var/tmp/"} {
			if name, found := strings.CutPrefix(p, dir); found && name != "" && !strings.Contains(name, "/") {
				ok = true
			}
		}
		if !ok {
			return
		}
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size <= 0 || st.Size > MaxEntryBytes {
		return
	}
	buf := make([]byte, st.Size)
	n, err := unix.Pread(fd, buf, 0)
	if err != nil || n <= 0 {
		return
	}
	s.nativeMessage(buf[:n], cred)
}

// syslogMessage stores a /dev/log datagram and forwards it as it came.
func (s *Server) syslogMessage(b []byte, cred *unix.Ucred) {
	m, ok := ParseSyslog(b)
	if !ok {
		return
	}
	s.fwd.forwardRaw(b, cred) // first, while the sender most likely still exists
	snd := s.senderOf(cred)
	fields, keep := snd.out.Entry(m.Priority&7, m.Fields())
	if !keep || !snd.admit(s.cfg.Store, m.Priority&7) {
		return
	}
	s.cfg.Store.Append(logs.Line{Unit: snd.unit, Stream: StreamSyslog, PID: snd.pid, Priority: m.Priority & 7,
		Text: m.Message, Source: snd.source(m.Identifier, "syslog"), Fields: fields})
}

// serveStreams accepts stream connections until the listener is closed.
func (s *Server) serveStreams() {
	defer s.wg.Done()
	for {
		c, err := s.stdout.AcceptUnix()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // EMFILE and the like: the next connection may do
		}
		var cred *unix.Ucred
		if rc, err := c.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) { cred, _ = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED) })
		}
		if cred == nil {
			c.Close()
			continue
		}
		uid := int(cred.Uid)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			continue
		}
		if why := s.count.admit(uid, len(s.streams)); why != "" {
			// Logged once in 10 s: a flood of refusals must not flood the log.
			logIt := time.Since(s.refused) > 10*time.Second
			if logIt {
				s.refused = time.Now()
			}
			s.mu.Unlock()
			c.Close()
			if logIt {
				s.cfg.Logf("%s", why)
			}
			continue
		}
		s.streams[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveStream(c, cred)
	}
}

// serveStream reads one stream connection of the peer cred: its header, then its lines.
func (s *Server) serveStream(c *net.UnixConn, cred *unix.Ucred) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.streams, c)
		s.count.done(int(cred.Uid))
		s.mu.Unlock()
		c.Close()
	}()
	// The connection is only read: shutting the write side tells a client that waits for
	// it (none of libsystemd's do) that nothing comes back.
	c.CloseWrite()
	var id [16]byte
	rand.Read(id[:])
	streamID := hex.EncodeToString(id[:])
	var h streamHeader
	var snd sender
	var src *logs.Source
	var fields []logs.Field // PRIORITY (set per line), SYSLOG_FACILITY, SYSLOG_IDENTIFIER
	sr := &streamReader{r: c}
	for {
		b, brk, err := sr.next()
		if err != nil {
			return
		}
		if !h.running() {
			if brk != breakNewline {
				return // errHeader
			}
			if h.header(string(b), cred != nil && cred.Uid == 0) != nil {
				return
			}
			if h.running() {
				snd = s.senderOf(cred)
				if h.UnitID != "" {
					snd.unit = h.UnitID
				}
				var ident string
				if h.Identifier != "" {
					ident = h.Identifier
				}
				src = snd.source(ident, "stdout")
				src.StreamID = streamID
				if h.Priority&logFacMask != 0 {
					fields = append(fields, logs.Field{Name: "SYSLOG_FACILITY", Value: strconv.Itoa(h.Priority & logFacMask >> 3)})
				}
				if ident != "" {
					fields = append(fields, logs.Field{Name: "SYSLOG_IDENTIFIER", Value: ident})
				}
			}
			continue
		}
		prio, msg, ok := h.line(b)
		if !ok {
			continue
		}
		fs := append([]logs.Field{{Name: "PRIORITY", Value: strconv.Itoa(prio & 7)}}, fields...)
		if f := brk.field(); f != "" {
			fs = append(fs, logs.Field{Name: "_LINE_BREAK", Value: f})
		}
		fs, keep := snd.out.Entry(prio&7, fs)
		if !keep || !snd.admit(s.cfg.Store, prio&7) {
			continue
		}
		s.cfg.Store.Append(logs.Line{Unit: snd.unit, Stream: StreamStdout, PID: snd.pid, Priority: prio & 7,
			Text: msg, Source: src, Fields: fs})
	}
}
