package spawn

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestClosestRlimit(t *testing.T) {
	tests := []struct {
		name  string
		want  Rlimit
		hard  uint64
		fixed Rlimit
		ok    bool
	}{
		{"above the hard limit", Rlimit{7, 65535, 65535}, 20000, Rlimit{7, 20000, 20000}, true},
		{"soft below, hard above", Rlimit{7, 4096, 65535}, 20000, Rlimit{7, 4096, 20000}, true},
		{"infinity", Rlimit{7, rlimInfinity, rlimInfinity}, 20000, Rlimit{7, 20000, 20000}, true},
		// The EPERM had other reasons: systemd propagates it.
		{"hard limit infinite", Rlimit{7, 65535, 65535}, rlimInfinity, Rlimit{}, false},
		// Within the hard limit there is nothing closer to try.
		{"within", Rlimit{7, 1024, 4096}, 20000, Rlimit{}, false},
		{"at the hard limit", Rlimit{7, 20000, 20000}, 20000, Rlimit{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fixed, ok := closestRlimit(tt.want, tt.hard)
			if ok != tt.ok || ok && fixed != tt.fixed {
				t.Errorf("closestRlimit(%v, %d) = %v, %v; want %v, %v", tt.want, tt.hard, fixed, ok, tt.fixed, tt.ok)
			}
		})
	}
}

func TestClosestNice(t *testing.T) {
	tests := []struct {
		name           string
		want, cur      int
		rlimNice       uint64
		next, how      int
		wantNextInCase bool
	}{
		{"no change", 0, 0, 0, 0, niceTolerated, false},
		{"raising needs no privilege", 5, 0, 0, 0, niceFails, false},
		// RLIMIT_NICE 0 allows 19 and up: a manager at 0 is lower already.
		{"lowering without RLIMIT_NICE", -5, 0, 0, 0, niceTolerated, false},
		// RLIMIT_NICE 25 allows -5 and up: from 10, -5 is as close to -10 as it gets.
		{"lowering to the limit", -10, 10, 25, -5, niceFallback, true},
		{"lowering, limit equal to cur", -10, -5, 25, -5, niceFallback, true},
		{"lowering below the limit already", -10, -8, 25, 0, niceTolerated, false},
		{"RLIMIT_NICE 40 allows -20", -20, 0, 40, -20, niceFallback, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			next, how := closestNice(tt.want, tt.cur, tt.rlimNice)
			if how != tt.how || tt.wantNextInCase && next != tt.next {
				t.Errorf("closestNice(%d, %d, %d) = %d, %d; want %d, %d", tt.want, tt.cur, tt.rlimNice, next, how, tt.next, tt.how)
			}
		})
	}
}

func TestRlimitToNice(t *testing.T) {
	for limit, want := range map[uint64]int{0: 19, 1: 19, 2: 18, 20: 0, 39: -19, 40: -20, 1000: -20} {
		if got := rlimitToNice(limit); got != want {
			t.Errorf("rlimitToNice(%d) = %d, want %d", limit, got, want)
		}
	}
}

// hasCap reports whether this process has capability c in its effective set.
func hasCap(t *testing.T, c uint) bool {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n&(1<<c) != 0
		}
	}
	t.Fatal("no CapEff in /proc/self/status")
	return false
}

func ownOOMScoreAdj(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// TestTolerance: what systemd's exec_child tolerates starts the child, on every interpreter:
// an OOM score refused for want of privilege (the child keeps the manager's), a limit above
// the hard one (the closest allowed), a nice level refused (the closest allowed). Where this
// process has the privilege the settings are simply applied; TestToleranceWithoutCaps runs
// this test again without it.
func TestTolerance(t *testing.T) {
	if os.Getenv("SPAWN_EXPECT_NO_CAPS") != "" && (hasCap(t, unix.CAP_SYS_RESOURCE) || hasCap(t, unix.CAP_SYS_NICE)) {
		t.Fatal("run without CAP_SYS_RESOURCE and CAP_SYS_NICE, but has them")
	}
	resource, niceCap := hasCap(t, unix.CAP_SYS_RESOURCE), hasCap(t, unix.CAP_SYS_NICE)
	ownOOM := ownOOMScoreAdj(t)
	ownNiceLevel, _ := ownNice()
	nrOpen, err := os.ReadFile("/proc/sys/fs/nr_open")
	if err != nil {
		t.Fatal(err)
	}
	aboveNROpen, _ := strconv.ParseUint(strings.TrimSpace(string(nrOpen)), 10, 64)
	aboveNROpen++
	ownHard := ownHardLimit(syscall.RLIMIT_NOFILE)
	shims(t, func(t *testing.T) {
		t.Run("oom_score_adj", func(t *testing.T) {
			want := ownOOM
			if resource {
				want = "-1000"
			}
			if rep := runChild(t, &Config{OOMScoreAdjust: ptrTo(-1000)}); rep.OOM != want {
				t.Errorf("oom_score_adj %s, want %s", rep.OOM, want)
			}
		})
		t.Run("oom_score_adj file refused", func(t *testing.T) {
			// A file that root too may not open for writing (EACCES): the write and close are
			// passed over, the steps after them run. A write that was not passed over would go
			// to fd 0 (no fd was saved), a pipe's read end here: EBADF, 206/OOM_ADJUST.
			setOOMPath(t, "/proc/sys/kernel/osrelease")
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			defer w.Close()
			rep := runChild(t, &Config{Stdin: r, OOMScoreAdjust: ptrTo(500), Nice: ptrTo(ownNiceLevel + 1)})
			if rep.OOM != ownOOM || rep.Nice != ownNiceLevel+1 {
				t.Errorf("oom_score_adj %s, nice %d; want %s, %d", rep.OOM, rep.Nice, ownOOM, ownNiceLevel+1)
			}
		})
		t.Run("oom_score_adj other error", func(t *testing.T) {
			setOOMPath(t, "/nonexistent/flint-oom")
			p, err := Start(&Config{Path: "/bin/true", Argv: []string{"true"}, OOMScoreAdjust: ptrTo(5)})
			if err != nil {
				t.Fatal(err)
			}
			var ee *ExecError
			if err := p.ExecResult(); !errors.As(err, &ee) || ee.Status != StatusOOMAdjust || !errors.Is(err, syscall.ENOENT) {
				t.Errorf("exec: %v, want 206/OOM_ADJUST ENOENT", err)
			}
			waitPid(t, p.Pid)
		})
		t.Run("nice", func(t *testing.T) {
			// Lowering the level needs CAP_SYS_NICE or an RLIMIT_NICE that allows it; else
			// the closest level allowed, or the manager's.
			want := -5
			if _, rl := ownNice(); !niceCap && rlimitToNice(rl) > want {
				switch next, how := closestNice(want, ownNiceLevel, rl); how {
				case niceFallback:
					want = next
				case niceTolerated:
					want = ownNiceLevel
				}
			}
			if rep := runChild(t, &Config{Nice: ptrTo(-5)}); rep.Nice != want {
				t.Errorf("nice %d, want %d", rep.Nice, want)
			}
		})
		t.Run("NOFILE above nr_open", func(t *testing.T) {
			// fs.nr_open refuses it with EPERM whatever the privilege: the closest is the
			// hard limit the manager has.
			c := &Config{Rlimits: []Rlimit{{Resource: syscall.RLIMIT_NOFILE, Soft: 1000, Hard: aboveNROpen}}}
			if ownHard == rlimInfinity {
				// No closer value: systemd fails with 205/LIMITS.
				p, err := Start(&Config{Path: "/bin/true", Argv: []string{"true"}, Rlimits: c.Rlimits})
				if err != nil {
					t.Fatal(err)
				}
				var ee *ExecError
				if err := p.ExecResult(); !errors.As(err, &ee) || ee.Status != StatusLimits {
					t.Errorf("exec: %v, want 205/LIMITS", err)
				}
				waitPid(t, p.Pid)
				return
			}
			// A shell reports: the Go runtime of the test binary raises its own soft limit.
			c.Path, c.Argv = "/bin/sh", []string{"sh", "-c", "ulimit -Sn; ulimit -Hn"}
			if got, want := commandOutput(t, c), fmt.Sprintf("%d\n%d\n", min(1000, ownHard), ownHard); got != want {
				t.Errorf("NOFILE %q, want %q", got, want)
			}
		})
		t.Run("fallback passed over", func(t *testing.T) {
			// Pretend the hard limit is lower than wanted: the fallback is compiled, the real
			// call succeeds, the fallback must not run.
			old := hardLimit
			hardLimit = func(int) uint64 { return 100 }
			t.Cleanup(func() { hardLimit = old })
			rep := runChild(t, &Config{Rlimits: []Rlimit{{Resource: unix.RLIMIT_MSGQUEUE, Soft: 123, Hard: 456}}})
			if got, want := rep.Rlimits["MSGQUEUE"], [2]uint64{123, 456}; got != want {
				t.Errorf("MSGQUEUE %v, want %v", got, want)
			}
		})
	})
}

func setOOMPath(t *testing.T, path string) {
	old := oomScoreAdjPath
	oomScoreAdjPath = path
	t.Cleanup(func() { oomScoreAdjPath = old })
}

// TestToleranceWithoutCaps runs TestTolerance as a container's root runs: without
// CAP_SYS_RESOURCE and CAP_SYS_NICE (dropped from the bounding set by setpriv, so that no
// exec regains them), where the OOM score and the nice level are refused.
func TestToleranceWithoutCaps(t *testing.T) {
	if os.Getenv("SPAWN_EXPECT_NO_CAPS") != "" {
		t.Skip("already without the capabilities")
	}
	if os.Getuid() != 0 {
		t.Skip("needs root to drop capabilities from the bounding set")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Fatal(err) // util-linux
	}
	cmd := exec.Command(setpriv, "--bounding-set=-sys_resource,-sys_nice", "--",
		SelfPath, "-test.run=^TestTolerance$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "SPAWN_EXPECT_NO_CAPS=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestTolerance") {
		t.Fatalf("TestTolerance without CAP_SYS_RESOURCE, CAP_SYS_NICE: %v\n%s", err, out)
	}
}
