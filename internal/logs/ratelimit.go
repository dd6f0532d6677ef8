package logs

import (
	"fmt"
	"math/bits"
	"sync"
	"syscall"
	"time"
)

// Rate limits of a unit's log lines, as journald's (journald-rate-limit.c): per unit, five
// pools by level (emerg to crit, err, warning, notice and info, debug), each admitting Burst
// lines per Interval, the burst scaled with the free space of the journal's file system
// (×1 up to 1 MiB, ×2 at 16 MiB, ×3 at 256 MiB, ×4 at 4 GiB, ...; the free space looked at
// again every 30 s, as journald). Every unit is limited: by its LogRateLimitIntervalSec= and
// LogRateLimitBurst=, or by DefaultRateLimit for what it leaves unset.
//
// Lines dropped are said in journald's "Suppressed N messages from UNIT": before the first
// line admitted after the pool's interval, as journald writes it, or, when no line comes by
// the end of the interval, then (journald would say nothing until the unit writes again:
// flint never drops lines without a word; docs/compatibility.md).

// RateLimit is LogRateLimitIntervalSec= and LogRateLimitBurst=; a zero field is none.
type RateLimit struct {
	Interval time.Duration
	Burst    int
}

// DefaultRateLimit is journald.conf's default RateLimitIntervalSec=30s and
// RateLimitBurst=10000: the limit of a unit that sets neither LogRateLimitIntervalSec= nor
// LogRateLimitBurst=.
var DefaultRateLimit = RateLimit{Interval: 30 * time.Second, Burst: 10000}

// msgJournalDropped is SD_MESSAGE_JOURNAL_DROPPED.
const msgJournalDropped = "a596d6fe7bfa4994828e72309e95d61e"

var priorityPool = [8]int{0, 0, 0, 1, 2, 3, 3, 4}

const rateGroupsMax = 2047

// spaceRecheck is how long the free space measured is used (journald's RECHECK_SPACE_USEC).
const spaceRecheck = 30 * time.Second

type ratePool struct {
	begin      time.Duration // monotonic; 0: never used
	num        int
	suppressed int
	armed      bool // a call at the end of the interval will say what was suppressed
}

type rateGroup struct {
	pools [5]ratePool
	last  time.Duration
}

type rateLimiter struct {
	mu     sync.Mutex
	groups map[string]*rateGroup
	// The free space (available), measured at spaceAt (monotonic; 0: never).
	space   uint64
	spaceAt time.Duration
	// after runs f after d (time.AfterFunc; tests replace it).
	after func(d time.Duration, f func())
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

// verdict is what test decided about one line.
type verdict struct {
	ok bool // the line is admitted
	// dropped lines of the pool come before it (journald's "Suppressed" message first).
	dropped int
	// arm > 0: the first line dropped in this interval; call expired(unit, pool, begin)
	// after arm, at the interval's end.
	arm   time.Duration
	pool  int
	begin time.Duration
}

// test is journal_ratelimit_test at monotonic time now; available measures the free space
// (called only when the burst is reached, and at most every spaceRecheck).
func (r *rateLimiter) test(unit string, rl RateLimit, level int, available func() uint64, now time.Duration) verdict {
	if rl.Interval <= 0 || rl.Burst <= 0 {
		return verdict{ok: true}
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
	pi := priorityPool[level&7]
	p := &g.pools[pi]
	switch {
	case p.begin == 0:
		*p = ratePool{begin: now, num: 1}
		return verdict{ok: true}
	case p.begin+rl.Interval < now:
		n := p.suppressed
		*p = ratePool{begin: now, num: 1}
		return verdict{ok: true, dropped: n}
	case p.num < rl.Burst:
		p.num++
		return verdict{ok: true}
	}
	if r.spaceAt == 0 || now-r.spaceAt > spaceRecheck {
		r.space, r.spaceAt = available(), now
	}
	if p.num < burstModulate(rl.Burst, r.space) {
		p.num++
		return verdict{ok: true}
	}
	p.suppressed++
	v := verdict{pool: pi, begin: p.begin}
	if !p.armed {
		p.armed = true
		v.arm = max(p.begin+rl.Interval-now, 0) + time.Millisecond
	}
	return v
}

// expired is the end of the interval that began at begin of unit's pool: the lines
// suppressed in it and not said yet, which are said now (0: none, or a new interval began).
func (r *rateLimiter) expired(unit string, pool int, begin time.Duration) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.groups[unit]
	if g == nil || g.pools[pool].begin != begin {
		return 0
	}
	p := &g.pools[pool]
	n := p.suppressed
	p.suppressed, p.armed = 0, false
	return n
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
	s.mu.Lock()
	dir := s.dir
	if s.disk != nil {
		dir = s.disk.dir
	}
	s.mu.Unlock()
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
	v := s.rate.test(unit, rl, level, s.availableSpace, Monotonic())
	if v.dropped > 0 {
		s.suppressed(unit, v.dropped)
	}
	if v.arm > 0 {
		after := s.rate.after
		if after == nil {
			after = func(d time.Duration, f func()) { time.AfterFunc(d, f) }
		}
		after(v.arm, func() {
			if n := s.rate.expired(unit, v.pool, v.begin); n > 0 {
				s.suppressed(unit, n)
			}
		})
	}
	return v.ok
}

// suppressed stores journald's message that n lines of unit were dropped.
func (s *Store) suppressed(unit string, n int) {
	s.Append(Line{Stream: "manager", Priority: 6, Text: fmt.Sprintf("Suppressed %d messages from %s", n, unit),
		Source: &Source{Ident: "systemd-journald", Transport: "driver"},
		Fields: []Field{{"MESSAGE_ID", msgJournalDropped}, {"N_DROPPED", fmt.Sprint(n)}}})
}
