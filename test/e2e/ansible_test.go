package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/difftest"
)

// ansibleTask is one task of a generated playbook: a name and the arguments of
// ansible.builtin.systemd_service, as a YAML flow mapping's contents.
type ansibleTask struct{ name, args string }

// ansibleConverge brings the units to one state: applied twice, the second run changes
// nothing. Before it runs, idle.service is enabled and running, ex.service masked and
// other.service enabled (holding the alias www.service that alias.service wants too).
var ansibleConverge = []ansibleTask{
	{"web started and enabled", "name: web.service, state: started, enabled: true, daemon_reload: true"},
	{"idle stopped and disabled", "name: idle.service, state: stopped, enabled: false"},
	{"plain started without waiting", "name: plain, state: started, no_block: true"},
	{"ex unmasked and started", "name: ex.service, masked: false, state: started"},
	{"gone masked", "name: gone.service, masked: true"},
	{"alias enabled over another unit's alias", "name: alias.service, enabled: true, force: true"},
	{"indirect unit enabled: its Also= unit", "name: also.service, enabled: true"},
	{"template enabled: its DefaultInstance=", "name: dflt@.service, enabled: true"},
	{"template instance started and enabled", "name: tmpl@one.service, state: started, enabled: true"},
	{"web started after a re-exec", "name: web.service, state: started, daemon_reexec: true"},
}

// ansibleActions are tasks that act each time they run, and tasks that fail.
var ansibleActions = []ansibleTask{
	{"web restarted", "name: web.service, state: restarted"},
	{"web reloaded", "name: web, state: reloaded"},
	{"reloaded without ExecReload=", "name: plain.service, state: reloaded"},
	{"reloaded while stopped: started", "name: tmpl@two.service, state: reloaded, no_block: true"},
	{"masked unit started", "name: gone.service, state: started"},
	{"unknown unit started", "name: nope.service, state: started"},
	{"unknown template started", "name: nope@.service, state: started"},
	{"template started without instance", "name: dflt@.service, state: started"},
	{"unknown unit enabled", "name: nope.service, enabled: true"},
	{"unknown unit masked", "name: nope.service, masked: true"},
	{"static unit enabled", "name: plain.service, enabled: true"},
	{"alias taken, without force", "name: other.service, enabled: true"},
	{"web masked and disabled while running", "name: web.service, masked: true, enabled: false"},
	{"web stopped while masked", "name: web.service, state: stopped, force: true"},
	{"web unmasked and restarted", "name: web.service, masked: false, state: restarted, no_block: true, force: true"},
	{"template instance disabled and stopped", "name: tmpl@one.service, enabled: false, state: stopped"},
}

// ansiblePlaybook is a play ansible-playbook runs (connection local), after the others.
var ansiblePlaybook = []ansibleTask{
	{"idle started and enabled", "name: idle.service, state: started, enabled: true, daemon_reload: true"},
	{"template instance restarted", "name: tmpl@one.service, state: restarted, no_block: true"},
	{"gone unmasked", "name: gone.service, masked: false"},
}

// ansibleUnits are the unit files both managers load.
var ansibleUnits = map[string]string{
	"web.service":   "[Unit]\nDescription=Web\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\nExecReload=/bin/true\n[Install]\nWantedBy=multi-user.target\n",
	"idle.service":  "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=multi-user.target\n",
	"plain.service": "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\n",
	"ex.service":    "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=multi-user.target\n",
	"alias.service": "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\n[Install]\nAlias=www.service\nWantedBy=multi-user.target\n",
	"other.service": "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\n[Install]\nAlias=www.service\n",
	"tmpl@.service": "[Unit]\nDescription=Instance %i\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\nExecReload=/bin/true\n[Install]\nWantedBy=multi-user.target\n",
	"dflt@.service": "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\n[Install]\nWantedBy=multi-user.target\nDefaultInstance=main\n",
	"also.service":  "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/sleep 1000\n[Install]\nAlso=ex.service\n",
}

// ansibleStatus are the properties of the module's `status` result (systemctl show, taken
// before the task acts) that are compared.
var ansibleStatus = []string{"Id", "LoadState", "LoadError", "ActiveState", "SubState", "UnitFileState", "FragmentPath"}

// TestAnsibleSystemdService runs Ansible's systemd_service module (ansible-core) against
// systemd 252 (booted in private namespaces, the module run inside them) and against flint
// (a `flint run` manager, with `systemctl` a symlink to the flint binary first on PATH) on
// the same unit files, and compares the results (see ansibleDiff).
func TestAnsibleSystemdService(t *testing.T) {
	playbook := ansibleNeeds(t)
	// the machine may be shared: most of the time goes to Python starting the module
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	work, _, etc, sd, m := bootWithConfig(t, ctx, ansibleUnits)
	bin := filepath.Join(work, "bin")
	os.MkdirAll(bin, 0o755)
	if err := os.Symlink(flintBin, filepath.Join(bin, "systemctl")); err != nil {
		t.Fatal(err)
	}
	base := ansibleEnv(work)
	ansibleDiff(t, ctx, playbook, ansibleSystemd(work, sd, base),
		&ansibleSide{name: "flint", work: work, systemctl: filepath.Join(bin, "systemctl"), env: append(slices.Clone(base), "PATH="+bin+":"+os.Getenv("PATH"), "FLINT_CONTROL="+m.control)},
		etc, m)
}

// TestAnsibleSystemctlDBus runs the plays of TestAnsibleSystemdService with systemd's own
// systemctl (the one on the host's PATH, which speaks D-Bus) against a booted flint in a
// private mount namespace (where /run/systemd/private is flint's, the module run inside
// it), and compares each task's result with systemd 252's as that test does.
func TestAnsibleSystemctlDBus(t *testing.T) {
	playbook := ansibleNeeds(t)
	if _, err := os.Stat(systemdSystemctl); err != nil {
		t.Fatalf("systemd's own systemctl (package systemd): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	// bootWithConfig's own flint (not booted) stays idle.
	work, units, _, sd, _ := bootWithConfig(t, ctx, ansibleUnits)
	etc := t.TempDir()
	holder := privateRun(t)
	nsenter := []string{"nsenter", "-t", strconv.Itoa(holder), "-m"}
	m := launchManager(t, etc, launchOptions{more: []string{units}, booted: true, stopWait: 10 * time.Second, wrap: nsenter})
	if !waitFor(10*time.Second, func() bool {
		return exec.Command("nsenter", "-t", strconv.Itoa(holder), "-m", "test", "-S", "/run/systemd/private").Run() == nil
	}) {
		t.Fatal("no /run/systemd/private in the manager's namespace")
	}
	base := ansibleEnv(work)
	ansibleDiff(t, ctx, playbook, ansibleSystemd(work, sd, base),
		&ansibleSide{name: "flint-dbus", work: work, prefix: nsenter, systemctl: systemdSystemctl, env: slices.Clone(base)},
		etc, m)
}

// ansibleNeeds skips the test unless it runs as root and returns ansible-playbook's path.
func ansibleNeeds(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("booting systemd needs root")
	}
	playbook, err := exec.LookPath("ansible-playbook")
	if err != nil {
		t.Fatalf("ansible-playbook (Debian's ansible-core, installed by .ci/run): %v", err)
	}
	return playbook
}

// ansibleEnv is the environment both sides start from: Ansible keeps its temporary files
// and configuration in the work directory (the same path inside systemd's namespaces),
// never under the host's ~/.ansible.
func ansibleEnv(work string) []string {
	cfg := filepath.Join(work, "ansible.cfg")
	os.WriteFile(cfg, nil, 0o644)
	return append(os.Environ(), "LC_ALL=C.UTF-8", "ANSIBLE_CONFIG="+cfg, "ANSIBLE_NOCOLOR=1",
		"ANSIBLE_RETRY_FILES_ENABLED=0", "ANSIBLE_PIPELINING=1")
}

// ansibleSystemd is the reference side: systemd 252 booted by bootWithConfig, the module
// run inside its namespaces.
func ansibleSystemd(work string, sd *difftest.Systemd, base []string) *ansibleSide {
	return &ansibleSide{name: "systemd", work: work, prefix: []string{"nsenter", "-t", strconv.Itoa(sd.Pid), "-m", "-p", "-u"}, systemctl: "systemctl", env: slices.Clone(base)}
}

// ansibleDiff sets the state before the plays the same way on systemd's side and on
// flint's (m, its configuration directory etc), runs the plays on both at once and
// compares each task's result: changed, failed, the message, enabled and state, and the
// unit's properties the module read. The converging play runs twice and changes nothing
// the second time; a play of restarts, reloads and failing tasks follows, and last a play
// that ansible-playbook runs with connection local.
func ansibleDiff(t *testing.T, ctx context.Context, playbook string, systemd, flint *ansibleSide, etc string, m *manager) {
	t.Helper()
	sides := []*ansibleSide{systemd, flint}
	for _, s := range sides {
		s.env = append(s.env, "ANSIBLE_HOME="+filepath.Join(s.work, s.name, "home"),
			"ANSIBLE_LOCAL_TEMP="+filepath.Join(s.work, s.name, "tmp"), "ANSIBLE_REMOTE_TEMP="+filepath.Join(s.work, s.name, "tmp"))
		os.MkdirAll(filepath.Join(s.work, s.name), 0o755)
	}
	// The state before the playbooks, set the same way on both.
	for _, args := range [][]string{
		{"enable", "--now", "idle.service"},
		{"mask", "ex.service"},
		{"enable", "other.service"},
	} {
		for _, s := range sides {
			if out, err := s.command(ctx, append([]string{s.systemctl}, args...)...).CombinedOutput(); err != nil {
				t.Fatalf("%s: systemctl %s: %v\n%s", s.name, strings.Join(args, " "), err, out)
			}
		}
	}

	// The two sides at once: the module program runs the converging play, the same again
	// and the actions, then ansible-playbook a last play.
	plays := []ansiblePlay{{"converge", ansibleConverge, false}, {"converge again", ansibleConverge, false},
		{"actions", ansibleActions, false}, {"playbook", ansiblePlaybook, true}}
	var res [2][][]map[string]any
	var out [2]string
	var wg sync.WaitGroup
	for i, s := range sides {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], out[i] = s.run(t, ctx, playbook, plays)
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for p, play := range plays {
		for i, task := range play.tasks {
			want, got := ansibleResult(res[0][p][i], "", ""), ansibleResult(res[1][p][i], etc, "/etc/systemd/system")
			if !reflect.DeepEqual(want, got) {
				t.Errorf("%s: task %q (%s):\nsystemd: %s\n%s: %s", play.name, task.name, task.args, jsonString(want), flint.name, jsonString(got))
			}
		}
	}
	for i, task := range ansibleConverge {
		for j, s := range sides {
			if r := ansibleResult(res[j][1][i], "", ""); r["changed"] != false || r["failed"] != false {
				t.Errorf("%s: second run of %q: changed %v, failed %v: %v", s.name, task.name, r["changed"], r["failed"], r["msg"])
			}
		}
	}
	// The module drove flint itself, not a systemctl found elsewhere (the last starts of
	// web, tmpl@two and tmpl@one were --no-block).
	var got string
	if !waitFor(20*time.Second, func() bool {
		got, _ = m.flint("is-active", "web.service", "tmpl@two.service", "idle.service", "tmpl@one.service", "ex.service")
		return got == "active\nactive\nactive\nactive\nactive\n"
	}) {
		t.Errorf("flint is-active web tmpl@two idle tmpl@one ex after the plays:\n%s", got)
	}
	if t.Failed() {
		for i, s := range sides {
			t.Logf("%s: ansible-playbook:\n%s", s.name, out[i])
		}
	}
}

// ansiblePlay is one play: run by ansible-playbook, or each task by running the module
// program itself, as Ansible's local connection runs it, which costs a fraction of the
// controller's time per task.
type ansiblePlay struct {
	name     string
	tasks    []ansibleTask
	playbook bool
}

// ansibleSide is one manager the playbooks drive.
type ansibleSide struct {
	name   string
	work   string
	prefix []string // the command that runs a program where this side's systemctl works
	// systemctl is the program the setup runs (the module finds it on the side's PATH)
	systemctl string
	env       []string
}

// command runs args[0] with args[1:] on this side, in a process group of its own that is
// killed, with everything the command started (ansible's workers, the processes nsenter
// forks), when ctx ends.
func (s *ansibleSide) command(ctx context.Context, args ...string) *exec.Cmd {
	full := append(append([]string(nil), s.prefix...), args...)
	cmd := exec.CommandContext(ctx, full[0], full[1:]...)
	cmd.Env = s.env
	cmd.Dir = s.work
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// run runs the plays in order and returns the results, by play and task, and the output
// of ansible-playbook and of the modules.
func (s *ansibleSide) run(t *testing.T, ctx context.Context, playbook string, plays []ansiblePlay) ([][]map[string]any, string) {
	var all [][]map[string]any
	var out strings.Builder
	for p, play := range plays {
		var res []map[string]any
		var ok bool
		if play.playbook {
			res, ok = s.playbook(t, ctx, playbook, fmt.Sprintf("play%d", p), play, &out)
		} else {
			res, ok = s.modules(t, ctx, play, &out)
		}
		if !ok {
			return nil, out.String()
		}
		all = append(all, res)
	}
	return all, out.String()
}

// playbook writes the play as a playbook (every result registered, errors ignored, and at
// the end all results written to a JSON file), runs it with ansible-playbook and returns
// the results.
func (s *ansibleSide) playbook(t *testing.T, ctx context.Context, playbook, file string, play ansiblePlay, out *strings.Builder) ([]map[string]any, bool) {
	dir := filepath.Join(s.work, s.name)
	results := filepath.Join(dir, file+".json")
	var b strings.Builder
	var regs []string
	fmt.Fprintf(&b, "- name: %q\n  hosts: localhost\n  gather_facts: false\n  ignore_errors: true\n  tasks:\n", play.name)
	for i, task := range play.tasks {
		reg := fmt.Sprintf("r%d", i)
		fmt.Fprintf(&b, "    - name: %q\n      ansible.builtin.systemd_service: {%s}\n      register: %s\n", task.name, task.args, reg)
		regs = append(regs, reg)
	}
	fmt.Fprintf(&b, "    - name: results\n      ansible.builtin.copy: {content: \"{{ [%s] | to_json }}\", dest: %q}\n", strings.Join(regs, ", "), results)
	yml := filepath.Join(dir, file+".yml")
	if err := os.WriteFile(yml, []byte(b.String()), 0o644); err != nil {
		t.Error(err)
		return nil, false
	}
	cmd := s.command(ctx, playbook, "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter="+ansiblePython, yml)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	out.Write(buf.Bytes())
	if err != nil {
		t.Errorf("%s: ansible-playbook: %v", s.name, err)
		return nil, false
	}
	data, err := os.ReadFile(results)
	var res []map[string]any
	if err == nil {
		err = json.Unmarshal(data, &res)
	}
	if err == nil && len(res) != len(play.tasks) {
		err = fmt.Errorf("%d results of %d tasks", len(res), len(play.tasks))
	}
	if err != nil {
		t.Errorf("%s: play %q: results: %v", s.name, play.name, err)
		return nil, false
	}
	return res, true
}

// modules runs the module program once per task, its arguments given as the
// ANSIBLE_MODULE_ARGS document on the command line, and returns what each printed.
func (s *ansibleSide) modules(t *testing.T, ctx context.Context, play ansiblePlay, out *strings.Builder) ([]map[string]any, bool) {
	var res []map[string]any
	for _, task := range play.tasks {
		args, err := ansibleArgs(task.args)
		if err != nil {
			t.Errorf("task %q: %v", task.name, err)
			return nil, false
		}
		doc, _ := json.Marshal(map[string]any{"ANSIBLE_MODULE_ARGS": args})
		cmd := s.command(ctx, ansiblePython, "-m", "ansible.modules.systemd_service", string(doc))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		runErr := cmd.Run()
		fmt.Fprintf(out, "%s: %s: %s%s", play.name, task.name, stdout.String(), stderr.String())
		var r map[string]any
		if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
			t.Errorf("%s: task %q: %v (%v)\n%s%s", s.name, task.name, err, runErr, stdout.String(), stderr.String())
			return nil, false
		}
		res = append(res, r)
	}
	return res, true
}

// ansiblePython is the interpreter of Debian's ansible-core.
const ansiblePython = "/usr/bin/python3"

// ansibleArgs parses a task's arguments (name: value pairs, as the playbook writes them in
// a flow mapping) into the module's arguments, with YAML's booleans.
func ansibleArgs(s string) (map[string]any, error) {
	args := map[string]any{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, ":")
		if !ok {
			return nil, fmt.Errorf("argument %q is not name: value", kv)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch v {
		case "true":
			args[k] = true
		case "false":
			args[k] = false
		default:
			args[k] = v
		}
	}
	return args, nil
}

// ansibleResult is the part of a task's result that is compared, with the directory from
// read as to in strings.
func ansibleResult(r map[string]any, from, to string) map[string]any {
	pick := func(m map[string]any, keys []string) map[string]any {
		kept := map[string]any{}
		for _, k := range keys {
			v, ok := m[k]
			if s, isString := v.(string); isString && from != "" {
				v = strings.ReplaceAll(s, from, to)
			}
			if ok {
				kept[k] = v
			}
		}
		return kept
	}
	keep := pick(r, []string{"changed", "failed", "msg", "enabled", "state", "name"})
	// the module leaves out failed when it succeeds, changed when it fails
	for _, k := range []string{"changed", "failed"} {
		if _, ok := keep[k]; !ok {
			keep[k] = false
		}
	}
	if st, ok := r["status"].(map[string]any); ok {
		keep["status"] = pick(st, ansibleStatus)
	}
	return keep
}

func jsonString(v any) string {
	data, _ := json.Marshal(v)
	return string(data)
}
