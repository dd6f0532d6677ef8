package manager

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/unit"
)

// set-property (systemd's SetUnitProperties on a unit that is not transient): the
// properties systemd lets one change on a loaded unit are its Description=, its Markers=
// and its cgroup resource settings. flint acts on Description= and on the resource settings
// it applies (cgroup.go: written into the unit's cgroup at once when it has one); it refuses
// the others (IPAddressDeny=, DeviceAllow=, ...) rather than pretend.
// Each property is written, as systemd writes it, to a drop-in 50-NAME.conf in the control
// directory (persistent, or with --runtime the runtime one), and applied to the loaded
// unit at once.

// dropInHeader begins every drop-in set-property writes (systemd's unit_write_setting).
const dropInHeader = "# This is a drop-in unit file extension, created via \"systemctl set-property\"\n# or an equivalent operation. Do not edit.\n"

// setProperty checks every assignment first (nothing changes unless all can be made), then
// writes and applies them.
func (m *Manager) setProperty(req *api.Request) error {
	if len(req.Units) != 1 || len(req.Env) == 0 {
		return &reqError{"bad-request", "set-property needs one unit and assignments."}
	}
	u := m.load(normalizeName(req.Units[0]))
	if u.cfg.LoadState == unit.NotFound && isInactiveOrFailed(u.activeState()) {
		return &reqError{"not-found", fmt.Sprintf("Unit %s not found.", u.Name)}
	}
	type prop struct{ name, value string }
	var props []prop
	for _, kv := range req.Env {
		name, value, ok := strings.Cut(kv, "=")
		switch {
		case !ok:
			return &reqError{"bad-request", fmt.Sprintf("Not an assignment: %s", kv)}
		case name == "Description" && strings.ContainsAny(value, "\n\r"):
			return &reqError{"bad-request", fmt.Sprintf("Invalid value for %s: a line break.", name)}
		case name == "Description":
		case slices.Contains(unit.CgroupContextDirectives, name):
			if err := checkResourceProperty(u, name, value); err != nil {
				return err // cgroup.go
			}
		default:
			return &reqError{"failed", fmt.Sprintf("Cannot set property %s, or unknown property.", name)}
		}
		props = append(props, prop{name, value})
	}
	lk := m.loader.Lookup()
	dir := lk.Control
	if req.Runtime {
		dir = lk.RuntimeControl
	}
	if dir == "" {
		return &reqError{"not-supported", "Cannot set properties at runtime: the unit search path (--units) has no runtime directory."}
	}
	cfg := copyExecConfig(u.cfg) // cgroup.go: the resource settings change in the copy
	cfg.OwnSources().DropInPaths = append([]string(nil), u.cfg.DropInPaths...)
	for _, p := range props {
		path := filepath.Join(dir, u.Name+".d", "50-"+p.name+".conf")
		section, value := "Unit", p.value
		if p.name != "Description" {
			section = applyResourceProperty(cfg, p.name, p.value)
		} else {
			// Description= is unit-file text: a '%' must not read as a specifier
			value = strings.ReplaceAll(p.value, "%", "%%")
		}
		body := dropInHeader + "[" + section + "]\n" + p.name + "=" + value + "\n"
		if err := writeFileAtomic(path, body); err != nil {
			return &reqError{"failed", fmt.Sprintf("Failed to write %s: %v", path, err)}
		}
		if p.name == "Description" {
			cfg.Unit.Description = p.value
		}
		if !slices.Contains(cfg.DropInPaths, path) {
			cfg.DropInPaths = append(cfg.DropInPaths, path)
			sort.SliceStable(cfg.DropInPaths, func(i, j int) bool {
				return filepath.Base(cfg.DropInPaths[i]) < filepath.Base(cfg.DropInPaths[j])
			})
		}
	}
	u.cfg = cfg
	m.cgroupReapply(u)
	// A unit loaded later (this one after garbage collection included) is read with the
	// new drop-ins, not from the loader's cache.
	m.loader.Reload()
	return nil
}

// writeFileAtomic writes path (and its directory) through a temporary file renamed over it.
func writeFileAtomic(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".flint-tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
