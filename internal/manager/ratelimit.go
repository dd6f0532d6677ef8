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
	begin time.Time // zero: no window open
	num   int       // events in the window, the refused ones too
}

// below counts one event at now and reports whether it is within the limit.
func (r *rateLimit) below(interval time.Duration, burst int, now time.Time) bool {
	if interval <= 0 || burst <= 0 {
		return true
	}
	if r.begin.IsZero() || now.Sub(r.begin) > interval {
		r.begin, r.num = now, 0
	}
	r.num++
	return r.num <= burst
}
