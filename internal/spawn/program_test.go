package spawn

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// decodeExec relocates a compiled block the way the shims do and reads back the execve op's
// path, argv and envp, and whether a LISTEN_PID op points into the right slot.
func decodeExec(t *testing.T, block []byte) (path string, argv, env []string) {
	t.Helper()
	w := make([]uint64, (len(block)+7)/8)
	mem := unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), len(w)*8)
	copy(mem, block)
	base := uint64(uintptr(unsafe.Pointer(&w[0])))
	ops, nops := relocate(w)
	cstr := func(addr uint64) string {
		off := addr - base
		if off >= uint64(len(mem)) {
			t.Fatalf("pointer %#x outside the block", addr)
		}
		end := bytes.IndexByte(mem[off:], 0)
		if end < 0 {
			t.Fatal("unterminated string")
		}
		return string(mem[off : off+uint64(end)])
	}
	array := func(addr uint64) []string {
		var out []string
		for i := (addr - base) / 8; w[i] != 0; i++ {
			out = append(out, cstr(w[i]))
		}
		return out
	}
	first := (uint64(ops) - base) / 8
	last := w[first+(uint64(nops)-1)*opWords:]
	if last[0] != syscall.SYS_EXECVE {
		t.Fatalf("last op is syscall %d, not execve", last[0])
	}
	return cstr(last[1]), array(last[2]), array(last[3])
}

func FuzzCompileExec(f *testing.F) {
	f.Add("/bin/true", "true\x00-x", "A=1\x00LISTEN_PID=3\x00B=", true)
	f.Add("", "", "", false)
	f.Fuzz(func(t *testing.T, path, args, envs string, listen bool) {
		split := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, "\x00")
		}
		c := &Config{Path: path, Argv: split(args), Env: split(envs), SetListenPID: listen}
		if strings.IndexByte(path, 0) >= 0 {
			if checkNUL(c) == nil {
				t.Fatal("a path with NUL passes checkNUL")
			}
			return
		}
		gotPath, gotArgv, gotEnv := decodeExec(t, compile(c, 4, nil))
		wantArgv := c.Argv
		var wantEnv []string
		seen := false
		for _, e := range c.Env {
			if listen && strings.HasPrefix(e, "LISTEN_PID=") {
				if !seen {
					wantEnv = append(wantEnv, "LISTEN_PID=")
					seen = true
				}
				continue
			}
			wantEnv = append(wantEnv, e)
		}
		if listen && !seen {
			wantEnv = append(wantEnv, "LISTEN_PID=")
		}
		if gotPath != path || !slices.Equal(gotArgv, wantArgv) || !slices.Equal(gotEnv, wantEnv) {
			t.Fatalf("decoded %q %q %q, want %q %q %q", gotPath, gotArgv, gotEnv, path, wantArgv, wantEnv)
		}
	})
}

// TestInetdStyle passes one connected socket as stdin and stdout: cat echoes through it.
func TestInetdStyle(t *testing.T) {
	shims(t, func(t *testing.T) {
		fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		ours := os.NewFile(uintptr(fds[0]), "ours")
		conn := os.NewFile(uintptr(fds[1]), "conn")
		defer ours.Close()
		p, err := Start(&Config{Path: "/bin/cat", Argv: []string{"cat"}, Stdin: conn, Stdout: conn})
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := p.ExecResult(); err != nil {
			t.Fatal(err)
		}
		ours.WriteString("ping\n")
		syscall.Shutdown(fds[0], syscall.SHUT_WR)
		buf := make([]byte, 16)
		n, _ := ours.Read(buf)
		if string(buf[:n]) != "ping\n" {
			t.Errorf("echo %q", buf[:n])
		}
		waitPid(t, p.Pid)
	})
}

func TestNULRejected(t *testing.T) {
	for name, c := range map[string]*Config{
		"path": {Path: "/bin/true\x00x", Argv: []string{"true"}},
		"argv": {Path: "/bin/true", Argv: []string{"tr\x00ue"}},
		"env":  {Path: "/bin/true", Argv: []string{"true"}, Env: []string{"A=\x00"}},
		"dir":  {Path: "/bin/true", Argv: []string{"true"}, Dir: "/\x00"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Start(c); err == nil || !strings.Contains(err.Error(), "NUL") {
				t.Errorf("Start = %v, want a NUL error", err)
			}
		})
	}
}

// TestBlockingModeUntouched: Start must not make the manager's non-blocking sockets blocking
// (os.File.Fd would).
func TestBlockingModeUntouched(t *testing.T) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	a := os.NewFile(uintptr(fds[0]), "a")
	defer a.Close()
	defer syscall.Close(fds[1])
	p, err := Start(&Config{Path: "/bin/true", Argv: []string{"true"}, ExtraFiles: []*os.File{a}})
	if err != nil {
		t.Fatal(err)
	}
	p.ExecResult()
	waitPid(t, p.Pid)
	fd, _ := fileFD(a)
	fl, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFL, 0)
	if e != 0 || fl&syscall.O_NONBLOCK == 0 {
		t.Errorf("socket is blocking after Start (flags %#x, %v)", fl, e)
	}
}
