package e2e

import (
	"fmt"
	"strconv"
	"strings"
)

// Issue 21, "Real Debian daemons whose shipped units sandbox themselves run under flint with
// the sandbox in force": for the daemons of containerDaemons whose packaged units ask for a
// sandbox, what the kernel says of the running main process — /proc/PID/status and
// /proc/PID/mountinfo inside the container — after the daemon's own check has served a real
// client.

// sandboxWant is what a daemon's unit asks for, as seen from outside its main process.
type sandboxWant struct {
	service, binary string
	// noNewPrivs and seccomp: NoNewPrivs 1, Seccomp 2 (a filter loaded: systemd loads one
	// for PrivateDevices= and ProtectKernelModules= too).
	noNewPrivs, seccomp bool
	// capBnd computes the bounding set from the manager's (CapabilityBoundingSet= and
	// what ProtectKernelModules= and the like take out).
	capBnd             func(manager uint64) uint64
	readOnly, writable []string // paths on a read-only / read-write mount
	inaccessible       []string // paths mounted over with an inaccessible node (ProtectHome=)
	privateTmp         bool     // /tmp and /var/tmp from /tmp/systemd-private-*
	privateDevices     bool     // /dev a tmpfs of its own
	hidepid            string   // ProtectProc=: the proc mount's hidepid=
	privateUsers       bool     // a user namespace mapping root and the unit's user only
}

// Capabilities (linux/capability.h) the units name.
const (
	capSetgid      = 6
	capSetuid      = 7
	capSysModule   = 16
	capSysRawio    = 17
	capSysResource = 24
	capMknod       = 27
)

func without(caps ...int) func(uint64) uint64 {
	return func(m uint64) uint64 {
		for _, c := range caps {
			m &^= 1 << c
		}
		return m
	}
}

func only(caps ...int) func(uint64) uint64 {
	return func(m uint64) uint64 {
		var w uint64
		for _, c := range caps {
			w |= 1 << c
		}
		return m & w
	}
}

// mountEntry is one line of /proc/PID/mountinfo.
type mountEntry struct {
	id, parent                               string
	root, point, opts, fstype, source, super string
}

func parseMountinfo(s string) []mountEntry {
	var out []mountEntry
	for _, l := range strings.Split(s, "\n") {
		pre, post, ok := strings.Cut(l, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 6 || len(g) < 3 {
			continue
		}
		out = append(out, mountEntry{id: f[0], parent: f[1], root: unescapeMount(f[3]), point: unescapeMount(f[4]), opts: f[5], fstype: g[0], source: g[1], super: g[2]})
	}
	return out
}

func unescapeMount(s string) string {
	if u, err := strconv.Unquote(`"` + strings.ReplaceAll(s, `"`, `\"`) + `"`); err == nil {
		return u
	}
	return s
}

// covering is the mount p is on: of the mounts at the longest mount point that is p or a
// parent of it, the top of the stack (the one no other mount there sits on; mountinfo's
// order does not tell, a mount made before the namespace was copied comes first).
func covering(ms []mountEntry, p string) (mountEntry, bool) {
	longest := ""
	found := false
	for _, m := range ms {
		if (m.point == p || m.point == "/" || strings.HasPrefix(p, m.point+"/")) && (!found || len(m.point) > len(longest)) {
			longest, found = m.point, true
		}
	}
	if !found {
		return mountEntry{}, false
	}
	var top mountEntry
	for _, m := range ms {
		if m.point != longest {
			continue
		}
		below := false
		for _, o := range ms {
			if o.point == longest && o.parent == m.id {
				below = true
			}
		}
		if !below {
			top = m
		}
	}
	return top, true
}

func hasOpt(opts, o string) bool {
	for _, x := range strings.Split(opts, ",") {
		if x == o {
			return true
		}
	}
	return false
}

// sandboxInForce checks w against the service's running main process.
func (c *container) sandboxInForce(w sandboxWant) {
	c.t.Helper()
	if st := c.prop(w.service, "ActiveState"); st != "active" {
		c.run(0, "start", w.service) // the daemon's check stopped it
	}
	pid := c.mainPID(w.service, w.binary)
	errorf := func(format string, a ...any) {
		c.t.Helper()
		c.t.Errorf("%s (pid %d): %s", w.service, pid, fmt.Sprintf(format, a...))
	}
	if got, want := c.procStatus(pid, "NoNewPrivs"), map[bool]string{true: "1", false: "0"}[w.noNewPrivs]; got != want {
		errorf("NoNewPrivs %s, want %s", got, want)
	}
	if got, want := c.procStatus(pid, "Seccomp"), map[bool]string{true: "2", false: "0"}[w.seccomp]; got != want {
		errorf("Seccomp %s, want %s", got, want)
	}
	if w.capBnd != nil {
		mgr, err1 := strconv.ParseUint(c.procStatus(1, "CapBnd"), 16, 64)
		if w.privateUsers {
			// a new user namespace starts with every capability in its bounding set
			last, _ := strconv.Atoi(strings.TrimSpace(c.read("/proc/sys/kernel/cap_last_cap")))
			mgr = 1<<(last+1) - 1
		}
		got, err2 := strconv.ParseUint(c.procStatus(pid, "CapBnd"), 16, 64)
		if want := w.capBnd(mgr); err1 != nil || err2 != nil || got != want {
			errorf("CapBnd %016x, want %016x (the manager's %016x)", got, want, mgr)
		}
	}
	ms := parseMountinfo(c.read(fmt.Sprintf("/proc/%d/mountinfo", pid)))
	if len(ms) == 0 {
		c.t.Fatalf("%s: no mountinfo of pid %d", w.service, pid)
	}
	for _, p := range w.readOnly {
		if m, ok := covering(ms, p); !ok || !hasOpt(m.opts, "ro") {
			errorf("%s on %+v, want read-only", p, m)
		}
	}
	for _, p := range w.writable {
		if m, ok := covering(ms, p); !ok || !hasOpt(m.opts, "rw") {
			errorf("%s on %+v, want read-write", p, m)
		}
	}
	for _, p := range w.inaccessible {
		if m, ok := covering(ms, p); !ok || m.point != p || !strings.Contains(m.root, "inaccessible") {
			errorf("%s on %+v, want an inaccessible node over it", p, m)
		}
	}
	if w.privateTmp {
		for _, p := range []string{"/tmp", "/var/tmp"} {
			if m, ok := covering(ms, p); !ok || m.point != p || !strings.Contains(m.root, "/systemd-private-") {
				errorf("%s on %+v, want a private directory", p, m)
			}
		}
	}
	if w.privateDevices {
		if m, ok := covering(ms, "/dev"); !ok || m.point != "/dev" || m.fstype != "tmpfs" {
			errorf("/dev on %+v, want a tmpfs of its own", m)
		}
	}
	if w.hidepid != "" {
		if m, ok := covering(ms, "/proc"); !ok || m.fstype != "proc" || !hasOpt(m.super, "hidepid="+w.hidepid) {
			var all []string
			for _, m := range ms {
				if m.point == "/proc" {
					all = append(all, fmt.Sprintf("%+v", m))
				}
			}
			errorf("/proc on %+v, want hidepid=%s; every /proc mount:\n%s", m, w.hidepid, strings.Join(all, "\n"))
		}
	}
	if w.privateUsers {
		uidMap := strings.Join(strings.Fields(c.read(fmt.Sprintf("/proc/%d/uid_map", pid))), " ")
		uid := strings.Fields(c.procStatus(pid, "Uid"))
		if len(uid) == 0 || uidMap != "0 0 1 "+uid[0]+" "+uid[0]+" 1" {
			errorf("uid_map %q, want root and uid %v only", uidMap, uid)
		}
	}
}

// Debian 12's units, as shipped (/lib/systemd/system).
var (
	redisSandbox = &sandboxWant{service: "redis-server.service", binary: "/usr/bin/redis-server", noNewPrivs: true, seccomp: true, capBnd: only(),
		readOnly: []string{"/usr", "/etc", "/boot"}, writable: []string{"/var/lib/redis", "/var/log/redis", "/run/redis"},
		inaccessible: []string{"/home", "/root"}, privateTmp: true, privateDevices: true, hidepid: "invisible", privateUsers: true}
	memcachedSandbox = &sandboxWant{service: "memcached.service", binary: "/usr/bin/memcached", noNewPrivs: true, seccomp: true,
		capBnd:   only(capSetgid, capSetuid, capSysResource),
		readOnly: []string{"/usr", "/etc", "/boot"}, writable: []string{"/var", "/run"}, privateTmp: true, privateDevices: true}
	uuiddSandbox = &sandboxWant{service: "uuidd.service", binary: "/usr/sbin/uuidd", noNewPrivs: true, seccomp: true,
		capBnd:   without(capMknod, capSysRawio, capSysModule),
		readOnly: []string{"/usr", "/etc", "/var/lib/dpkg"}, writable: []string{"/var/lib/libuuid"},
		inaccessible: []string{"/home", "/root"}, privateDevices: true, privateUsers: true}
	varnishSandbox = &sandboxWant{service: "varnish.service", binary: "/usr/sbin/varnishd", seccomp: true, capBnd: without(capMknod, capSysRawio),
		readOnly: []string{"/usr", "/etc"}, writable: []string{"/var/lib/varnish"},
		inaccessible: []string{"/home", "/root"}, privateTmp: true, privateDevices: true}
	dovecotSandbox = &sandboxWant{service: "dovecot.service", binary: "/usr/sbin/dovecot", seccomp: true, capBnd: without(capMknod, capSysRawio),
		readOnly: []string{"/usr", "/etc"}, writable: []string{"/var/lib/dovecot", "/home"}, privateTmp: true, privateDevices: true}
	lldpdSandbox = &sandboxWant{service: "lldpd.service", binary: "/usr/sbin/lldpd", seccomp: true, capBnd: without(capSysModule),
		readOnly: []string{"/sys/fs/cgroup"}, writable: []string{"/usr", "/etc"},
		inaccessible: []string{"/home", "/root"}, privateTmp: true}
)
