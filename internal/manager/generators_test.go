package manager

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flint-init/flint/unit"
)

// TestFindGenerators: the first directory that has a name wins; a link to /dev/null or an
// empty file there masks the name; files without an execute bit and directories do not run.
func TestFindGenerators(t *testing.T) {
	hi, lo := t.TempDir(), t.TempDir()
	write := func(dir, name, body string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	script := "#!/bin/sh\n"
	write(hi, "both", script, 0o755)
	write(lo, "both", script, 0o755)
	write(lo, "low-only", script, 0o755)
	if err := os.Symlink("/dev/null", filepath.Join(hi, "masked-link")); err != nil {
		t.Fatal(err)
	}
	write(lo, "masked-link", script, 0o755)
	write(hi, "masked-empty", "", 0o755)
	write(lo, "masked-empty", script, 0o755)
	write(hi, "not-executable", script, 0o644)
	if err := os.Mkdir(filepath.Join(hi, "a-directory"), 0o755); err != nil {
		t.Fatal(err)
	}
	got := findGenerators([]string{hi, "/nonexistent/flint-generators", lo})
	want := []string{filepath.Join(hi, "both"), filepath.Join(lo, "low-only")}
	if !slices.Equal(got, want) {
		t.Errorf("findGenerators = %v, want %v", got, want)
	}
}

// TestRunGenerator runs real generators: one that writes a link into the normal directory
// and prints what it was given, one that fails.
func TestRunGenerator(t *testing.T) {
	dir := t.TempDir()
	outs := []string{filepath.Join(dir, "n"), filepath.Join(dir, "e"), filepath.Join(dir, "l")}
	for _, d := range outs {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	good := filepath.Join(dir, "good-generator")
	if err := os.WriteFile(good, []byte(`#!/bin/sh
mkdir -p "$1/x.target.wants" && ln -s /lib/systemd/system/y.service "$1/x.target.wants/y.service"
echo "args=$# $2 $3 scope=$SYSTEMD_SCOPE"
`), 0o755); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad-generator")
	if err := os.WriteFile(bad, []byte("#!/bin/sh\necho oops >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "SYSTEMD_SCOPE=system")
	lines := runGenerator(context.Background(), good, outs, env)
	if want := "good-generator: args=3 " + outs[1] + " " + outs[2] + " scope=system"; !slices.Equal(lines, []string{want}) {
		t.Errorf("good generator: %q, want %q", lines, want)
	}
	if target, err := os.Readlink(filepath.Join(outs[0], "x.target.wants", "y.service")); err != nil || target != "/lib/systemd/system/y.service" {
		t.Errorf("the good generator's link: %q %v", target, err)
	}
	lines = runGenerator(context.Background(), bad, outs, env)
	if want := []string{"bad-generator: oops", bad + " failed with exit status 3."}; !slices.Equal(lines, want) {
		t.Errorf("bad generator: %q, want %q", lines, want)
	}
}

// TestGeneratorEnv: systemd.generator(7)'s variables.
func TestGeneratorEnv(t *testing.T) {
	m := &Manager{}
	m.opt.Scope = unit.System
	env := strings.Join(m.generatorEnv(), "\n")
	for _, want := range []string{"SYSTEMD_SCOPE=system", "SYSTEMD_IN_INITRD=0", "SYSTEMD_FIRST_BOOT=", "SYSTEMD_ARCHITECTURE=" + archName()} {
		if !strings.Contains(env, want) {
			t.Errorf("generator environment lacks %s:\n%s", want, env)
		}
	}
}
