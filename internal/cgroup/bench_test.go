package cgroup

import (
	"os"
	"strconv"
	"testing"
)

// BenchmarkCreateRemove makes and removes a unit's group with its limits, as a start and stop
// of a unit do, in every hierarchy of this machine and in each one alone.
func BenchmarkCreateRemove(b *testing.B) {
	l := Detect()
	if l.Kind == None {
		b.Skip(l.Describe())
	}
	rel := "flint-bench-" + strconv.Itoa(os.Getpid())
	run := func(b *testing.B, l *Layout, apply bool) {
		g := &Group{L: l, Rel: rel + "/system.slice/x.service"}
		for b.Loop() {
			if err := g.Create(); err != nil {
				b.Fatal(err)
			}
			if apply {
				g.Apply(&Resources{TasksMax: 4915})
			}
			if err := g.Remove(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("all", func(b *testing.B) { run(b, l, false) })
	b.Run("all-apply", func(b *testing.B) { run(b, l, true) })
	for _, h := range l.All {
		one := &Layout{Kind: l.Kind, Tracking: h, All: []*Hierarchy{h}}
		b.Run(h.Mount[len("/sys/fs/cgroup/"):], func(b *testing.B) { run(b, one, false) })
	}
}
