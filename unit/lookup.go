package unit

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Lookup is where units are found and where the file verbs (enable, mask, edit,
// set-property, ...) write: systemd's LookupPaths. A running manager reports its own (the
// CLI then works on the manager's files); offline, NewLookup derives it from the options.
type Lookup struct {
	Scope Scope
	// Path is the unit search path, highest priority first.
	Path []string
	// Config is the persistent configuration directory: enable's symlinks, mask, edit,
	// set-default (/etc/systemd/system, ~/.config/systemd/user).
	Config string
	// Runtime is where --runtime writes (/run/systemd/system); "" when there is none.
	Runtime string
	// Control and RuntimeControl are set-property's drop-in directories
	// (/etc/systemd/system.control, /run/systemd/system.control); "" when there are none.
	Control, RuntimeControl string
	// Explicit: the search path is flint's --units directories, which flint's built-in
	// standard targets complete.
	Explicit bool
	// Root is --root: every directory above begins with it, and the symlinks written in
	// the tree point to paths without it, as systemctl --root writes them.
	Root string
}

// NewLookup returns the lookup paths for scope. dirs, when non-empty (flint's --units
// options, made absolute), replace the search path: the FIRST of them is then also the
// configuration directory and the control directory (there is no /etc in a private unit
// tree: enable writes its symlinks next to the units, as systemd's own path puts
// /etc/systemd/system before the vendor directories), and there is no runtime directory.
// Without dirs the search path is $SYSTEMD_UNIT_PATH or systemd's (SearchPath) and the
// directories are systemd's for the scope.
func NewLookup(scope Scope, dirs []string) Lookup {
	var abs []string
	for _, d := range dirs {
		if a, err := filepath.Abs(d); err == nil {
			d = a
		}
		abs = append(abs, d)
	}
	lk := Lookup{Scope: scope, Path: SearchPath(scope, abs)}
	if len(abs) > 0 {
		lk.Explicit = true
		lk.Config, lk.Control = lk.Path[0], lk.Path[0]
		return lk
	}
	lk.Config = ConfigDir(scope, nil)
	lk.Runtime = runtimeConfigDir(scope)
	if scope == System {
		lk.Control, lk.RuntimeControl = "/etc/systemd/system.control", "/run/systemd/system.control"
	} else {
		if h := xdgConfigHome(); h != "" {
			lk.Control = filepath.Join(h, "systemd/user.control")
		}
		if rt := os.Getenv("XDG_RUNTIME_DIR"); rt != "" {
			lk.RuntimeControl = filepath.Join(rt, "systemd/user.control")
		}
	}
	return lk
}

// NewLoaderLookup returns a Loader on lk's search path that writes where lk says.
func NewLoaderLookup(lk Lookup) *Loader {
	lk.Path = dedup(append([]string(nil), lk.Path...))
	l := &Loader{scope: lk.Scope, path: lk.Path, lk: lk}
	if lk.Explicit {
		l.dirs = lk.Path
	}
	return l
}

// Lookup returns the Loader's lookup paths.
func (l *Loader) Lookup() Lookup {
	lk := l.lk
	lk.Path = append([]string(nil), l.path...)
	return lk
}

// RootLookup returns the lookup paths of scope inside the directory tree root, as systemctl
// --root=ROOT: systemd's directories (or $SYSTEMD_UNIT_PATH) below root.
func RootLookup(scope Scope, root string) Lookup {
	root = filepath.Clean(root)
	lk := NewLookup(scope, nil)
	lk.Root = root
	for i, d := range lk.Path {
		lk.Path[i] = filepath.Join(root, d)
	}
	for _, d := range []*string{&lk.Config, &lk.Runtime, &lk.Control, &lk.RuntimeControl} {
		if *d != "" {
			*d = filepath.Join(root, *d)
		}
	}
	return lk
}

// GlobalLookup returns the lookup paths of systemctl --global: the unit files every user's
// manager reads (not a user's own, under the home directory), written to
// /etc/systemd/user; below root when root is not "".
func GlobalLookup(root string) Lookup {
	lk := Lookup{Scope: User, Config: "/etc/systemd/user", Runtime: "/run/systemd/user",
		Path: []string{"/etc/systemd/user", "/run/systemd/user", "/usr/local/share/systemd/user",
			"/usr/share/systemd/user", "/usr/local/lib/systemd/user", "/usr/lib/systemd/user"}}
	if root == "" {
		return lk
	}
	lk.Root = filepath.Clean(root)
	for i, d := range lk.Path {
		lk.Path[i] = filepath.Join(lk.Root, d)
	}
	lk.Config, lk.Runtime = filepath.Join(lk.Root, lk.Config), filepath.Join(lk.Root, lk.Runtime)
	return lk
}

// Rooted is p (an absolute path read from a symlink in the tree) as the tree has it: below
// the root. Without a root, and for /dev/null, it is p.
func (lk Lookup) Rooted(p string) string {
	if lk.Root == "" || p == "/dev/null" {
		return p
	}
	return filepath.Join(lk.Root, p)
}

// Unrooted is p without the root: what a symlink written in the tree points to.
func (lk Lookup) Unrooted(p string) string {
	if lk.Root == "" {
		return p
	}
	if r, ok := strings.CutPrefix(p, lk.Root); ok && (r == "" || r[0] == '/') {
		if r == "" {
			return "/"
		}
		return r
	}
	return p
}

// Chase follows the symlinks at the end of p as the tree sees them, as systemd's
// chase_symlinks with the root directory: an absolute target is below the root. Without a
// root it is filepath.EvalSymlinks.
func (lk Lookup) Chase(p string) (string, error) {
	if lk.Root == "" {
		return filepath.EvalSymlinks(p)
	}
	for i := 0; i < 32; i++ {
		t, err := os.Readlink(p)
		if err != nil {
			if isNotSymlink(err) {
				_, err = os.Stat(p)
				return p, err
			}
			return "", err
		}
		if filepath.IsAbs(t) {
			p = lk.Rooted(t)
		} else {
			p = filepath.Join(filepath.Dir(p), t)
		}
		p = filepath.Clean(p)
	}
	return "", &os.PathError{Op: "chase", Path: p, Err: syscall.ELOOP}
}

// InTree is p with its symlinks followed below the root, for reading or stat'ing it; p
// itself without a root (the kernel follows the links then) or when it cannot be followed.
func (lk Lookup) InTree(p string) string {
	if lk.Root == "" {
		return p
	}
	if r, err := lk.Chase(p); err == nil {
		return r
	}
	return p
}

// StatChain stats the end of p's chain of symlinks as the tree sees it: the error says why
// it cannot be followed (ELOOP for a loop).
func (lk Lookup) StatChain(p string) error {
	if lk.Root == "" {
		_, err := os.Stat(p)
		return err
	}
	_, err := lk.Chase(p)
	return err
}

// isNotSymlink tells whether err is os.Readlink's answer for a path that is not a symlink.
func isNotSymlink(err error) bool {
	pe, ok := err.(*os.PathError)
	return ok && pe.Err.Error() == "invalid argument"
}
