package manager

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flint-init/flint/unit"
)

// Generators (systemd.generator(7)): programs that turn configuration other than unit files
// (/etc/init.d scripts, postgresql clusters, postfix and tor instances, /etc/fstab, ...) into
// units and links in three runtime directories of the search path. systemd 252 runs them
// before it loads any unit, and again at each daemon-reload; so does flint, where it is the
// manager those directories belong to (generatorRun).

// generatorTimeout is systemd's DEFAULT_TIMEOUT_USEC, the time all generators together get.
const generatorTimeout = 90 * time.Second

// generatorSearchDirs are the directories generators are found in, highest priority first
// (systemd.generator(7): the /run directory before /etc, unlike the unit search path).
func generatorSearchDirs(scope unit.Scope) []string {
	if scope == unit.System {
		return []string{
			"/run/systemd/system-generators",
			"/etc/systemd/system-generators",
			"/usr/local/lib/systemd/system-generators",
			"/lib/systemd/system-generators",
			"/usr/lib/systemd/system-generators",
		}
	}
	return []string{
		"/run/systemd/user-generators",
		"/etc/systemd/user-generators",
		"/usr/local/lib/systemd/user-generators",
		"/usr/lib/systemd/user-generators",
	}
}

// generatorOutputs are the normal, early and late output directories of scope; nil for a
// user manager without $XDG_RUNTIME_DIR.
func generatorOutputs(scope unit.Scope) []string {
	base := "/run/systemd"
	if scope != unit.System {
		rt := os.Getenv("XDG_RUNTIME_DIR")
		if rt == "" {
			return nil
		}
		base = filepath.Join(rt, "systemd")
	}
	return []string{filepath.Join(base, "generator"), filepath.Join(base, "generator.early"), filepath.Join(base, "generator.late")}
}

// findGenerators lists the generators of dirs: for each file name the one in the first
// directory that has it; a name masked there (a link to /dev/null, an empty file) does not
// run. Sorted by name; directories and files without an execute bit are left out.
func findGenerators(dirs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			name := e.Name()
			if seen[name] || strings.HasPrefix(name, ".") {
				continue
			}
			seen[name] = true
			p := filepath.Join(d, name)
			if t, err := os.Readlink(p); err == nil && t == "/dev/null" {
				continue
			}
			fi, err := os.Stat(p)
			if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 || fi.Mode().Perm()&0o111 == 0 {
				continue
			}
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return filepath.Base(out[i]) < filepath.Base(out[j]) })
	return out
}

// generatorRun reports the output directories generators write to, or nil when this manager
// runs none: only a manager whose search path has the normal output directory (the default
// path, or $SYSTEMD_UNIT_PATH naming it; never with --units) and, for the system, one that is
// the machine's manager (sd_booted() made true, not --no-booted: another manager may own
// /run/systemd/generator).
func (m *Manager) generatorRun() []string {
	outs := generatorOutputs(m.opt.Scope)
	if outs == nil || !slices.Contains(m.loader.Paths(), outs[0]) {
		return nil
	}
	if m.opt.Scope == unit.System && m.opt.BootedDir == "" {
		return nil
	}
	return outs
}

// runGenerators empties the output directories and runs every generator into them, all at
// once, as systemd's manager_run_generators: what they print goes to flint run's output, a
// generator that fails or is killed at the timeout is reported and the others' output kept.
// It blocks the manager (as systemd's does), which is also what keeps reap() away from the
// generators' exits. The caller then (re)loads the units.
func (m *Manager) runGenerators() {
	outs := m.generatorRun()
	if outs == nil {
		return
	}
	gens := findGenerators(generatorSearchDirs(m.opt.Scope))
	for _, d := range outs {
		if err := os.RemoveAll(d); err != nil {
			m.consolef("Failed to remove %s: %v", d, err)
		}
		if len(gens) == 0 {
			// Without generators the directories stay away: a reload then finds the
			// search path as it was and keeps the units it had decoded (unit/load_reload.go).
			continue
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			m.consolef("Failed to create %s, generators not run: %v", d, err)
			return
		}
	}
	if len(gens) == 0 {
		return
	}
	env := append(os.Environ(), m.generatorEnv()...)
	ctx, cancel := context.WithTimeout(context.Background(), generatorTimeout)
	defer cancel()
	results := make([][]string, len(gens))
	var wg sync.WaitGroup
	for i, g := range gens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runGenerator(ctx, g, outs, env)
		}()
	}
	wg.Wait()
	for _, lines := range results {
		for _, l := range lines {
			m.consolef("%s", l)
		}
	}
}

// removeGeneratorOutputs removes what the generators wrote, at the manager's orderly end.
func (m *Manager) removeGeneratorOutputs() {
	for _, d := range m.generatorRun() {
		os.RemoveAll(d)
	}
}

// runGenerator runs one generator and returns the lines to report: its output, and a line
// when it failed.
func runGenerator(ctx context.Context, path string, outs, env []string) []string {
	cmd := exec.CommandContext(ctx, path, outs...)
	cmd.Env = env
	cmd.Dir = "/"
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	var lines []string
	for _, l := range strings.Split(strings.TrimRight(out.String(), "\n"), "\n") {
		if l != "" {
			lines = append(lines, filepath.Base(path)+": "+l)
		}
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		lines = append(lines, path+" timed out, killed.")
	case errors.As(err, &ee) && ee.Exited():
		lines = append(lines, path+" failed with exit status "+strconv.Itoa(ee.ExitCode())+".")
	case errors.As(err, &ee):
		lines = append(lines, path+" failed: "+ee.ProcessState.String()+".")
	default:
		lines = append(lines, "Failed to run "+path+": "+err.Error())
	}
	return lines
}

// generatorEnv is what systemd 252 adds to a generator's environment (systemd.generator(7)).
func (m *Manager) generatorEnv() []string {
	env := []string{"SYSTEMD_SCOPE=" + map[bool]string{true: "system", false: "user"}[m.opt.Scope == unit.System]}
	if m.opt.Scope == unit.System {
		first := "0"
		if _, err := os.Stat("/etc/machine-id"); err != nil {
			first = "1"
		}
		env = append(env, "SYSTEMD_IN_INITRD=0", "SYSTEMD_FIRST_BOOT="+first)
	}
	switch v := detectVirt(); {
	case isContainer():
		env = append(env, "SYSTEMD_VIRTUALIZATION=container:"+v)
	case v != "none":
		env = append(env, "SYSTEMD_VIRTUALIZATION=vm:"+v)
	}
	return append(env, "SYSTEMD_ARCHITECTURE="+archName())
}
