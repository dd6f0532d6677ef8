package manager

import "github.com/flint-init/flint/unit"

// targetMachine is a target's state machine, also that of the types flint takes as present
// without managing them (slice, scope, mount, swap, device): dead or active, nothing runs.
type targetMachine struct{ m *Manager }

func (t targetMachine) start(u *Unit) {
	u.result = resultSuccess
	u.invocationID = newInvocationID()
	switch u.cfg.Type {
	case unit.TypeTarget:
		t.m.consolef("[  OK  ] Reached target %s.", describe(u))
	case unit.TypeSlice:
		if !t.m.perpetual(u) {
			t.m.consolef("[  OK  ] Created slice %s.", describe(u))
		}
	}
	t.m.setState(u, targetActive)
}

func (t targetMachine) stop(u *Unit) {
	if u.sub == targetDead {
		t.m.jobCheck(u)
		return
	}
	if u.cfg.Type == unit.TypeSlice {
		t.m.consolef("[  OK  ] Removed slice %s.", describe(u))
	} else {
		t.m.consolef("[  OK  ] Stopped target %s.", describe(u))
	}
	t.m.setState(u, targetDead)
}

func (t targetMachine) reload(u *Unit)    { t.m.setState(u, u.sub) }
func (targetMachine) processGone(u *Unit) {}
