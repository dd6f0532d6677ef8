// Package control is the manager's control server: it accepts connections on a unix
// socket, reads one request (package api is the protocol), checks the peer's credentials
// (SO_PEERCRED): root and the manager's own uid may send every verb, any other uid only the
// read-only ones of api.Verbs, and log lines only as a member of a log group (MayReadLogs);
// Limits bound the connections and followed logs each uid holds. The manager's Handler
// answers.
package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/flint-init/flint/api"
)

// Handler answers one request. It calls send for each response line; the last one has Done set.
// send returns an error once the client has gone. ctx is cancelled as soon as the client hangs
// up (closes its socket), so that a handler waiting for something to send (a follower with no
// new lines) ends at once and the connection's fd and goroutine are released. peer is the
// client (SO_PEERCRED) with what it may do.
type Handler func(ctx context.Context, req *api.Request, peer *Peer, send func(*api.Response) error)

// Server accepts control connections on a unix socket.
type Server struct {
	ln      *net.UnixListener
	path    string
	handler Handler
	logf    func(string, ...any)
	owner   int
	limits  *limiter
	// LogGroups are the gids whose members may read the units' log lines besides root and
	// the owner (MayReadLogs); set before Serve.
	LogGroups []int
	// ReadTimeout bounds the time a client may take to send its request line (default 10s);
	// a client that says nothing is answered with an error and disconnected.
	ReadTimeout time.Duration
	// WriteTimeout bounds each response line's write (default 30s): a client that stops
	// reading (a follower whose socket buffer is full) is disconnected then, so that it pins
	// no more than that buffer and its follower's queue.
	WriteTimeout time.Duration
	serving      sync.WaitGroup // connections being served (Drain)
	served       chan struct{}  // closed when Serve returns: no more serving.Add
}

// Listen creates the control socket at path (its directory is created 0755; a stale socket file
// is removed; the socket is 0666 so that any uid can read state — writes are checked per request).
// Its limits are DefaultLimits of the process's RLIMIT_NOFILE (SetLimits changes them).
func Listen(path string, h Handler, logf func(string, ...any)) (*Server, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
			c.Close()
			return nil, fmt.Errorf("control socket %s: another manager is running", path)
		}
		os.Remove(path)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(true)
	if err := os.Chmod(path, 0o666); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if logf == nil {
		logf = log.Printf
	}
	var rl syscall.Rlimit
	nofile := uint64(1024)
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
		nofile = rl.Cur
	}
	return &Server{ln: ln, path: path, handler: h, logf: logf, owner: os.Getuid(), limits: newLimiter(DefaultLimits(nofile)),
		ReadTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second, served: make(chan struct{})}, nil
}

// SetLimits replaces the limits; call it before Serve.
func (s *Server) SetLimits(l Limits) { s.limits = newLimiter(l) }

// Limits are the limits in force.
func (s *Server) Limits() Limits { return s.limits.lim }

// Counts are the connections and the followed logs held now.
func (s *Server) Counts() (conns, follows int) { return s.limits.counts() }

// Serve accepts connections until Close. A connection over the limits is answered with
// code "limit" and closed here, without a goroutine. When accept fails (EMFILE: the process
// is out of fds) it waits, 10 ms doubling to 1 s, so that a full fd table costs no CPU; the
// pending clients stay in the backlog until an fd is free.
func (s *Server) Serve() {
	defer close(s.served)
	go warmCodec()
	backoff := time.Duration(0)
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if backoff == 0 {
				s.logf("control socket: accept: %v", err)
				backoff = 10 * time.Millisecond
			} else {
				backoff = min(2*backoff, time.Second)
			}
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		p, err := peerCred(c)
		if err != nil {
			s.logf("control socket: peer credentials: %v", err)
			c.Close()
			continue
		}
		p.Privileged = p.UID == 0 || p.UID == s.owner
		if err := s.limits.conn(p.UID, p.Privileged); err != nil {
			refuse(c, err)
			continue
		}
		s.serving.Add(1)
		go func() {
			defer s.serving.Done()
			defer s.limits.connDone(p.UID, p.Privileged)
			s.serveConn(c, p)
		}()
	}
}

// refuse answers a connection over the limits and closes it. The reply is written without
// waiting (a fresh socket's buffer takes it); nothing is read.
func refuse(c *net.UnixConn, err error) {
	b, _ := json.Marshal(&api.Response{Done: true, Code: "limit", Error: err.Error()})
	b = append(b, '\n')
	if raw, rerr := c.SyscallConn(); rerr == nil {
		raw.Write(func(fd uintptr) bool {
			syscall.Write(int(fd), b)
			return true
		})
	}
	c.Close()
}

// Close stops accepting and removes the socket file.
func (s *Server) Close() error { return s.ln.Close() }

// Drain waits, for at most timeout, until Serve has returned (after Close) and the
// connections being served are answered: a manager that quits lets the replies of its last
// requests (the exit request itself, a job that ended as it quit) reach their clients before
// the process exits. It reports whether all were.
func (s *Server) Drain(timeout time.Duration) bool {
	done := make(chan struct{})
	go func() {
		<-s.served // after Close, Serve returns; then nothing adds to serving
		s.serving.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(timeout):
		return false
	}
}

func (s *Server) serveConn(c *net.UnixConn, p *Peer) {
	defer c.Close()
	enc := json.NewEncoder(c)
	send := func(r *api.Response) error {
		c.SetWriteDeadline(time.Now().Add(s.WriteTimeout))
		return enc.Encode(r)
	}
	defer func() {
		// A bug in answering one request must not take the manager down.
		if r := recover(); r != nil {
			s.logf("control socket: request handler panicked: %v", r)
			send(&api.Response{Done: true, Code: "failed", Error: fmt.Sprintf("internal error: %v", r)})
		}
	}()
	c.SetReadDeadline(time.Now().Add(s.ReadTimeout))
	max := api.MaxRequestSize
	if !p.Privileged {
		max = MaxRequestUnprivileged
	}
	req, err := api.ReadRequestMax(bufio.NewReaderSize(c, 4096), max) // grows past it, to max
	if err != nil {
		send(&api.Response{Done: true, Code: "bad-request", Error: err.Error()})
		return
	}
	c.SetReadDeadline(time.Time{})
	if !Allowed(req.Verb, p.UID, s.owner) {
		send(&api.Response{Done: true, Code: "permission", Error: fmt.Sprintf("Failed to %s: permission denied (uid %d may only read; root and uid %d may change state)", req.Verb, p.UID, s.owner)})
		return
	}
	if !p.Privileged && len(s.LogGroups) > 0 {
		if p.Groups, err = peerGroups(c); err != nil {
			s.logf("control socket: peer groups of pid %d: %v", p.PID, err)
		}
	}
	p.ReadsLogs = MayReadLogs(p, s.LogGroups)
	if !p.Privileged {
		if err := namesRefusal(req); err != nil {
			send(&api.Response{Done: true, Code: "limit", Error: err.Error()})
			return
		}
	}
	// Every follow counts, also one of a peer that may read its own lines only (the handler
	// refuses the others at once).
	if req.Verb == api.VerbLogs && req.Follow {
		if err := s.limits.follow(p.UID, p.Privileged); err != nil {
			send(&api.Response{Done: true, Code: "limit", Error: err.Error()})
			return
		}
		defer s.limits.followDone(p.UID, p.Privileged)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		watchHangup(c) // returns at the hangup, or when the deferred Close above ends it
		cancel()
	}()
	if !p.Privileged {
		// The turn lasts until the first response line is written (a follower's later
		// lines come in its own time) or the handler returns.
		release, ok := s.limits.turn(ctx, p.UID)
		if !ok {
			return // hung up while waiting
		}
		defer release()
		inner := send
		send = func(r *api.Response) error {
			err := inner(r)
			release()
			return err
		}
	}
	s.handler(ctx, req, p, send)
}

// warmCodec runs encoding/json once over the protocol's types while the server waits for its
// first client: a process's first use of it (reflection over the types, first touches of its
// code) costs about 0.7 ms on a virtual machine, which the first request would otherwise wait
// for before its job starts.
func warmCodec() {
	var r api.Request
	json.Unmarshal([]byte(`{"verb":"ping","units":["a.service"],"since":"0001-01-01T00:00:00Z"}`), &r)
	b, _ := json.Marshal([]api.JobResult{{Unit: "a.service", Job: "start", Result: "done"}})
	json.NewEncoder(io.Discard).Encode(&api.Response{Done: true, Data: b})
}

// Allowed is the authorisation rule: root and the manager's own uid (owner) may do anything,
// any other uid only the read-only verbs.
func Allowed(verb api.Verb, uid, owner int) bool {
	return verb.ReadOnly() || uid == 0 || uid == owner
}
