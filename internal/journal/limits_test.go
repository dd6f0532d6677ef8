package journal

import (
	"strings"
	"testing"
)

func TestDefaultStreamLimits(t *testing.T) {
	for _, tc := range []struct {
		nofile uint64
		want   StreamLimits
	}{
		{1 << 20, StreamLimits{Total: 4096, Reserved: 1024, PerUID: 1024}},
		{20000, StreamLimits{Total: 4096, Reserved: 1024, PerUID: 1024}},
		{1024, StreamLimits{Total: 256, Reserved: 64, PerUID: 64}},
		{16, StreamLimits{Total: 16, Reserved: 4, PerUID: 4}},
	} {
		if got := DefaultStreamLimits(tc.nofile); got != tc.want {
			t.Errorf("DefaultStreamLimits(%d) = %+v, want %+v", tc.nofile, got, tc.want)
		}
	}
}

// TestStreamCount: a uid other than root's holds at most PerUID streams, all of them
// together Total-Reserved; root gets the rest; releases free the slots.
func TestStreamCount(t *testing.T) {
	c := newStreamCount(StreamLimits{Total: 6, Reserved: 2, PerUID: 2})
	c.owner = 0
	held := 0
	admit := func(uid int, want string) {
		t.Helper()
		got := c.admit(uid, held)
		if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
			t.Fatalf("admit uid %d with %d held: %q, want %q", uid, held, got, want)
		}
		if got == "" {
			held++
		}
	}
	admit(1000, "")
	admit(1000, "")
	admit(1000, "Too many stdout streams of uid 1000 (limit 2 per user)")
	admit(1001, "")
	admit(1001, "")
	admit(1002, "Too many stdout streams of unprivileged users (limit 4; 2 more are kept for root)")
	admit(0, "")
	admit(0, "")
	admit(0, "Too many stdout streams (limit 6)")
	c.done(1000)
	held--
	admit(1000, "")
	for _, uid := range []int{1000, 1000, 1001, 1001, 0, 0} {
		c.done(uid)
	}
	if c.open != 0 || len(c.perUID) != 0 {
		t.Errorf("after all released: open %d, per uid %v", c.open, c.perUID)
	}
}
