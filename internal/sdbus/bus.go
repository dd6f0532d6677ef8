package sdbus

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/godbus/dbus/v5"
)

// This file connects the server to a bus daemon (the system or session bus) as a client that
// owns org.freedesktop.systemd1 there, as systemd does once its bus runs: the same object
// tree is served to the bus's clients. The bus routes each call with its sender's unique
// name; the server asks the bus for that sender's credentials (GetConnectionCredentials)
// before it serves the sender's first call, and authorises it as it does a peer.

// Bus is the server's connection to a bus daemon.
type Bus struct {
	c    *conn
	name string // the unique name the bus gave
	done chan struct{}

	// The read loop's own state.
	pending map[uint32]func(*dbus.Message) // replies awaited, by serial
	creds   map[string]Peer                // senders' credentials, by unique name
	waiting map[string][]inMessage         // calls waiting for their sender's credentials
	subs    map[string]bool                // senders that called Subscribe
	// noFDs: the bus's answer to NEGOTIATE_UNIX_FD when it did not agree.
	noFDs string
	// nSubs is len(subs), for the emitter's goroutine.
	nSubs atomic.Int64
	// gone is OnNameGone's function.
	gone atomic.Pointer[func(string)]
}

// busDriver is the bus daemon's name, path and interface.
const busDriver = "org.freedesktop.DBus"

// busHandshake bounds the handshake with the bus daemon (authentication, Hello, RequestName).
const busHandshake = 10 * time.Second

// BusPath is the unix socket of a D-Bus address ("unix:path=/run/dbus/system_bus_socket",
// "unix:abstract=name,guid=..."; of a ';'-separated list, the first unix one). Abstract names
// are returned with a leading '@'.
func BusPath(addr string) (string, error) {
	for _, a := range strings.Split(addr, ";") {
		rest, ok := strings.CutPrefix(a, "unix:")
		if !ok {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			v, err := unescapeAddr(v)
			if err != nil {
				return "", fmt.Errorf("D-Bus address %q: %w", addr, err)
			}
			switch k {
			case "path":
				return v, nil
			case "abstract":
				return "@" + v, nil
			}
		}
	}
	return "", fmt.Errorf("D-Bus address %q: no unix:path= or unix:abstract=", addr)
}

// unescapeAddr undoes the %xx escapes of a D-Bus address value.
func unescapeAddr(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", errors.New("truncated % escape")
		}
		x, err := hex.DecodeString(s[i+1 : i+3])
		if err != nil {
			return "", fmt.Errorf("bad %% escape %q", s[i:i+3])
		}
		b.Write(x)
		i += 2
	}
	return b.String(), nil
}

// ConnectBus connects to the bus daemon at the D-Bus address addr, authenticates (SASL
// EXTERNAL), says Hello and requests org.freedesktop.systemd1 without queueing. It returns
// once the name is the server's, or fails (the name has another owner, the bus does not
// answer within 10 s). The bus's clients are then served until Close or the bus hangs up
// (Done).
func (s *Server) ConnectBus(addr string) (*Bus, error) {
	path, err := BusPath(addr)
	if err != nil {
		return nil, err
	}
	nc, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("connect to the bus %s: %w", addr, err)
	}
	nc.SetDeadline(time.Now().Add(busHandshake))
	fr := newFDReader(nc)
	br := bufio.NewReader(fr)
	b := &Bus{done: make(chan struct{}), pending: map[uint32]func(*dbus.Message){},
		creds: map[string]Peer{}, waiting: map[string][]inMessage{}, subs: map[string]bool{}}
	early, err := b.handshake(nc, br, fr)
	if err != nil {
		fr.closeAll()
		nc.Close()
		return nil, fmt.Errorf("bus %s: %w", addr, err)
	}
	nc.SetDeadline(time.Time{})
	if b.noFDs != "" {
		s.logf("The bus %s does not pass file descriptors (%s)", addr, b.noFDs)
	}
	c := newConn(s, nc)
	c.bus, c.name = b, b.name
	c.serial.Store(3) // the handshake's calls
	b.c = c
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		nc.Close()
		return nil, errors.New("the D-Bus server is closed")
	}
	s.buses[b] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go c.writer()
	go func() {
		defer s.wg.Done()
		defer close(b.done)
		defer func() {
			s.mu.Lock()
			delete(s.buses, b)
			s.mu.Unlock()
			c.close()
			fr.closeAll()
			for _, q := range b.waiting {
				for _, m := range q {
					closeFiles(m.fds)
				}
			}
		}()
		for _, m := range early {
			b.handle(m)
		}
		for {
			msg, fds, err := readMessage(br, fr)
			if err != nil {
				closeFiles(fds)
				return
			}
			b.handle(inMessage{msg, fds})
		}
	}()
	return b, nil
}

// Name is the unique name the bus gave the connection.
func (b *Bus) Name() string { return b.name }

// Done is closed when the connection has ended.
func (b *Bus) Done() <-chan struct{} { return b.done }

// Close hangs up; the name is released with the connection.
func (b *Bus) Close() {
	b.c.close()
	<-b.done
}

// Subscribed reports whether a client of the bus called Subscribe (and is still connected).
func (b *Bus) Subscribed() bool { return b.nSubs.Load() > 0 }

// driverCall is a method call to the bus daemon with serial.
func driverCall(serial uint32, member, sig string, body ...any) ([]byte, error) {
	msg := &dbus.Message{Type: dbus.TypeMethodCall, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldPath:        dbus.MakeVariant(dbus.ObjectPath("/org/freedesktop/DBus")),
		dbus.FieldInterface:   dbus.MakeVariant(busDriver),
		dbus.FieldMember:      dbus.MakeVariant(member),
		dbus.FieldDestination: dbus.MakeVariant(busDriver),
	}, Body: body}
	if sig != "" {
		msg.Headers[dbus.FieldSignature] = dbus.MakeVariant(dbus.ParseSignatureMust(sig))
	}
	raw, err := encode(msg)
	if err != nil {
		return nil, err
	}
	binary.LittleEndian.PutUint32(raw[8:12], serial)
	return raw, nil
}

// nameOwnerMatch: the bus tells when a client goes (its credentials and subscription are
// then forgotten).
const nameOwnerMatch = "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus'," +
	"interface='org.freedesktop.DBus',member='NameOwnerChanged'"

// inMessage is a message received with the fds passed with it.
type inMessage struct {
	*dbus.Message
	fds []*os.File
}

// handshake authenticates (agreeing on fd passing) and runs Hello (serial 1), AddMatch (2)
// and RequestName (3) in turn. Method calls that arrive meanwhile are returned, to be served
// after.
func (b *Bus) handshake(nc net.Conn, br *bufio.Reader, fr *fdReader) (early []inMessage, err error) {
	defer func() {
		if err != nil {
			for _, m := range early {
				closeFiles(m.fds)
			}
			early = nil
		}
	}()
	uid := hex.EncodeToString([]byte(strconv.Itoa(os.Getuid())))
	if _, err := nc.Write([]byte("\x00AUTH EXTERNAL " + uid + "\r\n")); err != nil {
		return nil, err
	}
	line, err := br.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("authentication: %w", err)
	}
	if !strings.HasPrefix(line, "OK ") {
		return nil, fmt.Errorf("authentication refused: %s", strings.TrimSpace(line))
	}
	// systemd-run --pipe passes fds: the bus forwards them only to a client that agreed.
	if _, err := nc.Write([]byte("NEGOTIATE_UNIX_FD\r\n")); err != nil {
		return nil, err
	}
	if line, err = br.ReadString('\n'); err != nil {
		return nil, fmt.Errorf("authentication: %w", err)
	}
	if !strings.HasPrefix(line, "AGREE_UNIX_FD") {
		b.noFDs = strings.TrimSpace(line)
	}
	if _, err := nc.Write([]byte("BEGIN\r\n")); err != nil {
		return nil, err
	}
	call := func(serial uint32, member, sig string, body ...any) (*dbus.Message, error) {
		raw, err := driverCall(serial, member, sig, body...)
		if err != nil {
			return nil, err
		}
		if _, err := nc.Write(raw); err != nil {
			return nil, err
		}
		for {
			msg, fds, err := readMessage(br, fr)
			if err != nil {
				closeFiles(fds)
				return nil, err
			}
			switch {
			case msg.Type == dbus.TypeMethodCall:
				early = append(early, inMessage{msg, fds})
				continue
			}
			closeFiles(fds)
			switch {
			case msg.Type == dbus.TypeError && replySerial(msg) == serial:
				return nil, fmt.Errorf("%s: %s", member, errorText(msg))
			case msg.Type == dbus.TypeMethodReply && replySerial(msg) == serial:
				return msg, nil
			}
		}
	}
	hello, err := call(1, "Hello", "")
	if err != nil {
		return nil, err
	}
	if len(hello.Body) != 1 {
		return nil, errors.New("Hello: no unique name")
	}
	b.name, _ = hello.Body[0].(string)
	if _, err := call(2, "AddMatch", "s", nameOwnerMatch); err != nil {
		return nil, err
	}
	// DBUS_NAME_FLAG_DO_NOT_QUEUE: when the name has an owner, say so now.
	r, err := call(3, "RequestName", "su", busName, uint32(4))
	if err != nil {
		return nil, err
	}
	if len(r.Body) != 1 {
		return nil, errors.New("RequestName: no answer")
	}
	switch code, _ := r.Body[0].(uint32); code {
	case 1, 4: // primary owner; already the owner
	case 3:
		return nil, fmt.Errorf("%s has another owner on the bus", busName)
	default:
		return nil, fmt.Errorf("RequestName %s: answer %d", busName, code)
	}
	return early, nil
}

func replySerial(msg *dbus.Message) uint32 {
	v, ok := msg.Headers[dbus.FieldReplySerial]
	if !ok {
		return 0
	}
	n, _ := v.Value().(uint32)
	return n
}

func errorText(msg *dbus.Message) string {
	text := header(msg, dbus.FieldErrorName)
	if len(msg.Body) > 0 {
		if s, ok := msg.Body[0].(string); ok {
			text += ": " + s
		}
	}
	return text
}

// handle serves one message from the bus, on the read loop.
func (b *Bus) handle(msg inMessage) {
	if msg.Type != dbus.TypeMethodCall {
		closeFiles(msg.fds)
	}
	switch msg.Type {
	case dbus.TypeMethodCall:
		sender := header(msg.Message, dbus.FieldSender)
		if sender == "" {
			closeFiles(msg.fds)
			return
		}
		if p, ok := b.creds[sender]; ok {
			b.serve(msg, sender, p)
			return
		}
		if q, ok := b.waiting[sender]; ok {
			b.waiting[sender] = append(q, msg)
			return
		}
		b.waiting[sender] = []inMessage{msg}
		b.callDriver("GetConnectionCredentials", "s", func(reply *dbus.Message) {
			q := b.waiting[sender]
			delete(b.waiting, sender)
			p, ok := credsPeer(reply, b.c.s.owner)
			if !ok {
				for _, m := range q {
					b.c.replyTo(m.Message, m.fds, sender, ErrAccessDenied, "flint could not learn the caller's credentials.")
				}
				return
			}
			b.creds[sender] = p
			for _, m := range q {
				b.serve(m, sender, p)
			}
		}, sender)
	case dbus.TypeMethodReply, dbus.TypeError:
		rs := replySerial(msg.Message)
		if fn, ok := b.pending[rs]; ok {
			delete(b.pending, rs)
			fn(msg.Message)
		}
	case dbus.TypeSignal:
		if header(msg.Message, dbus.FieldMember) == "NameOwnerChanged" && header(msg.Message, dbus.FieldSender) == busDriver && len(msg.Body) == 3 {
			name, _ := msg.Body[0].(string)
			newOwner, _ := msg.Body[2].(string)
			if newOwner == "" {
				delete(b.creds, name)
				if b.subs[name] {
					delete(b.subs, name)
					b.nSubs.Add(-1)
				}
				if fn := b.gone.Load(); fn != nil {
					(*fn)(name)
				}
			}
		}
	}
}

// serve dispatches a call of sender (whose credentials p are known), keeping track of the
// subscriptions (an unprivileged caller's too: the signals are no secret).
func (b *Bus) serve(msg inMessage, sender string, p Peer) {
	switch header(msg.Message, dbus.FieldMember) {
	case "Subscribe", "StartTransientUnit", "Ref":
		// systemd also sends a unit's signals to the clients that hold a reference on it
		// (systemd-run --wait's AddRef=, Unit.Ref): flint sends them all signals, as to a
		// subscriber, until they go.
		if !b.subs[sender] {
			b.subs[sender] = true
			b.nSubs.Add(1)
		}
	case "Unsubscribe":
		if b.subs[sender] {
			delete(b.subs, sender)
			b.nSubs.Add(-1)
		}
	}
	b.c.dispatchAs(msg.Message, msg.fds, p, sender)
}

// callDriver calls a method of the bus daemon; fn gets the reply (or error) on the read loop.
func (b *Bus) callDriver(member, sig string, fn func(*dbus.Message), body ...any) {
	serial := b.c.serial.Add(1)
	raw, err := driverCall(serial, member, sig, body...)
	if err != nil {
		b.c.s.logf("D-Bus %s: %v", member, err)
		return
	}
	b.pending[serial] = fn
	b.c.queue(raw)
}

// credsPeer is the Peer of a GetConnectionCredentials reply.
func credsPeer(reply *dbus.Message, owner int) (Peer, bool) {
	if reply.Type != dbus.TypeMethodReply || len(reply.Body) != 1 {
		return Peer{}, false
	}
	m, ok := reply.Body[0].(map[string]dbus.Variant)
	if !ok {
		return Peer{}, false
	}
	uid, ok := m["UnixUserID"].Value().(uint32)
	if !ok {
		return Peer{}, false
	}
	p := Peer{UID: int(uid), GID: -1}
	if pid, ok := m["ProcessID"].Value().(uint32); ok {
		p.PID = int(pid)
	}
	p.Privileged = p.UID == 0 || p.UID == owner
	return p, true
}

// busesFor are the bus connections a signal goes to: a bus only hears of jobs unless a client
// of it subscribed (systemd sends a signal to its bus when someone subscribed or the job's
// client listens).
func (s *Server) busesFor(member string) []*conn {
	var out []*conn
	for b := range s.buses {
		if b.Subscribed() || member == "JobNew" || member == "JobRemoved" {
			out = append(out, b.c)
		}
	}
	return out
}

// Subscribed reports whether a client of a bus subscribed to the signals.
func (s *Server) Subscribed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for b := range s.buses {
		if b.Subscribed() {
			return true
		}
	}
	return false
}

// ViaBus reports whether the call came through a bus daemon (its sender has a bus name),
// not over a peer connection.
func (c *Call) ViaBus() bool { return c.c != nil && c.c.bus != nil }

// SendSignal sends a signal from path to the bus client dest alone (a unicast signal, as
// sd_bus_send_to). It never blocks; false when the connection has ended.
func (b *Bus) SendSignal(dest string, path dbus.ObjectPath, iface, member string) bool {
	select {
	case <-b.done:
		return false
	default:
	}
	msg := &dbus.Message{Type: dbus.TypeSignal, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldPath:        dbus.MakeVariant(path),
		dbus.FieldInterface:   dbus.MakeVariant(iface),
		dbus.FieldMember:      dbus.MakeVariant(member),
		dbus.FieldDestination: dbus.MakeVariant(dest),
	}}
	raw, err := encode(msg)
	if err != nil {
		b.c.s.logf("D-Bus signal %s.%s: %v", iface, member, err)
		return false
	}
	b.c.queue(raw)
	return true
}

// OnNameGone has fn called (on the bus's read loop: fn must not block) with each bus name
// that loses its owner (a client hung up, a well-known name released), for the names a
// manager tracks (a scope's Controller=).
func (b *Bus) OnNameGone(fn func(name string)) {
	b.gone.Store(&fn)
}
