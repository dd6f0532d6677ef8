package e2e

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Issue 18, "Packaged daemons run unchanged wherever flint runs": Debian 12 daemons with their
// packaged unit files, unchanged, under flint as PID 1 of a container (container_test.go),
// each reached through its own client run inside the container. docs/daemons.md has the table
// of what each one exercises.

// containerDaemon is one daemon of the issue: its packages, unit files and check.
type containerDaemon struct {
	name     string
	pkgs     []string // Debian packages of the daemon and its client (installed by .ci/run)
	units    []string // its unit files (and static .wants links) below /lib/systemd/system
	enable   []string // `flint enable` inside the container, as the package's postinst does
	binaries []string // programs the daemon and its check need
	// ownTmpfiles: the image has no systemd-tmpfiles, flint applies tmpfiles.d (see
	// stageUnits); else systemd-tmpfiles-setup.service does, as on a systemd host.
	ownTmpfiles bool
	// generators and initScripts: see containerImage.
	generators, initScripts []string
	check                   func(t *testing.T, c *container)
	// sandbox is what the unit's sandbox looks like from outside its running main process
	// (container_sandbox_test.go), checked after check.
	sandbox *sandboxWant
	// waits names what flint lacks for this daemon to run as under systemd (docs/daemons.md):
	// such a case runs only with FLINT_CONTAINER_GAPS=1, to see whether the gap is closed.
	waits string
}

const lib = "/lib/systemd/system/"

var containerDaemons = []containerDaemon{
	{
		name:     "nginx_forking_pidfile_reload",
		pkgs:     []string{"nginx", "curl"},
		units:    []string{lib + "nginx.service"},
		enable:   []string{"nginx.service"},
		binaries: []string{"/usr/sbin/nginx", "/usr/bin/curl"},
		check:    checkNginx,
	},
	{
		name: "dbus_system_bus",
		pkgs: []string{"dbus", "dbus-system-bus-common", "systemd"},
		units: []string{lib + "dbus.socket", lib + "dbus.service",
			lib + "sockets.target.wants/dbus.socket", lib + "multi-user.target.wants/dbus.service"},
		binaries: []string{"/usr/bin/dbus-daemon", "/usr/bin/busctl", "/usr/bin/dbus-send"},
		check:    checkDbus,
	},
	{
		name:     "redis_limitnofile_notify_user",
		pkgs:     []string{"redis-server", "redis-tools"},
		units:    []string{lib + "redis-server.service"},
		enable:   []string{"redis-server.service"},
		binaries: []string{"/usr/bin/redis-server", "/usr/bin/redis-cli"},
		check:    checkRedis,
		sandbox:  redisSandbox,
	},
	{
		name:     "postgresql_forking_oom_tmpfiles",
		pkgs:     []string{"postgresql-15", "postgresql-common", "postgresql-client-15"},
		units:    []string{lib + "postgresql.service", lib + "postgresql@.service"},
		enable:   []string{"postgresql.service", "postgresql@15-main.service"},
		binaries: []string{"/usr/lib/postgresql/15/bin/postgres", "/usr/bin/psql", "/etc/postgresql/15/main/postgresql.conf"},
		check:    checkPostgres,
	},
	{
		name:     "lighttpd_execstartpre_reload",
		pkgs:     []string{"lighttpd", "curl"},
		units:    []string{lib + "lighttpd.service"},
		enable:   []string{"lighttpd.service"},
		binaries: []string{"/usr/sbin/lighttpd", "/usr/bin/curl"},
		check:    checkLighttpd,
	},
	{
		name:        "memcached_tmpfiles_rundir",
		pkgs:        []string{"memcached", "libmemcached-tools"},
		units:       []string{lib + "memcached.service"},
		enable:      []string{"memcached.service"},
		binaries:    []string{"/usr/bin/memcached", "/usr/bin/memcstat"},
		ownTmpfiles: true,
		check:       checkMemcached,
		sandbox:     memcachedSandbox,
	},
	{
		name:     "dnsmasq_syslog_only",
		pkgs:     []string{"dnsmasq", "bind9-dnsutils"},
		units:    []string{lib + "dnsmasq.service"},
		enable:   []string{"dnsmasq.service"},
		binaries: []string{"/usr/sbin/dnsmasq", "/usr/bin/dig"},
		check:    checkDnsmasq,
	},
	{
		name:     "sshd_notify_runtimedir",
		pkgs:     []string{"openssh-server", "openssh-client"},
		units:    []string{lib + "ssh.service", lib + "ssh.socket"},
		enable:   []string{"ssh.service"},
		binaries: []string{"/usr/sbin/sshd", "/usr/bin/ssh-keyscan", "/etc/ssh/ssh_host_ed25519_key.pub"},
		check:    checkSshd,
	},
	{
		name:     "vsftpd_simple",
		pkgs:     []string{"vsftpd", "curl"},
		units:    []string{lib + "vsftpd.service"},
		enable:   []string{"vsftpd.service"},
		binaries: []string{"/usr/sbin/vsftpd", "/usr/bin/curl"},
		check:    checkVsftpd,
	},
	{
		name:     "atd_jobs",
		pkgs:     []string{"at"},
		units:    []string{lib + "atd.service"},
		enable:   []string{"atd.service"},
		binaries: []string{"/usr/sbin/atd", "/usr/bin/at"},
		check:    checkAtd,
	},
	{
		name:     "uuidd_socket_user",
		pkgs:     []string{"uuid-runtime"},
		units:    []string{lib + "uuidd.socket", lib + "uuidd.service"},
		enable:   []string{"uuidd.service"},
		binaries: []string{"/usr/sbin/uuidd"},
		check:    checkUuidd,
		sandbox:  uuiddSandbox,
	},
	{
		name:     "pcscd_socket",
		pkgs:     []string{"pcscd", "pcsc-tools"},
		units:    []string{lib + "pcscd.socket", lib + "pcscd.service"},
		enable:   []string{"pcscd.service"},
		binaries: []string{"/usr/sbin/pcscd", "/usr/bin/pcsc_scan"},
		check:    checkPcscd,
	},
	{
		name:     "unbound_notify_helpers",
		pkgs:     []string{"unbound", "bind9-dnsutils"},
		units:    []string{lib + "unbound.service"},
		enable:   []string{"unbound.service"},
		binaries: []string{"/usr/sbin/unbound", "/usr/sbin/unbound-control", "/usr/bin/dig"},
		check:    checkUnbound,
	},
	{
		name:        "named_notify_tmpfiles_rndc",
		pkgs:        []string{"bind9", "bind9-dnsutils"},
		units:       []string{lib + "named.service"},
		enable:      []string{"named.service"},
		binaries:    []string{"/usr/sbin/named", "/usr/sbin/rndc", "/usr/bin/dig"},
		ownTmpfiles: true,
		check:       checkNamed,
	},
	{
		name:     "apache2_forking_guessed_pid",
		pkgs:     []string{"apache2", "curl"},
		units:    []string{lib + "apache2.service"},
		enable:   []string{"apache2.service"},
		binaries: []string{"/usr/sbin/apache2", "/usr/sbin/apachectl", "/usr/bin/curl"},
		check:    checkApache,
	},
	{
		name:     "dovecot_socket_tcp_ipv6",
		pkgs:     []string{"dovecot-core", "dovecot-imapd", "curl"},
		units:    []string{lib + "dovecot.socket", lib + "dovecot.service"},
		enable:   []string{"dovecot.socket"},
		binaries: []string{"/usr/sbin/dovecot", "/usr/bin/curl"},
		check:    checkDovecot,
		sandbox:  dovecotSandbox,
	},
	{
		name: "kresd_template_watchdog",
		pkgs: []string{"knot-resolver", "bind9-dnsutils"},
		units: []string{lib + "kresd@.service", lib + "kresd.target", lib + "kres-cache-gc.service",
			lib + "multi-user.target.wants/kresd.target"},
		enable:   []string{"kresd@1.service"},
		binaries: []string{"/usr/sbin/kresd", "/usr/bin/dig"},
		check:    checkKresd,
	},
	{
		name: "avahi_type_dbus",
		pkgs: []string{"avahi-daemon", "dbus", "dbus-system-bus-common"},
		units: []string{lib + "dbus.socket", lib + "dbus.service",
			lib + "sockets.target.wants/dbus.socket", lib + "multi-user.target.wants/dbus.service",
			lib + "avahi-daemon.socket", lib + "avahi-daemon.service"},
		enable:   []string{"avahi-daemon.service"},
		binaries: []string{"/usr/sbin/avahi-daemon", "/usr/bin/busctl"},
		check:    checkAvahi,
	},
	{
		name:     "rsyslog_syslog_socket",
		pkgs:     []string{"rsyslog", "systemd", "bsdutils"},
		units:    []string{lib + "rsyslog.service", lib + "syslog.socket"},
		enable:   []string{"rsyslog.service"},
		binaries: []string{"/usr/sbin/rsyslogd", "/usr/bin/logger"},
		check:    checkRsyslog,
	},
	{
		name:     "mosquitto_notify_execstartpre",
		pkgs:     []string{"mosquitto", "mosquitto-clients"},
		units:    []string{lib + "mosquitto.service"},
		enable:   []string{"mosquitto.service"},
		binaries: []string{"/usr/sbin/mosquitto", "/usr/bin/mosquitto_sub", "/usr/bin/mosquitto_pub"},
		check:    checkMosquitto,
	},
	{
		name:     "munge_forking_user_runtimedir",
		pkgs:     []string{"munge"},
		units:    []string{lib + "munge.service"},
		enable:   []string{"munge.service"},
		binaries: []string{"/usr/sbin/munged", "/usr/bin/munge", "/usr/bin/unmunge"},
		check:    checkMunge,
	},
	{
		name:     "lldpd_notify_privsep",
		pkgs:     []string{"lldpd"},
		units:    []string{lib + "lldpd.service"},
		enable:   []string{"lldpd.service"},
		binaries: []string{"/usr/sbin/lldpd", "/usr/sbin/lldpcli"},
		check:    checkLldpd,
		sandbox:  lldpdSandbox,
	},
	{
		name:     "haproxy_notify_master_tmpfiles",
		pkgs:     []string{"haproxy", "socat"},
		units:    []string{lib + "haproxy.service"},
		enable:   []string{"haproxy.service"},
		binaries: []string{"/usr/sbin/haproxy", "/usr/bin/socat"},
		check:    checkHaproxy,
	},
	{
		name:     "varnish_limits_jail",
		pkgs:     []string{"varnish", "curl"},
		units:    []string{lib + "varnish.service"},
		enable:   []string{"varnish.service"},
		binaries: []string{"/usr/sbin/varnishd", "/usr/bin/varnishadm", "/usr/bin/curl"},
		check:    checkVarnish,
		sandbox:  varnishSandbox,
	},
	{
		name:     "beanstalkd_socket_user",
		pkgs:     []string{"beanstalkd"},
		units:    []string{lib + "beanstalkd.socket", lib + "beanstalkd.service"},
		enable:   []string{"beanstalkd.socket"},
		binaries: []string{"/usr/bin/beanstalkd"},
		check:    checkBeanstalkd,
	},
}

// TestContainerDaemons runs each daemon of containerDaemons in its own container. The
// containers share nothing but the host's files under their overlays, so they run in parallel.
func TestContainerDaemons(t *testing.T) {
	gaps := os.Getenv("FLINT_CONTAINER_GAPS") == "1"
	for _, d := range containerDaemons {
		if d.waits != "" && !gaps {
			continue
		}
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			d.require(t)
			c := startImage(t, containerImage{units: d.units, enable: d.enable, ownTmpfiles: d.ownTmpfiles,
				generators: d.generators, initScripts: d.initScripts})
			d.check(t, c)
			if d.sandbox != nil {
				c.sandboxInForce(*d.sandbox)
			}
			c.stopAll()
		})
	}
}

// require checks root, the packages and the files the daemon needs.
func (d containerDaemon) require(t *testing.T) {
	t.Helper()
	if os.Getuid() != 0 {
		missing(t, "%s needs root (namespaces)", d.name)
	}
	requirePackages(t, d.pkgs, append(append([]string{}, d.units...), d.binaries...))
}

// curl runs curl inside the container, again while the connection is refused (curl's exit
// code 7) for up to 15s: a Type=simple service is active as soon as it runs, before it listens.
func (c *container) curl(args ...string) (string, int) {
	c.t.Helper()
	var out string
	var code int
	waitFor(15*time.Second, func() bool {
		out, code = c.exec("curl", append([]string{"--max-time", "10", "-sS"}, args...)...)
		return code != 7
	})
	return out, code
}

// httpGet fetches url with curl inside the container and returns the response head.
func (c *container) httpGet(url string) string {
	c.t.Helper()
	out, code := c.curl("-D", "-", "-o", "/dev/null", url)
	if code != 0 {
		c.t.Fatalf("curl %s: exit %d\n%s", url, code, out)
	}
	return out
}

func checkNginx(t *testing.T, c *container) {
	pid := c.mainPID("nginx.service", "/usr/sbin/nginx")
	// Type=forking with PIDFile=: the main pid is the master nginx wrote to /run/nginx.pid.
	if got := strings.TrimSpace(c.read("/run/nginx.pid")); got != strconv.Itoa(pid) {
		t.Errorf("/run/nginx.pid = %q, MainPID %d", got, pid)
	}
	if out := c.httpGet("http://127.0.0.1/"); !strings.HasPrefix(out, "HTTP/1.1 200") || !strings.Contains(out, "Server: nginx") {
		t.Fatalf("GET / from nginx:\n%s", out)
	}
	// ExecReload= (nginx -s reload): the master stays, its workers are replaced.
	workers := func() string { return c.read(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid)) }
	before := workers()
	c.run(0, "reload", "nginx.service")
	if !waitFor(15*time.Second, func() bool { w := workers(); return w != "" && w != before }) {
		t.Errorf("nginx's workers after reload: %q, before %q", workers(), before)
	}
	// Active again (a daemon that sends RELOADING=1 stays "reloading" until READY=1), same
	// main process.
	c.waitProps("nginx.service", map[string]string{"ActiveState": "active", "MainPID": strconv.Itoa(pid)})
	if out := c.httpGet("http://127.0.0.1/"); !strings.HasPrefix(out, "HTTP/1.1 200") {
		t.Fatalf("GET / after reload:\n%s", out)
	}
}

func checkDbus(t *testing.T, c *container) {
	pid := c.mainPID("dbus.service", "/usr/bin/dbus-daemon")
	if st := c.prop("dbus.socket", "ActiveState"); st != "active" {
		t.Errorf("dbus.socket: %s", st)
	}
	// OOMScoreAdjust=-900: without CAP_SYS_RESOURCE the kernel refuses a negative score;
	// systemd goes on (and so does flint): the daemon runs with the score it inherited.
	if p := c.props("dbus.service", "OOMScoreAdjust", "Type", "NotifyAccess"); p["OOMScoreAdjust"] != "-900" || p["Type"] != "notify" {
		t.Errorf("dbus.service: %v", p)
	}
	if adj := strings.TrimSpace(c.read(fmt.Sprintf("/proc/%d/oom_score_adj", pid))); adj != "-900" && adj != "0" {
		t.Errorf("dbus-daemon's oom_score_adj %q, want -900 (or 0 where refused)", adj)
	}
	// The bus, reached through the socket flint made (--address=systemd:).
	if out := c.must("busctl", "--system", "--no-pager", "list"); !strings.Contains(out, "org.freedesktop.DBus") {
		t.Errorf("busctl list:\n%s", out)
	}
	out := c.must("dbus-send", "--system", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
		"org.freedesktop.DBus.GetConnectionUnixProcessID", "string:org.freedesktop.DBus")
	if !regexp.MustCompile(`uint32 ` + strconv.Itoa(pid) + `\b`).MatchString(out) {
		t.Errorf("the bus's own pid, from the bus: %s, want %d", out, pid)
	}
	// ExecReload= is dbus-send ReloadConfig: the reload job succeeds, the daemon stays.
	c.run(0, "reload", "dbus.service")
	// Active again (a daemon that sends RELOADING=1 stays "reloading" until READY=1), same
	// main process.
	c.waitProps("dbus.service", map[string]string{"ActiveState": "active", "MainPID": strconv.Itoa(pid)})
	// --syslog-only: dbus-daemon's lines reach flint's log through /dev/log.
	c.logsWait("dbus.service", "[system] Reloaded configuration")
}
