package unit

import (
	"sort"
	"strings"
	"time"
)

// flint's own directives. They are X-Flint-* keys in systemd's sections: systemd 252 skips
// every key and section whose name starts with "X-" without a word (systemd-analyze verify
// included), so a unit file that uses them still loads unchanged under systemd. flint decodes
// them like its other directives; an X-Flint- key it does not know gets a warning (a typo
// would otherwise go unnoticed), other X- keys are kept in Unit.Extra.

// FlintKeyPrefix starts the name of every flint directive.
const FlintKeyPrefix = "X-Flint-"

// FlintDirectiveInfo describes one flint directive for documentation.
type FlintDirectiveInfo struct {
	Section string // "Socket"
	Name    string // "X-Flint-TriggerLimitCooldownSec"
	Default string // what not setting it means
	Doc     string // what it does, one paragraph of Markdown
}

type flintDirective struct {
	info  FlintDirectiveInfo
	parse parseFunc
}

// flintTable holds the flint directives: section -> name -> directive. Built with the
// systemd directive table (directives()).
var flintTable = map[string]map[string]*flintDirective{}

func regFlint(info FlintDirectiveInfo, p parseFunc) {
	m := flintTable[info.Section]
	if m == nil {
		m = map[string]*flintDirective{}
		flintTable[info.Section] = m
	}
	m[info.Name] = &flintDirective{info: info, parse: p}
}

// FlintDirectives returns flint's own directives, sorted by section and name.
func FlintDirectives() []FlintDirectiveInfo {
	directives()
	var out []FlintDirectiveInfo
	for _, m := range flintTable {
		for _, d := range m {
			out = append(out, d.info)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Section != out[j].Section {
			return sectionOrder[out[i].Section] < sectionOrder[out[j].Section]
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// applyFlint decodes an X-Flint- key of section; it reports false for a key flint does not
// know there, which the caller keeps as an X- key (with a warning).
func (d *decoder) applyFlint(section string, e Entry) bool {
	dir, ok := flintTable[section][e.Key]
	if !ok {
		return false
	}
	dir.parse(d, e, e.Value)
	return true
}

// cooldownDoc is the documentation of X-Flint-TriggerLimitCooldownSec=, shared by [Socket]
// and [Path].
const cooldownDoc = `When the unit fails with result trigger-limit-hit (more than TriggerLimitBurst= triggers within
TriggerLimitIntervalSec=), flint starts it again once this time span has passed, as xinetd
re-enables a service after ` + "`cps = RATE WAIT`" + `. Until then the unit fails exactly as in
systemd (ExecStopPre=/ExecStopPost= run, OnFailure= units start); then a start job brings it
back (ExecStartPre=, the sockets bound or the paths watched again) with a fresh trigger limit
window, and it fails and cools down again if the flood goes on.
Only trigger-limit-hit is re-armed: a socket failed by its service's start limit
(service-start-limit-hit; unit-start-limit-hit for a path unit) or by anything else stays
failed, as in systemd. Whatever decides the unit's state meanwhile cancels the re-arm: a start
(the unit starts at once; as in systemd, a start by hand keeps the trigger limit window), a
stop (it stays down), reset-failed (it becomes inactive and stays so). daemon-reload keeps a
pending re-arm and times it from the failure with the new value; removing the setting
cancels it. If the cooldown ends while the service of an Accept=no socket still runs (it
holds the listening sockets), the socket re-arms once that service has stopped. A re-arm does
not count against the unit's StartLimitBurst= and leaves the service's start limit as it is.
` + "`flint show`" + ` lists the setting as FlintTriggerLimitCooldownUSec= and, while a re-arm is
pending, FlintTriggerLimitRearmTimestamp= (and FlintTriggerLimitRearmWaitsFor= while it waits
for the service); ` + "`flint status`" + ` says "failed (Result: trigger-limit-hit, re-arming in
25s)". The value is a time span as for TriggerLimitIntervalSec=; 0, "infinity" and the empty
value turn it off.`

func registerFlint() {
	for _, sec := range []string{"Socket", "Path"} {
		get := func(d *decoder) *time.Duration { return &d.u.Socket.TriggerLimitCooldown }
		if sec == "Path" {
			get = func(d *decoder) *time.Duration { return &d.u.Path.TriggerLimitCooldown }
		}
		regFlint(FlintDirectiveInfo{Section: sec, Name: FlintKeyPrefix + "TriggerLimitCooldownSec",
			Default: "off: the unit stays failed, as in systemd", Doc: cooldownDoc}, pCooldown(get))
	}
}

// pCooldown parses X-Flint-TriggerLimitCooldownSec=: a time span; 0, infinity and the empty
// value mean off (stored as 0).
func pCooldown(get func(d *decoder) *time.Duration) parseFunc {
	return func(d *decoder, e Entry, v string) {
		if strings.TrimSpace(v) == "" {
			*get(d) = 0
			return
		}
		t, err := ParseTimespan(v)
		if err != nil {
			d.warn(e, "Failed to parse sec value, ignoring: %s", v)
			return
		}
		if t == DurationInfinity {
			t = 0
		}
		*get(d) = t
	}
}
