package control

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/flint-init/flint/api"
)

func TestDefaultLimits(t *testing.T) {
	for _, tc := range []struct {
		nofile uint64
		want   Limits
	}{
		// A quarter of the fds, at most 4096; a quarter of those for root; per uid a quarter of
		// the rest (at most 256), follows half the rest (at most 64 per uid).
		{1 << 20, Limits{Total: 4096, Reserved: 1024, PerUID: 256, Follows: 1536, FollowsPerUID: 64}},
		{20000, Limits{Total: 4096, Reserved: 1024, PerUID: 256, Follows: 1536, FollowsPerUID: 64}},
		{4096, Limits{Total: 1024, Reserved: 256, PerUID: 192, Follows: 384, FollowsPerUID: 64}},
		{1024, Limits{Total: 256, Reserved: 64, PerUID: 48, Follows: 96, FollowsPerUID: 24}},
		{16, Limits{Total: 16, Reserved: 4, PerUID: 3, Follows: 6, FollowsPerUID: 1}},
	} {
		if got := DefaultLimits(tc.nofile); got != tc.want {
			t.Errorf("DefaultLimits(%d) = %+v, want %+v", tc.nofile, got, tc.want)
		}
	}
}

// TestLimiter runs sequences of admissions and releases against small limits: each step
// either succeeds or is refused with a message naming its limit.
func TestLimiter(t *testing.T) {
	lim := Limits{Total: 6, Reserved: 2, PerUID: 2, Follows: 3, FollowsPerUID: 2}
	type step struct {
		op         string // conn, done, follow, unfollow
		uid        int
		privileged bool
		refused    string // substring of the refusal; "" = admitted
	}
	const (
		a, b, c, d = 1000, 1001, 1002, 1003
	)
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"per_uid_connections", []step{
			{op: "conn", uid: a}, {op: "conn", uid: a},
			{op: "conn", uid: a, refused: "Too many control connections of uid 1000 (limit 2 per user)."},
			{op: "conn", uid: b}, // another uid is not affected
			{op: "done", uid: a},
			{op: "conn", uid: a}, // a released slot is free again
		}},
		{"unprivileged_share_then_reserve_for_root", []step{
			{op: "conn", uid: a}, {op: "conn", uid: a}, {op: "conn", uid: b}, {op: "conn", uid: b},
			{op: "conn", uid: c, refused: "Too many control connections of unprivileged users (limit 4; 2 more are kept for root)."},
			{op: "conn", uid: 0, privileged: true},
			{op: "conn", uid: 0, privileged: true},
			{op: "conn", uid: 0, privileged: true, refused: "Too many control connections (limit 6)."},
			{op: "done", uid: 0, privileged: true},
			{op: "conn", uid: 0, privileged: true},
		}},
		{"privileged_use_the_whole_total", []step{
			{op: "conn", uid: 0, privileged: true}, {op: "conn", uid: 0, privileged: true},
			{op: "conn", uid: 0, privileged: true}, {op: "conn", uid: 0, privileged: true},
			{op: "conn", uid: a}, {op: "conn", uid: a},
			{op: "conn", uid: b, refused: "Too many control connections (limit 6)."},
			{op: "conn", uid: 0, privileged: true, refused: "Too many control connections (limit 6)."},
		}},
		{"follows_per_uid_and_global", []step{
			{op: "follow", uid: a}, {op: "follow", uid: a},
			{op: "follow", uid: a, refused: "Too many followed logs of uid 1000 (limit 2 per user)."},
			{op: "follow", uid: b},
			{op: "follow", uid: c, refused: "Too many followed logs of unprivileged users (limit 3)."},
			{op: "follow", uid: 0, privileged: true}, // root's follows are only connections
			{op: "follow", uid: 0, privileged: true},
			{op: "unfollow", uid: a},
			{op: "follow", uid: c},
			{op: "follow", uid: d, refused: "limit 3"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter(lim)
			for i, s := range tc.steps {
				var err error
				switch s.op {
				case "conn":
					err = l.conn(s.uid, s.privileged)
				case "done":
					l.connDone(s.uid, s.privileged)
				case "follow":
					err = l.follow(s.uid, s.privileged)
				case "unfollow":
					l.followDone(s.uid, s.privileged)
				}
				switch {
				case s.refused == "" && err != nil:
					t.Fatalf("step %d %+v: refused: %v", i, s, err)
				case s.refused != "" && (err == nil || !strings.Contains(err.Error(), s.refused)):
					t.Fatalf("step %d %+v: got %v, want a refusal with %q", i, s, err, s.refused)
				}
			}
		})
	}
}

// TestLimiterReleasesEverything: after every admission is released, the counts and maps are
// empty again (no uid is left holding a slot).
func TestLimiterReleasesEverything(t *testing.T) {
	l := newLimiter(Limits{Total: 100, Reserved: 10, PerUID: 50, Follows: 50, FollowsPerUID: 20})
	type held struct {
		uid    int
		priv   bool
		follow bool
	}
	var hs []held
	for i := 0; i < 200; i++ {
		uid := 1000 + i%7
		priv := i%5 == 0
		if priv {
			uid = 0
		}
		if l.conn(uid, priv) != nil {
			continue
		}
		h := held{uid: uid, priv: priv}
		if i%2 == 0 && l.follow(uid, priv) == nil {
			h.follow = true
		}
		hs = append(hs, h)
	}
	if conns, _ := l.counts(); conns != len(hs) || conns != 100 {
		t.Errorf("held %d connections, counted %d, want the total 100", len(hs), conns)
	}
	for _, h := range hs {
		if h.follow {
			l.followDone(h.uid, h.priv)
		}
		l.connDone(h.uid, h.priv)
	}
	if conns, follows := l.counts(); conns != 0 || follows != 0 || l.open != 0 || len(l.perUID) != 0 || len(l.followsPerUID) != 0 {
		t.Errorf("after releasing all: conns %d follows %d open %d perUID %v followsPerUID %v", conns, follows, l.open, l.perUID, l.followsPerUID)
	}
}

// TestTurn: the requests of one unprivileged uid are answered one at a time, another uid's
// at once; a waiter that hangs up leaves the line; when all are done no turnstile is left.
func TestTurn(t *testing.T) {
	l := newLimiter(DefaultLimits(1024))
	const a, b = 1000, 1001
	refs := func(uid int) int {
		l.mu.Lock()
		defer l.mu.Unlock()
		if t := l.turns[uid]; t != nil {
			return t.refs
		}
		return 0
	}
	waitRefs := func(uid, n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for refs(uid) != n {
			if time.Now().After(deadline) {
				t.Fatalf("uid %d: %d holding or waiting, want %d", uid, refs(uid), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	relA, ok := l.turn(context.Background(), a)
	if !ok {
		t.Fatal("first turn refused")
	}
	// a's second request waits; b's does not.
	got := make(chan func(), 1)
	go func() {
		r, ok := l.turn(context.Background(), a)
		if ok {
			got <- r
		}
	}()
	relB, ok := l.turn(context.Background(), b)
	if !ok {
		t.Fatal("another uid's turn refused")
	}
	relB()
	waitRefs(a, 2)
	select {
	case <-got:
		t.Fatal("a second request of the same uid was let through")
	default:
	}
	// A third that hangs up while it waits leaves the line.
	ctx, cancel := context.WithCancel(context.Background())
	left := make(chan bool, 1)
	go func() { _, ok := l.turn(ctx, a); left <- ok }()
	waitRefs(a, 3)
	cancel()
	if <-left {
		t.Fatal("a cancelled waiter got its turn")
	}
	waitRefs(a, 2)
	// The first's end lets the second through; releasing twice changes nothing.
	relA()
	relA()
	var rel2 func()
	select {
	case rel2 = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting request never got its turn")
	}
	waitRefs(a, 1)
	rel2()
	if len(l.turns) != 0 {
		t.Errorf("turnstiles left: %v", l.turns)
	}
}

func TestNamesRefusal(t *testing.T) {
	many := make([]string, MaxNamesUnprivileged+1)
	for _, tc := range []struct {
		name string
		req  api.Request
		want string
	}{
		{"units_at_the_limit", api.Request{Verb: api.VerbShow, Units: many[1:]}, ""},
		{"units", api.Request{Verb: api.VerbShow, Units: many}, "Too many unit names in one request: 1025 (limit 1024 for unprivileged users)."},
		{"props", api.Request{Verb: api.VerbShow, Props: many}, "Too many property names in one request: 1025"},
		{"identifiers", api.Request{Verb: api.VerbLogs, Match: &api.LogMatch{Identifiers: many}}, "Too many identifiers in one request: 1025"},
	} {
		err := namesRefusal(&tc.req)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
