package manager

import "github.com/flint-init/flint/unit"

// What timers and path units share: a unit that starts another one (its Unit=).

// triggerLoaded is unit_test_trigger_loaded, at the start of timer or path unit u: the unit
// it starts must be loaded, else the start job fails.
func triggerLoaded(m host, u *Unit) bool {
	target := m.load(u.cfg.TriggerUnit())
	if target.loaded() {
		return true
	}
	m.logUnit(u, "Refusing to start, unit %s to trigger not loaded.", target.Name)
	m.consolef("%s: Refusing to start, unit %s to trigger not loaded.", u.Name, target.Name)
	if u.job != nil {
		m.finishJob(u.job, "failed")
	}
	return false
}

// triggerStop is timer_stop and path_stop.
func triggerStop(m host, u *Unit, enterDead func(*Unit, Result)) {
	if isInactiveOrFailed(u.activeState()) {
		m.jobCheck(u)
		return
	}
	enterDead(u, resultSuccess)
}

// triggerEnterDead is timer_enter_dead and path_enter_dead: dead, or failed with the first
// failure's result; set is the kind's state setter.
func triggerEnterDead(m host, u *Unit, result Result, set func(*Unit, subState)) {
	u.setResult(result)
	m.logUnitResult(u)
	if u.result == resultSuccess {
		set(u, deadState(u.cfg.Type))
		return
	}
	m.consolef("%s: Failed with result '%s'.", u.Name, u.result)
	set(u, failedState(u.cfg.Type))
}

// triggerTarget is the loaded unit u starts, or nil once u failed for want of it ("Unit to
// trigger vanished.": a daemon-reload took it away).
func triggerTarget(m host, u *Unit, enterDead func(*Unit, Result)) *Unit {
	target := m.lookup(u.cfg.TriggerUnit())
	if target == nil || !target.loaded() {
		m.logUnit(u, "Unit to trigger vanished.")
		enterDead(u, resultResources)
		return nil
	}
	return target
}

// triggerStart starts target for u (job mode replace), which is running first: the state
// changes the job brings find it so, as in systemd, where the job runs after this returns.
// env is what the started service learns (systemd's activation details: TRIGGER_UNIT= and
// the kind's own), kept from the start that activates it until it is inactive again; note
// says what triggered in the service's log.
func triggerStart(m host, u, target *Unit, env []string, note string, set func(*Unit, subState), enterDead func(*Unit, Result)) {
	if s := target.service(); s != nil {
		s.triggeredBy = u.Name
		if s.activationEnv == nil && isInactiveOrFailed(target.activeState()) {
			s.activationEnv = append([]string{"TRIGGER_UNIT=" + u.Name}, env...)
		}
	}
	m.logUnit(target, "Triggered by %s%s.", u.Name, note)
	set(u, triggerRunning(u))
	if err := m.enqueueErr("start", target, "replace", nil); err != nil {
		m.logUnit(u, "Failed to queue unit startup job: %v", err)
		m.consolef("%s: Failed to queue unit startup job: %v", u.Name, err)
		if s := target.svc; s != nil && isInactiveOrFailed(target.activeState()) {
			s.activationEnv = nil
		}
		enterDead(u, resultResources)
	}
}

// notifyTriggers tells the timers and path units that start u of its new state (systemd's
// unit_trigger_notify).
func (m *Manager) notifyTriggers(u *Unit) {
	for _, n := range u.cfg.TriggeredBy {
		t := m.units[n]
		if t == nil || t.mo().tmr == nil && t.mo().pth == nil {
			continue
		}
		if x := t.cfg.TriggerUnit(); x != u.Name && !contains(u.cfg.Names, x) {
			continue
		}
		if t.mo().tmr != nil {
			timerMachine{m}.timerTriggerNotify(t, u)
		} else {
			pathMachine{m}.pathTriggerNotify(t, u, false)
		}
	}
}

// triggerRunning is the running state of timer or path unit u.
func triggerRunning(u *Unit) subState {
	if u.cfg.Type == unit.TypeTimer {
		return timerRunning
	}
	return pathRunning
}
