package e2e

import (
	"os"
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
