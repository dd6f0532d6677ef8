package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/textdiff"
)

// fsProbe is a shell probe of what a service sees of the file system and its namespaces
// (internal/sandbox/fs). @DIR@ is the test's directory. Lines that depend on how the host
// differs from systemd's namespace (/run is a tmpfs there, /proc is mounted twice, /dev has a
// console, /etc/systemd is a tmpfs of its own) are left out.
const fsProbe = `for p in / /usr /usr/bin/true /etc /var /var/tmp /tmp /home /root /srv /opt /dev /dev/null /dev/shm \
  /proc/sys /proc/sys/kernel/hostname /proc/sysrq-trigger /proc/kcore /proc/kmsg /sys /sys/kernel /sys/fs/cgroup \
  /lib/modules /usr/lib/modules /dev/kmsg @DIR@/rw @DIR@/ro @DIR@/hidden @DIR@/hidden/f @DIR@/noexec/tool \
  @DIR@/noexec/exec/tool @DIR@/bound/f @DIR@/tmpfs @DIR@/missing; do
  s=$p:; [ -e $p ] && s=$s.e; [ -r $p ] && s=$s.r; [ -w $p ] && s=$s.w; [ -x $p ] && s=$s.x; echo $s
done
echo /dev: $(ls -A /dev | grep -v console | sort)
[ -z "$(ls -A /var/tmp)" ] && echo /var/tmp empty
stat -c '%n %a %U %F' /tmp /var/tmp /dev /home /root @DIR@/hidden @DIR@/tmpfs 2>&1
echo net: $(awk 'NR>2 {print $1}' /proc/net/dev 2>&1)
echo hidden: $(ls -A @DIR@/hidden 2>&1)
echo proc: $(ls -d /proc/1 /proc/sys 2>&1)
echo credentials: $CREDENTIALS_DIRECTORY
[ -n "$CREDENTIALS_DIRECTORY" ] && stat -c '%n %a %U %G' $CREDENTIALS_DIRECTORY $CREDENTIALS_DIRECTORY/* && cat $CREDENTIALS_DIRECTORY/* && echo
awk '$5 ~ "^(/usr|/etc|/home|/root|/proc/|/sys/|/dev/|@DIR@/)" && $5 != "/dev/console" && $5 != "/sys/fs/cgroup" && $5 != "/etc/systemd" {split($6, o, ","); print $5, o[1]}' /proc/self/mountinfo | grep -v '^/sys/fs/cgroup/' | sort -u
exit 0
`

// fsCases are the file system sandboxes the probe runs under: each directive, then the
// file system lines of the sandboxed services of Debian 12 (as in /lib/systemd/system).
var fsCases = []struct{ name, body string }{
	{"none", ""},
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
	{"proc", "ProtectProc=invisible\nProcSubset=pid"},
	{"hostname", "ProtectHostname=yes\nProtectSystem=yes"},
	{"network", "PrivateNetwork=yes\nPrivateIPC=yes"},
	{"credentials", "LoadCredential=key:@DIR@/src/f\nSetCredential=set:value\\x21\nProtectSystem=yes"},
	{"missing-path", "ReadWritePaths=@DIR@/nowhere"},
	{"private-users", "PrivateUsers=yes\nProtectSystem=strict\nProtectHome=yes\nPrivateTmp=yes"},
	{"private-users-user", "PrivateUsers=yes\nUser=nobody\nProtectSystem=full\nPrivateTmp=yes\nReadOnlyPaths=@DIR@/ro\nInaccessiblePaths=@DIR@/hidden"},
	{"private-users-kernel", "PrivateUsers=yes\nProtectKernelTunables=yes\nProtectControlGroups=yes\nProtectHostname=yes"},
	{"private-users-devices", "PrivateUsers=yes\nPrivateDevices=yes"},
	{"private-users-proc", "PrivateUsers=yes\nProtectProc=invisible\nProcSubset=pid"},
	{"private-users-network", "PrivateUsers=yes\nPrivateNetwork=yes\nPrivateIPC=yes"},
	{"root-image-missing", "RootImage=@DIR@/missing.raw"},
	{"mount-images-missing", "MountImages=@DIR@/missing.raw:/mnt"},
	{"credential-encrypted", "SetCredentialEncrypted=secret:AAAAAAAA"},
	{"dynamic-user", "DynamicUser=yes\nStateDirectory=fsdiff-@BASE@"},
	{"debian-systemd-logind", "PrivateTmp=yes\nProtectClock=yes\nProtectControlGroups=yes\nProtectHome=yes\nProtectHostname=yes\n" +
		"ProtectKernelLogs=yes\nProtectKernelModules=yes\nProtectSystem=strict\nReadWritePaths=/etc /run"},
	{"debian-systemd-timesyncd", "PrivateDevices=yes\nPrivateTmp=yes\nProtectProc=invisible\nProtectControlGroups=yes\nProtectHome=yes\n" +
		"ProtectHostname=yes\nProtectKernelLogs=yes\nProtectKernelModules=yes\nProtectKernelTunables=yes\nProtectSystem=strict"},
	{"debian-systemd-hostnamed", "PrivateDevices=yes\nPrivateNetwork=yes\nPrivateTmp=yes\nProtectProc=invisible\nProtectControlGroups=yes\n" +
		"ProtectHome=yes\nProtectKernelLogs=yes\nProtectKernelModules=yes\nProtectKernelTunables=yes\nProtectSystem=strict\n" +
		"ReadWritePaths=/etc"},
	{"debian-e2scrub", "PrivateNetwork=true\nProtectSystem=true\nProtectHome=read-only\nPrivateTmp=yes"},
	{"debian-man-db", "ProtectSystem=strict\nProtectHome=yes\nPrivateDevices=yes\nPrivateNetwork=yes\nReadWritePaths=/var/cache/man"},
}

// TestSandboxFSDifferential runs the probe under each of fsCases as a service of systemd 252
// (PID 1 of a private namespace) and of flint, and compares what it saw from inside: which
// paths exist and are readable, writable, executable, /dev, /tmp, the network interfaces,
// /proc, the credentials and the mount table.
func TestSandboxFSDifferential(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	// The probe, its reports and the test's paths live where both sides reach them: /tmp
	// is private in systemd's namespace.
	dir, err := os.MkdirTemp("/srv", "flint-fs-diff-")
	if err != nil {
		t.Skipf("no shared directory: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	for _, d := range []string{"rw", "ro", "hidden", "noexec/exec", "src", "tmpfs", "out"} {
		os.MkdirAll(filepath.Join(dir, d), 0o755)
	}
	os.WriteFile(filepath.Join(dir, "hidden/f"), []byte("x"), 0o644)
	os.WriteFile(filepath.Join(dir, "src/f"), []byte("secret"), 0o644)
	os.WriteFile(filepath.Join(dir, "noexec/tool"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "noexec/exec/tool"), []byte("#!/bin/sh\n"), 0o755)
	os.WriteFile(filepath.Join(dir, "probe.sh"), []byte(strings.ReplaceAll(fsProbe, "@DIR@", dir)), 0o755)
	base := filepath.Base(dir)
	t.Cleanup(func() {
		os.RemoveAll("/var/lib/private/fsdiff-" + base)
		os.Remove("/var/lib/fsdiff-" + base)
	})
	files := map[string]string{}
	for _, c := range fsCases {
		body := strings.ReplaceAll(strings.ReplaceAll(c.body, "@DIR@", dir), "@BASE@", base)
		files["fs-"+c.name+".service"] = "[Unit]\nDefaultDependencies=no\n[Service]\nType=oneshot\n" +
			"StandardOutput=file:" + dir + "/out/%n\nStandardError=inherit\nExecStart=/bin/sh " + dir + "/probe.sh\n" + body + "\n"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_, _, _, sd, m := bootWithConfig(t, ctx, files)
	// A host's systemd makes its mounts shared at boot (not in a container, as here): its
	// credentials helper's mount would not reach the service otherwise.
	if err := nsenterShared(sd.Pid); err != nil {
		t.Fatal(err)
	}
	for _, c := range fsCases {
		t.Run(c.name, func(t *testing.T) {
			name := "fs-" + c.name + ".service"
			report := filepath.Join(dir, "out", name)
			var want, got string
			if _, err := sd.Systemctl(ctx, "start", name); err != nil {
				st, _ := sd.Systemctl(ctx, "show", "-p", "ExecMainStatus", "--value", name)
				want = "exit status " + strings.TrimSpace(string(st)) + "\n"
			} else {
				b, err := os.ReadFile(report)
				if err != nil {
					t.Fatalf("systemd's report: %v", err)
				}
				want = string(b)
			}
			os.Remove(report)
			if _, code := m.flint("start", name); code != 0 {
				got = "exit status " + strings.TrimSpace(func() string { o, _ := m.flint("show", "-p", "ExecMainStatus", "--value", name); return o }()) + "\n"
			} else {
				b, err := os.ReadFile(report)
				if err != nil {
					t.Fatalf("flint's report: %v", err)
				}
				got = string(b)
			}
			if got != want {
				t.Errorf("flint and systemd differ (%s):\n%s", name, textdiff.Lines(want, got, "systemd ", "flint   "))
			}
		})
	}
}

func nsenterShared(pid int) error {
	out, err := exec.Command("nsenter", "-t", fmt.Sprint(pid), "-m", "mount", "--make-rshared", "/").CombinedOutput()
	if err != nil {
		return fmt.Errorf("make systemd's mounts shared: %v %s", err, out)
	}
	return nil
}
