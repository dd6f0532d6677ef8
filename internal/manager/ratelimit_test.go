package manager

import (
	"testing"
	"time"
)

// TestRateLimitFixedWindow: StartLimit*= and TriggerLimit*= count in systemd's fixed window
// (ratelimit_below), which opens at the first event after the previous window closed, not
// over the last interval.
func TestRateLimitFixedWindow(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	type ev struct {
		at   float64
		want bool
	}
	for _, tc := range []struct {
		name     string
		interval time.Duration
		burst    int
		events   []ev
	}{
		{"burst then refused until the window closes", 10 * time.Second, 2,
			[]ev{{0, true}, {1, true}, {2, false}, {9, false}, {10, false}, {10.5, true}, {11, true}, {12, false}}},
		// A sliding window over the last 10 s would refuse the event at 11 (9 and 10.5 are in it).
		{"a new window opens at its first event", 10 * time.Second, 2,
			[]ev{{0, true}, {9, true}, {10.5, true}, {11, true}, {20, false}, {20.6, true}}},
		{"interval 0 is no limit", 0, 1, []ev{{0, true}, {0, true}, {0, true}}},
		{"burst 0 is no limit", time.Second, 0, []ev{{0, true}, {0, true}}},
		{"burst 1", time.Second, 1, []ev{{0, true}, {0.5, false}, {1, false}, {1.001, true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r rateLimit
			for i, e := range tc.events {
				if got := r.below(tc.interval, tc.burst, at(e.at)); got != e.want {
					t.Errorf("event %d at %vs: below = %v, want %v", i, e.at, got, e.want)
				}
			}
		})
	}
}
