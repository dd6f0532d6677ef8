package e2e

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestBPFSliceFilters: a slice's DevicePolicy=/DeviceAllow=, SocketBindDeny= and
// IPAccounting= hold for the real processes of the units below it, a nested slice's too, and
// a unit's own more open settings do not undo them (the kernel runs the slice's programs
// after the unit's, and either refuses); a unit outside the slice is not concerned. The
// slice counts the IP traffic of its units.
func TestBPFSliceFilters(t *testing.T) {
	needCgroupBPF(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:24321")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	dir := t.TempDir()
	checks := []string{"read:/dev/null", "read:/dev/zero", "bind:tcp4:24311", "bind:tcp4:24312", "udp:24321"}
	units := writeUnits(t, map[string]string{
		"guarded.slice":       "[Slice]\nDevicePolicy=strict\nDeviceAllow=/dev/null rw\nSocketBindDeny=ipv4:tcp:24311\nIPAccounting=yes\n",
		"guarded-inner.slice": "[Slice]\nMemoryAccounting=yes\n",
		"in.service":          probeUnit(dir, "in", "Slice=guarded.slice", checks...),
		"own.service":         probeUnit(dir, "own", "Slice=guarded.slice\nDeviceAllow=/dev/zero r\nSocketBindAllow=tcp:24311\nSocketBindDeny=any", checks...),
		"nested.service":      probeUnit(dir, "nested", "Slice=guarded-inner.slice", checks...),
		"outside.service":     probeUnit(dir, "outside", "", checks...),
	})
	m, _ := cgroupManager(t, units)
	c := on(t, m)
	guarded := map[string]string{"read:/dev/null": "ok", "read:/dev/zero": "EPERM", "bind:tcp4:24311": "EPERM", "bind:tcp4:24312": "ok", "udp:24321": "ok"}
	for _, tc := range []struct {
		unit string
		want map[string]string
	}{
		{"in", guarded},
		// Its own list opens /dev/zero and port 24311, the slice's does not; its own
		// SocketBindDeny=any closes 24312.
		{"own", map[string]string{"read:/dev/null": "ok", "read:/dev/zero": "EPERM", "bind:tcp4:24311": "EPERM", "bind:tcp4:24312": "EPERM", "udp:24321": "ok"}},
		{"nested", guarded},
		{"outside", map[string]string{"read:/dev/null": "ok", "read:/dev/zero": "ok", "bind:tcp4:24311": "ok", "bind:tcp4:24312": "ok", "udp:24321": "ok"}},
	} {
		c.start(tc.unit + ".service")
		got := results(t, filepath.Join(dir, tc.unit+".out"))
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s: %s=%s, want %s", tc.unit, k, got[k], v)
			}
		}
	}
	// in, own and nested each sent one datagram from below the slice; outside's is not
	// counted.
	out, _ := m.flint("show", "guarded.slice", "-p", "IPEgressPackets", "--value")
	if n, err := strconv.Atoi(strings.TrimSpace(out)); err != nil || n < 3 {
		t.Errorf("guarded.slice IPEgressPackets=%q, want at least 3", out)
	}
	if out, _ := m.flint("show", "guarded-inner.slice", "-p", "IPEgressPackets", "--value"); strings.TrimSpace(out) != "[no data]" {
		t.Errorf("guarded-inner.slice (no IPAccounting=) IPEgressPackets=%q", out)
	}
}
