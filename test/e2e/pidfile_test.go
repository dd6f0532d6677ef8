package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestPIDFileTrust is issue 16's PIDFile= case and the rules of systemd 252's
// service_load_pid_file() around it. A Type=forking service running as nobody names, in a PID
// file of its own, a process of root's that belongs to no unit: flint refuses it (the start
// fails with Result=protocol) and the process lives on — directly, through a symlink of the
// service's to a file of root's, and while the service still has a process of its own (then
// the start waits for a better PID file, and times out). The service's own daemon is taken;
// a PID file of root's may name any process (systemd trusts it).
func TestPIDFileTrust(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root for User=nobody")
	}
	foreign := exec.Command("/bin/sleep", "1000")
	if err := foreign.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { foreign.Process.Kill(); foreign.Wait() }()
	fpid := strconv.Itoa(foreign.Process.Pid)
	tag := fmt.Sprintf("flint-e2e-pidfile-%d", os.Getpid())
	rootFile := "/run/" + tag + ".pid" // root's, naming the foreign process
	if err := os.WriteFile(rootFile, []byte(fpid+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(rootFile) })
	// forking is a Type=forking service as nobody with a runtime directory of its own, where
	// its ExecStart= (a shell script) writes the PID file.
	forking := func(name, script string, more string) string {
		t.Cleanup(func() { os.RemoveAll("/run/" + tag + "-" + name) })
		return unitFile("Service", fmt.Sprintf("Type=forking\nUser=nobody\nRuntimeDirectory=%s-%s\nPIDFile=/run/%s-%s/pid\n%sExecStart=/bin/sh -c '%s'",
			tag, name, tag, name, more, script))
	}
	units := writeUnits(t, map[string]string{
		"direct.service":  forking("direct", "echo "+fpid+" >$$RUNTIME_DIRECTORY/pid", ""),
		"symlink.service": forking("symlink", "ln -s "+rootFile+" $$RUNTIME_DIRECTORY/pid", ""),
		"stays.service":   forking("stays", "sleep 1000 & echo "+fpid+" >$$RUNTIME_DIRECTORY/pid", "TimeoutStartSec=1\n"),
		"own.service":     forking("own", "sleep 1000 & echo $$! >$$RUNTIME_DIRECTORY/pid", ""),
		"root.service":    unitFile("Service", "Type=forking\nPIDFile="+rootFile+"\nExecStart=/bin/true"),
	})
	m := startManager(t, units)
	for _, tc := range []struct {
		unit, result, log string
	}{
		{"direct.service", "protocol", "New main PID " + fpid + " does not belong to service, and PID file is not owned by root. Refusing."},
		{"symlink.service", "protocol", "Refusing to accept PID outside of service control group, acquired through unsafe symlink chain: /run/" + tag + "-symlink/pid"},
		{"stays.service", "timeout", "New main PID " + fpid + " does not belong to service, and PID file is not owned by root. Refusing."},
	} {
		t.Run(tc.unit, func(t *testing.T) {
			c := on(t, m)
			if out, code := c.flint("start", tc.unit); code == 0 {
				t.Errorf("start %s succeeded: %s", tc.unit, out)
			}
			c.waitProps(tc.unit, map[string]string{"ActiveState": "failed", "Result": tc.result, "MainPID": "0"})
			if logs, _ := c.flint("logs", "-u", tc.unit); !strings.Contains(logs, tc.log) {
				t.Errorf("the log of %s lacks %q:\n%s", tc.unit, tc.log, logs)
			}
			if !alive(foreign.Process.Pid) {
				t.Fatalf("the foreign process %s was killed", fpid)
			}
		})
	}
	t.Run("own.service", func(t *testing.T) {
		c := on(t, m)
		c.start("own.service")
		daemon := pidFromFile(t, "/run/"+tag+"-own/pid")
		killAtEnd(t, daemon)
		c.waitProps("own.service", map[string]string{"ActiveState": "active", "MainPID": strconv.Itoa(daemon)})
		c.run(0, "stop", "own.service")
		c.waitState("own.service", "inactive/dead")
		if alive(daemon) {
			t.Errorf("the stop left the daemon %d running", daemon)
		}
	})
	t.Run("root.service", func(t *testing.T) {
		c := on(t, m)
		c.start("root.service")
		c.waitProps("root.service", map[string]string{"ActiveState": "active", "MainPID": fpid})
		if logs, _ := c.flint("logs", "-u", "root.service"); !strings.Contains(logs, "but we'll accept it since PID file is owned by root") {
			t.Errorf("the log lacks the warning:\n%s", logs)
		}
	})
}
