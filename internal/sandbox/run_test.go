package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/flint-init/flint/internal/spawn"
	"golang.org/x/sys/unix"
)

// The test binary plays `flint __sandbox FD`.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == spawn.SandboxVerb {
		os.Exit(spawn.SandboxMain(os.Args[2:], Hook))
	}
	exe, err := os.Executable()
	if err == nil {
		spawn.SelfPath = exe
	}
	os.Exit(m.Run())
}

type probeReport struct {
	Status      map[string]string
	UID, GID    [3]int
	Groups      []int
	Securebits  string
	Personality string
	Keyring     string
	Invocation  string
	UserNS      string
	Calls       map[string]string
}

// buildProbe builds testdata/probe into a directory every user can reach.
func buildProbe(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("/var/tmp", "flint-probe-") // /tmp may be 0700 here
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	bin := filepath.Join(dir, "probe")
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/probe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build probe: %v\n%s", err, out)
	}
	return bin
}

// runProbe starts the probe under s as uid:gid (-1: root) through the sandboxed spawn path
// and returns its report, or the ExecError.
// With s nil the fast path starts it; mods change the Config.
func runProbe(t *testing.T, probe string, s *Settings, uid, gid int, mods ...func(*spawn.Config)) (*probeReport, error) {
	t.Helper()
	var spec []byte
	if s != nil {
		sp, err := Compile(s, uid, gid)
		if err != nil {
			t.Fatal(err)
		}
		spec, _ = json.Marshal(sp)
	}
	out := filepath.Join(filepath.Dir(probe), "report-"+strings.ReplaceAll(t.Name(), "/", "-"))
	os.Remove(out)
	c := &spawn.Config{Path: probe, Argv: []string{probe, out}, Sandbox: spec, NewSession: true, Env: []string{"PATH=/usr/bin:/bin"}}
	for _, m := range mods {
		m(c)
	}
	if uid >= 0 {
		c.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		os.Chmod(filepath.Dir(probe), 0o777)
	}
	p, err := spawn.Start(c)
	if err != nil {
		t.Fatal(err)
	}
	execErr := p.ExecResult()
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(p.Pid, &ws, 0, nil); err != nil {
		t.Fatal(err)
	}
	if execErr != nil {
		return nil, execErr
	}
	if !ws.Exited() || ws.ExitStatus() != 0 {
		t.Fatalf("probe ended %v", ws)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r probeReport
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r, nil
}

// TestSandboxedProbe runs the probe through the sandboxed spawn path under each setting and
// checks what it saw from inside.
func TestSandboxedProbe(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	probe := buildProbe(t)
	base := func() *Settings {
		return &Settings{CapabilityBoundingSet: CapAll, RestrictNamespaces: NamespacesAll, SystemCallErrorNumber: ErrnoKill}
	}
	sf := func(lines ...string) SyscallFilter {
		var f SyscallFilter
		for _, l := range lines {
			f, _ = ParseSyscallLine(f, l, true)
		}
		return f
	}
	nobody := 65534
	for _, tc := range []struct {
		name  string
		set   func(s *Settings)
		uid   int
		check func(t *testing.T, r *probeReport)
	}{
		{"bounding", func(s *Settings) { s.CapabilityBoundingSet = 1<<10 | 1<<13 }, -1, func(t *testing.T, r *probeReport) {
			want(t, r.Status["CapBnd"], "0000000000002400")
			want(t, r.Status["CapEff"], "0000000000002400")
		}},
		{"ambient-user", func(s *Settings) { s.AmbientCapabilities = 1 << 10 }, nobody, func(t *testing.T, r *probeReport) {
			want(t, r.Status["CapAmb"], "0000000000000400")
			want(t, r.Status["CapEff"], "0000000000000400")
			want(t, r.UID[0], nobody)
			want(t, r.Calls["bind-low-port"], "ok")
			want(t, r.Securebits, "0 ok")
		}},
		{"user-plain", func(s *Settings) { s.SystemCallFilter = sf("~@reboot") }, nobody, func(t *testing.T, r *probeReport) {
			want(t, r.Status["CapEff"], "0000000000000000")
			want(t, r.Status["NoNewPrivs"], "1") // implied: seccomp without CAP_SYS_ADMIN
			want(t, r.Calls["bind-low-port"], "EACCES")
			want(t, r.Calls["reboot-bad"], "signal SIGSYS")
		}},
		{"nnp", func(s *Settings) { s.NoNewPrivileges = true }, -1, func(t *testing.T, r *probeReport) {
			want(t, r.Status["NoNewPrivs"], "1")
		}},
		{"securebits", func(s *Settings) { s.SecureBits = 1 << 2 }, -1, func(t *testing.T, r *probeReport) {
			want(t, r.Securebits, "4 ok")
		}},
		{"deny-errno", func(s *Settings) {
			s.SystemCallFilter = sf("~@clock @reboot")
			s.SystemCallErrorNumber = int(syscall.EPERM)
		}, -1, func(t *testing.T, r *probeReport) {
			want(t, r.Status["Seccomp"], "2")
			want(t, r.Status["NoNewPrivs"], "0") // root keeps CAP_SYS_ADMIN: none implied
			want(t, r.Calls["adjtimex-read"], "EPERM")
			want(t, r.Calls["reboot-bad"], "EPERM")
			want(t, r.Calls["getpid"], "ok")
		}},
		{"allow-list", func(s *Settings) {
			s.SystemCallFilter = sf("@system-service")
			s.SystemCallErrorNumber = int(syscall.EPERM)
		}, -1, func(t *testing.T, r *probeReport) {
			want(t, r.Calls["reboot-bad"], "EPERM")
			want(t, r.Calls["mount-bad"], "EPERM")
			want(t, r.Calls["socket-inet"], "ok")
		}},
		{"families", func(s *Settings) { s.RestrictAddressFamilies, _ = ParseFamiliesLine(Families{}, "AF_UNIX AF_INET") }, -1, func(t *testing.T, r *probeReport) {
			want(t, r.Calls["socket-packet"], "EAFNOSUPPORT")
			want(t, r.Calls["socket-inet6"], "EAFNOSUPPORT")
			want(t, r.Calls["socket-inet"], "ok")
			want(t, r.Calls["socket-unix"], "ok")
		}},
		{"mdwe-realtime-suid", func(s *Settings) {
			s.MemoryDenyWriteExecute, s.RestrictRealtime, s.RestrictSUIDSGID = true, true, true
		}, -1, func(t *testing.T, r *probeReport) {
			want(t, r.Calls["mmap-wx"], "EPERM")
			want(t, r.Calls["mprotect-x"], "EPERM")
			want(t, r.Calls["sched-fifo"], "EPERM")
			want(t, r.Calls["sched-batch"], "ok")
			want(t, r.Calls["fchmod-suid"], "EPERM")
		}},
		{"namespaces", func(s *Settings) { s.RestrictNamespaces = 0 }, -1, func(t *testing.T, r *probeReport) {
			want(t, r.Calls["unshare-uts"], "EPERM")
			want(t, r.Calls["clone3-bad"], "ENOSYS")
			want(t, r.Calls["setns-bad"], "EPERM")
		}},
		{"personality", func(s *Settings) { s.Personality = "x86" }, -1, func(t *testing.T, r *probeReport) {
			want(t, r.Personality, "0x8 ok") // PER_LINUX32
		}},
		{"lock-personality", func(s *Settings) { s.Personality = "x86"; s.LockPersonality = true }, -1, func(t *testing.T, r *probeReport) {
			// systemd's filter refuses every other value, the query (0xffffffff) too
			want(t, r.Calls["personality-query"], "EPERM")
			want(t, r.Calls["personality-linux32"], "EPERM")
		}},
		{"protect-kernel", func(s *Settings) {
			s.ProtectClock, s.ProtectKernelLogs, s.ProtectKernelModules, s.ProtectKernelTunables = true, true, true, true
		}, -1, func(t *testing.T, r *probeReport) {
			want(t, r.Calls["adjtimex-read"], "EPERM")
			want(t, r.Calls["syslog-size"], "EPERM")
			want(t, r.Calls["finit-module"], "EPERM")
			want(t, r.Calls["sysctl-bad"], "EPERM")
			if bnd := r.Status["CapBnd"]; bnd == "" || strings.HasSuffix(bnd, "ffffffff") {
				t.Errorf("CapBnd %s keeps cap_sys_time", bnd)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.set(s)
			gid := tc.uid
			r, err := runProbe(t, probe, s, tc.uid, gid)
			if err != nil {
				t.Fatalf("exec: %v", err)
			}
			tc.check(t, r)
		})
	}
}

func want[T comparable](t *testing.T, got, w T) {
	t.Helper()
	if got != w {
		t.Errorf("got %v, want %v", got, w)
	}
}

// TestSandboxFailures: a step that fails ends the child with systemd's exit status, reported
// as an ExecError.
func TestSandboxFailures(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	probe := buildProbe(t)
	// An FS plan with no library to apply it: 226/NAMESPACE, never an unprotected service.
	sp := &Spec{FS: json.RawMessage(`{"x":1}`), UID: -1, GID: -1}
	spec, _ := json.Marshal(sp)
	p, err := spawn.Start(&spawn.Config{Path: probe, Argv: []string{probe, "-"}, Sandbox: spec})
	if err != nil {
		t.Fatal(err)
	}
	err = p.ExecResult()
	var ws syscall.WaitStatus
	syscall.Wait4(p.Pid, &ws, 0, nil)
	var ee *spawn.ExecError
	if !errors.As(err, &ee) || ee.Status != StatusNamespace || ws.ExitStatus() != StatusNamespace {
		t.Errorf("FS plan without hook: %v, exit %v", err, ws)
	}
}

// TestKeyring: on the fast and the sandboxed spawn path, the child gets a session keyring of
// its own, owned by its user, with the invocation ID as a read-only key; shared links the
// user's keyring in; without a Keyring the child keeps the parent's.
func TestKeyring(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	probe := buildProbe(t)
	id := []byte("0123456789abcdef")
	const idHex = "30313233343536373839616263646566"
	parent := func() string {
		d, err := unix.KeyctlString(unix.KEYCTL_DESCRIBE, unix.KEY_SPEC_SESSION_KEYRING)
		if err != nil {
			return err.Error()
		}
		return d
	}()
	for _, path := range []string{"fast", "sandboxed"} {
		var s *Settings
		if path == "sandboxed" {
			s = &Settings{CapabilityBoundingSet: CapAll, RestrictNamespaces: NamespacesAll, SystemCallErrorNumber: ErrnoKill, NoNewPrivileges: true}
		}
		for _, tc := range []struct {
			name       string
			k          *spawn.Keyring
			uid        int
			keyring    string
			invocation string
		}{
			{"private-user", &spawn.Keyring{UID: 65534, GID: 65534, InvocationID: id}, 65534, "keyring _ses uid=65534 gid=65534", "perm=0b0b0000 " + idHex},
			{"private-root", &spawn.Keyring{UID: -1, GID: -1, InvocationID: id}, -1, "keyring _ses uid=0 gid=0", "perm=0b0b0000 " + idHex},
			{"shared-user", &spawn.Keyring{Shared: true, UID: 65534, GID: 65534}, 65534, "keyring _ses uid=65534 gid=65534", "ENOKEY"},
		} {
			t.Run(path+"/"+tc.name, func(t *testing.T) {
				r, err := runProbe(t, probe, s, tc.uid, tc.uid, func(c *spawn.Config) { c.Keyring = tc.k })
				if err != nil {
					t.Fatalf("exec: %v", err)
				}
				want(t, r.Keyring, tc.keyring)
				want(t, r.Invocation, tc.invocation)
			})
		}
		t.Run(path+"/inherit", func(t *testing.T) {
			r, err := runProbe(t, probe, s, -1, -1)
			if err != nil {
				t.Fatalf("exec: %v", err)
			}
			if f := strings.Split(parent, ";"); len(f) == 5 && r.Keyring != fmt.Sprintf("%s %s uid=%s gid=%s", f[0], f[4], f[1], f[2]) {
				t.Errorf("keyring %q, want the parent's %q", r.Keyring, parent)
			}
		})
	}
}
