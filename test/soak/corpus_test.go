package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

// unitSuffixes are the unit types a corpus file may be.
var unitSuffixes = []string{".service", ".socket", ".target", ".timer", ".path"}

func isUnitName(name string) bool {
	for _, s := range unitSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// copyTree copies the regular files and directories under src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// generatedCorpus are the malformed units too big, too many or too linked to keep as files
// under testdata: a 2 MiB line, 200,000 lines, 10,000 drop-ins, alias loops, links to a unit
// of another type and to nothing, and a directory named like a unit. good.service runs bin.
func generatedCorpus(t *testing.T, units, bin string, dropins int) {
	t.Helper()
	files := map[string]string{
		"huge-line.service":  "[Unit]\nDescription=" + strings.Repeat("x", 2<<20) + "\n[Service]\nExecStart=/bin/true\n",
		"many-lines.service": strings.Repeat("# filler\n", 200000) + "[Service]\nExecStart=/bin/true\n",
		"many-dropins.service": "[Unit]\nDescription=" + fmt.Sprint(dropins) + " drop-ins\n[Service]\n" +
			"ExecStart=" + bin + " sleep\n",
		"loop-a.service":            "-> loop-b.service",
		"loop-b.service":            "-> loop-a.service",
		"self-loop.service":         "-> self-loop.service",
		"dangling.service":          "-> /nonexistent-flint-soak/dangling.service",
		"masked.service":            "-> /dev/null",
		"other-type.socket":         "-> good.service",
		"good.service":              "[Unit]\nDescription=the good one\n[Service]\nExecStart=" + bin + " sleep\n",
		"dir-as-unit.service/x":     "not a unit",
		"good.service.d/10-ok.conf": "[Service]\nEnvironment=GOOD=1\n",
	}
	writeFiles(t, units, files)
	d := filepath.Join(units, "many-dropins.service.d")
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < dropins; i++ {
		body := fmt.Sprintf("[Service]\nEnvironment=V%d=%d\n", i, i)
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("%05d.conf", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// unitNames lists the unit names in a unit directory (files, links and directories named as
// units), sorted.
func unitNames(t *testing.T, units string) []string {
	t.Helper()
	ents, err := os.ReadDir(units)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if isUnitName(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// lineLocated matches a diagnostic that names a file and a line: "PATH:LINE: ".
var lineLocated = regexp.MustCompile(`^(.*):(\d+): `)

// checkLocated fails the test for every line of out that names a file under units without
// the line in it ("PATH:LINE: ..."); a refusal of the unit as a whole ("PATH: error: ...
// Refusing.", as systemd words them) concerns no line.
func checkLocated(t *testing.T, what, out, units string) (located int) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		i := strings.Index(line, units+"/")
		if i < 0 {
			continue
		}
		rest := line[i:]
		if m := lineLocated.FindStringSubmatch(rest); m != nil && !strings.Contains(m[1], ": ") {
			located++
			continue
		}
		if strings.Contains(rest, ": error: ") && strings.HasSuffix(rest, "Refusing.") {
			continue
		}
		if strings.HasSuffix(line[:i], "Failed to open ") {
			continue // about the file as a whole (a dangling link, a FIFO): no line to name
		}
		t.Errorf("%s: a diagnostic without file:line: %q", what, line)
	}
	return located
}

// managerLine matches a line of the manager's own in `flint status` output, tagged as
// systemd's PID 1 tags its messages in the journal ("Dec 07 15:05:14 host systemd[123]: ...").
var managerLine = regexp.MustCompile(`^\s*\w{3} \d{2} \d{2}:\d{2}:\d{2} \S+ systemd\[\d+\]: `)

// logLines keeps the manager's log lines of `flint status` output.
func logLines(out string) string {
	var keep []string
	for _, line := range strings.Split(out, "\n") {
		if managerLine.MatchString(line) {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

func jsonList(names []string) string {
	b, _ := json.Marshal(names)
	return string(b)
}

// rawControl reports the first control character (other than newline and tab) in s, as
// unit files can smuggle them into messages (escape sequences that rewrite a terminal).
// (U+FFFD, which systemd puts for invalid UTF-8, is fine.)
func rawControl(s string) (string, bool) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r < 0x20 && r != '\n' && r != '\t' || r >= 0x7f && r < 0xa0 {
			return fmt.Sprintf("%q", s[max(0, i-40):min(len(s), i+40)]), true
		}
		i += size
	}
	return "", false
}

// TestMalformedUnits loads the malformed-unit corpus (testdata/corpus and generatedCorpus):
// the manager answers for every unit, never crashes, locates every error in a file at its
// line, starts what can be started (template recursion, dependency cycles, self-references
// included) and still starts the good unit among them.
func TestMalformedUnits(t *testing.T) {
	dir := openDir(t)
	bin := copyFile(t, hostileBin, dir)
	killLeftovers(t, bin)
	units := filepath.Join(dir, "units")
	copyTree(t, filepath.Join(repoRoot, "test", "soak", "testdata", "corpus"), units)
	const dropins = 10000
	generatedCorpus(t, units, bin, dropins)
	names := unitNames(t, units)
	kept := len(unitNames(t, filepath.Join(repoRoot, "test", "soak", "testdata", "corpus")))
	start := time.Now()
	m := startManager(t, units)
	f := newFigures(t)
	f.add("unit files", "%d (%d under testdata/corpus, the rest generated), %d drop-ins on one unit", len(names), kept, dropins)

	var statusOut string
	t.Run("load", func(t *testing.T) {
		// status, as systemctl's, stops at a template name (no unit can be a template): the
		// templates are looked at through their instances below.
		var loadable []string
		for _, n := range names {
			if !strings.Contains(n, "@.") {
				loadable = append(loadable, n)
			}
		}
		out, code := m.flint(t, append([]string{"status", "-n", "20"}, loadable...)...)
		statusOut = out
		if code != 0 && code != 3 && code != 4 {
			t.Errorf("flint status of the corpus: exit %d\n%s", code, out)
		}
		r, err := request(m.control, `{"verb":"show","props":["Id","LoadState"],"units":`+jsonList(names)+`}`, 60*time.Second)
		if err != nil {
			t.Fatalf("show of the corpus: %v", err)
		}
		var sts []struct {
			Props []struct{ Name, Value string } `json:"props"`
		}
		if err := json.Unmarshal(r.Data, &sts); err != nil {
			t.Fatal(err)
		}
		states := map[string][]string{}
		for _, st := range sts {
			var id, load string
			for _, p := range st.Props {
				switch p.Name {
				case "Id":
					id = p.Value
				case "LoadState":
					load = p.Value
				}
			}
			states[load] = append(states[load], id)
		}
		if len(sts) != len(names) {
			t.Errorf("show answered for %d of %d units", len(sts), len(names))
		}
		if !m.running() {
			t.Fatal("the manager died loading the corpus")
		}
		var sum []string
		for st, ns := range states {
			sum = append(sum, fmt.Sprintf("%s %d", st, len(ns)))
		}
		sort.Strings(sum)
		f.add("LoadState", "%s", strings.Join(sum, ", "))
		f.add("loaded in", "%s", time.Since(start).Round(time.Millisecond))
		for _, n := range []string{"good.service", "many-dropins.service"} {
			if st := m.prop(t, n, "LoadState"); st != "loaded" {
				t.Errorf("%s: LoadState=%s", n, st)
			}
		}
		if st := m.prop(t, "masked.service", "LoadState"); st != "masked" {
			t.Errorf("masked.service: LoadState=%s", st)
		}
	})

	t.Run("errors-located", func(t *testing.T) {
		args := append([]string{"--units", units, "analyze", "verify"}, names...)
		cmd := exec.Command(flintBin, args...)
		out, _ := cmd.CombinedOutput()
		verify := checkLocated(t, "analyze verify", string(out), units)
		console := checkLocated(t, "flint run", m.out.String(), units)
		status := checkLocated(t, "flint status", logLines(statusOut), units)
		f.add("diagnostics at file:line", "analyze verify %d, flint run %d, flint status %d", verify, console, status)
		if status == 0 {
			t.Errorf("flint status showed no diagnostic at file:line:\n%s", statusOut)
		}
		if verify < len(names)/2 {
			t.Errorf("analyze verify located only %d diagnostics in %d malformed units:\n%s", verify, len(names), out)
		}
	})

	t.Run("start", func(t *testing.T) {
		all := append([]string{"chain@a.service", "deep-template@a.service", "template-only@x.service"}, names...)
		begin := time.Now()
		m.flint(t, append([]string{"start", "--no-block"}, all...)...)
		m.settle(t)
		f.add("start of every unit", "settled in %s", time.Since(begin).Round(time.Millisecond))
		m.mustFlint(t, "start", "good.service", "many-dropins.service")
		m.waitProps(t, "good.service", map[string]string{"ActiveState": "active", "SubState": "running"})
		m.waitProps(t, "many-dropins.service", map[string]string{"ActiveState": "active", "SubState": "running"})
		env, err := os.ReadFile(fmt.Sprintf("/proc/%s/environ", m.prop(t, "many-dropins.service", "MainPID")))
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Count(string(env), "\x00V")
		if got != dropins {
			t.Errorf("many-dropins.service has %d of the %d variables its drop-ins set", got, dropins)
		}
		if !m.running() {
			t.Fatal("the manager died starting the corpus")
		}
		f.add("manager after", "%s", m.usage())
	})

	// Issue 16, item 9: escape sequences and invalid UTF-8 in unit files reach no message raw.
	t.Run("messages-escaped", func(t *testing.T) {
		for what, out := range map[string]string{"flint run": m.out.String(), "flint status": statusOut} {
			if s, found := rawControl(out); found {
				t.Errorf("%s prints a raw control character or invalid UTF-8 from a unit file: %s", what, s)
			}
		}
		if st := m.prop(t, "escape-key.service", "LoadState"); st == "loaded" {
			if out, _ := m.flint(t, "show", "escape-key.service", "-p", "ExecStart"); strings.Contains(out, "/bin/false") {
				t.Errorf("a key made of escape sequences was taken as ExecStart=:\n%s", out)
			}
		}
	})
}

// TestSpecialUnitFiles (issue 16, item 3): a unit file or drop-in that is a FIFO, or a link
// to /dev/zero or /dev/urandom, neither blocks nor floods the manager or the offline verbs: a
// FIFO is not found, a character device is masked, such drop-ins are skipped, and the manager
// answers throughout.
func TestSpecialUnitFiles(t *testing.T) {
	dir := openDir(t)
	units := filepath.Join(dir, "units")
	writeFiles(t, units, map[string]string{
		"zero.service":                   "-> /dev/zero",
		"urandom.service":                "-> /dev/urandom",
		"dropins.service":                "[Service]\nExecStart=/bin/sleep 1000\n",
		"dropins.service.d/20-zero.conf": "-> /dev/zero",
	})
	for _, p := range []string{"fifo.service", "dropins.service.d/10-fifo.conf"} {
		if err := syscall.Mkfifo(filepath.Join(units, p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := newFigures(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	offline, _ := exec.CommandContext(ctx, flintBin, "--units", units, "list-unit-files").CombinedOutput()
	if ctx.Err() != nil {
		f.add("list-unit-files (offline)", "killed after 10s")
		t.Errorf("offline list-unit-files still running after 10s")
	} else {
		f.add("list-unit-files (offline)", "%d lines", strings.Count(string(offline), "\n"))
	}
	cancel()
	m := startManager(t, units)
	t.Cleanup(func() {
		// A manager blocked opening a FIFO gets its open(2) back (and an empty file), so that
		// it can stop.
		for _, p := range []string{"fifo.service", "dropins.service.d/10-fifo.conf"} {
			if fd, err := syscall.Open(filepath.Join(units, p), syscall.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				syscall.Close(fd)
			}
		}
	})
	for name, want := range map[string]string{"fifo.service": "not-found", "zero.service": "masked",
		"urandom.service": "masked", "dropins.service": "loaded"} {
		start := time.Now()
		r, err := request(m.control, fmt.Sprintf(`{"verb":"show","units":[%q],"props":["LoadState"]}`, name), 10*time.Second)
		took := time.Since(start)
		if err != nil {
			f.add(name, "no answer after %s", took.Round(time.Millisecond))
			t.Fatalf("show %s: %v (after %s): the manager no longer answers", name, err, took.Round(time.Millisecond))
		}
		got := m.prop(t, name, "LoadState")
		f.add(name, "LoadState=%s, answered in %s", got, ms(took))
		if got != want {
			t.Errorf("%s: LoadState=%s, want %s (%s)", name, got, want, r.Data)
		}
	}
	if st := m.usage(); st.rssKiB > 256<<10 {
		t.Errorf("the manager holds %s after reading the special files", st)
	}
}

// TestShutdownWithCycle: three targets ordered in a cycle (After= around, from the corpus) are
// all active when the manager gets SIGTERM: it still stops every unit and exits (a unit
// author's ordering cycle must not leave `flint run` unable to stop).
func TestShutdownWithCycle(t *testing.T) {
	dir := openDir(t)
	units := filepath.Join(dir, "units")
	files := map[string]string{}
	for _, n := range []string{"cycle-x.target", "cycle-y.target", "cycle-z.target"} {
		data, err := os.ReadFile(filepath.Join(repoRoot, "test", "soak", "testdata", "corpus", n))
		if err != nil {
			t.Fatal(err)
		}
		files[n] = string(data)
	}
	writeFiles(t, units, files)
	m := startManager(t, units)
	for _, n := range []string{"cycle-x.target", "cycle-y.target", "cycle-z.target"} {
		m.flint(t, "start", n)
		m.waitProps(t, n, map[string]string{"ActiveState": "active"})
	}
	start := time.Now()
	m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
		if code := m.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("flint run exited %d after SIGTERM", code)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("flint run still running 20s after SIGTERM with three active targets ordered in a cycle")
		m.kill9()
	}
	newFigures(t).add("stopped after SIGTERM", "%s", time.Since(start).Round(time.Millisecond))
}
