package e2e

import (
	"fmt"
	"os"
	"os/user"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The checks of container_daemons_test.go's daemons, each run against its own container.

// uidOf is the uid of a user of the host's (and so the container's) /etc/passwd.
func uidOf(t *testing.T, name string) string {
	t.Helper()
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return u.Uid
}

// runsAs checks the real uid of a process of the container.
func (c *container) runsAs(pid int, name string) {
	c.t.Helper()
	if f := strings.Fields(c.procStatus(pid, "Uid")); len(f) == 0 || f[0] != uidOf(c.t, name) {
		c.t.Errorf("pid %d runs as uid %v, want %s (%s)", pid, f, name, uidOf(c.t, name))
	}
}

// noFileLimit returns the soft and hard "Max open files" of a process of the container.
func (c *container) noFileLimit(pid int) (string, string) {
	m := regexp.MustCompile(`(?m)^Max open files\s+(\S+)\s+(\S+)`).FindStringSubmatch(c.read(fmt.Sprintf("/proc/%d/limits", pid)))
	if m == nil {
		return "", ""
	}
	return m[1], m[2]
}

// limitedNoFile checks a unit whose LimitNOFILE= is above the container's hard limit: the
// process got the closest the kernel allows, the hard limit, for both (setrlimit_closest).
func (c *container) limitedNoFile(service string, pid int, want string) {
	c.t.Helper()
	if got := c.prop(service, "LimitNOFILE"); got != want {
		c.t.Errorf("%s: LimitNOFILE=%s, want %s", service, got, want)
	}
	hard := strconv.Itoa(containerNoFile)
	if soft, h := c.noFileLimit(pid); soft != hard || h != hard {
		c.t.Errorf("%s: open files limit %s/%s, want the container's hard limit %s for both", service, soft, h, hard)
	}
}

// dig asks a DNS server of the container for name and returns the short answer.
func (c *container) dig(server, name string) string {
	c.t.Helper()
	out, _ := c.exec("dig", "@"+server, "+short", "+time=5", "+tries=1", name)
	return strings.TrimSpace(out)
}

// idleUntilConnected checks that the sockets listen and service has not started before the first connection.
func (c *container) idleUntilConnected(service string, sockets ...string) {
	c.t.Helper()
	for _, s := range sockets {
		c.waitState(s, "active/listening")
	}
	if st := c.props(service, "ActiveState", "MainPID"); st["ActiveState"] != "inactive" || st["MainPID"] != "0" {
		c.t.Fatalf("%s before the first connection: %v", service, st)
	}
}

// triggeredBy checks `flint status`'s TriggeredBy: line.
func (c *container) triggeredBy(service, socket string) {
	c.t.Helper()
	if st, _ := c.flint("status", service); !strings.Contains(st, "TriggeredBy: ● "+socket) {
		c.t.Errorf("flint status %s: no TriggeredBy: ● %s\n%s", service, socket, st)
	}
}

func checkRedis(t *testing.T, c *container) {
	pid := c.mainPID("redis-server.service", "/usr/bin/redis-server")
	if out := c.must("redis-cli", "ping"); strings.TrimSpace(out) != "PONG" {
		t.Fatalf("redis-cli ping: %q", out)
	}
	c.must("redis-cli", "set", "flint", "e2e")
	if out := c.must("redis-cli", "get", "flint"); strings.TrimSpace(out) != "e2e" {
		t.Errorf("redis-cli get: %q", out)
	}
	c.limitedNoFile("redis-server.service", pid, "65535")
	// redis sizes maxclients from the limit it got (minus its 32 reserved descriptors).
	if out := c.must("redis-cli", "config", "get", "maxclients"); !strings.Contains(out, strconv.Itoa(containerNoFile-32)) {
		t.Errorf("redis maxclients: %q, want %d", out, containerNoFile-32)
	}
	c.runsAs(pid, "redis")
	// RuntimeDirectory=redis with RuntimeDirectoryMode=2755, owned by User=.
	if fi, err := os.Stat(c.path("/run/redis")); err != nil || fi.Mode()&(os.ModePerm|os.ModeSetgid) != 0o755|os.ModeSetgid {
		t.Errorf("/run/redis: %v %v", fi, err)
	}
}

func checkPostgres(t *testing.T, c *container) {
	const svc = "postgresql@15-main.service"
	pid := c.mainPID(svc, "/usr/lib/postgresql/15/bin/postgres")
	// Type=forking with PIDFile=/run/postgresql/15-main.pid, in the directory tmpfiles.d makes
	// (d /run/postgresql 2775 postgres postgres).
	if got := strings.Fields(c.read("/run/postgresql/15-main.pid")); len(got) == 0 || got[0] != strconv.Itoa(pid) {
		t.Errorf("/run/postgresql/15-main.pid: %q, MainPID %d", got, pid)
	}
	if fi, err := os.Stat(c.path("/run/postgresql")); err != nil || fi.Mode()&(os.ModePerm|os.ModeSetgid) != 0o775|os.ModeSetgid {
		t.Errorf("/run/postgresql (tmpfiles.d: 2775): %v %v", fi, err)
	}
	if out := c.must("runuser", "-u", "postgres", "--", "psql", "-Atc", "select 6*7"); strings.TrimSpace(out) != "42" {
		t.Fatalf("psql: %q", out)
	}
	if p := c.props(svc, "OOMScoreAdjust", "Type"); p["OOMScoreAdjust"] != "-900" || p["Type"] != "forking" {
		t.Errorf("%s: %v", svc, p)
	}
	c.runsAs(pid, "postgres")
	// ExecReload= (pg_ctlcluster reload) and ExecStop= (pg_ctlcluster stop -m fast).
	c.run(0, "reload", svc)
	c.run(0, "stop", svc)
	c.waitState(svc, "inactive/dead")
	if out, code := c.exec("runuser", "-u", "postgres", "--", "psql", "-Atc", "select 1"); code == 0 {
		t.Errorf("psql after stop: %s", out)
	}
}

func checkLighttpd(t *testing.T, c *container) {
	pid := c.mainPID("lighttpd.service", "/usr/sbin/lighttpd")
	if out := c.httpGet("http://127.0.0.1/"); !strings.HasPrefix(out, "HTTP/1.1 200") || !strings.Contains(out, "Server: lighttpd") {
		t.Fatalf("GET / from lighttpd:\n%s", out)
	}
	c.runsAs(pid, "www-data")
	// ExecReload=/bin/kill -USR1 $MAINPID: lighttpd restarts gracefully in place. It acts on
	// the signal at the next turn of its event loop (up to a second later: a signal that
	// comes just before its poll waits for the poll's timeout), and a SIGTERM that comes
	// before that restart is lost in it (the restarted server clears the flag and runs on,
	// under systemd as well): the restart is done once it logs "server started" again.
	started := func() int { return strings.Count(c.read("/var/log/lighttpd/error.log"), "server started") }
	before := started()
	c.run(0, "reload", "lighttpd.service")
	if !waitFor(15*time.Second, func() bool { return started() > before }) {
		t.Fatalf("lighttpd did not restart within 15s of its reload:\n%s", c.read("/var/log/lighttpd/error.log"))
	}
	if out := c.httpGet("http://127.0.0.1/"); !strings.HasPrefix(out, "HTTP/1.1 200") {
		t.Fatalf("GET / after reload:\n%s", out)
	}
}

func checkMemcached(t *testing.T, c *container) {
	pid := c.mainPID("memcached.service", "/usr/bin/memcached")
	// Type=simple: memcached may not listen yet when the unit is active.
	var out string
	if !waitFor(15*time.Second, func() bool {
		var code int
		out, code = c.exec("memcstat", "--servers=127.0.0.1")
		return code == 0
	}) {
		t.Fatalf("memcstat --servers=127.0.0.1:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^\s*pid: ` + strconv.Itoa(pid) + `$`).MatchString(out) {
		t.Errorf("memcstat: no pid %d:\n%s", pid, out)
	}
	c.runsAs(pid, "memcache")
	// memcached (as user memcache) writes its -P pid file into /run/memcached, which only
	// tmpfiles.d makes (d /run/memcached 0755 memcache memcache).
	if !waitFor(10*time.Second, func() bool { return strings.TrimSpace(c.read("/run/memcached/memcached.pid")) == strconv.Itoa(pid) }) {
		t.Errorf("/run/memcached/memcached.pid: %q, want %d", c.read("/run/memcached/memcached.pid"), pid)
	}
}

func checkDnsmasq(t *testing.T, c *container) {
	pid := c.mainPID("dnsmasq.service", "/usr/sbin/dnsmasq")
	if got := strings.TrimSpace(c.read("/run/dnsmasq/dnsmasq.pid")); got != strconv.Itoa(pid) {
		t.Errorf("/run/dnsmasq/dnsmasq.pid = %q, MainPID %d", got, pid)
	}
	// From the container's /etc/hosts.
	if got := c.dig("127.0.0.1", "localhost"); got != "127.0.0.1" {
		t.Errorf("dig @127.0.0.1 localhost: %q", got)
	}
	c.runsAs(pid, "dnsmasq")
	// dnsmasq logs through syslog(3) only: its lines reach flint's log through /dev/log.
	c.logsWait("dnsmasq.service", "started, version")
}

func checkSshd(t *testing.T, c *container) {
	pid := c.mainPID("ssh.service", "/usr/sbin/sshd")
	pub := strings.Fields(c.read("/etc/ssh/ssh_host_ed25519_key.pub"))
	if len(pub) < 2 {
		t.Fatalf("no host key: %q", pub)
	}
	if out := c.must("ssh-keyscan", "-t", "ed25519", "127.0.0.1"); !strings.Contains(out, "ssh-ed25519 "+pub[1]) {
		t.Errorf("ssh-keyscan:\n%s\nwant the key %s", out, pub[1])
	}
	// RuntimeDirectory=sshd (sshd's privilege separation directory).
	if fi, err := os.Stat(c.path("/run/sshd")); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o755 {
		t.Errorf("/run/sshd: %v %v", fi, err)
	}
	// Two ExecReload= lines: sshd -t, then SIGHUP; sshd re-executes itself in place.
	c.run(0, "reload", "ssh.service")
	// Active again (a daemon that sends RELOADING=1 stays "reloading" until READY=1), same
	// main process.
	c.waitProps("ssh.service", map[string]string{"ActiveState": "active", "MainPID": strconv.Itoa(pid)})
	// sshd re-executes itself on SIGHUP: it listens again a moment after the reload job ends
	// (the unit has no ExecReload= readiness), so the client may have to try again.
	var out string
	if !waitFor(15*time.Second, func() bool {
		out, _ = c.exec("ssh-keyscan", "-t", "ed25519", "127.0.0.1")
		return strings.Contains(out, "ssh-ed25519 "+pub[1])
	}) {
		t.Errorf("ssh-keyscan after reload:\n%s", out)
	}
}

func checkVsftpd(t *testing.T, c *container) {
	c.mainPID("vsftpd.service", "/usr/sbin/vsftpd")
	// Debian's vsftpd.conf has no anonymous login: the greeting is the answer.
	out, _ := c.curl("-v", "ftp://127.0.0.1/")
	if !strings.Contains(out, "< 220 (vsFTPd ") {
		t.Errorf("curl ftp://127.0.0.1/:\n%s", out)
	}
	// ExecStartPre=-/bin/mkdir -p /var/run/vsftpd/empty (the secure_chroot_dir).
	if fi, err := os.Stat(c.path("/run/vsftpd/empty")); err != nil || !fi.IsDir() {
		t.Errorf("/run/vsftpd/empty: %v", err)
	}
}

func checkAtd(t *testing.T, c *container) {
	c.mainPID("atd.service", "/usr/sbin/atd")
	c.must("sh", "-c", "echo 'id -un >/tmp/at.out' | at now 2>&1")
	if !waitFor(15*time.Second, func() bool { return strings.TrimSpace(c.read("/tmp/at.out")) == "root" }) {
		out, _ := c.exec("atq")
		t.Fatalf("the at job did not run: /tmp/at.out %q; atq:\n%s", c.read("/tmp/at.out"), out)
	}
	// atd (and PAM in it) log through syslog(3) only.
	c.logsWait("atd.service", "pam_unix(atd:session): session opened for user root")
}

func checkUuidd(t *testing.T, c *container) {
	c.idleUntilConnected("uuidd.service", "uuidd.socket")
	// A time-based (version 1) UUID, which only the daemon hands out.
	out := c.must("uuidd", "-t")
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}\n$`).MatchString(out) {
		t.Errorf("uuidd -t: %q", out)
	}
	pid := c.mainPID("uuidd.service", "/usr/sbin/uuidd")
	c.triggeredBy("uuidd.service", "uuidd.socket")
	c.runsAs(pid, "uuidd")
}

func checkPcscd(t *testing.T, c *container) {
	c.idleUntilConnected("pcscd.service", "pcscd.socket")
	if fi, err := os.Stat(c.path("/run/pcscd/pcscd.comm")); err != nil || fi.Mode().Perm() != 0o666 {
		t.Errorf("/run/pcscd/pcscd.comm (SocketMode=0666): %v %v", fi, err)
	}
	out, _ := c.exec("pcsc_scan", "-r")
	c.mainPID("pcscd.service", "/usr/sbin/pcscd")
	c.triggeredBy("pcscd.service", "pcscd.socket")
	if strings.Contains(out, "SCardEstablishContext") {
		t.Errorf("pcsc_scan -r could not reach pcscd:\n%s", out)
	}
}

func checkUnbound(t *testing.T, c *container) {
	c.mainPID("unbound.service", "/usr/sbin/unbound")
	if out := c.must("unbound-control", "status"); !strings.Contains(out, "is running") {
		t.Errorf("unbound-control status:\n%s", out)
	}
	if got := c.dig("127.0.0.1", "localhost"); got != "127.0.0.1" {
		t.Errorf("dig @127.0.0.1 localhost: %q", got)
	}
	// ExecReload=+/bin/kill -HUP $MAINPID: unbound reads its configuration again, with its
	// control socket closed for a moment.
	c.run(0, "reload", "unbound.service")
	var out string
	if !waitFor(15*time.Second, func() bool {
		out, _ = c.exec("unbound-control", "status")
		return strings.Contains(out, "is running")
	}) {
		t.Errorf("unbound-control status after reload:\n%s", out)
	}
}

func checkNamed(t *testing.T, c *container) {
	pid := c.mainPID("named.service", "/usr/sbin/named")
	if out := c.must("rndc", "status"); !strings.Contains(out, "server is up and running") {
		t.Errorf("rndc status:\n%s", out)
	}
	if got := c.dig("127.0.0.1", "localhost"); got != "127.0.0.1" {
		t.Errorf("dig @127.0.0.1 localhost: %q", got)
	}
	c.runsAs(pid, "bind")
	// named (as user bind) keeps its pid file in /run/named, which tmpfiles.d makes
	// (d /run/named 0775 root bind).
	if got := strings.TrimSpace(c.read("/run/named/named.pid")); got != strconv.Itoa(pid) {
		t.Errorf("/run/named/named.pid: %q, want %d", got, pid)
	}
	// ExecStop=/usr/sbin/rndc stop.
	c.run(0, "stop", "named.service")
	c.waitState("named.service", "inactive/dead")
}

func checkApache(t *testing.T, c *container) {
	pid := c.mainPID("apache2.service", "/usr/sbin/apache2")
	if out := c.httpGet("http://127.0.0.1/"); !strings.HasPrefix(out, "HTTP/1.1 200") || !strings.Contains(out, "Server: Apache") {
		t.Fatalf("GET / from apache2:\n%s", out)
	}
	if got := strings.TrimSpace(c.read("/run/apache2/apache2.pid")); got != strconv.Itoa(pid) {
		t.Errorf("/run/apache2/apache2.pid %q, MainPID %d (guessed: no PIDFile=)", got, pid)
	}
	c.run(0, "reload", "apache2.service")
	if out := c.httpGet("http://127.0.0.1/"); !strings.HasPrefix(out, "HTTP/1.1 200") {
		t.Fatalf("GET / after reload:\n%s", out)
	}
}

func checkDovecot(t *testing.T, c *container) {
	c.idleUntilConnected("dovecot.service", "dovecot.socket")
	out, _ := c.curl("-v", "imap://127.0.0.1/")
	if !regexp.MustCompile(`< \* OK .*Dovecot .*ready`).MatchString(out) {
		t.Errorf("curl imap://127.0.0.1/:\n%s", out)
	}
	pid := c.mainPID("dovecot.service", "/usr/sbin/dovecot")
	c.triggeredBy("dovecot.service", "dovecot.socket")
	c.limitedNoFile("dovecot.service", pid, "65535")
	// The IPv6 listener is flint's too.
	out, _ = c.curl("-v", "imap://[::1]/")
	if !strings.Contains(out, "Dovecot") {
		t.Errorf("curl imap://[::1]/:\n%s", out)
	}
	// ExecStop=/usr/bin/doveadm stop.
	c.run(0, "stop", "dovecot.service")
	c.waitState("dovecot.service", "inactive/dead")
}

func checkKresd(t *testing.T, c *container) {
	pid := c.mainPID("kresd@1.service", "/usr/sbin/kresd")
	if got := c.dig("127.0.0.1", "localhost"); got != "127.0.0.1" {
		t.Errorf("dig @127.0.0.1 localhost: %q", got)
	}
	c.runsAs(pid, "knot-resolver")
	// The unit's CapabilityBoundingSet= and AmbientCapabilities= (cap_setpcap and
	// cap_net_bind_service): kresd, not root, binds port 53 with them.
	for _, k := range []string{"CapBnd", "CapAmb"} {
		if got := c.procStatus(pid, k); got != "0000000000000500" {
			t.Errorf("kresd's %s = %s, want 0000000000000500", k, got)
		}
	}
	c.limitedNoFile("kresd@1.service", pid, "524288")
	if p := c.props("kresd@1.service", "WatchdogUSec", "WorkingDirectory"); p["WatchdogUSec"] != "10s" {
		t.Errorf("kresd@1.service: %v", p)
	}
}

func checkAvahi(t *testing.T, c *container) {
	c.mainPID("dbus.service", "/usr/bin/dbus-daemon")
	pid := c.mainPID("avahi-daemon.service", "/usr/sbin/avahi-daemon")
	out := c.must("busctl", "--system", "call", "org.freedesktop.Avahi", "/", "org.freedesktop.Avahi.Server", "GetVersionString")
	if !strings.Contains(out, "avahi ") {
		t.Errorf("Avahi's GetVersionString over the bus: %q", out)
	}
	if owner := c.must("busctl", "--system", "status", "org.freedesktop.Avahi"); !strings.Contains(owner, "PID="+strconv.Itoa(pid)) {
		t.Errorf("org.freedesktop.Avahi's owner:\n%s\nwant PID=%d", owner, pid)
	}
}

func checkRsyslog(t *testing.T, c *container) {
	pid := c.mainPID("rsyslog.service", "/usr/sbin/rsyslogd")
	c.waitState("syslog.socket", "active/running")
	mark := fmt.Sprintf("flint-e2e-%d", time.Now().UnixNano())
	c.must("logger", "-t", "e2e", mark+"-first")
	syslogHas := func(s string) bool { return strings.Contains(c.read("/var/log/syslog"), s) }
	if !waitFor(15*time.Second, func() bool { return syslogHas(mark + "-first") }) {
		t.Fatalf("rsyslog did not write the forwarded message to /var/log/syslog:\n%s", tail(c.read("/var/log/syslog"), 10))
	}
	c.limitedNoFile("rsyslog.service", pid, "16384")
	// rsyslogd took the socket it was handed (sd_booted(): /run/systemd/system exists), so
	// it made no /dev/log of its own: /dev/log is flint's, which forwards to syslog.socket.
	socks := socketInodesIn(c.path(fmt.Sprintf("/proc/%d/fd", pid)))
	if ino := c.unixInode("/run/systemd/journal/syslog"); !socks[ino] {
		t.Errorf("rsyslogd's sockets %v lack syslog.socket's %s", socks, ino)
	}
	devLog := "/dev/log"
	if target, err := os.Readlink(c.path(devLog)); err == nil {
		devLog = target // flint's: a link to /run/systemd/journal/dev-log, as journald's
	}
	if ino := c.unixInode(devLog); ino == "" || socks[ino] || !socketInodesIn(c.path("/proc/1/fd"))[ino] {
		t.Errorf("/dev/log (%s, %s) is not flint's: rsyslogd made it (sd_booted() false?), it has %v", devLog, ino, socks)
	}
	// Stopped, rsyslogd is started again by the next message that reaches syslog.socket
	// (flint's own lines about the stop may be that message, as journald's are under systemd).
	c.run(0, "stop", "rsyslog.service")
	if !waitFor(15*time.Second, func() bool { return c.read(fmt.Sprintf("/proc/%d/exe", pid)) == "" && c.procStatus(pid, "State") == "" }) {
		t.Fatalf("rsyslogd %d still runs after flint stop", pid)
	}
	c.must("logger", "-t", "e2e", mark+"-second")
	if !waitFor(15*time.Second, func() bool { return syslogHas(mark + "-second") }) {
		t.Fatalf("the second message did not reach /var/log/syslog:\n%s", tail(c.read("/var/log/syslog"), 10))
	}
	if again := c.mainPID("rsyslog.service", "/usr/sbin/rsyslogd"); again == pid {
		t.Errorf("rsyslogd %d was not started again", pid)
	}
	c.triggeredBy("rsyslog.service", "syslog.socket")
}

// unixInode is the inode ("socket:[N]") of the unix socket bound to path in the container.
func (c *container) unixInode(path string) string {
	for _, line := range strings.Split(c.read("/proc/1/net/unix"), "\n") {
		if f := strings.Fields(line); len(f) == 8 && f[7] == path {
			return "socket:[" + f[6] + "]"
		}
	}
	return ""
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func checkMosquitto(t *testing.T, c *container) {
	pid := c.mainPID("mosquitto.service", "/usr/sbin/mosquitto")
	// The four ExecStartPre= made /run/mosquitto (its pid file) and /var/log/mosquitto.
	if got := strings.TrimSpace(c.read("/run/mosquitto/mosquitto.pid")); got != strconv.Itoa(pid) {
		t.Errorf("/run/mosquitto/mosquitto.pid %q, MainPID %d", got, pid)
	}
	if out := c.must("mosquitto_sub", "-h", "127.0.0.1", "-t", "$SYS/broker/version", "-C", "1", "-W", "10"); !strings.HasPrefix(out, "mosquitto version ") {
		t.Errorf("mosquitto_sub $SYS/broker/version: %q", out)
	}
	// A message through the broker: the subscriber waits for it (retained, so no race).
	c.must("mosquitto_pub", "-h", "127.0.0.1", "-t", "flint/e2e", "-r", "-m", "hello")
	if out := c.must("mosquitto_sub", "-h", "127.0.0.1", "-t", "flint/e2e", "-C", "1", "-W", "10"); strings.TrimSpace(out) != "hello" {
		t.Errorf("mosquitto_sub flint/e2e: %q", out)
	}
	c.runsAs(pid, "mosquitto")
}

func checkMunge(t *testing.T, c *container) {
	pid := c.mainPID("munge.service", "/usr/sbin/munged")
	if got := strings.TrimSpace(c.read("/run/munge/munged.pid")); got != strconv.Itoa(pid) {
		t.Errorf("/run/munge/munged.pid %q, MainPID %d", got, pid)
	}
	c.runsAs(pid, "munge")
	out := c.must("sh", "-c", "munge -s flint-e2e | unmunge")
	if !strings.Contains(out, "STATUS:          Success (0)") || !strings.Contains(out, "flint-e2e") {
		t.Errorf("munge | unmunge:\n%s", out)
	}
}

func checkLldpd(t *testing.T, c *container) {
	c.mainPID("lldpd.service", "/usr/sbin/lldpd")
	out := c.must("lldpcli", "show", "chassis")
	if !strings.Contains(out, "SysName:      flint-e2e") {
		t.Errorf("lldpcli show chassis (the container's host name):\n%s", out)
	}
}

func checkHaproxy(t *testing.T, c *container) {
	pid := c.mainPID("haproxy.service", "/usr/sbin/haproxy")
	// The admin socket lives in /run/haproxy, which tmpfiles.d makes.
	out := c.must("sh", "-c", "echo 'show info' | socat stdio unix-connect:/run/haproxy/admin.sock")
	if !strings.Contains(out, "Name: HAProxy") {
		t.Errorf("show info on /run/haproxy/admin.sock:\n%s", out)
	}
	// The master CLI (-S /run/haproxy-master.sock from the unit's Environment=).
	if out := c.must("sh", "-c", "echo 'show proc' | socat stdio unix-connect:/run/haproxy-master.sock"); !strings.Contains(out, strconv.Itoa(pid)) {
		t.Errorf("show proc on the master socket, want the master %d:\n%s", pid, out)
	}
	// Two ExecReload= lines: a configuration check, then SIGUSR2 to the master.
	c.run(0, "reload", "haproxy.service")
	// Active again (a daemon that sends RELOADING=1 stays "reloading" until READY=1), same
	// main process.
	c.waitProps("haproxy.service", map[string]string{"ActiveState": "active", "MainPID": strconv.Itoa(pid)})
	// haproxy 2.6 says no RELOADING=1: the master re-executes itself after the reload job
	// ended, and a SIGTERM in between is lost (under systemd too). Done once it has loaded
	// again.
	if !waitFor(15*time.Second, func() bool {
		out, _ := c.flint("logs", "-u", "haproxy.service", "--no-pager")
		return strings.Count(out, "Loading success.") >= 2
	}) {
		t.Errorf("haproxy did not load again within 15s of its reload")
	}
}

func checkVarnish(t *testing.T, c *container) {
	pid := c.mainPID("varnish.service", "/usr/sbin/varnishd")
	c.limitedNoFile("varnish.service", pid, "131072")
	// No backend runs on :8080: varnish answers 503 itself.
	out, _ := c.curl("-D", "-", "-o", "/dev/null", "http://127.0.0.1:6081/")
	if !strings.HasPrefix(out, "HTTP/1.1 503") || !strings.Contains(out, "Via: 1.1 ") || !strings.Contains(out, "varnish") {
		t.Errorf("GET :6081 from varnish:\n%s", out)
	}
	if out := c.must("varnishadm", "-T", "localhost:6082", "-S", "/etc/varnish/secret", "status"); !strings.Contains(out, "Child in state running") {
		t.Errorf("varnishadm status:\n%s", out)
	}
}

func checkBeanstalkd(t *testing.T, c *container) {
	c.idleUntilConnected("beanstalkd.service", "beanstalkd.socket")
	// beanstalkd has no client program: its text protocol is the client (stats).
	out := c.must("sh", "-c", "printf 'stats\\r\\nquit\\r\\n' | socat -t 5 stdio tcp:127.0.0.1:11300")
	if !strings.HasPrefix(out, "OK ") || !strings.Contains(out, "pid: ") {
		t.Fatalf("beanstalkd stats:\n%s", out)
	}
	pid := c.mainPID("beanstalkd.service", "/usr/bin/beanstalkd")
	c.triggeredBy("beanstalkd.service", "beanstalkd.socket")
	if !strings.Contains(out, "pid: "+strconv.Itoa(pid)+"\n") {
		t.Errorf("beanstalkd stats: not pid %d (the socket's fd was not the daemon's?)\n%s", pid, out)
	}
	c.runsAs(pid, "beanstalkd")
}
