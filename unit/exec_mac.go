package unit

// The security labels of a unit's processes, each for one Linux security module:
// SELinuxContext=, AppArmorProfile= and SmackProcessLabel=. internal/sandbox applies them
// as systemd 252 does where the module is enabled, and skips them where it is not (as
// systemd does). The value keeps systemd's "-" prefix (failures ignored); the empty
// assignment unsets. They are kept in NotEnforcedValues too, which show prints.
var macLabels = map[string]func(c *ExecContext) *string{
	"SELinuxContext":    func(c *ExecContext) *string { return &c.SELinuxContext },
	"AppArmorProfile":   func(c *ExecContext) *string { return &c.AppArmorProfile },
	"SmackProcessLabel": func(c *ExecContext) *string { return &c.SmackProcessLabel },
}

// registerMAC registers the labels over registerNotEnforced's parsers, as Supported.
func registerMAC() {
	for name, get := range macLabels {
		regBoth(name, Supported, func(d *decoder, e Entry, v string) {
			if d.exec == nil {
				return
			}
			setValue(d.exec, e.Key, v)
			*get(d.exec) = v
		})
	}
}
