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

// Enable creates the symlinks of the [Install] sections of names, as `systemctl enable`:
// Alias= -> <config>/<alias>, WantedBy= -> <config>/<target>.wants/<unit>, RequiredBy= ->
// <config>/<target>.requires/<unit>, each pointing at the unit file; Also= units are enabled
// too (failures there are notices); a template without instance is enabled under its
// DefaultInstance=; a linked unit file (outside the search path) also gets <config>/<unit>.
// Existing identical symlinks are left alone, so Enable is idempotent. Every name must
// exist and not be masked, or nothing is done. When no unit carries [Install] rules the
// error is ErrNoInstallInfo (systemctl only warns). The Loader's cache is reset.
func Enable(l *unit.Loader, names []string) ([]Change, error) {
	return EnableWith(l, names, Options{})
}

// Options vary the file operations as systemctl's options do: Runtime works in the
// runtime directory of the Loader's lookup paths (--runtime), Force replaces symlinks that
// point elsewhere (--force).
type Options struct{ Runtime, Force bool }

// EnableWith is Enable with options.
func EnableWith(l *unit.Loader, names []string, o Options) ([]Change, error) {
	return runInstaller(l, "enable", o, func(in *installer) error { return in.enable(names) })
}

// runInstaller runs one operation of an installer in the directory o selects and resets
// the Loader's cache afterwards.
func runInstaller(l *unit.Loader, op string, o Options, fn func(*installer) error) ([]Change, error) {
	defer l.Reload()
	in, err := newInstallerWith(l, op, o)
	if err != nil {
		return nil, err
	}
	err = fn(in)
	return in.changes, err
}

// enable is install.c's unit_file_enable on the installer's directory.
func (in *installer) enable(names []string) error {
	// The queue is install.c's ordered will_process map: the named units, each followed
	// (when it is read) by its Also= units, which are processed, and may fail, in turn.
	type item struct {
		name string
		info *installInfo
		aux  bool
	}
	var queue []item
	seen := map[string]bool{}
	// Absolute paths are linked into the config dir first, as systemctl enable does.
	names = append([]string(nil), names...)
	for i, n := range names {
		if !filepath.IsAbs(n) {
			continue
		}
		if err := in.link(n); err != nil {
			return err
		}
		names[i] = filepath.Base(n)
	}
	addAlso := func(info *installInfo) {
		for _, a := range info.also {
			if !seen[a] {
				seen[a] = true
				queue = append(queue, item{name: a, aux: true})
			}
		}
	}
	for _, n := range names {
		info, err := in.discoverUnmasked(n)
		if err != nil {
			return err
		}
		if seen[info.name] {
			continue
		}
		seen[info.name] = true
		queue = append(queue, item{name: info.name, info: info})
		addAlso(info)
	}
	rules := 0
	var firstErr error
	for i := 0; i < len(queue); i++ {
		it := queue[i]
		info := it.info
		if info == nil {
			ai, err := in.discover(it.name)
			if err != nil {
				in.add(ChangeAuxiliaryFailed, "", it.name)
				continue
			}
			info = ai
			if !info.masked {
				addAlso(info)
			}
		}
		if info.masked {
			in.add(ChangeIsMasked, info.path, "")
			rules++
			continue
		}
		n, err := in.apply(info)
		rules += n
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return firstErr
	}
	if rules == 0 {
		return ErrNoInstallInfo
	}
	return nil
}

// apply is install_info_apply: the link of a linked unit file, aliases, .wants, .requires.
// It returns how many rules the unit has (Also= counts) and the first error.
func (in *installer) apply(info *installInfo) (int, error) {
	rules := len(info.also)
	var firstErr error
	keep := func(err error) {
		if err == nil {
			return
		}
		var ie *Error
		if errors.As(err, &ie) {
			ie.Reported = true
			in.changes = append(in.changes, Change{Type: ChangeFailed, Source: ie.Msg, Op: in.op, Server: ie.Server})
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if !inAny(info.path, in.lk.Path...) {
		// first, as systemctl 252 prints it
		keep(in.createSymlink(info.path, filepath.Join(in.config, info.name), in.force))
	}
	for _, a := range info.aliases {
		dst := a
		if unit.IsTemplate(dst) && unit.IsInstance(info.name) {
			_, inst, _, _ := unit.ParseName(info.name)
			if n, err := unit.Instantiate(dst, inst); err == nil {
				dst = n
			}
		}
		if !unit.IsValidName(dst) || !unit.ValidAlias(dst, info.name) {
			keep(&Error{Msg: fmt.Sprintf("Failed to %s unit, cannot alias %s as %s.", in.op, info.name, dst), Server: fmt.Sprintf("Cannot alias %s as %s.", info.name, dst)})
			continue
		}
		rules++
		keep(in.createSymlink(info.path, filepath.Join(in.config, dst), in.force))
	}
	for _, w := range []struct {
		list   []string
		suffix string
	}{{info.wantedBy, ".wants"}, {info.reqBy, ".requires"}} {
		if len(w.list) == 0 {
			continue
		}
		n := info.name
		templateOnly := false
		if unit.IsTemplate(info.name) {
			if info.defInst != "" {
				inst, err := unit.Instantiate(info.name, info.defInst)
				if err != nil {
					keep(&Error{Msg: fmt.Sprintf("Failed to %s unit, invalid default instance \"%s\".", in.op, info.defInst)})
					continue
				}
				n = inst
			} else {
				templateOnly = true
			}
		}
		for _, dst := range w.list {
			if !unit.IsValidName(dst) {
				keep(&Error{Msg: fmt.Sprintf("Failed to %s unit, \"%s\" is not a valid unit name.", in.op, dst), Server: fmt.Sprintf("\"%s\" is not a valid unit name.", dst)})
				continue
			}
			if templateOnly && !unit.IsTemplate(dst) && !unit.IsInstance(dst) {
				keep(&Error{Msg: fmt.Sprintf("Failed to %s %s, destination unit %s is a non-template unit.", in.op, n, dst), Server: fmt.Sprintf("Destination unit %s is a non-template unit.", dst)})
				continue
			}
			rules++
			keep(in.createSymlink(info.path, filepath.Join(in.config, dst+w.suffix, n), true))
			if !in.unitExists(dst) {
				in.add(ChangeDestinationAbsent, info.path, dst)
			}
		}
	}
	return rules, firstErr
}

// Link makes unit files outside the search path available by symlinking them into the
// config directory under their own name, as `systemctl link`. Each path must be absolute
// and name a unit file; a file already in the search path is left alone.
func Link(l *unit.Loader, paths []string) ([]Change, error) {
	return LinkWith(l, paths, Options{})
}

// LinkWith is Link with options.
func LinkWith(l *unit.Loader, paths []string, o Options) ([]Change, error) {
	return runInstaller(l, "link", o, func(in *installer) error {
		for _, p := range paths {
			if err := in.link(p); err != nil {
				return err
			}
		}
		return nil
	})
}

func (in *installer) link(p string) error {
	p = filepath.Clean(p)
	if !filepath.IsAbs(p) {
		return &Error{Msg: fmt.Sprintf("Failed to %s unit, path \"%s\" is not absolute.", in.op, p)}
	}
	name := filepath.Base(p)
	if !unit.IsValidName(name) {
		return &Error{Msg: fmt.Sprintf("Failed to %s unit, \"%s\" is not a valid unit name.", in.op, name), Server: fmt.Sprintf("\"%s\" is not a valid unit name.", name)}
	}
	fi, err := os.Stat(in.lk.InTree(in.lk.Rooted(p))) // --root: a path in the tree
	if err != nil || !fi.Mode().IsRegular() {
		return &Error{Msg: fmt.Sprintf("Failed to %s unit, unit %s does not exist.", in.op, p), Server: fmt.Sprintf("Unit file %s does not exist.", p), Err: ErrNotFound}
	}
	p = in.lk.Rooted(p)
	if inAny(p, in.lk.Path...) {
		return nil
	}
	return in.createSymlink(p, filepath.Join(in.config, name), in.force)
}

// Disable removes every symlink in the config directory that points to the units of names
// (or to their Also= units), or that bears one of their names, and then the symlinks that
// pointed to those, as `systemctl disable`. A name that does not exist is a notice
// (ChangeNotFound) and its symlinks are still removed. Removal is in file-name order.
func Disable(l *unit.Loader, names []string) ([]Change, error) {
	return DisableWith(l, names, Options{})
}

// DisableWith is Disable with options.
func DisableWith(l *unit.Loader, names []string, o Options) ([]Change, error) {
	return runInstaller(l, "disable", o, func(in *installer) error { return in.disable(names) })
}

// disable is install.c's unit_file_disable on the installer's directory.
func (in *installer) disable(names []string) error {
	mark := map[string]bool{}
	var queue []string
	seen := map[string]bool{}
	for _, n := range names {
		if !unit.IsValidName(n) {
			return &Error{Msg: fmt.Sprintf("Failed to %s unit, \"%s\" is not a valid unit name.", in.op, n), Server: fmt.Sprintf("\"%s\" is not a valid unit name.", n)}
		}
		queue = append(queue, n)
		seen[n] = true
	}
	for i := 0; i < len(queue); i++ {
		n := queue[i]
		info, err := in.discover(n)
		if err != nil {
			if i < len(names) {
				in.add(ChangeNotFound, "", n)
			}
			mark[n] = true
			continue
		}
		if info.masked {
			in.add(ChangeIsMasked, info.path, "")
			continue
		}
		mark[info.name] = true
		for _, a := range info.also {
			if !seen[a] {
				seen[a] = true
				queue = append(queue, a)
			}
		}
	}
	return in.removeMarked(mark)
}

// Links returns the symlinks `disable` would remove for name (in the runtime directory with
// runtime), without removing any: what systemctl is-enabled --full lists under the state.
// Lookup paths without a runtime directory (--units) have no runtime links.
func Links(l *unit.Loader, name string, runtime bool) ([]string, error) {
	if runtime && l.Lookup().Runtime == "" {
		return nil, nil
	}
	in, err := newInstallerWith(l, "disable", Options{Runtime: runtime})
	if err != nil {
		return nil, err
	}
	in.dryRun = true
	err = in.disable([]string{name})
	var links []string
	for _, c := range in.changes {
		if c.Type == ChangeUnlink {
			links = append(links, c.Path)
		}
	}
	return links, err
}

// removeMarked walks the config directory (repeatedly, while removals add new targets) and
// removes symlinks whose name, resolved destination or destination's base name is marked
// (a dry run only notes them).
func (in *installer) removeMarked(mark map[string]bool) error {
	if len(mark) == 0 {
		return nil
	}
	for {
		removed := false
		var firstErr error
		var walk func(dir string)
		walk = func(dir string) {
			ents, err := os.ReadDir(dir)
			if err != nil {
				return
			}
			for _, e := range ents {
				p := filepath.Join(dir, e.Name())
				if e.IsDir() {
					walk(p)
					continue
				}
				if e.Type()&os.ModeSymlink == 0 || !unit.IsValidName(e.Name()) {
					continue
				}
				dest, err := in.resolveNonexistent(p)
				if err != nil {
					continue
				}
				if !mark[dest] && !mark[filepath.Base(dest)] && !mark[e.Name()] {
					continue
				}
				if !in.dryRun {
					if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
						if firstErr == nil {
							firstErr = &Error{Msg: fmt.Sprintf("Failed to %s unit: %v", in.op, err)}
						}
						continue
					}
					rmdirParents(filepath.Dir(p), in.config)
				}
				in.add(ChangeUnlink, p, "")
				if !mark[p] {
					mark[p] = true
					// a dry run removes nothing, so another walk would find the same
					removed = !in.dryRun
				}
			}
		}
		walk(in.config)
		if firstErr != nil {
			return firstErr
		}
		if !removed {
			return nil
		}
	}
}

// resolveNonexistent follows the symlink chain of p as far as it exists and returns the
// final path (chase_symlinks with CHASE_NONEXISTENT).
func (in *installer) resolveNonexistent(p string) (string, error) {
	for i := 0; i < 32; i++ {
		t, err := os.Readlink(p)
		if err != nil {
			if os.IsNotExist(err) || errors.Is(err, syscall.EINVAL) {
				return p, nil
			}
			return "", err
		}
		if !filepath.IsAbs(t) {
			t = filepath.Join(filepath.Dir(p), t)
		} else {
			t = in.lk.Rooted(t)
		}
		p = filepath.Clean(t)
	}
	return "", fmt.Errorf("%s: too many levels of symbolic links", p)
}

// rmdirParents removes empty directories from dir up to, not including, stop.
func rmdirParents(dir, stop string) {
	for dir != stop && strings.HasPrefix(dir, stop+"/") {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// Mask links each name to /dev/null in the config directory, as `systemctl mask`. An
// existing file there that is not such a link is an error.
func Mask(l *unit.Loader, names []string) ([]Change, error) {
	return MaskWith(l, names, Options{})
}

// MaskWith is Mask with options.
func MaskWith(l *unit.Loader, names []string, o Options) ([]Change, error) {
	return runInstaller(l, "mask", o, func(in *installer) error { return in.mask(names) })
}

func (in *installer) mask(names []string) error {
	for _, n := range names {
		if !unit.IsValidName(n) {
			return &Error{Msg: fmt.Sprintf("Failed to %s unit, \"%s\" is not a valid unit name.", in.op, n), Server: fmt.Sprintf("\"%s\" is not a valid unit name.", n)}
		}
		p := filepath.Join(in.config, n)
		if fi, err := os.Lstat(p); err == nil && fi.Mode()&os.ModeSymlink == 0 {
			return &Error{Msg: fmt.Sprintf("Failed to %s unit, file \"%s\" already exists.", in.op, p), Server: fmt.Sprintf("File %s already exists.", p)}
		}
		if err := in.createSymlink("/dev/null", p, in.force); err != nil {
			return err
		}
	}
	return nil
}

// Unmask removes the /dev/null links (and empty mask files are left alone, as systemctl) of
// names from the config directory, as `systemctl unmask`.
func Unmask(l *unit.Loader, names []string) ([]Change, error) {
	return UnmaskWith(l, names, Options{})
}

// UnmaskWith is Unmask with options.
func UnmaskWith(l *unit.Loader, names []string, o Options) ([]Change, error) {
	return runInstaller(l, "unmask", o, func(in *installer) error { return in.unmask(names) })
}

func (in *installer) unmask(names []string) error {
	for _, n := range names {
		if !unit.IsValidName(n) {
			return &Error{Msg: fmt.Sprintf("Failed to %s unit, \"%s\" is not a valid unit name.", in.op, n), Server: fmt.Sprintf("\"%s\" is not a valid unit name.", n)}
		}
		p := filepath.Join(in.config, n)
		t, err := os.Readlink(p)
		if err != nil || t != "/dev/null" {
			continue
		}
		if err := os.Remove(p); err != nil {
			return &Error{Msg: fmt.Sprintf("Failed to unmask unit: %v", err)}
		}
		in.add(ChangeUnlink, p, "")
	}
	return nil
}
