package manager

import (
	"time"

	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/show"
)

// The trigger-limit cooldown (X-Flint-TriggerLimitCooldownSec=, docs/compatibility.md): a
// socket or path unit that failed with trigger-limit-hit is started again once the cooldown
// has passed, as xinetd re-enables a service after its `cps` wait. systemd leaves the unit
// failed for good, which flint does too without the setting.
//
// A pending re-arm lives in Unit.cooldown from the moment the unit enters failed with that
// result until the re-arm's start job is queued, or until the unit's state is decided
// otherwise: the unit leaves the failed state (a start, reset-failed), a stop job runs on it,
// a daemon-reload takes the setting away, or the manager shuts down.

// cooldown is a pending re-arm.
type cooldown struct {
	failed time.Time     // when the unit failed with trigger-limit-hit
	due    time.Time     // failed plus the cooldown in effect
	timer  *time.Timer   // fires at due; nil once due has passed
	gen    int           // the timer generation: a stopped timer's late event is ignored
	delay  time.Duration // the cooldown it was timed with, for the log
	// waitsFor is the service of an Accept=no socket that still ran when the cooldown ended:
	// the socket re-arms once it has stopped.
	waitsFor string
}

// cooldownOf is u's X-Flint-TriggerLimitCooldownSec=, 0 when off or not a socket or path unit.
func cooldownOf(cfg *unit.Unit) time.Duration {
	switch {
	case cfg.Socket != nil:
		return cfg.Socket.TriggerLimitCooldown
	case cfg.Path != nil:
		return cfg.Path.TriggerLimitCooldown
	}
	return 0
}

// cooldownFollow is called at every state change of u: entering failed with result
// trigger-limit-hit starts the cooldown, leaving the failed state cancels it.
func (m *Manager) cooldownFollow(u *Unit) {
	if u.sock == nil && u.mo().pth == nil {
		return
	}
	switch {
	case u.activeState() != Failed:
		m.cooldownCancel(u, "")
	case u.mo().cooldown == nil && u.result == resultTriggerLimitHit && !m.shuttingDown:
		d := cooldownOf(u.cfg)
		if d <= 0 {
			return
		}
		now := time.Now()
		u.wmore().cooldown = &cooldown{failed: now}
		m.cooldownTime(u, d, now)
		m.logUnit(u, "Re-arming in %s (X-Flint-TriggerLimitCooldownSec=).", unit.FormatTimespan(d))
		m.consolef("%s: Trigger limit cooldown: re-arming in %s.", u.Name, unit.FormatTimespan(d))
	}
}

// cooldownTime (re)times u's pending re-arm for a cooldown of d from its failure.
func (m *Manager) cooldownTime(u *Unit, d time.Duration, now time.Time) {
	c := u.mo().cooldown
	if c.timer != nil {
		c.timer.Stop()
	}
	c.gen++
	c.delay, c.due, c.waitsFor = d, c.failed.Add(d), ""
	g := c.gen
	c.timer = time.AfterFunc(max(c.due.Sub(now), 0), func() {
		m.post(func() {
			if u.mo().cooldown == c && c.gen == g {
				c.timer = nil
				m.cooldownDue(u)
			}
		})
	})
}

// cooldownCancel drops u's pending re-arm, if any; why, when not empty, goes to u's log.
func (m *Manager) cooldownCancel(u *Unit, why string) {
	c := u.mo().cooldown
	if c == nil {
		return
	}
	c.gen++
	if c.timer != nil {
		c.timer.Stop()
	}
	u.wmore().cooldown = nil
	if why != "" {
		m.logUnit(u, "Not re-arming: %s.", why)
	}
	m.gcEnqueue(u) // a pending re-arm kept it (mayCollect)
}

// cooldownDue re-arms u if its cooldown is over: a start job, with a fresh trigger limit
// window. The service of an Accept=no socket that still runs (it holds the sockets, and
// the socket would refuse to start) is waited for: socketServiceStopped calls this again.
func (m *Manager) cooldownDue(u *Unit) {
	c := u.mo().cooldown
	if c == nil || c.timer != nil || m.units[u.Name] != u {
		return
	}
	if m.shuttingDown || m.objective != "" {
		m.cooldownCancel(u, "the manager is stopping")
		return
	}
	if u.activeState() != Failed || u.result != resultTriggerLimitHit {
		m.cooldownCancel(u, "")
		return
	}
	if u.job != nil {
		m.cooldownCancel(u, "a "+u.job.typ+" job decides")
		return
	}
	if u.sock != nil {
		if why := (socketMachine{m}).sockServiceBusy(u); why != "" {
			if svc := m.units[u.cfg.SocketService()]; svc != nil && svc.loaded() {
				if c.waitsFor == "" {
					m.logUnit(u, "Cooldown over; re-arming once %s has stopped.", svc.Name)
				}
				c.waitsFor = svc.Name
				return
			}
			m.cooldownCancel(u, why)
			return
		}
		u.sock.triggerLimit = rateLimit{}
	}
	if u.mo().pth != nil {
		u.mo().pth.triggerLimit = rateLimit{}
	}
	u.wmore().cooldown = nil
	m.logUnit(u, "Trigger limit cooldown of %s over, re-arming.", unit.FormatTimespan(c.delay))
	m.consolef("%s: Trigger limit cooldown over, re-arming.", u.Name)
	m.enqueue("start", u, "replace", nil)
}

// cooldownReload applies a daemon-reload to u's pending re-arm: timed anew from the failure
// with the new setting, cancelled when the setting is gone.
func (m *Manager) cooldownReload(u *Unit) {
	c := u.mo().cooldown
	if c == nil {
		return
	}
	d := cooldownOf(u.cfg)
	switch {
	case d <= 0:
		m.cooldownCancel(u, "X-Flint-TriggerLimitCooldownSec= is no longer set")
	case d != c.delay:
		m.cooldownTime(u, d, time.Now())
		m.logUnit(u, "Re-arming at %s (X-Flint-TriggerLimitCooldownSec=%s after the failure).",
			show.FormatTimestamp(c.due), unit.FormatTimespan(d))
	}
}
