package manager

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/unit"
)

// dispatchUnits is the small unit directory FuzzDispatch's manager runs on: targets only (a
// request can start and stop them, but no process is ever spawned), with dependencies, a
// template, an alias, a masked unit, a unit with a bad setting and one that refuses manual
// start.
var dispatchUnits = map[string]string{
	"fuzz.target":        target("Fuzz", "Wants=a.target b.target"),
	"a.target":           target("A", "Requires=b.target", "After=b.target", "PropagatesReloadTo=b.target"),
	"b.target":           target("B", "Conflicts=c.target"),
	"c.target":           target("C", "RefuseManualStart=yes"),
	"t@.target":          target("T %i", "Wants=a.target"),
	"alias.target":       "-> a.target",
	"masked.target":      "-> /dev/null",
	"bad.target":         "[Unit]\nDescription=Bad\nRequires=\n[Install]\nWantedBy=\x01\n[Unit\n",
	"fuzz.target.wants/": "",
	"a.target.d/10.conf": "[Unit]\nDescription=A with a drop-in\n",
	"b.target.wants/x":   "-> a.target",
}

// writeDispatchUnits writes dispatchUnits under dir/units: a name ending in "/" is a
// directory, a body "-> TARGET" a symbolic link.
func writeDispatchUnits(dir string) {
	for name, body := range dispatchUnits {
		p := filepath.Join(dir, "units", name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		switch {
		case strings.HasSuffix(name, "/"):
			os.MkdirAll(p, 0o755)
		case strings.HasPrefix(body, "->"):
			os.Symlink(strings.TrimSpace(body[2:]), p)
		default:
			os.WriteFile(p, []byte(body), 0o644)
		}
	}
}

// dispatchManager is a manager running in this process on a control socket, made anew once
// a request has made the last one quit (exit, poweroff, halt, reboot).
type dispatchManager struct {
	dir     string
	control string
	console *consoleWatch
	done    chan error
	cancel  context.CancelFunc
}

// consoleWatch is the manager's console output; it remembers a request handler's panic,
// which the control server recovers from and reports there.
type consoleWatch struct {
	mu       sync.Mutex
	panicked string
}

func (c *consoleWatch) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.panicked == "" && bytes.Contains(p, []byte("panicked")) {
		c.panicked = string(p)
	}
	return len(p), nil
}

func (c *consoleWatch) panicMessage() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.panicked
}

func startDispatchManager(tb testing.TB, dir string) *dispatchManager {
	tb.Helper()
	d := &dispatchManager{dir: dir, control: filepath.Join(dir, "control.sock"), console: &consoleWatch{}, done: make(chan error, 1)}
	m, err := New(Options{Scope: unit.System, UnitDirs: []string{filepath.Join(dir, "units")}, ControlPath: d.control,
		Target: "fuzz.target", Console: d.console})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	go func() { d.done <- m.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, err := net.Dial("unix", d.control); err == nil {
			c.Close()
			return d
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no control socket after 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// quit reports whether the manager's Run has returned.
func (d *dispatchManager) quit() bool {
	select {
	case err := <-d.done:
		d.done <- err
		return true
	default:
		return false
	}
}

func (d *dispatchManager) stop() {
	d.cancel()
	select {
	case <-d.done:
	case <-time.After(30 * time.Second):
	}
}

// exchange sends one request line and reads the responses until one has Done set or the
// server closes the connection; it returns them and whether the last had Done set.
func (d *dispatchManager) exchange(t *testing.T, line []byte) ([]api.Response, bool) {
	t.Helper()
	c, err := net.Dial("unix", d.control)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write(line); err != nil {
		t.Fatalf("write: %v", err)
	}
	c.(*net.UnixConn).CloseWrite()
	sc := bufio.NewScanner(c)
	sc.Buffer(nil, 64<<20)
	var out []api.Response
	for sc.Scan() {
		var r api.Response
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("response %q: %v", sc.Bytes(), err)
		}
		out = append(out, r)
		if r.Done {
			return out, true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading the reply to %q: %v", line, err)
	}
	return out, false
}

// FuzzDispatch sends control requests to a manager built in this process on a small unit
// directory, as root on its real control socket: raw request lines, or requests made from
// the input's fields. Every request gets one reply that ends with Done (an error always with
// a code), no handler panics, and the manager answers ping afterwards unless the request
// made it quit. Followed logs are left to the soak suite (test/soak): they never end.
func FuzzDispatch(f *testing.F) {
	dir := f.TempDir()
	writeDispatchUnits(dir)
	var mu sync.Mutex
	d := startDispatchManager(f, dir)
	f.Cleanup(func() { d.stop() })

	for _, line := range []string{
		`{"verb":"ping"}`, `{"verb":"status"}`, `{"verb":"show","units":["a.target"],"props":["Id","Wants"]}`,
		`{"verb":"start","units":["t@x.target","c.target"]}`, `{"verb":"stop","units":["*.target"],"mode":"fail"}`,
		`{"verb":"list-units","all":true,"types":["target"],"states":["active"]}`, `{"verb":"logs","lines":-1,"reverse":true}`,
		`{"verb":"kill","units":["a.target"],"signal":15,"kill_whom":"main"}`, `{"verb":"daemon-reload"}`,
		`{"verb":"list-dependencies","units":["fuzz.target"],"reverse":true}`, `{"verb":"set-exit-code","exit_code":300}`,
		`{"verb":"reload-or-restart","units":["alias.target","masked.target","bad.target"],"no_block":true}`,
		`{"verb":"exit"}`, "{\"verb\":\"status\"", "\x00\xff\n", `{"verb":"list-jobs"}{"verb":"ping"}`,
	} {
		f.Add([]byte(line), "", "", uint16(0), 0, "")
	}
	f.Add([]byte(nil), "start", "a.target\x00t@\\x2d.target", uint16(1), 0, "isolate")
	f.Add([]byte(nil), "show", "*", uint16(2), 3, "Id\x00ActiveState")
	f.Add([]byte(nil), "logs", "a.target", uint16(8), -1, "")
	f.Add([]byte(nil), "kill", "b.target", uint16(4), 9, "all")
	f.Add([]byte(nil), "set-exit-code", "", uint16(16), 255, "")

	f.Fuzz(func(t *testing.T, raw []byte, verb, units string, opts uint16, num int, text string) {
		line := raw
		if len(raw) == 0 {
			req := api.Request{Verb: api.Verb(verb), NoBlock: opts&1 != 0, All: opts&2 != 0, Reverse: opts&4 != 0,
				Signal: num, Lines: num, Mode: text, KillWhom: text}
			if units != "" {
				req.Units = strings.Split(units, "\x00")
			}
			if opts&8 != 0 {
				req.Props = strings.Split(text, "\x00")
				req.Types, req.States = req.Props, req.Props
			}
			if opts&16 != 0 {
				req.ExitCode = &num
			}
			if opts&32 != 0 {
				req.Since = time.Unix(int64(num), 0)
			}
			b, err := json.Marshal(&req)
			if err != nil {
				return // not valid UTF-8 in a way json refuses: no request to send
			}
			line = append(b, '\n')
		}
		req, err := api.ReadRequest(bufio.NewReader(bytes.NewReader(line)))
		if err == nil && req.Follow {
			return
		}
		quitting := err == nil && (req.Verb == "exit" || req.Verb == "poweroff" || req.Verb == "halt" || req.Verb == "reboot")
		mu.Lock()
		defer mu.Unlock()
		if d.quit() {
			d = startDispatchManager(t, dir)
		}
		resp, done := d.exchange(t, line)
		if !done {
			t.Fatalf("%q: reply ended without done: %+v", line, resp)
		}
		last := resp[len(resp)-1]
		if last.Error != "" && last.Code == "" {
			t.Fatalf("%q: error without a code: %+v", line, last)
		}
		if len(last.Data) > 0 && !json.Valid(last.Data) {
			t.Fatalf("%q: data is not JSON: %q", line, last.Data)
		}
		if p := d.console.panicMessage(); p != "" {
			t.Fatalf("%q: a request handler panicked: %s", line, p)
		}
		if quitting && last.Error == "" {
			// Accepted: the manager stops its units and Run returns.
			select {
			case err := <-d.done:
				d.done <- err
			case <-time.After(30 * time.Second):
				t.Fatalf("%q accepted, but the manager still runs 30s later", line)
			}
			return
		}
		if resp, done := d.exchange(t, []byte(`{"verb":"ping"}`+"\n")); !done || resp[len(resp)-1].Error != "" {
			t.Fatalf("after %q: ping answered %+v", line, resp)
		}
	})
}
