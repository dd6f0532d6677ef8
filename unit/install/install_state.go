package install

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/flint-init/flint/unit"
)

// Unit file states reported by IsEnabled (systemctl is-enabled).
const (
	StateEnabled        = "enabled"
	StateEnabledRuntime = "enabled-runtime"
	StateLinked         = "linked"
	StateLinkedRuntime  = "linked-runtime"
	StateAlias          = "alias"
	StateMasked         = "masked"
	StateMaskedRuntime  = "masked-runtime"
	StateStatic         = "static"
	StateIndirect       = "indirect"
	StateDisabled       = "disabled"
	StateGenerated      = "generated"
	StateTransient      = "transient"
	StateBad            = "bad"
)

// EnabledExitOK reports whether systemctl is-enabled exits 0 for state: enabled,
// enabled-runtime, static, alias, indirect and generated do.
func EnabledExitOK(state string) bool {
	switch state {
	case StateEnabled, StateEnabledRuntime, StateStatic, StateAlias, StateIndirect, StateGenerated:
		return true
	}
	return false
}

// IsEnabled returns the unit file state of name as `systemctl is-enabled` (systemd 252's
// unit_file_lookup_state). A unit that does not exist is an error wrapping ErrNotFound whose
// message is systemctl's ("Failed to get unit file state for foo.service: No such file or
// directory"). A unit file that cannot be read or parsed (a directory, a FIFO, a symlink
// loop, a syntax error) gives StateBad, what list-unit-files and UnitFileState show, with
// an error saying why, what is-enabled prints ("Failed to get unit file state for
// foo.service: Is a directory", after the line of a syntax error).
func IsEnabled(l *unit.Loader, name string) (string, error) {
	in := newInstaller(l, "get state of")
	info, err := in.discover(name)
	if err != nil {
		var ie *Error
		if errors.As(err, &ie) && errors.Is(ie.Err, ErrNotFound) {
			return "", &Error{Msg: fmt.Sprintf("Failed to get unit file state for %s: No such file or directory", name), Err: ErrNotFound}
		}
		if strings.Contains(err.Error(), "not a valid unit name") {
			return "", err
		}
		cause := error(err)
		if ie != nil && ie.Err != nil {
			cause = ie.Err
		}
		msg := fmt.Sprintf("Failed to get unit file state for %s: %s", name, unit.Printable(unit.Strerror(cause)))
		var d unit.Diagnostic
		if errors.As(cause, &d) && d.Line > 0 && d.Errno != syscall.ENOBUFS {
			// systemd logs the line that failed first (not a line too long: that one
			// it does not log)
			msg = fmt.Sprintf("%s:%d: %s\n%s", unit.Printable(d.File), d.Line, d.Msg, msg)
		}
		return StateBad, &Error{Msg: msg, Err: cause}
	}
	if info.masked {
		if in.isRuntime(info.path) {
			return StateMaskedRuntime, nil
		}
		return StateMasked, nil
	}
	if name != filepath.Base(info.path) && !unit.IsInstance(info.name) {
		return StateAlias, nil
	}
	if !in.lk.Explicit && l.Scope() == unit.System {
		p := in.lk.Unrooted(info.path)
		if inAny(p, "/run/systemd/generator", "/run/systemd/generator.early", "/run/systemd/generator.late") {
			return StateGenerated, nil
		}
		if inAny(p, "/run/systemd/transient") {
			return StateTransient, nil
		}
	}
	if st, ok := in.findSymlinksInScope(info, true); ok {
		return st, nil
	}
	if _, ok := in.findSymlinksInScope(info, false); ok {
		return StateIndirect, nil
	}
	switch {
	case info.hasRules():
		return StateDisabled, nil
	case len(info.also) > 0:
		return StateIndirect, nil
	}
	return StateStatic, nil
}

func inAny(p string, dirs ...string) bool {
	for _, d := range dirs {
		if strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// isRuntime reports whether p is under a runtime (/run) directory of the search path.
func (in *installer) isRuntime(p string) bool {
	for _, d := range in.lk.Path {
		if in.isRuntimeDir(d) && strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

func (in *installer) isRuntimeDir(d string) bool {
	if in.lk.Explicit {
		return false
	}
	if d = in.lk.Unrooted(d); strings.HasPrefix(d, "/run/") {
		return true
	}
	rt := os.Getenv("XDG_RUNTIME_DIR")
	return rt != "" && strings.HasPrefix(d, rt+"/")
}

// knownName is is_symlink_with_known_name: the unit's name, an Alias=, or the
// DefaultInstance= instance of a template.
func (info *installInfo) knownName(n string) bool {
	if n == info.name {
		return true
	}
	for _, a := range info.aliases {
		if a == n {
			return true
		}
	}
	if info.defInst != "" && unit.IsTemplate(info.name) {
		if s, err := unit.Instantiate(info.name, info.defInst); err == nil && s == n {
			return true
		}
	}
	return false
}

// findSymlinksInScope is find_symlinks_in_scope: look through every directory of the
// search path for symlinks that enable info (in .wants/ and .requires/ directories, then at
// top level), and say where it is enabled.
func (in *installer) findSymlinksInScope(info *installInfo, matchAliases bool) (string, bool) {
	sameConfig, sameRuntime := false, false
	enabledRuntime, enabledAtAll := false, false
	ignoreSame := false
	for _, d := range in.lk.Path {
		found, same := in.findSymlinks(info, d, matchAliases, ignoreSame)
		if found {
			if d == in.config {
				return StateEnabled, true
			}
			if in.isRuntimeDir(d) {
				enabledRuntime = true
			} else {
				enabledAtAll = true
			}
		} else if same {
			if d == in.config {
				sameConfig = true
			} else if in.isRuntimeDir(d) {
				sameRuntime = true
			}
		}
		if !ignoreSame && strings.HasPrefix(info.path, d+"/") {
			ignoreSame = true
		}
	}
	switch {
	case enabledRuntime:
		return StateEnabledRuntime, true
	case enabledAtAll && unit.IsInstance(info.name):
		return StateStatic, true
	case sameConfig:
		return StateLinked, true
	case sameRuntime:
		return StateLinkedRuntime, true
	}
	return "", false
}

// findSymlinks scans dir/*.wants, dir/*.requires and then dir itself.
func (in *installer) findSymlinks(info *installInfo, dir string, matchAliases, ignoreSame bool) (found, same bool) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false, false
	}
	for _, e := range ents {
		if !e.IsDir() || !(strings.HasSuffix(e.Name(), ".wants") || strings.HasSuffix(e.Name(), ".requires")) {
			continue
		}
		if f, s := in.findInDir(info, filepath.Join(dir, e.Name()), dir, true, matchAliases, ignoreSame); f {
			return true, same || s
		} else if s {
			same = true
		}
	}
	f, s := in.findInDir(info, dir, dir, false, matchAliases, ignoreSame)
	return f, same || s
}

// findInDir looks at the symlinks of one directory. In .wants/.requires directories
// (ignoreDest) only the link's name counts: the unit's name, or an instance of the template
// info is; at top level a link also counts when it points to a file named like the unit
// (an alias). Both rules were checked against systemctl 252.
func (in *installer) findInDir(info *installInfo, dir, configPath string, ignoreDest, matchAliases, ignoreSame bool) (found, same bool) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false, false
	}
	for _, e := range ents {
		if e.Type()&os.ModeSymlink == 0 {
			continue
		}
		p := filepath.Join(dir, e.Name())
		dest, err := os.Readlink(p)
		if err != nil {
			continue
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(dir, dest)
		}
		foundPath := !ignoreSame && e.Name() == info.name
		foundDest := false
		if ignoreDest {
			foundPath = foundPath || unit.IsTemplate(info.name) && unit.TemplateOf(e.Name()) == info.name
		} else {
			foundDest = filepath.Base(dest) == info.name
		}
		if foundPath && foundDest && p == filepath.Join(configPath, info.name) {
			same = true
			continue
		}
		if foundPath || foundDest {
			if !matchAliases || info.knownName(e.Name()) {
				return true, same
			}
		}
	}
	return false, same
}
