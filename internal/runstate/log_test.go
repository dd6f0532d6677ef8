package runstate

import (
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLog: the blocks appended after a write change, add and remove units in Read's state;
// an incomplete last block, and a log of another write, are not applied; Remove takes the
// log too.
func TestLog(t *testing.T) {
	dir := t.TempDir()
	s := sample()
	if err := Write(dir, s); err != nil {
		t.Fatal(err)
	}
	svc := s.Units[1]
	svc.Procs = []UnitProc{{Proc{5000, 99500}, RoleMain}}
	added := Unit{Name: "new.service", KillMode: "process", KillSignal: syscall.SIGTERM, SendSIGKILL: true, StopTimeout: time.Second,
		Procs: []UnitProc{{Proc{5100, 99600}, RoleMain}}}
	if _, err := AppendLog(dir, true, s.Written, 99700, [][]byte{AppendUnit(nil, &svc), AppendUnit(nil, &added)}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := AppendLog(dir, false, s.Written, 99800, nil, []string{"echo.socket"}); err != nil {
		t.Fatal(err)
	}
	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := sample()
	want.Written = 99800
	want.Units = []Unit{want.Units[2], svc, added}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Read after the log:\n%+v\nwant\n%+v", got, want)
	}

	// A block a killed manager did not end is left out.
	f, err := os.OpenFile(LogPath(dir), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("gone new.service\nunit x.service - mixed 15 infinity yes\nproc 6000 99900 ma")
	f.Close()
	if got, err := Read(dir); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Read with an incomplete block: %v\n%+v\nwant\n%+v", err, got, want)
	}

	// A bad record in an ended block is an error naming the log.
	f, _ = os.OpenFile(LogPath(dir), os.O_WRONLY|os.O_TRUNC, 0)
	f.WriteString(logHeader + " 98765\nunit x.service - mixed 0 infinity yes\nend 99900\n")
	f.Close()
	if _, err := Read(dir); err == nil || !strings.Contains(err.Error(), LogName) || !strings.Contains(err.Error(), `bad signal "0"`) {
		t.Errorf("Read of a bad log: %v", err)
	}

	// The file written whole again: the old log no longer applies.
	s.Written = 100000
	if err := Write(dir, s); err != nil {
		t.Fatal(err)
	}
	if got, err := Read(dir); err != nil || !reflect.DeepEqual(got, s) {
		t.Errorf("Read with the log of an older write: %v\n%+v\nwant\n%+v", err, got, s)
	}
	if err := Remove(dir); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left after Remove: %v", ents)
	}
}
