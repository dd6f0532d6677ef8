package client

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/internal/control"
)

// fakeManager answers requests with canned data over the real protocol.
func fakeManager(t *testing.T, h control.Handler) *Client {
	t.Helper()
	path := filepath.Join(t.TempDir(), "control.sock")
	s, err := control.Listen(path, h, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	t.Cleanup(func() { s.Close() })
	return New(path)
}

func TestClientCalls(t *testing.T) {
	var mu sync.Mutex
	var reqs []*api.Request
	last := func() *api.Request { mu.Lock(); defer mu.Unlock(); return reqs[len(reqs)-1] }
	c := fakeManager(t, func(ctx context.Context, req *api.Request, peer *control.Peer, send func(*api.Response) error) {
		mu.Lock()
		reqs = append(reqs, req)
		mu.Unlock()
		var v any
		switch req.Verb {
		case "start":
			v = []JobResult{{Unit: "a.service", Job: "start", Result: "failed", UnitResult: "exit-code"}}
		case "list-units":
			v = []UnitInfo{{Name: "a.service", Load: "loaded", Active: "active", Sub: "running"}}
		case "is-active":
			v = []string{"active", "inactive"}
		case "list-dependencies":
			v = []DepNode{{Unit: "a.target", Active: "active"}, {Unit: "b.service", Active: "failed", Depth: 1}}
		case "kill":
			send(&api.Response{Done: true, Code: "not-found", Error: "Failed to kill unit x.service: Unit x.service not loaded."})
			return
		case "logs":
			for i := 0; i < 3; i++ {
				b, _ := json.Marshal([]LogLine{{Unit: "a.service", Text: "line"}})
				if send(&api.Response{Data: b}) != nil {
					return
				}
			}
			send(&api.Response{Done: true})
			return
		}
		b, _ := json.Marshal(v)
		send(&api.Response{Done: true, Data: b})
	})
	t.Run("jobs", func(t *testing.T) {
		res, err := c.Jobs("start", []string{"a"}, false)
		want := []JobResult{{Unit: "a.service", Job: "start", Result: "failed", UnitResult: "exit-code"}}
		if err != nil || !reflect.DeepEqual(res, want) {
			t.Errorf("Jobs = %+v, %v", res, err)
		}
	})
	t.Run("list_units_sends_filters", func(t *testing.T) {
		res, err := c.ListUnits(true, []string{"service"}, []string{"failed"}, []string{"a*"})
		if err != nil || len(res) != 1 || res[0].Sub != "running" {
			t.Errorf("ListUnits = %+v, %v", res, err)
		}
		r := last()
		if !r.All || !reflect.DeepEqual(r.Types, []string{"service"}) || !reflect.DeepEqual(r.States, []string{"failed"}) || !reflect.DeepEqual(r.Units, []string{"a*"}) {
			t.Errorf("request %+v", r)
		}
	})
	t.Run("active_states", func(t *testing.T) {
		res, err := c.ActiveStates([]string{"a", "b"})
		if err != nil || !reflect.DeepEqual(res, []string{"active", "inactive"}) {
			t.Errorf("ActiveStates = %v, %v", res, err)
		}
	})
	t.Run("dependencies", func(t *testing.T) {
		res, err := c.ListDependencies("a.target", false, true)
		if err != nil || len(res) != 2 || res[1].Depth != 1 || !last().Reverse {
			t.Errorf("ListDependencies = %+v, %v", res, err)
		}
	})
	t.Run("error_reply", func(t *testing.T) {
		err := c.Kill([]string{"x.service"}, 9, "all")
		var ce *Error
		if !errors.As(err, &ce) || ce.Code != "not-found" || ce.Msg != "Failed to kill unit x.service: Unit x.service not loaded." {
			t.Errorf("Kill error = %#v", err)
		}
	})
	t.Run("logs_stream", func(t *testing.T) {
		n := 0
		err := c.Logs(&Request{Follow: true}, func(l LogLine) error { n++; return nil })
		if err != nil || n != 3 {
			t.Errorf("Logs: %d lines, %v", n, err)
		}
		// A callback error stops the stream and is returned.
		stop := errors.New("enough")
		err = c.Logs(&Request{Follow: true}, func(l LogLine) error { return stop })
		if !errors.Is(err, stop) {
			t.Errorf("Logs with a failing callback: %v", err)
		}
	})
}

func TestNoManager(t *testing.T) {
	c := New(filepath.Join(t.TempDir(), "missing.sock"))
	if _, err := c.Ping(); !errors.Is(err, ErrNoManager) {
		t.Errorf("Ping without a manager: %v, want ErrNoManager", err)
	}
}

// TestDialBacklogFull: a manager that does not accept (its backlog full) makes the client give
// up after Timeout with a deadline error, rather than hang.
func TestDialBacklogFull(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	// Fill the backlog: connections until one would wait.
	var held []*os.File
	defer func() {
		for _, f := range held {
			f.Close()
		}
	}()
	for len(held) < 8 {
		f, err := dial(path, 50*time.Millisecond)
		if err != nil {
			break
		}
		held = append(held, f)
	}
	if len(held) == 0 || len(held) == 8 {
		t.Fatalf("%d connections before the backlog was full", len(held))
	}
	c := New(path)
	c.Timeout = 100 * time.Millisecond
	_, err = c.Jobs("start", []string{"x.service"}, true)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Jobs with the backlog full: %v, want a deadline error", err)
	}
}

// TestRefusalBeforeRequest: a manager over its connection limits answers before reading
// and closes; the client reports that reply even though sending its request failed (here a
// request larger than the socket buffer, so that the write is still going on at the close).
func TestRefusalBeforeRequest(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		c.Write([]byte(`{"done":true,"error":"Too many control connections of uid 65534 (limit 256 per user).","code":"limit"}` + "\n"))
		c.Close()
	}()
	big := strings.Repeat("x", 4<<20)
	err = New(path).Do(&Request{Verb: "status", Units: []string{big}}, nil)
	var ce *Error
	if !errors.As(err, &ce) || ce.Code != "limit" || !strings.Contains(ce.Msg, "limit 256 per user") {
		t.Errorf("error %v, want the refusal", err)
	}
}
