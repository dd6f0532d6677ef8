package logs

import (
	"fmt"
	"math/bits"
	"sync"
	"syscall"
	"time"
)

// Rate limits of a unit's log lines, as journald's (journald-rate-limit.c) with the unit's
// LogRateLimitIntervalSec= and LogRateLimitBurst=: per unit, five pools by level (emerg to
// crit, err, warning, notice and info, debug), each admitting Burst lines per Interval,
// the burst scaled with the free space of the journal's file system (×1 up to 1 MiB, ×2 at
// 16 MiB, ×3 at 256 MiB, ×4 at 4 GiB, ...). When a pool's interval is over, the first line
// admitted again is preceded by journald's "Suppressed N messages from UNIT".

// RateLimit is LogRateLimitIntervalSec= and LogRateLimitBurst=; a zero field is none.
type RateLimit struct {
	Interval time.Duration
	Burst    int
}

// msgJournalDropped is SD_MESSAGE_JOURNAL_DROPPED.
const msgJournalDropped = "a596d6fe7bfa4994828e72309e95d61e"

var priorityPool = [8]int{0, 0, 0, 1, 2, 3, 3, 4}

const rateGroupsMax = 2047

type ratePool struct {
	begin      time.Duration // monotonic; 0: never used
	num        int
	suppressed int
}

type rateGroup struct {
	pools [5]ratePool
	last  time.Duration
}

type rateLimiter struct {
	mu     sync.Mutex
	groups map[string]*rateGroup
}

// burstModulate is journald's burst_modulate.
func burstModulate(burst int, available uint64) int {
	k := 0
	if available > 0 {
		k = bits.Len64(available) - 1
	}
	if k <= 20 {
		return burst
	}
	return burst * (k - 16) / 4
}

// test is journal_ratelimit_test at monotonic time now: false drops the line; n > 0 lines
// of the pool were dropped before this one.
func (r *rateLimiter) test(unit string, rl RateLimit, level int, available uint64, now time.Duration) (bool, int) {
	if rl.Interval <= 0 || rl.Burst <= 0 {
		return true, 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.groups == nil {
		r.groups = map[string]*rateGroup{}
	}
	g := r.groups[unit]
	if g == nil {
		if len(r.groups) >= rateGroupsMax {
			r.evict(now, rl.Interval)
		}
		g = &rateGroup{}
		r.groups[unit] = g
	}
	g.last = now
	p := &g.pools[priorityPool[level&7]]
	switch {
	case p.begin == 0:
		*p = ratePool{begin: now, num: 1}
		return true, 0
	case p.begin+rl.Interval < now:
		n := p.suppressed
		*p = ratePool{begin: now, num: 1}
		return true, n
	case p.num < burstModulate(rl.Burst, available):
		p.num++
		return true, 0
	}
	p.suppressed++
	return false, 0
}

// evict forgets the groups unused for an interval, or, if none is, the least recently used.
func (r *rateLimiter) evict(now, interval time.Duration) {
	var oldest string
	var at time.Duration = -1
	for k, g := range r.groups {
		if g.last+interval < now {
			delete(r.groups, k)
			continue
		}
		if at < 0 || g.last < at {
			oldest, at = k, g.last
		}
	}
	if len(r.groups) >= rateGroupsMax {
		delete(r.groups, oldest)
	}
}

// availableSpace is the free space of the file system the journal is kept on.
func (s *Store) availableSpace() uint64 {
	dir := s.dir
	if s.disk != nil {
		dir = s.disk.dir
	}
	if dir == "" {
		dir = "/run"
	}
	var st syscall.Statfs_t
	if syscall.Statfs(dir, &st) != nil {
		return 0
	}
	return st.Bavail * uint64(st.Bsize)
}

// Admit applies unit's rate limit rl to a line at level: false when it is dropped. When the
// pool's earlier lines were dropped, journald's message saying how many is stored first.
func (s *Store) Admit(unit string, rl RateLimit, level int) bool {
	if unit == "" || rl.Interval <= 0 || rl.Burst <= 0 {
		return true
	}
	ok, dropped := s.rate.test(unit, rl, level, s.availableSpace(), Monotonic())
	if dropped > 0 {
		s.Append(Line{Stream: "manager", Priority: 6, Text: fmt.Sprintf("Suppressed %d messages from %s", dropped, unit),
			Source: &Source{Ident: "systemd-journald", Transport: "driver"},
			Fields: []Field{{"MESSAGE_ID", msgJournalDropped}, {"N_DROPPED", fmt.Sprint(dropped)}}})
	}
	return ok
}
