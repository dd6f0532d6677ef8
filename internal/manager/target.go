package manager

import "github.com/flint-init/flint/unit"

// targetMachine is a target's state machine, also that of the types flint takes as present
// without managing them (slice, scope, mount, swap, device): dead or active, nothing runs.
type targetMachine struct{ host }

func (t targetMachine) start(u *Unit) {
	u.result = resultSuccess
	u.hist().invocationID = newInvocationID()
	switch u.cfg.Type {
	case unit.TypeTarget:
		t.consolef("[  OK  ] Reached target %s.", describe(u))
	case unit.TypeSlice:
		if !unit.IsPerpetualSlice(t.scope(), u.Name) {
			t.consolef("[  OK  ] Created slice %s.", describe(u))
		}
	}
	t.setState(u, targetActive)
}

func (t targetMachine) stop(u *Unit) {
	if u.sub == targetDead {
		t.jobCheck(u)
		return
	}
	if u.cfg.Type == unit.TypeSlice {
		t.consolef("[  OK  ] Removed slice %s.", describe(u))
	} else {
		t.consolef("[  OK  ] Stopped target %s.", describe(u))
	}
	t.setState(u, targetDead)
}

func (t targetMachine) reload(u *Unit)    { t.setState(u, u.sub) }
func (targetMachine) processGone(u *Unit) {}
