package control

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flint-init/flint/api"
)

// serve starts a server with handler h on a socket in a temporary directory.
func serve(t *testing.T, h Handler, tune func(*Server)) (*Server, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "control.sock")
	s, err := Listen(path, h, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	if tune != nil {
		tune(s)
	}
	go s.Serve()
	t.Cleanup(func() { s.Close(); s.Drain(5 * time.Second) })
	return s, path
}

// dialRequest connects and sends one request line.
func dialRequest(t *testing.T, path, req string) *net.UnixConn {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write([]byte(req + "\n")); err != nil {
		t.Fatal(err)
	}
	return c.(*net.UnixConn)
}

// readReply reads one response line.
func readReply(t *testing.T, br *bufio.Reader) api.Response {
	t.Helper()
	line, err := br.ReadBytes('\n')
	if err != nil {
		t.Fatalf("no reply: %v", err)
	}
	var r api.Response
	if err := json.Unmarshal(line, &r); err != nil {
		t.Fatalf("reply %q: %v", line, err)
	}
	return r
}

// waitCounts waits (polling, with a deadline) until the server holds conns connections.
func waitCounts(t *testing.T, s *Server, conns, follows int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, f := s.Counts()
		if c == conns && f == follows {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server holds %d connections and %d follows, want %d and %d", c, f, conns, follows)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// follower is a handler that sends one line and then waits for the client to hang up (ctx)
// or for release; what it saw goes to ended.
func follower(release <-chan struct{}, ended chan<- string) Handler {
	return func(ctx context.Context, req *api.Request, p *Peer, send func(*api.Response) error) {
		send(&api.Response{Data: json.RawMessage(`"first"`)})
		select {
		case <-ctx.Done():
			ended <- "hangup"
		case <-release:
			if ctx.Err() != nil {
				ended <- "cancelled before release"
				return
			}
			send(&api.Response{Done: true, Data: json.RawMessage(`"second"`)})
			ended <- "released"
		}
	}
}

// wantHangup waits for a follower handler to end through its client's hangup.
func wantHangup(t *testing.T, ended <-chan string) {
	t.Helper()
	select {
	case got := <-ended:
		if got != "hangup" {
			t.Errorf("handler ended with %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("handler still waiting 10s after the client closed")
	}
}

// TestHangupEndsHandler: a client that closes its socket while the handler has nothing to
// send (a follower without new lines) cancels the handler's context at once; the
// connection and the follow are released.
func TestHangupEndsHandler(t *testing.T) {
	ended := make(chan string, 1)
	s, path := serve(t, follower(nil, ended), nil)
	c := dialRequest(t, path, `{"verb":"logs","follow":true}`)
	if r := readReply(t, bufio.NewReader(c)); string(r.Data) != `"first"` {
		t.Fatalf("first reply %+v", r)
	}
	waitCounts(t, s, 1, 1)
	c.Close()
	wantHangup(t, ended)
	waitCounts(t, s, 0, 0)
}

// TestHalfCloseIsNotHangup: a client that shuts down its writing side after the request (as
// socat does) still gets its replies; its full close then ends the handler.
func TestHalfCloseIsNotHangup(t *testing.T) {
	ended := make(chan string, 1)
	release := make(chan struct{})
	_, path := serve(t, follower(release, ended), nil)
	c := dialRequest(t, path, `{"verb":"logs","follow":true}`)
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	if r := readReply(t, br); string(r.Data) != `"first"` {
		t.Fatalf("first reply %+v", r)
	}
	close(release)
	if r := readReply(t, br); string(r.Data) != `"second"` || !r.Done {
		t.Fatalf("second reply %+v", r)
	}
	if got := <-ended; got != "released" {
		t.Errorf("handler ended with %q", got)
	}
	// And a half-closed client that then closes is a hangup.
	ended2 := make(chan string, 1)
	_, path2 := serve(t, follower(nil, ended2), nil)
	c2 := dialRequest(t, path2, `{"verb":"logs","follow":true}`)
	c2.CloseWrite()
	readReply(t, bufio.NewReader(c2))
	c2.Close()
	wantHangup(t, ended2)
}

// TestStalledReaderDropped: a client that never reads a follow's lines is disconnected once
// a write waits WriteTimeout, so that it pins no more than its socket buffer.
func TestStalledReaderDropped(t *testing.T) {
	sent := make(chan int, 1)
	s, path := serve(t, func(ctx context.Context, req *api.Request, p *Peer, send func(*api.Response) error) {
		line := json.RawMessage(`"` + strings.Repeat("x", 4096) + `"`)
		n := 0
		for send(&api.Response{Data: line}) == nil {
			n++
		}
		sent <- n
	}, func(s *Server) { s.WriteTimeout = 200 * time.Millisecond })
	dialRequest(t, path, `{"verb":"logs","follow":true}`) // and never read
	select {
	case n := <-sent:
		t.Logf("%d lines of 4 KiB went into the socket before the write timed out", n)
	case <-time.After(20 * time.Second):
		t.Fatal("the handler is still writing to a client that does not read")
	}
	waitCounts(t, s, 0, 0)
}

// TestRefusedOverLimits: a connection over the limits gets one reply, code "limit", with
// the limit in its message, and is closed; the ones admitted are served on.
func TestRefusedOverLimits(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	ended := make(chan string, 4)
	s, path := serve(t, follower(release, ended), func(s *Server) {
		s.SetLimits(Limits{Total: 2, Reserved: 1, PerUID: 1, Follows: 1, FollowsPerUID: 1})
	})
	for i := 0; i < 2; i++ {
		c := dialRequest(t, path, `{"verb":"logs","follow":true}`)
		readReply(t, bufio.NewReader(c))
	}
	waitCounts(t, s, 2, 2)
	// The manager answers a connection over the limits before it reads and closes it, so the
	// request may meet a closed peer (EPIPE); the reply is there all the same, as the client
	// package expects.
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(`{"verb":"ping"}` + "\n"))
	br := bufio.NewReader(c)
	r := readReply(t, br)
	if !r.Done || r.Code != "limit" || r.Error != "Too many control connections (limit 2)." {
		t.Errorf("reply over the limit: %+v", r)
	}
	if _, err := br.ReadByte(); err == nil {
		t.Error("the refused connection stays open")
	}
}

// TestPeerCredentials: the server sees the client's pid, uid, gid and supplementary groups
// as the kernel reports them.
func TestPeerCredentials(t *testing.T) {
	got := make(chan *Peer, 1)
	_, path := serve(t, func(ctx context.Context, req *api.Request, p *Peer, send func(*api.Response) error) {
		got <- p
		send(&api.Response{Done: true})
	}, nil)
	c := dialRequest(t, path, `{"verb":"ping"}`)
	readReply(t, bufio.NewReader(c))
	p := <-got
	if p.PID != os.Getpid() || p.UID != os.Getuid() || p.GID != os.Getgid() || !p.Privileged {
		t.Errorf("peer %+v, want pid %d uid %d gid %d, privileged", p, os.Getpid(), os.Getuid(), os.Getgid())
	}
	// The privileged peer's groups are not needed and not read; read them here.
	groups, err := peerGroups(c)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.Getgroups()
	slices.Sort(groups)
	slices.Sort(want)
	if !slices.Equal(groups, want) {
		t.Errorf("SO_PEERGROUPS %v, getgroups %v", groups, want)
	}
}

func TestMayReadLogs(t *testing.T) {
	const adm, journal = 4, 999
	for _, tc := range []struct {
		name string
		peer Peer
		log  []int
		want bool
	}{
		{"root", Peer{UID: 0, Privileged: true}, nil, true},
		{"owner_of_a_user_manager", Peer{UID: 1000, GID: 1000, Privileged: true}, nil, true},
		{"other_user_of_a_user_manager", Peer{UID: 1001, GID: 1001, Groups: []int{adm}}, nil, false},
		{"nobody", Peer{UID: 65534, GID: 65534, Groups: []int{65534}}, []int{adm, journal}, false},
		{"supplementary_adm", Peer{UID: 1000, GID: 1000, Groups: []int{1000, adm}}, []int{adm, journal}, true},
		{"primary_systemd_journal", Peer{UID: 1000, GID: journal}, []int{adm, journal}, true},
		{"groups_unknown", Peer{UID: 1000, GID: 1000}, []int{adm, journal}, false},
	} {
		if got := MayReadLogs(&tc.peer, tc.log); got != tc.want {
			t.Errorf("%s: MayReadLogs = %v, want %v", tc.name, got, tc.want)
		}
	}
}
