package manager

import (
	"fmt"
	"testing"
)

// BenchmarkCollectGarbage: the sweep after an event on a manager with 2001 active units,
// when the unit that changed stays active, when it is inactive but an active unit refers to
// it (a stopped service its socket refers to), and when it goes.
func BenchmarkCollectGarbage(b *testing.B) {
	files := map[string]string{}
	var wants string
	for i := 0; i < 1000; i++ {
		files[fmt.Sprintf("t%d.target", i)] = target(fmt.Sprintf("T%d", i), fmt.Sprintf("Wants=u%d.target", i))
		files[fmt.Sprintf("u%d.target", i)] = target(fmt.Sprintf("U%d", i))
		wants += fmt.Sprintf(" t%d.target", i)
	}
	files["all.target"] = target("All", "Wants="+wants, "After=ref.target")
	files["ref.target"] = target("Ref")
	files["idle.target"] = target("Idle")
	m, _ := testManager(b, files)
	if err := m.enqueueErr("start", m.load("all.target"), "replace", nil); err != nil {
		b.Fatal(err)
	}
	m.collectGarbage()
	b.Run("unit-stays", func(b *testing.B) {
		u := m.units["t7.target"]
		for i := 0; i < b.N; i++ {
			m.gcEnqueue(u)
			m.collectGarbage()
		}
	})
	b.Run("unit-referenced", func(b *testing.B) {
		u := m.load("ref.target")
		for i := 0; i < b.N; i++ {
			m.gcEnqueue(u)
			m.collectGarbage()
		}
		if m.units["ref.target"] != u {
			b.Fatal("ref.target was collected")
		}
	})
	b.Run("unit-goes", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			m.load("idle.target")
			m.collectGarbage()
		}
		if m.units["idle.target"] != nil {
			b.Fatal("idle.target was not collected")
		}
	})
}

// BenchmarkStartStopAmongMany: a start and a stop job of one target on a manager with 2001
// other units loaded and active: the cost of the lookups of the units that name the
// target (ConflictedBy=, RequiredBy=, BoundBy=, sockets, unneeded checks).
func BenchmarkStartStopAmongMany(b *testing.B) {
	files := map[string]string{}
	var wants string
	for i := 0; i < 1000; i++ {
		files[fmt.Sprintf("t%d.target", i)] = target(fmt.Sprintf("T%d", i), fmt.Sprintf("Wants=u%d.target", i), "Conflicts=x.target")
		files[fmt.Sprintf("u%d.target", i)] = target(fmt.Sprintf("U%d", i))
		wants += fmt.Sprintf(" t%d.target", i)
	}
	files["all.target"] = target("All", "Wants="+wants, "After=one.target")
	files["one.target"] = target("One", "Wants=two.target")
	files["two.target"] = target("Two", "StopWhenUnneeded=yes")
	m, _ := testManager(b, files)
	if err := m.enqueueErr("start", m.load("all.target"), "replace", nil); err != nil {
		b.Fatal(err)
	}
	one := m.load("one.target")
	for b.Loop() {
		if err := m.enqueueErr("start", one, "replace", nil); err != nil {
			b.Fatal(err)
		}
		if err := m.enqueueErr("stop", one, "replace", nil); err != nil {
			b.Fatal(err)
		}
		m.collectGarbage()
	}
}
