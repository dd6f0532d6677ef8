package spawn

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// probeScript prints what the shell itself (the process Start made, $$) was given: its
// allowed CPUs, scheduling, I/O priority, timer slack, core dump filter, memory policy (the
// policy numa_maps shows for a mapping without one of its own) and SIGPIPE's disposition.
const probeScript = `grep -E '^(Cpus_allowed_list|SigIgn)' /proc/$$/status
echo "slack $(cat /proc/$$/timerslack_ns)"
echo "coredump $(cat /proc/$$/coredump_filter)"
chrt -p $$
ionice -p $$
echo "numa $(head -1 /proc/$$/numa_maps | cut -d' ' -f2)"`

func probe(t *testing.T, ps *ProcessSettings, ignorePipe bool) map[string]string {
	t.Helper()
	for _, tool := range []string{"chrt", "ionice", "grep", "cut"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s: %v", tool, err)
		}
	}
	out := commandOutput(t, &Config{Path: "/bin/sh", Argv: []string{"sh", "-c", probeScript}, Process: ps, IgnoreSIGPIPE: ignorePipe})
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		switch {
		case strings.HasPrefix(line, "pid ") && strings.Contains(line, "scheduling policy"):
			got["policy"] = line[strings.LastIndexByte(line, ':')+2:]
		case strings.HasPrefix(line, "pid ") && strings.Contains(line, "scheduling priority"):
			got["priority"] = line[strings.LastIndexByte(line, ':')+2:]
		case strings.Contains(line, ": prio "), line == "none: prio 0", strings.HasPrefix(line, "idle"):
			got["ionice"] = line
		default:
			k, v, _ := strings.Cut(line, " ")
			if k2, v2, ok := strings.Cut(line, ":"); ok && !strings.Contains(k2, " ") {
				k, v = k2, v2
			}
			got[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return got
}

func u64(v uint64) *uint64 { return &v }
func intp(v int) *int      { return &v }

func TestProcessSettings(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root (real-time scheduling, I/O class)")
	}
	last := uint64(1) << (runtime.NumCPU() - 1) // the highest CPU only
	ps := &ProcessSettings{
		CoredumpFilter: u64(0x3f),
		Sched:          &Sched{Policy: 2 /* SCHED_RR */, Priority: 7, ResetOnFork: true},
		CPUAffinity:    []uint64{last},
		NUMA:           &NUMA{Mode: 3 /* MPOL_INTERLEAVE */, Nodes: []uint64{1}},
		IOPrio:         intp(3<<13 | 0), // idle
	}
	shims(t, func(t *testing.T) {
		got := probe(t, ps, false)
		want := map[string]string{
			"Cpus_allowed_list": itoa(runtime.NumCPU() - 1),
			"coredump":          "0000003f",
			"policy":            "SCHED_RR|SCHED_RESET_ON_FORK",
			"priority":          "7",
			"ionice":            "idle",
			"numa":              "interleave:0",
			"SigIgn":            "0000000000000000",
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %q, want %q (all: %q)", k, got[k], v, got)
			}
		}
	})
}

func TestProcessSettingsOther(t *testing.T) {
	// The normal policies, best-effort I/O, bind policy, SIGPIPE ignored: what an
	// unprivileged manager may ask too.
	ps := &ProcessSettings{
		Sched:  &Sched{Policy: 3 /* SCHED_BATCH */},
		IOPrio: intp(2<<13 | 6),
		NUMA:   &NUMA{Mode: 2 /* MPOL_BIND */, Nodes: []uint64{1}},
		// A timer slack of 0 would be the default (50000) again.
		TimerSlackNSec: u64(123456),
	}
	shims(t, func(t *testing.T) {
		got := probe(t, ps, true)
		want := map[string]string{
			"policy":   "SCHED_BATCH",
			"priority": "0",
			"ionice":   "best-effort: prio 6",
			"numa":     "bind:0",
			"slack":    "123456",
			"SigIgn":   "0000000000001000", // SIGPIPE (13)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %q, want %q (all: %q)", k, got[k], v, got)
			}
		}
	})
}

// TestProcessSettingsErrors: a setting the kernel refuses ends the child with systemd's
// status for it, before its exec.
func TestProcessSettingsErrors(t *testing.T) {
	cases := []struct {
		name   string
		ps     ProcessSettings
		status int
		step   string
		errno  syscall.Errno
	}{
		{"affinity", ProcessSettings{CPUAffinity: []uint64{0, 0, 0, 1 << 63}}, StatusCPUAffinity, "sched_setaffinity", syscall.EINVAL},
		{"empty-affinity", ProcessSettings{CPUAffinity: []uint64{}}, StatusCPUAffinity, "sched_setaffinity", syscall.EINVAL},
		{"sched", ProcessSettings{Sched: &Sched{Policy: 1, Priority: 0}}, StatusSetScheduler, "sched_setattr", syscall.EINVAL},
		{"numa", ProcessSettings{NUMA: &NUMA{Mode: 2, Nodes: []uint64{1 << 40}}}, StatusNUMAPolicy, "set_mempolicy", syscall.EINVAL},
		{"ioprio", ProcessSettings{IOPrio: intp(7 << 13)}, StatusIOPrio, "ioprio_set", syscall.EINVAL},
	}
	shims(t, func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				ps := c.ps
				p, err := Start(&Config{Path: "/bin/true", Argv: []string{"true"}, Process: &ps})
				if err != nil {
					t.Fatal(err)
				}
				err = p.ExecResult()
				ws := waitPid(t, p.Pid)
				var ee *ExecError
				if !errors.As(err, &ee) || ee.Status != c.status || ee.Step != c.step || ee.Err != c.errno {
					t.Fatalf("ExecResult = %v, want status %d step %s errno %v", err, c.status, c.step, c.errno)
				}
				if ws.ExitStatus() != c.status {
					t.Errorf("exit status %d, want %d", ws.ExitStatus(), c.status)
				}
			})
		}
	})
}

// TestGate: the child execs only once a byte was written to the gate (what the parent wrote
// before is there for it), and does not keep the gate's fd.
func TestGate(t *testing.T) {
	shims(t, func(t *testing.T) {
		marker := tempFileIn(t, "marker")
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		out, ow, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		p, err := Start(&Config{Path: "/bin/sh", Argv: []string{"sh", "-c", "cat " + marker.Name() + "; ls -l /proc/$$/fd"},
			Stdout: ow, ExtraFiles: []*os.File{marker}, Gate: r})
		r.Close()
		ow.Close()
		if err != nil {
			t.Fatal(err)
		}
		marker.WriteString("written before the gate opened\n")
		w.Write([]byte{0})
		w.Close()
		b, _ := io.ReadAll(out)
		if err := p.ExecResult(); err != nil {
			t.Fatal(err)
		}
		if ws := waitPid(t, p.Pid); ws.ExitStatus() != 0 {
			t.Fatalf("exit %v", ws)
		}
		got := string(b)
		if !strings.HasPrefix(got, "written before the gate opened\n") || !strings.Contains(got, " 3 -> ") || strings.Contains(got, " 4 -> ") {
			t.Errorf("output %q: the marker, then fds 0-3 only", got)
		}
	})
}

// TestCoredumpFilterOwnMemory: the core dump filter a child is given is its own: the
// manager's (this process's, which a CLONE_VM child would share) stays as it was.
func TestCoredumpFilterOwnMemory(t *testing.T) {
	before, err := os.ReadFile("/proc/self/coredump_filter")
	if err != nil {
		t.Skip(err)
	}
	shims(t, func(t *testing.T) {
		out := commandOutput(t, &Config{Path: "/bin/cat", Argv: []string{"cat", "/proc/self/coredump_filter"},
			Process: &ProcessSettings{CoredumpFilter: u64(0x7)}})
		if strings.TrimSpace(out) != "00000007" {
			t.Errorf("child's filter %q", out)
		}
		if after, _ := os.ReadFile("/proc/self/coredump_filter"); string(after) != string(before) {
			t.Errorf("the parent's filter changed from %q to %q", before, after)
		}
	})
}
