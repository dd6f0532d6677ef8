package manager

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/flint-init/flint/unit"
)

// TestUnmetConditions: as systemd 252 lists them in status: tested last to first, up to the
// first failed one that is not a trigger; the failed ones in file order.
func TestUnmetConditions(t *testing.T) {
	there := t.TempDir()
	missing := filepath.Join(there, "missing")
	cond := func(param string, trigger, negate bool) unit.Condition {
		return unit.Condition{Kind: "PathExists", Param: param, Trigger: trigger, Negate: negate}
	}
	for _, tc := range []struct {
		name  string
		conds []unit.Condition
		want  []string
	}{
		{"all met", []unit.Condition{cond(there, false, false), cond(missing, false, true)}, nil},
		{"systemd's order", []unit.Condition{cond(missing+"/x", false, false), cond(there, false, true), cond(missing+"/y", true, false)},
			[]string{"ConditionPathExists=!" + there, "ConditionPathExists=|" + missing + "/y"}},
		// met as a whole: systemd's status prints nothing (ConditionResult=yes)
		{"one of the triggers met", []unit.Condition{cond(missing, true, false), cond(there, true, false)},
			[]string{"ConditionPathExists=|" + missing}},
		{"no trigger met", []unit.Condition{cond(missing, true, false), cond(there, true, true)},
			[]string{"ConditionPathExists=|" + missing, "ConditionPathExists=|!" + there}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := unmetConditions(tc.conds, false, unit.System)
			if !slices.Equal(got, tc.want) {
				t.Errorf("unmetConditions = %q, want %q", got, tc.want)
			}
		})
	}
}
