package manager

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/internal/logs"
	"github.com/flint-init/flint/unit"
)

// TestParsePID: PID file contents and MAINPID= values as systemd's parse_pid() reads them.
func TestParsePID(t *testing.T) {
	for _, tc := range []struct {
		in   string
		pid  int
		fail error
	}{
		{"123", 123, nil},
		{"  \t42", 42, nil},
		{"+42", 42, nil},
		{"0x1f", 31, nil},
		{"0X1F", 31, nil},
		{"017", 15, nil},
		{"0o17", 15, nil},
		{"0b101", 5, nil},
		{"2147483647", 2147483647, nil},
		{"\v7", 7, nil}, // strtoull skips it too
		{"", 0, syscall.EINVAL},
		{"   ", 0, syscall.EINVAL},
		{"abc", 0, syscall.EINVAL},
		{"12 ", 0, syscall.EINVAL},
		{"12abc", 0, syscall.EINVAL},
		{"1.5", 0, syscall.EINVAL},
		{"0x", 0, syscall.EINVAL},
		{"0b", 0, syscall.EINVAL},
		{"0b2", 0, syscall.EINVAL},
		{"08", 0, syscall.EINVAL},
		{"+0b1", 0, syscall.EINVAL},
		{"- 5", 0, syscall.EINVAL},
		{"0", 0, syscall.ERANGE},
		{"-0", 0, syscall.ERANGE},
		{"-5", 0, syscall.ERANGE},
		{"2147483648", 0, syscall.ERANGE},
		{"4294967297", 0, syscall.ERANGE},
		{"99999999999999999999999", 0, syscall.ERANGE},
		{"99999999999999999999999x", 0, syscall.ERANGE}, // strtoull's ERANGE comes first
	} {
		pid, err := parsePID(tc.in)
		if pid != tc.pid || !errors.Is(err, tc.fail) || (err == nil) != (tc.fail == nil) {
			t.Errorf("parsePID(%q) = %d, %v; want %d, %v", tc.in, pid, err, tc.pid, tc.fail)
		}
	}
}

// FuzzParsePID: parsePID never panics, and what it accepts is a valid pid that strconv
// writes back to a string it accepts again.
func FuzzParsePID(f *testing.F) {
	for _, s := range []string{"1", " 0x10", "0b11", "-1", "99999999999999999999", "\x00", "0o7"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pid, err := parsePID(s)
		if err != nil {
			if pid != 0 {
				t.Fatalf("parsePID(%q) = %d with error %v", s, pid, err)
			}
			return
		}
		if pid <= 0 || pid > 1<<31-1 {
			t.Fatalf("parsePID(%q) = %d", s, pid)
		}
		if again, err := parsePID(strconv.Itoa(pid)); err != nil || again != pid {
			t.Fatalf("parsePID(%q) = %d, but parsePID(%d) = %d, %v", s, pid, pid, again, err)
		}
	})
}

// TestReadPIDFileLine: the first line ends at "\n", "\r" or NUL.
func TestReadPIDFileLine(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ content, line string }{
		{"123\n", "123"}, {"123", "123"}, {"12\r\n", "12"}, {"7\x008", "7"}, {"", ""},
		{"\n123", ""}, {strings.Repeat(" ", 5000) + "9\nx", strings.Repeat(" ", 5000) + "9"},
	} {
		p := filepath.Join(dir, "pid")
		if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		fd, err := chasePIDFile(p, true)
		if err != nil {
			t.Fatal(err)
		}
		got, err := readPIDFileLine(fd)
		unix.Close(fd)
		if err != nil || got != tc.line {
			t.Errorf("first line of %q = %q, %v; want %q", tc.content, got, err, tc.line)
		}
	}
}

// chownNobody gives path (a symlink itself, not its target) to nobody.
func chownNobody(t *testing.T, path string) {
	t.Helper()
	if err := os.Lchown(path, 65534, 65534); err != nil {
		t.Fatal(err)
	}
}

// TestChasePIDFile: the unsafe transitions of systemd's CHASE_SAFE, on real files: from a
// directory or symlink of an unprivileged user to something of another user.
func TestChasePIDFile(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give files to nobody")
	}
	root := t.TempDir() // root's
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chmod(root, 0o755))
	must(os.WriteFile(root+"/root.pid", []byte("1\n"), 0o644))
	must(os.Mkdir(root+"/nobody", 0o755))
	chownNobody(t, root+"/nobody")
	must(os.WriteFile(root+"/nobody/own.pid", []byte("1\n"), 0o644))
	chownNobody(t, root+"/nobody/own.pid")
	must(os.WriteFile(root+"/nobody/roots.pid", []byte("1\n"), 0o644)) // root's file in nobody's dir
	must(os.Symlink(root+"/root.pid", root+"/nobody/abs-link"))
	chownNobody(t, root+"/nobody/abs-link")
	must(os.Symlink("../root.pid", root+"/nobody/rel-link"))
	chownNobody(t, root+"/nobody/rel-link")
	must(os.Symlink("own.pid", root+"/nobody/own-link"))
	chownNobody(t, root+"/nobody/own-link")
	must(os.Symlink(root+"/nobody/own.pid", root+"/root-link")) // root's symlink to nobody's file
	must(os.Symlink("loop", root+"/loop"))
	for _, tc := range []struct {
		path string
		want error // nil: opened safely; ENOLINK: unsafe, opened without the checks
		st   int   // owner of the file reached
	}{
		{root + "/root.pid", nil, 0},
		{root + "/nobody/own.pid", nil, 65534},
		{root + "/nobody/roots.pid", unix.ENOLINK, 0},
		{root + "/nobody/abs-link", unix.ENOLINK, 0},
		{root + "/nobody/rel-link", unix.ENOLINK, 0},
		{root + "/nobody/own-link", nil, 65534},
		{root + "/root-link", nil, 65534},
		{root + "/nobody/../root.pid", unix.ENOLINK, 0}, // nobody's directory, then its parent, root's
		{root + "/./root.pid", nil, 0},
		{"/../../" + root + "/root.pid", nil, 0},
	} {
		fd, err := chasePIDFile(tc.path, true)
		if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("chase %s safely: %v, want %v", tc.path, err, tc.want)
		}
		if err == nil {
			unix.Close(fd)
		}
		fd, err = chasePIDFile(tc.path, false)
		if err != nil {
			t.Errorf("chase %s: %v", tc.path, err)
			continue
		}
		var st unix.Stat_t
		must(unix.Fstat(fd, &st))
		unix.Close(fd)
		if int(st.Uid) != tc.st || st.Mode&unix.S_IFMT != unix.S_IFREG {
			t.Errorf("chase %s reached a file of uid %d, mode %o; want a regular file of %d", tc.path, st.Uid, st.Mode, tc.st)
		}
	}
	if _, err := chasePIDFile(root+"/loop", false); !errors.Is(err, unix.ELOOP) {
		t.Errorf("chase of a symlink loop: %v, want ELOOP", err)
	}
	if _, err := chasePIDFile(root+"/missing", false); !errors.Is(err, unix.ENOENT) {
		t.Errorf("chase of a missing file: %v, want ENOENT", err)
	}
	if _, err := chasePIDFile(root+"/root.pid/x", false); !errors.Is(err, unix.ENOTDIR) {
		t.Errorf("chase through a file: %v, want ENOTDIR", err)
	}
}

// TestLoadPIDFile: which pid a PID file may name, after systemd's service_load_pid_file():
// the service's own process always; another process (here one of this test's, which belongs
// to no unit) only from a file owned by root and reached safely; never the manager, init, the
// control process, a pid that is gone; garbage is a parse error. And a FIFO is refused without
// being opened (opening it would block the manager).
func TestLoadPIDFile(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give files to nobody")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	own := filepath.Join(dir, "nobody")
	if err := os.Mkdir(own, 0o755); err != nil {
		t.Fatal(err)
	}
	chownNobody(t, own)
	foreign := exec.Command("/bin/sleep", "100")
	if err := foreign.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { foreign.Process.Kill(); foreign.Wait() }()
	mine := exec.Command("/bin/sleep", "100")
	if err := mine.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { mine.Process.Kill(); mine.Wait() }()
	gone := exec.Command("/bin/true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	m := &Manager{procs: map[int]*proc{}, adopted: map[int]adoptee{}, alone: map[int]bool{}, logs: logs.NewStore(100, "")}
	u := &Unit{Name: "p.service", sub: svcStart, cfg: &unit.Unit{Type: unit.TypeService, Service: &unit.ServiceSection{}}, svc: &serviceRT{}}
	m.order = []*Unit{u}
	m.procs[mine.Process.Pid] = &proc{pid: mine.Process.Pid, u: u, sid: mine.Process.Pid}
	if err := syscall.Mkfifo(filepath.Join(own, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	chownNobody(t, filepath.Join(own, "fifo"))
	if err := os.Symlink(filepath.Join(dir, "byroot.pid"), filepath.Join(own, "link.pid")); err != nil {
		t.Fatal(err)
	}
	chownNobody(t, filepath.Join(own, "link.pid"))
	write := func(path, content string, nobody bool) {
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if nobody {
			chownNobody(t, path)
		}
	}
	pidOf := func(c *exec.Cmd) string { return strconv.Itoa(c.Process.Pid) + "\n" }
	for _, tc := range []struct {
		name, file, content string
		byNobody            bool
		control             int
		want                int    // the pid taken
		err                 string // else a part of the message
	}{
		{"own process, nobody's file", "nobody/a.pid", pidOf(mine), true, 0, mine.Process.Pid, ""},
		{"foreign process, nobody's file", "nobody/b.pid", pidOf(foreign), true, 0, 0, "does not belong to service, and PID file is not owned by root. Refusing."},
		{"foreign process, root's file", "byroot.pid", pidOf(foreign), false, 0, foreign.Process.Pid, ""},
		{"foreign process, root's file through nobody's symlink", "nobody/link.pid", "", false, 0, 0, "Refusing to accept PID outside of service control group, acquired through unsafe symlink chain"},
		{"own process through nobody's symlink", "nobody/link2.pid", "", false, 0, 0, ""},
		{"the manager", "c.pid", strconv.Itoa(os.Getpid()), false, 0, 0, "is the manager, refusing."},
		{"init", "d.pid", "1", false, 0, 0, "New main PID 1 is the manager, refusing."},
		{"the control process", "e.pid", pidOf(mine), false, mine.Process.Pid, 0, "is the control process, refusing."},
		{"gone", "f.pid", pidOf(gone), false, 0, 0, "does not exist or is a zombie."},
		{"garbage", "g.pid", "12abc\n", false, 0, 0, "Failed to parse PID from file"},
		{"zero", "h.pid", "0\n", false, 0, 0, "Numerical result out of range"},
		{"missing", "none.pid", "", false, 0, 0, "Can't open PID file " + dir + "/none.pid (yet?) after start: No such file or directory"},
		{"a FIFO", "nobody/fifo", "", false, 0, 0, "is not a regular file, refusing."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			switch tc.file {
			case "nobody/link.pid":
				write(filepath.Join(dir, "byroot.pid"), pidOf(foreign), false)
			case "nobody/link2.pid":
				write(filepath.Join(dir, "mine.pid"), pidOf(mine), false)
				os.Remove(path)
				if err := os.Symlink(filepath.Join(dir, "mine.pid"), path); err != nil {
					t.Fatal(err)
				}
				chownNobody(t, path)
				tc.want = mine.Process.Pid
			case "none.pid", "nobody/fifo":
			default:
				write(path, tc.content, tc.byNobody)
			}
			u.cfg.Service.PIDFile = path
			u.service().controlPID = tc.control
			pid, err := m.loadPIDFile(u)
			if pid != tc.want || (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("loadPIDFile = %d, %v; want %d, %q", pid, err, tc.want, tc.err)
			}
		})
	}
}
