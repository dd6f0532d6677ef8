package e2e

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The checks of rpcbind (five sockets of one unit: unix, TCP and UDP on IPv4 and IPv6) and
// gpg-agent (four socket units, one service, FileDescriptorName=) for TestRealDaemons.

func checkRpcbind(t *testing.T, r *daemonRun) {
	if data, err := os.ReadFile("/proc/net/if_inet6"); err != nil || !strings.Contains(string(data), " lo\n") {
		t.Fatalf("IPv6 is disabled on this host (no ::1 on lo: %v): rpcbind.socket's [::]:111 listeners need it, under systemd too", err)
	}
	r.idle("rpcbind.service", "/sbin/rpcbind", "rpcbind.socket")
	st, _ := r.flint("status", "rpcbind.socket")
	for _, l := range []string{"/run/rpcbind.sock (Stream)", "0.0.0.0:111 (Stream)", "0.0.0.0:111 (Datagram)", "[::]:111 (Stream)", "[::]:111 (Datagram)"} {
		if !strings.Contains(st, l) {
			t.Errorf("flint status rpcbind.socket: no Listen: %s\n%s", l, st)
		}
	}
	// The first datagram activates the service (Accept=no datagram sockets).
	out, code := r.client("rpcinfo", "-T", "udp", "127.0.0.1", "100000")
	if code != 0 || !strings.Contains(out, "program 100000 version 2 ready and waiting") {
		t.Fatalf("rpcinfo -T udp 127.0.0.1 100000: exit %d:\n%s", code, out)
	}
	pid := r.running("rpcbind.service", "/sbin/rpcbind", "rpcbind.socket")
	if p := r.prop("rpcbind.service", "Type"); p != "notify" {
		t.Errorf("rpcbind.service Type=%s, want notify", p)
	}
	if out, code := r.client("rpcinfo", "-p", "127.0.0.1"); code != 0 ||
		!regexp.MustCompile(`100000\s+2\s+tcp\s+111\s+portmapper`).MatchString(out) ||
		!regexp.MustCompile(`100000\s+2\s+udp\s+111\s+portmapper`).MatchString(out) {
		t.Errorf("rpcinfo -p 127.0.0.1: exit %d:\n%s", code, out)
	}
	// Each of the five listeners answers an RPC NULL call of the portmapper.
	for _, a := range []struct{ network, addr string }{
		{"unix", "/run/rpcbind.sock"}, {"tcp", "127.0.0.1:111"}, {"udp", "127.0.0.1:111"},
		{"tcp", "[::1]:111"}, {"udp", "[::1]:111"},
	} {
		if err := rpcNull(a.network, a.addr); err != nil {
			t.Errorf("portmapper NULL call over %s %s: %v", a.network, a.addr, err)
		}
	}
	// rpcbind opened no listener of its own: the listening and datagram sockets it holds
	// (not the connections it accepted) are exactly the five flint made.
	mine := socketInodes(r.m.cmd.Process.Pid)
	listeners := listeningInodes(t)
	theirs := map[string]bool{}
	for ino := range socketInodes(pid) {
		if listeners[ino] {
			theirs[ino] = true
		}
	}
	if len(theirs) != 5 {
		t.Errorf("rpcbind holds %d listening or datagram sockets, want the 5 of rpcbind.socket: %v", len(theirs), theirs)
	}
	for ino := range theirs {
		if !mine[ino] {
			t.Errorf("rpcbind holds socket %s that flint did not pass", ino)
		}
	}
	// Requires=rpcbind.socket: stopping the socket stops the service too.
	r.stop(pid, "rpcbind.socket", "rpcbind.service")
	for _, a := range []string{"tcp:111", "udp:111"} {
		if err := addrFree(a); err != nil {
			t.Errorf("%s still taken after flint stop: %v", a, err)
		}
	}
}

// socketInodes returns the inodes ("socket:[N]" links) of pid's open fds.
func socketInodes(pid int) map[string]bool { return socketInodesIn(fmt.Sprintf("/proc/%d/fd", pid)) }

// socketInodesIn returns the sockets of the fd directory dir (/proc/PID/fd).
func socketInodesIn(dir string) map[string]bool {
	r := map[string]bool{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(l, "socket:") {
			r[l] = true
		}
	}
	return r
}

// listeningInodes returns the sockets of the host that listen or take datagrams, as
// "socket:[N]" like /proc/PID/fd shows them: TCP in state LISTEN (0A), every UDP socket, and
// unix sockets with __SO_ACCEPTCON (00010000).
func listeningInodes(t *testing.T) map[string]bool {
	r := map[string]bool{}
	for _, f := range []string{"tcp", "tcp6", "udp", "udp6", "unix"} {
		data, err := os.ReadFile("/proc/net/" + f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n")[1:] {
			w := strings.Fields(line)
			switch {
			case f == "unix" && len(w) >= 7 && w[3] == "00010000":
				r["socket:["+w[6]+"]"] = true
			case strings.HasPrefix(f, "tcp") && len(w) >= 10 && w[3] == "0A",
				strings.HasPrefix(f, "udp") && len(w) >= 10:
				r["socket:["+w[9]+"]"] = true
			}
		}
	}
	return r
}

// rpcNull makes an ONC RPC (RFC 5531) NULL call of the portmapper, program 100000 version 2,
// over network (tcp and unix with record marking, udp as one datagram) and checks the reply.
func rpcNull(network, addr string) error {
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	xid := uint32(time.Now().UnixNano())
	// xid, CALL, rpcvers 2, prog, vers, proc NULL, cred AUTH_NONE (flavor, length), verf AUTH_NONE.
	call := binary.BigEndian.AppendUint32(nil, xid)
	for _, v := range []uint32{0, 2, 100000, 2, 0, 0, 0, 0, 0} {
		call = binary.BigEndian.AppendUint32(call, v)
	}
	stream := network != "udp"
	if stream {
		call = append(binary.BigEndian.AppendUint32(nil, 0x80000000|uint32(len(call))), call...)
	}
	if _, err := c.Write(call); err != nil {
		return err
	}
	buf := make([]byte, 512)
	n, err := c.Read(buf)
	if err != nil {
		return err
	}
	reply := buf[:n]
	if stream {
		if len(reply) < 4 {
			return fmt.Errorf("short record %x", reply)
		}
		reply = reply[4:]
	}
	// xid, REPLY (1), MSG_ACCEPTED (0), verf (flavor, length 0), accept_stat SUCCESS (0).
	if len(reply) < 24 {
		return fmt.Errorf("short reply %x", reply)
	}
	word := func(i int) uint32 { return binary.BigEndian.Uint32(reply[4*i:]) }
	if word(0) != xid || word(1) != 1 || word(2) != 0 || word(5) != 0 {
		return fmt.Errorf("reply %x is not an accepted success for xid %x", reply, xid)
	}
	return nil
}

func checkGpgAgent(t *testing.T, r *daemonRun) {
	dir := filepath.Join(r.rt, "gnupg")
	socks := map[string]string{ // FileDescriptorName= -> socket unit and path
		"std":     "gpg-agent.socket",
		"ssh":     "gpg-agent-ssh.socket",
		"extra":   "gpg-agent-extra.socket",
		"browser": "gpg-agent-browser.socket",
	}
	path := func(name string) string {
		if name == "std" {
			return filepath.Join(dir, "S.gpg-agent")
		}
		return filepath.Join(dir, "S.gpg-agent."+name)
	}
	var units []string
	for _, u := range socks {
		units = append(units, u)
	}
	r.idle("gpg-agent.service", "/usr/bin/gpg-agent", units...)
	// DirectoryMode=0700, SocketMode=0600.
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("%s: %v %v, want mode 0700", dir, fi.Mode(), err)
	}
	for name := range socks {
		if fi, err := os.Stat(path(name)); err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want a socket with mode 0600", path(name), fi.Mode(), err)
		}
	}
	// The first connection goes to the ssh socket: ssh-add talks to the agent's ssh-agent
	// emulation only if the fd named "ssh" reached it as such (exit 1: no identities).
	r.env = append(r.env, "SSH_AUTH_SOCK="+path("ssh"))
	out, code := r.client("ssh-add", "-l")
	if code != 1 || !strings.Contains(out, "The agent has no identities.") {
		t.Fatalf("ssh-add -l through %s: exit %d: %q", path("ssh"), code, out)
	}
	pid := r.running("gpg-agent.service", "/usr/bin/gpg-agent", units...)
	// The std socket answers the full protocol; extra and browser are the restricted ones.
	out, code = r.client("gpg-connect-agent", "--no-autostart", "-S", path("std"), "GETINFO pid", "/bye")
	if code != 0 || !strings.Contains(out, "D "+strconv.Itoa(pid)+"\n") {
		t.Errorf("gpg-connect-agent GETINFO pid on the std socket: exit %d: %q, want D %d", code, out, pid)
	}
	for _, name := range []string{"extra", "browser"} {
		out, _ := r.client("gpg-connect-agent", "--no-autostart", "-S", path(name), "GETINFO pid", "/bye")
		if !strings.Contains(out, "Forbidden") {
			t.Errorf("GETINFO pid on the %s socket: %q, want the restricted mode's Forbidden", name, out)
		}
	}
	// gpg-agent logs which fd it took for which name: every name found, each at its path.
	var logs string
	if !waitFor(5*time.Second, func() bool {
		logs, _ = r.flint("logs", "-u", "gpg-agent.service", "-n", "100")
		return strings.Contains(logs, "listening on:")
	}) {
		t.Fatalf("no 'listening on:' line from gpg-agent:\n%s", logs)
	}
	for name := range socks {
		if !regexp.MustCompile(`using fd \d+ for ` + name + ` socket \(` + regexp.QuoteMeta(path(name)) + `\)`).MatchString(logs) {
			t.Errorf("gpg-agent did not take the %s socket at %s:\n%s", name, path(name), logs)
		}
	}
	if strings.Contains(logs, "=-1") {
		t.Errorf("gpg-agent missed a socket:\n%s", logs)
	}
	// flint stop stops the agent; the sockets stay and the next connection starts it again.
	r.stop(pid, "gpg-agent.service")
	for _, u := range units {
		r.waitState(u, "active/listening")
	}
	out, code = r.client("gpg-connect-agent", "--no-autostart", "-S", path("std"), "GETINFO pid", "/bye")
	pid2 := r.running("gpg-agent.service", "/usr/bin/gpg-agent", units...)
	if code != 0 || pid2 == pid || !strings.Contains(out, "D "+strconv.Itoa(pid2)+"\n") {
		t.Errorf("second start: GETINFO pid exit %d %q, want D %d (first agent was %d)", code, out, pid2, pid)
	}
	r.stop(pid2, append([]string{"gpg-agent.service"}, units...)...)
	if r.m.exited() {
		t.Fatalf("flint run exited: %v", r.m.err)
	}
}

// TestUserServiceWithoutHome: the user manager runs services in $HOME by default, but a
// missing home directory is no error (systemd's working_directory_missing_ok for user units;
// docs/daemons.md, bug 3 of the first run).
func TestUserServiceWithoutHome(t *testing.T) {
	base := t.TempDir()
	rt := filepath.Join(base, "run")
	if err := os.Mkdir(rt, 0o700); err != nil {
		t.Fatal(err)
	}
	units := writeUnits(t, map[string]string{"s.service": unitFile("Service", "ExecStart=/bin/sleep 60")})
	env := []string{"HOME=" + filepath.Join(base, "no-such-home"), "XDG_RUNTIME_DIR=" + rt, "PATH=/usr/bin:/bin"}
	c := on(t, startFlintRun(t, units, []string{"--user"}, env))
	c.start("s.service")
	c.waitState("s.service", "active/running")
	if p := c.props("s.service", "ExecMainStatus", "Result"); p["Result"] != "success" {
		t.Errorf("s.service: %v", p)
	}
}
