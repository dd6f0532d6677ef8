package sdbus

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/internal/control"
)

// Peer is the client of a connection, as the kernel reports it (SO_PEERCRED).
type Peer struct {
	PID, UID, GID int
	// Privileged: root or the manager's own uid; may call every method. Others may only
	// read (ReadOnlyMethod).
	Privileged bool
}

// Backend is what the objects are: the manager's units and jobs.
type Backend interface {
	// Object reports the systemd1 interfaces of the object at path and the names of its
	// child nodes (for introspection); ok is false when there is no such object.
	Object(path dbus.ObjectPath) (ifaces []string, children []string, ok bool)
	// Properties returns the properties of the object's interface iface (by name, in any
	// order; a name may repeat for an array property). Properties systemd has and the
	// backend does not give are served as their type's zero value.
	Properties(path dbus.ObjectPath, iface string) ([]Prop, error)
	// Supported reports whether the backend implements the method.
	Supported(iface, method string) bool
	// Call serves a method call of a systemd1 interface. Its arguments match the method's
	// signature. Call replies (Reply or Fail) exactly once, now or later.
	Call(c *Call)
}

// MultiProperties is a Backend that reads the properties of several interfaces of an object
// at one moment (GetAll with no interface named gets them all together, consistent).
type MultiProperties interface {
	PropertiesAll(path dbus.ObjectPath, ifaces []string) ([][]Prop, error)
}

// ObjectRefuser is a Backend that answers calls on some paths that name no object with an
// error of its own instead of UnknownObject (systemd refuses a template unit's path as an
// invalid unit name).
type ObjectRefuser interface {
	RefuseObject(path dbus.ObjectPath) (name, message string, refused bool)
}

// SelfResolver is a Backend that serves systemd's /org/freedesktop/systemd1/unit/self: the
// unit of the calling process (SelfPath of its pid; ok false when none).
type SelfResolver interface {
	SelfPath(pid int) (path dbus.ObjectPath, message string, ok bool)
}

// Prop is one property value: Value as it is when not nil (it must then have the property's
// D-Bus type), else Text, as `systemctl show` prints the property, converted to the type.
type Prop struct {
	Name  string
	Text  string
	Value any
}

// Server serves the API on a unix socket.
type Server struct {
	ln   *net.UnixListener
	path string
	// createdDir: Listen made the socket's directory; Close removes it if empty.
	createdDir bool
	backend    Backend
	logf       func(format string, args ...any)
	guid       string
	owner      int // the manager's uid

	// limits bound the connections (authenticated or not) as the control socket's do.
	limits Limits
	mu     sync.Mutex
	conns  map[*conn]struct{}
	buses  map[*Bus]struct{}
	raw    map[*net.UnixConn]struct{} // every accepted connection, authenticated or not
	nextID int
	closed bool
	wg     sync.WaitGroup
	// total and unprivileged connections, and those of each unprivileged uid.
	nTotal, nOpen int
	perUID        map[int]int
}

// Limits bound what the connections hold: Total connections at most, of which Reserved only
// for privileged peers, and PerUID for one unprivileged uid. A connection over a limit is
// closed at once.
type Limits struct{ Total, Reserved, PerUID int }

// DefaultLimits are the control socket's (control.DefaultLimits) for a manager whose fd limit is
// nofile, halved where they count every connection: the D-Bus socket's connections come on
// top of the control socket's.
func DefaultLimits(nofile uint64) Limits {
	l := control.DefaultLimits(nofile)
	return Limits{Total: max(l.Total/2, 8), Reserved: max(l.Reserved/2, 2), PerUID: l.PerUID}
}

// acquire counts a new connection of peer, false if a limit refuses it.
func (s *Server) acquire(p Peer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nTotal >= s.limits.Total {
		return false
	}
	if !p.Privileged {
		if s.nOpen >= s.limits.Total-s.limits.Reserved || s.perUID[p.UID] >= s.limits.PerUID {
			return false
		}
		s.nOpen++
		s.perUID[p.UID]++
	}
	s.nTotal++
	return true
}

func (s *Server) release(p Peer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nTotal--
	if !p.Privileged {
		s.nOpen--
		if s.perUID[p.UID]--; s.perUID[p.UID] == 0 {
			delete(s.perUID, p.UID)
		}
	}
}

// Listen creates the socket at path (replacing a stale socket file; the directory is made
// 0755) and returns a server that is not serving yet (Serve). The socket is 0700, as
// systemd 252 binds /run/systemd/private under umask 0077: only the manager's own uid (and
// root) may connect; other users reach the manager's API through the system bus. What a
// connection may do is still decided by its peer's uid.
func Listen(path string, b Backend, logf func(string, ...any)) (*Server, error) {
	dir := filepath.Dir(path)
	_, err := os.Stat(dir)
	created := os.IsNotExist(err)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("listen %s: another server answers there", path)
	}
	os.Remove(path)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	ln.SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0o700); err != nil {
		ln.Close()
		return nil, err
	}
	var rl unix.Rlimit
	nofile := uint64(1024)
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil {
		nofile = rl.Cur
	}
	return &Server{ln: ln, path: path, createdDir: created, backend: b, logf: logf, guid: newGUID(), owner: os.Getuid(),
		conns: map[*conn]struct{}{}, buses: map[*Bus]struct{}{}, raw: map[*net.UnixConn]struct{}{}, perUID: map[int]int{}, limits: DefaultLimits(nofile)}, nil
}

// Path is the socket's path.
func (s *Server) Path() string { return s.path }

// Serve accepts connections until Close.
func (s *Server) Serve() {
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.logf("D-Bus socket %s: %v", s.path, err)
			time.Sleep(100 * time.Millisecond) // out of fds: let some connections end
			continue
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.wg.Add(1)
		s.raw[c] = struct{}{}
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
			s.mu.Lock()
			delete(s.raw, c)
			s.mu.Unlock()
		}()
	}
}

// Close stops accepting, gives the connections up to a second to send what is queued (the
// reply to an Exit, the last JobRemoved), closes them and waits for their goroutines.
func (s *Server) Close() {
	s.ln.Close()
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		busy := false
		for c := range s.conns {
			busy = busy || c.pending.Load() > 0
		}
		for b := range s.buses {
			busy = busy || b.c.pending.Load() > 0
		}
		s.mu.Unlock()
		if !busy {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.close()
	}
	for b := range s.buses {
		b.c.close()
	}
	for c := range s.raw {
		c.Close() // those still authenticating
	}
	s.mu.Unlock()
	s.ln.Close()
	s.wg.Wait()
	if s.createdDir {
		os.Remove(filepath.Dir(s.path)) // only if empty
	}
}

// Connections is the number of authenticated connections.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Heard reports whether a signal named member would reach anyone: a direct connection, or
// a bus on which it is sent (busesFor).
func (s *Server) Heard(member string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns) > 0 || len(s.busesFor(member)) > 0
}

// Emit sends a signal from path to every connection (systemd sends its signals to every
// direct connection, subscribed or not). It never blocks: a connection whose queue is full
// is dropped.
func (s *Server) Emit(path dbus.ObjectPath, iface, member string, body ...any) {
	s.emit(path, iface, member, "", body...)
}

// emit is Emit with the body's signature given ("": derived from the values).
func (s *Server) emit(path dbus.ObjectPath, iface, member, sig string, body ...any) {
	if !s.Heard(member) {
		return // nobody to tell: not even encoded
	}
	msg := &dbus.Message{Type: dbus.TypeSignal, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldPath:      dbus.MakeVariant(path),
		dbus.FieldInterface: dbus.MakeVariant(iface),
		dbus.FieldMember:    dbus.MakeVariant(member),
	}, Body: body}
	if sig == "" && len(body) > 0 {
		sig = dbus.SignatureOf(body...).String()
	}
	if sig != "" {
		msg.Headers[dbus.FieldSignature] = dbus.MakeVariant(dbus.ParseSignatureMust(sig))
	}
	b, err := encode(msg)
	if err != nil {
		s.logf("D-Bus signal %s.%s: %v", iface, member, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.queue(b)
	}
	for _, c := range s.busesFor(member) {
		c.queue(b)
	}
}

// conn is one client connection: a reader (serveConn's goroutine) and a writer.
type conn struct {
	s    *Server
	nc   *net.UnixConn
	peer Peer
	name string // the unique name Hello answers
	// out holds the encoded messages waiting for the writer (outBytes their size); wake
	// tells the writer there are some.
	outMu    sync.Mutex
	out      [][]byte
	outBytes int
	wake     chan struct{}
	once     sync.Once
	done     chan struct{}
	// pending counts the messages queued and not yet written.
	pending atomic.Int64
	// serial is the last serial sent; the writer numbers the messages queued without one.
	serial atomic.Uint32
	// bus: the connection to a bus daemon (bus.go), nil for a peer.
	bus *Bus
}

// outQueue and outQueueBytes bound the messages waiting for a client that reads slowly
// or not at all (sd-bus queues up to 384 Ki messages): one over them drops the client. A
// call that makes the manager load thousands of units (ListUnitsByNames) queues a UnitNew
// signal for each on every connection.
const (
	outQueue      = 384 << 10
	outQueueBytes = 64 << 20
)

func newConn(s *Server, nc *net.UnixConn) *conn {
	return &conn{s: s, nc: nc, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (s *Server) serveConn(nc *net.UnixConn) {
	defer nc.Close()
	cred, err := peerCred(nc)
	if err != nil {
		return
	}
	c := newConn(s, nc)
	c.peer = Peer{PID: int(cred.Pid), UID: int(cred.Uid), GID: int(cred.Gid)}
	c.peer.Privileged = c.peer.UID == 0 || c.peer.UID == s.owner
	if !s.acquire(c.peer) {
		return
	}
	defer s.release(c.peer)
	fr := newFDReader(nc)
	defer fr.closeAll()
	br := bufio.NewReader(fr)
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	if err := authenticate(br, nc, c.peer.UID, s.guid); err != nil {
		return
	}
	nc.SetDeadline(time.Time{})
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.nextID++
	c.name = fmt.Sprintf(":1.%d", s.nextID)
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.close()
	}()
	go c.writer()
	for {
		msg, fds, err := readMessage(br, fr)
		if err != nil {
			closeFiles(fds)
			return
		}
		if msg.Type == dbus.TypeMethodCall {
			c.dispatch(msg, fds)
		} else {
			closeFiles(fds)
		}
	}
}

func peerCred(c *net.UnixConn) (*unix.Ucred, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var cred *unix.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return nil, err
	}
	return cred, serr
}

func (c *conn) close() {
	c.once.Do(func() {
		close(c.done)
		c.nc.Close()
	})
}

// queue hands an encoded message to the writer; a client that does not read is dropped.
func (c *conn) queue(b []byte) {
	select {
	case <-c.done:
		return
	default:
	}
	c.outMu.Lock()
	if len(c.out) >= outQueue || c.outBytes+len(b) > outQueueBytes {
		c.outMu.Unlock()
		if c.bus != nil {
			c.s.logf("The bus does not read flint's messages, leaving it")
		} else {
			c.s.logf("D-Bus client pid %d does not read its messages, dropping it", c.peer.PID)
		}
		c.close()
		return
	}
	c.pending.Add(1)
	c.out = append(c.out, b)
	c.outBytes += len(b)
	c.outMu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default: // the writer has been told already
	}
}

// next takes the oldest queued message, nil when none is.
func (c *conn) next() []byte {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if len(c.out) == 0 {
		return nil
	}
	b := c.out[0]
	c.out[0] = nil
	c.out = c.out[1:]
	c.outBytes -= len(b)
	if len(c.out) == 0 {
		c.out = nil // let the backing array go
	}
	return b
}

// writer sends the queued messages, each with the next serial unless it has one.
func (c *conn) writer() {
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		for b := c.next(); b != nil; b = c.next() {
			m := b
			if binary.LittleEndian.Uint32(m[8:12]) == 0 {
				m = bytes.Clone(b)
				binary.LittleEndian.PutUint32(m[8:12], c.serial.Add(1))
			}
			_, err := c.nc.Write(m)
			c.pending.Add(-1)
			if err != nil {
				c.close()
				return
			}
		}
	}
}

// encode is msg in little-endian wire format with serial 0 (writer sets it).
func encode(msg *dbus.Message) ([]byte, error) {
	var buf bytes.Buffer
	if err := msg.EncodeTo(&buf, binary.LittleEndian); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
