package journal

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// StreamLimits bound the stream connections (systemd-cat, services' stdout handed to
// journald) the server holds: each is an fd and a goroutine of the manager's, which must
// keep fds for root's control requests, the socket units and starting services whatever a
// user does.
type StreamLimits struct {
	// Total caps all streams (journald's STDOUT_STREAMS_MAX, 4096, where the fd limit
	// allows).
	Total int
	// Reserved of Total are for root's (and the manager's uid's) streams only.
	Reserved int
	// PerUID caps the streams of one other uid.
	PerUID int
}

// DefaultStreamLimits derive the limits from the manager's fd limit nofile as the control
// socket's are (control.DefaultLimits): a quarter of it, at most 4096; a quarter of those
// for root; a quarter of those for one other uid.
func DefaultStreamLimits(nofile uint64) StreamLimits {
	total := max(int(min(nofile/4, MaxStreams)), 16)
	return StreamLimits{Total: total, Reserved: total / 4, PerUID: max(total/4, 1)}
}

// nofileLimit is the process's soft RLIMIT_NOFILE (1024 when it cannot be read).
func nofileLimit() uint64 {
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) != nil {
		return 1024
	}
	return rl.Cur
}

// streamCount counts the streams held, in all and per unprivileged uid; s.mu guards it.
type streamCount struct {
	lim    StreamLimits
	owner  int
	open   int // unprivileged streams
	perUID map[int]int
}

// privileged: root and the manager's own uid.
func (c *streamCount) privileged(uid int) bool { return uid == 0 || uid == c.owner }

// admit counts a new stream of uid (total: those held now), or says which limit refuses it
// (journald's words: "Too many stdout streams, refusing connection.").
func (c *streamCount) admit(uid, total int) (refusal string) {
	if total >= c.lim.Total {
		return fmt.Sprintf("Too many stdout streams (limit %d), refusing connection.", c.lim.Total)
	}
	if c.privileged(uid) {
		return ""
	}
	if c.perUID[uid] >= c.lim.PerUID {
		return fmt.Sprintf("Too many stdout streams of uid %d (limit %d per user), refusing connection.", uid, c.lim.PerUID)
	}
	if c.open >= c.lim.Total-c.lim.Reserved {
		return fmt.Sprintf("Too many stdout streams of unprivileged users (limit %d; %d more are kept for root), refusing connection.",
			c.lim.Total-c.lim.Reserved, c.lim.Reserved)
	}
	c.open++
	c.perUID[uid]++
	return ""
}

// done releases what admit counted.
func (c *streamCount) done(uid int) {
	if c.privileged(uid) {
		return
	}
	c.open--
	if c.perUID[uid]--; c.perUID[uid] <= 0 {
		delete(c.perUID, uid)
	}
}

func newStreamCount(lim StreamLimits) streamCount {
	return streamCount{lim: lim, owner: os.Getuid(), perUID: map[int]int{}}
}
