package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flint-init/flint/bench/internal/procnet"
)

func TestWriteUnits(t *testing.T) {
	tests := []struct {
		variant      string
		sockets      bool
		targetWants  string // one word chain.target must want
		service2Has  string // a line chain2.service must have
		targetLacks  string
		service2Lack string
	}{
		{variant: "A", sockets: false, targetWants: "chain16.service", service2Has: "Requires=chain1.service\nAfter=chain1.service\n[Service]\nType=notify\n"},
		{variant: "B", sockets: true, targetWants: "chain16.service", service2Lack: "Requires="},
		{variant: "C", sockets: true, targetWants: "chain16.socket", targetLacks: ".service", service2Lack: "Type=notify"},
	}
	for _, tt := range tests {
		t.Run(tt.variant, func(t *testing.T) {
			units := filepath.Join(t.TempDir(), "units")
			if err := writeUnits(units, tt.variant, "/bin/chainsvc", "/d", "/d/log", 300*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			read := func(name string) string {
				b, err := os.ReadFile(filepath.Join(units, name))
				if err != nil {
					t.Fatal(err)
				}
				return string(b)
			}
			_, err := os.Stat(filepath.Join(units, "chain16.socket"))
			if (err == nil) != tt.sockets {
				t.Errorf("chain16.socket exists: %v, want %v", err == nil, tt.sockets)
			}
			target := read("chain.target")
			if !strings.Contains(target, tt.targetWants) {
				t.Errorf("chain.target does not want %s:\n%s", tt.targetWants, target)
			}
			if tt.targetLacks != "" && strings.Contains(target, tt.targetLacks) {
				t.Errorf("chain.target has %q:\n%s", tt.targetLacks, target)
			}
			svc := read("chain2.service")
			if !strings.Contains(svc, "DefaultDependencies=no") || !strings.Contains(svc, "-k 2 -dir /d -log /d/log -init 300ms") {
				t.Errorf("chain2.service:\n%s", svc)
			}
			if tt.service2Has != "" && !strings.Contains(svc, tt.service2Has) {
				t.Errorf("chain2.service lacks %q:\n%s", tt.service2Has, svc)
			}
			if tt.service2Lack != "" && strings.Contains(svc, tt.service2Lack) {
				t.Errorf("chain2.service has %q:\n%s", tt.service2Lack, svc)
			}
		})
	}
	if err := writeUnits(t.TempDir(), "D", "/bin/x", "/d", "/d/log", time.Second); err == nil {
		t.Error("variant D accepted")
	}
}

func TestReadLog(t *testing.T) {
	p := filepath.Join(t.TempDir(), "events.log")
	os.WriteFile(p, []byte("start 2 100\nstart 1 150\nready 1 450\nready 2 460\n"), 0o644)
	ev, err := readLog(p)
	if err != nil || ev.start[2] != 100 || ev.start[1] != 150 || ev.ready[1] != 450 || ev.ready[2] != 460 {
		t.Fatalf("readLog = %+v, %v", ev, err)
	}
	os.WriteFile(p, []byte("start x\n"), 0o644)
	if _, err := readLog(p); err == nil {
		t.Error("bad line accepted")
	}
}

func TestAskAndListening(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s16.sk")
	if procnet.UnixListening(sock) {
		t.Fatal("listening before the socket exists")
	}
	errc := make(chan error, 1)
	go func() { errc <- askPolling(sock, 5*time.Second) }() // waits for the socket to appear
	time.Sleep(50 * time.Millisecond)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if !procnet.UnixListening(sock) {
		t.Fatal("UnixListening = false on a listening socket")
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("16\n"))
			c.Close()
		}
	}()
	if err := <-errc; err != nil {
		t.Fatalf("askPolling: %v", err)
	}
}

func TestSplitHops(t *testing.T) {
	// flint logs -o json as journalctl writes it: the manager's messages about a unit carry
	// UNIT= and _TRANSPORT=journal, times in µs.
	base := time.Date(2026, 11, 25, 12, 36, 5, 0, time.UTC).UnixNano()
	us := func(ns int64) string { return strconv.FormatInt((base+ns)/1000, 10) }
	logs := []byte(`{"__REALTIME_TIMESTAMP":"` + us(100_000) + `","UNIT":"chain2.service","_TRANSPORT":"journal","MESSAGE":"chain2.service: Triggered by chain2.socket (connection on /d/s2.sk)."}
{"__REALTIME_TIMESTAMP":"` + us(500_000) + `","UNIT":"chain1.service","_TRANSPORT":"journal","MESSAGE":"chain1.service: Triggered by chain1.socket (connection on /d/s1.sk)."}
{"__REALTIME_TIMESTAMP":"` + us(600_000) + `","_SYSTEMD_UNIT":"chain1.service","UNIT":"chain1.service","_TRANSPORT":"stdout","MESSAGE":"chain1.service: Triggered by nothing: the daemon's own line"}
{"__REALTIME_TIMESTAMP":"` + us(700_000) + `","UNIT":"other.service","_TRANSPORT":"journal","MESSAGE":"other.service: Triggered by other.socket"}

`)
	trig, err := parseTriggers(logs)
	if err != nil {
		t.Fatal(err)
	}
	if len(trig) != 2 || trig[2] != base+100_000 || trig[1] != base+500_000 {
		t.Fatalf("parseTriggers = %v, want chain2 at +100µs and chain1 at +500µs (not the daemon's line)", trig)
	}
	if _, err := parseTriggers([]byte("not json\n")); err == nil {
		t.Error("bad line accepted")
	}
	ev := events{start: map[int]int64{2: base + 400, 1: base + 900}}
	to, from := splitHops(ev, map[int]int64{1: base + 500})
	if to != 100 || from != 400 {
		t.Errorf("splitHops = %v, %v; want 100ns, 400ns", to, from)
	}
	if to, from := splitHops(events{}, nil); to != 0 || from != 0 {
		t.Errorf("splitHops of nothing = %v, %v", to, from)
	}
}

// TestChainsvc builds the C daemon and runs a chain of three: 1 and 2 open their own sockets
// (-listen, as in A), 3 is handed its listening socket as fd 3 (as by a manager, B and C), and a
// client asks 3, whose answer needs 2's, which needs 1's. A service without a socket fails.
// Both builds are run: with libsystemd, and static with sd_listen_fds/sd_notify written out.
func TestChainsvc(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	for _, tc := range []struct{ name, flags string }{
		{"libsystemd", "-lsystemd"},
		{"static", "-static -DCHAINSVC_NO_LIBSYSTEMD"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "chainsvc")
			args := append([]string{"-O2", "-Wall", "-Werror", "-o", bin, "testdata/chainsvc.c"}, strings.Fields(tc.flags)...)
			if out, err := exec.Command("gcc", args...).CombinedOutput(); err != nil {
				t.Skipf("cannot build testdata/chainsvc.c %s (libsystemd-dev? static libc?): %v: %s", tc.flags, err, out)
			}
			testChain(t, dir, bin)
		})
	}
}

func testChain(t *testing.T, dir, bin string) {
	log := filepath.Join(dir, "events.log")
	start := func(cmd *exec.Cmd) {
		t.Helper()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	}
	args := func(k int, extra ...string) []string {
		return append([]string{"-k", strconv.Itoa(k), "-dir", dir, "-log", log, "-init", "20ms"}, extra...)
	}
	start(exec.Command(bin, args(1, "-listen")...))
	if err := waitListening(filepath.Join(dir, "s1.sk"), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	start(exec.Command(bin, args(2, "-listen")...))
	if err := waitListening(filepath.Join(dir, "s2.sk"), 5*time.Second); err != nil {
		t.Fatal(err)
	}

	ln, err := net.Listen("unix", filepath.Join(dir, "s3.sk"))
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false) // the path stays for the daemon's clients
	f, err := ln.(*net.UnixListener).File()
	ln.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// LISTEN_PID must be the daemon's own pid: a shell sets it and execs the daemon.
	sh := exec.Command("sh", append([]string{"-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@"`, bin}, args(3)...)...)
	sh.ExtraFiles = []*os.File{f}
	start(sh)

	c, err := net.DialTimeout("unix", filepath.Join(dir, "s3.sk"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || line != "3\n" {
		t.Fatalf("service 3 answered %q, %v", line, err)
	}
	ev, err := readLog(log)
	if err != nil {
		t.Fatal(err)
	}
	for k := 1; k <= 3; k++ {
		if ev.start[k] == 0 || ev.ready[k] < ev.start[k] {
			t.Errorf("service %d: start %d ready %d", k, ev.start[k], ev.ready[k])
		}
	}

	t.Run("no_socket", func(t *testing.T) {
		out, err := exec.Command(bin, "-k", "1", "-dir", dir, "-log", log, "-init", "0s").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "no socket handed over") {
			t.Errorf("without a socket: %v: %s", err, out)
		}
	})
	t.Run("bad_init", func(t *testing.T) {
		if err := exec.Command(bin, "-k", "1", "-dir", dir, "-log", log, "-init", "3 parsecs").Run(); err == nil {
			t.Error("-init '3 parsecs' accepted")
		}
	})
}
