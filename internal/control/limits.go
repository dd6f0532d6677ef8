package control

import (
	"fmt"
	"sync"
)

// Limits bound what the control socket holds at once, so that no local user can take the
// manager's file descriptors, memory or attention from root: every connection is an fd and a
// goroutine, a followed log one more channel. A connection over a limit is answered with
// code "limit" and closed.
type Limits struct {
	// Total caps every connection, privileged ones included.
	Total int
	// Reserved of Total are only for privileged peers (root and the manager's owner):
	// unprivileged ones together hold at most Total-Reserved.
	Reserved int
	// PerUID caps the connections of one unprivileged uid.
	PerUID int
	// Follows caps the followed logs (logs with follow) of all unprivileged peers,
	// FollowsPerUID those of one uid. Privileged peers' follows count only as connections.
	Follows, FollowsPerUID int
}

// DefaultLimits derives the limits from the manager's fd limit (RLIMIT_NOFILE): control
// connections may use a quarter of it, at most 4096 (systemd's cap on its private bus
// connections), so that the sockets of socket units (accept4 for Accept=yes), log pipes and
// spawning always find fds. A quarter of those are reserved for root and the owner; one
// unprivileged uid may hold a quarter of the rest (at most 256, dbus-daemon's per-user
// default), and follow logs on half of the rest (at most 64 per uid).
func DefaultLimits(nofile uint64) Limits {
	total := int(min(nofile/4, 4096))
	total = max(total, 16)
	reserved := total / 4
	open := total - reserved
	follows := open / 2
	return Limits{
		Total:         total,
		Reserved:      reserved,
		PerUID:        min(256, max(open/4, 1)),
		Follows:       follows,
		FollowsPerUID: min(64, max(follows/4, 1)),
	}
}

// LimitError is a refusal by the limits; its message names the limit.
type LimitError struct{ Msg string }

func (e *LimitError) Error() string { return e.Msg }

// limiter counts connections and follows against Limits. Its methods are safe for concurrent
// use; every successful acquire is matched by one release.
type limiter struct {
	lim Limits

	mu            sync.Mutex
	total, open   int // all connections; the unprivileged ones
	perUID        map[int]int
	follows       int // unprivileged follows
	followsPerUID map[int]int
	privFollows   int
}

func newLimiter(l Limits) *limiter {
	return &limiter{lim: l, perUID: map[int]int{}, followsPerUID: map[int]int{}}
}

// conn admits a new connection of uid (privileged: root or the owner), or says which limit
// refuses it.
func (l *limiter) conn(uid int, privileged bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= l.lim.Total {
		return &LimitError{fmt.Sprintf("Too many control connections (limit %d).", l.lim.Total)}
	}
	if !privileged {
		if l.perUID[uid] >= l.lim.PerUID {
			return &LimitError{fmt.Sprintf("Too many control connections of uid %d (limit %d per user).", uid, l.lim.PerUID)}
		}
		if l.open >= l.lim.Total-l.lim.Reserved {
			return &LimitError{fmt.Sprintf("Too many control connections of unprivileged users (limit %d; %d more are kept for root).", l.lim.Total-l.lim.Reserved, l.lim.Reserved)}
		}
		l.open++
		l.perUID[uid]++
	}
	l.total++
	return nil
}

// connDone releases what conn admitted.
func (l *limiter) connDone(uid int, privileged bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if !privileged {
		l.open--
		if l.perUID[uid]--; l.perUID[uid] <= 0 {
			delete(l.perUID, uid)
		}
	}
}

// follow admits a followed log of uid on a connection conn admitted.
func (l *limiter) follow(uid int, privileged bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if privileged {
		l.privFollows++
		return nil
	}
	if l.followsPerUID[uid] >= l.lim.FollowsPerUID {
		return &LimitError{fmt.Sprintf("Too many followed logs of uid %d (limit %d per user).", uid, l.lim.FollowsPerUID)}
	}
	if l.follows >= l.lim.Follows {
		return &LimitError{fmt.Sprintf("Too many followed logs of unprivileged users (limit %d).", l.lim.Follows)}
	}
	l.follows++
	l.followsPerUID[uid]++
	return nil
}

// followDone releases what follow admitted.
func (l *limiter) followDone(uid int, privileged bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if privileged {
		l.privFollows--
		return
	}
	l.follows--
	if l.followsPerUID[uid]--; l.followsPerUID[uid] <= 0 {
		delete(l.followsPerUID, uid)
	}
}

// counts are the connections and followed logs held now (privileged ones included).
func (l *limiter) counts() (conns, follows int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.total, l.follows + l.privFollows
}
