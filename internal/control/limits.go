package control

import (
	"context"
	"fmt"
	"sync"

	"github.com/flint-init/flint/api"
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
	turns         map[int]*turnstile // unprivileged uids with a request answered or waiting
}

func newLimiter(l Limits) *limiter {
	return &limiter{lim: l, perUID: map[int]int{}, followsPerUID: map[int]int{}, turns: map[int]*turnstile{}}
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

// MaxNamesUnprivileged bounds the unit names or patterns (and the property names, and the
// log identifiers) of one request of an unprivileged peer: each name costs the manager's
// loop a unit lookup and the reply some kilobytes, and a request line of api.MaxRequestSize
// holds some 100,000 of them. systemctl sends one D-Bus call per unit; root may name any
// number.
const MaxNamesUnprivileged = 1024

// MaxRequestUnprivileged bounds the request line of an unprivileged peer (root's may have
// api.MaxRequestSize): room for MaxNamesUnprivileged unit names of the longest length, while
// the 256 connections one uid may hold buffer at most 64 MiB of requests.
const MaxRequestUnprivileged = 256 << 10

// namesRefusal is the refusal of a request of an unprivileged peer that names more than
// MaxNamesUnprivileged of something, or nil.
func namesRefusal(req *api.Request) error {
	for _, l := range []struct {
		what string
		n    int
	}{{"unit names", len(req.Units)}, {"property names", len(req.Props)}, {"types", len(req.Types)}, {"states", len(req.States)},
		{"environment assignments", len(req.Env)}, {"identifiers", identifiers(req)}} {
		if l.n > MaxNamesUnprivileged {
			return &LimitError{fmt.Sprintf("Too many %s in one request: %d (limit %d for unprivileged users).", l.what, l.n, MaxNamesUnprivileged)}
		}
	}
	return nil
}

func identifiers(req *api.Request) int {
	if req.Match == nil {
		return 0
	}
	return len(req.Match.Identifiers)
}

// turn waits until a request of the unprivileged uid may be answered, or ctx ends (false).
// One request of a uid is answered at a time, the others of its connections wait in line:
// whatever one user asks, the manager's loop works for it on one request and holds one
// reply of its at a time, however many connections it has, and root's requests are served
// in between. release ends the turn; it may be called more than once.
func (l *limiter) turn(ctx context.Context, uid int) (release func(), ok bool) {
	l.mu.Lock()
	t := l.turns[uid]
	if t == nil {
		t = &turnstile{ch: make(chan struct{}, 1)}
		l.turns[uid] = t
	}
	t.refs++
	l.mu.Unlock()
	unref := func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if t.refs--; t.refs == 0 {
			delete(l.turns, uid)
		}
	}
	select {
	case t.ch <- struct{}{}:
	case <-ctx.Done():
		unref()
		return nil, false
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-t.ch
			unref()
		})
	}, true
}

// turnstile lets the requests of one uid through one at a time; refs counts those holding
// or waiting for it.
type turnstile struct {
	ch   chan struct{}
	refs int
}
