package journal

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/internal/logs"
)

// testServer serves the sockets in a temporary directory (no /run, no /dev/log touched):
// every sender is "test.service"; notes collects what the server logs.
type testServer struct {
	*Server
	dir, devLog string
	store       *logs.Store
	mu          sync.Mutex
	notes       []string
}

func startTestServer(t *testing.T, dir string) *testServer {
	t.Helper()
	ts := &testServer{dir: dir, devLog: filepath.Join(dir, "devlog"), store: logs.NewStore(100, "")}
	s, err := Start(Config{Dir: dir, DevLog: ts.devLog, Store: ts.store,
		Attribute: func(pid int) string { return "test.service" },
		Logf: func(format string, a ...any) {
			ts.mu.Lock()
			ts.notes = append(ts.notes, fmt.Sprintf(format, a...))
			ts.mu.Unlock()
		}})
	if err != nil {
		t.Fatal(err)
	}
	ts.Server = s
	t.Cleanup(func() { s.Close(); ts.store.Close() })
	return ts
}

// wait returns the lines of the store once n have arrived (or fails after 10s).
func (ts *testServer) wait(t *testing.T, n int) []logs.Line {
	t.Helper()
	ch, cancel := ts.store.Follow(nil)
	defer cancel()
	deadline := time.After(10 * time.Second)
	for {
		ls := ts.store.Select(nil, logs.Range{Lines: -1})
		if len(ls) >= n {
			return ls
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("%d lines after 10s, want %d: %+v", len(ls), n, ls)
		}
	}
}

func sendDatagram(t *testing.T, path string, b []byte, fds ...int) {
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
	if err := unix.Sendmsg(fd, b, oob, &unix.SockaddrUnix{Name: path}, 0); err != nil {
		t.Fatal(err)
	}
}

func field(l *logs.Line, name string) string {
	for _, f := range l.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

func TestServerNative(t *testing.T) {
	ts := startTestServer(t, t.TempDir())
	sock := filepath.Join(ts.dir, "socket")
	sendDatagram(t, sock, []byte("MESSAGE=hello\nPRIORITY=2\nSYSLOG_IDENTIFIER=app\nCUSTOM=1\n"+binaryField("BIN", "a\nb")))
	// A large entry goes in a sealed memfd, as sd_journal_send passes it.
	big := strings.Repeat("x", 300<<10)
	mfd, err := unix.MemfdCreate("journal-test", unix.MFD_ALLOW_SEALING|unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(mfd)
	if _, err := unix.Write(mfd, []byte("MESSAGE="+big+"\nSYSLOG_IDENTIFIER=big\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.FcntlInt(uintptr(mfd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_WRITE|unix.F_SEAL_SEAL); err != nil {
		t.Fatal(err)
	}
	sendDatagram(t, sock, nil, mfd)
	ls := ts.wait(t, 2)
	l := ls[0]
	if l.Text != "hello" || l.Priority != 2 || l.Unit != "test.service" || l.PID != os.Getpid() || l.Source.Ident != "app" ||
		l.Source.Transport != "journal" || l.Source.UID != os.Getuid() || field(&l, "CUSTOM") != "1" || field(&l, "BIN") != "a\nb" {
		t.Errorf("native entry %+v %+v", l, l.Source)
	}
	if ls[1].Text != big || ls[1].Source.Ident != "big" {
		t.Errorf("memfd entry: %d bytes, ident %q", len(ls[1].Text), ls[1].Source.Ident)
	}
}

func TestServerSyslogAndForward(t *testing.T) {
	dir := t.TempDir()
	// A syslog daemon's socket (syslog.socket's ListenDatagram=): forwarded messages land here.
	fwd, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: filepath.Join(dir, "syslog"), Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer fwd.Close()
	rc, _ := fwd.SyscallConn()
	rc.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1) })
	ts := startTestServer(t, dir)
	if target, err := os.Readlink(ts.devLog); err != nil || target != filepath.Join(dir, "dev-log") {
		t.Fatalf("dev log link: %q %v", target, err)
	}
	// logger's local form ("<PRI>TIMESTAMP TAG: MSG", what syslog(3) sends), then RFC 3164
	// with the host name, which journald 252 takes for a part of the message.
	cmd := exec.Command("logger", "--socket", ts.devLog, "-t", "tagA", "-p", "local3.warning", "hello 3164")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("logger: %v %s", err, out)
	}
	loggerPID := cmd.ProcessState.Pid()
	ls := ts.wait(t, 1)
	l := ls[0]
	if l.Text != "hello 3164" || l.Priority != 4 || l.Source.Ident != "tagA" || l.PID != loggerPID || l.Source.Transport != "syslog" ||
		field(&l, "SYSLOG_FACILITY") != "19" {
		t.Errorf("syslog line %+v %+v", l, l.Source)
	}
	host, _ := os.Hostname()
	if out, err := exec.Command("logger", "--rfc3164", "--socket", ts.devLog, "-t", "tagB", "with host").CombinedOutput(); err != nil {
		t.Fatalf("logger: %v %s", err, out)
	}
	if l := ts.wait(t, 2)[1]; l.Text != host+" tagB: with host" || l.Source.Ident != "" || l.Priority != 5 {
		t.Errorf("rfc3164 line %+v %+v", l, l.Source)
	}
	// The datagram is forwarded as it came, with logger's pid.
	buf := make([]byte, 4096)
	oob := make([]byte, 256)
	fwd.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, oobn, _, _, err := fwd.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatal(err)
	}
	cred, _ := parseControl(oob[:oobn])
	// logger's pid, unless logger was reaped before the datagram was forwarded (journald
	// then passes its own pid, as flint does).
	if !strings.HasPrefix(string(buf[:n]), "<156>") || !strings.HasSuffix(string(buf[:n]), "tagA: hello 3164") || cred == nil ||
		int(cred.Pid) != loggerPID && int(cred.Pid) != os.Getpid() {
		t.Errorf("forwarded %q, creds %+v", buf[:n], cred)
	}
	if _, _, _, _, err = fwd.ReadMsgUnix(buf, oob); err != nil {
		t.Fatal(err)
	}
	// A line stored otherwise (a service's output) is forwarded in RFC 3164 form.
	ts.store.Append(logs.Line{Unit: "x.service", Stream: "stdout", PID: os.Getpid(), Priority: 3, Text: "from a pipe",
		Source: &logs.Source{Ident: "prog", UID: os.Getuid(), GID: os.Getgid()}})
	n, oobn, _, _, err = fwd.ReadMsgUnix(buf, oob)
	if err != nil {
		t.Fatal(err)
	}
	cred, _ = parseControl(oob[:oobn])
	want := fmt.Sprintf("prog[%d]: from a pipe", os.Getpid())
	if !strings.HasPrefix(string(buf[:n]), "<27>") || !strings.HasSuffix(string(buf[:n]), want) || cred == nil || int(cred.Pid) != os.Getpid() {
		t.Errorf("forwarded %q, creds %+v", buf[:n], cred)
	}
}

func TestServerStream(t *testing.T) {
	ts := startTestServer(t, t.TempDir())
	c, err := net.Dial("unix", filepath.Join(ts.dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(c, "catid\n\n6\n1\n0\n0\n0\none\n<3>two\n\n   \nthree")
	c.Close()
	ls := ts.wait(t, 3)
	for i, want := range []struct {
		text string
		prio int
		brk  string
	}{{"one", 6, ""}, {"two", 3, ""}, {"three", 6, "eof"}} {
		l := ls[i]
		if l.Text != want.text || l.Priority != want.prio || field(&l, "_LINE_BREAK") != want.brk || l.Source.Ident != "catid" ||
			l.Source.Transport != "stdout" || l.Source.StreamID == "" || l.PID != os.Getpid() || l.Unit != "test.service" {
			t.Errorf("line %d: %+v %+v", i, l, l.Source)
		}
	}
	if len(ls) != 3 {
		t.Errorf("%d lines, want 3 (empty ones dropped)", len(ls))
	}
}

// A second server on the same paths finds them answered and leaves them alone; once the
// first is gone, its dead socket files are replaced.
func TestServerLeavesLiveSocketsAlone(t *testing.T) {
	dir := t.TempDir()
	first := startTestServer(t, dir)
	second, err := Start(Config{Dir: dir, DevLog: first.devLog, Store: logs.NewStore(10, ""), Logf: func(f string, a ...any) {
		first.mu.Lock()
		first.notes = append(first.notes, "second: "+fmt.Sprintf(f, a...))
		first.mu.Unlock()
	}})
	if err != nil || second != nil {
		t.Fatalf("second server: %v %v", second, err)
	}
	notes := strings.Join(first.notes, "\n")
	for _, p := range []string{"socket", "stdout"} {
		if !strings.Contains(notes, "second: "+filepath.Join(dir, p)+" is served by another process") {
			t.Errorf("no note about %s: %s", p, notes)
		}
	}
	if !strings.Contains(notes, "second: "+first.devLog+" is served by another process") {
		t.Errorf("no note about the dev log: %s", notes)
	}
	// The first still serves.
	sendDatagram(t, filepath.Join(dir, "socket"), []byte("MESSAGE=still\n"))
	first.wait(t, 1)
	// A dead socket file (a manager killed) is replaced.
	first.native.Close()
	third, err := Start(Config{Dir: dir, Store: logs.NewStore(10, "")})
	if err != nil || third == nil || third.native == nil {
		t.Fatalf("third server: %v %v", third, err)
	}
	third.Close()
	if _, err := os.Lstat(filepath.Join(dir, "socket")); err == nil {
		t.Error("the socket file stayed after Close")
	}
}

// Bad input: fds on dev-log, several fds, an unsealed file from a user path, a datagram
// over MaxEntryBytes — none is stored, and the server goes on.
func TestServerRefusesBadInput(t *testing.T) {
	ts := startTestServer(t, t.TempDir())
	sock := filepath.Join(ts.dir, "socket")
	f, err := os.CreateTemp(ts.dir, "entry")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("MESSAGE=from a file\n")
	if os.Getuid() != 0 {
		sendDatagram(t, sock, nil, int(f.Fd())) // not in /dev/shm, /tmp, /var/tmp: refused
	}
	r, w, _ := os.Pipe()
	defer r.Close()
	defer w.Close()
	sendDatagram(t, sock, nil, int(r.Fd()))              // not a regular file
	sendDatagram(t, sock, nil, int(r.Fd()), int(w.Fd())) // two fds
	sendDatagram(t, filepath.Join(ts.dir, "dev-log"), []byte("<13>x: y"), int(r.Fd()))
	sendDatagram(t, sock, []byte("MESSAGE=after\n"))
	ls := ts.wait(t, 1)
	if len(ls) != 1 || ls[0].Text != "after" {
		t.Errorf("stored %+v", ls)
	}
	_ = strconv.Itoa
}

// A flood of large entries (and malformed ones) from one unit leaves the unit's lines within
// their byte bound: memory stays bounded whatever a client sends.
func TestServerFloodBounded(t *testing.T) {
	ts := startTestServer(t, t.TempDir())
	ts.store.SetUnitBytes(4 << 20)
	sock := filepath.Join(ts.dir, "socket")
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 1<<20)
	to := &unix.SockaddrUnix{Name: sock}
	big := []byte("MESSAGE=" + strings.Repeat("y", 100<<10) + "\n")
	junk := []byte("DATA\n\xff\xff\xff\xff\xff\xff\xff\x7f\n" + strings.Repeat("\x00", 1000))
	const n = 400 // 40 MB of entries
	for i := 0; i < n; i++ {
		unix.Sendmsg(fd, junk, nil, to, 0)
		if err := unix.Sendmsg(fd, big, nil, to, 0); err != nil {
			t.Fatal(err)
		}
	}
	unix.Sendmsg(fd, []byte("MESSAGE=last\n"), nil, to, 0)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ls := ts.store.Select(nil, logs.Range{Lines: -1})
		if len(ls) > 0 && ls[len(ls)-1].Text == "last" {
			size := 0
			for i := range ls {
				size += len(ls[i].Text)
			}
			if size > 4<<20 || len(ls) < 10 {
				t.Errorf("%d lines of %d bytes kept, bound 4 MiB", len(ls), size)
			}
			if ls[len(ls)-1].Seq != n+1 {
				t.Errorf("last line is number %d, want %d (a junk datagram was stored?)", ls[len(ls)-1].Seq, n+1)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the last line did not come: %d lines", len(ls))
		}
		time.Sleep(10 * time.Millisecond)
	}
}
