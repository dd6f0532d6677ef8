package install

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/flint-init/flint/unit"
)

// The file operations beyond enable/disable/mask (install.c's unit_file_reenable, _preset,
// _preset_all, _revert, _set_default, _get_default and _add_dependency), with systemctl's
// changes and messages.

// Reenable disables names and enables them again, as `systemctl reenable`: the symlinks are
// made anew from the [Install] sections as they are now.
func Reenable(l *unit.Loader, names []string, o Options) ([]Change, error) {
	return runInstaller(l, "reenable", o, func(in *installer) error {
		// install.c's normalize_linked_files: disable takes the names, enable the unit files
		// where they are (a linked unit file is linked again).
		var bases, files []string
		for _, n := range names {
			base := filepath.Base(n)
			bases = append(bases, base)
			file := n
			if !strings.Contains(n, "/") && !unit.IsInstance(n) {
				if info, err := in.discover(n); err == nil && !info.masked && !inAny(info.path, in.lk.Path...) {
					file = in.lk.Unrooted(info.path)
				}
			}
			files = append(files, file)
		}
		if err := in.disable(bases); err != nil {
			return err
		}
		// a name that does not exist fails in enable, with enable's message
		in.changes = dropChanges(in.changes, ChangeNotFound)
		return in.enable(files)
	})
}

func dropChanges(cs []Change, t ChangeType) []Change {
	out := cs[:0]
	for _, c := range cs {
		if c.Type != t {
			out = append(out, c)
		}
	}
	return out
}

// PresetMode is systemctl's --preset-mode=: full (default), enable-only, disable-only.
type PresetMode string

const (
	PresetFull        PresetMode = "full"
	PresetEnableOnly  PresetMode = "enable-only"
	PresetDisableOnly PresetMode = "disable-only"
)

// Preset enables or disables names as the presets ps say (LoadPresets), as `systemctl
// preset`: a unit the presets enable is enabled (a template with instances on its "enable"
// line: those instances), the others are disabled. Aliases are skipped.
func Preset(l *unit.Loader, ps *Presets, names []string, mode PresetMode, o Options) ([]Change, error) {
	return runInstaller(l, "preset", o, func(in *installer) error {
		p := &presetting{ps: ps}
		for _, n := range names {
			if err := in.presetPrepare(p, n); err != nil {
				return err
			}
		}
		return in.executePreset(p, mode)
	})
}

// presetting is one preset or preset-all: what to enable, what to disable, and the masked
// units the presets would enable (noted when the enabling is done).
type presetting struct {
	ps                 *Presets
	plus, minus, masks []string
}

// PresetAll applies the presets ps to every unit file of the search path, as `systemctl
// preset-all`: units that cannot be enabled (masked, missing, bad) are passed over.
func PresetAll(l *unit.Loader, ps *Presets, mode PresetMode, o Options) ([]Change, error) {
	return runInstaller(l, "preset", o, func(in *installer) error {
		p := &presetting{ps: ps}
		seen := map[string]bool{}
		for _, d := range in.lk.Path {
			ents, err := os.ReadDir(d)
			if err != nil {
				continue
			}
			for _, e := range ents {
				n := e.Name()
				if !unit.IsValidName(n) || !(e.Type().IsRegular() || e.Type()&os.ModeSymlink != 0) || seen[n] {
					continue
				}
				seen[n] = true
				if err := in.presetPrepare(p, n); err != nil {
					var ie *Error
					if !errors.As(err, &ie) {
						return err
					}
				}
			}
		}
		return in.executePreset(p, mode)
	})
}

// presetPrepare is install.c's preset_prepare_one: name goes to plus (enable: itself, or
// the instances of its "enable" line) or to minus (disable). A masked unit to enable is an
// error, which preset-all passes over.
func (in *installer) presetPrepare(p *presetting, name string) error {
	if slices.Contains(p.plus, name) || slices.Contains(p.minus, name) {
		return nil
	}
	info, err := in.discover(name)
	if err != nil {
		return err
	}
	if info.name != name {
		return nil // an alias: its unit decides
	}
	enable, instances := p.ps.query(name, true)
	switch {
	case !enable:
		p.minus = append(p.minus, name)
	case info.masked:
		err := in.maskedError(info.path)
		err.Reported = true
		in.changes = append(in.changes, Change{Type: ChangeFailed, Source: err.Msg, Op: in.op, Server: err.Server})
		p.masks = append(p.masks, info.path)
		return err
	case len(instances) > 0:
		p.plus = append(p.plus, instances...)
	default:
		p.plus = append(p.plus, name)
	}
	return nil
}

// executePreset removes the symlinks of minus (unless enable-only), then creates those of
// plus (unless disable-only), whose Also= failures are passed over.
func (in *installer) executePreset(p *presetting, mode PresetMode) error {
	if mode != PresetEnableOnly && len(p.minus) > 0 {
		if err := in.disable(p.minus); err != nil {
			return err
		}
	}
	if mode == PresetDisableOnly {
		return nil
	}
	for _, m := range p.masks {
		in.add(ChangeIsMasked, m, "")
	}
	if len(p.plus) == 0 {
		return nil
	}
	err := in.enable(p.plus)
	in.changes = dropChanges(in.changes, ChangeAuxiliaryFailed)
	if errors.Is(err, ErrNoInstallInfo) {
		return nil
	}
	return err
}

// Revert puts units back into their vendor state, as `systemctl revert`: the drop-in
// directories of names in the configuration, runtime and control directories are removed,
// and, where a vendor unit file exists, the unit files and links that override it there;
// then the symlinks that pointed to what was removed. Vendor directories are those under /usr
// (and Debian's /lib) of systemd's path; on a --units path, every directory that is not the
// configuration directory.
func Revert(l *unit.Loader, names []string) ([]Change, error) {
	return runInstaller(l, "revert", Options{}, func(in *installer) error {
		lk := &in.lk
		var todo []string
		add := func(p string) {
			if !slices.Contains(todo, p) {
				todo = append(todo, p)
			}
		}
		for _, n := range names {
			if !unit.IsValidName(n) {
				return &Error{Msg: fmt.Sprintf("Failed to revert unit, \"%s\" is not a valid unit name.", n),
					Server: fmt.Sprintf("\"%s\" is not a valid unit name.", n)}
			}
			vendor := false
			for _, d := range in.lk.Path {
				p := filepath.Join(d, n)
				if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() && in.isVendorDir(d) {
					vendor = true
				}
				if fi, err := os.Lstat(p + ".d"); err == nil && fi.IsDir() && (isConfigDir(lk, d) || isControlDir(lk, d) || in.isTransientDir(d)) {
					add(p + ".d")
				}
			}
			if !vendor {
				continue
			}
			for _, d := range in.lk.Path {
				p := filepath.Join(d, n)
				if fi, err := os.Lstat(p); err == nil && (fi.Mode().IsRegular() || fi.Mode()&os.ModeSymlink != 0) && isConfigDir(lk, d) {
					add(p)
				}
			}
		}
		mark := map[string]bool{}
		var firstErr error
		for _, p := range todo {
			var inside []string
			if ents, err := os.ReadDir(p); err == nil {
				for _, e := range ents {
					inside = append(inside, filepath.Join(p, e.Name()))
				}
			}
			if err := os.RemoveAll(p); err != nil {
				if firstErr == nil {
					firstErr = &Error{Msg: fmt.Sprintf("Failed to revert unit: %v", err)}
				}
				continue
			}
			for _, f := range inside {
				in.add(ChangeUnlink, f, "")
			}
			in.add(ChangeUnlink, p, "")
			mark[p] = true
		}
		if len(mark) > 0 {
			for _, dir := range []string{lk.Runtime, lk.Config} {
				if dir == "" {
					continue
				}
				in.config = dir
				if err := in.removeMarked(mark); err != nil && firstErr == nil {
					firstErr = err
				}
			}
		}
		return firstErr
	})
}

// isConfigDir reports whether d is one of the directories the user's configuration is
// written to (persistent or runtime), as install.c's path_is_config.
func isConfigDir(lk *unit.Lookup, d string) bool {
	return d != "" && (d == lk.Config || d == lk.Runtime)
}

// isControlDir reports whether d is one of set-property's directories.
func isControlDir(lk *unit.Lookup, d string) bool {
	return d != "" && (d == lk.Control || d == lk.RuntimeControl)
}

// isVendorDir reports whether d holds vendor unit files (install.c's
// path_is_vendor_or_generator): under /usr or /lib, or a generator's directory; on a
// --units path, any directory but the configuration directory.
func (in *installer) isVendorDir(d string) bool {
	if in.lk.Explicit {
		return !isConfigDir(&in.lk, d) && !isControlDir(&in.lk, d)
	}
	r := in.lk.Unrooted(d)
	for _, v := range []string{"/usr", "/lib", "/run/systemd/generator", "/run/systemd/generator.early", "/run/systemd/generator.late"} {
		if r == v || strings.HasPrefix(r, v+"/") {
			return true
		}
	}
	return false
}

// isTransientDir reports whether d is the directory of transient units.
func (in *installer) isTransientDir(d string) bool {
	r := in.lk.Unrooted(d)
	return !in.lk.Explicit && (r == "/run/systemd/transient" || in.lk.Scope == unit.User && strings.HasSuffix(r, "/systemd/transient"))
}

// ErrMasked: the unit is masked (get-default of a masked default.target).
var ErrMasked = errors.New("unit is masked")

// ErrNotTarget: set-default of a unit that is not a target (or of default.target itself).
var ErrNotTarget = errors.New("Invalid argument")

// SetDefault makes name the default target: <config>/default.target links to its unit file,
// replacing what was there, as `systemctl set-default`.
func SetDefault(l *unit.Loader, name string) ([]Change, error) {
	return runInstaller(l, "set default", Options{Force: true}, func(in *installer) error {
		if unit.TypeOf(name) != unit.TypeTarget || name == "default.target" {
			return &Error{Msg: "Failed to set default: Invalid argument.", Server: "Invalid argument", Err: ErrNotTarget}
		}
		info, err := in.discoverUnmasked(name)
		if err != nil {
			return err
		}
		return in.createSymlink(info.path, filepath.Join(in.config, "default.target"), true)
	})
}

// GetDefault returns the default target: the unit default.target is an alias of, as
// `systemctl get-default`.
func GetDefault(l *unit.Loader) (string, error) {
	in := newInstaller(l, "get default")
	info, err := in.discover("default.target")
	if err != nil {
		return "", err
	}
	if info.masked {
		return "", &Error{Msg: "Operation not possible due to RF-kill", Server: "Unit file is masked.", Err: ErrMasked}
	}
	return info.name, nil
}

// AddDependency makes target want (or with requires, require) names through symlinks in
// <config>/<target>.wants/ (.requires/), as `systemctl add-wants` and `add-requires`.
func AddDependency(l *unit.Loader, target string, names []string, requires bool, o Options) ([]Change, error) {
	return runInstaller(l, "add dependency on", o, func(in *installer) error {
		if !unit.IsValidName(target) {
			return &Error{Msg: fmt.Sprintf("Failed to add dependency on unit, \"%s\" is not a valid unit name.", target),
				Server: fmt.Sprintf("\"%s\" is not a valid unit name.", target)}
		}
		tinfo, err := in.discoverUnmasked(target)
		if errors.Is(err, ErrNotFound) && in.lk.Explicit && unit.IsStandardTarget(target) {
			// a standard target flint provides built in on a --units path
			tinfo, err = &installInfo{name: target}, nil
		}
		if err != nil {
			return err
		}
		var infos []*installInfo
		for _, n := range names {
			info, err := in.discoverUnmasked(n)
			if err != nil {
				return err
			}
			// only the new dependency is installed, not the unit's own [Install] rules
			dep := &installInfo{name: info.name, path: info.path}
			if requires {
				dep.reqBy = []string{tinfo.name}
			} else {
				dep.wantedBy = []string{tinfo.name}
			}
			infos = append(infos, dep)
		}
		for _, info := range infos {
			if _, err := in.apply(info); err != nil {
				return err
			}
		}
		return nil
	})
}

// maskedError is the failure of an operation on a masked unit (install.c's -ERFKILL).
func (in *installer) maskedError(path string) *Error {
	return &Error{Msg: fmt.Sprintf("Failed to %s unit, unit %s is masked.", in.op, path),
		Server: fmt.Sprintf("Unit file %s is masked.", path)}
}

// discoverUnmasked is install.c's install_info_discover_and_check: discover, and a masked
// unit is an error.
func (in *installer) discoverUnmasked(name string) (*installInfo, error) {
	info, err := in.discover(name)
	if err == nil && info.masked {
		return nil, in.maskedError(info.path)
	}
	return info, err
}
