package unit

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// isDir reports whether p, an entry of a search path directory, is a directory: stat'ed only
// if the directory's listing at the last scan had it.
func (l *Loader) isDir(p string) bool {
	if !l.fsCache[p] {
		return false
	}
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// dropInDirs returns, for one directory of the search path, the drop-in directories of name
// with dirSuffix (".d", ".wants", ...) in systemd's order (unit_file_find_dirs): the name
// itself, its template for an instance, then each dash prefix ("foo-bar-.service" then
// "foo-.service", each again with its template). Only directories that exist are returned.
func (l *Loader) dropInDirs(dir, name, dirSuffix string, out []string) []string {
	if p := filepath.Join(dir, name+dirSuffix); l.isDir(p) {
		out = append(out, p)
	}
	inst := IsInstance(name)
	if inst {
		out = l.dropInDirs(dir, TemplateOf(name), dirSuffix, out)
	}
	prefix, instance, sfx, err := ParseName(name)
	if err != nil {
		return out
	}
	// chop at the last dash; a trailing dash is chopped off once first
	chopped := false
	for {
		dash := strings.LastIndexByte(prefix, '-')
		if dash <= 0 {
			return out
		}
		if dash+1 < len(prefix) || chopped {
			prefix = prefix[:dash+1]
			break
		}
		prefix = prefix[:dash]
		chopped = true
	}
	built := prefix + "." + sfx
	if inst {
		built = prefix + "@" + instance + "." + sfx
	}
	if !IsValidName(built) {
		return out
	}
	return l.dropInDirs(dir, built, dirSuffix, out)
}

// dropIns lists the files of the drop-in directories of a unit with the given names, as
// systemd's unit_file_find_dropin_paths: directories are visited name by name, each in every
// search path directory (highest priority first), then the per-type directories
// ("service.d") in every search path directory; a file name seen first hides later files of
// the same name; the result is sorted by file name. fileSuffix "" takes every entry.
func (l *Loader) dropIns(names []string, dirSuffix, fileSuffix string) []string {
	var dirs []string
	for _, n := range names {
		for _, d := range l.path {
			dirs = l.dropInDirs(d, n, dirSuffix, dirs)
		}
	}
	if len(names) > 0 {
		if t := TypeOf(names[0]); t != "" {
			for _, d := range l.path {
				if p := filepath.Join(d, string(t)+dirSuffix); l.isDir(p) {
					dirs = append(dirs, p)
				}
			}
		}
	}
	seen := map[string]string{}
	for _, d := range dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range ents {
			n := e.Name()
			if fileSuffix != "" && !strings.HasSuffix(n, fileSuffix) {
				continue
			}
			if strings.HasPrefix(n, ".") {
				continue
			}
			if _, ok := seen[n]; ok {
				continue
			}
			seen[n] = filepath.Join(d, n)
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, seen[k])
	}
	return out
}

// DropInPaths lists the .conf drop-ins of the unit called name (see dropIns).
func (l *Loader) DropInPaths(name string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.scan()
	return l.dropIns([]string{name}, ".d", ".conf")
}

// addDirDeps adds the dependencies of the unit's .wants/, .requires/ and .upholds/
// directories (from every directory of the search path, with the same name, template and
// prefix rules as drop-ins). An entry that is a template is instantiated with the unit's
// instance, as systemd does for "foo@.target.wants/bar@.service".
func (l *Loader) addDirDeps(u *Unit) {
	for _, kind := range []struct {
		suffix, dep string
		list        func() *[]string
	}{
		{".wants", "Wants", func() *[]string { return &u.Unit.Wants }},
		{".requires", "Requires", func() *[]string { return &u.Unit.Requires }},
		{".upholds", "Upholds", func() *[]string { return &u.Unit.OwnBindings().Upholds }},
	} {
		warn := func(format string, a ...any) {
			u.addDiagnostics(Diagnostic{Severity: Warning, File: u.FragmentPath,
				Msg: Printable(kind.dep + " dependency " + fmt.Sprintf(format, a...))})
		}
		for _, p := range l.dropIns(u.Names, kind.suffix, "") {
			n := filepath.Base(p)
			// As systemd's process_deps: an entry that is /dev/null (or empty) masks the
			// dependency; only symlinks count (a FIFO or file there is not opened); a
			// link to another name is taken, with a warning.
			if IsMaskFile(l.lk.InTree(p)) {
				continue
			}
			fi, err := os.Lstat(p)
			if err != nil {
				warn("dropin %s unreadable, ignoring: %s", p, Strerror(err))
				continue
			}
			if fi.Mode()&os.ModeSymlink == 0 {
				warn("dropin %s is not a symlink, ignoring.", p)
				continue
			}
			if target, err := os.Readlink(p); err == nil {
				if tb := filepath.Base(target); tb != n && !(IsInstance(n) && tb == TemplateOf(n)) {
					warn("dropin %s target %s has different name", p, target)
				}
			}
			if !IsValidName(n) {
				warn("dropin %s is not a valid unit name, ignoring.", p)
				continue
			}
			if IsTemplate(n) {
				if u.Instance == "" {
					warn("dropin %s is a template, but %s is not an instance, ignoring.", p, u.Name)
					continue
				}
				inst, err := Instantiate(n, u.Instance)
				if err != nil {
					continue
				}
				n = inst
			}
			if list := kind.list(); !contains(*list, n) {
				*list = append(*list, n)
			}
		}
	}
}

// reverseWants returns the units whose .wants/ directories (in any directory of the search
// path) list one of u's names: systemd's WantedBy= property. An entry "bar@.service" in
// "foo@.target.wants/" makes bar@x.service wanted by foo@x.target. Callers hold l.mu.
func (l *Loader) reverseWants(u *Unit) []string {
	if l.revWants == nil {
		// Index every .wants/ entry once per scan: entry name -> the units whose .wants/ holds it.
		l.revWants = map[string][]string{}
		var dirs []string
		for p := range l.fsCache {
			if strings.HasSuffix(p, ".wants") {
				dirs = append(dirs, p)
			}
		}
		sort.Strings(dirs)
		for _, p := range dirs {
			wanter := strings.TrimSuffix(filepath.Base(p), ".wants")
			if !IsValidName(wanter) {
				continue
			}
			ents, err := os.ReadDir(p)
			if err != nil {
				continue
			}
			for _, e := range ents {
				l.revWants[e.Name()] = append(l.revWants[e.Name()], wanter)
			}
		}
	}
	var out []string
	for _, n := range u.Names {
		for _, w := range l.revWants[n] {
			out = appendUnique(out, w)
		}
		if tpl := TemplateOf(n); tpl != "" {
			for _, w := range l.revWants[tpl] {
				if !IsTemplate(w) {
					continue
				}
				if inst, err := Instantiate(w, u.Instance); err == nil {
					out = appendUnique(out, inst)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// NeedDaemonReload reports whether the files of u (as this Loader loaded it) changed on disk
// since, as systemd's unit_need_daemon_reload: the fragment or a drop-in is newer than when
// it was read or is gone, a masked unit is no longer masked, or the unit's drop-ins are
// others now. New drop-in directories are seen only once the search path is scanned again
// (Reload), as systemd finds them through its unit path cache.
func (l *Loader) NeedDaemonReload(u *Unit) bool {
	if fileNewer(u.FragmentPath, u.fragmentMtime, u.LoadState == Masked) {
		return true
	}
	var now []string
	if u.LoadState == Loaded {
		l.mu.Lock()
		l.scan()
		now = l.dropIns(u.Names, ".d", ".conf")
		l.mu.Unlock()
	}
	if !slices.Equal(u.DropInPaths, now) {
		return true
	}
	for _, p := range u.DropInPaths {
		if fileNewer(p, u.dropInMtime, false) {
			return true
		}
	}
	return false
}

// fileNewer is systemd's fragment_mtime_newer: whether p changed since t (a masked p: is no
// longer a mask). A file that cannot be stat'ed is changed; files under /proc and /sys never.
func fileNewer(p string, t stamp, masked bool) bool {
	if p == "" || strings.HasPrefix(p, "/proc/") || strings.HasPrefix(p, "/sys/") {
		return false
	}
	st, err := os.Stat(p)
	if err != nil {
		return true
	}
	if masked {
		return !IsMaskFile(p)
	}
	return stampOf(st.ModTime()) > t
}

// stamp is a modification time in a third of a time.Time's size (a loaded unit keeps two):
// nanoseconds since 1970 with the sign bit flipped, so that stamps order as the times do and
// 0, the zero time's stamp and the zero value, comes before every other.
type stamp uint64

func stampOf(t time.Time) stamp {
	if t.IsZero() {
		return 0
	}
	return stamp(uint64(t.UnixNano()) ^ 1<<63)
}

// mtime is p's modification time, 0 if it cannot be stat'ed.
func mtime(p string) stamp {
	st, err := os.Stat(p)
	if err != nil {
		return 0
	}
	return stampOf(st.ModTime())
}
