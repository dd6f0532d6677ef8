//go:build difftest

package unit

import (
	"os"
	"strings"
	"testing"
)

// TestLoadSystemUnits loads every service, socket and target of the machine's
// /lib/systemd/system through the real Loader: none may fail to load (systemd loads them
// all), and aliases must resolve to their real unit. Other unit types (mount, timer, ...)
// are outside flint's scope and skipped.
func TestLoadSystemUnits(t *testing.T) {
	const dir = "/lib/systemd/system"
	if _, err := os.Stat(dir); err != nil {
		t.Skip(dir, " missing")
	}
	l := NewLoader(System, []string{dir})
	n := 0
	for _, name := range l.List() {
		typ := TypeOf(name)
		if typ != TypeService && typ != TypeSocket && typ != TypeTarget || IsTemplate(name) {
			continue
		}
		n++
		u := l.Load(name)
		switch u.LoadState {
		case Loaded, Masked:
		default:
			t.Errorf("%s: LoadState %s: %s", name, u.LoadState, u.LoadError)
			continue
		}
		for _, d := range u.Diagnostics {
			if d.Severity == Error {
				t.Errorf("%s: %s", name, d)
			}
		}
		if !contains(u.Names, name) {
			t.Errorf("%s: loaded as %s whose names %v miss it", name, u.Name, u.Names)
		}
		if u.LoadState == Loaded && u.Type != typ {
			t.Errorf("%s: type %s", name, u.Type)
		}
		if u.LoadState == Loaded && strings.HasSuffix(name, ".socket") && len(u.Triggers) == 0 && !u.Socket.Accept {
			t.Errorf("%s: socket triggers nothing", name)
		}
	}
	// instances of templates load through the template
	for _, tpl := range []string{"getty@.service", "systemd-fsck@.service", "modprobe@.service"} {
		if _, err := os.Stat(dir + "/" + tpl); err != nil {
			continue
		}
		inst, _ := Instantiate(tpl, "test")
		u := l.Load(inst)
		if u.LoadState != Loaded || u.Name != inst || u.Template != tpl {
			t.Errorf("%s: %s %s %s", inst, u.LoadState, u.Name, u.LoadError)
		}
	}
	t.Logf("loaded %d units from %s", n, dir)
	if n < 10 {
		t.Errorf("only %d units found", n)
	}
}
