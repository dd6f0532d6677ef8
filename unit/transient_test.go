package unit

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadTransient(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "on-disk.service"), []byte("[Service]\nExecStart=/bin/true\n"), 0o644)
	l := NewLoader(System, []string{dir})
	path := filepath.Join(t.TempDir(), "run-x.service")
	text := "[Unit]\nDescription=Transient\n[Service]\nExecStart=/bin/sleep 10\n"
	os.WriteFile(path, []byte(text), 0o644)
	u := l.LoadTransient("run-x.service", path, []byte(text))
	if u.LoadState != Loaded || u.Unit.Description != "Transient" || u.FragmentPath != path || len(u.Service.ExecStart) != 1 {
		t.Fatalf("loaded %+v", u)
	}
	// Default dependencies, as any service.
	if !contains(u.Unit.After, "sysinit.target") || !contains(u.Unit.Conflicts, "shutdown.target") {
		t.Errorf("After=%v Conflicts=%v", u.Unit.After, u.Unit.Conflicts)
	}
	// Not kept: the name is not found on the search path.
	if got := l.Load("run-x.service").LoadState; got != NotFound {
		t.Errorf("Load after LoadTransient: %s", got)
	}
	bad := l.LoadTransient("run-y.service", path, []byte("[Service]\nType=bogus\nExecStart=/bin/true\n"))
	if bad.LoadState == Loaded && bad.Service.Type == "bogus" {
		t.Errorf("bad setting loaded as is")
	}
	if got := l.LoadTransient("tpl@.service", path, []byte(text)).LoadState; got != LoadError {
		t.Errorf("template: %s", got)
	}
}
