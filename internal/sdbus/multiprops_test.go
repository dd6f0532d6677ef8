package sdbus

import (
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"
)

// multiBackend is the fake backend that also reads several interfaces at once, recording
// the calls of each kind.
type multiBackend struct {
	fakeBackend
	mu         sync.Mutex
	all, plain int
	lastIfaces []string
}

func (b *multiBackend) Properties(path dbus.ObjectPath, iface string) ([]Prop, error) {
	b.mu.Lock()
	b.plain++
	b.mu.Unlock()
	return b.fakeBackend.Properties(path, iface)
}

func (b *multiBackend) PropertiesAll(path dbus.ObjectPath, ifaces []string) ([][]Prop, error) {
	b.mu.Lock()
	b.all++
	b.lastIfaces = slices.Clone(ifaces)
	b.mu.Unlock()
	var out [][]Prop
	for _, n := range ifaces {
		ps, err := b.fakeBackend.Properties(path, n)
		if err != nil {
			return nil, err
		}
		out = append(out, ps)
	}
	return out, nil
}

// TestGetAllOneSnapshot: GetAll with no interface named reads all the object's interfaces
// with one PropertiesAll (one moment of the manager's state), a named one with Properties.
func TestGetAllOneSnapshot(t *testing.T) {
	path := filepath.Join(t.TempDir(), "private")
	mb := &multiBackend{}
	srv, err := Listen(path, mb, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	mb.srv = srv
	go srv.Serve()
	t.Cleanup(srv.Close)
	c := dial(t, path)
	var all map[string]dbus.Variant
	if err := c.Object("", UnitPath("a.service")).Call(ifaceProps+".GetAll", 0, "").Store(&all); err != nil {
		t.Fatal(err)
	}
	if all["ActiveState"].Value() != "active" || all["MainPID"].Value() != uint32(42) {
		t.Errorf("GetAll: ActiveState %v, MainPID %v", all["ActiveState"], all["MainPID"])
	}
	mb.mu.Lock()
	if mb.all != 1 || mb.plain != 0 || !slices.Equal(mb.lastIfaces, []string{IfaceService, IfaceUnit}) {
		t.Errorf("GetAll \"\": %d PropertiesAll (%v), %d Properties", mb.all, mb.lastIfaces, mb.plain)
	}
	mb.mu.Unlock()
	if err := c.Object("", UnitPath("a.service")).Call(ifaceProps+".GetAll", 0, IfaceUnit).Store(&all); err != nil {
		t.Fatal(err)
	}
	mb.mu.Lock()
	if mb.all != 1 || mb.plain != 1 {
		t.Errorf("GetAll of Unit: %d PropertiesAll, %d Properties", mb.all, mb.plain)
	}
	mb.mu.Unlock()
}
