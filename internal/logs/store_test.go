package logs

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func texts(ls []Line) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Text)
	}
	return out
}

func TestParsePriority(t *testing.T) {
	tests := []struct {
		name, in string
		prio     int
		text     string
	}{
		{"none", "hello", 6, "hello"},
		{"emerg", "<0>boom", 0, "boom"},
		{"debug", "<7>fine detail", 7, "fine detail"},
		{"err with space", "<3> spaced", 3, " spaced"},
		{"out of range", "<8>x", 6, "<8>x"},
		{"facility not parsed", "<13>x", 6, "<13>x"},
		{"unterminated", "<3", 6, "<3"},
		{"empty", "", 6, ""},
		{"only prefix", "<5>", 5, ""},
		{"not at start", "a<3>b", 6, "a<3>b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, text := ParsePriority([]byte(tt.in), 6)
			if p != tt.prio || string(text) != tt.text {
				t.Errorf("ParsePriority(%q) = %d %q, want %d %q", tt.in, p, text, tt.prio, tt.text)
			}
		})
	}
}

func TestRingWrap(t *testing.T) {
	s := NewStore(3, "")
	defer s.Close()
	for i := 1; i <= 7; i++ {
		s.Append(Line{Unit: "a.service", Text: fmt.Sprint(i)})
	}
	s.Append(Line{Unit: "b.service", Text: "b1"})
	tests := []struct {
		name  string
		units []string
		n     int
		want  []string
	}{
		{"all kept of a", []string{"a.service"}, 0, []string{"5", "6", "7"}},
		{"newest 2 of a", []string{"a.service"}, 2, []string{"6", "7"}},
		{"more than kept", []string{"a.service"}, 10, []string{"5", "6", "7"}},
		{"all units", nil, 0, []string{"5", "6", "7", "b1"}},
		{"newest of all", nil, 1, []string{"b1"}},
		{"unknown unit", []string{"c.service"}, 0, nil},
		{"unit twice", []string{"b.service", "b.service"}, 0, []string{"b1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := texts(s.Query(tt.units, tt.n, time.Time{})); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestQueryOrderAndSince(t *testing.T) {
	s := NewStore(10, "")
	defer s.Close()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.Append(Line{Time: t0.Add(2 * time.Second), Unit: "a", Text: "a2"})
	s.Append(Line{Time: t0.Add(1 * time.Second), Unit: "b", Text: "b1"})
	s.Append(Line{Time: t0.Add(3 * time.Second), Unit: "b", Text: "b3"})
	s.Append(Line{Time: t0.Add(3 * time.Second), Unit: "a", Text: "a3"})
	tests := []struct {
		name  string
		since time.Time
		n     int
		want  []string
	}{
		// The journal's order is the order in which lines arrived, whatever their times.
		{"all in arrival order", time.Time{}, 0, []string{"a2", "b1", "b3", "a3"}},
		{"since inclusive", t0.Add(2 * time.Second), 0, []string{"a2", "b3", "a3"}},
		{"since and n", t0.Add(2 * time.Second), 2, []string{"b3", "a3"}},
		{"since after all", t0.Add(time.Hour), 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := texts(s.Query(nil, tt.n, tt.since)); !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFollow(t *testing.T) {
	s := NewStore(10, "")
	defer s.Close()
	s.Append(Line{Unit: "a", Text: "before"})
	ch, cancel := s.Follow(&Filter{Units: []string{"a"}})
	all, cancelAll := s.Follow(nil)
	defer cancelAll()
	s.Append(Line{Unit: "b", Text: "other"})
	s.Append(Line{Unit: "a", Text: "after"})
	select {
	case l := <-ch:
		if l.Text != "after" || l.Unit != "a" {
			t.Errorf("followed %+v, want a/after", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no line followed")
	}
	if got := []string{(<-all).Text, (<-all).Text}; !slices.Equal(got, []string{"other", "after"}) {
		t.Errorf("follow all got %q", got)
	}
	cancel()
	cancel() // idempotent
	if _, ok := <-ch; ok {
		t.Error("channel open after cancel")
	}
	s.Append(Line{Unit: "a", Text: "not delivered"}) // must not panic on the closed follower
}

func TestSlowFollowerDoesNotBlock(t *testing.T) {
	s := NewStore(5, "")
	defer s.Close()
	ch, cancel := s.Follow(nil)
	defer cancel()
	done := make(chan struct{})
	go func() {
		for i := 0; i < 3*followBuffer; i++ {
			s.Append(Line{Unit: "a", Text: fmt.Sprint(i)})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("producer blocked by a follower that never reads")
	}
	if n := len(ch); n != followBuffer {
		t.Errorf("follower holds %d lines, want %d (the rest dropped)", n, followBuffer)
	}
	if first := <-ch; first.Text != "0" {
		t.Errorf("first followed line %q, want the oldest, 0", first.Text)
	}
}

func TestCloseEndsFollowers(t *testing.T) {
	s := NewStore(5, "")
	ch, cancel := s.Follow(nil)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-ch; ok {
		t.Error("follower channel open after Close")
	}
	cancel() // after Close: no panic
	ch2, _ := s.Follow(nil)
	if _, ok := <-ch2; ok {
		t.Error("Follow after Close returned an open channel")
	}
	s.Append(Line{Unit: "a", Text: "x"}) // ignored
	if _, err := s.Pipe("a", "stdout", 0, nil); err == nil {
		t.Error("Pipe after Close succeeded")
	}
}

func TestConcurrentAppendQueryFollow(t *testing.T) {
	s := NewStore(50, t.TempDir())
	defer s.Close()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(3)
		unit := fmt.Sprintf("u%d.service", g%3)
		// Subscribe before any line is appended: a follower only sees lines after Follow.
		ch, cancel := s.Follow(&Filter{Units: []string{unit}})
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				s.Append(Line{Unit: unit, Stream: "manager", Text: fmt.Sprint(i)})
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				if got := s.Query([]string{unit}, 0, time.Time{}); len(got) > 50 {
					t.Errorf("kept %d lines, bound is 50", len(got))
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				<-ch
			}
			cancel()
		}()
	}
	wg.Wait()
	if got := s.Query(nil, 0, time.Time{}); len(got) != 150 {
		t.Errorf("kept %d lines over 3 units, want 150", len(got))
	}
}

func TestLogFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "log")
	s := NewStore(2, dir)
	at := time.Date(2026, 11, 25, 12, 0, 0, 123456000, time.UTC)
	s.Append(Line{Time: at, Unit: "foo.service", Stream: "stdout", PID: 42, Priority: 6, Text: "hello"})
	s.Append(Line{Time: at, Unit: "foo.service", Stream: "manager", Priority: 5, Text: "Started.\nsecond line"})
	s.Append(Line{Time: at, Unit: "foo.service", Stream: "stderr", PID: 42, Priority: 3, Text: "third, beyond the ring"})
	s.Append(Line{Time: at, Unit: "../evil", Stream: "manager", Text: "kept inside dir"})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "foo.service.log"))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "foo.service.log")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		os.WriteFile(golden, got, 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("log file:\n%s\nwant (%s):\n%s", got, golden, want)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{".._evil.log", "foo.service.log"}) {
		t.Errorf("files %q", names)
	}
	if strings.Contains(string(got), "evil") {
		t.Error("lines of another unit in foo.service.log")
	}
}
