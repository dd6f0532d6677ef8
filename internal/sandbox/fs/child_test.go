package fs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The test binary plays the child: with FLINT_FS_CHILD set, TestMain applies the Spec in
// FLINT_FS_SPEC, looks at the paths in FLINT_FS_PROBE from inside and prints a report.

type probe struct {
	Paths    []string // access(2) R_OK, W_OK, X_OK of each
	List     []string // directory listings
	Write    map[string]string
	Hostname string // set this hostname from inside
}

type pathReport struct {
	Exists, R, W, X bool
	Mode            uint32
	UID, GID        int
	Data            string
}

type report struct {
	Error    string
	Status   int
	Paths    map[string]pathReport
	Lists    map[string][]string
	Links    []string // interfaces "name up|down"
	Hostname string
	NetNS    string
	IPCNS    string
	Warnings []string
	Written  map[string]string
}

func TestMain(m *testing.M) {
	if os.Getenv("FLINT_FS_CHILD") != "" {
		os.Exit(child())
	}
	if os.Getenv("FLINT_FS_EXEC") != "" {
		os.Exit(execChild())
	}
	os.Exit(m.Run())
}

func child() int {
	var s Spec
	var p probe
	if err := json.Unmarshal([]byte(os.Getenv("FLINT_FS_SPEC")), &s); err != nil {
		fmt.Println(err)
		return 2
	}
	_ = json.Unmarshal([]byte(os.Getenv("FLINT_FS_PROBE")), &p)
	var r report
	s.Warn = func(m string) { r.Warnings = append(r.Warnings, m) }
	out := json.NewEncoder(os.Stdout)
	if err := Apply(&s); err != nil {
		r.Error, r.Status = err.Error(), ExitStatus(err)
		out.Encode(r)
		return r.Status
	}
	r.Paths = map[string]pathReport{}
	for _, path := range p.Paths {
		var pr pathReport
		var st unix.Stat_t
		if unix.Stat(path, &st) == nil {
			pr.Exists = true
			pr.Mode, pr.UID, pr.GID = st.Mode, int(st.Uid), int(st.Gid)
			pr.R = unix.Access(path, unix.R_OK) == nil
			pr.W = unix.Access(path, unix.W_OK) == nil
			pr.X = unix.Access(path, unix.X_OK) == nil
			if st.Mode&unix.S_IFMT == unix.S_IFREG {
				if b, err := os.ReadFile(path); err == nil {
					pr.Data = string(b)
				}
			}
		}
		r.Paths[path] = pr
	}
	r.Lists = map[string][]string{}
	for _, d := range p.List {
		ents, err := os.ReadDir(d)
		names := []string{}
		if err != nil {
			names = append(names, "ERROR")
		}
		for _, e := range ents {
			names = append(names, e.Name())
		}
		r.Lists[d] = names
	}
	r.Written = map[string]string{}
	for f, data := range p.Write {
		if err := os.WriteFile(f, []byte(data), 0o644); err != nil {
			r.Written[f] = errName(err)
		} else {
			r.Written[f] = "ok"
		}
	}
	ifs, _ := net.Interfaces()
	for _, i := range ifs {
		state := "down"
		if i.Flags&net.FlagUp != 0 {
			state = "up"
		}
		r.Links = append(r.Links, i.Name+" "+state)
	}
	if p.Hostname != "" {
		if err := unix.Sethostname([]byte(p.Hostname)); err != nil {
			r.Hostname = "ERROR " + err.Error()
		}
	}
	if r.Hostname == "" {
		r.Hostname, _ = os.Hostname()
	}
	r.NetNS, _ = os.Readlink("/proc/thread-self/ns/net")
	r.IPCNS, _ = os.Readlink("/proc/thread-self/ns/ipc")
	out.Encode(r)
	return 0
}

func errName(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno)
	}
	return err.Error()
}

// run starts the child with s and p and returns its report; extra fds become 3, 4, ...
// Without a RuntimeDir, s gets a temporary one: the child leaves the host's /run as it was.
func run(t *testing.T, s Spec, p probe, extra ...*os.File) report {
	t.Helper()
	if s.RuntimeDir == "" {
		s.RuntimeDir = t.TempDir()
	}
	before, beforeRun := hostMounts(t), hostRun(t)
	sj, _ := json.Marshal(s)
	pj, _ := json.Marshal(p)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FLINT_FS_CHILD=1", "FLINT_FS_SPEC="+string(sj), "FLINT_FS_PROBE="+string(pj))
	cmd.ExtraFiles = extra
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var r report
	if jerr := json.Unmarshal(stdout.Bytes(), &r); jerr != nil {
		t.Fatalf("child: %v %v\nstdout: %s\nstderr: %s", err, jerr, stdout.String(), stderr.String())
	}
	if r.Error == "" && err != nil {
		t.Fatalf("child: %v\nstderr: %s", err, stderr.String())
	}
	if r.Error != "" {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != r.Status {
			t.Fatalf("child failed with %q but exit %v, want %d", r.Error, err, r.Status)
		}
	}
	if after := hostMounts(t); after != before {
		t.Fatalf("the host's mounts changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if after := hostRun(t); after != beforeRun {
		t.Fatalf("the host's /run changed:\nbefore:\n%s\nafter:\n%s", beforeRun, after)
	}
	return r
}

// hostRun lists what a sandbox with the default runtime directory would make on the host:
// /run/flint and its unit-root, inaccessible, empty and credentials, and /run/credentials.
func hostRun(t *testing.T) string {
	var b strings.Builder
	for _, d := range []string{"/run/flint", "/run/flint/unit-root", "/run/flint/inaccessible", "/run/flint/empty", "/run/flint/credentials", "/run/credentials"} {
		es, err := os.ReadDir(d)
		fmt.Fprintf(&b, "%s: %v", d, err != nil)
		for _, e := range es {
			if d != "/run/flint" || e.IsDir() { // not a manager's sockets
				fmt.Fprintf(&b, " %s", e.Name())
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// hostMounts is the host's mount table without ids (which only the kernel changes).
func hostMounts(t *testing.T) string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(l)
		lines = append(lines, strings.Join(f[2:], " "))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if err := exec.Command("unshare", "-m", "true").Run(); err != nil {
		t.Skipf("no mount namespaces here: %v", err)
	}
}

func mustWrite(t *testing.T, p, data string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, p string) string {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func rwx(p pathReport) string {
	if !p.Exists {
		return "missing"
	}
	s := []byte("---")
	if p.R {
		s[0] = 'r'
	}
	if p.W {
		s[1] = 'w'
	}
	if p.X {
		s[2] = 'x'
	}
	return string(s)
}

func octal(m uint32) string { return strconv.FormatUint(uint64(m&0o7777), 8) }

// execChild applies the spec and execs FLINT_FS_ARGV (JSON), as the spawn path will.
func execChild() int {
	var argv []string
	if err := json.Unmarshal([]byte(os.Getenv("FLINT_FS_ARGV")), &argv); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	raw := []byte(os.Getenv("FLINT_FS_SPEC"))
	var s Spec
	_ = json.Unmarshal(raw, &s)
	if dir := os.Getenv("FLINT_FS_EMULATE"); dir != "" {
		if err := emulateSystemdNS(dir); err != nil {
			fmt.Fprintln(os.Stderr, "emulate:", err)
			return 2
		}
		if os.Getenv("FLINT_FS_PRIVATE_TMP") != "" {
			var err error
			if s.TmpDir, s.VarTmpDir, err = SetupTmpDirs("", s.Unit); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 2
			}
		}
		raw, _ = json.Marshal(s)
	}
	if err := ApplyJSON(raw, nil); err != nil { // systemd logs warnings, the unit never sees them
		fmt.Fprintln(os.Stderr, err)
		return ExitStatus(err)
	}
	env := append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}, s.Env()...)
	err := unix.Exec(argv[0], argv, env)
	fmt.Fprintln(os.Stderr, "exec:", err)
	return 203
}

// emulateSystemdNS gives the calling thread the mounts internal/difftest gives systemd:
// private /run (with the /run/credentials and /run/systemd systemd makes at boot), /tmp and /var/tmp, dir
// carried in at its own path.
func emulateSystemdNS(dir string) error {
	runtime.LockOSThread()
	steps := []func() error{
		func() error { return unix.Unshare(unix.CLONE_NEWNS) },
		func() error { return unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, "") },
		func() error { return unix.Mount("tmpfs", "/run", "tmpfs", 0, "mode=0755") },
		func() error { return os.Mkdir("/run/.work", 0o755) },
		func() error { return unix.Mount(dir, "/run/.work", "", unix.MS_BIND, "") },
		func() error { return unix.Mount("tmpfs", "/tmp", "tmpfs", 0, "mode=1777") },
		func() error { return unix.Mount("tmpfs", "/var/tmp", "tmpfs", 0, "mode=1777") },
		func() error { return os.MkdirAll(dir, 0o755) },
		func() error { return unix.Mount("/run/.work", dir, "", unix.MS_MOVE, "") },
		func() error { return os.Remove("/run/.work") },
		func() error { return os.Mkdir("/run/credentials", 0o755) },
		func() error { return os.Mkdir("/run/systemd", 0o755) },
		func() error { return unix.Mount("", "/", "", unix.MS_REC|unix.MS_SHARED, "") },
	}
	for i, f := range steps {
		if err := f(); err != nil {
			return fmt.Errorf("step %d: %w", i, err)
		}
	}
	return nil
}
