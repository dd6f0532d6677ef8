package notify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
)

// start listens at addr and runs the receiver; the returned channel carries its messages.
func start(t *testing.T, addr string) (*Receiver, chan *Message) {
	t.Helper()
	r, err := Listen(addr)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *Message, 16)
	done := make(chan struct{})
	go func() { r.Run(ch); close(done) }()
	t.Cleanup(func() {
		r.Close()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Error("Run did not return after Close")
		}
	})
	return r, ch
}

func receive(t *testing.T, ch <-chan *Message) *Message {
	t.Helper()
	select {
	case m := <-ch:
		t.Cleanup(m.CloseFiles)
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
		return nil
	}
}

func expectNone(t *testing.T, ch <-chan *Message) {
	t.Helper()
	select {
	case m := <-ch:
		t.Fatalf("unexpected message %+v", m)
	case <-time.After(100 * time.Millisecond):
	}
}

// sdNotify sends state with go-systemd's daemon.SdNotify, which reads NOTIFY_SOCKET.
var envMu sync.Mutex

func sdNotify(t *testing.T, addr, state string) {
	t.Helper()
	envMu.Lock()
	defer envMu.Unlock()
	t.Setenv("NOTIFY_SOCKET", addr)
	ok, err := daemon.SdNotify(false, state)
	if !ok || err != nil {
		t.Fatalf("SdNotify: %v %v", ok, err)
	}
}

func TestListenPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	os.WriteFile(path, []byte("stale"), 0o600) // replaced
	r, ch := start(t, path)
	if r.Addr() != path {
		t.Errorf("Addr = %q", r.Addr())
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o777 {
		t.Fatalf("stat: %v %v", fi.Mode(), err)
	}
	rc, _ := r.conn.SyscallConn()
	rc.Control(func(fd uintptr) {
		if v, _ := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED); v != 1 {
			t.Error("SO_PASSCRED not set")
		}
		if v, _ := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF); os.Geteuid() == 0 && v < receiveBuffer {
			t.Errorf("SO_RCVBUF = %d", v)
		}
		if fl, _ := unix.FcntlInt(fd, unix.F_GETFD, 0); fl&unix.FD_CLOEXEC == 0 {
			t.Error("socket not close-on-exec")
		}
	})

	sdNotify(t, path, "READY=1\nSTATUS=serving\nSTATUS=really serving\nnot a field\n\nX_EMPTY=")
	m := receive(t, ch)
	if m.PID != os.Getpid() || m.UID != uint32(os.Getuid()) || m.GID != uint32(os.Getgid()) {
		t.Errorf("credentials %d %d %d", m.PID, m.UID, m.GID)
	}
	want := []Field{{"READY", "1"}, {"STATUS", "serving"}, {"STATUS", "really serving"}, {"X_EMPTY", ""}}
	if !reflect.DeepEqual(m.Fields, want) {
		t.Errorf("fields = %q, want %q", m.Fields, want)
	}
	if v, ok := m.Get("STATUS"); !ok || v != "really serving" {
		t.Errorf("Get(STATUS) = %q %v", v, ok)
	}
	if _, ok := m.Get("MAINPID"); ok {
		t.Error("Get(MAINPID) found")
	}

	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file left after Close: %v", err)
	}
}

func TestListenAbstract(t *testing.T) {
	addr := fmt.Sprintf("@flint-notify-test-%d", os.Getpid())
	r, ch := start(t, addr)
	if r.Addr() != addr {
		t.Errorf("Addr = %q", r.Addr())
	}
	sdNotify(t, addr, "WATCHDOG=1")
	if v, _ := receive(t, ch).Get("WATCHDOG"); v != "1" {
		t.Errorf("WATCHDOG = %q", v)
	}
}

func TestListenErrors(t *testing.T) {
	if _, err := Listen("relative/path"); err == nil || !strings.Contains(err.Error(), "not an absolute path") {
		t.Errorf("relative: %v", err)
	}
	if _, err := Listen("/nonexistent-dir-flint/notify"); err == nil || !strings.HasPrefix(err.Error(), "notify socket /nonexistent-dir-flint/notify: ") {
		t.Errorf("missing dir: %v", err)
	}
}

func rawSend(t *testing.T, addr string, data []byte, fds ...int) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	if err := unix.Sendmsg(fd, data, oob, &unix.SockaddrUnix{Name: addr}, 0); err != nil {
		t.Fatalf("sendmsg: %v", err)
	}
}

func TestOversizedDroppedWithFds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	_, ch := start(t, path)

	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[1])
	big := append([]byte("FDSTORE=1\nSTATUS="), bytes.Repeat([]byte("x"), MaxMessage)...)
	rawSend(t, path, big, p[0])
	unix.Close(p[0]) // the receiver's copy is now the only read end
	rawSend(t, path, []byte("READY=1"))
	m := receive(t, ch) // the oversized message was dropped, this is the next one
	if v, _ := m.Get("READY"); v != "1" || len(m.Files) != 0 {
		t.Fatalf("got %+v", m)
	}
	// The dropped message's fd was closed: no reader left on the pipe.
	if _, err := unix.Write(p[1], []byte("x")); !errors.Is(err, unix.EPIPE) {
		t.Errorf("write to pipe: %v, want EPIPE (dropped fd still open)", err)
	}

	// Exactly MaxMessage bytes is accepted.
	msg := append([]byte("STATUS="), bytes.Repeat([]byte("y"), MaxMessage-7)...)
	rawSend(t, path, msg)
	if v, _ := receive(t, ch).Get("STATUS"); len(v) != MaxMessage-7 {
		t.Errorf("STATUS length %d", len(v))
	}
}

func TestParse(t *testing.T) {
	cred := unix.UnixCredentials(&unix.Ucred{Pid: 42, Uid: 7, Gid: 8})
	tests := []struct {
		name   string
		data   string
		oob    []byte
		flags  int
		ok     bool
		fields []Field
	}{
		{"plain", "READY=1\nSTATUS=a=b", cred, 0, true, []Field{{"READY", "1"}, {"STATUS", "a=b"}}},
		{"trailing NUL and newline", "READY=1\n\x00", cred, 0, true, []Field{{"READY", "1"}}},
		{"no credentials", "READY=1", nil, 0, false, nil},
		{"pid 0", "READY=1", unix.UnixCredentials(&unix.Ucred{}), 0, false, nil},
		{"truncated", "READY=1", cred, unix.MSG_TRUNC, false, nil},
		{"control truncated", "READY=1", cred, unix.MSG_CTRUNC, false, nil},
		{"empty", "", cred, 0, true, nil},
		// As systemd 252's manager_dispatch_notify_fd and strv_split_newlines read them.
		{"carriage returns end lines", "READY=1\r\nSTATUS=x\r", cred, 0, true, []Field{{"READY", "1"}, {"STATUS", "x"}}},
		{"backslash escapes", `STATUS=a\\b\c\` + "\n" + `d`, cred, 0, true, []Field{{"STATUS", "a\\bc\nd"}}},
		{"trailing backslash", "READY=1\nSTATUS=x\\", cred, 0, false, nil},
		{"embedded NUL", "READY=1\x00STATUS=x", cred, 0, false, nil},
		{"two trailing NULs", "READY=1\x00\x00", cred, 0, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, ok := parse([]byte(tc.data), tc.oob, tc.flags)
			if ok != tc.ok {
				t.Fatalf("ok = %v", ok)
			}
			if ok && (!reflect.DeepEqual(m.Fields, tc.fields) || m.PID != 42 || m.UID != 7 || m.GID != 8) {
				t.Errorf("got %+v", m)
			}
		})
	}
}

// buildHelper compiles testdata/sdnotify.c against libsystemd.
func buildHelper(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed")
	}
	if _, err := os.Stat("/usr/include/systemd/sd-daemon.h"); err != nil {
		t.Skip("libsystemd-dev not installed (apt-get install libsystemd-dev)")
	}
	bin := filepath.Join(t.TempDir(), "sdnotify")
	out, err := exec.Command("gcc", "-Wall", "-Werror", "-o", bin, "testdata/sdnotify.c", "-lsystemd").CombinedOutput()
	if err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return bin
}

func TestLibsystemdClient(t *testing.T) {
	bin := buildHelper(t)
	path := filepath.Join(t.TempDir(), "notify")
	_, ch := start(t, path)
	run := func(t *testing.T, mode string) *exec.Cmd {
		cmd := exec.Command(bin, mode)
		cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+path)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}

	t.Run("sd_notify", func(t *testing.T) {
		cmd := run(t, "notify")
		m := receive(t, ch)
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
		if m.PID != cmd.Process.Pid {
			t.Errorf("PID = %d, want the helper's %d", m.PID, cmd.Process.Pid)
		}
		if v, _ := m.Get("STATUS"); v != "hello from C" {
			t.Errorf("fields %q", m.Fields)
		}
	})

	t.Run("sd_pid_notify_with_fds FDSTORE", func(t *testing.T) {
		cmd := run(t, "fdstore")
		m := receive(t, ch)
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
		if v, _ := m.Get("FDSTORE"); v != "1" {
			t.Fatalf("fields %q", m.Fields)
		}
		if v, _ := m.Get("FDNAME"); v != "mypipe" {
			t.Errorf("FDNAME = %q", v)
		}
		// The helper passed its own pid explicitly; as root the credentials say so.
		if m.PID != cmd.Process.Pid {
			t.Errorf("PID = %d, want %d", m.PID, cmd.Process.Pid)
		}
		if len(m.Files) != 1 {
			t.Fatalf("%d files", len(m.Files))
		}
		fl, _ := unix.FcntlInt(m.Files[0].Fd(), unix.F_GETFD, 0)
		if fl&unix.FD_CLOEXEC == 0 {
			t.Error("received fd not close-on-exec")
		}
		data, err := io.ReadAll(m.Files[0])
		if err != nil || string(data) != "stored data" {
			t.Errorf("read %q %v", data, err)
		}
	})

	t.Run("sd_pid_notify for another pid", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("sending another pid's credentials needs root")
		}
		cmd := run(t, "parent")
		m := receive(t, ch)
		cmd.Wait()
		if m.PID != os.Getpid() {
			t.Errorf("PID = %d, want the test's %d", m.PID, os.Getpid())
		}
		if v, _ := m.Get("MAINPID"); v != fmt.Sprint(os.Getpid()) {
			t.Errorf("fields %q", m.Fields)
		}
	})

	t.Run("sd_notify_barrier", func(t *testing.T) {
		cmd := run(t, "barrier")
		m := receive(t, ch)
		if v, _ := m.Get("BARRIER"); v != "1" || len(m.Files) != 1 {
			t.Fatalf("got fields %q, %d files", m.Fields, len(m.Files))
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			t.Fatalf("helper returned before the barrier fd was closed: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
		m.CloseFiles() // the manager's answer
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("sd_notify_barrier failed: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("helper still waiting after the barrier fd was closed")
		}
	})
}

func TestNoFdLeak(t *testing.T) {
	count := func() int {
		ents, _ := os.ReadDir("/proc/self/fd")
		return len(ents)
	}
	dir := t.TempDir()
	before := count()
	for i := 0; i < 50; i++ {
		r, err := Listen(filepath.Join(dir, "n"))
		if err != nil {
			t.Fatal(err)
		}
		ch := make(chan *Message) // never read: Close must release the pending message
		done := make(chan struct{})
		go func() { r.Run(ch); close(done) }()
		var p [2]int
		unix.Pipe2(p[:], unix.O_CLOEXEC)
		rawSend(t, r.Addr(), []byte("FDSTORE=1"), p[0])
		unix.Close(p[0])
		time.Sleep(time.Millisecond)
		r.Close()
		<-done
		unix.Close(p[1])
	}
	// Run has returned and Close closed every fd it owned: nothing is left to close later.
	if after := count(); after != before {
		t.Fatalf("fd count %d -> %d", before, after)
	}
}

// TestGetFirst: Get gives a field's last occurrence, First its first (systemd reads STATUS=,
// MAINPID=, WATCHDOG_USEC= and the like with strv_find_startswith).
func TestGetFirst(t *testing.T) {
	m := &Message{Fields: []Field{{"STATUS", "first"}, {"READY", "1"}, {"STATUS", "second"}}}
	for _, tc := range []struct {
		get        func(string) (string, bool)
		key, want  string
		wantExists bool
	}{
		{m.First, "STATUS", "first", true},
		{m.Get, "STATUS", "second", true},
		{m.First, "READY", "1", true},
		{m.First, "ERRNO", "", false},
		{m.Get, "ERRNO", "", false},
	} {
		if v, ok := tc.get(tc.key); v != tc.want || ok != tc.wantExists {
			t.Errorf("%s: got %q %v, want %q %v", tc.key, v, ok, tc.want, tc.wantExists)
		}
	}
}
