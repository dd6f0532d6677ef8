package difftest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/install"
	"github.com/flint-init/flint/unit/show"
)

// extraUnits are instance names (not files of their own) shown in addition to the files of
// the corpus: templates instantiated, escaped instances, Accept=yes connection instances, a
// unit that does not exist.
var extraUnits = []string{
	"svc-tpl@one.service",
	`svc-tpl@a\x2db.service`,
	"svc-tpl@two.service",
	"svc-tpl@aliased.service",
	`svc-tpl-spec@srv-www\x2ddata.service`,
	"sock-tpl@x.socket",
	"tmr-tpl@12.timer",
	"tmr-tpl@bad.timer",
	"sock-accept@1-127.0.0.1:20417-127.0.0.1:40000.service",
	"getty@tty1.service",
	"serial-getty@ttyS0.service",
	"user@1000.service",
	"difftest-does-not-exist.service",
	"difftest-does-not-exist.socket",
}

// setProperties are the dependency-like lists, compared as sets (systemd keeps them in hash
// tables, so their order is not stable).
var setProperties = map[string]bool{
	"Names": true, "Requires": true, "Requisite": true, "Wants": true, "BindsTo": true,
	"PartOf": true, "Upholds": true, "Conflicts": true, "Before": true, "After": true,
	"OnSuccess": true, "OnFailure": true, "Triggers": true, "TriggeredBy": true,
	"PropagatesReloadTo": true, "ReloadPropagatedFrom": true, "PropagatesStopTo": true,
	"StopPropagatedFrom": true, "JoinsNamespaceOf": true, "RequiresMountsFor": true,
	// IP access lists are sets of prefixes in systemd too (IPAddressDeny=any prints as
	// "0.0.0.0/0 ::/0" or "::/0 0.0.0.0/0").
	"IPAddressAllow": true, "IPAddressDeny": true,
}

// bootOrSkip boots systemd on dir, or skips the test where that is impossible (not root, no
// unshare) — except under CI, where the test must run.
func bootOrSkip(t *testing.T, ctx context.Context, work, unitPath string) *Systemd {
	t.Helper()
	return bootOrSkipWith(t, ctx, work, unitPath, BootOptions{})
}

// bootOrSkipWith is bootOrSkip with options.
func bootOrSkipWith(t *testing.T, ctx context.Context, work, unitPath string, o BootOptions) *Systemd {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "needs root"
	} else if _, err := exec.LookPath("unshare"); err != nil {
		why = "needs unshare"
	} else if _, err := os.Stat(SystemdBinary); err != nil {
		why = "needs " + SystemdBinary
	}
	if why == "" {
		s, err := BootWith(ctx, work, unitPath, o)
		if err == nil {
			t.Cleanup(func() {
				if err := s.Stop(); err != nil {
					t.Error(err)
				}
			})
			return s
		}
		why = err.Error()
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("cannot boot systemd under CI: %s", why)
	}
	t.Skipf("cannot boot systemd: %s", why)
	return nil
}

func TestDifferential(t *testing.T) {
	if testing.Short() && os.Getenv("CI") == "" {
		t.Skip("boots systemd")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()

	work := t.TempDir()
	units := filepath.Join(work, "units")
	if err := CopyTree(units, "testdata/units"); err != nil {
		t.Fatal(err)
	}
	// A higher-priority directory: a replaced unit, a mask, drop-ins that add to and shadow
	// those of the lower directory, and a drop-in for every socket (socket.d).
	override := filepath.Join(work, "override")
	if err := CopyTree(override, "testdata/override"); err != nil {
		t.Fatal(err)
	}
	// Units linked from outside the unit path (svc-linked.service -> ../linked/...).
	if err := CopyTree(filepath.Join(work, "linked"), "testdata/linked"); err != nil {
		t.Fatal(err)
	}
	corpus, err := UnitNames(units)
	if err != nil {
		t.Fatal(err)
	}
	// The machine's own units, copied at test time next to the corpus (the corpus's names
	// all start with sock-, svc-, tgt-, tmr- or pth- and never collide).
	if _, err := os.Stat("/lib/systemd/system"); err == nil {
		if err := CopyTree(units, "/lib/systemd/system"); err != nil {
			t.Fatal(err)
		}
	}
	names, err := UnitNames(units)
	if err != nil {
		t.Fatal(err)
	}
	names = append(names, extraUnits...)

	s := bootOrSkip(t, ctx, work, override+":"+units)

	loader := unit.NewLoader(unit.System, []string{override, units})
	flint := map[string][]show.Property{}
	for _, n := range names {
		u := loader.Load(n)
		ps := show.Properties(u)
		if st, err := install.IsEnabled(loader, u.Name); err == nil {
			ps = show.MergeProperties(u.Type, ps, show.Property{Name: "UnitFileState", Value: st})
		}
		flint[n] = ps
	}

	reverse := func(dep, prop string) []string {
		u := loader.Load(dep)
		if prop == "After" {
			return u.Unit.Before
		}
		return u.Unit.After
	}
	var mismatches []string
	compared, props := 0, 0
	const batch = 40
	for i := 0; i < len(names); i += batch {
		chunk := names[i:min(i+batch, len(names))]
		want := map[string]bool{}
		for _, n := range chunk {
			for _, p := range flint[n] {
				want[p.Name] = true
			}
		}
		propNames := make([]string, 0, len(want))
		for p := range want {
			propNames = append(propNames, p)
		}
		sort.Strings(propNames)
		blocks, err := s.Show(ctx, chunk, propNames)
		if err != nil {
			t.Fatalf("%v (systemd log: %s)", err, s.LogPath)
		}
		for j, n := range chunk {
			m, np := compareUnit(n, flint[n], blocks[j], reverse)
			mismatches = append(mismatches, m...)
			props += np
			compared++
		}
	}
	for _, b := range OpenBugs {
		t.Logf("open flint bug, not compared: %s %s %s: %s", b.Units, b.Property, b.Entry, b.Reason)
	}
	t.Logf("compared %d units (%d from the corpus), %d property values", compared, len(corpus), props)
	if compared < 200 {
		t.Errorf("only %d units compared, want at least 200", compared)
	}
	for _, m := range mismatches {
		t.Error(m)
	}
}

// compareUnit compares flint's properties of one unit with systemd's and returns one line
// per difference, and how many properties were compared.
//
// Before= and After= are symmetric in systemd: X Before=Y also puts X in Y's After=, if X
// happens to be loaded. An entry that systemd has and flint has not is accepted when flint's
// X says so (reverse(X, "After") is X's Before= list when checking Y's After=).
func compareUnit(name string, flint []show.Property, systemd []Property, reverse func(dep, prop string) []string) ([]string, int) {
	fv := map[string][]string{}
	var order []string
	loadState, id := "", name
	for _, p := range flint {
		switch p.Name {
		case "LoadState":
			loadState = p.Value
		case "Id":
			id = p.Value
		}
	}
	badSetting := loadState == string(unit.BadSetting)
	for _, p := range flint {
		if skipped(name, p.Name, loadState) || badSetting && !unitLevel[p.Name] {
			continue
		}
		if _, seen := fv[p.Name]; !seen {
			order = append(order, p.Name)
		}
		fv[p.Name] = append(fv[p.Name], p.Value)
	}
	sv := map[string][]string{}
	for _, p := range systemd {
		sv[p.Name] = append(sv[p.Name], p.Value)
	}
	var out []string
	for _, prop := range order {
		f, sys := fv[prop], sv[prop]
		if prop == "UnitFileState" && len(f) == 1 {
			switch f[0] {
			case "enabled", "indirect", "linked", "alias":
				continue // see UnitFileStateByConfigDir
			}
		}
		// systemctl prints nothing for an empty command or file list.
		if len(sys) == 0 {
			if strings.Join(f, "") == "" {
				continue
			}
			out = append(out, fmt.Sprintf("%s: %s: flint %q, systemd prints nothing", name, prop, f))
			continue
		}
		if setProperties[prop] {
			fs, ss := SplitStrv(strings.Join(f, " ")), SplitStrv(strings.Join(sys, " "))
			if prop != "Names" {
				fs, ss = filterImplicit(id, prop, fs), filterImplicit(id, prop, ss)
			}
			if prop == "After" || prop == "Before" {
				ss = explained(id, prop, fs, ss, reverse)
			}
			if prop == "After" {
				fs = unloadedTriggers(fs, ss, SplitStrv(strings.Join(fv["TriggeredBy"], " ")), SplitStrv(strings.Join(sv["TriggeredBy"], " ")))
			}
			if prop == "TriggeredBy" {
				if !subset(ss, fs) {
					out = append(out, fmt.Sprintf("%s: %s: systemd %q not within flint %q", name, prop, ss, fs))
				}
				continue
			}
			if !sameSet(fs, ss) {
				out = append(out, fmt.Sprintf("%s: %s: flint %q, systemd %q", name, prop, sortedCopy(fs), sortedCopy(ss)))
			}
			continue
		}
		if strings.Join(f, "\n") != strings.Join(sys, "\n") {
			out = append(out, fmt.Sprintf("%s: %s:\n\tflint   %q\n\tsystemd %q", name, prop, f, sys))
		}
	}
	return out, len(order)
}

// unitLevel are the properties compared for a unit with a bad setting: systemd stops loading
// it before it applies its type's defaults, so only these are meaningful.
var unitLevel = map[string]bool{
	"Id": true, "Names": true, "Description": true, "LoadState": true, "LoadError": true,
	"FragmentPath": true, "SourcePath": true, "DropInPaths": true,
}

// explained drops from systemd's list ss the entries that flint's fs lacks but that are the
// reverse side of another unit's ordering.
func explained(name, prop string, fs, ss []string, reverse func(dep, prop string) []string) []string {
	have := map[string]bool{}
	for _, x := range fs {
		have[x] = true
	}
	var out []string
	for _, x := range ss {
		if !have[x] {
			if contains(reverse(x, prop), name) || (prop == "Before" && implicitOnlyInSystemd(name)) {
				continue
			}
		}
		out = append(out, x)
	}
	return out
}

// unloadedTriggers drops from flint's After= list fs the sockets that trigger the unit in
// flint (fTrig) but that systemd did not have loaded (neither in its After= ss nor in its
// TriggeredBy= sTrig): systemd adds a service's After= on its socket only while the socket
// is loaded (see TriggeredByOnlyLoaded).
func unloadedTriggers(fs, ss, fTrig, sTrig []string) []string {
	var out []string
	for _, x := range fs {
		if contains(fTrig, x) && !contains(ss, x) && !contains(sTrig, x) {
			continue
		}
		out = append(out, x)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func filterImplicit(id, prop string, list []string) []string {
	var out []string
	for _, d := range list {
		if !implicitOnlyInSystemd(d) && !ignoredEntry(id, prop, d) {
			out = append(out, d)
		}
	}
	return out
}

func sortedCopy(l []string) []string {
	c := append([]string(nil), l...)
	sort.Strings(c)
	return c
}

func sameSet(a, b []string) bool {
	return subset(a, b) && subset(b, a)
}

func subset(a, b []string) bool {
	in := map[string]bool{}
	for _, x := range b {
		in[x] = true
	}
	for _, x := range a {
		if !in[x] {
			return false
		}
	}
	return true
}
