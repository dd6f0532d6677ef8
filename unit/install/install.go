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

// This file implements offline enablement as systemctl enable/disable/is-enabled/mask/unmask
// do it (systemd 252's src/shared/install.c), on the Loader's search path. Symlinks are
// written to the Loader's ConfigDir: /etc/systemd/system for the default system path,
// ~/.config/systemd/user for --user, or the FIRST --units DIR when the search path was given
// with --units (there is no /etc in a private unit tree).
//
// Like install.c, only the unit file itself is read for [Install] (drop-ins are not).

// ChangeType is the kind of a Change.
type ChangeType int

const (
	ChangeSymlink           ChangeType = iota // a symlink was created: Path -> Source
	ChangeUnlink                              // a symlink was removed: Path
	ChangeDestinationAbsent                   // notice: Path (a unit file) is wanted by Source, which does not exist
	ChangeIsMasked                            // notice: Path (a unit reached through Also=) is masked
	ChangeAuxiliaryFailed                     // notice: the Also= unit Source could not be enabled
	ChangeNotFound                            // notice (disable): unit Source does not exist
	ChangeFailed                              // an error met midway (Source is the message); the operation fails
)

// Change is one file system change or notice of Enable, Disable, Mask or Unmask.
type Change struct {
	Type   ChangeType
	Path   string
	Source string
	Op     string // "enable", "disable", ... (for the wording of notices)
	// Server is a ChangeFailed's message as a manager answers it (Error.Server).
	Server string
}

// ServerError is the error a manager doing the operation answers for this change, as
// systemd's install_error: a ChangeFailed, or a unit that does not exist (which systemctl
// working on the files itself only notes); "" for the other changes.
func (c Change) ServerError() string {
	switch c.Type {
	case ChangeFailed:
		if c.Server != "" {
			return c.Server
		}
		return c.Source
	case ChangeNotFound:
		return fmt.Sprintf("Unit file %s does not exist.", c.Source)
	}
	return ""
}

// String prints the change exactly as systemctl 252 does (on stderr), e.g.
//
//	Created symlink /etc/systemd/system/sockets.target.wants/foo.socket → /etc/systemd/system/foo.socket.
//	Removed "/etc/systemd/system/sockets.target.wants/foo.socket".
func (c Change) String() string {
	switch c.Type {
	case ChangeSymlink:
		return fmt.Sprintf("Created symlink %s → %s.", c.Path, c.Source)
	case ChangeUnlink:
		return fmt.Sprintf("Removed \"%s\".", c.Path)
	case ChangeDestinationAbsent:
		return fmt.Sprintf("Unit %s is added as a dependency to a non-existent unit %s.", c.Path, c.Source)
	case ChangeIsMasked:
		return fmt.Sprintf("Unit %s is masked, ignoring.", c.Path)
	case ChangeAuxiliaryFailed:
		return fmt.Sprintf("Failed to %s auxiliary unit %s, ignoring.", c.Op, c.Source)
	case ChangeNotFound:
		return fmt.Sprintf("Failed to %s unit, unit %s does not exist.", c.Op, c.Source)
	case ChangeFailed:
		return c.Source
	}
	return fmt.Sprintf("change %d %s %s", c.Type, c.Path, c.Source)
}

// ErrNotFound is wrapped by errors about a unit file that does not exist.
var ErrNotFound = errors.New("no such unit file")

// Error is a failure of Enable, Disable, Mask or Unmask; its message is systemctl's.
// Errors met midway are also in the returned changes, in order (ChangeFailed), and then
// Reported is true: a caller printing the changes must not print the error again.
type Error struct {
	Msg string
	// Server is the message of a manager that does the operation (systemd's install_error,
	// which systemctl prints as "Failed to VERB unit: SERVER"); "" where it is Msg.
	Server   string
	Err      error // ErrNotFound, the error met (a *fs.PathError, a fatal Diagnostic), or nil
	Reported bool
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// NoInstallInfoWarning is what systemctl prints when the enabled units have no [Install]
// rules; Enable returns ErrNoInstallInfo with no other error in that case.
const NoInstallInfoWarning = `The unit files have no installation config (WantedBy=, RequiredBy=, Also=,
Alias= settings in the [Install] section, and DefaultInstance= for template
units). This means they are not meant to be enabled using systemctl.
 
Possible reasons for having this kind of units are:
• A unit may be statically enabled by being symlinked from another unit's
  .wants/ or .requires/ directory.
• A unit's purpose may be to act as a helper for some other unit which has
  a requirement dependency on it.
• A unit may be started when needed via activation (socket, path, timer,
  D-Bus, udev, scripted systemctl call, ...).
• In case of template units, the unit is meant to be enabled with some
  instance name specified.`

// ErrNoInstallInfo is returned (with exit status 0 in systemctl) when nothing could be
// enabled because the units carry no [Install] rules.
var ErrNoInstallInfo = errors.New(NoInstallInfoWarning)

// installInfo is one unit file as install.c sees it.
type installInfo struct {
	name     string // the unit name (an instance keeps its instance name)
	path     string // the unit file (the mask symlink for masked units)
	masked   bool
	aliases  []string
	wantedBy []string
	reqBy    []string
	also     []string
	defInst  string
}

func (i *installInfo) hasRules() bool {
	return len(i.aliases) > 0 || len(i.wantedBy) > 0 || len(i.reqBy) > 0
}

// installer carries one operation.
type installer struct {
	l       *unit.Loader
	lk      unit.Lookup // l's lookup paths
	op      string
	config  string // the directory it writes to
	force   bool   // --force: replace symlinks that point elsewhere
	dryRun  bool   // note the changes, make none (disable only: Links)
	changes []Change
}

func newInstaller(l *unit.Loader, op string) *installer {
	return &installer{l: l, lk: l.Lookup(), op: op, config: l.ConfigDir()}
}

// newInstallerWith is newInstaller in the directory o selects; --runtime fails on lookup
// paths without a runtime directory (flint's --units).
func newInstallerWith(l *unit.Loader, op string, o Options) (*installer, error) {
	in := newInstaller(l, op)
	in.force = o.Force
	if o.Runtime {
		if in.lk.Runtime == "" {
			return nil, &Error{Msg: fmt.Sprintf("Failed to %s unit: %s", op, ErrNoRuntimeDir), Err: ErrNoRuntimeDir}
		}
		in.config = in.lk.Runtime
	}
	return in, nil
}

// ErrNoRuntimeDir: --runtime on a search path that has no runtime directory (--units).
var ErrNoRuntimeDir = errors.New("the unit search path (--units) has no runtime directory for --runtime")

func (in *installer) add(t ChangeType, path, source string) {
	in.changes = append(in.changes, Change{Type: t, Path: path, Source: source, Op: in.op})
}

// discover finds the unit file for name as install.c's install_info_traverse: the first
// directory of the search path holding name (or, for an instance, its template) wins;
// symlinks to /dev/null and empty files mask; symlinks inside the search path are aliases and
// are followed to the real unit; symlinks outside it are linked unit files.
func (in *installer) discover(name string) (*installInfo, error) {
	if !unit.IsValidName(name) {
		return nil, &Error{Msg: fmt.Sprintf("Failed to %s unit, \"%s\" is not a valid unit name.", in.op, name), Server: fmt.Sprintf("\"%s\" is not a valid unit name.", name)}
	}
	for hops := 0; hops < 16; hops++ {
		p, ok := in.search(name)
		if !ok && unit.IsInstance(name) {
			p, ok = in.search(unit.TemplateOf(name))
		}
		if !ok {
			return nil, &Error{Msg: fmt.Sprintf("Failed to %s unit, unit %s does not exist.", in.op, name), Server: fmt.Sprintf("Unit file %s does not exist.", name), Err: ErrNotFound}
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return nil, &Error{Msg: fmt.Sprintf("Failed to %s unit: %v", in.op, err)}
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			t, err := os.Readlink(p)
			if err != nil {
				return nil, &Error{Msg: fmt.Sprintf("Failed to %s unit: %v", in.op, err)}
			}
			if !filepath.IsAbs(t) {
				t = filepath.Join(filepath.Dir(p), t)
			} else {
				t = in.lk.Rooted(t)
			}
			t = filepath.Clean(t)
			if t == "/dev/null" {
				return &installInfo{name: name, path: p, masked: true}, nil
			}
			ownTemplate := unit.IsInstance(name) && unit.TemplateOf(name) == filepath.Base(t)
			if inAny(t, in.lk.Path...) && filepath.Base(t) != filepath.Base(p) && !ownTemplate {
				// an alias: continue with the unit it points to (an instance keeps its
				// instance). Enabling through an alias made in the config dir is refused.
				if in.op == "enable" && filepath.Dir(p) == in.config {
					return nil, &Error{Msg: fmt.Sprintf("Failed to enable unit, refusing to operate on linked unit file %s.", name), Server: fmt.Sprintf("Refusing to operate on alias name or linked unit file: %s", name)}
				}
				next := filepath.Base(t)
				if unit.IsTemplate(next) && unit.IsInstance(name) {
					_, inst, _, _ := unit.ParseName(name)
					if n, err := unit.Instantiate(next, inst); err == nil {
						next = n
					}
				}
				name = next
				continue
			}
			// stat(2) says why a chain cannot be followed (ELOOP for a loop), which
			// EvalSymlinks does not
			if err := in.lk.StatChain(p); err != nil && !os.IsNotExist(err) {
				return nil, &Error{Msg: fmt.Sprintf("Failed to %s unit: %s: %s", in.op, unit.Printable(p), unit.Strerror(err)), Err: err}
			}
			if rp, err := in.lk.Chase(p); err == nil {
				// the end of the chain is the unit file, as chase_symlinks() finds it: a
				// linked unit file whose last name is the unit's is not an alias
				p = rp
			} else {
				return nil, &Error{Msg: fmt.Sprintf("Failed to %s unit, unit %s does not exist.", in.op, name), Server: fmt.Sprintf("Unit file %s does not exist.", name), Err: ErrNotFound}
			}
		}
		if unit.IsMaskFile(p) {
			return &installInfo{name: name, path: p, masked: true}, nil
		}
		info := &installInfo{name: name, path: p}
		if err := in.readInstall(info); err != nil {
			return nil, err
		}
		return info, nil
	}
	return nil, &Error{Msg: fmt.Sprintf("Failed to %s unit, too many levels of symbolic links for %s.", in.op, name), Err: syscall.ELOOP}
}

// search returns the first dir/name that exists (as a file or symlink) in the search path.
func (in *installer) search(name string) (string, bool) {
	for _, d := range in.lk.Path {
		p := filepath.Join(d, name)
		if _, err := os.Lstat(p); err == nil {
			return p, true
		}
	}
	return "", false
}

// readInstall reads the [Install] sections of info's unit file and of its drop-ins (as
// systemd's install logic does: an [Install] section in a drop-in makes a unit disabled,
// not static), expanding specifiers.
func (in *installer) readInstall(info *installInfo) error {
	var sections []*unit.Section
	for i, p := range append([]string{info.path}, in.l.DropInPaths(info.name)...) {
		if i > 0 && unit.IsMaskFile(in.lk.InTree(p)) {
			continue // an empty drop-in, or a character device (install.c's null_or_empty)
		}
		// Never blocks (a FIFO), never reads a device; a drop-in that cannot be read
		// fails the unit as in systemd (is-enabled: "Is a directory", list-unit-files: bad).
		data, err := unit.ReadFile(in.lk.InTree(p))
		if err != nil {
			return &Error{Msg: fmt.Sprintf("Failed to %s unit: %s: %s", in.op, unit.Printable(p), unit.Strerror(err)), Err: err}
		}
		f, diags := unit.ParseFile(p, data)
		for _, d := range diags {
			if d.Severity == unit.Error {
				return &Error{Msg: fmt.Sprintf("Failed to %s unit: %s", in.op, d), Err: d}
			}
		}
		sections = append(sections, f.Sections...)
	}
	u := unit.NewUnit(info.name, info.path)
	expand := in.l.Expander(u)
	for _, s := range sections {
		if s.Name != "Install" {
			continue
		}
		for _, e := range s.Entries {
			var list *[]string
			switch e.Key {
			case "Alias":
				list = &info.aliases
			case "WantedBy":
				list = &info.wantedBy
			case "RequiredBy":
				list = &info.reqBy
			case "Also":
				list = &info.also
			case "DefaultInstance":
				v, err := expand(e.Value)
				if err != nil {
					return &Error{Msg: fmt.Sprintf("Failed to %s unit, invalid specifier in \"%s\".", in.op, e.Value), Server: fmt.Sprintf("Invalid specifier in %s.", e.Value)}
				}
				info.defInst = v
				continue
			default:
				continue
			}
			if e.Value == "" {
				*list = nil
				continue
			}
			for _, w := range strings.Fields(e.Value) {
				v, err := expand(w)
				if err != nil {
					return &Error{Msg: fmt.Sprintf("Failed to %s unit, invalid specifier in \"%s\".", in.op, w), Server: fmt.Sprintf("Invalid specifier in %s.", w)}
				}
				*list = append(*list, v)
			}
		}
	}
	return nil
}

// createSymlink is install.c's create_symlink: an existing symlink with the same target is
// left alone; another target is replaced only with force; any other file is an error.
func (in *installer) createSymlink(target, link string, force bool) error {
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		return &Error{Msg: fmt.Sprintf("Failed to %s unit: %v", in.op, err)}
	}
	// below --root the link points where the tree's own / will be
	written := in.lk.Unrooted(target)
	err := os.Symlink(written, link)
	if err == nil {
		in.add(ChangeSymlink, link, written)
		return nil
	}
	if !os.IsExist(err) {
		return &Error{Msg: fmt.Sprintf("Failed to %s unit: %v", in.op, err)}
	}
	dest, rerr := os.Readlink(link)
	if rerr != nil {
		return &Error{Msg: fmt.Sprintf("Failed to %s unit, file \"%s\" already exists.", in.op, link), Server: fmt.Sprintf("File %s already exists.", link)}
	}
	if filepath.IsAbs(dest) {
		dest = in.lk.Rooted(dest)
	}
	if symlinksEquivalent(link, dest, target) {
		return nil
	}
	if !force {
		return &Error{Msg: fmt.Sprintf("Failed to %s unit, file \"%s\" already exists and is a symlink to \"%s\".", in.op, link, dest), Server: fmt.Sprintf("File %s already exists and is a symlink to %s.", link, dest)}
	}
	tmp := link + ".flint-tmp"
	_ = os.Remove(tmp)
	if err := os.Symlink(written, tmp); err != nil {
		return &Error{Msg: fmt.Sprintf("Failed to %s unit: %v", in.op, err)}
	}
	if err := os.Rename(tmp, link); err != nil {
		_ = os.Remove(tmp)
		return &Error{Msg: fmt.Sprintf("Failed to %s unit: %v", in.op, err)}
	}
	in.add(ChangeUnlink, link, "")
	in.add(ChangeSymlink, link, written)
	return nil
}

func symlinksEquivalent(link, dest, target string) bool {
	if !filepath.IsAbs(dest) {
		dest = filepath.Join(filepath.Dir(link), dest)
	}
	if filepath.Clean(dest) == filepath.Clean(target) {
		return true
	}
	a, err1 := os.Stat(dest)
	b, err2 := os.Stat(target)
	return err1 == nil && err2 == nil && os.SameFile(a, b) && filepath.Base(dest) == filepath.Base(target)
}

// unitExists is install.c's unit_file_exists: name (or its template) is in the search path.
// With --units directories the standard targets flint provides built in also exist, so
// `flint --units DIR enable foo.socket` does not warn about sockets.target.
func (in *installer) unitExists(name string) bool {
	if in.lk.Explicit && unit.IsStandardTarget(name) {
		return true
	}
	if _, ok := in.search(name); ok {
		return true
	}
	if unit.IsInstance(name) {
		_, ok := in.search(unit.TemplateOf(name))
		return ok
	}
	return false
}
