package show

import (
	"github.com/flint-init/flint/unit"
	"slices"
	// pathOwnProperties is the order in which systemctl 252 prints a path unit's own
	// properties, before those of every unit (targetPropertyOrder).
)

var pathOwnProperties = []string{
	"Unit",
	"Paths",
	"MakeDirectory",
	"DirectoryMode",
	"Result",
	"TriggerLimitIntervalUSec",
	"TriggerLimitBurst",
}

func pathPropertyOrder() []string { return slices.Concat(pathOwnProperties, targetPropertyOrder) }

// pathProperties adds a path unit's configuration as systemctl shows it.
func pathProperties(p *propList, u *unit.Unit) {
	s := u.Path
	unitName := u.PathUnit()
	if len(u.Triggers) > 0 {
		unitName = u.Triggers[0] // the real name of an alias
	}
	p.add("Unit", unitName)
	for _, sp := range s.Specs {
		p.add("Paths", sp.Path+" ("+string(sp.Kind)+")")
	}
	p.bool("MakeDirectory", s.MakeDirectory)
	p.add("DirectoryMode", FormatMode(uint32(s.DirectoryMode)&0o7777))
	p.add("Result", "success")
	p.span("TriggerLimitIntervalUSec", s.TriggerLimitInterval)
	p.int("TriggerLimitBurst", s.TriggerLimitBurst)
	p.cooldown(s.TriggerLimitCooldown)
}
