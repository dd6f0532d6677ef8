package fs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/difftest"
	"github.com/flint-init/flint/internal/textdiff"
	"github.com/flint-init/flint/unit"
)

// probeScript reports what a command sees of the file system and its namespaces; @DIR@ is
// the test's work directory. Every line is compared between systemd and flint.
const probeScript = `for p in / /usr /usr/bin/true /etc /var /var/tmp /tmp /home /root /run /srv /opt /dev /dev/null /dev/shm \
  /proc/sys /proc/sys/kernel/hostname /proc/sysrq-trigger /proc/kcore /proc/kmsg /sys /sys/kernel /sys/fs/cgroup /lib/modules /usr/lib/modules \
  /dev/kmsg /run/credentials @DIR@/rw @DIR@/ro @DIR@/hidden @DIR@/hidden/f @DIR@/noexec/tool @DIR@/noexec/exec/tool @DIR@/bound/f @DIR@/tmpfs @DIR@/missing; do
  s=$p:; [ -e $p ] && s=$s.e; [ -r $p ] && s=$s.r; [ -w $p ] && s=$s.w; [ -x $p ] && s=$s.x; echo $s
done
echo /dev: $(ls -A /dev | grep -v console | sort)
for d in /tmp /var/tmp; do [ -z "$(ls -A $d)" ] && echo $d empty || echo $d has files; done
stat -c '%n %a %U %F' /tmp /var/tmp /dev /home /root @DIR@/hidden @DIR@/tmpfs 2>&1
echo net: $(awk 'NR>2 {print $1}' /proc/net/dev)
echo hidden: $(ls -A @DIR@/hidden 2>&1)
echo proc: $(ls -d /proc/1 /proc/sys 2>&1)
echo credentials: $CREDENTIALS_DIRECTORY $(ls -A /run/credentials 2>&1)
[ -n "$CREDENTIALS_DIRECTORY" ] && stat -c '%n %a %U %G' $CREDENTIALS_DIRECTORY $CREDENTIALS_DIRECTORY/* && cat $CREDENTIALS_DIRECTORY/*
awk '$5 ~ "^(/usr|/etc|/home|/root|/proc|/sys/fs/cgroup$|/sys$|/dev|@DIR@)" && $5 != "/dev/console" && $5 != "/sys/fs/cgroup" && $5 != "@DIR@" {split($6, o, ","); print $5, o[1]}' /proc/self/mountinfo | sort -u
exit 0
`

// fsScenarios are the units of TestDifferential: each directive alone, then the sandboxes of
// Debian units of this machine (only their [Service] sandbox lines).
var fsScenarios = []struct{ name, lines string }{
	{"protect-system-yes", "ProtectSystem=yes"},
	{"protect-system-full", "ProtectSystem=full"},
	{"protect-system-strict", "ProtectSystem=strict\nReadWritePaths=@DIR@/rw -@DIR@/missing"},
	{"protect-home-yes", "ProtectHome=yes"},
	{"protect-home-ro", "ProtectHome=read-only"},
	{"protect-home-tmpfs", "ProtectHome=tmpfs"},
	{"private-tmp", "PrivateTmp=yes"},
	{"private-devices", "PrivateDevices=yes"},
	{"paths", "ReadOnlyPaths=@DIR@/ro\nInaccessiblePaths=@DIR@/hidden -@DIR@/missing\nNoExecPaths=@DIR@/noexec\nExecPaths=@DIR@/noexec/exec"},
	{"bind", "BindPaths=@DIR@/src:@DIR@/bound\nBindReadOnlyPaths=@DIR@/src:@DIR@/ro"},
	{"tmpfs", "TemporaryFileSystem=@DIR@/tmpfs:ro"},
	{"kernel", "ProtectKernelTunables=yes\nProtectKernelModules=yes\nProtectKernelLogs=yes\nProtectControlGroups=yes"},
	{"proc", "ProtectProc=invisible\nProcSubset=pid"},
	{"hostname", "ProtectHostname=yes\nProtectSystem=yes"},
	{"network", "PrivateNetwork=yes\nPrivateIPC=yes"},
	{"private-mounts", "PrivateMounts=yes"},
	// With a mount namespace on both sides: flint always gives a unit with credentials one.
	{"credentials", "LoadCredential=key:@DIR@/src/f\nSetCredential=set:value\\x21\nSetCredential=key:lost\nProtectSystem=yes"},
	{"missing-path", "ReadWritePaths=@DIR@/rw\nPrivateTmp=yes"}, // @DIR@ is under the private /tmp: 226
}

// fsDirectives are the [Service] settings of internal/sandbox/fs that debianScenarios keep.
var fsDirectives = map[string]bool{"ProtectSystem": true, "ProtectHome": true, "PrivateTmp": true, "PrivateDevices": true,
	"ReadWritePaths": true, "ReadOnlyPaths": true, "InaccessiblePaths": true, "ExecPaths": true, "NoExecPaths": true,
	"BindPaths": true, "BindReadOnlyPaths": true, "TemporaryFileSystem": true, "MountAPIVFS": true, "ProtectProc": true,
	"ProcSubset": true, "ProtectKernelTunables": true, "ProtectKernelModules": true, "ProtectKernelLogs": true,
	"ProtectControlGroups": true, "ProtectHostname": true, "PrivateMounts": true, "MountFlags": true, "PrivateNetwork": true,
	"PrivateIPC": true}

// debianScenarios are the file system sandboxes of the services installed on this machine
// (/lib/systemd/system): each unit's lines of fsDirectives, once per distinct sandbox.
func debianScenarios(t *testing.T) []struct{ name, lines string } {
	var out []struct{ name, lines string }
	seen := map[string]bool{}
	files, _ := filepath.Glob("/lib/systemd/system/*.service")
	for _, f := range files {
		fi, err := os.Lstat(f)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var lines []string
		for _, l := range strings.Split(string(b), "\n") {
			k, _, ok := strings.Cut(l, "=")
			if ok && fsDirectives[strings.TrimSpace(k)] {
				lines = append(lines, strings.TrimSpace(l))
			}
		}
		key := strings.Join(lines, "\n")
		if key == "" || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, struct{ name, lines string }{"debian-" + strings.ReplaceAll(strings.TrimSuffix(filepath.Base(f), ".service"), "@", "-at"), key})
	}
	if len(out) == 0 {
		t.Log("no sandboxed service in /lib/systemd/system")
	}
	return out
}

// TestDifferential runs the probe under each scenario on systemd 252 (PID 1 of private
// namespaces) and under Apply, and compares the reports.
func TestDifferential(t *testing.T) {
	needRoot(t)
	if testing.Short() {
		t.Skip("boots systemd")
	}
	// systemd makes /run/credentials at boot; the probe looks at it.
	if err := os.MkdirAll("/run/credentials", 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, d := range []string{"rw", "ro", "hidden", "noexec/exec", "src", "tmpfs", "units"} {
		mkdir(t, filepath.Join(dir, d))
	}
	mustWrite(t, dir+"/hidden/f", "x", 0o644)
	mustWrite(t, dir+"/src/f", "secret", 0o644)
	mustWrite(t, dir+"/noexec/tool", "#!/bin/sh\n", 0o755)
	mustWrite(t, dir+"/noexec/exec/tool", "#!/bin/sh\n", 0o755)
	script := strings.ReplaceAll(probeScript, "@DIR@", dir)
	mustWrite(t, dir+"/probe.sh", script, 0o755)
	scenarios := append(append([]struct{ name, lines string }{}, fsScenarios...), debianScenarios(t)...)
	for _, sc := range scenarios {
		lines := strings.ReplaceAll(sc.lines, "@DIR@", dir)
		u := fmt.Sprintf("[Unit]\nDefaultDependencies=no\n[Service]\nType=oneshot\nStandardInput=file:%s/probe.sh\nStandardOutput=file:%s/out-%s\nStandardError=inherit\nExecStart=/bin/sh\n%s\n",
			dir, dir, sc.name, lines)
		mustWrite(t, filepath.Join(dir, "units", "p-"+sc.name+".service"), u, 0o644)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	sd, err := difftest.Boot(ctx, dir, dir+"/units")
	if err != nil {
		t.Fatalf("boot systemd: %v", err)
	}
	defer sd.Stop()
	// On a host systemd makes every mount shared at boot; in a container (as here) it does
	// not, and its credentials helper's mount would not reach the unit. Do what the host has.
	if out, err := exec.Command("nsenter", "-t", fmt.Sprint(sd.Pid), "-m", "mount", "--make-rshared", "/").CombinedOutput(); err != nil {
		t.Fatalf("make systemd's mounts shared: %v %s", err, out)
	}
	loader := unit.NewLoader(unit.System, []string{dir + "/units"})
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			name := "p-" + sc.name + ".service"
			var want []byte
			if _, err := sd.Systemctl(ctx, "start", name); err != nil {
				// It failed: compare how.
				st, err := sd.Systemctl(ctx, "show", "-p", "ExecMainStatus", "--value", name)
				if err != nil {
					t.Fatal(err)
				}
				want = []byte("exit status " + strings.TrimSpace(string(st)) + "\n")
			} else if want, err = os.ReadFile(filepath.Join(dir, "out-"+sc.name)); err != nil {
				t.Fatal(err)
			}
			u := loader.Load(name)
			if u.Service == nil {
				t.Fatalf("load %s: %s", name, u.LoadError)
			}
			spec := FromExec(name, u.Service.Exec, Runtime{})
			got := runExec(t, spec, u.Service.ExecStart[0].Argv, dir, u.Service.Exec.PrivateTmp)
			if d := os.Getenv("FLINT_FS_DIFFDIR"); d != "" {
				os.WriteFile(filepath.Join(d, sc.name+".systemd"), want, 0o644)
				os.WriteFile(filepath.Join(d, sc.name+".flint"), []byte(got), 0o644)
			}
			if string(want) != got {
				d := textdiff.Lines(string(want), got, "systemd", "flint")
				t.Errorf("%s differs:\n%s", name, d)
			}
		})
	}
}

// runExec runs argv under s in a child that first puts itself where systemd-ns puts systemd
// (private /run, /tmp and /var/tmp with dir carried in, PrivateTmp='s directories made
// there), with dir/probe.sh as its input, and returns its output and error output.
func runExec(t *testing.T, s Spec, argv []string, dir string, privateTmp bool) string {
	t.Helper()
	sj, _ := json.Marshal(s)
	aj, _ := json.Marshal(argv)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "FLINT_FS_EXEC=1", "FLINT_FS_SPEC="+string(sj), "FLINT_FS_ARGV="+string(aj),
		"FLINT_FS_EMULATE="+dir)
	if privateTmp {
		cmd.Env = append(cmd.Env, "FLINT_FS_PRIVATE_TMP=1")
	}
	stdin, err := os.Open(filepath.Join(dir, "probe.sh"))
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	cmd.Stdin = stdin
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out // StandardError=inherit
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("flint child: %v\n%s", err, out.String())
		}
		t.Logf("flint child: %v: %s", err, out.String())
		return fmt.Sprintf("exit status %d\n", ee.ExitCode())
	}
	return out.String()
}
