package cgroup

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeFS lays out a scratch cgroupfs: each entry is a directory (relative to root) and the
// files it holds ("name=content").
func fakeFS(t *testing.T, dirs map[string][]string) string {
	t.Helper()
	root := t.TempDir()
	for d, files := range dirs {
		dir := filepath.Join(root, d)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			name, content, _ := strings.Cut(f, "=")
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

func selfFile(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "cgroup")
	os.WriteFile(p, []byte(content), 0o644)
	return p
}

func TestDetectLayouts(t *testing.T) {
	v1 := []string{"cgroup.procs=", "tasks="}
	v2 := []string{"cgroup.procs=", "cgroup.events=populated 0\n"}
	tests := []struct {
		name      string
		dirs      map[string][]string
		self      string
		kind      Kind
		tracking  string // mount dir relative to root
		base      string
		hierarchy []string // mounts in All, relative to root
	}{
		{
			name: "unified",
			dirs: map[string][]string{"": append(v2, "cgroup.controllers=cpu io memory pids"), "ctr": v2},
			self: "0::/ctr\n", kind: Unified, tracking: "", base: "/ctr", hierarchy: []string{""},
		},
		{
			name: "hybrid",
			dirs: map[string][]string{"unified": append(v2, "cgroup.controllers="), "memory": v1, "cpu": v1, "cpuacct": v1,
				"pids": v1, "blkio": v1, "cpuset": v1, "freezer": v1, "systemd": v1, "memory/api/x": v1},
			self:     "4:memory:/api/x\n1:cpu:/\n9:name=systemd:/\n0::/\n",
			kind:     Hybrid,
			tracking: "unified", base: "/",
			hierarchy: []string{"unified", "blkio", "cpu", "cpuacct", "memory", "pids"},
		},
		{
			name: "legacy",
			dirs: map[string][]string{"cpu,cpuacct": v1, "memory": v1, "pids": v1, "systemd": v1, "systemd/a": v1},
			self: "3:cpu,cpuacct:/\n2:memory:/\n1:name=systemd:/a\n", kind: Legacy, tracking: "systemd", base: "/a",
			hierarchy: []string{"systemd", "cpu,cpuacct", "memory", "pids"},
		},
		{
			name: "legacy without name=systemd tracks by pids",
			dirs: map[string][]string{"memory": v1, "pids": v1},
			self: "2:memory:/\n1:pids:/\n", kind: Legacy, tracking: "pids", base: "/",
			hierarchy: []string{"pids", "memory"},
		},
		{
			name: "nothing mounted",
			dirs: map[string][]string{"": nil},
			self: "0::/\n", kind: None,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := fakeFS(t, tc.dirs)
			l := DetectAt(root, selfFile(t, tc.self))
			if l.Kind != tc.kind {
				t.Fatalf("kind %v, want %v (%s)", l.Kind, tc.kind, l.Why)
			}
			if tc.kind == None {
				if l.Why == "" || !strings.Contains(l.Describe(), "no cgroups") {
					t.Errorf("no reason given: %q", l.Describe())
				}
				return
			}
			if got := l.Tracking.Mount; got != filepath.Join(root, tc.tracking) {
				t.Errorf("tracking %s, want %s", got, tc.tracking)
			}
			if l.Tracking.Base != tc.base {
				t.Errorf("base %s, want %s", l.Tracking.Base, tc.base)
			}
			var got []string
			for _, h := range l.All {
				rel, _ := filepath.Rel(root, h.Mount)
				if rel == "." {
					rel = ""
				}
				got = append(got, rel)
			}
			if !slices.Equal(got, tc.hierarchy) {
				t.Errorf("hierarchies %q, want %q", got, tc.hierarchy)
			}
		})
	}
}

func TestDetectUnwritable(t *testing.T) {
	// A tracking hierarchy that cannot be written falls back to no cgroups. Root writes any
	// mode, so the base is a path that does not exist.
	root := fakeFS(t, map[string][]string{"": {"cgroup.controllers=", "cgroup.procs="}})
	l := DetectAt(root, selfFile(t, "0::/gone\n"))
	if l.Kind != None || !strings.Contains(l.Why, "not writable") {
		t.Fatalf("got %v %q", l.Kind, l.Why)
	}
}

func TestHybridBaseFromMemoryLine(t *testing.T) {
	root := fakeFS(t, map[string][]string{"unified": {"cgroup.controllers=", "cgroup.procs="}, "memory": {"cgroup.procs="}, "memory/api/x": {"cgroup.procs="}})
	l := DetectAt(root, selfFile(t, "4:memory:/api/x\n0::/\n"))
	g := &Group{L: l, Rel: "system.slice/foo.service"}
	want := []string{filepath.Join(root, "unified/system.slice/foo.service/cgroup.procs"), filepath.Join(root, "memory/api/x/system.slice/foo.service/cgroup.procs")}
	if got := g.ProcsFiles(); !slices.Equal(got, want) {
		t.Errorf("procs files %q, want %q", got, want)
	}
	if g.Path() != "/system.slice/foo.service" {
		t.Errorf("path %s", g.Path())
	}
}

func TestSlicePaths(t *testing.T) {
	tests := []struct{ slice, want string }{
		{"-.slice", ""},
		{"system.slice", "system.slice"},
		{"a-b-c.slice", "a.slice/a-b.slice/a-b-c.slice"},
		{"user-1000.slice", "user.slice/user-1000.slice"},
		{"cpu.slice", "_cpu.slice"},
	}
	for _, tc := range tests {
		got, ok := SlicePath(tc.slice)
		if !ok || got != tc.want {
			t.Errorf("SlicePath(%q) = %q %v, want %q", tc.slice, got, ok, tc.want)
		}
	}
	for _, bad := range []string{"a--b.slice", "-a.slice", "a-.slice", "foo.service", ".slice"} {
		if _, ok := SlicePath(bad); ok {
			t.Errorf("SlicePath(%q) accepted", bad)
		}
	}
	if p, _ := UnitPath("system.slice", "foo.service"); p != "system.slice/foo.service" {
		t.Errorf("UnitPath: %s", p)
	}
	if p, _ := UnitPath("-.slice", "tasks"); p != "_tasks" {
		t.Errorf("UnitPath root: %s", p)
	}
	for _, tc := range []struct{ in, want string }{{"a-b-c.slice", "a-b.slice"}, {"a.slice", "-.slice"}, {"-.slice", ""}} {
		if got := SliceParent(tc.in); got != tc.want {
			t.Errorf("SliceParent(%q) = %q", tc.in, got)
		}
	}
}

func fileMap(fs []File) map[string]string {
	m := map[string]string{}
	for _, f := range fs {
		if old, ok := m[f.Name]; ok {
			m[f.Name] = old + "|" + f.Value
		} else {
			m[f.Name] = f.Value
		}
	}
	return m
}

func TestResourceFiles(t *testing.T) {
	var st statT
	if err := stat(t.TempDir(), &st); err != nil {
		t.Fatal(err)
	}
	dev := fmtInt(int(st.major)) + ":" + fmtInt(int(st.minor))
	res := &Resources{MemoryMax: 200 << 20, MemoryHigh: 100 << 20, MemoryLow: 1 << 20, TasksMax: 16, CPUWeight: 200,
		CPUQuotaPerSec: 200 * time.Millisecond, AllowedCPUs: "0-1", IOWeight: 50,
		IOReadBandwidthMax: []DeviceValue{{t.TempDir(), 1 << 20}}}
	unified := fakeFS(t, map[string][]string{"": {"cgroup.controllers=cpu cpuset io memory pids", "cgroup.procs="}})
	g := &Group{L: DetectAt(unified, selfFile(t, "0::/\n")), Rel: "system.slice/x.service"}
	got := fileMap(g.Files(res))
	want := map[string]string{"memory.max": "209715200", "memory.high": "104857600", "memory.low": "1048576", "pids.max": "16",
		"cpu.weight": "200", "cpu.max": "20000 100000", "cpuset.cpus": "0-1", "io.weight": "default 50", "io.max": dev + " rbps=1048576"}
	if !mapsEqual(got, want) {
		t.Errorf("unified:\n got %v\nwant %v", got, want)
	}
	if u := g.Unsupported(res); len(u) != 0 {
		t.Errorf("unified unsupported: %v", u)
	}

	v1 := []string{"cgroup.procs="}
	legacy := fakeFS(t, map[string][]string{"memory": v1, "cpu": v1, "cpuacct": v1, "pids": v1, "blkio": v1, "systemd": v1})
	g = &Group{L: DetectAt(legacy, selfFile(t, "1:name=systemd:/\n")), Rel: "system.slice/x.service"}
	got = fileMap(g.Files(res))
	want = map[string]string{"memory.limit_in_bytes": "209715200", "pids.max": "16", "cpu.shares": "2048",
		"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "20000", "blkio.weight": "250", "blkio.throttle.read_bps_device": dev + " 1048576"}
	if !mapsEqual(got, want) {
		t.Errorf("legacy:\n got %v\nwant %v", got, want)
	}
	if u := g.Unsupported(res); !slices.Equal(u, []string{"MemoryLow", "MemoryHigh", "AllowedCPUs/AllowedMemoryNodes"}) {
		t.Errorf("legacy unsupported: %v", u)
	}
	// Infinity, and DisableControllers= leaving a controller out.
	g.Disable = []string{"cpu"}
	got = fileMap(g.Files(&Resources{MemoryMax: Max, TasksMax: Max, CPUWeight: 10}))
	if !mapsEqual(got, map[string]string{"memory.limit_in_bytes": "-1", "pids.max": "max"}) {
		t.Errorf("infinity: %v", got)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// scratch gives the test a subtree of its own on this machine's hierarchies, removed at the
// end, or skips when there are none writable.
func scratch(t *testing.T) *Layout {
	t.Helper()
	l := Detect()
	if l.Kind == None {
		t.Skip(l.Describe())
	}
	rel := "flint-test-" + strings.ReplaceAll(t.Name(), "/", "_") + "-" + fmtInt(os.Getpid())
	sub := l.Sub(rel)
	t.Cleanup(func() {
		g := &Group{L: l, Rel: rel}
		if pids, _ := g.PIDs(); len(pids) > 0 {
			for _, p := range pids {
				syscall.Kill(p, syscall.SIGKILL)
			}
		}
		deadline := time.Now().Add(5 * time.Second)
		for g.Remove() != nil && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	})
	for _, h := range l.All {
		if err := os.MkdirAll(h.Dir(rel), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return sub
}

func fmtInt(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

func TestRealGroupLifecycle(t *testing.T) {
	l := scratch(t)
	g := &Group{L: l, Rel: "a.slice/a-b.slice/x.service"}
	if err := g.Create(); err != nil {
		t.Fatal(err)
	}
	if err := g.Apply(&Resources{TasksMax: 50, MemoryMax: 100 << 20}); err != nil {
		t.Fatal(err)
	}
	// A session leader whose child leaves by setsid: both are found through the cgroup.
	cmd := exec.Command("/bin/sh", "-c", "read go; setsid sleep 1000 & exec sleep 1000")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	if err := g.Attach(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	in.Write([]byte("go\n"))
	var pids []int
	for range 500 {
		pids, _ = g.PIDs()
		if len(pids) >= 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Forked after the attach, the setsid'd sleep is in the group too.
	if len(pids) < 2 || !slices.Contains(pids, cmd.Process.Pid) {
		t.Fatalf("pids %v, want the shell's and its child's", pids)
	}
	if !g.Populated() {
		t.Fatal("not populated")
	}
	st := g.Stats()
	if !st.HasTasks || st.Tasks < 2 || !st.HasMemory || !st.HasCPU {
		t.Errorf("stats %+v", st)
	}
	if err := g.Remove(); err == nil {
		t.Fatal("a group with processes removed")
	}
	for _, p := range pids {
		syscall.Kill(p, syscall.SIGKILL)
	}
	cmd.Wait()
	for range 500 {
		if !g.Populated() {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if g.Populated() {
		t.Fatal("still populated")
	}
	if err := g.Remove(); err != nil {
		t.Fatal(err)
	}
	for _, h := range l.All {
		if _, err := os.Stat(h.Dir("a.slice")); !os.IsNotExist(err) {
			t.Errorf("empty slice left in %s: %v", h.Mount, err)
		}
	}
}
