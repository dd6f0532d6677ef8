package manager

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"
)

// TestRevIndexAsMapOfLists: random adds, removals and deletions give the lists, in their
// order, that a map of slices gives (what the indexes were), the lists of one unit kept
// without a slice.
func TestRevIndexAsMapOfLists(t *testing.T) {
	units := make([]*Unit, 5)
	for i := range units {
		units[i] = &Unit{Name: fmt.Sprintf("u%d.service", i)}
	}
	keys := []string{"a", "b", "c"}
	for seed := int64(0); seed < 200; seed++ {
		rng := rand.New(rand.NewSource(seed))
		var x revIndex[string]
		model := map[string][]*Unit{}
		for step := 0; step < 40; step++ {
			k, u := keys[rng.Intn(len(keys))], units[rng.Intn(len(units))]
			op := rng.Intn(4)
			switch op {
			case 0, 1:
				us := []*Unit{u}
				if op == 1 {
					us = append(us, units[rng.Intn(len(units))])
				}
				x.add(k, us...)
				model[k] = append(model[k], us...)
			case 2:
				x.remove(k, u)
				if l := slices.DeleteFunc(slices.Clone(model[k]), func(y *Unit) bool { return y == u }); len(l) > 0 {
					model[k] = l
				} else {
					delete(model, k)
				}
			case 3:
				x.del(k)
				delete(model, k)
			}
			for _, k := range keys {
				var b [1]*Unit
				got, want := x.get(k, &b), model[k]
				if !slices.Equal(got, want) {
					t.Fatalf("seed %d step %d (op %d): %s's list %v, want %v", seed, step, op, k, got, want)
				}
				if _, one := x.one[k]; one && len(x.many[k]) > 0 || len(want) == 1 && !one {
					t.Fatalf("seed %d step %d: %s's list of %d not kept alone in one", seed, step, k, len(want))
				}
				var last *Unit
				if len(want) > 0 {
					last = want[len(want)-1]
				}
				if x.last(k) != last {
					t.Fatalf("seed %d step %d: last of %s %v, want %v", seed, step, k, x.last(k), last)
				}
			}
			n := 0
			for k, l := range x.all() {
				n++
				if !slices.Equal(l, model[k]) {
					t.Fatalf("seed %d step %d: all gives %s %v, want %v", seed, step, k, l, model[k])
				}
			}
			if n != len(model) {
				t.Fatalf("seed %d step %d: all gives %d keys, want %d", seed, step, n, len(model))
			}
		}
	}
}

// TestRevIndexGetAllocatesNothing: a range over a list of one, as dispatch and the garbage
// collection do for every unit they look at, allocates nothing.
func TestRevIndexGetAllocatesNothing(t *testing.T) {
	u, v := &Unit{Name: "u"}, &Unit{Name: "v"}
	var x revIndex[*Unit]
	x.add(u, v)
	n := 0
	if a := testing.AllocsPerRun(100, func() {
		var b [1]*Unit
		for _, o := range x.get(u, &b) {
			if o == v {
				n++
			}
		}
	}); a != 0 {
		t.Errorf("get allocates %v times", a)
	}
	if n == 0 {
		t.Error("get did not give v")
	}
}
