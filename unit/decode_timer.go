package unit

import (
	"strings"
	"time"

	"github.com/flint-init/flint/unit/calendar"
)

// TimerBase names what a timer value counts from: the directive that set it.
type TimerBase string

const (
	OnActive       TimerBase = "OnActiveSec"       // the timer's own activation
	OnBoot         TimerBase = "OnBootSec"         // boot (in a container: the manager's start)
	OnStartup      TimerBase = "OnStartupSec"      // the manager's start
	OnUnitActive   TimerBase = "OnUnitActiveSec"   // the triggered unit's last activation
	OnUnitInactive TimerBase = "OnUnitInactiveSec" // the triggered unit's last deactivation
	OnCalendar     TimerBase = "OnCalendar"        // a calendar event (wall clock)
)

// TimerValue is one OnXxxSec= or OnCalendar= line.
type TimerValue struct {
	Base     TimerBase
	Value    time.Duration  // the monotonic ones; DurationInfinity for "infinity"
	Calendar *calendar.Spec // OnCalendar=
}

// TimerSection is the [Timer] section (systemd.timer(5)).
type TimerSection struct {
	// Values in systemd's order: it prepends each line to its list, so the last line comes
	// first (what `systemctl show` lists as TimersMonotonic= and TimersCalendar=). An empty
	// assignment of any of them empties the list.
	Values []TimerValue

	OnClockChange, OnTimezoneChange bool
	Persistent, WakeSystem          bool
	RemainAfterElapse               bool // default true
	FixedRandomDelay                bool
	AccuracySec                     time.Duration // default 1min
	RandomizedDelaySec              time.Duration

	// Unit is Unit= as written (specifiers resolved); "" means the service of the timer's
	// name (TimerUnit).
	Unit string
}

// TimerUnit is the unit a timer starts: Unit= or the service of the same name.
func (u *Unit) TimerUnit() string {
	if u.Timer == nil {
		return ""
	}
	if u.Timer.Unit != "" {
		return u.Timer.Unit
	}
	return strings.TrimSuffix(u.Name, ".timer") + ".service"
}

// TriggerUnit is the unit a timer or a path unit starts ("" for other units).
func (u *Unit) TriggerUnit() string {
	if u.Timer != nil {
		return u.TimerUnit()
	}
	return u.PathUnit()
}

func registerTimer() {
	S := Supported
	t := func(d *decoder) *TimerSection { return d.u.Timer }
	for _, base := range []TimerBase{OnActive, OnBoot, OnStartup, OnUnitActive, OnUnitInactive, OnCalendar} {
		reg("Timer", string(base), S, func(d *decoder, e Entry, v string) {
			if v == "" {
				t(d).Values = nil
				return
			}
			x, ok := d.printf(e, v, false)
			if !ok {
				return
			}
			tv := TimerValue{Base: base}
			if base == OnCalendar {
				c, err := calendar.Parse(x)
				if err != nil {
					d.warn(e, "Failed to parse calendar specification, ignoring: %s", x)
					return
				}
				tv.Calendar = c
			} else {
				span, err := ParseTimespan(x)
				if err != nil {
					d.warn(e, "Failed to parse timer value, ignoring: %s", x)
					return
				}
				tv.Value = span
			}
			t(d).Values = append([]TimerValue{tv}, t(d).Values...)
		})
	}
	for name, get := range map[string]func(d *decoder) *bool{
		"OnClockChange":     func(d *decoder) *bool { return &t(d).OnClockChange },
		"OnTimezoneChange":  func(d *decoder) *bool { return &t(d).OnTimezoneChange },
		"Persistent":        func(d *decoder) *bool { return &t(d).Persistent },
		"WakeSystem":        func(d *decoder) *bool { return &t(d).WakeSystem },
		"RemainAfterElapse": func(d *decoder) *bool { return &t(d).RemainAfterElapse },
		"FixedRandomDelay":  func(d *decoder) *bool { return &t(d).FixedRandomDelay },
	} {
		reg("Timer", name, S, pBool(get))
	}
	reg("Timer", "AccuracySec", S, pSec(func(d *decoder) *time.Duration { return &t(d).AccuracySec }, false))
	reg("Timer", "RandomizedDelaySec", S, pSec(func(d *decoder) *time.Duration { return &t(d).RandomizedDelaySec }, false))
	reg("Timer", "Unit", S, pTriggerUnit(func(d *decoder) *string { return &t(d).Unit }))
}

// pTriggerUnit is config_parse_trigger_unit (Unit= of timers and path units): the first valid
// name wins; a template is resolved as in dependencies (resolveTemplate).
func pTriggerUnit(get func(d *decoder) *string) parseFunc {
	return func(d *decoder, e Entry, v string) {
		if *get(d) != "" {
			d.warn(e, "Multiple units to trigger specified, ignoring: %s", v)
			return
		}
		x, err := expandWith(d.expand, v)
		if err != nil {
			d.warn(e, "Failed to resolve unit specifiers in %s, ignoring: %s", v, specifierErr(err))
			return
		}
		if TypeOf(x) == "" {
			d.warn(e, "Unit type not valid, ignoring: %s", v)
			return
		}
		if x == d.u.Name || contains(d.u.Names, x) {
			d.warn(e, "Units cannot trigger themselves, ignoring: %s", v)
			return
		}
		if IsTemplate(x) {
			n, err := d.resolveTemplate(x)
			if err != nil {
				d.warn(e, "Failed to add trigger on %s, ignoring: Invalid argument", x)
				return
			}
			x = n
		}
		*get(d) = x
	}
}
