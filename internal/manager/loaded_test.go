package manager

import (
	"fmt"
	"maps"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// globMatch is fnmatch with FNM_NOESCAPE, as systemctl matches unit names.
func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, name string
		want          bool
	}{
		{"a@*", "a@x.service", true},
		{"a@*.service", "a@x.service", true},
		{"a@*.service", "a@x.socket", false},
		{"*@x.service", "b@x.service", true},
		{"a@[xy].service", "a@y.service", true},
		{"a@[xy].service", "a@z.service", false},
		{"a@?.service", "a@xy.service", false},
		{`a@foo\x2d*`, `a@foo\x2dbar.service`, true},
		{`a@foo\x2dbar.service`, `a@foo\x2dbar.service`, true},
		{`a@foo\x2dbar.service`, `a@foox2dbar.service`, false},
	} {
		if got := globMatch(tc.pattern, tc.name); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}

func loadedNames(m *Manager) []string {
	var out []string
	for _, u := range m.order {
		out = append(out, u.Name)
	}
	sort.Strings(out)
	return out
}

// collectGarbage unloads what systemd's unit_gc_sweep unloads: inactive units that no kept
// unit refers to; an active unit keeps what it refers to, a failed one itself.
func TestCollectGarbage(t *testing.T) {
	m, _ := testManager(t, map[string]string{
		"top.target":     target("Top", "Wants=wanted.target", "After=ordered.target"),
		"wanted.target":  target("Wanted", "Wants=deep.target"),
		"ordered.target": target("Ordered"),
		"deep.target":    target("Deep"),
		"alone.target":   target("Alone"),
		"a@.target":      target("A %i"),
	})
	for _, n := range []string{"top.target", "alone.target", "a@x.target", "a@y.target", "ordered.target"} {
		m.load(n)
	}
	if err := m.enqueueErr("start", m.load("top.target"), "replace", nil); err != nil {
		t.Fatal(err)
	}
	if err := m.enqueueErr("start", m.load("a@x.target"), "replace", nil); err != nil {
		t.Fatal(err)
	}
	m.collectGarbage()
	want := []string{"a@x.target", "deep.target", "ordered.target", "top.target", "wanted.target"}
	if got := loadedNames(m); !slices.Equal(got, want) {
		t.Errorf("loaded %v, want %v", got, want)
	}
	if got := m.expandUnits([]string{"a@*", "alone"}); !slices.Equal(got, []string{"alone.service", "a@x.target"}) {
		t.Errorf("expandUnits = %v", got)
	}
	// Stopped, a@x goes, and so does ordered.target, which only top referred to; the
	// wanted ones stay, active.
	for _, n := range []string{"a@x.target", "top.target"} {
		if err := m.enqueueErr("stop", m.units[n], "replace", nil); err != nil {
			t.Fatal(err)
		}
	}
	m.collectGarbage()
	if got := loadedNames(m); !slices.Equal(got, []string{"deep.target", "wanted.target"}) {
		t.Errorf("loaded after the stops: %v", got)
	}
	// A unit loaded anew starts from scratch.
	if u := m.load("top.target"); u.activeState() != Inactive {
		t.Errorf("top.target reloaded as %s", u.activeState())
	}
}

// TestCollectGarbageQueue: the sweep runs only when a unit that changed may go, yet misses
// nothing: a unit kept by a reference goes once a daemon-reload drops the reference, and a
// unit loaded for a look goes at the end of that event.
func TestCollectGarbageQueue(t *testing.T) {
	m, _ := testManager(t, map[string]string{
		"top.target":     target("Top", "After=ordered.target"),
		"ordered.target": target("Ordered"),
		"look.target":    target("Look"),
	})
	if err := m.enqueueErr("start", m.load("top.target"), "replace", nil); err != nil {
		t.Fatal(err)
	}
	m.load("ordered.target")
	m.collectGarbage()
	if got := loadedNames(m); !slices.Equal(got, []string{"ordered.target", "top.target"}) {
		t.Fatalf("loaded %v", got)
	}
	// An event on the active unit: nothing may go, nothing goes.
	m.gcEnqueue(m.units["top.target"])
	m.collectGarbage()
	if got := loadedNames(m); !slices.Equal(got, []string{"ordered.target", "top.target"}) {
		t.Fatalf("loaded after an event on top.target: %v", got)
	}
	m.load("look.target")
	m.collectGarbage()
	if got := loadedNames(m); !slices.Equal(got, []string{"ordered.target", "top.target"}) {
		t.Fatalf("loaded after a look at look.target: %v", got)
	}
	// top.target no longer refers to ordered.target: after the reload, it goes.
	dir := m.loader.Paths()[0]
	if err := os.WriteFile(filepath.Join(dir, "top.target"), []byte(target("Top")), 0o644); err != nil {
		t.Fatal(err)
	}
	m.daemonReload()
	m.collectGarbage()
	if got := loadedNames(m); !slices.Equal(got, []string{"top.target"}) {
		t.Fatalf("loaded after the reload: %v", got)
	}
}

// A cycle of references keeps its units while a kept unit refers to one of them, and goes
// as a whole once none does (systemd's unsure mark: referred to only by units further up
// the sweep's path).
func TestCollectGarbageCycle(t *testing.T) {
	m, _ := testManager(t, map[string]string{
		"a.target": target("A", "After=b.target"),
		"b.target": target("B", "After=a.target"),
		"x.target": target("X", "After=a.target"),
		"c.target": target("C", "Wants=d.target"),
		"d.target": target("D", "Wants=c.target"),
	})
	// b before a: a's referrers are b (unsure, a being in the path) and then x (kept).
	for _, n := range []string{"b.target", "a.target", "x.target", "c.target", "d.target"} {
		m.load(n)
	}
	if err := m.enqueueErr("start", m.units["x.target"], "replace", nil); err != nil {
		t.Fatal(err)
	}
	m.collectGarbage()
	if got := loadedNames(m); !slices.Equal(got, []string{"a.target", "b.target", "x.target"}) {
		t.Fatalf("loaded %v, want the cycle a/b kept by x, c/d collected", got)
	}
	if err := m.enqueueErr("stop", m.units["x.target"], "replace", nil); err != nil {
		t.Fatal(err)
	}
	m.collectGarbage()
	if got := loadedNames(m); len(got) != 0 {
		t.Fatalf("loaded after x stopped: %v, want none", got)
	}
}

// TestCollectGarbageRandom: over random unit sets and random loads, starts and stops, the
// local sweep keeps exactly the units reachable by references from the units that may not
// be collected, and leaves the ordering and reference indexes as a rebuild from scratch
// makes them.
func TestCollectGarbageRandom(t *testing.T) {
	const n = 24
	for seed := int64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewSource(seed))
		name := func(i int) string { return fmt.Sprintf("u%d.target", i) }
		files := map[string]string{}
		for i := 0; i < n; i++ {
			var lines []string
			for _, key := range []string{"Wants", "After", "Before", "Conflicts"} {
				if rng.Intn(3) == 0 {
					lines = append(lines, key+"="+name(rng.Intn(n+4))) // u24.. do not exist
				}
			}
			files[name(i)] = target(name(i), lines...)
		}
		m, _ := testManager(t, files)
		for step := 0; step < 60; step++ {
			u := m.load(name(rng.Intn(n + 2)))
			switch rng.Intn(3) {
			case 0:
				m.enqueueErr("start", u, "replace", nil)
			case 1:
				m.enqueueErr("stop", u, "replace", nil)
			}
			m.collectGarbage()
			want := reachable(m)
			if got := loadedNames(m); !slices.Equal(got, want) {
				t.Fatalf("seed %d step %d: loaded %v, want %v", seed, step, got, want)
			}
			got := indexSnapshot(m)
			m.reindexOrdering()
			if rebuilt := indexSnapshot(m); !maps.EqualFunc(got, rebuilt, slices.Equal[[]string]) {
				t.Fatalf("seed %d step %d: indexes\n%v\nrebuilt\n%v", seed, step, got, rebuilt)
			}
		}
	}
}

// reachable is the oracle: the loaded units that may not be collected and every loaded unit
// they reach by references, sorted by name.
func reachable(m *Manager) []string {
	kept := map[*Unit]bool{}
	var todo []*Unit
	for _, u := range m.order {
		if m.gcRoot(u) {
			kept[u] = true
			todo = append(todo, u)
		}
	}
	for len(todo) > 0 {
		u := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for r := range references(u.cfg) {
			if o := m.units[r]; o != nil && !kept[o] {
				kept[o] = true
				todo = append(todo, o)
			}
		}
	}
	var out []string
	for u := range kept {
		out = append(out, u.Name)
	}
	sort.Strings(out)
	return out
}

// indexSnapshot renders the ordering and reference indexes as sorted name lists.
func indexSnapshot(m *Manager) map[string][]string {
	out := map[string][]string{}
	add := func(key string, us []*Unit) {
		if len(us) == 0 {
			return
		}
		var l []string
		for _, u := range us {
			l = append(l, u.Name)
		}
		sort.Strings(l)
		out[key] = l
	}
	ix := m.orderIndex
	for u, l := range ix.before.all() {
		add("before "+u.Name, l)
	}
	for u, l := range ix.after.all() {
		add("after "+u.Name, l)
	}
	for n, l := range ix.pendBefore.all() {
		add("pendBefore "+n, l)
	}
	for n, l := range ix.pendAfter.all() {
		add("pendAfter "+n, l)
	}
	for n, l := range m.refBy.all() {
		add("refBy "+n, l)
	}
	return out
}

// A socket unit goes while its service stays (the service's After= on it is no reference):
// the service's ordering edge waits for the socket to be loaded again.
func TestCollectGarbageKeepsEdgesOfStayingUnits(t *testing.T) {
	m, _ := testManager(t, map[string]string{
		"foo.socket":  "[Unit]\nDefaultDependencies=no\n[Socket]\nListenStream=/nonexistent/foo.sk\n",
		"foo.service": "[Unit]\nDefaultDependencies=no\n[Service]\nExecStart=/bin/true\n",
	})
	m.load("foo.socket")
	svc := m.units["foo.service"]
	if svc == nil || !slices.Contains(svc.cfg.Unit.After, "foo.socket") {
		t.Fatalf("foo.service not loaded with After=foo.socket: %v", svc)
	}
	svc.sub = svcFailed // kept: a failed unit stays until reset-failed (CollectMode=inactive)
	m.collectGarbage()
	// The service keeps its slice (and that slice its parent) loaded, and the socket of the
	// journal it logs to (After=).
	if got := loadedNames(m); !slices.Equal(got, []string{"-.slice", "foo.service", "system.slice", "systemd-journald.socket"}) {
		t.Fatalf("loaded %v, want foo.service and its slices", got)
	}
	got := indexSnapshot(m)
	if !slices.Equal(got["pendAfter foo.socket"], []string{"foo.service"}) {
		t.Errorf("foo.service's After=foo.socket is not pending: %v", got)
	}
	m.reindexOrdering()
	if rebuilt := indexSnapshot(m); !maps.EqualFunc(got, rebuilt, slices.Equal[[]string]) {
		t.Fatalf("indexes\n%v\nrebuilt\n%v", got, rebuilt)
	}
	sock := m.load("foo.socket")
	var b [1]*Unit
	if l := m.orderIndex.after.get(sock, &b); !slices.Contains(l, svc) {
		t.Errorf("after reloading foo.socket, its after list is %v, want foo.service in it", l)
	}
}

// A finished Accept=yes instance is forgotten everywhere, the StopWhenUnneeded=/Upholds=
// lists included (they are walked after every job: a forgotten unit there would be checked,
// and restarted, for ever).
func TestCollectInstanceLeavesLists(t *testing.T) {
	m, _ := testManager(t, map[string]string{
		"e.socket":    "[Unit]\nDefaultDependencies=no\n[Socket]\nListenStream=127.0.0.1:0\nAccept=yes\n",
		"e@.service":  "[Unit]\nDefaultDependencies=no\nStopWhenUnneeded=yes\nUpholds=up.target\n[Service]\nExecStart=/bin/true\n",
		"up.target":   target("Up"),
		"hold.target": target("Hold", "Wants=e.socket"),
	})
	sock := m.load("e.socket")
	iu := m.load("e@0-1-2.service")
	if !slices.Contains(m.unneeded, iu) || !slices.Contains(m.upholders, iu) {
		t.Fatalf("the instance is not in the lists it belongs to: unneeded %v, upholders %v", m.unneeded, m.upholders)
	}
	iu.service().instanceOf = sock
	sock.sock.nConnections = 1
	m.collectInstance(iu)
	if _, ok := m.units[iu.Name]; ok || slices.Contains(m.order, iu) {
		t.Errorf("the instance is still loaded")
	}
	if slices.Contains(m.unneeded, iu) || slices.Contains(m.upholders, iu) {
		t.Errorf("the instance is still listed: unneeded %v, upholders %v", m.unneeded, m.upholders)
	}
	if sock.sock.nConnections != 0 {
		t.Errorf("NConnections %d after the instance went, want 0", sock.sock.nConnections)
	}
}

// A unit that may go otherwise stays while a unit of its OnFailure= or OnSuccess= has a job
// (systemd's unit_success_failure_handler_has_jobs), whatever its own result; a job of a
// unit it only wants keeps nothing. When the handler's job is over, the handler's sweep
// takes the unit with it.
func TestCollectGarbageHandlerJob(t *testing.T) {
	svc := func(lines ...string) string {
		return "[Unit]\nDefaultDependencies=no\n" + strings.Join(lines, "\n") + "\n[Service]\nExecStart=/bin/true\n"
	}
	for _, tc := range []struct {
		name      string
		unit      string // u.service's [Unit] lines
		failed    bool   // u.service failed (else inactive)
		handlerJB bool   // h.target has a job
		want      []string
	}{
		{"failed, OnFailure= handler runs", "OnFailure=h.target\nCollectMode=inactive-or-failed", true, true, []string{"-.slice", "h.target", "system.slice", "systemd-journald.socket", "u.service"}},
		{"failed, OnSuccess= handler runs", "OnSuccess=h.target\nCollectMode=inactive-or-failed", true, true, []string{"-.slice", "h.target", "system.slice", "systemd-journald.socket", "u.service"}},
		{"inactive, OnFailure= handler runs", "OnFailure=h.target", false, true, []string{"-.slice", "h.target", "system.slice", "systemd-journald.socket", "u.service"}},
		{"failed, handler idle", "OnFailure=h.target\nCollectMode=inactive-or-failed", true, false, nil},
		{"failed, kept by CollectMode=inactive", "OnFailure=h.target", true, false, []string{"-.slice", "h.target", "system.slice", "systemd-journald.socket", "u.service"}},
		{"failed, wanted unit runs", "Wants=h.target\nCollectMode=inactive-or-failed", true, true, []string{"h.target"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := testManager(t, map[string]string{"u.service": svc(tc.unit), "h.target": target("H")})
			u, h := m.load("u.service"), m.load("h.target")
			if tc.failed {
				u.sub = svcFailed
			}
			if tc.handlerJB {
				h.job = &job{u: h, typ: "start"}
			}
			m.gcEnqueue(u)
			m.collectGarbage()
			if got := loadedNames(m); !slices.Equal(got, tc.want) {
				t.Fatalf("loaded %v, want %v", got, tc.want)
			}
			if !tc.handlerJB || m.units["u.service"] == nil {
				return
			}
			// The handler's job is over: both go.
			h.job = nil
			m.gcEnqueue(h)
			m.collectGarbage()
			if got := loadedNames(m); len(got) != 0 {
				t.Fatalf("loaded after the handler's job: %v, want none", got)
			}
		})
	}
}

// Loading a unit loads the units it refers to, transitively, as systemd 252 does: a missing
// one as not-found, a template as the instance the loader makes of it, the unit's slice too; the units that trigger a
// unit (whose After= the loader adds) are no reference. Whatever a kept unit refers to stays;
// once nothing keeps them, all go.
func TestLoadReferred(t *testing.T) {
	const noDefault = "[Unit]\nDefaultDependencies=no\n"
	files := map[string]string{
		"a.service": noDefault + "Wants=b.service t@.service\nAfter=missing.service\nOnFailure=h@x.service\nConflicts=c.target\n" +
			"[Service]\nExecStart=/bin/true\n",
		"b.service":  noDefault + "Requires=d.target\nBefore=a.service\n[Service]\nExecStart=/bin/true\n",
		"d.target":   target("D", "PartOf=gone.target"),
		"c.target":   target("C"),
		"h@.service": noDefault + "[Service]\nExecStart=/bin/true\n",
		"t@.service": noDefault + "[Service]\nExecStart=/bin/true\n",
		"x.timer":    noDefault + "[Timer]\nOnActiveSec=1h\n",
		"x.service":  noDefault + "[Service]\nExecStart=/bin/true\n",
		"y.socket":   noDefault + "[Socket]\nListenStream=/nonexistent/y.sk\n",
		"y.service":  noDefault + "[Service]\nExecStart=/bin/true\n",
	}
	// Wants=t@.service names t@a.service (systemd's resolve_template); the implicit slices of
	// the instances are Conflicts=shutdown.target; the services log to the journal, After=
	// its socket (not-found here).
	all := []string{"-.slice", "a.service", "b.service", "c.target", "d.target", "gone.target", "h@x.service",
		"missing.service", "shutdown.target", "system-h.slice", "system-t.slice", "system.slice", "systemd-journald.socket", "t@a.service"}
	for _, tc := range []struct {
		name   string
		load   string
		loaded []string // right after the load
		kept   []string // after a sweep, the loaded unit failed (kept)
	}{
		{"transitive, missing, template, slices", "a.service", all, all},
		// b refers to a (Before=), a to the rest: all kept by b.
		{"a referred unit loads its own references", "b.service", all, all},
		{"a timer loads its service, not the other way", "x.timer",
			[]string{"-.slice", "system.slice", "systemd-journald.socket", "x.service", "x.timer"}, nil},
		{"a service does not load its timer", "x.service", []string{"-.slice", "system.slice", "systemd-journald.socket", "x.service"}, nil},
		{"a socket loads its service", "y.socket", []string{"-.slice", "system.slice", "systemd-journald.socket", "y.service", "y.socket"}, nil},
		{"a service does not load its socket", "y.service", []string{"-.slice", "system.slice", "systemd-journald.socket", "y.service"}, nil},
		{"missing unit", "nothere.service", []string{"nothere.service"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := testManager(t, files)
			u := m.load(tc.load)
			if got := loadedNames(m); !slices.Equal(got, tc.loaded) {
				t.Fatalf("loaded %v, want %v", got, tc.loaded)
			}
			if mu := m.units["missing.service"]; mu != nil && mu.cfg.LoadState != "not-found" {
				t.Errorf("missing.service: LoadState %s", mu.cfg.LoadState)
			}
			if tc.kept != nil {
				u.sub = svcFailed // kept until reset-failed
				m.collectGarbage()
				if got := loadedNames(m); !slices.Equal(got, tc.kept) {
					t.Fatalf("loaded with %s failed: %v, want %v", tc.load, got, tc.kept)
				}
				u.sub = svcDead
				m.gcEnqueue(u)
			}
			m.collectGarbage()
			if got := loadedNames(m); len(got) != 0 {
				t.Errorf("loaded once nothing keeps them: %v", got)
			}
		})
	}
}

// A daemon-reload loads the units that the new configurations refer to.
func TestLoadReferredReload(t *testing.T) {
	m, _ := testManager(t, map[string]string{"top.target": target("Top")})
	top := m.load("top.target")
	if err := m.enqueueErr("start", top, "replace", nil); err != nil {
		t.Fatal(err)
	}
	m.collectGarbage()
	if got := loadedNames(m); !slices.Equal(got, []string{"top.target"}) {
		t.Fatalf("loaded %v", got)
	}
	path := top.cfg.FragmentPath
	if err := os.WriteFile(path, []byte(target("Top", "Wants=new.target", "After=absent.service")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "new.target"), []byte(target("New")), 0o644); err != nil {
		t.Fatal(err)
	}
	m.daemonReload()
	m.collectGarbage()
	if got := loadedNames(m); !slices.Equal(got, []string{"absent.service", "new.target", "top.target"}) {
		t.Fatalf("loaded after the reload %v", got)
	}
}

// A unit that names another in several settings is listed once among its referrers, and
// goes from the list with its unloading; the index rebuilt from scratch is the same.
func TestRefByListsReferrerOnce(t *testing.T) {
	m, _ := testManager(t, map[string]string{
		"a.service": "[Unit]\nDefaultDependencies=no\nWants=b.target\nBefore=b.target\nConflicts=b.target\nPartOf=b.target\n[Service]\nExecStart=/bin/true\n",
		"c.service": "[Unit]\nDefaultDependencies=no\nRequires=b.target\nBefore=b.target\n[Service]\nExecStart=/bin/true\n",
		"b.target":  "[Unit]\nDefaultDependencies=no\n",
	})
	a, c := m.load("a.service"), m.load("c.service")
	var buf [1]*Unit
	if got := m.refBy.get("b.target", &buf); !slices.Equal(got, []*Unit{a, c}) {
		t.Fatalf("refBy[b.target] = %v, want [a.service c.service]", got)
	}
	got := indexSnapshot(m)
	m.reindexOrdering()
	if rebuilt := indexSnapshot(m); !maps.EqualFunc(got, rebuilt, slices.Equal[[]string]) {
		t.Fatalf("indexes\n%v\nrebuilt\n%v", got, rebuilt)
	}
	b := m.units["b.target"]
	tx := &transaction{m: m}
	if deps := tx.dependents(b); !slices.Equal(deps, []string{"a.service", "c.service"}) {
		t.Errorf("dependents of b.target: %v, want a.service and c.service once each", deps)
	}
	m.unindexRefs(a)
	if got := m.refBy.get("b.target", &buf); !slices.Equal(got, []*Unit{c}) {
		t.Errorf("after a.service's unindexing refBy[b.target] = %v, want [c.service]", got)
	}
}

// TestAliasesKept: a unit with aliases (symlinks to its file) is one unit registered under
// every name, once each however often it is loaded, which its keys and D-Bus's Names list.
func TestAliasesKept(t *testing.T) {
	m, _ := testManager(t, map[string]string{
		"real.service":  "[Service]\nExecStart=/bin/true\n",
		"other.service": "-> real.service",
		"third.service": "-> real.service",
	})
	u := m.load("real.service")
	if a, b := m.load("other.service"), m.load("third.service"); a != u || b != u {
		t.Fatalf("the aliases load %p and %p, want the unit %p", a, b, u)
	}
	m.load("other.service") // again: no second entry
	var keys []string
	for i := range u.nkeys() {
		keys = append(keys, u.keyAt(i))
	}
	if !slices.Equal(keys, []string{"real.service", "other.service", "third.service"}) {
		t.Errorf("keys %v, want real.service other.service third.service", keys)
	}
	found := false
	for _, p := range m.dbusUnitProps(u) {
		if names, ok := p.Value.([]string); ok && p.Name == "Names" {
			found = true
			if !slices.Equal(names, []string{"other.service", "real.service", "third.service"}) {
				t.Errorf("Names %v", names)
			}
		}
	}
	if !found {
		t.Error("no Names among the D-Bus properties")
	}
}
