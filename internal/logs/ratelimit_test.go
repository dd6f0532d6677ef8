package logs

import (
	"fmt"
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

// TestRateLimiter: journald's pools, at given times, and the call at the end of an interval
// in which lines were dropped.
func TestRateLimiter(t *testing.T) {
	var r rateLimiter
	rl := RateLimit{Interval: 10 * time.Second, Burst: 3}
	s := time.Second
	measured := 0
	avail := func() uint64 { measured++; return 1 << 20 } // ×1
	steps := []struct {
		unit    string
		level   int
		at      time.Duration
		ok      bool
		dropped int
		arm     time.Duration
	}{
		{"a", 6, 1 * s, true, 0, 0},
		{"a", 5, 2 * s, true, 0, 0}, // notice and info share a pool
		{"a", 6, 3 * s, true, 0, 0},
		{"a", 6, 4 * s, false, 0, 7*s + time.Millisecond}, // the first dropped: a call at 11s
		{"a", 7, 4 * s, true, 0, 0},                       // debug has its own
		{"b", 6, 4 * s, true, 0, 0},                       // so has every unit
		{"a", 6, 5 * s, false, 0, 0},                      // one call is enough
		{"a", 3, 5 * s, true, 0, 0},
		{"a", 6, 12 * s, true, 2, 0}, // the interval is over: two were dropped
		{"a", 6, 12 * s, true, 0, 0},
	}
	for i, st := range steps {
		v := r.test(st.unit, rl, st.level, avail, st.at)
		if v.ok != st.ok || v.dropped != st.dropped || v.arm != st.arm {
			t.Errorf("step %d: %+v, want %v %d %v", i, v, st.ok, st.dropped, st.arm)
		}
	}
	if measured != 1 {
		t.Errorf("free space measured %d times, want once (the burst reached once)", measured)
	}
	if v := r.test("a", RateLimit{}, 6, avail, 13*s); !v.ok {
		t.Error("no limit dropped a line")
	}
	// The call at the end of an interval says what the pool dropped, once; a call for an
	// interval that is over already (a line began the next) says nothing.
	for range 3 {
		r.test("c", rl, 6, avail, 20*s)
	}
	v := r.test("c", rl, 6, avail, 21*s)
	r.test("c", rl, 6, avail, 22*s)
	if v.arm == 0 {
		t.Fatal("not armed")
	}
	if n := r.expired("c", v.pool, v.begin); n != 2 {
		t.Errorf("expired: %d dropped, want 2", n)
	}
	if n := r.expired("c", v.pool, v.begin); n != 0 {
		t.Errorf("expired again: %d dropped, want 0", n)
	}
	if v := r.test("c", rl, 6, avail, 31*s); !v.ok || v.dropped != 0 {
		t.Errorf("after the call, the next interval: %+v, want admitted, nothing to say", v)
	}
	if v := r.test("c", rl, 6, avail, 31*s); !v.ok {
		t.Errorf("second line of the new interval dropped")
	}
	r.test("c", rl, 6, avail, 31*s)
	v = r.test("c", rl, 6, avail, 31*s)
	r.test("c", rl, 6, avail, 45*s) // the next interval: it says the one dropped line
	if n := r.expired("c", v.pool, v.begin); n != 0 {
		t.Errorf("call for an interval said already: %d", n)
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
	s.rate.after = func(time.Duration, func()) {}
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

// TestDefaultRateLimit: a unit without rate settings (no Output) is limited by journald's
// default, scaled with the free space; the lines dropped are said when the interval ends
// even if the unit writes nothing more, and not a second time after it.
func TestDefaultRateLimit(t *testing.T) {
	s := NewStore(1<<20, "")
	defer s.Close()
	var expire []func()
	s.rate.after = func(d time.Duration, f func()) {
		if d < DefaultRateLimit.Interval-time.Second || d > DefaultRateLimit.Interval+time.Second {
			t.Errorf("called after %v, want the default interval", d)
		}
		expire = append(expire, f)
	}
	burst := burstModulate(DefaultRateLimit.Burst, s.availableSpace())
	const over = 7
	w, err := s.Pipe("x.service", "stdout", 7, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		b := make([]byte, 0, 8*(burst+over))
		for i := range burst + over {
			b = fmt.Appendf(b, "%d\n", i)
		}
		w.Write(b)
		w.Close()
	}()
	waitReaders(t, s)
	kept := s.Select(&Filter{Units: []string{"x.service"}}, Range{Lines: -1})
	if len(kept) != burst || kept[len(kept)-1].Text != fmt.Sprint(burst-1) {
		t.Fatalf("%d lines kept, want the first %d", len(kept), burst)
	}
	if len(expire) != 1 {
		t.Fatalf("%d calls at the interval's end armed, want 1", len(expire))
	}
	expire[0]()
	var notes []string
	for _, l := range s.Select(nil, Range{Lines: -1}) {
		if l.Unit == "" {
			notes = append(notes, l.Text)
		}
	}
	if want := fmt.Sprintf("Suppressed %d messages from x.service", over); len(notes) != 1 || notes[0] != want {
		t.Errorf("notes %q, want %q", notes, want)
	}
	// A unit that sets no limit at all is still limited (an Output without rate settings).
	if o := NewOutput(3, 6, true, -1, nil); o.RateLimit() != DefaultRateLimit {
		t.Errorf("NewOutput's limit %+v, want the default", o.RateLimit())
	}
	if (*Output)(nil).RateLimit() != DefaultRateLimit {
		t.Error("nil Output not limited by default")
	}
}
