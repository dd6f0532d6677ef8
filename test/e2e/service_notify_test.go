package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNotifyProtocol checks sd_notify messages beyond READY=1: EXTEND_TIMEOUT_USEC,
// WATCHDOG=1 keep-alives and WATCHDOG=trigger, STATUS with ERRNO, and ExecReload= with $MAINPID.
func TestNotifyProtocol(t *testing.T) {
	h := svcHelper(t)
	dir := t.TempDir()
	units := writeUnits(t, map[string]string{
		// READY comes 1.5s after the start, past TimeoutStartSec=500ms, but the timeout was extended.
		"extend.service": unitFile("Service", "Type=notify\nTimeoutStartSec=500ms\n"+
			"ExecStart="+h+" steps EXTEND_TIMEOUT_USEC=10000000 sleep:1500 READY=1"),
		// Pings for 1.5s, then says so (with a ping) and goes on pinging.
		"keepalive.service": unitFile("Service", "Type=notify\nWatchdogSec=400ms\n"+
			"ExecStart="+h+" steps READY=1"+strings.Repeat(" sleep:100 WATCHDOG=1", 15)+` "WATCHDOG=1\nSTATUS=pinged" loop:100:WATCHDOG=1`),
		"trigger.service": unitFile("Service", "Type=notify\nWatchdogSec=1min\nTimeoutStopSec=1\n"+
			"ExecStart="+h+" steps READY=1 sleep:200 WATCHDOG=trigger"),
		"errno.service": unitFile("Service", "Type=notify\n"+
			`ExecStart=`+h+` steps "STATUS=cannot open the database\nERRNO=5" READY=1`),
		"reload.service": unitFile("Service", "ExecStart=/bin/sleep 1000\n"+
			"ExecReload=/bin/sh -c 'echo reload $MAINPID >> "+dir+"/reload.log'"),
		"skip.service":   unitFile("Unit", "ConditionPathExists=/nonexistent/flint-e2e", "Service", "ExecStart=/bin/sleep 1000"),
		"assert.service": unitFile("Unit", "AssertPathExists=/nonexistent/flint-e2e", "Service", "ExecStart=/bin/sleep 1000"),
	})
	m := startManager(t, units)

	t.Run("EXTEND_TIMEOUT_USEC", func(t *testing.T) {
		c := on(t, m)
		c.start("extend.service")
		c.waitState("extend.service", "active/running")
	})
	t.Run("watchdog_keepalive", func(t *testing.T) {
		c := on(t, m)
		c.start("keepalive.service")
		// Several watchdog periods pass while the service keeps pinging: it is still there
		// to say so (the watchdog would have killed it).
		c.waitProps("keepalive.service", map[string]string{"StatusText": "pinged"})
		if p := c.props("keepalive.service", "ActiveState", "Result", "NRestarts"); p["ActiveState"] != "active" || p["Result"] != "success" {
			t.Errorf("a service sending WATCHDOG=1 in time: %v", p)
		}
	})
	t.Run("WATCHDOG_trigger", func(t *testing.T) {
		c := on(t, m)
		c.start("trigger.service")
		c.waitProps("trigger.service", map[string]string{"ActiveState": "failed", "Result": "watchdog"})
	})
	t.Run("STATUS_and_ERRNO", func(t *testing.T) {
		c := on(t, m)
		c.start("errno.service")
		c.waitProps("errno.service", map[string]string{"StatusText": "cannot open the database", "StatusErrno": "5"})
	})
	t.Run("ExecReload", func(t *testing.T) {
		c := on(t, m)
		c.start("reload.service")
		pid := c.prop("reload.service", "MainPID")
		if out, code := c.flint("reload", "reload.service"); code != 0 {
			t.Fatalf("reload: exit %d: %s", code, out)
		}
		if got, _ := os.ReadFile(filepath.Join(dir, "reload.log")); string(got) != "reload "+pid+"\n" {
			t.Errorf("ExecReload wrote %q, want the main pid %s", got, pid)
		}
		c.waitState("reload.service", "active/running")
	})
	t.Run("condition_skips", func(t *testing.T) {
		c := on(t, m)
		c.start("skip.service") // a failed condition is not an error
		c.waitProps("skip.service", map[string]string{"ActiveState": "inactive", "ConditionResult": "no"})
	})
	t.Run("assert_fails", func(t *testing.T) {
		c := on(t, m)
		if _, code := c.flint("start", "assert.service"); code == 0 {
			t.Error("start with a failed assertion exited 0")
		}
		c.waitProps("assert.service", map[string]string{"ActiveState": "inactive"})
	})
}

// TestNotifyUserService: a Type=notify service running as another user reaches the notify
// socket even when the manager's runtime directory (here the control socket's, a 0700 test
// directory) is closed to that user.
func TestNotifyUserService(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root for User=nobody")
	}
	// The helper itself must be reachable by nobody: a directory of its own, open to all.
	open, err := os.MkdirTemp("", "flint-e2e-notify-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(open) })
	if err := os.Chmod(open, 0o755); err != nil {
		t.Fatal(err)
	}
	h := filepath.Join(open, "svchelper")
	if err := os.Rename(svcHelper(t), h); err != nil {
		t.Fatal(err)
	}
	units := writeUnits(t, map[string]string{
		"nobody.service": unitFile("Service", "Type=notify\nUser=nobody\nTimeoutStartSec=5\nExecStart="+h+" notify READY=1"),
	})
	m := startManager(t, units)
	closed := false
	for d := filepath.Dir(m.control); d != "/"; d = filepath.Dir(d) {
		if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o001 == 0 {
			closed = true
		}
	}
	if !closed {
		t.Fatalf("the control socket's directory %s should be closed to other users", filepath.Dir(m.control))
	}
	c := on(t, m)
	c.start("nobody.service")
	c.waitProps("nobody.service", map[string]string{"ActiveState": "active", "SubState": "running", "Result": "success"})
}
