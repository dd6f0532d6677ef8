package logs

import (
	"testing"
	"time"
)

func TestBurstModulate(t *testing.T) {
	for avail, want := range map[uint64]int{0: 100, 1 << 20: 100, 16 << 20: 200, 256 << 20: 300, 4 << 30: 400, 1 << 40: 600} {
		if got := burstModulate(100, avail); got != want {
			t.Errorf("burstModulate(100, %d) = %d, want %d", avail, got, want)
		}
	}
}

// TestRateLimiter: journald's pools, at given times.
func TestRateLimiter(t *testing.T) {
	var r rateLimiter
	rl := RateLimit{Interval: 10 * time.Second, Burst: 3}
	s := time.Second
	steps := []struct {
		unit    string
		level   int
		at      time.Duration
		ok      bool
		dropped int
	}{
		{"a", 6, 1 * s, true, 0},
		{"a", 5, 2 * s, true, 0}, // notice and info share a pool
		{"a", 6, 3 * s, true, 0},
		{"a", 6, 4 * s, false, 0},
		{"a", 7, 4 * s, true, 0}, // debug has its own
		{"b", 6, 4 * s, true, 0}, // so has every unit
		{"a", 6, 5 * s, false, 0},
		{"a", 3, 5 * s, true, 0},
		{"a", 6, 12 * s, true, 2}, // the interval is over: two were dropped
		{"a", 6, 12 * s, true, 0},
	}
	for i, st := range steps {
		ok, n := r.test(st.unit, rl, st.level, 0, st.at)
		if ok != st.ok || n != st.dropped {
			t.Errorf("step %d: %v %d, want %v %d", i, ok, n, st.ok, st.dropped)
		}
	}
	if ok, _ := r.test("a", RateLimit{}, 6, 0, 13*s); !ok {
		t.Error("no limit dropped a line")
	}
}

// TestAdmitSuppressedMessage: once lines were dropped, the next admitted one comes after
// journald's message saying how many.
func TestAdmitSuppressedMessage(t *testing.T) {
	s := NewStore(100, "")
	defer s.Close()
	rl := RateLimit{Interval: time.Nanosecond, Burst: 1}
	// With an interval of 1ns every line after the first starts a new one: nothing drops.
	for range 3 {
		if !s.Admit("u.service", rl, 6) {
			t.Fatal("dropped")
		}
	}
	rl = RateLimit{Interval: time.Hour, Burst: 1}
	burst := burstModulate(1, s.availableSpace()) // scaled with the free space
	for i := range burst {
		if !s.Admit("v.service", rl, 6) {
			t.Fatalf("line %d of a burst of %d dropped", i, burst)
		}
	}
	if s.Admit("v.service", rl, 6) || s.Admit("v.service", rl, 6) {
		t.Fatal("burst not applied")
	}
	s.rate.mu.Lock()
	s.rate.groups["v.service"].pools[3].begin -= 2 * time.Hour // the interval is over
	s.rate.mu.Unlock()
	if !s.Admit("v.service", rl, 6) {
		t.Fatal("dropped after the interval")
	}
	var msgs []string
	for _, l := range s.Select(nil, Range{Lines: -1}) {
		msgs = append(msgs, l.Text)
	}
	if len(msgs) != 1 || msgs[0] != "Suppressed 2 messages from v.service" {
		t.Errorf("messages %q", msgs)
	}
}
