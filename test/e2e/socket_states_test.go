package e2e

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSocketStates: the socket state machine as systemd 252's socket.c runs it (and
// internal/difftest's TestSocketDifferential compares).
func TestSocketStates(t *testing.T) {
	dir := t.TempDir()
	log := func(name string) string { return filepath.Join(dir, name+".log") }
	logged := func(key, name, what string) string {
		return key + "=/bin/sh -c 'echo " + what + " >>" + log(name) + "'\n"
	}
	stops := func(name string) string {
		return logged("ExecStopPre", name, "stop-pre") + logged("ExecStopPost", name, "stop-post")
	}
	listen := func(name string) string { return "ListenStream=" + filepath.Join(dir, name+".sk") + "\n" }
	sleeper := unitFile("Service", "ExecStart=/bin/sleep 30")
	units := writeUnits(t, map[string]string{
		// A failing ExecStartPost= stops the socket as a stop does.
		"post.socket":  unitFile("Socket", listen("post")+"ExecStartPost=/bin/false\n"+stops("post")),
		"post.service": sleeper,
		// A failing ExecStopPre= fails the stop.
		"stoppre.socket":  unitFile("Socket", listen("stoppre")+"ExecStopPre=/bin/false\n"+logged("ExecStopPost", "stoppre", "stop-post")),
		"stoppre.service": sleeper,
		// A socket does not start while its service runs.
		"busy.socket":  unitFile("Socket", listen("busy")),
		"busy.service": sleeper,
		// FlushPending=yes drops the connection the service left.
		"flush.socket":  unitFile("Socket", listen("flush")+"FlushPending=yes"),
		"flush.service": unitFile("Service", "ExecStart=/bin/sh -c 'echo start >>"+log("flush")+"'"),
		// The connection that hits the trigger limit is refused, and the socket stops.
		"limit.socket":   unitFile("Socket", listen("limit")+"Accept=yes\nTriggerLimitBurst=1\nTriggerLimitIntervalSec=1min\n"+stops("limit")),
		"limit@.service": unitFile("Service", "StandardInput=socket\nExecStart=/bin/sleep 30"),
		// A service PartOf= its socket restarts with it, and holds its sockets.
		"part.socket":  unitFile("Socket", listen("part")),
		"part.service": unitFile("Unit", "PartOf=part.socket", "Service", "ExecStart=/bin/sleep 30"),
	})
	m := startManager(t, units)
	c := on(t, m)
	connect := func(name string) {
		t.Helper()
		conn, err := net.Dial("unix", filepath.Join(dir, name+".sk"))
		if err != nil {
			t.Fatal(err)
		}
		conn.Close()
	}
	read := func(name string) string {
		data, _ := os.ReadFile(log(name))
		return string(data)
	}

	c.run(1, "start", "post.socket")
	c.waitProps("post.socket", map[string]string{"ActiveState": "failed", "Result": "exit-code"})
	if got := read("post"); got != "stop-pre\nstop-post\n" {
		t.Errorf("post.socket: stop commands ran %q, want stop-pre and stop-post", got)
	}

	c.start("stoppre.socket")
	c.run(0, "stop", "stoppre.socket")
	c.waitProps("stoppre.socket", map[string]string{"ActiveState": "failed", "Result": "exit-code"})
	if got := read("stoppre"); got != "stop-post\n" {
		t.Errorf("stoppre.socket: stop commands ran %q, want stop-post", got)
	}

	c.start("busy.socket")
	c.start("busy.service")
	c.run(0, "stop", "busy.socket")
	c.run(1, "start", "busy.socket")
	c.waitState("busy.socket", "inactive/dead")
	c.run(0, "stop", "busy.service")
	c.start("busy.socket")

	c.start("flush.socket")
	// The connection stays open: once the service exited, FlushPending=yes accepts and closes
	// it, which the client reads as EOF; a connection still pending would start the service
	// again.
	fconn, err := net.Dial("unix", filepath.Join(dir, "flush.sk"))
	if err != nil {
		t.Fatal(err)
	}
	fconn.SetReadDeadline(time.Now().Add(15 * time.Second))
	if n, err := fconn.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("flush.socket: the pending connection was not flushed: read %d, %v", n, err)
	}
	fconn.Close()
	c.waitState("flush.socket", "active/listening")
	c.waitJobsDone()
	if got := read("flush"); got != "start\n" {
		t.Errorf("flush.service started %d times, want once (FlushPending=yes)", strings.Count(got, "start"))
	}

	c.start("limit.socket")
	connect("limit")
	c.waitProps("limit.socket", map[string]string{"NAccepted": "1"})
	connect("limit")
	c.waitProps("limit.socket", map[string]string{"ActiveState": "failed", "Result": "trigger-limit-hit", "NRefused": "1"})
	if got := read("limit"); got != "stop-pre\nstop-post\n" {
		t.Errorf("limit.socket: stop commands ran %q, want stop-pre and stop-post", got)
	}

	c.start("part.socket")
	connect("part")
	c.waitState("part.service", "active/running")
	pid := c.prop("part.service", "MainPID")
	c.run(0, "restart", "part.socket")
	c.waitState("part.socket", "active/running")
	if c.waitState("part.service", "active/running"); c.prop("part.service", "MainPID") == pid {
		t.Errorf("part.service: not restarted with its socket")
	}
}
