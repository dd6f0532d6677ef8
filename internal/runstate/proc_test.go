package runstate

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestParseStat: /proc/PID/stat lines, command names with spaces and parentheses included.
func TestParseStat(t *testing.T) {
	tail := " 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 4242 1000 200 18446744073709551615"
	for _, tc := range []struct {
		name, line string
		want       Process
		ok         bool
	}{
		{"plain", "123 (sleep) S 1 123 123" + tail, Process{PID: 123, PPID: 1, PGID: 123, SID: 123, Start: 4242, Comm: "sleep"}, true},
		{"spaces and parens", "7 (a b) (c)) Z 6 5 4" + tail, Process{PID: 7, PPID: 6, PGID: 5, SID: 4, Start: 4242, Zombie: true, Comm: "a b) (c)"}, true},
		{"dead", "7 (x) X 6 5 4" + tail, Process{PID: 7, PPID: 6, PGID: 5, SID: 4, Start: 4242, Zombie: true, Comm: "x"}, true},
		{"short", "7 (x) S 6 5 4 0 0", Process{}, false},
		{"no parenthesis", "7 x S 6 5 4" + tail, Process{}, false},
		{"bad pid", "x (x) S 6 5 4" + tail, Process{}, false},
		{"bad ppid", "7 (x) S y 5 4" + tail, Process{}, false},
		{"bad start", "7 (x) S 6 5 4 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 -1", Process{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseStat([]byte(tc.line + "\n"))
			if ok != tc.ok || got != tc.want {
				t.Errorf("ParseStat = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
	self, ok := ReadProcess(os.Getpid())
	if !ok || self.PID != os.Getpid() || self.PPID != os.Getppid() || self.Start == 0 {
		t.Errorf("ReadProcess(self) = %+v, %v", self, ok)
	}
}

// TestTableAddress: the local address of an inode in the kernel's /proc/net tables.
func TestTableAddress(t *testing.T) {
	tcp := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:5381 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4711 1 0000000000000000 100 0 0 10 0
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4712 1 0000000000000000 100 0 0 10 0
`
	tcp6 := `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:5381 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4713 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4714 1 0000000000000000 100 0 0 10 0
`
	unixTable := `Num       RefCount Protocol Flags    Type St Inode Path
0000000000000000: 00000002 00000000 00010000 0001 01  4715 /run/a b.sock
0000000000000000: 00000002 00000000 00010000 0001 01  4716 @abstract
0000000000000000: 00000003 00000000 00000000 0001 03  4717
`
	for _, tc := range []struct {
		table, family string
		inode         uint64
		want          string
		ok            bool
	}{
		{tcp, "tcp", 4711, "127.0.0.1:21377", true},
		{tcp, "tcp", 4712, "0.0.0.0:22", true},
		{tcp, "tcp", 9999, "", false},
		{tcp6, "tcp6", 4713, "[::]:21377", true},
		{tcp6, "tcp6", 4714, "[::1]:80", true},
		{unixTable, "unix", 4715, "/run/a b.sock", true},
		{unixTable, "unix", 4716, "@abstract", true},
		{unixTable, "unix", 4717, "", false},
		{"", "tcp", 1, "", false},
	} {
		got, ok := TableAddress([]byte(tc.table), tc.family, tc.inode)
		if got != tc.want || ok != tc.ok {
			t.Errorf("TableAddress(%s, %d) = %q, %v; want %q, %v", tc.family, tc.inode, got, ok, tc.want, tc.ok)
		}
	}
}

// startSession starts argv in a session of its own, with extra descriptors from fd 3.
func startSession(t *testing.T, extra []*os.File, argv ...string) (*exec.Cmd, Proc) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.ExtraFiles = extra
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	p, ok := ReadProcess(cmd.Process.Pid)
	if !ok {
		t.Fatalf("no /proc entry for %d", cmd.Process.Pid)
	}
	return cmd, p.Proc()
}

// exited waits for cmd's exit (the test's own children: Stop signals, the test reaps).
func exited(t *testing.T, cmd *exec.Cmd) <-chan struct{} {
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	return done
}

// TestStopProcesses: Stop on real processes through pidfds. A recorded process, a shell whose
// background child is found through their session, a process that holds a recorded listening
// socket (and is recorded nowhere else) are stopped and the port can be bound again; a
// process whose pid the state names with another start time is left running.
func TestStopProcesses(t *testing.T) {
	const addr = "127.0.0.1:21390"
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	lf, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(lf.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	recorded, rp := startSession(t, nil, "sleep", "1000")
	shell, sp := startSession(t, nil, "sh", "-c", "sleep 1000 & wait")
	holder, _ := startSession(t, []*os.File{lf}, "sleep", "1000")
	lf.Close()
	ln.Close()
	unrelated, up := startSession(t, nil, "sleep", "1000")
	// The shell's child exists once the shell has forked it: wait for a process in its session.
	sys := NewProcSystem()
	defer sys.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		procs, _ := sys.Processes()
		n := 0
		for _, p := range procs {
			if p.SID == sp.PID {
				n++
			}
		}
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the shell did not start its child")
		}
		time.Sleep(10 * time.Millisecond)
	}
	s := &State{Written: NowTicks(), Units: []Unit{
		{Name: "a.service", KillMode: "control-group", KillSignal: syscall.SIGTERM, SendSIGKILL: true, StopTimeout: 10 * time.Second,
			Procs: []UnitProc{{rp, RoleMain}, {Proc{up.PID, up.Start + 1}, RoleOther}}},
		{Name: "b.service", KillMode: "control-group", KillSignal: syscall.SIGTERM, SendSIGKILL: true, StopTimeout: 10 * time.Second,
			Procs: []UnitProc{{sp, RoleMain}}},
		{Name: "c.socket", KillMode: "control-group", KillSignal: syscall.SIGTERM, SendSIGKILL: true, StopTimeout: 10 * time.Second,
			Sockets: []Socket{{Inode: st.Ino, Family: "tcp", Address: addr}}},
	}}
	var log []string
	res, err := Stop(s, sys, os.Getpid(), StopOptions{Log: func(u, msg string) { log = append(log, u+": "+msg) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("log:\n%s", strings.Join(log, "\n"))
	if want := (Result{Signalled: 4, Replaced: 1}); res != want {
		t.Errorf("result %+v, want %+v", res, want)
	}
	for _, c := range []*exec.Cmd{recorded, shell, holder} {
		select {
		case <-exited(t, c):
		case <-time.After(10 * time.Second):
			t.Errorf("%v (pid %d) still running", c.Args, c.Process.Pid)
		}
	}
	if p, ok := ReadProcess(up.PID); !ok || p.Start != up.Start {
		t.Errorf("the unrelated process %d was stopped", up.PID)
	}
	unrelated.Process.Kill()
	for _, want := range []string{
		"c.socket: Found left-over process " + strconv.Itoa(holder.Process.Pid) + " (sleep) of the previous manager (holds " + addr + "); sending SIGTERM.",
		"b.service: Found left-over process ",
		"of the previous manager (session of " + strconv.Itoa(sp.PID) + "); sending SIGTERM.",
		"a.service: Process " + strconv.Itoa(up.PID) + " is not the one the previous manager recorded",
	} {
		if !strings.Contains(strings.Join(log, "\n"), want) {
			t.Errorf("log lacks %q", want)
		}
	}
	l2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the port is still taken: %v", err)
	}
	l2.Close()
}
