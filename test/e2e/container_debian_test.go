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

// More Debian 12 daemons for TestContainerDaemons (container_daemons_test.go): units that
// need the packages' generators, a System V init script, socket units with Accept=yes or
// FIFOs, conditions that are false in a container, timers and oneshots.
func init() {
	containerDaemons = append(containerDaemons, debianDaemons...)
}

var debianDaemons = []containerDaemon{
	{
		name:       "postgresql_generator",
		pkgs:       []string{"postgresql-15", "postgresql-common", "postgresql-client-15"},
		units:      []string{lib + "postgresql.service", lib + "postgresql@.service"},
		enable:     []string{"postgresql.service"},
		generators: []string{"postgresql-generator"},
		binaries:   []string{"/usr/lib/postgresql/15/bin/postgres", "/usr/bin/psql", "/etc/postgresql/15/main/postgresql.conf"},
		check:      checkPostgresGenerator,
	},
	{
		name:       "postfix_generator_forking_noguess",
		pkgs:       []string{"postfix", "socat"},
		units:      []string{lib + "postfix.service", lib + "postfix@.service"},
		enable:     []string{"postfix.service"},
		generators: []string{"postfix-instance-generator"},
		binaries:   []string{"/usr/sbin/postmulti", "/usr/lib/postfix/sbin/master", "/usr/bin/socat", "/etc/postfix/main.cf"},
		check:      checkPostfix,
	},
	{
		name:       "tor_generator_sandbox",
		pkgs:       []string{"tor", "socat"},
		units:      []string{lib + "tor.service", lib + "tor@.service", lib + "tor@default.service"},
		enable:     []string{"tor.service"},
		generators: []string{"tor-generator"},
		binaries:   []string{"/usr/bin/tor", "/usr/bin/socat", "/etc/tor/torrc"},
		check:      checkTor,
		sandbox:    torSandbox,
	},
	{
		name:        "slapd_sysv_generator",
		pkgs:        []string{"slapd", "ldap-utils"},
		units:       []string{lib + "slapd.service.d/slapd-remain-after-exit.conf"},
		generators:  []string{"systemd-sysv-generator"},
		initScripts: []string{"slapd"},
		binaries:    []string{"/usr/sbin/slapd", "/etc/init.d/slapd", "/usr/bin/ldapsearch", "/lib/systemd/system-generators/systemd-sysv-generator"},
		check:       checkSlapd,
	},
	{
		name:     "cron_reboot_job_syslog",
		pkgs:     []string{"cron"},
		units:    []string{lib + "cron.service"},
		enable:   []string{"cron.service"},
		binaries: []string{"/usr/sbin/cron"},
		check:    checkCron,
	},
	{
		name:     "nftables_oneshot_remain_sysinit",
		pkgs:     []string{"nftables"},
		units:    []string{lib + "nftables.service"},
		enable:   []string{"nftables.service"},
		binaries: []string{"/usr/sbin/nft", "/etc/nftables.conf"},
		check:    checkNftables,
	},
	{
		name:     "fcgiwrap_socket_owner",
		pkgs:     []string{"fcgiwrap", "libfcgi-bin"},
		units:    []string{lib + "fcgiwrap.socket", lib + "fcgiwrap.service"},
		enable:   []string{"fcgiwrap.socket"},
		binaries: []string{"/usr/sbin/fcgiwrap", "/usr/bin/cgi-fcgi"},
		check:    checkFcgiwrap,
	},
	{
		name:     "saned_accept_listen_fds",
		pkgs:     []string{"sane-utils"},
		units:    []string{lib + "saned.socket", lib + "saned@.service"},
		enable:   []string{"saned.socket"},
		binaries: []string{"/usr/sbin/saned"},
		check:    checkSaned,
	},
	{
		name:     "snmpd_notify_runtimedir",
		pkgs:     []string{"snmpd", "snmp"},
		units:    []string{lib + "snmpd.service"},
		enable:   []string{"snmpd.service"},
		binaries: []string{"/usr/sbin/snmpd", "/usr/bin/snmpget", "/etc/snmp/snmpd.conf"},
		check:    checkSnmpd,
	},
	{
		name:     "php_fpm_notify_status_reload",
		pkgs:     []string{"php8.2-fpm", "libfcgi-bin"},
		units:    []string{lib + "php8.2-fpm.service"},
		enable:   []string{"php8.2-fpm.service"},
		binaries: []string{"/usr/sbin/php-fpm8.2", "/usr/lib/php/php-fpm-socket-helper", "/usr/bin/cgi-fcgi"},
		check:    checkPhpFpm,
	},
	{
		name: "timers_logrotate_mandb_apt",
		pkgs: []string{"logrotate", "man-db", "apt"},
		units: []string{lib + "logrotate.timer", lib + "logrotate.service", lib + "man-db.timer", lib + "man-db.service",
			lib + "apt-daily.timer", lib + "apt-daily.service", lib + "apt-daily-upgrade.timer", lib + "apt-daily-upgrade.service"},
		enable:   []string{"logrotate.timer", "man-db.timer", "apt-daily.timer", "apt-daily-upgrade.timer"},
		binaries: []string{"/usr/sbin/logrotate", "/usr/bin/mandb"},
		check:    checkTimers,
	},
	{
		name: "conditions_virtualization_container",
		pkgs: []string{"multipath-tools", "smartmontools", "open-iscsi"},
		units: []string{lib + "multipathd.service", lib + "multipathd.socket", lib + "smartmontools.service",
			lib + "iscsid.socket", lib + "iscsid.service"},
		enable:   []string{"multipathd.service", "smartmontools.service", "iscsid.socket"},
		binaries: []string{"/sbin/multipathd", "/usr/sbin/smartd", "/sbin/iscsid", "/usr/sbin/iscsiadm"},
		check:    checkConditions,
	},
	{
		name: "lvm_fifo_and_stream_sockets",
		pkgs: []string{"lvm2", "dmeventd"},
		units: []string{lib + "dm-event.socket", lib + "dm-event.service",
			lib + "lvm2-lvmpolld.socket", lib + "lvm2-lvmpolld.service"},
		enable:   []string{"dm-event.socket", "lvm2-lvmpolld.socket"},
		binaries: []string{"/sbin/dmeventd", "/sbin/lvmpolld"},
		check:    checkLvmSockets,
	},
	{
		name:     "chrony_forking_sandbox_bang",
		pkgs:     []string{"chrony"},
		units:    []string{lib + "chrony.service"},
		binaries: []string{"/usr/sbin/chronyd", "/usr/bin/chronyc"},
		check:    checkChrony,
		sandbox:  chronySandbox,
	},
	{
		name:     "squid_notify_execstartpre_group",
		pkgs:     []string{"squid", "curl"},
		units:    []string{lib + "squid.service"},
		enable:   []string{"squid.service"},
		binaries: []string{"/usr/sbin/squid", "/usr/bin/curl"},
		check:    checkSquid,
	},
	{
		name:     "node_exporter_user_envfile",
		pkgs:     []string{"prometheus-node-exporter", "curl"},
		units:    []string{lib + "prometheus-node-exporter.service"},
		enable:   []string{"prometheus-node-exporter.service"},
		binaries: []string{"/usr/bin/prometheus-node-exporter", "/usr/bin/curl"},
		check:    checkNodeExporter,
	},
	{
		name:     "unattended_upgrades_killmode_process",
		pkgs:     []string{"unattended-upgrades"},
		units:    []string{lib + "unattended-upgrades.service"},
		enable:   []string{"unattended-upgrades.service"},
		binaries: []string{"/usr/share/unattended-upgrades/unattended-upgrade-shutdown", "/usr/bin/python3"},
		check:    checkUnattendedUpgrades,
	},
	{
		name:     "sshd_socket_activation",
		pkgs:     []string{"openssh-server", "openssh-client"},
		units:    []string{lib + "ssh.service", lib + "ssh.socket"},
		enable:   []string{"ssh.socket"},
		binaries: []string{"/usr/sbin/sshd", "/usr/bin/ssh-keyscan", "/etc/ssh/ssh_host_ed25519_key.pub"},
		check:    checkSshSocket,
	},
	{
		name:     "mariadb_notify_shell_ambient",
		pkgs:     []string{"mariadb-server", "mariadb-client"},
		units:    []string{lib + "mariadb.service"},
		enable:   []string{"mariadb.service"},
		binaries: []string{"/usr/sbin/mariadbd", "/usr/bin/mariadb", "/etc/mysql/debian-start"},
		check:    checkMariadb,
	},
}

// generated checks that the generators made link below /run/systemd/generator.
func (c *container) generated(link string) {
	c.t.Helper()
	if _, err := os.Lstat(c.path("/run/systemd/generator/" + link)); err != nil {
		out, _ := c.exec("find", "/run/systemd/generator", "/run/systemd/generator.late")
		c.t.Errorf("no %s from the generators: %v\n%s", link, err, out)
	}
}

func checkPostgresGenerator(t *testing.T, c *container) {
	// postgresql.service (Type=oneshot, /bin/true) is what the package enables; the cluster's
	// instance comes from postgresql-generator's postgresql.service.wants link.
	c.generated("postgresql.service.wants/postgresql@15-main.service")
	const svc = "postgresql@15-main.service"
	c.mainPID(svc, "/usr/lib/postgresql/15/bin/postgres")
	if out := c.must("runuser", "-u", "postgres", "--", "psql", "-Atc", "select 6*7"); strings.TrimSpace(out) != "42" {
		t.Fatalf("psql: %q", out)
	}
	if st := c.prop("postgresql.service", "SubState"); st != "exited" {
		t.Errorf("postgresql.service: %s, want active (exited)", st)
	}
	if w := c.prop("postgresql.service", "Wants"); !strings.Contains(w, svc) {
		t.Errorf("postgresql.service Wants=%s, want %s (the generator's link)", w, svc)
	}
	// daemon-reload runs the generators again: a cluster set to start manually is no longer
	// wanted (and keeps running).
	if err := os.WriteFile(c.path("/etc/postgresql/15/main/start.conf"), []byte("manual\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.run(0, "daemon-reload")
	if w := c.prop("postgresql.service", "Wants"); strings.Contains(w, svc) {
		t.Errorf("postgresql.service Wants=%s after start.conf says manual and a daemon-reload", w)
	}
	if _, err := os.Lstat(c.path("/run/systemd/generator/postgresql.service.wants/" + svc)); err == nil {
		t.Errorf("the generator's link is still there after the daemon-reload")
	}
	c.waitState(svc, "active/running")
}

// smtpGreeting reads the greeting of an SMTP server of the container.
func (c *container) smtpGreeting(addr string) string {
	c.t.Helper()
	var out string
	waitFor(15*time.Second, func() bool {
		out, _ = c.exec("socat", "-T", "5", "-", "TCP:"+addr+",crlf")
		return strings.HasPrefix(out, "220 ")
	})
	return out
}

func checkPostfix(t *testing.T, c *container) {
	c.generated("postfix.service.wants/postfix@-.service")
	const svc = "postfix@-.service"
	c.waitState(svc, "active/running")
	// Type=forking with GuessMainPID=no and no PIDFile=: no main process, as under systemd;
	// the master runs in the unit.
	if p := c.props(svc, "MainPID", "GuessMainPID", "Type"); p["MainPID"] != "0" || p["GuessMainPID"] != "no" || p["Type"] != "forking" {
		t.Errorf("%s: %v", svc, p)
	}
	if out := c.smtpGreeting("127.0.0.1:25"); !strings.Contains(out, "ESMTP Postfix") {
		t.Fatalf("SMTP greeting on 127.0.0.1:25: %q", out)
	}
	// A message through sendmail(1) into the queue and out of it (local delivery).
	c.must("sh", "-c", "printf 'Subject: flint\\n\\nbody\\n' | /usr/sbin/sendmail root")
	if !waitFor(20*time.Second, func() bool {
		out, _ := c.exec("postqueue", "-p")
		return strings.Contains(out, "Mail queue is empty")
	}) {
		out, _ := c.exec("postqueue", "-p")
		t.Errorf("the queue did not empty:\n%s", out)
	}
	// ReloadPropagatedFrom=postfix.service: postmulti -p reload in the instance.
	c.run(0, "reload", "postfix.service")
	c.logsWait(svc, "reload -- version")
	// PartOf=postfix.service: stopping it stops the instance (ExecStop= postmulti -p stop).
	c.run(0, "stop", "postfix.service")
	c.waitState(svc, "inactive/dead")
	if out, code := c.exec("socat", "-T", "2", "-", "TCP:127.0.0.1:25"); code == 0 {
		t.Errorf("port 25 after stop: %q", out)
	}
}

// socks5 greets a SOCKS 5 server of the container (no authentication) and returns its answer
// in hex.
func (c *container) socks5(addr string) string {
	c.t.Helper()
	var out string
	waitFor(15*time.Second, func() bool {
		out, _ = c.exec("sh", "-c", "printf '\\005\\001\\000' | socat -T 5 - TCP:"+addr+" | od -An -tx1")
		return strings.TrimSpace(out) != ""
	})
	return strings.Join(strings.Fields(out), " ")
}

func checkTor(t *testing.T, c *container) {
	// tor.service is a oneshot master; tor@default.service has no [Install]: tor-generator's
	// tor.service.wants link (for /etc/tor/torrc) starts it.
	c.generated("tor.service.wants/tor@default.service")
	const svc = "tor@default.service"
	pid := c.mainPID(svc, "/usr/bin/tor")
	// Type=notify with NotifyAccess=all, PIDFile=, User=debian-tor from the torrc defaults.
	if got := strings.TrimSpace(c.read("/run/tor/tor.pid")); got != strconv.Itoa(pid) {
		t.Errorf("/run/tor/tor.pid %q, MainPID %d", got, pid)
	}
	c.runsAs(pid, "debian-tor")
	if got := c.socks5("127.0.0.1:9050"); got != "05 00" {
		t.Errorf("SOCKS 5 greeting on 127.0.0.1:9050: %q, want 05 00", got)
	}
	// ExecStartPre=/usr/bin/install -d /run/tor with setgid (PermissionsStartOnly=yes).
	if fi, err := os.Stat(c.path("/run/tor")); err != nil || fi.Mode()&(os.ModePerm|os.ModeSetgid) != 0o755|os.ModeSetgid {
		t.Errorf("/run/tor: %v %v", fi, err)
	}
	// ReloadPropagatedFrom=tor.service: ExecReload= kill -HUP ${MAINPID}.
	c.run(0, "reload", "tor.service")
	c.logsWait(svc, "Received reload signal (hup)")
	c.limitedNoFile(svc, pid, "65536")
}

var torSandbox = &sandboxWant{service: "tor@default.service", binary: "/usr/bin/tor", noNewPrivs: true, seccomp: true,
	capBnd:   only(capSetgid, capSetuid, capNetBindService, capDacReadSearch),
	readOnly: []string{"/", "/usr", "/etc"}, writable: []string{"/var/lib/tor", "/run"},
	inaccessible: []string{"/home", "/root"}, privateTmp: true, privateDevices: true}

const (
	capDacReadSearch  = 2
	capNetBindService = 10
)

func checkSlapd(t *testing.T, c *container) {
	// slapd ships only /etc/init.d/slapd (and a drop-in for the unit made from it):
	// systemd-sysv-generator makes slapd.service, wanted by multi-user.target through the
	// script's S01slapd links in /etc/rc[2-5].d.
	c.generated("../generator.late/slapd.service")
	const svc = "slapd.service"
	c.waitState(svc, "active/running")
	// (inside the container, whose /run has the generated file)
	if out, code := c.exec("flint", "is-enabled", svc); code != 0 || strings.TrimSpace(out) != "generated" {
		t.Errorf("flint is-enabled %s: %q, exit %d, want generated", svc, out, code)
	}
	p := c.props(svc, "SourcePath", "Type", "RemainAfterExit", "DropInPaths")
	if p["SourcePath"] != "/etc/init.d/slapd" || p["Type"] != "forking" || p["RemainAfterExit"] != "no" ||
		p["DropInPaths"] != "/lib/systemd/system/slapd.service.d/slapd-remain-after-exit.conf" {
		t.Errorf("%s: %v", svc, p)
	}
	// Type=forking, GuessMainPID=no: no main process; it runs while slapd does.
	if pid := c.prop(svc, "MainPID"); pid != "0" {
		t.Errorf("%s: MainPID %s, want 0", svc, pid)
	}
	if st, _ := c.flint("status", svc); !strings.Contains(st, "Loaded: loaded (/etc/init.d/slapd; generated)") {
		t.Errorf("flint status %s:\n%s", svc, st)
	}
	var out string
	if !waitFor(15*time.Second, func() bool {
		var code int
		out, code = c.exec("ldapsearch", "-x", "-LLL", "-H", "ldap://127.0.0.1/", "-b", "", "-s", "base", "namingContexts")
		return code == 0
	}) || !regexp.MustCompile(`(?m)^namingContexts: dc=`).MatchString(out) {
		t.Fatalf("ldapsearch the root DSE:\n%s", out)
	}
	c.run(0, "stop", svc)
	c.waitState(svc, "inactive/dead")
	if out, code := c.exec("ldapsearch", "-x", "-H", "ldap://127.0.0.1/", "-b", "", "-s", "base"); code == 0 {
		t.Errorf("ldapsearch after stop:\n%s", out)
	}
	// Started again, then its daemon ends by itself: the unit's last process is gone, and so
	// is the unit (systemd: the cgroup is empty).
	c.run(0, "start", svc)
	c.waitState(svc, "active/running")
	var pid string
	waitFor(10*time.Second, func() bool { pid = strings.TrimSpace(c.read("/run/slapd/slapd.pid")); return pid != "" })
	c.must("kill", pid)
	c.waitState(svc, "inactive/dead")
}

func checkCron(t *testing.T, c *container) {
	c.mainPID("cron.service", "/usr/sbin/cron")
	// An image without generators: flint made no generator directories.
	if _, err := os.Stat(c.path("/run/systemd/generator")); err == nil {
		t.Errorf("/run/systemd/generator exists in an image without generators")
	}
	// An @reboot job runs when cron starts without /run/crond.reboot: add one, restart cron.
	if err := os.WriteFile(c.path("/etc/cron.d/flint-e2e"), []byte("@reboot root id -un >/tmp/cron.out\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.must("rm", "-f", "/run/crond.reboot")
	c.run(0, "restart", "cron.service")
	c.mainPID("cron.service", "/usr/sbin/cron")
	if !waitFor(20*time.Second, func() bool { return strings.TrimSpace(c.read("/tmp/cron.out")) == "root" }) {
		t.Fatalf("the @reboot job did not run: /tmp/cron.out %q", c.read("/tmp/cron.out"))
	}
	// cron logs through syslog(3) only.
	c.logsWait("cron.service", "(CRON) INFO (Running @reboot jobs)")
}

func checkNftables(t *testing.T, c *container) {
	// Type=oneshot, RemainAfterExit=yes, WantedBy=sysinit.target, DefaultDependencies=no.
	c.waitState("nftables.service", "active/exited")
	if out := c.must("nft", "list", "ruleset"); !strings.Contains(out, "table inet filter") {
		t.Fatalf("nft list ruleset after the start:\n%s", out)
	}
	c.run(0, "reload", "nftables.service")
	c.waitState("nftables.service", "active/exited")
	// ExecStop=/usr/sbin/nft flush ruleset.
	c.run(0, "stop", "nftables.service")
	c.waitState("nftables.service", "inactive/dead")
	if out := c.must("nft", "list", "ruleset"); strings.TrimSpace(out) != "" {
		t.Errorf("nft list ruleset after the stop:\n%s", out)
	}
}

// fcgi runs cgi-fcgi inside the container: a FastCGI request for script on socket.
func (c *container) fcgi(socket, script string) string {
	c.t.Helper()
	out, code := c.exec("env", "SCRIPT_FILENAME="+script, "SCRIPT_NAME="+script, "REQUEST_METHOD=GET", "QUERY_STRING=",
		"cgi-fcgi", "-bind", "-connect", socket)
	if code != 0 {
		c.t.Fatalf("cgi-fcgi %s %s: exit %d\n%s", socket, script, code, out)
	}
	return out
}

func checkFcgiwrap(t *testing.T, c *container) {
	c.idleUntilConnected("fcgiwrap.service", "fcgiwrap.socket")
	// SocketUser=www-data SocketGroup=www-data SocketMode=0660.
	out := c.must("stat", "-c", "%A %U %G", "/run/fcgiwrap.socket")
	if strings.TrimSpace(out) != "srw-rw---- www-data www-data" {
		t.Errorf("/run/fcgiwrap.socket: %s", out)
	}
	if err := os.WriteFile(c.path("/tmp/flint-e2e.cgi"), []byte("#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\necho uid=$(id -un)\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := c.fcgi("/run/fcgiwrap.socket", "/tmp/flint-e2e.cgi"); !strings.Contains(got, "uid=www-data") {
		t.Errorf("the CGI script through fcgiwrap:\n%s", got)
	}
	pid := c.mainPID("fcgiwrap.service", "/usr/sbin/fcgiwrap")
	c.runsAs(pid, "www-data")
	c.triggeredBy("fcgiwrap.service", "fcgiwrap.socket")
}

func checkSaned(t *testing.T, c *container) {
	c.waitState("saned.socket", "active/listening")
	// SANE_NET_INIT (procedure 0, version 1.0.3, user "root"): status SANE_STATUS_GOOD and
	// the daemon's version. saned@.service has StandardInput=null: saned takes the connection
	// from sd_listen_fds() (LISTEN_FDS=1, LISTEN_FDNAMES=connection).
	out := c.must("bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/6566; printf '\0\0\0\0\1\0\0\3\0\0\0\5root\0' >&3; head -c 8 <&3 | od -An -tx1`)
	if f := strings.Fields(out); len(f) != 8 || strings.Join(f[:5], " ") != "00 00 00 00 01" {
		t.Errorf("SANE_NET_INIT's reply: %q, want status 0 and version 1.x", out)
	}
	// The instance ran and went (saned ends with the connection).
	c.waitProps("saned.socket", map[string]string{"NAccepted": "1", "NConnections": "0"})
	if p := c.props("saned.socket", "Accept", "MaxConnections"); p["Accept"] != "yes" || p["MaxConnections"] != "64" {
		t.Errorf("saned.socket: %v", p)
	}
}

func checkSnmpd(t *testing.T, c *container) {
	pid := c.mainPID("snmpd.service", "/usr/sbin/snmpd")
	// sysName.0 is the container's host name.
	var out string
	if !waitFor(15*time.Second, func() bool {
		out, _ = c.exec("snmpget", "-v2c", "-c", "public", "-On", "127.0.0.1", ".1.3.6.1.2.1.1.5.0")
		return strings.Contains(out, `STRING: "flint-e2e"`)
	}) {
		t.Fatalf("snmpget sysName.0:\n%s", out)
	}
	c.runsAs(pid, "Debian-snmp")
	// RuntimeDirectory=agentx (the AgentX master socket's directory).
	if fi, err := os.Stat(c.path("/run/agentx")); err != nil || !fi.IsDir() {
		t.Errorf("/run/agentx: %v", err)
	}
	c.run(0, "reload", "snmpd.service")
	c.waitProps("snmpd.service", map[string]string{"ActiveState": "active", "MainPID": strconv.Itoa(pid)})
}

func checkPhpFpm(t *testing.T, c *container) {
	const svc = "php8.2-fpm.service"
	pid := c.mainPID(svc, "/usr/sbin/php-fpm8.2")
	// Type=notify: php-fpm's STATUS= lines.
	if !waitFor(15*time.Second, func() bool { return strings.Contains(c.prop(svc, "StatusText"), "Processes active:") }) {
		t.Errorf("%s StatusText=%q", svc, c.prop(svc, "StatusText"))
	}
	// ExecStartPost=- php-fpm-socket-helper install: the php-fpm.sock alternative.
	if target, err := os.Readlink(c.path("/etc/alternatives/php-fpm.sock")); err != nil || target != "/run/php/php8.2-fpm.sock" {
		t.Errorf("/etc/alternatives/php-fpm.sock: %q %v", target, err)
	}
	if err := os.WriteFile(c.path("/tmp/flint-e2e.php"), []byte("<?php echo 'php ', PHP_VERSION, ' ', posix_getpwuid(posix_geteuid())['name'], \"\\n\";\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := c.fcgi("/run/php/php8.2-fpm.sock", "/tmp/flint-e2e.php"); !regexp.MustCompile(`php 8\.2\.\d+ www-data`).MatchString(got) {
		t.Errorf("the PHP script through php-fpm:\n%s", got)
	}
	// ExecReload=/bin/kill -USR2 $MAINPID: the master re-executes itself in place and says
	// READY=1 again.
	c.run(0, "reload", svc)
	c.waitProps(svc, map[string]string{"ActiveState": "active", "SubState": "running", "MainPID": strconv.Itoa(pid)})
	if got := c.fcgi("/run/php/php8.2-fpm.sock", "/tmp/flint-e2e.php"); !strings.Contains(got, "www-data") {
		t.Errorf("the PHP script after the reload:\n%s", got)
	}
	// ExecStopPost=- php-fpm-socket-helper remove (which finds the socket gone and leaves
	// the alternative, under systemd as well).
	c.run(0, "stop", svc)
	c.waitState(svc, "inactive/dead")
	if p := c.props(svc, "Result", "ExecMainStatus"); p["Result"] != "success" {
		t.Errorf("%s after the stop: %v", svc, p)
	}
}

func checkTimers(t *testing.T, c *container) {
	timers := []string{"apt-daily-upgrade.timer", "apt-daily.timer", "logrotate.timer", "man-db.timer"}
	for _, tm := range timers {
		c.waitState(tm, "active/waiting")
		if p := c.props(tm, "Persistent", "NextElapseUSecRealtime"); p["Persistent"] != "yes" || p["NextElapseUSecRealtime"] == "" {
			t.Errorf("%s: %v", tm, p)
		}
	}
	out, _ := c.flint("list-timers", "--all", "--no-pager")
	for _, tm := range timers {
		if !strings.Contains(out, tm) {
			t.Errorf("flint list-timers --all lacks %s:\n%s", tm, out)
		}
	}
	// logrotate.service: a sandboxed oneshot (PrivateDevices=, ProtectSystem=full,
	// MemoryDenyWriteExecute=, ...) with ConditionACPower=true.
	c.run(0, "start", "logrotate.service")
	c.waitState("logrotate.service", "inactive/dead")
	if p := c.props("logrotate.service", "Result", "ExecMainStatus", "ConditionResult"); p["Result"] != "success" || p["ExecMainStatus"] != "0" || p["ConditionResult"] != "yes" {
		t.Errorf("logrotate.service after its run: %v", p)
	}
	if !strings.Contains(c.read("/var/lib/logrotate/status"), "logrotate state") {
		t.Errorf("/var/lib/logrotate/status: %q", c.read("/var/lib/logrotate/status"))
	}
}

func checkConditions(t *testing.T, c *container) {
	// ConditionVirtualization=!container (multipathd) and =no (smartd) are false in a
	// container: skipped, not failed, as under systemd.
	for _, u := range []string{"multipathd.socket", "multipathd.service", "smartmontools.service"} {
		c.waitProps(u, map[string]string{"ConditionResult": "no", "ActiveState": "inactive"})
	}
	if st, _ := c.flint("status", "multipathd.service"); !regexp.MustCompile(`(?m)^  Condition: start condition failed at .+ ago\n +└─ ConditionVirtualization=!container was not met$`).MatchString(st) {
		t.Errorf("flint status multipathd.service:\n%s", st)
	}
	// ConditionVirtualization=!private-users (iscsid) is true: its abstract socket listens
	// and iscsiadm, which talks to it there, starts the daemon.
	c.waitState("iscsid.socket", "active/listening")
	if l := c.prop("iscsid.socket", "Listen"); !strings.Contains(l, "@ISCSIADM_ABSTRACT_NAMESPACE") {
		t.Errorf("iscsid.socket Listen=%q", l)
	}
}

func checkLvmSockets(t *testing.T, c *container) {
	c.idleUntilConnected("dm-event.service", "dm-event.socket")
	c.idleUntilConnected("lvm2-lvmpolld.service", "lvm2-lvmpolld.socket")
	// Two ListenFIFO= with SocketMode=0600.
	for _, f := range []string{"/run/dmeventd-server", "/run/dmeventd-client"} {
		if out := c.must("stat", "-c", "%A %U", f); strings.TrimSpace(out) != "prw------- root" {
			t.Errorf("%s: %s", f, out)
		}
	}
	if st, _ := c.flint("status", "dm-event.socket"); !strings.Contains(st, "Listen: /run/dmeventd-server (FIFO)") {
		t.Errorf("flint status dm-event.socket:\n%s", st)
	}
	// lvmpolld --dump asks the daemon through /run/lvm/lvmpolld.socket (its directory made
	// by the manager): the first connection starts it.
	c.must("lvmpolld", "--dump")
	c.mainPID("lvm2-lvmpolld.service", "/sbin/lvmpolld")
	c.triggeredBy("lvm2-lvmpolld.service", "lvm2-lvmpolld.socket")
}

func checkChrony(t *testing.T, c *container) {
	// The container shares the host's clock: chronyd gets -x (no clock control) through
	// /etc/default/chrony (EnvironmentFile=-, $DAEMON_OPTS), then starts.
	if err := os.WriteFile(c.path("/etc/default/chrony"), []byte("DAEMON_OPTS=\"-F 1 -x\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const svc = "chrony.service"
	c.run(0, "start", svc)
	// Type=forking with PIDFile=/run/chrony/chronyd.pid in RuntimeDirectory=chrony (0700);
	// ExecStart=! leaves User=_chrony to chronyd itself, which drops to it.
	pid := c.mainPID(svc, "/usr/sbin/chronyd")
	if got := strings.TrimSpace(c.read("/run/chrony/chronyd.pid")); got != strconv.Itoa(pid) {
		t.Errorf("/run/chrony/chronyd.pid %q, MainPID %d", got, pid)
	}
	c.runsAs(pid, "_chrony")
	var out string
	if !waitFor(15*time.Second, func() bool {
		var code int
		out, code = c.exec("chronyc", "-n", "tracking")
		return code == 0 && strings.Contains(out, "Leap status")
	}) {
		t.Fatalf("chronyc tracking:\n%s", out)
	}
	if p := c.props(svc, "ConditionResult", "User"); p["ConditionResult"] != "yes" || p["User"] != "_chrony" {
		t.Errorf("%s: %v", svc, p)
	}
}

// NoNewPrivileges=no comes last, but chronyd -F 1 loads its own seccomp filter with
// no_new_privs. The bounding set: the unit's ~ lists, and CAP_SYSLOG (ProtectKernelLogs=).
var chronySandbox = &sandboxWant{service: "chrony.service", binary: "/usr/sbin/chronyd", noNewPrivs: true, seccomp: true,
	capBnd:   without(5, 9, 16, 17, 18, 19, 20, 21, 22, 26, 27, 28, 29, 30, 32, 33, 34, 35, 36, 37),
	readOnly: []string{"/usr", "/etc", "/var/lib/dpkg"}, writable: []string{"/run", "/var/lib/chrony", "/var/log/chrony"},
	inaccessible: []string{"/home", "/root"}, privateTmp: true, hidepid: "invisible"}

func checkSquid(t *testing.T, c *container) {
	const svc = "squid.service"
	pid := c.mainPID(svc, "/usr/sbin/squid")
	// A request through the proxy (to a port its configuration refuses): squid's own answer.
	out, _ := c.curl("-sS", "-o", "/dev/null", "-D", "-", "-x", "http://127.0.0.1:3128", "http://127.0.0.1:1/")
	if !strings.Contains(out, "Server: squid") || !strings.Contains(out, "X-Squid-Error: ERR_ACCESS_DENIED") {
		t.Fatalf("GET through squid:\n%s", out)
	}
	// Type=notify + NotifyAccess=all, PIDFile=/run/squid.pid, Group=proxy.
	if got := strings.TrimSpace(c.read("/run/squid.pid")); got != strconv.Itoa(pid) {
		t.Errorf("/run/squid.pid %q, MainPID %d", got, pid)
	}
	if g := strings.Fields(c.procStatus(pid, "Gid")); len(g) == 0 || g[0] != gidOf(t, "proxy") {
		t.Errorf("squid's gid %v, want proxy's", g)
	}
	// ExecReload= (SIGHUP) re-reads the configuration: a shorter shutdown_lifetime (30s by
	// default, which its stop waits for under systemd too) for the container's stop.
	if err := os.WriteFile(c.path("/etc/squid/conf.d/flint-e2e.conf"), []byte("shutdown_lifetime 1 seconds\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.run(0, "reload", svc)
	c.waitProps(svc, map[string]string{"ActiveState": "active", "MainPID": strconv.Itoa(pid)})
	// Reconfigured once it accepts connections again.
	if !waitFor(15*time.Second, func() bool {
		out, _ := c.flint("logs", "-u", svc, "--no-pager")
		return strings.Count(out, "Accepting HTTP Socket connections at") >= 2
	}) {
		t.Errorf("squid did not reconfigure within 15s")
	}
}

func gidOf(t *testing.T, name string) string {
	t.Helper()
	g, err := user.LookupGroup(name)
	if err != nil {
		t.Fatal(err)
	}
	return g.Gid
}

func checkNodeExporter(t *testing.T, c *container) {
	pid := c.mainPID("prometheus-node-exporter.service", "/usr/bin/prometheus-node-exporter")
	c.runsAs(pid, "prometheus")
	out, code := c.curl("-sS", "http://127.0.0.1:9100/metrics")
	if code != 0 || !strings.Contains(out, "node_exporter_build_info") {
		t.Fatalf("GET /metrics: exit %d\n%s", code, tail(out, 10))
	}
	if p := c.props("prometheus-node-exporter.service", "SendSIGKILL", "TimeoutStopUSec"); p["SendSIGKILL"] != "no" || p["TimeoutStopUSec"] != "20s" {
		t.Errorf("prometheus-node-exporter.service: %v", p)
	}
	// ExecReload=/bin/kill -HUP $MAINPID, but node_exporter 1.5 does not catch SIGHUP: the
	// reload ends it (under systemd 252 too), and SIGHUP being a clean signal,
	// Restart=on-failure does not start it again.
	c.run(0, "reload", "prometheus-node-exporter.service")
	c.waitProps("prometheus-node-exporter.service", map[string]string{"ActiveState": "inactive", "Result": "success",
		"ExecMainCode": "2", "ExecMainStatus": "1", "NRestarts": "0"})
}

func checkUnattendedUpgrades(t *testing.T, c *container) {
	const svc = "unattended-upgrades.service"
	c.mainPID(svc, "/usr/bin/python3.11")
	// --wait-for-signal: SIGTERM (KillMode=process) ends it at once, within TimeoutStopSec=1800.
	c.run(0, "stop", svc)
	c.waitState(svc, "inactive/dead")
	if r := c.prop(svc, "Result"); r != "success" {
		t.Errorf("%s: Result=%s", svc, r)
	}
}

func checkSshSocket(t *testing.T, c *container) {
	// Debian 12's ssh.socket (ListenStream=22, Accept=no) hands port 22 to ssh.service's
	// sshd -D, which Debian's sshd takes from sd_listen_fds().
	c.idleUntilConnected("ssh.service", "ssh.socket")
	pub := strings.Fields(c.read("/etc/ssh/ssh_host_ed25519_key.pub"))
	if len(pub) < 2 {
		t.Fatalf("no host key: %q", pub)
	}
	if out := c.must("ssh-keyscan", "-t", "ed25519", "127.0.0.1"); !strings.Contains(out, "ssh-ed25519 "+pub[1]) {
		t.Errorf("ssh-keyscan:\n%s\nwant the key %s", out, pub[1])
	}
	pid := c.mainPID("ssh.service", "/usr/sbin/sshd")
	c.triggeredBy("ssh.service", "ssh.socket")
	// sshd listens on the socket flint made (LISTEN_FDS: fd 3), which flint holds too.
	sock, err := os.Readlink(c.path(fmt.Sprintf("/proc/%d/fd/3", pid)))
	if err != nil || !strings.HasPrefix(sock, "socket:[") {
		t.Fatalf("sshd's fd 3: %q %v", sock, err)
	}
	fds, _ := os.ReadDir(c.path("/proc/1/fd"))
	held := false
	for _, fd := range fds {
		if l, _ := os.Readlink(c.path("/proc/1/fd/" + fd.Name())); l == sock {
			held = true
		}
	}
	if !held {
		t.Errorf("sshd's fd 3 (%s) is not a socket flint holds", sock)
	}
}

func checkMariadb(t *testing.T, c *container) {
	const svc = "mariadb.service"
	// ExecStart= is /bin/sh -c "..." over three continued lines with backquotes, which execs
	// mariadbd: the main process, Type=notify.
	pid := c.mainPID(svc, "/usr/sbin/mariadbd")
	if out := c.must("mariadb", "-N", "-e", "select 6*7"); strings.TrimSpace(out) != "42" {
		t.Fatalf("mariadb -e 'select 6*7': %q", out)
	}
	c.runsAs(pid, "mysql")
	// AmbientCapabilities=CAP_IPC_LOCK with User=mysql.
	if amb, err := strconv.ParseUint(c.procStatus(pid, "CapAmb"), 16, 64); err != nil || amb != 1<<14 {
		t.Errorf("mariadbd's CapAmb %q, want CAP_IPC_LOCK only", c.procStatus(pid, "CapAmb"))
	}
	c.limitedNoFile(svc, pid, "32768")
	// STATUS= from mariadbd; ExecStartPost=!/etc/mysql/debian-start ran as root and succeeded.
	if st := c.prop(svc, "StatusText"); !strings.Contains(st, "Taking your SQL requests now") {
		t.Errorf("%s StatusText=%q", svc, st)
	}
	if p := c.prop(svc, "ExecStartPost"); !strings.Contains(p, "code=exited ; status=0 }") {
		t.Errorf("%s ExecStartPost=%s", svc, p)
	}
	c.run(0, "stop", svc)
	c.waitState(svc, "inactive/dead")
	if r := c.prop(svc, "Result"); r != "success" {
		t.Errorf("%s after the stop: Result=%s", svc, r)
	}
}
