package control

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flint-init/flint/api"
)

// startServer serves a handler that answers every request with its verb, on a socket in a
// temporary directory.
func startServer(t *testing.T) (*Server, string, *atomic.Int32) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "control.sock")
	var calls atomic.Int32
	s, err := Listen(path, func(ctx context.Context, req *api.Request, peer *Peer, send func(*api.Response) error) {
		calls.Add(1)
		data, _ := json.Marshal(map[string]any{"verb": req.Verb, "uid": peer.UID, "units": req.Units})
		send(&api.Response{Done: true, Data: data})
	}, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	s.ReadTimeout = 2 * time.Second // long enough for a 2 MB write under -race on a loaded machine
	go s.Serve()
	t.Cleanup(func() { s.Close() })
	return s, path, &calls
}

// exchange writes raw bytes (then half-closes unless keepOpen) and returns the first reply.
func exchange(t *testing.T, path string, raw []byte, keepOpen bool) (api.Response, error) {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	go func() {
		c.Write(raw)
		if !keepOpen {
			c.(*net.UnixConn).CloseWrite()
		}
	}()
	var r api.Response
	err = json.NewDecoder(bufio.NewReader(c)).Decode(&r)
	return r, err
}

func TestServerRequests(t *testing.T) {
	_, path, calls := startServer(t)
	for _, tc := range []struct {
		name     string
		raw      []byte
		keepOpen bool
		wantErr  string // substring of api.Response.Error; "" = success
	}{
		{name: "valid", raw: []byte(`{"verb":"status","units":["a.service"]}` + "\n")},
		{name: "valid_without_newline_at_eof", raw: []byte(`{"verb":"status"}`)},
		{name: "unknown_fields_ignored", raw: []byte(`{"verb":"status","frob":1}` + "\n")},
		{name: "invalid_json", raw: []byte("{verb: status}\n"), wantErr: "bad request: invalid character"},
		{name: "not_an_object", raw: []byte("[1,2,3]\n"), wantErr: "bad request: json: cannot unmarshal array"},
		{name: "wrong_type", raw: []byte(`{"verb":5}` + "\n"), wantErr: "bad request: json: cannot unmarshal number"},
		{name: "no_verb", raw: []byte(`{"units":["a"]}` + "\n"), wantErr: "bad request: no verb"},
		{name: "empty_line", raw: []byte("\n"), wantErr: "bad request: empty request"},
		{name: "nothing_then_eof", raw: nil, wantErr: "bad request: EOF"},
		{name: "binary_garbage", raw: []byte{0, 1, 2, 0xff, 0xfe, '\n'}, wantErr: "bad request"},
		{name: "bad_lines", raw: []byte(`{"verb":"logs","lines":-5}` + "\n"), wantErr: "bad request: lines -5"},
		{name: "oversized_line", raw: append(bytes.Repeat([]byte("x"), api.MaxRequestSize+10), '\n'), wantErr: "larger than"},
		{name: "oversized_no_newline_kept_open", raw: bytes.Repeat([]byte(" "), 2*api.MaxRequestSize), keepOpen: true, wantErr: "larger than"},
		{name: "silent_client_times_out", raw: []byte(`{"verb":"sta`), keepOpen: true, wantErr: "i/o timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := calls.Load()
			r, err := exchange(t, path, tc.raw, tc.keepOpen)
			if err != nil {
				t.Fatalf("no reply: %v", err)
			}
			if !r.Done {
				t.Errorf("reply without Done: %+v", r)
			}
			if tc.wantErr == "" {
				if r.Error != "" || calls.Load() != before+1 {
					t.Errorf("reply %+v, handler calls %d -> %d", r, before, calls.Load())
				}
				return
			}
			if !strings.Contains(r.Error, tc.wantErr) || r.Code != "bad-request" {
				t.Errorf("error %q code %q, want %q, bad-request", r.Error, r.Code, tc.wantErr)
			}
			if calls.Load() != before {
				t.Errorf("handler called for a bad request")
			}
		})
	}
	// The server still serves after all that.
	if r, err := exchange(t, path, []byte(`{"verb":"ping"}`+"\n"), false); err != nil || r.Error != "" {
		t.Errorf("after bad requests: %+v, %v", r, err)
	}
}

func TestAllowed(t *testing.T) {
	for _, tc := range []struct {
		verb       api.Verb
		uid, owner int
		want       bool
	}{
		{"start", 0, 1000, true},
		{"start", 1000, 1000, true},
		{"start", 1001, 1000, false},
		{"daemon-reload", 65534, 0, false},
		{"kill", 65534, 0, false},
		{"reset-failed", 65534, 0, false},
		{"status", 65534, 0, true},
		{"show", 65534, 0, true},
		{"list-units", 65534, 0, true},
		{"list-sockets", 65534, 0, true},
		{"logs", 65534, 0, true},
		{"is-active", 65534, 0, true},
		{"frobnicate", 65534, 0, false},
	} {
		if got := Allowed(tc.verb, tc.uid, tc.owner); got != tc.want {
			t.Errorf("Allowed(%s, uid %d, owner %d) = %v", tc.verb, tc.uid, tc.owner, got)
		}
	}
}

func TestListenRefusesSecondManager(t *testing.T) {
	_, path, _ := startServer(t)
	if _, err := Listen(path, nil, t.Logf); err == nil || !strings.Contains(err.Error(), "another manager is running") {
		t.Errorf("second Listen on a live socket: %v", err)
	}
	// A stale socket file (nobody listening) is replaced.
	stale := filepath.Join(t.TempDir(), "stale.sock")
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	s, err := Listen(stale, nil, t.Logf)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	s.Close()
	if fi, err := os.Stat(stale); err == nil {
		t.Errorf("socket file left after Close: %v", fi.Mode())
	}
}

func TestHandlerPanicIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	s, err := Listen(path, func(ctx context.Context, req *api.Request, peer *Peer, send func(*api.Response) error) {
		if req.Verb == "boom" {
			panic("boom")
		}
		send(&api.Response{Done: true})
	}, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	defer s.Close()
	r, err := exchange(t, path, []byte(`{"verb":"boom"}`+"\n"), false)
	if err != nil || !strings.Contains(r.Error, "internal error: boom") || !r.Done {
		t.Errorf("reply to a panicking handler: %+v, %v", r, err)
	}
	if r, err := exchange(t, path, []byte(`{"verb":"ok"}`+"\n"), false); err != nil || r.Error != "" {
		t.Errorf("after a panic: %+v, %v", r, err)
	}
}

// TestServerDrain: after Close, Drain waits for the request being answered (and not longer
// than its timeout), so that a quitting manager's last replies reach their clients.
func TestServerDrain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	entered, release := make(chan struct{}), make(chan struct{})
	s, err := Listen(path, func(ctx context.Context, req *api.Request, peer *Peer, send func(*api.Response) error) {
		close(entered)
		<-release
		send(&api.Response{Done: true})
	}, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(`{"verb":"exit"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	replied := make(chan error, 1)
	go func() {
		var r api.Response
		replied <- json.NewDecoder(c).Decode(&r)
	}()
	<-entered
	s.Close()
	if s.Drain(100 * time.Millisecond) {
		t.Fatal("Drain returned true while a request was being answered")
	}
	go func() { time.Sleep(50 * time.Millisecond); close(release) }()
	if !s.Drain(5 * time.Second) {
		t.Fatal("Drain timed out after the reply")
	}
	if err := <-replied; err != nil {
		t.Fatalf("reply: %v", err)
	}
}
