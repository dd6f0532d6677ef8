package journal

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/flint-init/flint/internal/logs"
)

// TestServerUnitLogSettings: the sender's unit's LogLevelMax= drops what it sends above the
// level, through the native and the syslog sockets; LogExtraFields= are added to the rest.
func TestServerUnitLogSettings(t *testing.T) {
	dir := t.TempDir()
	store := logs.NewStore(100, "")
	out := logs.NewOutput(3, 6, true, 4, []string{"EXTRA=yes"})
	s, err := Start(Config{Dir: dir, Store: store,
		AttributeLog: func(pid int) (string, *logs.Output) { return "chatty.service", out }})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	defer s.Close()
	ts := &testServer{Server: s, dir: dir, store: store}
	sendDatagram(t, filepath.Join(dir, "socket"), []byte("PRIORITY=7\nMESSAGE=native debug\n"))
	sendDatagram(t, filepath.Join(dir, "socket"), []byte("MESSAGE=native no priority (info)\n"))
	sendDatagram(t, filepath.Join(dir, "socket"), []byte("PRIORITY=4\nMESSAGE=native warning\nMINE=1\n"))
	sendDatagram(t, filepath.Join(dir, "dev-log"), []byte("<15>prog: syslog debug"))
	sendDatagram(t, filepath.Join(dir, "dev-log"), []byte("<11>prog: syslog err"))
	ls := ts.wait(t, 2)
	var got []string
	for _, l := range ls {
		got = append(got, l.Text)
		var extra string
		for _, f := range l.Fields {
			if f.Name == "EXTRA" {
				extra = f.Value
			}
		}
		if extra != "yes" || l.Unit != "chatty.service" {
			t.Errorf("%q: unit %q, fields %v", l.Text, l.Unit, l.Fields)
		}
	}
	if len(got) != 2 || !(reflect.DeepEqual(got, []string{"native warning", "syslog err"}) || reflect.DeepEqual(got, []string{"syslog err", "native warning"})) {
		t.Errorf("kept %q, want the warning and the error", got)
	}
}
