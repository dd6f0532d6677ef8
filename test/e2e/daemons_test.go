package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Issue 3, "Real daemons": Debian 12 daemons run under flint with their packaged unit files,
// copied byte for byte into the test's unit directory, enabled with `flint enable` and started
// by `flint run` the way a host boots them. Each test then does what a user does: it connects
// with the daemon's own client, checks that flint started the daemon on that first connection,
// and stops it with `flint stop`. docs/daemons.md has the unit files, what each daemon needs and
// what systemd 252 does with the same files.
//
// The daemons listen on their real addresses (port 22, port 111, /run/cups/cups.sock, ...):
// each test first checks that nothing else holds them. .ci/run installs the packages with a
// policy-rc.d that keeps their postinst scripts from starting them.

// realDaemon is one daemon of the issue: its packages, its unit files and its check.
type realDaemon struct {
	name     string
	pkgs     []string // Debian packages of the daemon and of its client (installed by .ci/run)
	units    []string // packaged unit files, copied unchanged
	enable   []string // what `flint enable` is given (the units' [Install] does the rest)
	user     bool     // user units: flint run --user
	binaries []string // programs the daemon and its check need
	addrs    []string // addresses that must be free: tcp:PORT, udp:PORT, unix:PATH
	check    func(t *testing.T, d *daemonRun)
}

var realDaemons = []realDaemon{
	{
		name:     "cups_accept_no_notify",
		pkgs:     []string{"cups-daemon", "cups-client"},
		units:    []string{"/lib/systemd/system/cups.socket", "/lib/systemd/system/cups.service"},
		enable:   []string{"cups.socket"},
		binaries: []string{"/usr/sbin/cupsd", "/usr/bin/lpstat"},
		addrs:    []string{"unix:/run/cups/cups.sock"},
		check:    checkCups,
	},
	{
		name:     "tinysshd_accept_yes_inetd",
		pkgs:     []string{"tinysshd", "openssh-client"},
		units:    []string{"/lib/systemd/system/tinysshd.socket", "/lib/systemd/system/tinysshd@.service"},
		enable:   []string{"tinysshd.socket"},
		binaries: []string{"/usr/sbin/tinysshd", "/usr/sbin/tinysshd-makekey", "/usr/bin/ssh-keyscan"},
		addrs:    []string{"tcp:22"},
		check:    checkTinysshd,
	},
	{
		name:     "micro_httpd_accept_yes_user",
		pkgs:     []string{"micro-httpd"},
		units:    []string{"/lib/systemd/system/micro-httpd.socket", "/lib/systemd/system/micro-httpd@.service"},
		enable:   []string{"micro-httpd.socket"},
		binaries: []string{"/usr/sbin/micro-httpd", "/var/www/html"},
		addrs:    []string{"tcp:80"},
		check:    checkMicroHttpd,
	},
	{
		name:     "rpcbind_unix_tcp_udp_ipv6",
		pkgs:     []string{"rpcbind"},
		units:    []string{"/lib/systemd/system/rpcbind.socket", "/lib/systemd/system/rpcbind.service"},
		enable:   []string{"rpcbind.socket"},
		binaries: []string{"/sbin/rpcbind", "/usr/sbin/rpcinfo"},
		addrs:    []string{"tcp:111", "udp:111", "unix:/run/rpcbind.sock"},
		check:    checkRpcbind,
	},
	{
		name: "gpg_agent_fdnames",
		pkgs: []string{"gpg-agent", "gnupg-utils", "openssh-client"},
		units: []string{
			"/usr/lib/systemd/user/gpg-agent.socket", "/usr/lib/systemd/user/gpg-agent-ssh.socket",
			"/usr/lib/systemd/user/gpg-agent-extra.socket", "/usr/lib/systemd/user/gpg-agent-browser.socket",
			"/usr/lib/systemd/user/gpg-agent.service",
		},
		enable:   []string{"gpg-agent.socket", "gpg-agent-ssh.socket", "gpg-agent-extra.socket", "gpg-agent-browser.socket"},
		user:     true,
		binaries: []string{"/usr/bin/gpg-agent", "/usr/bin/gpg-connect-agent", "/usr/bin/ssh-add"},
		check:    checkGpgAgent,
	},
}

// daemonRun is one daemon under one `flint run`.
type daemonRun struct {
	ctl
	units string
	env   []string // HOME and XDG_RUNTIME_DIR of the user manager (user units only)
	rt    string   // XDG_RUNTIME_DIR (user units only)
}

// TestRealDaemons runs each daemon of realDaemons under flint. The daemons take fixed real
// addresses, so the subtests run one after the other; every wait in them is bounded (15s at
// most), and a daemon's whole run must stay within 30s.
func TestRealDaemons(t *testing.T) {
	for _, d := range realDaemons {
		t.Run(d.name, func(t *testing.T) {
			d.require(t)
			start := time.Now()
			d.check(t, d.start(t))
			if el := time.Since(start); el > 30*time.Second {
				t.Errorf("%s took %v, the budget is 30s", d.name, el.Round(time.Millisecond))
			}
		})
	}
}

// missing fails the test under CI (where .ci/run installs everything) and skips it elsewhere.
func missing(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg + " (a failure under CI)")
}

// require checks the packages, the files, root, and that the daemon's addresses are free.
func (d realDaemon) require(t *testing.T) {
	t.Helper()
	if os.Getuid() != 0 {
		missing(t, "%s needs root (real addresses, /run)", d.name)
	}
	requirePackages(t, d.pkgs, append(append([]string{}, d.units...), d.binaries...))
	for _, a := range d.addrs {
		if err := addrFree(a); err != nil {
			t.Fatalf("%s is not free, so %s cannot run under flint here: %v (is the host's own daemon running?)", a, d.name, err)
		}
	}
	for _, b := range d.binaries[:1] {
		if pids := pidsOf(realPath(b)); len(pids) > 0 {
			t.Fatalf("%s already runs (pids %v): stop it first", b, pids)
		}
	}
}

// requirePackages checks that the Debian packages pkgs are installed and that the files paths
// exist (symbolic links need not resolve).
func requirePackages(t *testing.T, pkgs, paths []string) {
	t.Helper()
	for _, p := range pkgs {
		if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", p).CombinedOutput(); err != nil ||
			string(out) != "install ok installed" {
			missing(t, "package %s is not installed (%q): see docs/daemons.md and .ci/run", p, out)
		}
	}
	for _, p := range paths {
		if _, err := os.Lstat(p); err != nil {
			missing(t, "%v (packages %v: see docs/daemons.md and .ci/run)", err, pkgs)
		}
	}
}

// realPath is path with symbolic links resolved (/sbin is /usr/sbin on Debian 12), as
// /proc/PID/exe shows it.
func realPath(path string) string {
	if p, err := filepath.EvalSymlinks(path); err == nil {
		return p
	}
	return path
}

// addrFree reports whether a daemon address is free: a TCP or UDP port on the wildcard
// addresses (what the packaged units bind), or a unix socket path no one answers on.
func addrFree(a string) error {
	kind, where, _ := strings.Cut(a, ":")
	switch kind {
	case "tcp":
		l, err := net.Listen("tcp", ":"+where)
		if err != nil {
			return err
		}
		return l.Close()
	case "udp":
		c, err := net.ListenPacket("udp", ":"+where)
		if err != nil {
			return err
		}
		return c.Close()
	case "unix":
		c, err := net.DialTimeout("unix", where, time.Second)
		if err == nil {
			c.Close()
			return errors.New("something accepts connections on it")
		}
		return nil
	}
	return fmt.Errorf("bad address %q", a)
}

// start copies the unit files unchanged, enables them and starts `flint run` on them.
func (d realDaemon) start(t *testing.T) *daemonRun {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "units")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, p := range d.units {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(p)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := &daemonRun{units: dir}
	var global []string
	if d.user {
		base := t.TempDir()
		home, rt := filepath.Join(base, "home"), filepath.Join(base, "run")
		for _, p := range []string{home, rt} {
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
		}
		r.rt = rt
		r.env = []string{"HOME=" + home, "XDG_RUNTIME_DIR=" + rt, "PATH=/usr/bin:/bin", "LANG=C"}
		global = []string{"--user"}
	}
	enable := exec.Command(flintBin, append(append(append([]string{}, global...), "--units", dir, "enable"), d.enable...)...)
	enable.Env = r.env
	if out, err := enable.CombinedOutput(); err != nil {
		t.Fatalf("flint enable %v: %v\n%s", d.enable, err, out)
	}
	r.ctl = on(t, startFlintRun(t, dir, global, r.env))
	return r
}

// startFlintRun is startManager with extra global flags (--user) and an environment. The
// control socket is in a 0700 test directory: daemons that drop privileges before READY=1
// (rpcbind runs as _rpc) reach the notify socket all the same (flint makes it abstract then).
func startFlintRun(t *testing.T, units string, global, env []string) *manager {
	t.Helper()
	return launchManager(t, units, launchOptions{global: global, env: env, stopWait: 15 * time.Second})
}

// client runs a daemon's client program (15s limit) and returns its combined output and exit
// code; a program that cannot start fails the test.
func (r *daemonRun) client(name string, args ...string) (string, int) {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = os.Environ()
	if r.env != nil {
		cmd.Env = r.env
	}
	cmd.Env = append(cmd.Env, "LC_ALL=C") // the checks read the clients' English messages
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		r.t.Fatalf("%s %v: %v", name, args, err)
	}
	if ctx.Err() != nil {
		r.t.Fatalf("%s %v: no answer within 15s:\n%s", name, args, out.String())
	}
	return out.String(), cmd.ProcessState.ExitCode()
}

// idle checks the state before the first connection: the sockets listen, the service has not
// started, and no process runs the daemon's binary.
func (r *daemonRun) idle(service, binary string, sockets ...string) {
	r.t.Helper()
	for _, s := range sockets {
		r.waitState(s, "active/listening")
	}
	if service == "" {
		// Accept=yes: no instance before the first connection.
		if out, _ := r.flint("list-units", "--all", "--no-legend", "--plain", "--type=service"); strings.TrimSpace(out) != "" {
			r.t.Fatalf("services loaded before the first connection:\n%s", out)
		}
	} else if st := r.props(service, "ActiveState", "MainPID"); st["ActiveState"] != "inactive" || st["MainPID"] != "0" {
		r.t.Fatalf("%s before the first connection: %v", service, st)
	}
	if pids := pidsOf(realPath(binary)); len(pids) > 0 {
		r.t.Fatalf("%s runs before the first connection: %v", binary, pids)
	}
}

// running checks that service was started through its sockets: active (running), TriggeredBy
// every socket, and a main process running binary. It returns the main pid.
func (r *daemonRun) running(service, binary string, sockets ...string) int {
	r.t.Helper()
	r.waitState(service, "active/running")
	st, code := r.flint("status", service)
	if code != 0 || !strings.Contains(st, "Active: active (running)") {
		r.t.Fatalf("flint status %s: exit %d\n%s", service, code, st)
	}
	for _, s := range sockets {
		if !strings.Contains(st, "● "+s) {
			r.t.Errorf("flint status %s: no TriggeredBy ● %s\n%s", service, s, st)
		}
	}
	pid, _ := strconv.Atoi(r.prop(service, "MainPID"))
	// A Type=simple service is running from its fork on; its exec may come a moment later.
	var exe string
	var err error
	if !waitFor(15*time.Second, func() bool {
		exe, err = os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		return err == nil && exe == realPath(binary)
	}) {
		r.t.Fatalf("%s: MainPID %d runs %q (%v), want %s", service, pid, exe, err, binary)
	}
	killAtEnd(r.t, pid)
	return pid
}

// stop runs `flint stop units...` and waits until pid is gone and every unit is inactive.
func (r *daemonRun) stop(pid int, units ...string) {
	r.t.Helper()
	if out, code := r.flint(append([]string{"stop"}, units...)...); code != 0 {
		r.t.Fatalf("flint stop %v: exit %d\n%s", units, code, out)
	}
	if !waitFor(10*time.Second, func() bool { return !alive(pid) }) {
		r.t.Fatalf("pid %d still runs 10s after flint stop %v", pid, units)
	}
	for _, u := range units {
		r.waitState(u, "inactive/dead")
	}
}

func checkCups(t *testing.T, r *daemonRun) {
	const sock = "/run/cups/cups.sock"
	r.idle("cups.service", "/usr/sbin/cupsd", "cups.socket")
	if !isSocket(sock) {
		t.Fatalf("%s: not a socket", sock)
	}
	out, code := r.client("lpstat", "-r")
	if code != 0 || strings.TrimSpace(out) != "scheduler is running" {
		t.Fatalf("lpstat -r: exit %d: %q", code, out)
	}
	pid := r.running("cups.service", "/usr/sbin/cupsd", "cups.socket")
	// Type=notify: cupsd said READY=1 with a status text.
	if p := r.props("cups.service", "Type", "StatusText", "NRestarts"); p["Type"] != "notify" || p["StatusText"] == "" {
		t.Errorf("cups.service: %v, want Type=notify and cupsd's STATUS=", p)
	}
	if out, code := r.client("lpstat", "-H"); code != 0 || strings.TrimSpace(out) != sock {
		t.Errorf("lpstat -H: exit %d: %q, want %s", code, out, sock)
	}
	// PartOf=cups.service on the socket: stopping the service stops the socket, and
	// RemoveOnStop= removes its file.
	r.stop(pid, "cups.service")
	r.waitState("cups.socket", "inactive/dead")
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("%s still exists after the socket stopped (RemoveOnStop=on): %v", sock, err)
	}
	// Started again, then flint's own orderly shutdown (SIGTERM, as at host shutdown) stops it.
	r.start("cups.socket")
	if out, code := r.client("lpstat", "-r"); code != 0 {
		t.Fatalf("lpstat -r after a restart of cups.socket: exit %d: %q", code, out)
	}
	pid = r.running("cups.service", "/usr/sbin/cupsd", "cups.socket")
	if code := r.m.terminate(); code != 0 {
		t.Errorf("flint run exited %d after SIGTERM, want 0", code)
	}
	if alive(pid) {
		t.Errorf("cupsd %d outlived flint run", pid)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("%s still exists after flint run ended: %v", sock, err)
	}
}

func checkTinysshd(t *testing.T, r *daemonRun) {
	r.idle("", "/usr/sbin/tinysshd", "tinysshd.socket")
	// The server speaks after the client's identification line (RFC 4253 4.2).
	c, err := net.DialTimeout("tcp", "127.0.0.1:22", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := fmt.Fprint(c, "SSH-2.0-flint_e2e\r\n"); err != nil {
		t.Fatal(err)
	}
	line := make([]byte, 0, 64)
	for b := make([]byte, 1); len(line) < 255; {
		if _, err := c.Read(b); err != nil {
			t.Fatalf("server identification: %v after %q", err, line)
		}
		if line = append(line, b[0]); b[0] == '\n' {
			break
		}
	}
	if !strings.HasPrefix(string(line), "SSH-2.0-tinyssh_") {
		t.Fatalf("server identification %q, want SSH-2.0-tinyssh_...", line)
	}
	inst := r.instance("tinysshd", c)
	pid := r.running(inst, "/usr/sbin/tinysshd", "tinysshd.socket")
	if p := r.props(inst, "StandardInput", "StandardOutput"); p["StandardInput"] != "socket" || p["StandardOutput"] != "inherit" {
		t.Errorf("%s: %v, want StandardInput=socket, StandardOutput=inherit", inst, p)
	}
	// The client goes away: tinysshd exits 111, which SuccessExitStatus= counts as success.
	c.Close()
	if !waitFor(10*time.Second, func() bool { return !alive(pid) }) {
		t.Fatalf("%s: tinysshd %d still runs after the client closed", inst, pid)
	}
	// The real client, through a second instance: the host key is the one ExecStartPre's
	// tinysshd-makekey made (or found) in /etc/tinyssh/sshkeydir.
	out, code := r.client("ssh-keyscan", "-t", "ed25519", "-p", "22", "127.0.0.1")
	pk, err := os.ReadFile("/etc/tinyssh/sshkeydir/ed25519.pk")
	if err != nil {
		t.Fatalf("ExecStartPre made no host key: %v", err)
	}
	if code != 0 || !strings.Contains(out, "ssh-ed25519 "+sshEd25519Blob(pk)) {
		t.Fatalf("ssh-keyscan: exit %d:\n%s\nwant the key of /etc/tinyssh/sshkeydir/ed25519.pk", code, out)
	}
	// Every instance ends inactive (exit 111 is success) and is collected: none left.
	r.noInstances("tinysshd")
	if p := r.props("tinysshd.socket", "NAccepted", "NConnections"); p["NAccepted"] != "2" || p["NConnections"] != "0" {
		t.Errorf("tinysshd.socket: %v, want NAccepted=2 NConnections=0", p)
	}
	r.stopSocket("tinysshd.socket", "127.0.0.1:22")
}

// instance waits for the Accept=yes instance of template@.service that serves connection c:
// systemd names it template@N-LOCAL-REMOTE.service.
func (r *daemonRun) instance(template string, c net.Conn) string {
	r.t.Helper()
	suffix := "-" + c.RemoteAddr().String() + "-" + c.LocalAddr().String() + ".service"
	var inst string
	waitFor(10*time.Second, func() bool {
		out, _ := r.flint("list-units", "--all", "--no-legend", "--plain", template+"@*")
		for _, f := range strings.Fields(out) {
			if strings.HasPrefix(f, template+"@") && strings.HasSuffix(f, suffix) {
				inst = f
			}
		}
		return inst != ""
	})
	if inst == "" {
		out, _ := r.flint("list-units", "--all")
		r.t.Fatalf("no %s@N%s instance:\n%s", template, suffix, out)
	}
	return inst
}

// noInstances waits until every instance of template@.service is gone: each ended inactive
// (a failed one would stay listed) and was collected.
func (r *daemonRun) noInstances(template string) {
	r.t.Helper()
	if !waitFor(10*time.Second, func() bool {
		out, _ := r.flint("list-units", "--all", "--no-legend", "--plain", template+"@*")
		return strings.TrimSpace(out) == ""
	}) {
		out, _ := r.flint("list-units", "--all")
		r.t.Fatalf("%s@ instances left after their clients went:\n%s", template, out)
	}
}

// stopSocket stops an Accept=yes socket unit and checks that its port refuses connections.
func (r *daemonRun) stopSocket(unit, addr string) {
	r.t.Helper()
	if out, code := r.flint("stop", unit); code != 0 {
		r.t.Fatalf("flint stop %s: exit %d\n%s", unit, code, out)
	}
	r.waitState(unit, "inactive/dead")
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		r.t.Fatalf("%s still accepts connections after flint stop %s", addr, unit)
	}
}

func checkMicroHttpd(t *testing.T, r *daemonRun) {
	r.idle("", "/usr/sbin/micro-httpd", "micro-httpd.socket")
	c, err := net.DialTimeout("tcp", "127.0.0.1:80", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(15 * time.Second))
	// micro-httpd waits for the request: meanwhile its instance runs as User=www-data.
	inst := r.instance("micro-httpd", c)
	pid := r.running(inst, "/usr/sbin/micro-httpd", "micro-httpd.socket")
	www, err := user.Lookup("www-data")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err != nil ||
		!regexp.MustCompile(`(?m)^Uid:\t`+www.Uid+`\t`).Match(st) || !regexp.MustCompile(`(?m)^Gid:\t`+www.Gid+`\t`).Match(st) {
		t.Errorf("micro-httpd %d does not run as www-data (%s:%s): %v\n%s", pid, www.Uid, www.Gid, err, st)
	}
	fmt.Fprint(c, "GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
	resp, err := io.ReadAll(c)
	// The directory's index.html (apache2, installed for the container tests, puts one
	// there), else micro-httpd's listing of the directory.
	want := []byte("<title>Index of ")
	if index, ierr := os.ReadFile("/var/www/html/index.html"); ierr == nil {
		want = index
	}
	if err != nil || !strings.HasPrefix(string(resp), "HTTP/1.0 200 ") || !bytes.Contains(resp, want) {
		t.Fatalf("GET /: %v\n%.400s", err, resp)
	}
	r.noInstances("micro-httpd")
	r.stopSocket("micro-httpd.socket", "127.0.0.1:80")
}

// sshEd25519Blob is the base64 public key blob ssh prints for a raw 32-byte ed25519 key.
func sshEd25519Blob(pk []byte) string {
	var b bytes.Buffer
	for _, s := range [][]byte{[]byte("ssh-ed25519"), pk} {
		b.Write([]byte{0, 0, byte(len(s) >> 8), byte(len(s))})
		b.Write(s)
	}
	return base64.StdEncoding.EncodeToString(b.Bytes())
}
