package show

import (
	"slices"
	"strings"
	"time"

	"github.com/flint-init/flint/unit"
)

// timerOwnProperties is the order in which systemctl 252 prints a timer's own properties,
// before those of every unit (targetPropertyOrder).
var timerOwnProperties = []string{
	"Unit",
	"TimersMonotonic",
	"TimersCalendar",
	"OnClockChange",
	"OnTimezoneChange",
	"NextElapseUSecRealtime",
	"NextElapseUSecMonotonic",
	"LastTriggerUSec",
	"LastTriggerUSecMonotonic",
	"Result",
	"AccuracyUSec",
	"RandomizedDelayUSec",
	"FixedRandomDelay",
	"Persistent",
	"WakeSystem",
	"RemainAfterElapse",
}

func timerPropertyOrder() []string { return slices.Concat(timerOwnProperties, targetPropertyOrder) }

// timerProperties adds a timer's configuration as systemctl shows it for a timer that was
// never started; a manager replaces the elapse and trigger times with its own.
func timerProperties(p *propList, u *unit.Unit) {
	t := u.Timer
	unitName := u.TimerUnit()
	if len(u.Triggers) > 0 {
		unitName = u.Triggers[0] // the real name of an alias
	}
	p.add("Unit", unitName)
	for _, v := range t.Values {
		if v.Base == unit.OnCalendar {
			p.add("TimersCalendar", FormatTimerCalendar(v, time.Time{}))
		} else {
			p.add("TimersMonotonic", FormatTimerMonotonic(v, 0))
		}
	}
	p.bool("OnClockChange", t.OnClockChange)
	p.bool("OnTimezoneChange", t.OnTimezoneChange)
	p.add("NextElapseUSecRealtime", "")
	p.add("NextElapseUSecMonotonic", "infinity")
	p.add("LastTriggerUSec", "")
	p.add("LastTriggerUSecMonotonic", "0")
	p.add("Result", "success")
	p.span("AccuracyUSec", t.AccuracySec)
	p.span("RandomizedDelayUSec", t.RandomizedDelaySec)
	p.bool("FixedRandomDelay", t.FixedRandomDelay)
	p.bool("Persistent", t.Persistent)
	p.bool("WakeSystem", t.WakeSystem)
	p.bool("RemainAfterElapse", t.RemainAfterElapse)
}

// FormatTimerMonotonic is one TimersMonotonic= entry as systemctl prints it:
// "{ OnActiveUSec=5min ; next_elapse=0 }", next being the elapse on CLOCK_MONOTONIC (0 when
// the value is not armed).
func FormatTimerMonotonic(v unit.TimerValue, next time.Duration) string {
	name := strings.TrimSuffix(string(v.Base), "Sec") + "USec"
	return "{ " + name + "=" + unit.FormatTimespan(v.Value) + " ; next_elapse=" + unit.FormatTimespan(next) + " }"
}

// FormatTimerCalendar is one TimersCalendar= entry as systemctl prints it:
// "{ OnCalendar=*-*-* 00:00:00 ; next_elapse=Mon 2026-12-07 00:00:00 UTC }", with systemctl's
// "(null)" when the value is not armed.
func FormatTimerCalendar(v unit.TimerValue, next time.Time) string {
	at := "(null)"
	if !next.IsZero() {
		at = FormatTimestamp(next)
	}
	return "{ OnCalendar=" + v.Calendar.String() + " ; next_elapse=" + at + " }"
}

// TimestampLayout is systemctl's timestamp format ("Mon 2026-12-07 00:00:00 UTC"), as a
// time.Format layout.
const TimestampLayout = "Mon 2006-01-02 15:04:05 MST"

// FormatTimestamp formats t as systemctl does (local time); "" for the zero time.
func FormatTimestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Local().Format(TimestampLayout)
}
