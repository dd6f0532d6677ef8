package unit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
)

// Loader finds and loads units from a search path the way systemd does: first match in the
// path wins, symlinks are aliases (inside the path) or linked unit files (outside it), a
// symlink to /dev/null or an empty file masks a unit, instances fall back to their template,
// and drop-ins and .wants/.requires directories are collected from every directory.
//
// Units are cached until Reload. A Loader is safe for concurrent use.
type Loader struct {
	scope    Scope
	dirs     []string // the explicit --units dirs, nil for the default search path
	path     []string
	lk       Lookup // where the file verbs write (lookup.go)
	mu       sync.Mutex
	ids      map[string]string   // unit file name -> absolute path, or the name it aliases
	names    map[string][]string // fragment base name -> names that resolve to it (aliases)
	fsCache  map[string]bool     // every "dir/entry" in the path, for drop-in lookups
	masks    map[string]bool     // isMask's answers by path
	revWants map[string][]string // .wants/ entry name -> wanting units (reverseWants), built lazily
	units    map[string]*Unit    // by every name, decoded (base) units
	final    map[*Unit]bool      // units whose implicit dependencies were added
	sockets  []string            // socketNames, built lazily from ids
	triggers []string            // triggerNames, likewise
	// bySocket and byTrigger index the loaded sockets (Accept=no) and timers/paths of the
	// search path by the unit they start, built once when a unit first needs them
	// (triggeringUnits): a unit's TriggeredBy= costs a lookup, not a pass over every trigger.
	bySocket, byTrigger map[string][]triggerRef
	indexBuilds         int      // how often they were built (a test counts them)
	buf                 []byte   // the unit file being read (readFileInto), reused
	host                hostInfo // host-wide specifier values

	// The reload cache (load_reload.go): the sums of each decoded unit's files as read, of
	// the search path's directories at the scan, whether a unit came from a file that could
	// not be read, what Reload set aside, and how often a reload kept it (a test counts).
	sums     map[*Unit]uint64
	dirStamp uint64
	volatile bool
	prev     *loaderCache
	reused   int
}

// NewLoader returns a Loader for scope. dirs, when non-empty, replaces the search path (flint's
// --units DIR options; relative dirs are made absolute); nil uses SearchPath(scope, nil), that
// is $SYSTEMD_UNIT_PATH or systemd's default path. See NewLookup for where it writes.
func NewLoader(scope Scope, dirs []string) *Loader { return NewLoaderLookup(NewLookup(scope, dirs)) }

// Scope returns the scope the Loader was made for.
func (l *Loader) Scope() Scope { return l.scope }

// Paths returns the unit search path, highest priority first.
func (l *Loader) Paths() []string { return append([]string(nil), l.path...) }

// ConfigDir returns the directory enablement writes to (Lookup.Config).
func (l *Loader) ConfigDir() string { return l.lk.Config }

// Reload forgets every cached unit and rescans the search path on the next call. The next
// scan keeps the decoded units when none of their files changed (load_reload.go).
func (l *Loader) Reload() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.setAside()
}

// List returns the sorted names of every unit file, alias and linked unit in the search path
// (templates included, instances only when a file or symlink with that name exists). Masked
// names are listed too.
func (l *Loader) List() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.scan()
	out := make([]string, 0, len(l.ids))
	for n := range l.ids {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Load returns the unit called name, never nil. A unit that cannot be found has LoadState
// not-found; a masked one masked; a unit with errors error or bad-setting with LoadError set.
// Loading a unit under an alias returns the unit under its real name (Name is the fragment's
// name, Names holds the aliases). The result includes the implicit and default dependencies
// systemd adds (see deps.go). The returned Unit is shared: callers must not modify it.
func (l *Loader) Load(name string) *Unit {
	l.mu.Lock()
	defer l.mu.Unlock()
	u := l.base(name)
	l.finish(u)
	return u
}

// scan builds the name maps as systemd's unit_file_build_name_map. Callers hold l.mu.
func (l *Loader) scan() {
	if l.ids != nil {
		return
	}
	l.ids = map[string]string{}
	l.names = map[string][]string{}
	l.fsCache = map[string]bool{}
	l.units = map[string]*Unit{}
	l.final = map[*Unit]bool{}
	l.sums = map[*Unit]uint64{}
	defer func() {
		l.dirStamp = l.dirSum()
		l.takeBack()
	}()
	for _, dir := range l.path {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			name := e.Name()
			full := filepath.Join(dir, name)
			valid := IsValidName(name)
			if !valid && !strings.HasSuffix(name, ".wants") && !strings.HasSuffix(name, ".requires") &&
				!strings.HasSuffix(name, ".upholds") && !strings.HasSuffix(name, ".d") {
				continue
			}
			l.fsCache[full] = true
			if !valid {
				continue
			}
			if _, seen := l.ids[name]; seen {
				continue
			}
			if e.Type()&os.ModeSymlink == 0 {
				// Only regular files are unit files (systemd's name map takes DT_REG and
				// DT_LNK entries): a FIFO, socket, device or directory named foo.service
				// is not there.
				if !e.Type().IsRegular() {
					continue
				}
				l.ids[name] = full
				continue
			}
			target, err := os.Readlink(full)
			if err != nil {
				continue
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(dir, target)
			} else {
				target = l.lk.Rooted(target) // --root: the tree's own /
			}
			target = filepath.Clean(target)
			if inPath(target, l.path) {
				dst := filepath.Base(target)
				if dst == name {
					continue // a self-alias has no effect: the next directory decides
				}
				if !ValidAlias(name, dst) {
					continue
				}
				l.ids[name] = dst
				continue
			}
			// A linked unit file or a mask (/dev/null): systemd 252 reports the symlink
			// in the search path as FragmentPath (checked with systemctl show); %y gives
			// the target.
			l.ids[name] = full
		}
	}
	for src := range l.ids {
		dst, ok := l.resolveID(src)
		if !ok {
			continue
		}
		base := filepath.Base(dst)
		// An alias of a masked unit is not one of its names. A unit file's own entry is
		// listed whether it masks or not (a masked unit is loaded under its name anyway):
		// the scan stats only the targets of aliases, not every unit file.
		if base != src && l.isMask(dst) {
			continue
		}
		if IsTemplate(base) && IsInstance(src) {
			continue // an instance symlink to its template is not an alias
		}
		l.names[base] = append(l.names[base], src)
	}
	for k := range l.names {
		sort.Strings(l.names[k])
	}
}

// ValidAlias applies systemd's unit_validate_alias_symlink_or_warn: same type, and a
// template may only be aliased by a template, an instance by an instance of the same
// instance string, a plain name by a plain name.
func ValidAlias(alias, target string) bool {
	_, ai, as, err1 := ParseName(alias)
	_, ti, ts, err2 := ParseName(target)
	if err1 != nil || err2 != nil || as != ts {
		return false
	}
	aTpl, tTpl := IsTemplate(alias), IsTemplate(target)
	aInst, tInst := IsInstance(alias), IsInstance(target)
	switch {
	case aInst && tTpl: // foo@a.service -> bar@.service
		return true
	case aTpl != tTpl || aInst != tInst: // a plain name for an instance, ...
		return false
	}
	return ai == ti
}

func inPath(p string, dirs []string) bool {
	for _, d := range dirs {
		if strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}

// resolveID follows alias hops to an absolute path, as systemd's unit_ids_map_get.
func (l *Loader) resolveID(name string) (string, bool) {
	for hops := 0; hops < 16; hops++ {
		dst, ok := l.ids[name]
		if !ok {
			return "", false
		}
		if filepath.IsAbs(dst) {
			return dst, true
		}
		name = dst
	}
	return "", false
}

// isMask is IsMaskFile, asked once per path until Reload: a unit's fragment is checked
// several times while it loads. Callers hold l.mu.
func (l *Loader) isMask(p string) bool {
	if v, ok := l.masks[p]; ok {
		return v
	}
	if l.masks == nil {
		l.masks = map[string]bool{}
	}
	v := IsMaskFile(l.lk.InTree(p))
	l.masks[p] = v
	return v
}

// IsMaskFile reports whether p is a character device (/dev/null, and also /dev/zero and any
// other: systemd's null_or_empty) or an empty regular file: such a fragment masks the unit.
// It is stat'ed, never opened.
func IsMaskFile(p string) bool {
	if p == "/dev/null" {
		return true
	}
	st, err := os.Stat(p)
	if err != nil {
		return false
	}
	if st.Mode()&os.ModeCharDevice != 0 && st.Mode()&os.ModeDevice != 0 {
		return true
	}
	return st.Mode().IsRegular() && st.Size() == 0
}

// findFragment returns the fragment path of name (or "") and the unit's names, as systemd's
// unit_file_find_fragment.
func (l *Loader) findFragment(name string) (string, []string) {
	_, inst, _, _ := ParseName(name)
	isTpl := IsTemplate(name)
	set := map[string]bool{}
	if !isTpl {
		set[name] = true
	}
	frag, ok := l.resolveID(name)
	if ok {
		for _, t := range l.names[filepath.Base(frag)] {
			if inst != "" && IsTemplate(t) {
				if n, err := Instantiate(t, inst); err == nil {
					set[n] = true
				}
				continue
			}
			set[t] = true
		}
	}
	if !ok && inst != "" {
		tpl := TemplateOf(name)
		frag, ok = l.resolveID(tpl)
		if ok {
			for _, t := range l.names[filepath.Base(frag)] {
				n, err := Instantiate(t, inst)
				if err != nil {
					continue
				}
				if f2, ok2 := l.resolveID(n); ok2 && filepath.Base(f2) != filepath.Base(frag) {
					continue
				}
				set[n] = true
			}
		}
	}
	if !ok {
		frag = ""
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	return frag, names
}

// base loads name without the implicit dependencies. Callers hold l.mu.
func (l *Loader) base(name string) *Unit {
	l.scan()
	if u := l.units[name]; u != nil {
		return u
	}
	u := &Unit{Name: name}
	u.Unit.UnitSettings, u.Install = noSettings, noInstall
	prefix, inst, sfx, err := ParseName(name)
	if err != nil {
		u.LoadState = LoadError
		u.LoadError = err.Error()
		u.Names = []string{name}
		l.units[name] = u
		return u
	}
	u.Type = Type(sfx)
	frag, names := l.findFragment(name)
	id := name
	if frag != "" && !l.isMask(frag) {
		id = filepath.Base(frag)
		if IsTemplate(id) && inst != "" {
			if n, err := Instantiate(id, inst); err == nil {
				id = n
			}
		}
	}
	if id != name {
		if v := l.units[id]; v != nil {
			l.units[name] = v
			return v
		}
		u.Name = id
		prefix, inst, _, _ = ParseName(id)
	}
	u.Prefix, u.Instance = prefix, inst
	if inst != "" {
		u.Template = TemplateOf(u.Name)
	}
	u.Names = append([]string{u.Name}, without(names, u.Name)...)
	for _, n := range u.Names {
		l.units[n] = u
	}
	l.units[name] = u
	u.FragmentPath = frag
	if frag != "" && l.isMask(frag) {
		u.LoadState = Masked
		u.DropInPaths = l.dropIns(u.Names, ".d", ".conf") // listed by systemd, not applied
		id, ok := statID(l.lk.InTree(frag))
		h := fnvOffset.file(frag, id, ok)
		l.statDropIns(u.DropInPaths, &h)
		l.sums[u] = uint64(h)
		return u
	}
	if frag == "" && u.Type == TypeSlice && l.implicitSlice(u) {
		return u // slice.go: a slice needs no unit file
	}
	if frag == "" {
		// systemd requires a fragment for services, sockets and targets: drop-ins alone
		// do not make a unit (unit_load_fragment_and_dropin with fragment_required).
		u.LoadState = NotFound
		u.LoadError = fmt.Sprintf("Unit %s not found.", u.Name)
		return u
	}
	var files []*File
	h := fnvOffset
	{
		data, id, err := readFileInto(l.lk.InTree(frag), l.buf)
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Op != "read" && !errors.Is(err, syscall.EISDIR) {
			// A fragment that cannot be opened (a dangling or looping linked unit file, a
			// socket) is not found, as in systemd, which says why; so is one that is not
			// a regular file (a FIFO, on which systemd blocks; a block device).
			u.Diagnostics = append(u.Diagnostics, Diagnostic{Severity: Warning, File: frag,
				Msg: Printable(fmt.Sprintf("Failed to open %s: %s", frag, Strerror(err)))})
			u.LoadState, u.FragmentPath = NotFound, ""
			u.LoadError = fmt.Sprintf("Unit %s not found.", u.Name)
			l.volatile = true
			return u
		}
		if err != nil {
			// a directory (systemd: EISDIR), a read error, a file too large
			l.volatile = true
			u.LoadState = LoadError
			u.LoadError = Printable(fmt.Sprintf("%s: %s", frag, Strerror(err)))
			return u
		}
		l.buf = data[:0] // ParseFile copies what it keeps
		f, diags := ParseFile(frag, data)
		u.Diagnostics = append(u.Diagnostics, diags...)
		files = append(files, f)
		u.fragmentMtime = stampOf(id.modTime())
		h = h.file(frag, id, true)
	}
	fatal := firstError(u.Diagnostics)
	u.DropInPaths = l.dropIns(u.Names, ".d", ".conf")
	u.dropInMtime = l.statDropIns(u.DropInPaths, &h)
	l.sums[u] = uint64(h)
	if IsTemplate(u.Name) {
		// systemd refuses to load a template as a unit; its files are still known (cat).
		u.LoadState = LoadError
		u.LoadError = fmt.Sprintf("Unit name %s is missing the instance name.", u.Name)
		return u
	}
	for _, p := range u.DropInPaths {
		if fatal != nil {
			break // like config_parse(), nothing after a fatal syntax error is read
		}
		data, _, err := readFileInto(l.lk.InTree(p), l.buf)
		if err != nil {
			// systemd lists the drop-in and skips it (and blocks on a FIFO, reads
			// /dev/zero for ever); flint skips it and says why.
			u.Diagnostics = append(u.Diagnostics, Diagnostic{Severity: Warning, File: p,
				Msg: Printable(fmt.Sprintf("Failed to read %s, ignoring: %s", p, Strerror(err)))})
			continue
		}
		l.buf = data[:0]
		f, diags := ParseFile(p, data)
		u.Diagnostics = append(u.Diagnostics, diags...)
		files = append(files, f)
		fatal = firstError(diags)
	}
	if fatal != nil {
		// systemd applies (and warns about) the lines read before a fatal syntax error,
		// then fails the unit: decode what was read for its diagnostics.
		u.LoadState = LoadError
		Decode(u, files, l.Expander(u))
		u.LoadState = LoadError
		u.LoadError = fatal.String()
		return u
	}
	u.LoadState = Loaded
	diags := Decode(u, files, l.Expander(u)) // Decode appends diags to u.Diagnostics itself
	if u.LoadState == Loaded {
		for _, d := range diags {
			if d.Severity == Error {
				u.LoadState = BadSetting
				u.LoadError = d.String()
				break
			}
		}
	}
	l.addDirDeps(u)
	u.Unit.WantedByImplicit = l.reverseWants(u)
	return u
}

// firstError returns the first diagnostic of severity Error, or nil.
func firstError(diags []Diagnostic) *Diagnostic {
	for i := range diags {
		if diags[i].Severity == Error {
			return &diags[i]
		}
	}
	return nil
}

func without(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

// appendUnique appends the names not already in list.
func appendUnique(list []string, names ...string) []string {
	for _, n := range names {
		dup := false
		for _, x := range list {
			if x == n {
				dup = true
				break
			}
		}
		if !dup {
			list = append(list, n)
		}
	}
	return list
}
