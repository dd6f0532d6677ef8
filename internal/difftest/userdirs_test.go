package difftest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// userDirsUnit is a user unit that writes to @ROOT@/out what it sees of RuntimeDirectory=
// and friends: the variables, the specifiers %S %L %C %E %t, and the directories made below
// the home and runtime directories (and below $XDG_STATE_HOME, which systemd 252 does not
// use) with their modes. The managers' own directories are left out.
const userDirsUnit = `[Unit]
DefaultDependencies=no
[Service]
Type=oneshot
RemainAfterExit=yes
RuntimeDirectory=rd rd2/x
StateDirectory=sd
LogsDirectory=ld/x
LogsDirectoryMode=0750
CacheDirectory=cd
ConfigurationDirectory=cfd
ExecStart=/bin/sh -c 'exec >@ROOT@/out.tmp 2>&1; env | grep _DIRECTORY= | sort; echo "S=%S L=%L C=%C E=%E t=%t"; cd @ROOT@ && find home run state \( -name systemd -o -name flint \) -prune -o -print 2>/dev/null | sort | xargs stat -c "%%a %%n"; mv @ROOT@/out.tmp @ROOT@/out'
`

// TestUserExecDirsDifferential runs one user unit with each kind of directory under a
// systemd 252 user manager (systemd --user, as root, started by the namespace's systemd as
// user@.service would) and under flint run --user, with the same environment below two
// roots, and compares what the unit saw: 252 puts StateDirectory= in $XDG_CONFIG_HOME and
// LogsDirectory= in $XDG_CONFIG_HOME/log, whatever $XDG_STATE_HOME says.
func TestUserExecDirsDifferential(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("boots systemd")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	work := t.TempDir()
	os.Chmod(work, 0o755)
	sides := map[string]string{"s": filepath.Join(work, "s"), "f": filepath.Join(work, "f")}
	env := func(root string) []string {
		return []string{"HOME=" + root + "/home", "XDG_RUNTIME_DIR=" + root + "/run",
			"XDG_STATE_HOME=" + root + "/state", "PATH=/usr/bin:/bin"}
	}
	for _, root := range sides {
		for _, d := range []string{"home", "run", "units"} {
			if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		body := strings.ReplaceAll(userDirsUnit, "@ROOT@", root)
		if err := os.WriteFile(filepath.Join(root, "units", "t.service"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	units := filepath.Join(work, "units")
	os.MkdirAll(units, 0o755)
	s := sides["s"]
	usermgr := "[Unit]\nDefaultDependencies=no\n[Service]\nDelegate=yes\n" +
		"Environment=" + strings.Join(env(s), " ") + " SYSTEMD_UNIT_PATH=" + s + "/units\n" +
		"ExecStart=/lib/systemd/systemd --user --unit=t.service\n"
	if err := os.WriteFile(filepath.Join(units, "dt-usermgr.service"), []byte(usermgr), 0o644); err != nil {
		t.Fatal(err)
	}
	sd := bootOrSkip(t, ctx, work, units)
	if _, err := sd.Systemctl(ctx, "start", "dt-usermgr.service"); err != nil {
		t.Fatal(err)
	}

	bin := filepath.Join(t.TempDir(), "flint")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/flint")
	build.Dir = "../.."
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build flint: %v\n%s", err, out)
	}
	f := sides["f"]
	run := exec.Command(bin, "run", "--user", "--units", f+"/units", "--target", "t.service", "--log-storage=none")
	run.Env = env(f)
	var fout lockedBuffer
	run.Stdout, run.Stderr = &fout, &fout
	run.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { run.Wait(); close(done) }()
	defer func() {
		run.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			run.Process.Kill()
			<-done
		}
	}()

	seen := map[string]string{}
	for name, root := range sides {
		var b []byte
		for {
			var err error
			if b, err = os.ReadFile(filepath.Join(root, "out")); err == nil {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("side %s: no output of the unit (flint run: %s)", name, fout.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		seen[name] = strings.ReplaceAll(string(b), root, "@ROOT@")
	}
	if seen["s"] != seen["f"] {
		t.Errorf("the unit saw under systemd 252:\n%s\nunder flint:\n%s", seen["s"], seen["f"])
	}
	// What 252 does, said once more so that a change on both sides is seen.
	for _, want := range []string{"STATE_DIRECTORY=@ROOT@/home/.config/sd\n", "LOGS_DIRECTORY=@ROOT@/home/.config/log/ld/x\n",
		"CACHE_DIRECTORY=@ROOT@/home/.cache/cd\n", "RUNTIME_DIRECTORY=@ROOT@/run/rd:@ROOT@/run/rd2/x\n"} {
		if !strings.Contains(seen["s"], want) {
			t.Errorf("systemd 252: no %q in\n%s", want, seen["s"])
		}
	}
}
