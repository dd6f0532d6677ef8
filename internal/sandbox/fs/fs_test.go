package fs

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestProtectSystem(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	rw := mkdir(t, dir+"/rw")
	other := mkdir(t, dir+"/other")
	paths := []string{"/usr/bin", "/etc", "/var", "/proc/self", "/dev/null", rw, other}
	for _, tc := range []struct {
		mode string
		want map[string]string
	}{
		{"yes", map[string]string{"/usr/bin": "r-x", "/etc": "rwx", "/var": "rwx", rw: "rwx", other: "rwx"}},
		{"full", map[string]string{"/usr/bin": "r-x", "/etc": "r-x", "/var": "rwx", rw: "rwx", other: "rwx"}},
		{"strict", map[string]string{"/usr/bin": "r-x", "/etc": "r-x", "/var": "r-x", rw: "rwx", other: "r-x", "/proc/self": "r-x", "/dev/null": "rw-"}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			r := run(t, Spec{ProtectSystem: tc.mode, ReadWritePaths: []string{rw, "-/nonexistent/x"}}, probe{Paths: paths})
			for p, want := range tc.want {
				if got := rwx(r.Paths[p]); got != want {
					t.Errorf("%s: %s, want %s", p, got, want)
				}
			}
		})
	}
}

func TestProtectHome(t *testing.T) {
	needRoot(t)
	host, _ := os.ReadDir("/root")
	var hostNames []string
	for _, e := range host {
		hostNames = append(hostNames, e.Name())
	}
	for _, tc := range []struct {
		mode  string
		perm  string
		empty bool
	}{
		{"yes", "r-x", true}, // mode 000 but root: only empty and read-only
		{"read-only", "r-x", false},
		{"tmpfs", "rwx", true}, // systemd 252 loses the read-only flag
	} {
		t.Run(tc.mode, func(t *testing.T) {
			r := run(t, Spec{ProtectHome: tc.mode}, probe{Paths: []string{"/root"}, List: []string{"/root"}})
			if got := rwx(r.Paths["/root"]); got != tc.perm {
				t.Errorf("/root: %s, want %s", got, tc.perm)
			}
			got := r.Lists["/root"]
			if tc.empty && len(got) != 0 || !tc.empty && !slices.Equal(got, hostNames) && len(hostNames) > 0 {
				t.Errorf("/root lists %v (host: %v)", got, hostNames)
			}
			if tc.mode == "yes" && r.Paths["/root"].Mode&0o777 != 0 {
				t.Errorf("/root mode %o, want 0", r.Paths["/root"].Mode)
			}
			if tc.mode == "tmpfs" && octal(r.Paths["/root"].Mode) != "1777" {
				t.Errorf("/root mode %s, want 1777 (systemd 252 loses the mode too)", octal(r.Paths["/root"].Mode))
			}
		})
	}
}

func TestAccessPaths(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	ro := mkdir(t, dir+"/ro")
	hidden := mkdir(t, dir+"/hidden")
	mustWrite(t, hidden+"/secret", "s", 0o644)
	noexec := mkdir(t, dir+"/noexec")
	mustWrite(t, noexec+"/tool", "#!/bin/sh\n", 0o755)
	execd := mkdir(t, noexec+"/exec")
	mustWrite(t, execd+"/tool", "#!/bin/sh\n", 0o755)
	rwInRO := mkdir(t, ro+"/rw")
	s := Spec{
		ReadOnlyPaths:     []string{ro},
		ReadWritePaths:    []string{rwInRO},
		InaccessiblePaths: []string{hidden, "-/does/not/exist"},
		NoExecPaths:       []string{noexec},
		ExecPaths:         []string{execd},
	}
	r := run(t, s, probe{Paths: []string{ro, rwInRO, hidden, noexec + "/tool", execd + "/tool"}, List: []string{hidden}})
	want := map[string]string{ro: "r-x", rwInRO: "rwx", hidden: "r-x", noexec + "/tool": "rw-", execd + "/tool": "rwx"}
	for p, w := range want {
		if got := rwx(r.Paths[p]); got != w {
			t.Errorf("%s: %s, want %s", p, got, w)
		}
	}
	if len(r.Lists[hidden]) != 0 {
		t.Errorf("inaccessible %s lists %v", hidden, r.Lists[hidden])
	}

	t.Run("missing", func(t *testing.T) {
		r := run(t, Spec{InaccessiblePaths: []string{dir + "/nope"}}, probe{})
		if r.Status != StatusNamespace || !strings.Contains(r.Error, dir+"/nope") {
			t.Errorf("missing path: status %d %q, want 226 naming it", r.Status, r.Error)
		}
	})
	t.Run("relative", func(t *testing.T) {
		r := run(t, Spec{ReadOnlyPaths: []string{"rel"}}, probe{})
		if r.Status != StatusNamespace {
			t.Errorf("relative path: status %d %q, want 226", r.Status, r.Error)
		}
	})
}

func TestBindAndTemporaryFileSystem(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	src := mkdir(t, dir+"/src")
	mustWrite(t, src+"/f", "bound", 0o644)
	dst := mkdir(t, dir+"/dst")
	rodst := mkdir(t, dir+"/rodst")
	tmpfsDir := mkdir(t, dir+"/tmpfs")
	mustWrite(t, tmpfsDir+"/hidden", "x", 0o644)
	s := Spec{
		Binds: []Bind{
			{Source: src, Destination: dst, Recursive: true},
			{Source: src, Destination: rodst, ReadOnly: true, Recursive: true},
			{Source: dir + "/none", Destination: dir + "/none2", IgnoreENOENT: true},
			{Source: src + "/f", Destination: dir + "/newfile"},
		},
		TemporaryFS: []TemporaryFS{{Path: tmpfsDir, Options: "ro"}, {Path: dir + "/newtmp"}},
	}
	r := run(t, s, probe{Paths: []string{dst + "/f", rodst + "/f", tmpfsDir, dir + "/newtmp", dir + "/newfile"}, List: []string{tmpfsDir}})
	if got := r.Paths[dst+"/f"]; got.Data != "bound" || !got.W {
		t.Errorf("bind: %+v", got)
	}
	if got := r.Paths[rodst+"/f"]; got.Data != "bound" || got.W {
		t.Errorf("read-only bind: %+v", got)
	}
	if got := r.Paths[dir+"/newfile"]; got.Data != "bound" {
		t.Errorf("file bind onto a new file: %+v", got)
	}
	if got := rwx(r.Paths[tmpfsDir]); got != "r-x" || len(r.Lists[tmpfsDir]) != 0 {
		t.Errorf("TemporaryFileSystem=%s:ro: %s %v", tmpfsDir, got, r.Lists[tmpfsDir])
	}
	if got := r.Paths[dir+"/newtmp"]; rwx(got) != "rwx" || octal(got.Mode) != "755" {
		t.Errorf("TemporaryFileSystem=%s/newtmp: %s %s", dir, rwx(got), octal(got.Mode))
	}
	if _, err := os.Stat(dir + "/newtmp"); err != nil {
		t.Logf("mount point made on the host as systemd does: %v", err)
	}
	t.Run("missing source", func(t *testing.T) {
		r := run(t, Spec{Binds: []Bind{{Source: dir + "/none", Destination: dst}}}, probe{})
		if r.Status != StatusNamespace {
			t.Errorf("missing bind source: status %d %q, want 226", r.Status, r.Error)
		}
	})
}

func TestPrivateTmp(t *testing.T) {
	needRoot(t)
	tmp, vartmp, err := SetupTmpDirs(t.TempDir(), "probe.service")
	if err != nil {
		t.Fatal(err)
	}
	defer RemoveTmpDirs(tmp, vartmp)
	for d, prefix := range map[string]string{tmp: "/tmp/systemd-private-", vartmp: "/var/tmp/systemd-private-"} {
		if !strings.HasPrefix(d, prefix) || !strings.Contains(d, "-probe.service-") {
			t.Errorf("private dir %s, want %s<bootid>-probe.service-XXXXXX", d, prefix)
		}
		st, err := os.Stat(d)
		if err != nil || st.Mode().Perm() != 0o700 {
			t.Errorf("%s: %v %v, want mode 0700", d, st.Mode(), err)
		}
		st, err = os.Stat(d + "/tmp")
		if err != nil || st.Mode()&(os.ModeSticky|os.ModePerm) != os.ModeSticky|0o777 {
			t.Errorf("%s/tmp: %v %v, want 1777", d, st.Mode(), err)
		}
	}
	hostFile, err := os.CreateTemp("/tmp", "host-")
	if err != nil {
		t.Fatal(err)
	}
	hostFile.Close()
	defer os.Remove(hostFile.Name())
	s := Spec{TmpDir: tmp, VarTmpDir: vartmp}
	r := run(t, s, probe{Paths: []string{hostFile.Name(), "/tmp", "/var/tmp"}, Write: map[string]string{"/tmp/marker": "a", "/var/tmp/marker": "b"}})
	if r.Paths[hostFile.Name()].Exists {
		t.Errorf("the host's %s is visible in the private /tmp", hostFile.Name())
	}
	if got := octal(r.Paths["/tmp"].Mode); got != "1777" {
		t.Errorf("/tmp mode %s", got)
	}
	for f, want := range map[string]string{tmp + "/tmp/marker": "a", vartmp + "/tmp/marker": "b"} {
		if b, err := os.ReadFile(f); err != nil || string(b) != want {
			t.Errorf("%s: %q %v, want %q (written as the unit's /tmp)", f, b, err, want)
		}
	}
	// A second unit of the group (JoinsNamespaceOf=) sees the same /tmp.
	r = run(t, s, probe{Paths: []string{"/tmp/marker"}})
	if r.Paths["/tmp/marker"].Data != "a" {
		t.Errorf("a unit sharing the directories does not see the marker: %+v", r.Paths["/tmp/marker"])
	}
	// systemd's read-only fallback.
	rd := t.TempDir()
	r = run(t, Spec{RuntimeDir: rd, TmpDir: EmptyDir(rd)}, probe{Write: map[string]string{"/tmp/x": "x"}})
	if r.Written["/tmp/x"] != "EROFS" {
		t.Errorf("write into the empty /tmp: %s, want EROFS", r.Written["/tmp/x"])
	}
	if fi, err := os.Stat(rd + "/empty"); err != nil || fi.Mode().Perm() != 0o500 {
		t.Errorf("%s/empty: %v %v, want the runtime directory's empty directory, mode 0500", rd, fi, err)
	}
}

func TestPrivateDevices(t *testing.T) {
	needRoot(t)
	r := run(t, Spec{PrivateDevices: true}, probe{Paths: []string{"/dev", "/dev/null", "/dev/shm"}, List: []string{"/dev"}, Write: map[string]string{"/dev/null": ""}})
	want := []string{"char", "core", "fd", "full", "log", "null", "ptmx", "pts", "random", "shm", "stderr", "stdin", "stdout", "tty", "urandom", "zero"}
	if _, err := os.Stat("/dev/mqueue"); err == nil {
		want = append(want, "mqueue")
	}
	if _, err := os.Stat("/dev/hugepages"); err == nil {
		want = append(want, "hugepages")
	}
	if _, err := os.Stat("/proc/kcore"); err != nil {
		want = slices.DeleteFunc(want, func(s string) bool { return s == "core" })
	}
	slices.Sort(want)
	got := r.Lists["/dev"]
	slices.Sort(got)
	// mqueue and hugepages directories are made whether or not the host has them
	got = slices.DeleteFunc(got, func(s string) bool { return (s == "mqueue" || s == "hugepages") && !slices.Contains(want, s) })
	if !reflect.DeepEqual(got, want) {
		t.Errorf("/dev lists\n%v\nwant\n%v", got, want)
	}
	if rwx(r.Paths["/dev"]) != "r-x" {
		t.Errorf("/dev: %s, want read-only", rwx(r.Paths["/dev"]))
	}
	if r.Written["/dev/null"] != "ok" || !r.Paths["/dev/shm"].W {
		t.Errorf("/dev/null write %s, /dev/shm %s: want both writable", r.Written["/dev/null"], rwx(r.Paths["/dev/shm"]))
	}
}

func TestPrivateNetworkAndIPC(t *testing.T) {
	needRoot(t)
	host, _ := os.Readlink("/proc/self/ns/net")
	r := run(t, Spec{PrivateNetwork: true, PrivateIPC: true}, probe{})
	if !reflect.DeepEqual(r.Links, []string{"lo up"}) {
		t.Errorf("interfaces %v, want [lo up]", r.Links)
	}
	hostIPC, _ := os.Readlink("/proc/self/ns/ipc")
	if r.NetNS == host || r.IPCNS == hostIPC {
		t.Errorf("namespaces not private: net %s ipc %s", r.NetNS, r.IPCNS)
	}

	t.Run("shared", func(t *testing.T) {
		rd, wr, err := NewNSStore()
		if err != nil {
			t.Fatal(err)
		}
		defer rd.Close()
		defer wr.Close()
		ird, iwr, err := NewNSStore()
		if err != nil {
			t.Fatal(err)
		}
		defer ird.Close()
		defer iwr.Close()
		s := Spec{PrivateNetwork: true, NetNSStore: NSStore{R: 3, W: 4}, PrivateIPC: true, IPCNSStore: NSStore{R: 5, W: 6}}
		a := run(t, s, probe{}, rd, wr, ird, iwr)
		b := run(t, s, probe{}, rd, wr, ird, iwr)
		if a.NetNS != b.NetNS || a.NetNS == host || !reflect.DeepEqual(b.Links, []string{"lo up"}) {
			t.Errorf("JoinsNamespaceOf= group: %s and %s (host %s), links %v", a.NetNS, b.NetNS, host, b.Links)
		}
		if a.IPCNS != b.IPCNS || a.IPCNS == hostIPC {
			t.Errorf("JoinsNamespaceOf= group: IPC %s and %s (host %s)", a.IPCNS, b.IPCNS, hostIPC)
		}
	})
	t.Run("path", func(t *testing.T) {
		r := run(t, Spec{NetworkNamespacePath: "/proc/1/ns/net"}, probe{})
		one, _ := os.Readlink("/proc/1/ns/net")
		if r.NetNS != one {
			t.Errorf("NetworkNamespacePath=/proc/1/ns/net: %s, want %s", r.NetNS, one)
		}
		oneIPC, _ := os.Readlink("/proc/1/ns/ipc")
		if r := run(t, Spec{IPCNamespacePath: "/proc/1/ns/ipc"}, probe{}); r.IPCNS != oneIPC {
			t.Errorf("IPCNamespacePath=/proc/1/ns/ipc: %s, want %s", r.IPCNS, oneIPC)
		}
	})
	for _, c := range []struct {
		name   string
		spec   Spec
		status int
		msg    string
	}{
		{"missing NetworkNamespacePath=", Spec{NetworkNamespacePath: "/nonexistent"}, StatusNetwork, "Failed to open network namespace path /nonexistent"},
		{"missing IPCNamespacePath=", Spec{IPCNamespacePath: "/nonexistent"}, StatusNamespace, "Failed to open IPC namespace path /nonexistent"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, c.spec, probe{})
			if r.Status != c.status || !strings.HasPrefix(r.Error, c.msg) {
				t.Errorf("status %d %q, want %d %q", r.Status, r.Error, c.status, c.msg)
			}
		})
	}
}

func TestProtectHostname(t *testing.T) {
	needRoot(t)
	before, _ := os.Hostname()
	r := run(t, Spec{ProtectHostname: true, ProtectSystem: "yes"}, probe{Hostname: "flint-sandbox", Paths: []string{"/proc/sys/kernel/hostname"}})
	after, _ := os.Hostname()
	if after != before {
		t.Fatalf("the host's name changed to %s", after)
	}
	if r.Hostname != "" && strings.HasPrefix(r.Hostname, "ERROR") {
		t.Errorf("sethostname inside: %s", r.Hostname)
	}
	if r.Paths["/proc/sys/kernel/hostname"].W {
		t.Errorf("/proc/sys/kernel/hostname writable in a mount namespace")
	}
	if r.Hostname != "flint-sandbox" {
		t.Errorf("hostname inside %q, want the one set there", r.Hostname)
	}
}

func TestProcAndKernel(t *testing.T) {
	needRoot(t)
	r := run(t, Spec{ProcSubset: "pid", ProtectProc: "invisible"}, probe{Paths: []string{"/proc/sys", "/proc/self/status"}})
	if r.Paths["/proc/sys"].Exists || !r.Paths["/proc/self/status"].Exists {
		t.Errorf("ProcSubset=pid: /proc/sys %v, /proc/self/status %v", r.Paths["/proc/sys"].Exists, r.Paths["/proc/self/status"].Exists)
	}
	r = run(t, Spec{ProtectKernelTunables: true, ProtectKernelModules: true, ProtectKernelLogs: true, ProtectControlGroups: true},
		probe{Paths: []string{"/proc/sys/kernel", "/sys/kernel", "/proc/kcore", "/dev/kmsg", "/sys/fs/cgroup", "/lib/modules"}, List: []string{"/lib/modules"}})
	for _, p := range []string{"/proc/sys/kernel", "/sys/kernel", "/sys/fs/cgroup"} {
		if r.Paths[p].W {
			t.Errorf("%s writable", p)
		}
	}
	for _, p := range []string{"/proc/kcore", "/dev/kmsg"} {
		if pr := r.Paths[p]; pr.Exists && pr.Mode&0o777 != 0 {
			t.Errorf("%s mode %o, want the inaccessible node", p, pr.Mode)
		}
	}
	if len(r.Lists["/lib/modules"]) > 0 && r.Lists["/lib/modules"][0] != "ERROR" {
		t.Errorf("/lib/modules lists %v", r.Lists["/lib/modules"])
	}
}

func TestCredentials(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	mustWrite(t, dir+"/key", "secret", 0o600)
	mkdir(t, dir+"/many")
	mustWrite(t, dir+"/many/a", "A", 0o600)
	mustWrite(t, dir+"/many/b", "B", 0o600)
	cd := CredentialsDir("probe.service")
	rd := t.TempDir()
	s := Spec{
		Unit:       "probe.service",
		RuntimeDir: rd,
		Credentials: []Credential{
			{ID: "key", Path: dir + "/key"},
			{ID: "many", Path: dir + "/many"},
			{ID: "set", Data: []byte("value"), Set: true},
			{ID: "fallback", Path: dir + "/missing"},
			{ID: "fallback", Data: []byte("default"), Set: true},
			{ID: "key", Data: []byte("loses"), Set: true},
		},
		CredentialsUID: 65534, CredentialsGID: 65534,
	}
	paths := []string{cd, cd + "/key", cd + "/many_a", cd + "/many_b", cd + "/set", cd + "/fallback"}
	r := run(t, s, probe{Paths: paths, List: []string{"/run/credentials", cd}, Write: map[string]string{cd + "/new": "x"}})
	if r.Error != "" {
		t.Fatal(r.Error)
	}
	want := map[string]string{cd + "/key": "secret", cd + "/many_a": "A", cd + "/many_b": "B", cd + "/set": "value", cd + "/fallback": "default"}
	for p, w := range want {
		pr := r.Paths[p]
		if pr.Data != w || octal(pr.Mode) != "400" || pr.UID != 65534 || pr.GID != 65534 {
			t.Errorf("%s: %q mode %s owner %d:%d, want %q 400 65534:65534", p, pr.Data, octal(pr.Mode), pr.UID, pr.GID, w)
		}
	}
	if pr := r.Paths[cd]; octal(pr.Mode) != "500" || pr.UID != 65534 {
		t.Errorf("%s: mode %s owner %d, want 500 65534", cd, octal(pr.Mode), pr.UID)
	}
	if got := r.Lists["/run/credentials"]; !reflect.DeepEqual(got, []string{"probe.service"}) {
		t.Errorf("/run/credentials lists %v", got)
	}
	if r.Written[cd+"/new"] != "EROFS" {
		t.Errorf("write into the credentials: %s, want EROFS", r.Written[cd+"/new"])
	}
	if _, err := os.Stat(filepath.Join(cd, "key")); err == nil {
		t.Errorf("the credentials are visible on the host")
	}
	// The host keeps the empty mount point in the runtime directory until the unit stops.
	mp := CredentialsMount(rd, "probe.service")
	if es, err := os.ReadDir(mp); err != nil || len(es) != 0 {
		t.Errorf("mount point %s on the host: %v %v, want an empty directory", mp, es, err)
	}
	RemoveCredentials(rd, "probe.service")
	if _, err := os.Lstat(mp); err == nil {
		t.Errorf("RemoveCredentials left %s", mp)
	}

	for name, c := range map[string][]Credential{
		"missing":   {{ID: "x", Path: dir + "/missing"}},
		"encrypted": {{ID: "x", Data: []byte("x"), Set: true, Encrypted: true}},
	} {
		t.Run(name, func(t *testing.T) {
			r := run(t, Spec{Unit: "probe.service", Credentials: c}, probe{})
			if r.Status != StatusCredentials {
				t.Errorf("status %d %q, want 243/CREDENTIALS", r.Status, r.Error)
			}
		})
	}
	t.Run("none", func(t *testing.T) {
		r := run(t, Spec{ProtectSystem: "yes"}, probe{List: []string{"/run/credentials"}})
		if l := r.Lists["/run/credentials"]; len(l) > 0 && l[0] != "ERROR" {
			t.Errorf("a unit without credentials sees /run/credentials: %v", l)
		}
	})
}

func TestRootDirectory(t *testing.T) {
	needRoot(t)
	root := t.TempDir()
	mkdir(t, root+"/etc")
	mustWrite(t, root+"/etc/os-release", "ID=probe\n", 0o644)
	r := run(t, Spec{RootDirectory: root, MountAPIVFS: true}, probe{Paths: []string{"/etc/os-release", "/proc/self/status", "/dev/null", "/usr"}})
	if r.Paths["/etc/os-release"].Data != "ID=probe\n" || !r.Paths["/proc/self/status"].Exists || !r.Paths["/dev/null"].Exists {
		t.Errorf("inside RootDirectory=: %+v", r.Paths)
	}
	if r.Paths["/usr"].Exists {
		t.Errorf("the host's /usr is visible in RootDirectory=")
	}
	r = run(t, Spec{RootImage: "/x.raw"}, probe{})
	if r.Status != StatusNamespace || !strings.Contains(r.Error, "RootImage") {
		t.Errorf("RootImage=: %d %q", r.Status, r.Error)
	}
}

func TestDynamicUserSandbox(t *testing.T) {
	needRoot(t)
	tmp, vartmp, err := SetupTmpDirs(t.TempDir(), "dyn.service")
	if err != nil {
		t.Fatal(err)
	}
	defer RemoveTmpDirs(tmp, vartmp)
	// What DynamicUser=yes implies.
	s := Spec{DynamicUser: true, TmpDir: tmp, VarTmpDir: vartmp, ProtectSystem: "strict", ProtectHome: "read-only", MountNoSUID: true}
	r := run(t, s, probe{Paths: []string{"/etc", "/root", "/tmp", "/var/tmp"}})
	for p, want := range map[string]string{"/etc": "r-x", "/root": "r-x", "/tmp": "rwx", "/var/tmp": "rwx"} {
		if got := rwx(r.Paths[p]); got != want {
			t.Errorf("%s: %s, want %s", p, got, want)
		}
	}
}

// TestRuntimeDir: the child assembles the sandbox in the runtime directory it is given, and
// makes the inaccessible nodes there, not under the host's /run (run checks that /run is
// unchanged).
func TestRuntimeDir(t *testing.T) {
	needRoot(t)
	rd := t.TempDir()
	hidden := mkdir(t, t.TempDir()+"/hidden")
	mustWrite(t, hidden+"/secret", "x", 0o644)
	r := run(t, Spec{RuntimeDir: rd, InaccessiblePaths: []string{hidden}}, probe{List: []string{hidden}})
	if r.Error != "" {
		t.Fatal(r.Error)
	}
	if slices.Contains(r.Lists[hidden], "secret") {
		t.Errorf("InaccessiblePaths=%s lists %v", hidden, r.Lists[hidden])
	}
	for _, p := range []string{rd + "/unit-root", rd + "/inaccessible/dir"} {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("the runtime directory lacks %s: %v", p, err)
		}
	}
}
