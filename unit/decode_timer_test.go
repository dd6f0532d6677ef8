package unit

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// timerValues is a timer's values as "Base=value" strings, in Values' (systemd's) order.
func timerValues(s *TimerSection) []string {
	var out []string
	for _, v := range s.Values {
		if v.Base == OnCalendar {
			out = append(out, "OnCalendar="+v.Calendar.String())
		} else {
			out = append(out, string(v.Base)+"="+FormatTimespan(v.Value))
		}
	}
	return out
}

// wantDiagsInOrder checks that the diagnostics hold each of want (substrings of their
// lines) in that order; with want nil, that there are none.
func wantDiagsInOrder(t *testing.T, diags []Diagnostic, want []string) {
	t.Helper()
	got := msgs(diags)
	rest := got
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Errorf("diagnostics lack %q (in order):\n%s", w, got)
			return
		}
		rest = rest[i+len(w):]
	}
	if want == nil && got != "" {
		t.Errorf("unexpected diagnostics:\n%s", got)
	}
}

func TestDecodeTimerFields(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
		dropins []string
		values  []string // nil: not checked
		check   func(u *Unit) bool
		diags   []string // substrings of the diagnostics, in order; nil: none allowed
	}{
		{name: "defaults", content: "[Timer]\nOnActiveSec=5min\n", values: []string{"OnActiveSec=5min"},
			check: func(u *Unit) bool {
				s := u.Timer
				return s.AccuracySec == time.Minute && s.RemainAfterElapse && !s.Persistent && !s.WakeSystem &&
					!s.FixedRandomDelay && s.RandomizedDelaySec == 0 && s.Unit == "" && u.TimerUnit() == "foo.service" &&
					u.LoadState == Loaded
			}},
		// systemd prepends every value to its list: the last line comes first.
		{name: "order", content: "[Timer]\nOnActiveSec=1s\nOnBootSec=2s\nOnCalendar=daily\nOnStartupSec=3s\nOnUnitActiveSec=4s\nOnUnitInactiveSec=5s\n",
			values: []string{"OnUnitInactiveSec=5s", "OnUnitActiveSec=4s", "OnStartupSec=3s", "OnCalendar=*-*-* 00:00:00", "OnBootSec=2s", "OnActiveSec=1s"}},
		// An empty value of any of them empties the whole list, drop-ins included.
		{name: "reset", content: "[Timer]\nOnActiveSec=1s\nOnCalendar=hourly\n", dropins: []string{"[Timer]\nOnBootSec=\nOnUnitActiveSec=1h\n"},
			values: []string{"OnUnitActiveSec=1h"}},
		{name: "options", content: "[Timer]\nOnClockChange=yes\nOnTimezoneChange=true\nPersistent=1\nWakeSystem=on\nRemainAfterElapse=no\nFixedRandomDelay=yes\nAccuracySec=1us\nRandomizedDelaySec=3h\nUnit=bar.service\n",
			values: []string{}, check: func(u *Unit) bool {
				s := u.Timer
				return s.OnClockChange && s.OnTimezoneChange && s.Persistent && s.WakeSystem && !s.RemainAfterElapse &&
					s.FixedRandomDelay && s.AccuracySec == time.Microsecond && s.RandomizedDelaySec == 3*time.Hour &&
					u.TimerUnit() == "bar.service" && u.LoadState == Loaded // OnClockChange= alone is enough
			}},
		{name: "infinity-and-specifiers", content: "[Timer]\nOnActiveSec=infinity\nOnBootSec=%%\nOnCalendar=*-*-* %i:00\n",
			values: []string{"OnActiveSec=infinity"},
			diags:  []string{"foo.timer:3: warning: Failed to parse timer value, ignoring: %", "foo.timer:4: warning: Failed to parse calendar specification, ignoring: *-*-* inst:00"}},
		{name: "bad-values", content: "[Timer]\nOnActiveSec=5 parsecs\nOnCalendar=the day after tomorrow\nAccuracySec=soon\nPersistent=maybe\nOnUnitActiveSec=1h\n",
			values: []string{"OnUnitActiveSec=1h"},
			diags: []string{
				"foo.timer:2: warning: Failed to parse timer value, ignoring: 5 parsecs",
				"foo.timer:3: warning: Failed to parse calendar specification, ignoring: the day after tomorrow",
				"foo.timer:4: warning: Failed to parse sec value, ignoring: soon",
				"foo.timer:5: warning: Failed to parse boolean value, ignoring: maybe",
			}},
		// config_parse_trigger_unit: the first valid Unit= wins.
		{name: "unit", content: "[Timer]\nOnActiveSec=1s\nUnit=foo\nUnit=foo.timer\nUnit=%p-x.target\nUnit=baz.service\n",
			check: func(u *Unit) bool { return u.TimerUnit() == "foo-x.target" },
			diags: []string{
				"foo.timer:3: warning: Unit type not valid, ignoring: foo",
				"foo.timer:4: warning: Units cannot trigger themselves, ignoring: foo.timer",
				"foo.timer:6: warning: Multiple units to trigger specified, ignoring: baz.service",
			}},
		// A template names the instance of the timer's prefix (or instance).
		{name: "unit-template", content: "[Timer]\nOnActiveSec=1s\nUnit=bar@.service\n",
			check: func(u *Unit) bool { return u.TimerUnit() == "bar@foo.service" }},
		{name: "no-value", content: "[Timer]\nPersistent=yes\nOnActiveSec=\n",
			check: func(u *Unit) bool { return u.LoadState == BadSetting },
			diags: []string{"foo.timer: error: Timer unit lacks value setting. Refusing."}},
		{name: "other-sections", content: "[Timer]\nOnActiveSec=1s\n[Service]\nExecStart=/bin/true\n",
			diags: []string{"Unknown section 'Service'. Ignoring."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, diags := decodeText(t, "foo.timer", tc.content, tc.dropins...)
			if u.Timer == nil {
				t.Fatal("no [Timer] section")
			}
			if tc.values != nil && !slices.Equal(timerValues(u.Timer), tc.values) {
				t.Errorf("values %q, want %q", timerValues(u.Timer), tc.values)
			}
			if tc.check != nil && !tc.check(u) {
				t.Errorf("check failed: %+v (load state %s)", *u.Timer, u.LoadState)
			}
			wantDiagsInOrder(t, diags, tc.diags)
		})
	}
}

// TestTimerDependencies: a timer is Before= and Triggers= its unit, which is After= and
// TriggeredBy= it; default dependencies as systemd 252's timer_add_default_dependencies (the
// time targets only for calendar timers, sysinit.target only in the system scope).
func TestTimerDependencies(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"cal.timer":   "[Timer]\nOnCalendar=daily\n",
		"cal.service": "[Service]\nExecStart=/bin/true\n",
		"mono.timer":  "[Timer]\nOnBootSec=1h\nUnit=other.target\n",
		"nodef.timer": "[Unit]\nDefaultDependencies=no\n[Timer]\nOnCalendar=daily\nUnit=cal.service\n",
		"t@.timer":    "[Timer]\nOnActiveSec=%i\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, scope := range []Scope{System, User} {
		l := NewLoader(scope, []string{dir})
		cal := l.Load("cal.timer")
		sys := scope == System
		want := map[string][]string{
			"Before":   {"cal.service", "timers.target", "shutdown.target"},
			"Triggers": {"cal.service"},
		}
		if sys {
			want["Requires"] = []string{"sysinit.target"}
			want["After"] = []string{"sysinit.target", "time-sync.target", "time-set.target"}
		} else {
			want["After"] = nil
		}
		got := map[string][]string{"Before": cal.Unit.Before, "Triggers": cal.Triggers, "After": cal.Unit.After}
		if sys {
			got["Requires"] = cal.Unit.Requires
		}
		for k, w := range want {
			if !slices.Equal(got[k], w) {
				t.Errorf("%v cal.timer %s=%q, want %q", scope, k, got[k], w)
			}
		}
		mono := l.Load("mono.timer")
		if slices.Contains(mono.Unit.After, "time-sync.target") || !slices.Equal(mono.Triggers, []string{"other.target"}) {
			t.Errorf("%v mono.timer After=%q Triggers=%q", scope, mono.Unit.After, mono.Triggers)
		}
		nodef := l.Load("nodef.timer")
		if !slices.Equal(nodef.Unit.Before, []string{"cal.service"}) || len(nodef.Unit.After) != 0 || len(nodef.Unit.Conflicts) != 0 {
			t.Errorf("%v nodef.timer Before=%q After=%q Conflicts=%q", scope, nodef.Unit.Before, nodef.Unit.After, nodef.Unit.Conflicts)
		}
		svc := l.Load("cal.service")
		if !slices.Equal(svc.TriggeredBy, []string{"cal.timer", "nodef.timer"}) || !slices.Contains(svc.Unit.After, "cal.timer") {
			t.Errorf("%v cal.service TriggeredBy=%q After=%q", scope, svc.TriggeredBy, svc.Unit.After)
		}
		inst := l.Load("t@5s.timer")
		if inst.TimerUnit() != "t@5s.service" || !slices.Equal(timerValues(inst.Timer), []string{"OnActiveSec=5s"}) {
			t.Errorf("%v t@5s.timer: unit %s, values %q", scope, inst.TimerUnit(), timerValues(inst.Timer))
		}
	}
}
