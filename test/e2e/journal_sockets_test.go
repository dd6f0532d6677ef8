package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Issue 18, "journald's sockets": a system manager where no journald runs serves the
// journal's sockets, and what real clients send there — logger(1) in both syslog forms,
// systemd-cat (the stream protocol), sd_journal_send(3) from libsystemd (a large entry in a
// memfd) — is kept with the unit of the sender, and forwarded to rsyslog, socket-activated
// through its packaged syslog.socket. All of it happens in a private mount namespace with a
// /run, /dev and /var/log of its own (containerNS): the host's /dev/log and /run stay as
// they are.

// containerNS is the wrap of a flint run that emulates a container's file system: tmpfs
// over /run (with /run/systemd/system: sd_booted() is true, as where flint runs as PID 1),
// /var/log, and /dev (the device nodes tests need bound from the host's), in a private mount
// namespace. scratch is a directory of the test's for the host's /dev.
func containerNS(scratch string, extra string) []string {
	script := `set -e
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/systemd/system
mount -t tmpfs -o mode=0755 tmpfs /var/log
mkdir -p "$SCRATCH/dev"
mount --rbind /dev "$SCRATCH/dev"
mount -t tmpfs -o mode=0755 tmpfs /dev
for n in null zero full random urandom tty; do touch /dev/$n; mount --bind "$SCRATCH/dev/$n" /dev/$n; done
mkdir /dev/pts /dev/shm
mount --rbind "$SCRATCH/dev/pts" /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
` + extra + `
exec "$0" "$@"`
	return []string{"unshare", "--mount", "--propagation", "private", "/usr/bin/env", "SCRATCH=" + scratch, "/bin/sh", "-c", script}
}

// nsCommand runs args in the mount namespace of process pid.
func nsCommand(pid int, args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"-t", strconv.Itoa(pid), "-m"}, args...)...)
}

// journalClient is a C program that logs with libsystemd's sd_journal_send and
// sd_journal_print: fields, a binary-safe value, and an entry of argv[1] bytes (which
// libsystemd passes in a sealed memfd when it does not fit in a datagram).
const journalClient = `#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <systemd/sd-journal.h>
int main(int argc, char **argv) {
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
	char *big = malloc(n + 1);
	memset(big, 'x', n);
	big[n] = 0;
	if (sd_journal_send("MESSAGE=native hello", "PRIORITY=3", "SYSLOG_IDENTIFIER=nativeid",
			"CUSTOM_FIELD=custom value", "MULTI=line1\nline2", NULL) < 0)
		return 1;
	if (sd_journal_print(LOG_NOTICE, "printed %d", 42) < 0)
		return 2;
	if (n > 0 && sd_journal_send("MESSAGE=%s", big, "SYSLOG_IDENTIFIER=bigid", NULL) < 0)
		return 3;
	return 0;
}
`

// logEntries runs flint logs -o json with args and returns its entries.
func logEntries(t *testing.T, c ctl, args ...string) []map[string]any {
	t.Helper()
	out, code := c.flint(append([]string{"logs", "-o", "json", "--all", "--no-pager"}, args...)...)
	if code != 0 {
		t.Fatalf("flint logs %v: exit %d\n%s", args, code, out)
	}
	return jsonEntries(t, out)
}

func str(e map[string]any, k string) string {
	v, _ := e[k].(string)
	return v
}

// waitLog waits (10s) for an entry that flint logs with args shows and ok accepts.
func waitLog(t *testing.T, c ctl, args []string, ok func(e map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, e := range logEntries(t, c, args...) {
			if ok(e) {
				return e
			}
		}
		if time.Now().After(deadline) {
			out, _ := c.flint(append([]string{"logs", "--no-pager", "-o", "verbose"}, args...)...)
			t.Fatalf("no such entry of flint logs %v after 10s:\n%s", args, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitEntry waits for an entry of unit whose MESSAGE is msg.
func waitEntry(t *testing.T, c ctl, unit, msg string) map[string]any {
	t.Helper()
	return waitLog(t, c, []string{"-u", unit}, func(e map[string]any) bool { return str(e, "MESSAGE") == msg })
}

func TestJournalSockets(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("a private mount namespace needs root")
	}
	for _, b := range []string{"logger", "systemd-cat", "gcc", "/usr/sbin/rsyslogd", "/lib/systemd/system/syslog.socket", "/lib/systemd/system/rsyslog.service"} {
		if _, err := exec.LookPath(b); err != nil {
			if _, err := os.Stat(b); err != nil {
				t.Fatalf("%s is missing (.ci/run installs it): %v", b, err)
			}
		}
	}
	base := t.TempDir()
	client := filepath.Join(base, "journal-client")
	if err := os.WriteFile(client+".c", []byte(journalClient), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("gcc", "-O2", "-Wall", "-o", client, client+".c", "-lsystemd").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	// rsyslog with its packaged units; its configuration (bound over /etc/rsyslog.conf in the
	// namespace) writes what it receives, with the pid from the sender's credentials, to a
	// file of the namespace's /var/log.
	conf := filepath.Join(base, "rsyslog.conf")
	if err := os.WriteFile(conf, []byte(`module(load="imuxsock" SysSock.UsePIDFromSystem="on")
template(name="flinttest" type="string" string="%syslogtag%|%syslogfacility%|%syslogseverity%|%msg%\n")
*.* action(type="omfile" file="/var/log/flint-test.log" template="flinttest")
`), 0o644); err != nil {
		t.Fatal(err)
	}
	oneshot := func(exec string) string {
		return unitFile("Service", "Type=oneshot\nExecStart="+exec)
	}
	units := writeUnits(t, map[string]string{
		"syslog3164.service": oneshot(`/usr/bin/logger --rfc3164 -t tag3164 -p local3.warning "hello 3164"`),
		"syslog5424.service": oneshot(`/usr/bin/logger --rfc5424 -t tag5424 -p user.err "hello 5424"`),
		// logger reads its message from the pipe and stays until the pipe ends: its message
		// is read while it still exists (one that exited and was reaped by the shell at
		// once could be nobody's, under journald too).
		"syslogsh.service": oneshot(`/bin/sh -c '(echo "from a shell"; sleep 2) | logger -i -t shtag -p daemon.notice; true'`),
		"cat.service":      oneshot(`/usr/bin/systemd-cat -t catid -p notice /bin/sh -c 'echo cat line; echo "<3>cat error"'`),
		"native.service":   oneshot(client + " 300000"),
	})
	for _, u := range []string{"syslog.socket", "rsyslog.service"} {
		b, err := os.ReadFile("/lib/systemd/system/" + u)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(units, u), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// rsyslog.service's Alias=syslog.service, as `systemctl enable rsyslog` links it: the
	// service syslog.socket activates.
	if err := os.Symlink("rsyslog.service", filepath.Join(units, "syslog.service")); err != nil {
		t.Fatal(err)
	}
	m := launchManager(t, units, launchOptions{journal: true, stopWait: 15 * time.Second,
		wrap: containerNS(base, `mount --bind "`+conf+`" /etc/rsyslog.conf`)})
	c := on(t, m)
	pid := m.cmd.Process.Pid
	inNS := func(args ...string) string {
		t.Helper()
		out, err := nsCommand(pid, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if got := strings.TrimSpace(inNS("readlink", "/dev/log")); got != "/run/systemd/journal/dev-log" {
		t.Fatalf("/dev/log in the namespace links to %q", got)
	}
	c.run(0, "start", "syslog.socket")

	for _, u := range []string{"syslog3164", "syslog5424", "syslogsh", "cat", "native"} {
		c.run(0, "start", u+".service")
	}
	host := strings.TrimSpace(inNS("hostname"))

	// logger --rfc3164 sends the host name, which journald 252 reads as the start of the
	// message (it has no identifier then); the priority and facility are read.
	e := waitEntry(t, c, "syslog3164.service", host+" tag3164: hello 3164")
	if str(e, "PRIORITY") != "4" || str(e, "SYSLOG_FACILITY") != "19" || str(e, "_TRANSPORT") != "syslog" || str(e, "_COMM") != "logger" {
		t.Errorf("rfc3164 entry %v", e)
	}
	logger3164 := str(e, "_PID")
	// RFC 5424: journald 252 reads its priority only; the rest is the message.
	e = waitLog(t, c, []string{"-u", "syslog5424.service"}, func(e map[string]any) bool {
		return strings.HasSuffix(str(e, "MESSAGE"), " "+host+" tag5424 - - [timeQuality tzKnown=\"1\" isSynced=\"0\"] hello 5424") ||
			strings.HasSuffix(str(e, "MESSAGE"), "hello 5424")
	})
	if m := str(e, "MESSAGE"); !strings.HasPrefix(m, "1 ") || !strings.Contains(m, " tag5424 ") || str(e, "PRIORITY") != "3" ||
		str(e, "SYSLOG_FACILITY") != "1" || e["SYSLOG_IDENTIFIER"] != nil || !strings.HasPrefix(str(e, "SYSLOG_RAW"), "<11>1 ") {
		t.Errorf("rfc5424 entry %v", e)
	}
	// A logger run by the service's shell (a process flint did not start) is the unit's.
	e = waitEntry(t, c, "syslogsh.service", "from a shell")
	if str(e, "SYSLOG_IDENTIFIER") != "shtag" || str(e, "SYSLOG_PID") != str(e, "_PID") || str(e, "PRIORITY") != "5" || str(e, "SYSLOG_FACILITY") != "3" {
		t.Errorf("shell logger entry %v", e)
	}
	// systemd-cat: the stream protocol, with its level prefixes.
	e = waitEntry(t, c, "cat.service", "cat line")
	if str(e, "SYSLOG_IDENTIFIER") != "catid" || str(e, "PRIORITY") != "5" || str(e, "_TRANSPORT") != "stdout" || str(e, "_STREAM_ID") == "" {
		t.Errorf("systemd-cat entry %v", e)
	}
	if e := waitEntry(t, c, "cat.service", "cat error"); str(e, "PRIORITY") != "3" {
		t.Errorf("systemd-cat <3> entry %v", e)
	}
	// sd_journal_send and sd_journal_print; 300000 bytes go in a memfd.
	e = waitEntry(t, c, "native.service", "native hello")
	if str(e, "PRIORITY") != "3" || str(e, "SYSLOG_IDENTIFIER") != "nativeid" || str(e, "CUSTOM_FIELD") != "custom value" ||
		str(e, "MULTI") != "line1\nline2" || str(e, "_TRANSPORT") != "journal" || str(e, "CODE_FUNC") != "main" {
		t.Errorf("native entry %v", e)
	}
	nativePID := str(e, "_PID")
	if e := waitEntry(t, c, "native.service", "printed 42"); str(e, "PRIORITY") != "5" {
		t.Errorf("sd_journal_print entry %v", e)
	}
	waitEntry(t, c, "native.service", strings.Repeat("x", 300000))
	// journalctl's short form, and -t and -p select them.
	if out := c.run(0, "logs", "-u", "syslogsh.service", "-t", "shtag", "-p", "notice", "-o", "cat"); out != "from a shell\n" {
		t.Errorf("flint logs -t shtag -p notice: %q", out)
	}

	// rsyslog, started through syslog.socket by the first forwarded message, got them with
	// the senders' pids.
	deadline := time.Now().Add(15 * time.Second)
	var got string
	// Its template: TAG|FACILITY|SEVERITY|MSG. The /dev/log datagram went as it came (rsyslog
	// reads logger's RFC 3164 host name its own way); the others in journald's RFC 3164 form.
	wants := []string{
		"[" + logger3164 + "]:|19|4| tag3164: hello 3164",
		"nativeid[" + nativePID + "]:|1|3| native hello",
		"|1|5| cat line",
		"|1|3| cat error",
		"systemd[" + strconv.Itoa(pid) + "]:|3|6| Finished cat.service.",
	}
	for {
		out, _ := nsCommand(pid, "cat", "/var/log/flint-test.log").CombinedOutput()
		got = string(out)
		missing := false
		for i, w := range wants {
			// logger exits right after its send; when it is gone before the datagram is
			// forwarded, the kernel refuses its pid in SCM_CREDENTIALS and the manager sends
			// with its own, as journald 252's forward_syslog_iovec() does on ESRCH.
			if !strings.Contains(got, w) && (i != 0 || !strings.Contains(got, "["+strconv.Itoa(pid)+"]:|19|4| tag3164: hello 3164")) {
				missing = true
			}
		}
		if !missing {
			break
		}
		if time.Now().After(deadline) {
			st, _ := c.flint("status", "syslog.socket", "rsyslog.service")
			t.Fatalf("rsyslog's file after 15s lacks some of %q:\n%s\n%s", wants, got, st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if c.prop("rsyslog.service", "ActiveState") != "active" {
		t.Errorf("rsyslog is %s", c.prop("rsyslog.service", "ActiveState"))
	}

	// A second manager in the same namespace finds the sockets served and leaves them alone.
	second := nsCommand(pid, flintBin, "run", "--control", filepath.Join(base, "second.sock"), "--units", writeUnits(t, nil))
	out := &syncBuffer{}
	second.Stdout, second.Stderr = out, out
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "/run/systemd/journal/socket is served by another process") ||
		!strings.Contains(out.String(), "/dev/log is served by another process") {
		if time.Now().After(deadline) {
			second.Process.Kill()
			second.Wait()
			t.Fatalf("the second manager said:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	second.Process.Signal(os.Interrupt)
	second.Wait()
	// Still the first's.
	inNS("logger", "-t", "after", "still served")
	waitLog(t, c, []string{"-t", "after"}, func(e map[string]any) bool {
		return str(e, "MESSAGE") == "still served" && e["_SYSTEMD_UNIT"] == nil
	})

	// At the end the sockets and the link go.
	if code := m.terminate(); code != 0 {
		t.Errorf("flint run exited %d:\n%s", code, m.out.String())
	}
}
