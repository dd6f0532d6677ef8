package manager

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flint-init/flint/internal/logs"
	"github.com/flint-init/flint/internal/notify"
	"github.com/flint-init/flint/unit"
)

// TestFDStoreEntries: the store of a service as messages change it: a duplicate of a stored
// file (dup, or passed again) is not stored twice, a second open of the same file is; past
// FileDescriptorStoreMax= the rest is refused; FDSTOREREMOVE=1 closes the named entries and
// wins over FDSTORE=1 in the same message; an invalid FDNAME= stores as "stored" and removes
// nothing; releasing closes everything. Every file the store does not keep is left to the
// caller (keep), every one it drops is closed.
func TestFDStoreEntries(t *testing.T) {
	m := &Manager{logs: logs.NewStore(100, "")}
	u := &Unit{Name: "s.service", cfg: &unit.Unit{Service: &unit.ServiceSection{ServiceOptions: &unit.ServiceOptions{FileDescriptorStoreMax: 3}}}, svc: &serviceRT{}}
	seen := 0
	// logged returns the unit's log lines written since the last call.
	logged := func() []string {
		var out []string
		for _, l := range m.logs.Query([]string{u.Name}, 0, time.Time{})[seen:] {
			out = append(out, l.Text)
			seen++
		}
		return out
	}
	open := func() *os.File {
		f, err := os.Open("/dev/null")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	dup := func(f *os.File) *os.File {
		fd, err := syscall.Dup(int(f.Fd()))
		if err != nil {
			t.Fatal(err)
		}
		g := os.NewFile(uintptr(fd), "dup")
		t.Cleanup(func() { g.Close() })
		return g
	}
	msg := func(text string, files ...*os.File) (*notify.Message, map[*os.File]bool) {
		mm := &notify.Message{Files: files}
		for _, l := range strings.Split(text, "\n") {
			k, v, _ := strings.Cut(l, "=")
			mm.Fields = append(mm.Fields, notify.Field{Key: k, Value: v})
		}
		keep := map[*os.File]bool{}
		m.fdStoreMessage(u, mm, keep)
		return mm, keep
	}
	names := func() string {
		var n []string
		for _, sf := range u.service().fdstore {
			n = append(n, sf.name)
		}
		return strings.Join(n, ",")
	}
	closed := func(f *os.File) bool {
		_, err := f.Stat()
		return err != nil
	}

	a, b := open(), open()
	_, keep := msg("FDSTORE=1\nFDNAME=x", a, dup(a), b)
	if got := names(); got != "x,x" || !keep[a] || !keep[b] || len(keep) != 2 {
		t.Fatalf("store %q, kept %v: want a and b once each (a's dup refused)", got, keep)
	}
	c, d := open(), open()
	_, keep = msg("FDSTORE=1", c, d)
	if got := names(); got != "stored,x,x" || !keep[c] || keep[d] {
		t.Fatalf("store %q, kept %v: want c stored first (newest first), d refused at the limit", got, keep)
	}
	if l := logged(); !strings.Contains(strings.Join(l, "\n"), "Cannot store more fds than FileDescriptorStoreMax=3") {
		t.Errorf("no message about the full store: %q", l)
	}
	_, keep = msg("FDSTORE=1\nFDSTOREREMOVE=1\nFDNAME=x", open())
	if got := names(); got != "stored" || len(keep) != 0 || !closed(a) || !closed(b) || closed(c) {
		t.Fatalf("store %q, kept %v, a closed %v, b %v, c %v: want x removed and closed, nothing stored", got, keep, closed(a), closed(b), closed(c))
	}
	msg("FDSTOREREMOVE=1\nFDNAME=bad:name")
	if l := logged(); names() != "stored" || len(l) != 1 || !strings.Contains(l[0], "no valid file descriptor name") {
		t.Errorf("store %q, log %q: want nothing removed and the message", names(), l)
	}
	e := open()
	msg("FDSTORE=1\nFDNAME=bad\x01name", e)
	if names() != "stored,stored" {
		t.Errorf("store %q: an invalid FDNAME= stores as \"stored\"", names())
	}
	m.releaseFDStore(u)
	if len(u.service().fdstore) != 0 || !closed(c) || !closed(e) {
		t.Errorf("after release: store %q, c closed %v, e closed %v", names(), closed(c), closed(e))
	}
}

func TestFDNameValid(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"", true}, {"stored", true}, {"a b~", true}, {strings.Repeat("x", 255), true},
		{strings.Repeat("x", 256), false}, {"a:b", false}, {"tab\there", false}, {"del\x7f", false}, {"é", false},
	} {
		if got := fdNameValid(tc.name); got != tc.ok {
			t.Errorf("fdNameValid(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
}
