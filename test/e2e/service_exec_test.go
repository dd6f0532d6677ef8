package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestExecContext checks the process environment flint builds from the [Service] exec settings:
// Environment/EnvironmentFile/PassEnvironment/UnsetEnvironment, User/Group, UMask, Nice,
// LimitNOFILE, WorkingDirectory, RuntimeDirectory/StateDirectory with mode, owner and variables.
func TestExecContext(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root for User=nobody")
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	envFile := filepath.Join(dir, "env")
	os.WriteFile(envFile, []byte("# comment\nFROMFILE=\"file value\"\nC=from-file\n"), 0o644)
	t.Setenv("H8_PASS", "passed through")
	os.Unsetenv("H8_NOTSET")
	rt := fmt.Sprintf("flint-e2e-rt-%d", os.Getpid())
	st := fmt.Sprintf("flint-e2e-st-%d", os.Getpid())
	t.Cleanup(func() { os.RemoveAll("/run/" + rt); os.RemoveAll("/var/lib/" + st) })

	units := writeUnits(t, map[string]string{
		"ctx.service": unitFile("Service", fmt.Sprintf(`Type=oneshot
RemainAfterExit=yes
User=nobody
Group=nogroup
UMask=0027
Nice=7
LimitNOFILE=1234
Environment=A=1 "B=two words" DROPME=x
Environment=C=3
EnvironmentFile=%s
EnvironmentFile=-/nonexistent/flint-e2e-env
PassEnvironment=H8_PASS H8_NOTSET
UnsetEnvironment=DROPME
RuntimeDirectory=%s
RuntimeDirectoryMode=0710
StateDirectory=%s
StateDirectoryMode=0700
WorkingDirectory=/run/%s
StandardOutput=truncate:%s
ExecStart=/bin/sh -c 'echo uid=$(id -un) gid=$(id -gn) umask=$(umask) nice=$(nice) nofile=$(ulimit -n) pwd=$(pwd); echo rt=$(stat -c %%%%a:%%%%U:%%%%G $RUNTIME_DIRECTORY) st=$(stat -c %%%%a:%%%%U:%%%%G $STATE_DIRECTORY); env'
`, envFile, rt, st, rt, out)),
	})
	m := startManager(t, units)
	c := on(t, m)
	c.start("ctx.service")
	c.waitState("ctx.service", "active/exited")
	got := readWait(t, out)
	lines := map[string]bool{}
	for _, l := range strings.Split(got, "\n") {
		lines[l] = true
	}
	for _, want := range []string{
		"uid=nobody gid=nogroup umask=0027 nice=7 nofile=1234 pwd=/run/" + rt,
		"rt=710:nobody:nogroup st=700:nobody:nogroup",
		"A=1", "B=two words", "C=from-file", "FROMFILE=file value", "H8_PASS=passed through",
		"RUNTIME_DIRECTORY=/run/" + rt, "STATE_DIRECTORY=/var/lib/" + st,
		"USER=nobody", "HOME=/nonexistent", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	} {
		if !lines[want] {
			t.Errorf("service output lacks %q", want)
		}
	}
	for _, bad := range []string{"DROPME=", "H8_NOTSET", "LISTEN_FDS", "NOTIFY_SOCKET"} {
		if strings.Contains(got, "\n"+bad) {
			t.Errorf("service environment has %s", bad)
		}
	}
	if t.Failed() {
		t.Logf("service output:\n%s", got)
	}
	if _, code := c.flint("stop", "ctx.service"); code != 0 {
		t.Fatal("stop failed")
	}
	c.waitState("ctx.service", "inactive/dead")
	if _, err := os.Stat("/run/" + rt); !os.IsNotExist(err) {
		t.Errorf("RuntimeDirectory /run/%s still exists after stop (%v)", rt, err)
	}
	if _, err := os.Stat("/var/lib/" + st); err != nil {
		t.Errorf("StateDirectory removed on stop: %v", err)
	}
}

// TestExecPID: every process of a unit gets SYSTEMD_EXEC_PID=<its own pid> (systemd.exec(5)):
// the main process, ExecStartPre= and ExecStop= of a service, and a socket's ExecStartPre=. As
// in systemd's build_environment(), Environment= may set it otherwise and UnsetEnvironment=
// removes it.
func TestExecPID(t *testing.T) {
	dir := t.TempDir()
	// Each process appends "NAME own" when SYSTEMD_EXEC_PID is its pid ($$ of the shell flint
	// executed), else "NAME other:<value>".
	report := func(name string) string {
		return fmt.Sprintf(`/bin/sh -c 'if [ "$$SYSTEMD_EXEC_PID" = "$$$$" ]; then echo %s own; else echo %s other:$${SYSTEMD_EXEC_PID-unset}; fi >>%s/out'`, name, name, dir)
	}
	units := writeUnits(t, map[string]string{
		"pid.service": unitFile("Service", "Type=oneshot\nRemainAfterExit=yes\nExecStartPre="+report("pre")+
			"\nExecStart="+report("main")+"\nExecStop="+report("stop")),
		"pid.socket":    unitFile("Socket", "ListenStream="+dir+"/pid.sk\nService=none.service\nExecStartPre="+report("socket-pre")),
		"set.service":   unitFile("Service", "Type=oneshot\nEnvironment=SYSTEMD_EXEC_PID=configured\nExecStart="+report("set")),
		"unset.service": unitFile("Service", "Type=oneshot\nUnsetEnvironment=SYSTEMD_EXEC_PID\nExecStart="+report("unset")),
		"none.service":  unitFile("Service", "ExecStart=/bin/true"),
	})
	m := startManager(t, units)
	c := on(t, m)
	c.start("pid.socket")
	c.waitState("pid.socket", "active/listening")
	for _, u := range []string{"set.service", "unset.service"} {
		c.start(u)
		c.waitState(u, "inactive/dead")
	}
	c.start("pid.service")
	c.waitState("pid.service", "active/exited")
	if _, code := c.flint("stop", "pid.service"); code != 0 {
		t.Fatal("stop pid.service failed")
	}
	c.waitState("pid.service", "inactive/dead")
	out := readWait(t, dir+"/out")
	lines := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		lines[l] = true
	}
	for _, want := range []string{"socket-pre own", "pre own", "main own", "stop own", "set other:configured", "unset other:unset"} {
		if !lines[want] {
			t.Errorf("no line %q in:\n%s", want, out)
		}
	}
}

// TestStandardOutput checks StandardOutput=file:/append:/truncate:/null and StandardError=.
func TestStandardOutput(t *testing.T) {
	dir := t.TempDir()
	path := func(n string) string { return filepath.Join(dir, n) }
	for n, content := range map[string]string{"append": "old\n", "truncate": "old\n", "file": "AAAAAAAA\n"} {
		os.WriteFile(path(n), []byte(content), 0o644)
	}
	svc := func(output, extra string) string {
		return unitFile("Service", "Type=oneshot\nExecStart=/bin/sh -c 'echo x; echo e >&2'\nStandardOutput="+output+"\n"+extra)
	}
	units := writeUnits(t, map[string]string{
		"append.service":   svc("append:"+path("append"), "StandardError=append:"+path("append-err")),
		"truncate.service": svc("truncate:"+path("truncate"), ""),
		"file.service":     svc("file:"+path("file"), "StandardError=null"),
		"null.service":     svc("null", "StandardError=file:"+path("null-err")),
		"journal.service":  unitFile("Service", "Type=oneshot\nExecStart=/bin/sh -c 'echo to stdout; echo to stderr >&2'"),
	})
	m := startManager(t, units)
	t.Run("journal.service", func(t *testing.T) {
		// The default (journal) is captured into flint's per-unit log.
		c := on(t, m)
		c.start("journal.service")
		var out string
		if !waitFor(10*time.Second, func() bool {
			out, _ = c.flint("logs", "-u", "journal.service")
			return strings.Contains(out, "to stdout") && strings.Contains(out, "to stderr")
		}) {
			t.Errorf("flint logs -u journal.service lacks the output:\n%s", out)
		}
	})
	for _, tc := range []struct {
		unit   string
		starts int
		want   map[string]string
	}{
		{"append.service", 2, map[string]string{"append": "old\nx\nx\n", "append-err": "e\ne\n"}},
		{"truncate.service", 2, map[string]string{"truncate": "x\ne\n"}},
		{"file.service", 1, map[string]string{"file": "x\nAAAAAA\n"}},
		{"null.service", 1, map[string]string{"null-err": "e\n"}},
	} {
		t.Run(tc.unit, func(t *testing.T) {
			c := on(t, m)
			for i := 0; i < tc.starts; i++ {
				c.start(tc.unit)
			}
			for f, want := range tc.want {
				if got, _ := os.ReadFile(path(f)); string(got) != want {
					t.Errorf("%s = %q, want %q", f, got, want)
				}
			}
		})
	}
}

// TestRuntimeDirectoryPreserve: RuntimeDirectory= is removed at every stop, except across
// restarts with RuntimeDirectoryPreserve=restart and always with =yes.
func TestRuntimeDirectoryPreserve(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("RuntimeDirectory= lives in /run")
	}
	files := map[string]string{}
	names := map[string]string{}
	for _, mode := range []string{"no", "restart", "yes"} {
		d := fmt.Sprintf("flint-e2e-preserve-%s-%d", mode, os.Getpid())
		names[mode] = d
		t.Cleanup(func() { os.RemoveAll("/run/" + d) })
		files[mode+".service"] = unitFile("Service", "RuntimeDirectory="+d+"\nRuntimeDirectoryPreserve="+mode+
			"\nExecStart=/bin/sh -c 'echo started >> $RUNTIME_DIRECTORY/log; exec sleep 1000'")
	}
	m := startManager(t, writeUnits(t, files))
	for _, tc := range []struct {
		mode            string
		afterRestart    string
		existsAfterStop bool
	}{
		{"no", "started\n", false},
		{"restart", "started\nstarted\n", false},
		{"yes", "started\nstarted\n", true},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			c := on(t, m)
			log := "/run/" + names[tc.mode] + "/log"
			c.start(tc.mode + ".service")
			readWait(t, log)
			if out, code := c.flint("restart", tc.mode+".service"); code != 0 {
				t.Fatalf("restart: %s", out)
			}
			c.waitState(tc.mode+".service", "active/running")
			if !waitFor(10*time.Second, func() bool { got, _ := os.ReadFile(log); return string(got) == tc.afterRestart }) {
				got, _ := os.ReadFile(log)
				t.Errorf("after restart the log is %q, want %q", got, tc.afterRestart)
			}
			c.flint("stop", tc.mode+".service")
			c.waitState(tc.mode+".service", "inactive")
			if _, err := os.Stat("/run/" + names[tc.mode]); (err == nil) != tc.existsAfterStop {
				t.Errorf("after stop: %v, want exists=%v", err, tc.existsAfterStop)
			}
		})
	}
}
