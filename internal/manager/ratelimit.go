package manager

import "time"

// startLimitHit records a start and reports whether StartLimitBurst= was exceeded.
func (m *Manager) startLimitHit(u *Unit) bool {
	c := &u.cfg.Unit
	return !u.service().startLimit.below(c.StartLimitInterval, c.StartLimitBurst, m.sys().now())
}

// rateLimit is systemd's RateLimit (ratelimit_below): a fixed window that opens at the first
// event after the last one closed, in which burst events pass. An interval or burst <= 0 is
// no limit.
type rateLimit struct {
	begin time.Duration // the window's first event on CLOCK_MONOTONIC (monoOf); 0: none open
	num   int           // events in the window, the refused ones too
}

// below counts one event at now and reports whether it is within the limit.
func (r *rateLimit) below(interval time.Duration, burst int, now time.Time) bool {
	if interval <= 0 || burst <= 0 {
		return true
	}
	t := monoOf(now)
	if r.begin == 0 || t-r.begin > interval {
		r.begin, r.num = t, 0
	}
	r.num++
	return r.num <= burst
}
