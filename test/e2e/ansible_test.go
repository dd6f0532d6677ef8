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
	"testing"
	"time"
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
	{"unknown unit enabled", "name: nope.service, enabled: true"},
	{"unknown unit masked", "name: nope.service, masked: true"},
	{"static unit enabled", "name: plain.service, enabled: true"},
	{"alias taken, without force", "name: other.service, enabled: true"},
	{"web masked and disabled while running", "name: web.service, masked: true, enabled: false"},
	{"web stopped while masked", "name: web.service, state: stopped, force: true"},
	{"web unmasked and restarted", "name: web.service, masked: false, state: restarted, no_block: true, force: true"},
	{"template instance disabled and stopped", "name: tmpl@one.service, enabled: false, state: stopped"},
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
}

// ansibleStatus are the properties of the module's `status` result (systemctl show, taken
// before the task acts) that are compared.
var ansibleStatus = []string{"Id", "LoadState", "LoadError", "ActiveState", "SubState", "UnitFileState", "FragmentPath"}

// TestAnsibleSystemdService runs playbooks of Ansible's systemd_service module (ansible-core,
// connection local) against systemd 252 (booted in private namespaces, the playbook run
// inside them) and against flint (a `flint run` manager, with `systemctl` a symlink to the
// flint binary first on PATH) on the same unit files, and compares each task's result:
// changed, failed, the message, enabled and state, and the unit's properties the module
// read. The converging play runs twice and changes nothing the second time; a play of
// restarts, reloads and failing tasks follows.
func TestAnsibleSystemdService(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("booting systemd needs root")
	}
	playbook, err := exec.LookPath("ansible-playbook")
	if err != nil {
		t.Fatalf("ansible-playbook (Debian's ansible-core, installed by .ci/run): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	work, _, etc, sd, m := bootWithConfig(t, ctx, ansibleUnits)
	bin := filepath.Join(work, "bin")
	os.MkdirAll(bin, 0o755)
	if err := os.Symlink(flintBin, filepath.Join(bin, "systemctl")); err != nil {
		t.Fatal(err)
	}

	// Ansible keeps its temporary files and configuration in the work directory (the same
	// path inside systemd's namespaces), never under the host's ~/.ansible.
	cfg := filepath.Join(work, "ansible.cfg")
	os.WriteFile(cfg, nil, 0o644)
	base := append(os.Environ(), "LC_ALL=C.UTF-8", "ANSIBLE_CONFIG="+cfg, "ANSIBLE_NOCOLOR=1",
		"ANSIBLE_RETRY_FILES_ENABLED=0", "ANSIBLE_PIPELINING=1")
	sides := []*ansibleSide{
		{name: "systemd", work: work, prefix: []string{"nsenter", "-t", strconv.Itoa(sd.Pid), "-m", "-p", "-u"}, systemctl: "systemctl", env: slices.Clone(base)},
		{name: "flint", work: work, systemctl: filepath.Join(bin, "systemctl"), env: append(slices.Clone(base), "PATH="+bin+":"+os.Getenv("PATH"), "FLINT_CONTROL="+m.control)},
	}
	for _, s := range sides {
		s.env = append(s.env, "ANSIBLE_HOME="+filepath.Join(work, s.name, "home"),
			"ANSIBLE_LOCAL_TEMP="+filepath.Join(work, s.name, "tmp"), "ANSIBLE_REMOTE_TEMP="+filepath.Join(work, s.name, "tmp"))
		os.MkdirAll(filepath.Join(work, s.name), 0o755)
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

	// One ansible-playbook run per side (the two at once): the converging play, the same
	// again, then the actions.
	plays := []ansiblePlay{{"converge", ansibleConverge}, {"converge again", ansibleConverge}, {"actions", ansibleActions}}
	var res [2][][]map[string]any
	var out [2]string
	var wg sync.WaitGroup
	for i, s := range sides {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], out[i] = s.play(t, ctx, playbook, plays)
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
				t.Errorf("%s: task %q (%s):\nsystemd: %s\nflint:   %s", play.name, task.name, task.args, jsonString(want), jsonString(got))
			}
		}
	}
	for i, task := range ansibleConverge {
		for j, s := range sides {
			if r := res[j][1][i]; r["changed"] != false || r["failed"] != false {
				t.Errorf("%s: second run of %q: changed %v, failed %v: %v", s.name, task.name, r["changed"], r["failed"], r["msg"])
			}
		}
	}
	// The playbooks drove flint itself, not a systemctl found elsewhere (the last start of
	// each was --no-block).
	var got string
	if !waitFor(10*time.Second, func() bool {
		got, _ = m.flint("is-active", "web.service", "tmpl@two.service", "idle.service")
		return got == "active\nactive\ninactive\n"
	}) {
		t.Errorf("flint is-active web tmpl@two idle after the playbooks:\n%s", got)
	}
	if t.Failed() {
		for i, s := range sides {
			t.Logf("%s: ansible-playbook:\n%s", s.name, out[i])
		}
	}
}

// ansiblePlay is one play of the generated playbook.
type ansiblePlay struct {
	name  string
	tasks []ansibleTask
}

// ansibleSide is one manager the playbooks drive.
type ansibleSide struct {
	name   string
	work   string
	prefix []string // the command that runs a program where this side's systemctl works
	// systemctl is the program the setup runs (the playbook finds it on the side's PATH)
	systemctl string
	env       []string
}

// command runs args[0] with args[1:] on this side.
func (s *ansibleSide) command(ctx context.Context, args ...string) *exec.Cmd {
	full := append(append([]string(nil), s.prefix...), args...)
	cmd := exec.CommandContext(ctx, full[0], full[1:]...)
	cmd.Env = s.env
	cmd.Dir = s.work
	return cmd
}

// play writes the plays as one playbook (every result registered, errors ignored, and at
// the end all results written to a JSON file), runs it with ansible-playbook and returns
// the results, by play and task, and ansible-playbook's output.
func (s *ansibleSide) play(t *testing.T, ctx context.Context, playbook string, plays []ansiblePlay) ([][]map[string]any, string) {
	dir := filepath.Join(s.work, s.name)
	results := filepath.Join(dir, "results.json")
	var b strings.Builder
	var regs []string
	for p, play := range plays {
		fmt.Fprintf(&b, "- name: %q\n  hosts: localhost\n  gather_facts: false\n  ignore_errors: true\n  tasks:\n", play.name)
		var these []string
		for i, task := range play.tasks {
			reg := fmt.Sprintf("r%d_%d", p, i)
			fmt.Fprintf(&b, "    - name: %q\n      ansible.builtin.systemd_service: {%s}\n      register: %s\n", task.name, task.args, reg)
			these = append(these, reg)
		}
		regs = append(regs, "["+strings.Join(these, ", ")+"]")
	}
	fmt.Fprintf(&b, "    - name: results\n      ansible.builtin.copy: {content: \"{{ [%s] | to_json }}\", dest: %q}\n", strings.Join(regs, ", "), results)
	file := filepath.Join(dir, "playbook.yml")
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Error(err)
		return nil, ""
	}
	cmd := s.command(ctx, playbook, "-i", "localhost,", "-c", "local", "-e", "ansible_python_interpreter=/usr/bin/python3", file)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Errorf("%s: ansible-playbook: %v\n%s", s.name, err, out.String())
		return nil, out.String()
	}
	data, err := os.ReadFile(results)
	var res [][]map[string]any
	if err == nil {
		err = json.Unmarshal(data, &res)
	}
	if err == nil && len(res) != len(plays) {
		err = fmt.Errorf("%d plays, want %d", len(res), len(plays))
	}
	for p := 0; err == nil && p < len(plays); p++ {
		if len(res[p]) != len(plays[p].tasks) {
			err = fmt.Errorf("play %q: %d results of %d tasks", plays[p].name, len(res[p]), len(plays[p].tasks))
		}
	}
	if err != nil {
		t.Errorf("%s: results: %v\n%s", s.name, err, out.String())
		return nil, out.String()
	}
	return res, out.String()
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
	if st, ok := r["status"].(map[string]any); ok {
		keep["status"] = pick(st, ansibleStatus)
	}
	return keep
}

func jsonString(v any) string {
	data, _ := json.Marshal(v)
	return string(data)
}
