package manager

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/journal"
)

// logStorage is journald's Storage=: auto picks the persistent directory only when it exists.
func TestLogStorage(t *testing.T) {
	base := t.TempDir()
	persistent := filepath.Join(base, "var-log-flint")
	runtime := filepath.Join(base, "run")
	for _, tc := range []struct {
		name, storage string
		exists        bool
		want          string
		maxUse        int64
	}{
		{"auto without the directory", "auto", false, VolatileLogDir(runtime), 2},
		{"auto with it", "auto", true, persistent, 1},
		{"persistent", "persistent", false, persistent, 1},
		{"volatile", "volatile", true, VolatileLogDir(runtime), 2},
		{"none", "none", true, "", 0},
		{"unset", "", true, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.RemoveAll(persistent)
			if tc.exists {
				os.Mkdir(persistent, 0o755)
			}
			o := Options{LogStorage: tc.storage, PersistentLogDir: persistent, RuntimeDir: runtime, LogMaxUse: 1, LogRuntimeMaxUse: 2}
			dir, dopt := o.logStorage()
			if dir != tc.want || dopt.MaxUse != tc.maxUse {
				t.Errorf("got %q %+v, want %q max %d", dir, dopt, tc.want, tc.maxUse)
			}
		})
	}
}

// A reaped process's unit is remembered for a while, the oldest notes giving way.
func TestReapedNotes(t *testing.T) {
	m := &Manager{journalSrv: &journal.Server{}}
	a, b := &Unit{Name: "a.service"}, &Unit{Name: "b.service"}
	m.noteReaped(100, a, "logger")
	if u := m.reapedNotes.unit(100); u != a {
		t.Errorf("unit of 100: %v", u)
	}
	if c := m.reapedNotes.comm(100); c != "logger" {
		t.Errorf("comm of 100: %q", c)
	}
	if c := m.reapedNotes.comm(101); c != "" {
		t.Errorf("comm of 101: %q", c)
	}
	if u := m.reapedNotes.unit(101); u != nil {
		t.Errorf("unit of 101: %v", u)
	}
	for i := 0; i < len(m.reapedNotes.notes); i++ {
		m.noteReaped(1000+i, b, "")
	}
	if u := m.reapedNotes.unit(100); u != nil {
		t.Errorf("the oldest note stayed: %v", u)
	}
	for i := range m.reapedNotes.notes {
		if n := &m.reapedNotes.notes[i]; n.pid == 1000 {
			n.at = n.at.Add(-reapedNoteAge)
		}
	}
	if u := m.reapedNotes.unit(1000); u != nil {
		t.Errorf("an old note counted: %v", u)
	}
}

// reapedNotes.unit: the newest note for a pid wins, the ring wraps, old notes expire.
func TestReapedNotesNewest(t *testing.T) {
	a, b, c := &Unit{Name: "a.service"}, &Unit{Name: "b.service"}, &Unit{Name: "c.service"}
	now := time.Now()
	var r reapedNotes
	add := func(pid int, u *Unit, at time.Time) {
		r.notes[r.next] = reapedNote{pid: pid, u: u, at: at}
		r.next = (r.next + 1) % len(r.notes)
	}
	add(100, a, now.Add(-time.Second))
	add(100, b, now) // pid 100 handed out again
	add(200, c, now.Add(-reapedNoteAge-time.Millisecond))
	for _, tc := range []struct {
		pid  int
		want *Unit
	}{{100, b}, {200, nil}, {300, nil}} {
		if got := r.unitAt(tc.pid, now); got != tc.want {
			t.Errorf("unit(%d) = %v, want %v", tc.pid, got, tc.want)
		}
	}
	// Wrap the ring past its end: the newest note is found behind r.next.
	for i := 0; i < len(r.notes)-1; i++ {
		add(1000+i, a, now)
	}
	add(100, c, now)
	if got := r.unitAt(100, now); got != c {
		t.Errorf("after wrapping: unit(100) = %v, want c", got)
	}
}
