package unit

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A service's TriggeredBy= lists every socket (Accept=no), timer and path unit that starts it
// under any of its names, in name order, each once; the loader indexes the triggers once per
// reload instead of passing over all of them for every service it loads.
func TestTriggeredByIndex(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"a.socket":      "[Socket]\nListenStream=/run/a.sk\nService=svc.service\n",
		"b.socket":      "[Socket]\nListenStream=/run/b.sk\nService=alias.service\n",
		"svc.socket":    "[Socket]\nListenStream=/run/svc.sk\n",
		"acc.socket":    "[Socket]\nListenStream=/run/acc.sk\nAccept=yes\nService=svc.service\n",
		"svc.timer":     "[Timer]\nOnActiveSec=1h\n",
		"p.path":        "[Path]\nPathExists=/nonexistent\nUnit=alias.service\n",
		"svc.service":   "[Service]\nExecStart=/bin/true\n",
		"other.service": "[Service]\nExecStart=/bin/true\n",
	}
	for i := 0; i < 100; i++ {
		files[fmt.Sprintf("x%03d.socket", i)] = fmt.Sprintf("[Socket]\nListenStream=/run/x%03d.sk\n", i)
		files[fmt.Sprintf("x%03d.service", i)] = "[Service]\nExecStart=/bin/true\n"
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("svc.service", filepath.Join(dir, "alias.service")); err != nil {
		t.Fatal(err)
	}
	l := NewLoader(System, []string{dir})
	u := l.Load("svc.service")
	want := []string{"a.socket", "b.socket", "svc.socket", "p.path", "svc.timer"}
	if !slices.Equal(u.TriggeredBy, want) {
		t.Errorf("svc.service TriggeredBy=%v, want %v", u.TriggeredBy, want)
	}
	if o := l.Load("other.service"); len(o.TriggeredBy) != 0 {
		t.Errorf("other.service TriggeredBy=%v", o.TriggeredBy)
	}
	for i := 0; i < 100; i++ {
		x := l.Load(fmt.Sprintf("x%03d.service", i))
		if want := []string{fmt.Sprintf("x%03d.socket", i)}; !slices.Equal(x.TriggeredBy, want) {
			t.Fatalf("%s TriggeredBy=%v, want %v", x.Name, x.TriggeredBy, want)
		}
	}
	if l.indexBuilds != 2 {
		t.Errorf("the trigger indexes were built %d times for 102 services, want 2 (sockets, timers/paths)", l.indexBuilds)
	}
	// A reload with no file changed keeps the indexes with the units (load_reload.go); one
	// after a change builds them again, once.
	l.Reload()
	if u := l.Load("svc.service"); !slices.Equal(u.TriggeredBy, want) || l.indexBuilds != 2 {
		t.Errorf("after an unchanged Reload: TriggeredBy=%v, index builds %d", u.TriggeredBy, l.indexBuilds)
	}
	if err := os.WriteFile(filepath.Join(dir, "new.service"), []byte("[Service]\nExecStart=/bin/true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l.Reload()
	if u := l.Load("svc.service"); !slices.Equal(u.TriggeredBy, want) || l.indexBuilds != 4 {
		t.Errorf("after Reload: TriggeredBy=%v, index builds %d", u.TriggeredBy, l.indexBuilds)
	}
}

// A dependency line of many names costs O(n): appendDep keeps the names of a long list in a
// set, and still keeps the first of duplicates in order.
func TestAppendDepLong(t *testing.T) {
	d := &decoder{}
	var list []string
	for i := 0; i < 1000; i++ {
		d.appendDep(&list, fmt.Sprintf("u%d.socket", i%700))
	}
	if len(list) != 700 || list[0] != "u0.socket" || list[699] != "u699.socket" {
		t.Fatalf("len %d, first %q, last %q", len(list), list[0], list[len(list)-1])
	}
	list = append(list, "elsewhere.socket") // changed outside appendDep: the set is rebuilt
	d.appendDep(&list, "elsewhere.socket")
	if len(list) != 701 {
		t.Errorf("a name added elsewhere was added again: len %d", len(list))
	}
}
