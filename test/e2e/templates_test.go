package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUnitGlobs: job verbs take globs, which match the loaded units as systemctl 252's do;
// a stopped instance nothing refers to is unloaded, so a later glob no longer matches it.
func TestUnitGlobs(t *testing.T) {
	units := writeUnits(t, map[string]string{
		"a@.service": unitFile("Service", "ExecStart=/bin/sleep 1000"),
		"b@.service": unitFile("Service", "ExecStart=/bin/sleep 1000"),
	})
	c := on(t, startManager(t, units))
	if out, code := c.flint("start", "a@x", "a@y.service", "b@x.service"); code != 0 {
		t.Fatalf("start: exit %d: %s", code, out)
	}
	if out, code := c.flint("stop", "a@*.service"); code != 0 || out != "" {
		t.Fatalf("stop 'a@*.service': exit %d: %q", code, out)
	}
	for u, want := range map[string]string{"a@x.service": "inactive", "a@y.service": "inactive", "b@x.service": "active"} {
		if got := c.prop(u, "ActiveState"); got != want {
			t.Errorf("%s is %s after stop 'a@*.service', want %s", u, got, want)
		}
	}
	// a@x and a@y are gone from memory: the glob matches nothing.
	if out, code := c.flint("restart", "a@*"); code != 0 || out != "" {
		t.Fatalf("restart 'a@*': exit %d: %q", code, out)
	}
	if got := c.prop("a@x.service", "ActiveState"); got != "inactive" {
		t.Errorf("a@x.service is %s after restart of a glob matching no loaded unit", got)
	}
	out, code := c.flint("start", "b@[xy].service")
	if code != 0 || !strings.HasPrefix(out, "Warning: flint start called with a glob pattern.\nHint: unit globs expand to loaded units") {
		t.Errorf("start with a glob: exit %d: %q", code, out)
	}
	if out, code := c.flint("stop", `*@x.service`); code != 0 || out != "" {
		t.Fatalf("stop '*@x.service': exit %d: %q", code, out)
	}
	if got := c.prop("b@x.service", "ActiveState"); got != "inactive" {
		t.Errorf("b@x.service is %s after stop '*@x.service'", got)
	}
}

// TestUnitCollection: as systemd 252, an inactive unit that no loaded unit refers to is
// unloaded, its runtime state forgotten: a oneshot started again and again by hand never
// reaches its start limit, unless a unit that stays refers to it.
func TestUnitCollection(t *testing.T) {
	once := "StartLimitBurst=1\nStartLimitIntervalSec=60"
	units := writeUnits(t, map[string]string{
		"free.service": unitFile("Unit", once, "Service", "Type=oneshot\nExecStart=/bin/true"),
		"held.service": unitFile("Unit", once, "Service", "Type=oneshot\nExecStart=/bin/true"),
		"hold.target":  unitFile("Unit", "Before=held.service"),
	})
	c := on(t, startManager(t, units))
	c.start("hold.target")
	for i := 0; i < 3; i++ {
		if out, code := c.flint("start", "free.service"); code != 0 {
			t.Fatalf("start %d of free.service: exit %d: %s", i+1, code, out)
		}
	}
	c.start("held.service")
	if out, code := c.flint("start", "held.service"); code != 1 || !strings.Contains(out, "start of the service was attempted too often") {
		t.Errorf("second start of held.service: exit %d: %s", code, out)
	}
	if got := c.prop("held.service", "Result"); got != "start-limit-hit" {
		t.Errorf("held.service Result=%s", got)
	}
}

// TestNeedDaemonReload: a drop-in changed on disk shows as NeedDaemonReload=yes until
// daemon-reload, and the job verbs warn about it as systemctl does; a new drop-in
// directory is not seen before daemon-reload (systemd's unit path cache).
func TestNeedDaemonReload(t *testing.T) {
	units := writeUnits(t, map[string]string{
		"a.service": unitFile("Service", "Type=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true"),
		"b.service": unitFile("Service", "Type=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true"),
	})
	write := func(name, text string) {
		t.Helper()
		p := filepath.Join(units, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		// Newer than anything loaded, whatever the file system's time granularity.
		future := time.Now().Add(2 * time.Second)
		if err := os.Chtimes(p, future, future); err != nil {
			t.Fatal(err)
		}
	}
	write("a.service.d/x.conf", "[Unit]\nDescription=first\n")
	c := on(t, startManager(t, units))
	c.start("a.service")
	c.start("b.service")
	if got := c.prop("a.service", "NeedDaemonReload"); got != "no" {
		t.Fatalf("NeedDaemonReload=%s after loading", got)
	}
	write("a.service.d/x.conf", "[Unit]\nDescription=second\n")
	write("b.service.d/y.conf", "[Unit]\nDescription=new\n")
	if got := c.prop("a.service", "NeedDaemonReload"); got != "yes" {
		t.Errorf("a.service: NeedDaemonReload=%s after its drop-in changed", got)
	}
	if got := c.prop("b.service", "NeedDaemonReload"); got != "no" {
		t.Errorf("b.service: NeedDaemonReload=%s with a drop-in directory made after the last reload", got)
	}
	out, code := c.flint("restart", "a.service")
	want := "Warning: The unit file, source configuration file or drop-ins of a.service changed on disk. Run 'flint daemon-reload' to reload units.\n"
	if code != 0 || out != want {
		t.Errorf("restart: exit %d: %q, want %q", code, out, want)
	}
	if out, code := c.flint("daemon-reload"); code != 0 {
		t.Fatalf("daemon-reload: exit %d: %s", code, out)
	}
	for u, desc := range map[string]string{"a.service": "second", "b.service": "new"} {
		if got := c.props(u, "NeedDaemonReload", "Description"); got["NeedDaemonReload"] != "no" || got["Description"] != desc {
			t.Errorf("%s after daemon-reload: %v", u, got)
		}
	}
	if err := os.Remove(filepath.Join(units, "a.service.d/x.conf")); err != nil {
		t.Fatal(err)
	}
	if got := c.prop("a.service", "NeedDaemonReload"); got != "yes" {
		t.Errorf("NeedDaemonReload=%s after its drop-in was removed", got)
	}
}

// TestStopWarnings: stopping a service that its listening socket can start again names the
// socket, as systemctl does; stopping an inactive unit that did not load is refused.
func TestStopWarnings(t *testing.T) {
	dir := t.TempDir()
	units := writeUnits(t, map[string]string{
		"s.socket":   unitFile("Socket", "ListenStream="+filepath.Join(dir, "s.sock")),
		"s.service":  unitFile("Service", "ExecStart=/bin/sleep 1000"),
		"bad.socket": unitFile("Socket", "ListenStream="+filepath.Join(dir, "1.sock")+"\nListenStream="+filepath.Join(dir, "2.sock")+"\nSymlinks="+filepath.Join(dir, "link")),
	})
	c := on(t, startManager(t, units))
	c.start("s.socket")
	c.start("s.service")
	out, code := c.flint("stop", "s.service")
	if want := "Warning: Stopping s.service, but it can still be activated by:\n  s.socket\n"; code != 0 || out != want {
		t.Errorf("stop s.service: exit %d: %q, want %q", code, out, want)
	}
	if out, code := c.flint("stop", "-q", "s.service"); code != 0 || out != "" {
		t.Errorf("stop -q s.service: exit %d: %q", code, out)
	}
	if out, code := c.flint("start", "bad.socket"); code != 1 || !strings.HasPrefix(out, "Failed to start bad.socket: Unit bad.socket has a bad unit file setting.\n") {
		t.Errorf("start bad.socket: exit %d: %q", code, out)
	}
	if out, code := c.flint("stop", "bad.socket"); code != 5 || out != "Failed to stop bad.socket: Unit bad.socket not loaded.\n" {
		t.Errorf("stop bad.socket: exit %d: %q", code, out)
	}
}
