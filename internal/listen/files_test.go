package listen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/unit"
)

func TestFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x", "y", "fifo")
	cfg := section(func(c *unit.SocketSection) {
		c.SocketMode, c.DirectoryMode, c.PipeSize = 0o620, 0o700, 256*1024
		c.SocketGroup = "nogroup"
	})
	s := mustOpen(t, unit.Listen{Kind: unit.ListenFIFO, Path: path}, cfg)
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFIFO || st.Mode&0o777 != 0o620 || st.Gid != 65534 {
		t.Errorf("stat = mode %o gid %d, want fifo 0620 gid 65534", st.Mode, st.Gid)
	}
	if fi, err := os.Stat(filepath.Dir(path)); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("parent: %v %v", fi.Mode(), err)
	}
	fl, _ := unix.FcntlInt(uintptr(s.Fd()), unix.F_GETFL, 0)
	if fl&unix.O_ACCMODE != unix.O_RDWR {
		t.Errorf("FIFO not opened read-write: flags %#x", fl)
	}
	if sz, err := unix.FcntlInt(uintptr(s.Fd()), unix.F_GETPIPE_SZ, 0); err != nil || sz != 256*1024 {
		t.Errorf("pipe size = %d, %v", sz, err)
	}
	// A writer makes it readable.
	w, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("hello"))
	w.Close()
	waitReadable(t, s.Fd())
	// Reopening an existing FIFO works (systemd reuses it).
	s2 := mustOpen(t, unit.Listen{Kind: unit.ListenFIFO, Path: path}, cfg)
	_ = s2
}

func TestFIFONotAFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "regular")
	os.WriteFile(path, nil, 0o644)
	_, err := Open(unit.Listen{Kind: unit.ListenFIFO, Path: path}, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "listen "+path+": ") || !errors.Is(err, unix.EEXIST) {
		t.Fatalf("err = %v", err)
	}
}

func TestSpecial(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		writable bool
		wantAcc  int
		wantErr  string
	}{
		{"char device read-only", "/dev/null", false, unix.O_RDONLY, ""},
		{"char device writable", "/dev/null", true, unix.O_RDWR, ""},
		{"proc file", "/proc/self/stat", false, unix.O_RDONLY, ""},
		{"directory refused", "/dev", false, 0, "listen /dev: not a regular file or character device: file exists"},
		{"missing", "/nonexistent-flint", false, 0, "listen /nonexistent-flint: open: no such file or directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := section(func(c *unit.SocketSection) { c.Writable = tc.writable })
			spec := unit.Listen{Kind: unit.ListenSpecial, Path: tc.path}
			if tc.wantErr != "" {
				_, err := Open(spec, cfg)
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			s := mustOpen(t, spec, cfg)
			fl, _ := unix.FcntlInt(uintptr(s.Fd()), unix.F_GETFL, 0)
			if fl&unix.O_ACCMODE != tc.wantAcc {
				t.Errorf("access mode = %d, want %d", fl&unix.O_ACCMODE, tc.wantAcc)
			}
		})
	}
}

func TestMessageQueue(t *testing.T) {
	name := fmt.Sprintf("/flint-listen-test-%d", os.Getpid())
	cfg := section(func(c *unit.SocketSection) {
		c.SocketMode, c.MessageQueueMaxMessages, c.MessageQueueMessageSize, c.RemoveOnStop = 0o600, 5, 128, true
	})
	s, err := Open(unit.Listen{Kind: unit.ListenMessageQueue, Path: name}, cfg)
	if errors.Is(err, unix.ENOSYS) {
		t.Skip("no POSIX message queues in this kernel")
	}
	if err != nil {
		t.Fatal(err)
	}
	checkFdFlags(t, s.Fd(), false)
	var attr mqAttr
	if _, _, e := unix.Syscall(unix.SYS_MQ_GETSETATTR, uintptr(s.Fd()), 0, uintptr(unsafe.Pointer(&attr))); e != 0 {
		t.Fatal(e)
	}
	if attr.MaxMsg != 5 || attr.MsgSize != 128 {
		t.Errorf("attr = %+v", attr)
	}
	var st unix.Stat_t
	if err := unix.Fstat(s.Fd(), &st); err != nil || st.Mode&0o777 != 0o600 {
		t.Errorf("mode = %o, %v", st.Mode, err)
	}
	if err := s.Close(cfg); err != nil {
		t.Fatal(err)
	}
	// RemoveOnStop unlinked it: unlinking again fails with ENOENT.
	if err := mqUnlink(name); !errors.Is(err, unix.ENOENT) {
		mqUnlink(name)
		t.Errorf("queue still there after Close with RemoveOnStop: %v", err)
	}
}

func TestSymlinksAndRemoveOnStop(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name         string
		spec         unit.Listen
		others       []unit.Listen
		removeOnStop bool
		wantLinks    bool
	}{
		{"unix socket", unixPath(unit.ListenStream, filepath.Join(dir, "a.sock")), nil, true, true},
		{"kept without RemoveOnStop", unixPath(unit.ListenStream, filepath.Join(dir, "b.sock")), nil, false, true},
		{"fifo", unit.Listen{Kind: unit.ListenFIFO, Path: filepath.Join(dir, "c.fifo")}, nil, true, true},
		{"two paths: no symlinks", unixPath(unit.ListenStream, filepath.Join(dir, "d.sock")),
			[]unit.Listen{unixPath(unit.ListenDatagram, filepath.Join(dir, "e.sock"))}, true, false},
		{"tcp: no symlinks", tcp("127.0.0.1", 20240), nil, true, false},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			links := []string{filepath.Join(dir, fmt.Sprint("l", i, "a")), filepath.Join(dir, "sub", fmt.Sprint("l", i, "b"))}
			cfg := section(func(c *unit.SocketSection) {
				c.Listen = append([]unit.Listen{tc.spec}, tc.others...)
				c.Symlinks, c.RemoveOnStop = links, tc.removeOnStop
			})
			s, err := Open(tc.spec, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range links {
				got, err := os.Readlink(l)
				if tc.wantLinks && (err != nil || got != tc.spec.Path) {
					t.Errorf("readlink %s = %q, %v; want %s", l, got, err, tc.spec.Path)
				}
				if !tc.wantLinks && err == nil {
					t.Errorf("unexpected symlink %s -> %s", l, got)
				}
			}
			if len(s.Warnings) != 0 {
				t.Errorf("warnings: %q", s.Warnings)
			}
			if err := s.Close(cfg); err != nil {
				t.Fatal(err)
			}
			if tc.spec.Path == "" {
				return
			}
			_, err = os.Lstat(tc.spec.Path)
			if tc.removeOnStop != errors.Is(err, os.ErrNotExist) {
				t.Errorf("after Close: lstat %s: %v (RemoveOnStop=%v)", tc.spec.Path, err, tc.removeOnStop)
			}
			_, err = os.Lstat(links[0])
			if tc.wantLinks && tc.removeOnStop != errors.Is(err, os.ErrNotExist) {
				t.Errorf("after Close: symlink %s: %v", links[0], err)
			}
		})
	}
}

func TestSymlinkOccupied(t *testing.T) {
	dir := t.TempDir()
	path, link := filepath.Join(dir, "s.sock"), filepath.Join(dir, "link")
	os.WriteFile(link, []byte("occupied"), 0o644)
	spec := unixPath(unit.ListenStream, path)
	cfg := section(func(c *unit.SocketSection) { c.Listen, c.Symlinks = []unit.Listen{spec}, []string{link} })
	s := mustOpen(t, spec, cfg)
	if len(s.Warnings) != 1 || !strings.Contains(s.Warnings[0], "failed to create symlink "+link) {
		t.Errorf("warnings = %q", s.Warnings)
	}
	s.Close(cfg)
	cfg.RemoveOnStop = true
	s = mustOpen(t, spec, cfg)
	if got, err := os.Readlink(link); err != nil || got != path || len(s.Warnings) != 0 {
		t.Errorf("with RemoveOnStop the link is replaced: %q %v %q", got, err, s.Warnings)
	}
}

// TestNoFdLeak opens and closes many sockets of every kind and checks that the process
// holds as many descriptors afterwards as before.
func TestNoFdLeak(t *testing.T) {
	dir := t.TempDir()
	specs := []unit.Listen{
		unixPath(unit.ListenStream, filepath.Join(dir, "s.sock")),
		unixPath(unit.ListenDatagram, filepath.Join(dir, "d.sock")),
		unixPath(unit.ListenSequentialPacket, "@flint-leak-test"),
		tcp("127.0.0.1", 20241),
		udp("::1", 20242),
		tcp("", 20243),
		{Kind: unit.ListenFIFO, Path: filepath.Join(dir, "fifo")},
		{Kind: unit.ListenSpecial, Path: "/dev/null"},
		{Kind: unit.ListenNetlink, Family: unit.FamilyNetlink, NetlinkFamily: "route"},
	}
	cfg := section(func(c *unit.SocketSection) { c.KeepAlive, c.ReceiveBuffer = true, 65536 })
	before := countFds(t)
	for i := 0; i < 30; i++ {
		for _, sp := range specs {
			s, err := Open(sp, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Close(cfg); err != nil {
				t.Fatal(err)
			}
		}
		// Failing opens must not leak either.
		if _, err := Open(tcp("192.0.2.1", 20244), cfg); err == nil {
			t.Fatal("bind to a foreign address succeeded")
		}
	}
	if after := countFds(t); after != before {
		t.Fatalf("fd count %d -> %d", before, after)
	}
}
