package unit

import (
	"slices"
	"testing"
)

// TestBuiltinShutdownUnits: the targets and services of exit, poweroff, halt and reboot load
// as systemd 252 ships them (units/*.target, units/systemd-*.service), for a unit directory
// that lacks them.
func TestBuiltinShutdownUnits(t *testing.T) {
	l := NewLoader(System, []string{t.TempDir()})
	for _, tc := range []struct{ target, service, action string }{
		{"exit.target", "systemd-exit.service", "exit-force"},
		{"poweroff.target", "systemd-poweroff.service", "poweroff-force"},
		{"halt.target", "systemd-halt.service", "halt-force"},
		{"reboot.target", "systemd-reboot.service", "reboot-force"},
	} {
		t.Run(tc.target, func(t *testing.T) {
			tg := l.Builtin(tc.target)
			if tg == nil || tg.LoadState != Loaded || tg.Type != TypeTarget {
				t.Fatalf("%s: %+v", tc.target, tg)
			}
			c := tg.Unit
			if !c.AllowIsolate || c.RefuseManualStart || c.DefaultDependencies ||
				!slices.Equal(c.Requires, []string{tc.service}) || !slices.Equal(c.After, []string{tc.service}) ||
				len(c.Conflicts) > 0 || len(c.Before) > 0 {
				t.Errorf("%s: %+v", tc.target, c)
			}
			s := l.Builtin(tc.service)
			if s == nil || s.LoadState != Loaded || s.Service == nil {
				t.Fatalf("%s: %+v", tc.service, s)
			}
			for _, d := range s.Diagnostics {
				t.Errorf("%s: %s", tc.service, d)
			}
			sc := s.Unit
			deps := []string{"shutdown.target", "umount.target", "final.target"}
			if s.Service.Type != Oneshot || len(s.Service.ExecStart) > 0 || sc.DefaultDependencies ||
				sc.SuccessAction != tc.action || sc.FailureAction != "none" || sc.SuccessActionExitStatus != -1 ||
				!slices.Equal(sc.Requires, deps) || !slices.Equal(sc.After, deps) {
				t.Errorf("%s: type %s, %+v", tc.service, s.Service.Type, sc)
			}
		})
	}
	for _, n := range []string{"shutdown.target", "umount.target", "final.target"} {
		u := l.Builtin(n)
		if u == nil || !u.Unit.RefuseManualStart || len(u.Unit.Conflicts) > 0 || len(u.Unit.Before) > 0 {
			t.Errorf("%s: %+v", n, u)
		}
	}
	if f := l.Builtin("final.target"); !slices.Equal(f.Unit.After, []string{"shutdown.target", "umount.target"}) {
		t.Errorf("final.target After=%v", f.Unit.After)
	}
	if m := l.Builtin("multi-user.target"); !slices.Contains(m.Unit.Conflicts, "shutdown.target") || m.Unit.RefuseManualStart {
		t.Errorf("multi-user.target: %+v", m.Unit)
	}
	if l.Builtin("foo.service") != nil || l.Builtin("nope.target") != nil || NewLoader(User, nil).Builtin(TmpfilesSetupService) != nil {
		t.Error("Builtin of a non-standard unit is not nil")
	}
}

// TestBuiltinTmpfilesSetup: systemd-tmpfiles-setup.service, for a system whose unit
// directories lack it, is systemd 252's unit without a command: a oneshot that stays active,
// before sysinit.target, refusing manual stop.
func TestBuiltinTmpfilesSetup(t *testing.T) {
	u := NewLoader(System, []string{t.TempDir()}).Builtin(TmpfilesSetupService)
	if u == nil || u.LoadState != Loaded || u.Service == nil {
		t.Fatalf("%+v", u)
	}
	c, s := u.Unit, u.Service
	if s.Type != Oneshot || !s.RemainAfterExit || len(s.ExecStart) > 0 || c.DefaultDependencies || !c.RefuseManualStop ||
		c.Description != "Create System Files and Directories" ||
		!slices.Equal(c.Before, []string{"sysinit.target", "shutdown.target", "initrd-switch-root.target"}) ||
		!slices.Equal(c.Conflicts, []string{"shutdown.target", "initrd-switch-root.target"}) ||
		!slices.Contains(c.After, "local-fs.target") {
		t.Errorf("%+v %+v", c, s)
	}
}
