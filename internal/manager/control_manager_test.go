package manager

import (
	"testing"

	"github.com/flint-init/flint/internal/sdbus"
)

// TestPropText: D-Bus values as systemctl prints them.
func TestPropText(t *testing.T) {
	for _, tc := range []struct {
		p    sdbus.Prop
		want string
	}{
		{sdbus.Prop{Name: "A", Text: "running"}, "running"},
		{sdbus.Prop{Name: "A"}, ""},
		{sdbus.Prop{Name: "A", Value: []string{"LANG=C", "PATH=/bin"}}, "LANG=C PATH=/bin"},
		{sdbus.Prop{Name: "A", Value: uint32(7)}, "7"},
		{sdbus.Prop{Name: "A", Value: uint64(1 << 40)}, "1099511627776"},
		{sdbus.Prop{Name: "A", Value: float64(1)}, "1"},
		{sdbus.Prop{Name: "A", Value: 0.5}, "0.5"},
		{sdbus.Prop{Name: "A", Value: true}, "yes"},
		{sdbus.Prop{Name: "A", Value: int32(-1)}, "-1"},
	} {
		if got := propText(tc.p); got != tc.want {
			t.Errorf("propText(%#v) = %q, want %q", tc.p.Value, got, tc.want)
		}
	}
}

// TestManagerPropertyOrder: every property in systemd's order appears once.
func TestManagerPropertyOrder(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range managerPropertyOrder {
		if seen[n] {
			t.Errorf("%s twice", n)
		}
		seen[n] = true
	}
	if managerPropertyOrder[0] != "Version" || !seen["SystemState"] {
		t.Errorf("order: %v", managerPropertyOrder)
	}
}
