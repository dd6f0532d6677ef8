package manager

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/flint-init/flint/internal/logs"
	"github.com/flint-init/flint/unit"
)

// lineRecorder collects console lines.
type lineRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *lineRecorder) Write(b []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		r.lines = append(r.lines, l)
	}
	return len(b), nil
}

func (r *lineRecorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// reached returns the targets in the order they were reached.
func (r *lineRecorder) reached() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.lines {
		if i := strings.Index(l, "Reached target "); i >= 0 {
			out = append(out, strings.TrimSuffix(l[i+len("Reached target "):], "."))
		}
	}
	return out
}

// testManager is a manager without sockets or processes: enough for transactions over targets.
func testManager(t testing.TB, files map[string]string) (*Manager, *lineRecorder) {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if strings.HasSuffix(name, "/") {
			os.MkdirAll(p, 0o755)
			continue
		}
		os.MkdirAll(filepath.Dir(p), 0o755)
		if strings.HasPrefix(body, "->") {
			if err := os.Symlink(strings.TrimSpace(body[2:]), p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rec := &lineRecorder{}
	m := &Manager{
		loader:   unit.NewLoader(unit.System, []string{dir}),
		units:    map[string]*Unit{},
		jobs:     map[int]*job{},
		procs:    map[int]*proc{},
		pollRefs: map[uint64]pollRef{},
		console:  &console{out: rec, direct: true},
		quit:     make(chan struct{}),
		logs:     logs.NewStore(100, ""),
	}
	return m, rec
}

func target(desc string, lines ...string) string {
	return "[Unit]\nDescription=" + desc + "\nDefaultDependencies=no\n" + strings.Join(lines, "\n") + "\n"
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}

func TestTransactionOrdering(t *testing.T) {
	m, rec := testManager(t, map[string]string{
		"a.target": target("A", "Requires=b.target c.target", "After=b.target"),
		"b.target": target("B", "Wants=c.target", "After=c.target"),
		"c.target": target("C"),
		"d.target": target("D", "Before=a.target"), // not pulled in: ordering alone pulls nothing
	})
	var res string
	if err := m.enqueueErr("start", m.load("a.target"), "replace", func(r string) { res = r }); err != nil {
		t.Fatal(err)
	}
	if res != "done" {
		t.Fatalf("result %q", res)
	}
	got := rec.reached()
	if strings.Join(got, ",") != "C,B,A" {
		t.Fatalf("order %v, want C,B,A", got)
	}
	if st := m.load("d.target").activeState(); st != Inactive {
		t.Fatalf("d.target %s: ordering must not pull units in", st)
	}
}

func TestTransactionClosure(t *testing.T) {
	m, _ := testManager(t, map[string]string{
		"top.target":       target("Top", "Requires=req.target", "Wants=want.target missing.target", "Requisite=reqs.target", "After=reqs.target", "BindsTo=bound.target"),
		"req.target":       target("Req", "Wants=deep.target"),
		"want.target":      target("Want"),
		"reqs.target":      target("Requisite"),
		"bound.target":     target("Bound"),
		"deep.target":      target("Deep"),
		"unrelated.target": target("Unrelated"),
	})
	// Requisite= unit not active: the job fails with "dependency" and nothing of ours starts.
	var res string
	if err := m.enqueueErr("start", m.load("top.target"), "replace", func(r string) { res = r }); err != nil {
		t.Fatal(err)
	}
	if res != "dependency" {
		t.Fatalf("with inactive Requisite=: result %q, want dependency", res)
	}
	if st := m.load("top.target").activeState(); st != Inactive {
		t.Fatalf("top.target %s", st)
	}
	m.enqueue("start", m.load("reqs.target"), "replace", nil)
	res = ""
	if err := m.enqueueErr("start", m.load("top.target"), "replace", func(r string) { res = r }); err != nil {
		t.Fatal(err)
	}
	if res != "done" {
		t.Fatalf("result %q", res)
	}
	for _, n := range []string{"top.target", "req.target", "want.target", "bound.target", "deep.target"} {
		if st := m.load(n).activeState(); st != Active {
			t.Errorf("%s is %s, want active", n, st)
		}
	}
	if st := m.load("unrelated.target").activeState(); st != Inactive {
		t.Errorf("unrelated.target %s", st)
	}
	// Stopping a required unit stops what requires it (and what is bound to it).
	m.enqueue("stop", m.load("req.target"), "replace", nil)
	if st := m.load("top.target").activeState(); st != Inactive {
		t.Errorf("top.target is %s after its Requires= unit stopped", st)
	}
	if st := m.load("want.target").activeState(); st != Active {
		t.Errorf("want.target is %s: Wants= must not propagate stop", st)
	}
}

func TestTransactionMissingRequirement(t *testing.T) {
	m, _ := testManager(t, map[string]string{
		"a.target": target("A", "Requires=nothere.target"),
		"b.target": target("B", "Wants=nothere.target"),
	})
	err := m.enqueueErr("start", m.load("a.target"), "replace", nil)
	if err == nil || !strings.Contains(err.Error(), "nothere.target") {
		t.Fatalf("err = %v, want one naming nothere.target", err)
	}
	if m.load("a.target").activeState() != Inactive {
		t.Fatal("a.target started despite a missing requirement")
	}
	var res string
	if err := m.enqueueErr("start", m.load("b.target"), "replace", func(r string) { res = r }); err != nil || res != "done" {
		t.Fatalf("Wants= on a missing unit: err %v result %q", err, res)
	}
}

func TestTransactionConflicts(t *testing.T) {
	m, rec := testManager(t, map[string]string{
		"a.target":    target("A", "Conflicts=b.target"),
		"b.target":    target("B"),
		"bad.target":  target("Bad", "Requires=x.target", "Conflicts=x.target"),
		"x.target":    target("X"),
		"soft.target": target("Soft", "Requires=y.target", "Wants=z.target"),
		"y.target":    target("Y", "Conflicts=z.target"),
		"z.target":    target("Z"),
	})
	m.enqueue("start", m.load("b.target"), "replace", nil)
	m.enqueue("start", m.load("a.target"), "replace", nil)
	if m.load("b.target").activeState() != Inactive || m.load("a.target").activeState() != Active {
		t.Fatalf("Conflicts=: a %s b %s", m.load("a.target").activeState(), m.load("b.target").activeState())
	}
	// Starting b again stops a (ConflictedBy).
	m.enqueue("start", m.load("b.target"), "replace", nil)
	if m.load("a.target").activeState() != Inactive {
		t.Fatalf("ConflictedBy=: a is %s", m.load("a.target").activeState())
	}
	// Contradictory required jobs fail the whole transaction with a clear message.
	err := m.enqueueErr("start", m.load("bad.target"), "replace", nil)
	if err == nil || !strings.Contains(err.Error(), "conflicting jobs") || !strings.Contains(err.Error(), "x.target") {
		t.Fatalf("err = %v", err)
	}
	if m.load("x.target").activeState() != Inactive {
		t.Fatal("a failed transaction must install nothing")
	}
	// A non-essential (Wants=) job that conflicts with a required one is dropped.
	if err := m.enqueueErr("start", m.load("soft.target"), "replace", nil); err != nil {
		t.Fatalf("soft: %v\n%s", err, rec.text())
	}
	if m.load("y.target").activeState() != Active || m.load("z.target").activeState() != Inactive {
		t.Fatalf("y %s z %s", m.load("y.target").activeState(), m.load("z.target").activeState())
	}
}

func TestTransactionCycleBroken(t *testing.T) {
	m, rec := testManager(t, map[string]string{
		"a.target": target("A", "Requires=b.target", "Wants=c.target", "After=b.target"),
		"b.target": target("B", "After=c.target"),
		"c.target": target("C", "After=a.target"),
	})
	var res string
	if err := m.enqueueErr("start", m.load("a.target"), "replace", func(r string) { res = r }); err != nil {
		t.Fatalf("%v\n%s", err, rec.text())
	}
	if res != "done" {
		t.Fatalf("result %q", res)
	}
	out := rec.text()
	for _, want := range []string{"Found ordering cycle on", "Found dependency on", "Job c.target/start deleted to break ordering cycle"} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q:\n%s", want, out)
		}
	}
	if m.load("c.target").activeState() != Inactive {
		t.Errorf("c.target should have been dropped from the transaction")
	}
	if got := rec.reached(); strings.Join(got, ",") != "B,A" {
		t.Errorf("order %v", got)
	}
}

func TestTransactionCycleUnbreakable(t *testing.T) {
	m, rec := testManager(t, map[string]string{
		"a.target": target("A", "Requires=b.target", "After=b.target"),
		"b.target": target("B", "Requires=a.target", "After=a.target"),
	})
	err := m.enqueueErr("start", m.load("a.target"), "replace", nil)
	if err == nil || !strings.Contains(err.Error(), "cyclic") {
		t.Fatalf("err = %v\n%s", err, rec.text())
	}
	if !strings.Contains(err.Error(), "a.target/start") || !strings.Contains(err.Error(), "b.target/start") {
		t.Errorf("error should name the full cycle: %v", err)
	}
	if len(m.jobs) != 0 {
		t.Fatalf("jobs left installed: %d", len(m.jobs))
	}
}

func TestJobModeFail(t *testing.T) {
	m, _ := testManager(t, map[string]string{
		"a.target": target("A"),
	})
	a := m.load("a.target")
	// A pending stop job that cannot run yet: fake one.
	m.installJob("stop", a, "replace")
	err := m.enqueueErr("start", a, "fail", nil)
	if err == nil || !strings.Contains(err.Error(), "destructive") {
		t.Fatalf("err = %v", err)
	}
	// Its own error code: systemctl exits 4 on TransactionIsDestructive.
	if re := (*reqError)(nil); !errors.As(err, &re) || re.code != "destructive" {
		t.Errorf("err = %#v, want a reqError with code destructive", err)
	}
}

func TestMergeJobTypes(t *testing.T) {
	u := &Unit{cfg: &unit.Unit{Type: unit.TypeTarget}, sub: targetDead}
	for _, c := range []struct{ a, b, want string }{
		{"start", "start", "start"},
		{"start", "verify-active", "start"},
		{"start", "restart", "restart"},
		{"start", "reload", "start"},
		{"try-restart", "start", "restart"},
		{"stop", "start", ""},
		{"restart", "stop", ""},
		{"stop", "stop", "stop"},
	} {
		t.Run(c.a+"+"+c.b, func(t *testing.T) {
			got, ok := mergeJobTypes(c.a, c.b, u)
			if (c.want == "") == ok || got != c.want {
				t.Fatalf("merge(%s,%s) = %q %v, want %q", c.a, c.b, got, ok, c.want)
			}
		})
	}
}

func TestPartOfAndBindsTo(t *testing.T) {
	m, _ := testManager(t, map[string]string{
		"main.target":  target("Main", "Wants=part.target bound.target"),
		"part.target":  target("Part", "PartOf=main.target"),
		"bound.target": target("Bound", "BindsTo=main.target"),
	})
	m.enqueue("start", m.load("main.target"), "replace", nil)
	for _, n := range []string{"main.target", "part.target", "bound.target"} {
		if m.load(n).activeState() != Active {
			t.Fatalf("%s not active", n)
		}
	}
	m.enqueue("stop", m.load("main.target"), "replace", nil)
	for _, n := range []string{"part.target", "bound.target"} {
		if st := m.load(n).activeState(); st != Inactive {
			t.Errorf("%s is %s after main.target stopped", n, st)
		}
	}
}

// TestStopPropagation: PropagatesStopTo= and StopPropagatedFrom= propagate a stop, not a
// restart (as systemd 252).
func TestStopPropagation(t *testing.T) {
	m, rec := testManager(t, map[string]string{
		"main.target": target("Main", "PropagatesStopTo=to.target"),
		"to.target":   target("To"),
		"from.target": target("From", "StopPropagatedFrom=main.target"),
	})
	for _, n := range []string{"main.target", "to.target", "from.target"} {
		m.enqueue("start", m.load(n), "replace", nil)
	}
	m.enqueue("restart", m.load("main.target"), "replace", nil)
	reached := map[string]int{}
	for _, d := range rec.reached() {
		reached[d]++
	}
	if reached["Main"] != 2 || reached["To"] != 1 || reached["From"] != 1 {
		t.Errorf("targets reached after main.target's restart: %v, want Main twice, To and From once", reached)
	}
	m.enqueue("stop", m.load("main.target"), "replace", nil)
	for _, n := range []string{"to.target", "from.target"} {
		if st := m.load(n).activeState(); st != Inactive {
			t.Errorf("%s is %s after main.target stopped", n, st)
		}
	}
}

// TestRestartOrder: the restarts of ordered units stop them in reverse order first, then
// start them in order (systemd orders a restart job as a stop until its start half).
func TestRestartOrder(t *testing.T) {
	m, rec := testManager(t, map[string]string{
		"t.target": target("T", "Wants=a.target b.target c.target"),
		"a.target": target("A", "PartOf=t.target"),
		"b.target": target("B", "PartOf=t.target", "After=a.target"),
		"c.target": target("C", "PartOf=t.target", "After=b.target"),
	})
	m.enqueue("start", m.load("t.target"), "replace", nil)
	before := len(strings.Split(rec.text(), "\n"))
	m.enqueue("restart", m.load("t.target"), "replace", nil)
	var got []string
	for _, l := range strings.Split(rec.text(), "\n")[before:] {
		for _, w := range []string{"Stopped target ", "Reached target "} {
			if i := strings.Index(l, w); i >= 0 && !strings.HasSuffix(l, " T.") {
				got = append(got, l[i:])
			}
		}
	}
	want := []string{"Stopped target C.", "Stopped target B.", "Stopped target A.", "Reached target A.", "Reached target B.", "Reached target C."}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("restart of t.target:\n got %q\nwant %q", got, want)
	}
}

func TestStopWhenUnneeded(t *testing.T) {
	m, _ := testManager(t, map[string]string{
		"user.target":   target("User", "Wants=helper.target"),
		"helper.target": target("Helper", "StopWhenUnneeded=yes"),
	})
	m.enqueue("start", m.load("user.target"), "replace", nil)
	if m.load("helper.target").activeState() != Active {
		t.Fatal("helper not started")
	}
	m.enqueue("stop", m.load("user.target"), "replace", nil)
	m.dispatch()
	if st := m.load("helper.target").activeState(); st != Inactive {
		t.Fatalf("helper is %s after its only user stopped", st)
	}
}

func TestOnFailureOnSuccessUpholds(t *testing.T) {
	m, _ := testManager(t, map[string]string{
		"a.target":       target("A", "OnSuccess=success.target", "Upholds=upheld.target"),
		"success.target": target("Success"),
		"upheld.target":  target("Upheld"),
	})
	m.enqueue("start", m.load("a.target"), "replace", nil)
	if m.load("upheld.target").activeState() != Active {
		t.Fatal("Upholds= unit not started")
	}
	m.enqueue("stop", m.load("upheld.target"), "replace", nil)
	m.dispatch()
	if m.load("upheld.target").activeState() != Active {
		t.Fatal("Upholds= unit not restarted after it stopped")
	}
	m.enqueue("stop", m.load("a.target"), "replace", nil)
	m.dispatch()
	if m.load("success.target").activeState() != Active {
		t.Fatal("OnSuccess= unit not started after a clean stop")
	}
}

// TestHoldDispatch: the jobs of a transaction enqueued while dispatch is held (a control
// request's, answered first) are installed but do not run; they run once the hold is
// released and the loop dispatches after the event. A hold taken inside a running dispatch
// holds nothing back.
func TestHoldDispatch(t *testing.T) {
	m, rec := testManager(t, map[string]string{
		"a.target": target("A", "Requires=b.target", "After=b.target"),
		"b.target": target("B"),
		"c.target": target("C"),
	})
	a := m.load("a.target")
	var res string
	release := m.holdDispatch()
	if err := m.enqueueErr("start", a, "replace", func(r string) { res = r }); err != nil {
		t.Fatal(err)
	}
	if a.job == nil || a.job.running || m.load("b.target").job == nil || res != "" || len(rec.reached()) != 0 {
		t.Fatalf("held: job %+v, result %q, reached %v; want installed jobs, none run", a.job, res, rec.reached())
	}
	release()
	if !m.dispatchPending {
		t.Fatal("released without a dispatch pending for the loop")
	}
	m.dispatch() // what the loop does after the event
	if res != "done" || strings.Join(rec.reached(), ",") != "B,A" {
		t.Fatalf("after the event: result %q, reached %v; want done, B,A", res, rec.reached())
	}

	m.dispatching = true // as inside dispatch
	release = m.holdDispatch()
	release()
	if !m.dispatching {
		t.Fatal("a hold inside dispatch ended the dispatch")
	}
	m.dispatching = false
	res = ""
	if err := m.enqueueErr("start", m.load("c.target"), "replace", func(r string) { res = r }); err != nil || res != "done" {
		t.Fatalf("unheld start: %q %v, want done at once", res, err)
	}
}
