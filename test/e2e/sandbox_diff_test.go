package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// sandboxCases are the privilege and system call settings the probe runs under (each a
// [Service] body); the last ones are the privilege and system call lines of Debian's own
// units in /lib/systemd/system (their file-system lines belong to the other half of the
// sandbox and are left out).
var sandboxCases = []struct{ name, body string }{
	{"plain", ""},
	{"bounding", "CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_NET_RAW\n"},
	{"bounding-inverted", "CapabilityBoundingSet=~CAP_SYS_ADMIN\nCapabilityBoundingSet=~CAP_NET_RAW\n"},
	{"bounding-reset", "CapabilityBoundingSet=CAP_NET_RAW\nCapabilityBoundingSet=\n"},
	{"ambient-user", "User=nobody\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n"},
	{"user-filter", "User=nobody\nSystemCallFilter=~@reboot\n"},
	{"ambient-outside-bounding", "User=nobody\nCapabilityBoundingSet=CAP_NET_RAW\nAmbientCapabilities=CAP_NET_BIND_SERVICE CAP_NET_RAW\n"},
	{"nnp", "NoNewPrivileges=yes\n"},
	{"securebits", "SecureBits=no-setuid-fixup noroot\n"},
	{"deny-errno", "SystemCallFilter=~@clock @reboot\nSystemCallErrorNumber=EPERM\n"},
	{"deny-kill", "SystemCallFilter=~@reboot\n"},
	{"deny-own-errno", "SystemCallFilter=~@mount\nSystemCallFilter=~mount:EACCES\nSystemCallFilter=~@swap:ENODATA\n"},
	{"allow-list", "SystemCallFilter=@system-service\nSystemCallErrorNumber=EPERM\n"},
	{"allow-minus", "SystemCallFilter=@system-service\nSystemCallFilter=~@privileged @resources\nSystemCallErrorNumber=EPERM\n"},
	{"families-allow", "RestrictAddressFamilies=AF_UNIX AF_INET\n"},
	{"families-deny", "RestrictAddressFamilies=~AF_PACKET AF_NETLINK\n"},
	{"families-none", "RestrictAddressFamilies=none\n"},
	{"mdwe-realtime-suid", "MemoryDenyWriteExecute=yes\nRestrictRealtime=yes\nRestrictSUIDSGID=yes\n"},
	{"namespaces-yes", "RestrictNamespaces=yes\n"},
	{"namespaces-list", "RestrictNamespaces=net ipc\n"},
	{"namespaces-inverted", "RestrictNamespaces=~uts\n"},
	{"personality", "Personality=x86\n"},
	{"lock-personality", "LockPersonality=yes\n"},
	{"protect-clock", "ProtectClock=yes\n"},
	{"protect-kernel", "ProtectKernelLogs=yes\nProtectKernelModules=yes\nProtectKernelTunables=yes\n"},
	{"keyring-private-user", "User=nobody\nKeyringMode=private\n"},
	{"keyring-shared-user", "User=nobody\nKeyringMode=shared\n"},
	{"keyring-inherit", "KeyringMode=inherit\n"},
	{"archs-native", "SystemCallArchitectures=native\n"},
	{"plain-user", "User=nobody\n"},
	// no SELinux, AppArmor or SMACK here: skipped by both
	{"security-labels", "SELinuxContext=system_u:system_r:foo_t:s0\nAppArmorProfile=foo\nSmackProcessLabel=foo\n"},
	{"keyring-shared-root", "KeyringMode=shared\n"},
	{"private-users", "PrivateUsers=yes\n"},
	{"private-users-user", "User=nobody\nPrivateUsers=yes\n"},
	{"private-users-sandbox", "User=nobody\nPrivateUsers=yes\nProtectSystem=full\nProtectHome=yes\nPrivateTmp=yes\n" +
		"NoNewPrivileges=yes\nAmbientCapabilities=CAP_NET_BIND_SERVICE\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\n" +
		"SystemCallFilter=@system-service\nSystemCallErrorNumber=EPERM\n"},
	{"debian-timesyncd", "User=systemd-timesync\nAmbientCapabilities=CAP_SYS_TIME\nCapabilityBoundingSet=CAP_SYS_TIME\n" +
		"LockPersonality=yes\nMemoryDenyWriteExecute=yes\nNoNewPrivileges=yes\nProtectKernelLogs=yes\nProtectKernelModules=yes\n" +
		"ProtectKernelTunables=yes\nRestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\nRestrictNamespaces=yes\nRestrictRealtime=yes\n" +
		"RestrictSUIDSGID=yes\nSystemCallArchitectures=native\nSystemCallErrorNumber=EPERM\nSystemCallFilter=@system-service @clock\n"},
	{"debian-networkd", "User=systemd-network\nAmbientCapabilities=CAP_NET_ADMIN CAP_NET_BIND_SERVICE CAP_NET_BROADCAST CAP_NET_RAW\n" +
		"CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE CAP_NET_BROADCAST CAP_NET_RAW\nLockPersonality=yes\n" +
		"MemoryDenyWriteExecute=yes\nNoNewPrivileges=yes\nProtectClock=yes\nProtectKernelLogs=yes\nProtectKernelModules=yes\n" +
		"RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET AF_INET6 AF_PACKET\nRestrictNamespaces=yes\nRestrictRealtime=yes\n" +
		"RestrictSUIDSGID=yes\nSystemCallArchitectures=native\nSystemCallErrorNumber=EPERM\nSystemCallFilter=@system-service\n"},
	{"debian-hostnamed", "CapabilityBoundingSet=CAP_SYS_ADMIN\nLockPersonality=yes\nMemoryDenyWriteExecute=yes\nNoNewPrivileges=yes\n" +
		"ProtectKernelLogs=yes\nProtectKernelModules=yes\nProtectKernelTunables=yes\nRestrictAddressFamilies=AF_UNIX\n" +
		"RestrictNamespaces=yes\nRestrictRealtime=yes\nRestrictSUIDSGID=yes\nSystemCallArchitectures=native\n" +
		"SystemCallErrorNumber=EPERM\nSystemCallFilter=@system-service sethostname\n"},
	{"debian-fstrim", "ProtectKernelTunables=yes\nProtectKernelModules=yes\nMemoryDenyWriteExecute=yes\n" +
		"SystemCallFilter=@default @file-system @basic-io @system-service\n"},
}

// TestSandboxDifferential runs the probe service (internal/sandbox/testdata/probe) under each
// of sandboxCases on systemd 252 (PID 1 of a private namespace) and on flint, and compares
// what it saw from inside: capability sets, no_new_privs, seccomp mode, credentials,
// securebits, personality, session keyring and invocation ID key, user namespace, and which
// system calls fail with which errno.
func TestSandboxDifferential(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	// The probe and its reports live where both sides, and users other than root, reach
	// them: /tmp and /var/tmp are private inside systemd's namespace (and /tmp is 0700 here).
	dir, err := os.MkdirTemp("/srv", "flint-sandbox-diff-")
	if err != nil {
		t.Skipf("no shared directory: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	out := filepath.Join(dir, "out")
	os.Mkdir(out, 0o777)
	os.Chmod(out, 0o777)
	probe := filepath.Join(dir, "probe")
	build := exec.Command("go", "build", "-o", probe, "./internal/sandbox/testdata/probe")
	build.Dir = repoRootDir
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build probe: %v\n%s", err, b)
	}
	files := map[string]string{}
	for _, c := range sandboxCases {
		files["sbx-"+c.name+".service"] = "[Unit]\nDefaultDependencies=no\n[Service]\nType=oneshot\n" +
			"ExecStart=" + probe + " " + out + "/%n.json\n" + c.body
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, _, _, sd, m := bootWithConfig(t, ctx, files)
	for _, c := range sandboxCases {
		t.Run(c.name, func(t *testing.T) {
			name := "sbx-" + c.name + ".service"
			report := filepath.Join(out, name+".json")
			if b, err := sd.Systemctl(ctx, "start", name); err != nil {
				t.Fatalf("systemd: %v %s", err, b)
			}
			want, err := readProbe(report)
			if err != nil {
				t.Fatalf("systemd's report: %v", err)
			}
			os.Remove(report)
			if o, code := m.flint("start", name); code != 0 {
				t.Fatalf("flint start: exit %d %s", code, o)
			}
			got, err := readProbe(report)
			if err != nil {
				t.Fatalf("flint's report: %v", err)
			}
			if strings.Contains(c.body, "PrivateUsers=yes") {
				// flint clones the child into its user namespace: setgroups(2) stays allowed
				// there (docs/compatibility.md)
				if !strings.HasSuffix(got.UserNS, "setgroups: allow") || !strings.HasSuffix(want.UserNS, "setgroups: deny") {
					t.Errorf("setgroups: flint %q, systemd %q", got.UserNS, want.UserNS)
				}
				got.UserNS = strings.TrimSuffix(got.UserNS, "allow") + "deny"
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("flint and systemd differ:\n%s", diffProbe(got, want))
			}
		})
	}
}

// sandboxEdges are settings at the edges of what the kernel allows; compared: the start's
// Result, ExecMainCode and ExecMainStatus.
var sandboxEdges = []struct{ name, body string }{
	// x86-64 system calls refused from the filter on: the execve of the service is the first
	// one, and the thread is killed (SIGSYS)
	{"archs-x86-only", "SystemCallArchitectures=x86\n"},
	// keep-caps through the user change, then the securebits set as asked
	{"securebits-user", "CapabilityBoundingSet=CAP_NET_RAW\nSecureBits=noroot\nUser=nobody\n"},
	// an empty bounding set with securebits: CAP_SETPCAP stays permitted (keep-caps)
	{"bounding-empty-securebits", "CapabilityBoundingSet=\nSecureBits=keep-caps\nUser=nobody\n"},
	// ambient capabilities without a user change
	{"ambient-root", "AmbientCapabilities=CAP_NET_RAW\n"},
}

// TestSandboxEdgesDifferential starts units of sandboxEdges on systemd 252 and on flint: the
// same result and exit status.
func TestSandboxEdgesDifferential(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	files := map[string]string{}
	for _, c := range sandboxEdges {
		files["sbe-"+c.name+".service"] = "[Unit]\nDefaultDependencies=no\n[Service]\nType=oneshot\nExecStart=/bin/true\n" + c.body
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, _, _, sd, m := bootWithConfig(t, ctx, files)
	props := []string{"Result", "ExecMainCode", "ExecMainStatus"}
	for _, c := range sandboxEdges {
		t.Run(c.name, func(t *testing.T) {
			name := "sbe-" + c.name + ".service"
			sd.Systemctl(ctx, "start", name)
			m.flint("start", name)
			want, err := sd.Systemctl(ctx, append([]string{"show", name}, propArgs(props)...)...)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := m.flint(append([]string{"show", name}, propArgs(props)...)...)
			if sortedLines(got) != sortedLines(string(want)) {
				t.Errorf("flint:\n%s\nsystemd:\n%s", got, want)
			}
		})
	}
}

func propArgs(props []string) []string {
	var out []string
	for _, p := range props {
		out = append(out, "-p", p)
	}
	return out
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

func readProbe(path string) (*probeReport, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r probeReport
	return &r, json.Unmarshal(b, &r)
}

func diffProbe(got, want *probeReport) string {
	var b strings.Builder
	for k, v := range want.Status {
		if got.Status[k] != v {
			fmt.Fprintf(&b, "  %s: flint %s, systemd %s\n", k, got.Status[k], v)
		}
	}
	for k, v := range want.Calls {
		if got.Calls[k] != v {
			fmt.Fprintf(&b, "  %s(): flint %s, systemd %s\n", k, got.Calls[k], v)
		}
	}
	g, w := *got, *want
	g.Status, w.Status, g.Calls, w.Calls = nil, nil, nil, nil
	if !reflect.DeepEqual(g, w) {
		fmt.Fprintf(&b, "  flint %+v\n  systemd %+v\n", g, w)
	}
	return b.String()
}
