package manager

import (
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/show"
)

// Timer units (systemd.timer(5)), as systemd 252's src/core/timer.c: a timer is dead,
// waiting for its next elapse, running (it started its unit, which has not stopped yet),
// elapsed (nothing left to wait for; RemainAfterElapse=yes keeps it active) or failed.
//
// Monotonic values (OnActiveSec=, OnBootSec=, OnStartupSec=, OnUnitActiveSec=,
// OnUnitInactiveSec=) count on CLOCK_MONOTONIC and wait on a Go timer, which runs on that
// clock. Calendar values (OnCalendar=) wait on the manager's one CLOCK_REALTIME timerfd
// (wallclock.go), armed for the earliest of them, so that they elapse at the wall-clock time
// even across a suspend or a clock change; that timerfd also tells of clock changes
// (TFD_TIMER_CANCEL_ON_SET), after which every waiting timer is computed anew, as
// systemd's timer_time_change. A timer elapses at the computed time; systemd may defer it
// by up to AccuracySec= to coalesce wake-ups, which flint does not need to.

// timerRT is the runtime side of a timer unit.
type timerRT struct {
	lastTrigger     time.Time     // wall clock of the last trigger; zero: never (Persistent= reads the stamp)
	lastTriggerMono time.Duration // CLOCK_MONOTONIC of the last trigger; 0: not known
	// Per value of cfg.Timer.Values: its last computed elapse (shown in TimersMonotonic= and
	// TimersCalendar=) and whether it is spent (a one-time value that elapsed).
	nextMono []time.Duration
	nextCal  []time.Time
	disabled []bool
	// The armed elapses: 0 and the zero time when none.
	elapseMono time.Duration
	elapseReal time.Time
	monoTimer  stopper
	monoGen    int
	startLimit rateLimit
}

// fit sizes the per-value state for n values (a daemon-reload may change them).
func (t *timerRT) fit(n int) {
	if len(t.disabled) != n {
		t.nextMono, t.nextCal, t.disabled = make([]time.Duration, n), make([]time.Time, n), make([]bool, n)
	}
}

// nextElapse is the wall-clock time of the earlier of the armed elapses (zero: none).
func (t *timerRT) nextElapse() time.Time {
	next := t.elapseReal
	if t.elapseMono != 0 && t.elapseMono != unit.DurationInfinity {
		at := time.Now().Add(t.elapseMono - monoNow())
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return next
}

// monoNow is CLOCK_MONOTONIC now, as systemd's now(CLOCK_MONOTONIC).
func monoNow() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// monoEpoch pairs one reading of CLOCK_MONOTONIC with the time.Time read with it: monoOf
// converts every other time by its distance from that one (Go's own monotonic reading), so
// that two times keep their order and distance however late they are converted.
var monoEpoch = struct {
	t    time.Time
	mono time.Duration
}{time.Now(), monoNow()}

// monoOf is t on CLOCK_MONOTONIC (0 for the zero time).
func monoOf(t time.Time) time.Duration {
	if t.IsZero() {
		return 0
	}
	return monoEpoch.mono + t.Sub(monoEpoch.t)
}

// stampPath is the file whose modification time keeps a Persistent= timer's last trigger
// across restarts of the manager: systemd's /var/lib/systemd/timers/stamp-NAME, in flint's
// own state directory.
func (m *Manager) stampPath(u *Unit) string {
	return filepath.Join(m.stateDir(), "timers", "stamp-"+u.Name)
}

// stateDir is where flint keeps state across runs: $FLINT_STATE_DIR, else /var/lib/flint
// (system) or $XDG_DATA_HOME/flint, ~/.local/share/flint (user).
func (m *Manager) stateDir() string {
	if d := os.Getenv("FLINT_STATE_DIR"); d != "" {
		return d
	}
	if m.opt.Scope == unit.System {
		return "/var/lib/flint"
	}
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "flint")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "share", "flint")
}

// touchStamp creates the stamp file if needed and sets its modification time to at (now
// for the zero time), as systemd's touch_file.
func touchStamp(path string, at time.Time) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	f.Close()
	if at.IsZero() {
		at = time.Now()
	}
	return os.Chtimes(path, at, at)
}

// timerStart is timer_start: the unit to trigger must be loaded, the start limit holds,
// then the timer waits.
func (m timerMachine) timerStart(u *Unit) {
	t := u.mo().tmr
	if !triggerLoaded(m, u) {
		return
	}
	c := &u.cfg.Unit
	if !t.startLimit.below(c.StartLimitInterval, c.StartLimitBurst, m.sys().now()) {
		m.logUnit(u, "Start request repeated too quickly.")
		m.consolef("%s: Start request repeated too quickly.", u.Name)
		m.timerEnterDead(u, resultStartLimitHit)
		return
	}
	u.hist().invocationID = newInvocationID()
	t.fit(len(u.cfg.Timer.Values))
	t.lastTrigger, t.lastTriggerMono = time.Time{}, 0
	for i, v := range u.cfg.Timer.Values {
		if v.Base == unit.OnActive {
			t.disabled[i] = false
		}
	}
	if u.cfg.Timer.Persistent {
		p := m.stampPath(u)
		if st, err := os.Stat(p); err == nil {
			if mt := st.ModTime(); mt.Before(time.Now()) {
				t.lastTrigger = mt
			} else {
				m.logUnit(u, "Not using persistent file timestamp %s as it is in the future.", show.FormatTimestamp(mt))
			}
		} else if os.IsNotExist(err) {
			// The timer never ran: the stamp exists from now on.
			if err := touchStamp(p, time.Time{}); err != nil {
				m.logUnit(u, "Failed to create stamp file %s: %v", p, err)
			}
		}
	}
	u.result = resultSuccess
	m.timerEnterWaiting(u, false)
}

// timerStop is timer_stop.
func (m timerMachine) timerStop(u *Unit) { triggerStop(m, u, m.timerEnterDead) }

// timerSetState is timer_set_state: anything but waiting drops the armed elapses.
func (m timerMachine) timerSetState(u *Unit, sub subState) {
	t := u.mo().tmr
	if sub != timerWaiting {
		t.monoGen++
		if t.monoTimer != nil {
			t.monoTimer.Stop()
			t.monoTimer = nil
		}
		t.elapseMono, t.elapseReal = 0, time.Time{}
	}
	m.setState(u, sub)
	m.armWallClock()
}

// timerEnterDead is timer_enter_dead.
func (m timerMachine) timerEnterDead(u *Unit, result Result) {
	triggerEnterDead(m, u, result, m.timerSetState)
}

// timerEnterElapsed is timer_enter_elapsed: RemainAfterElapse=yes, or a value that counts
// from the unit's activity (which may come back), keeps the timer active.
func (m timerMachine) timerEnterElapsed(u *Unit, leaveAround bool) {
	if u.cfg.Timer.RemainAfterElapse || leaveAround {
		m.timerSetState(u, timerElapsed)
		return
	}
	m.timerEnterDead(u, resultSuccess)
}

// timerEnterWaiting is timer_enter_waiting: compute every value's next elapse and arm the
// earliest monotonic and the earliest calendar one. timeChange (the clock was set) keeps the
// one-time values that are already due.
func (m timerMachine) timerEnterWaiting(u *Unit, timeChange bool) {
	t, cfg := u.mo().tmr, u.cfg.Timer
	target := triggerTarget(m, u, m.timerEnterDead)
	if target == nil {
		return
	}
	t.fit(len(cfg.Values))
	nowMono, nowReal := m.sys().monoNow(), m.sys().now()
	foundMono, foundReal, leaveAround := false, false, false
	var elapseMono time.Duration
	var elapseReal time.Time
	for i, v := range cfg.Values {
		if t.disabled[i] {
			continue
		}
		if v.Base == unit.OnCalendar {
			// Counted from the last trigger if known, else from the timer's activation.
			base := nowReal
			switch {
			case !t.lastTrigger.IsZero():
				base = t.lastTrigger
			case !u.hs().inactiveExit.isZero():
				base = u.hs().inactiveExit.time()
			}
			next, ok := v.Calendar.NextIn(base, m.calendarZone())
			if !ok {
				continue
			}
			// What was due before the manager started (a Persistent= timer's missed run)
			// elapses at the manager's start, so that RandomizedDelaySec= still spreads it.
			if started := m.startTime(); next.Before(started) {
				next = started
			}
			t.nextCal[i] = next
			if !foundReal || next.Before(elapseReal) {
				elapseReal = next
			}
			foundReal = true
			continue
		}
		var base time.Duration
		switch v.Base {
		case unit.OnActive:
			if isActiveOrReloading(u.activeState()) {
				base = u.hs().inactiveExit.monotonic()
			} else {
				base = nowMono
			}
		case unit.OnBoot:
			// CLOCK_MONOTONIC counts from boot; in a container, from flint's start.
			if inContainer() {
				base = monoOf(m.startTime())
			}
		case unit.OnStartup:
			base = monoOf(m.startTime())
		case unit.OnUnitActive, unit.OnUnitInactive:
			leaveAround = true
			ts := target.hs().inactiveExit
			if v.Base == unit.OnUnitInactive {
				ts = target.hs().ex().inactiveEnter
			}
			base = max(ts.monotonic(), t.lastTriggerMono)
			if base <= 0 {
				continue
			}
		}
		next := base + v.Value
		if v.Value == unit.DurationInfinity || next < base {
			next = unit.DurationInfinity
		}
		t.nextMono[i] = next
		if !t.lastTrigger.IsZero() && !timeChange && next < nowMono &&
			(v.Base == unit.OnActive || v.Base == unit.OnBoot || v.Base == unit.OnStartup) {
			t.disabled[i] = true // a one-time value, spent
			continue
		}
		if !foundMono || next < elapseMono {
			elapseMono = next
		}
		foundMono = true
	}
	if !foundMono && !foundReal && !cfg.OnClockChange && !cfg.OnTimezoneChange {
		m.timerEnterElapsed(u, leaveAround)
		return
	}
	t.monoGen++
	if t.monoTimer != nil {
		t.monoTimer.Stop()
		t.monoTimer = nil
	}
	t.elapseMono, t.elapseReal = 0, time.Time{}
	if foundMono {
		elapseMono = addDelay(elapseMono, m.randomDelay(u))
		t.elapseMono = elapseMono
		if elapseMono != unit.DurationInfinity {
			gen := t.monoGen
			t.monoTimer = m.after(elapseMono-nowMono, func() {
				if t.monoGen == gen {
					m.timerElapsed(u)
				}
			})
		}
	}
	if foundReal {
		t.elapseReal = elapseReal.Add(m.randomDelay(u))
	}
	m.timerSetState(u, timerWaiting)
}

// addDelay adds d to the monotonic time at, staying below infinity.
func addDelay(at, d time.Duration) time.Duration {
	if at == unit.DurationInfinity {
		return at
	}
	if at+d < at {
		return unit.DurationInfinity - 1
	}
	return at + d
}

// randomDelay is RandomizedDelaySec=: a random time below it, or with FixedRandomDelay=yes
// one that stays the same for the unit on this machine, in this scope and for this user
// (systemd derives it from the same inputs with another hash, so the two differ).
func (m timerMachine) randomDelay(u *Unit) time.Duration {
	r := u.cfg.Timer.RandomizedDelaySec
	if r <= 0 || r == unit.DurationInfinity {
		return 0
	}
	if !u.cfg.Timer.FixedRandomDelay {
		return time.Duration(rand.Int64N(int64(r)))
	}
	h := fnv.New64a()
	id, _ := os.ReadFile("/etc/machine-id")
	h.Write(id)
	if m.scope() == unit.System {
		h.Write([]byte{1})
	} else {
		h.Write([]byte{0})
	}
	uid := os.Getuid()
	h.Write([]byte{byte(uid), byte(uid >> 8), byte(uid >> 16), byte(uid >> 24)})
	h.Write([]byte(u.Name))
	return time.Duration(h.Sum64() % uint64(r))
}

// timerElapsed is timer_dispatch.
func (m timerMachine) timerElapsed(u *Unit) {
	if u.mo().tmr == nil || u.sub != timerWaiting {
		return
	}
	m.timerEnterRunning(u)
}

// timerEnterRunning is timer_enter_running: start the unit (job mode replace), remember
// the trigger (and with Persistent= keep it in the stamp file).
func (m timerMachine) timerEnterRunning(u *Unit) {
	if u.job != nil && u.job.typ == "stop" {
		return // going down
	}
	t := u.mo().tmr
	target := triggerTarget(m, u, m.timerEnterDead)
	if target == nil {
		return
	}
	t.lastTrigger, t.lastTriggerMono = m.sys().now(), m.sys().monoNow()
	if u.cfg.Timer.Persistent {
		if err := touchStamp(m.stampPath(u), t.lastTrigger); err != nil {
			m.logUnit(u, "Failed to update stamp file: %v", err)
		}
	}
	triggerStart(m, u, target, []string{
		"TRIGGER_TIMER_REALTIME_USEC=" + strconv.FormatInt(t.lastTrigger.UnixMicro(), 10),
		"TRIGGER_TIMER_MONOTONIC_USEC=" + strconv.FormatInt(t.lastTriggerMono.Microseconds(), 10),
	}, "", m.timerSetState, m.timerEnterDead)
}

// timerTriggerNotify is timer_trigger_notify: the unit the timer starts changed state.
func (m timerMachine) timerTriggerNotify(u, target *Unit) {
	t := u.mo().tmr
	for i, v := range u.cfg.Timer.Values {
		if v.Base == unit.OnUnitActive || v.Base == unit.OnUnitInactive {
			if i < len(t.disabled) {
				t.disabled[i] = false
			}
		}
	}
	switch u.sub {
	case timerWaiting, timerElapsed:
		m.timerEnterWaiting(u, false)
	case timerRunning:
		if isInactiveOrFailed(target.activeState()) {
			m.timerEnterWaiting(u, false)
		}
	}
}

// The manager's side of the timers (not the machine's): the wall clock, the time zone and
// their changes, which it hands to every waiting timer's machine.

// timersTimeChanged is timer_time_change for every waiting timer: the clock was set.
func (m *Manager) timersTimeChanged() {
	tm := timerMachine{m}
	now := time.Now()
	for _, u := range m.timerUnits() {
		if u.sub != timerWaiting {
			continue
		}
		if u.mo().tmr.lastTrigger.After(now) {
			u.mo().tmr.lastTrigger = now // set backwards: the future triggers may happen again
		}
		if u.cfg.Timer.OnClockChange {
			m.logUnit(u, "Time change, triggering activation.")
			tm.timerEnterRunning(u)
		} else {
			tm.timerEnterWaiting(u, true)
		}
	}
}

// timezoneChanged is manager_dispatch_timezone_change: /etc/localtime changed (its
// modification time, as systemd looks at it), so the watch is made anew on the new file, the
// zone read again, and every waiting timer told (timer_timezone_change).
func (m *Manager) timezoneChanged() {
	if !m.tz.changed() {
		return
	}
	if err := m.tz.watch(m.post, m.timezoneChanged); err != nil {
		m.consolef("Failed to watch %s, time zone changes will not be seen: %v", localtimePath, err)
	}
	m.localZone = loadLocalZone()
	tm := timerMachine{m}
	for _, u := range m.timerUnits() {
		if u.sub != timerWaiting {
			continue
		}
		if u.cfg.Timer.OnTimezoneChange {
			m.logUnit(u, "Timezone change, triggering activation.")
			tm.timerEnterRunning(u)
		} else {
			tm.timerEnterWaiting(u, false)
		}
	}
}

// timersWallClockDue runs the calendar elapses that are due.
func (m *Manager) timersWallClockDue() {
	tm := timerMachine{m}
	now := time.Now()
	for _, u := range m.timerUnits() {
		if u.sub == timerWaiting && !u.mo().tmr.elapseReal.IsZero() && !u.mo().tmr.elapseReal.After(now) {
			tm.timerEnterRunning(u)
		}
	}
	m.armWallClock()
}

// timerUnits lists the loaded timer units, each once.
func (m *Manager) timerUnits() []*Unit {
	var out []*Unit
	for _, u := range m.order {
		if u.mo().tmr != nil && m.units[u.Name] == u {
			out = append(out, u)
		}
	}
	return out
}

// armWallClock arms the wall-clock timerfd for the earliest calendar elapse of the waiting
// timers; while any timer waits it stays armed (far ahead if need be) to learn of clock
// changes.
func (m *Manager) armWallClock() {
	var earliest time.Time
	waiting := false
	for _, u := range m.timerUnits() {
		if u.sub != timerWaiting {
			continue
		}
		waiting = true
		if e := u.mo().tmr.elapseReal; !e.IsZero() && (earliest.IsZero() || e.Before(earliest)) {
			earliest = e
		}
	}
	if !waiting {
		m.wall.disarm()
		return
	}
	if earliest.IsZero() {
		earliest = time.Now().AddDate(1, 0, 0)
	}
	if err := m.wall.arm(earliest, m.post, m.timersWallClockDue, m.timersTimeChanged); err != nil {
		m.consolef("Failed to arm the wall-clock timer: %v", err)
	}
}
