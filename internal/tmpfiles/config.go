package tmpfiles

import (
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"syscall"
)

// operation is what a run does: create, remove, clean (a bit set).
type operation uint8

const (
	opCreate operation = 1 << iota
	opRemove
	opClean
)

// itemArray holds the lines of one path (or glob), ordered by itemLess, and links to the
// closest configured parent path and to the paths below it.
type itemArray struct {
	path     string
	items    []*Item
	parent   *itemArray
	children []*itemArray
}

// orderedArrays is a map of paths to their lines that remembers the order of first insertion
// (systemd's OrderedHashmap).
type orderedArrays struct {
	byPath map[string]*itemArray
	order  []*itemArray
}

func (o *orderedArrays) get(p string) *itemArray {
	if o.byPath == nil {
		return nil
	}
	return o.byPath[p]
}

func (o *orderedArrays) getOrAdd(p string) *itemArray {
	if a := o.get(p); a != nil {
		return a
	}
	if o.byPath == nil {
		o.byPath = map[string]*itemArray{}
	}
	a := &itemArray{path: p}
	o.byPath[p] = a
	o.order = append(o.order, a)
	return a
}

// Config is every line read, by path: plain paths and globs apart, as systemd-tmpfiles keeps
// them.
type Config struct {
	items, globs orderedArrays
	// Invalid: some line was wrong (exit status 65).
	Invalid bool
}

// Dirs are the configuration directories, most important first: for the system scope
// /etc/tmpfiles.d, /run/tmpfiles.d, /usr/local/lib/tmpfiles.d, /usr/lib/tmpfiles.d and
// /lib/tmpfiles.d (Debian's systemd 252 still looks there); for the user scope the
// user-tmpfiles.d directories of the XDG base directories, as systemd-tmpfiles --user.
func Dirs(user bool, getenv func(string) string) []string {
	if !user {
		return []string{"/etc/tmpfiles.d", "/run/tmpfiles.d", "/usr/local/lib/tmpfiles.d", "/usr/lib/tmpfiles.d", "/lib/tmpfiles.d"}
	}
	const sub = "/user-tmpfiles.d"
	home := getenv("HOME")
	xdg := func(env, def string) string {
		if d := getenv(env); path.IsAbs(d) {
			return d
		}
		if path.IsAbs(home) {
			return path.Join(home, def)
		}
		return ""
	}
	list := func(env, def string) []string {
		v := getenv(env)
		if v == "" {
			v = def
		}
		var out []string
		for _, d := range strings.Split(v, ":") {
			if path.IsAbs(d) {
				out = append(out, d+sub)
			}
		}
		return out
	}
	var dirs []string
	dirs = append(dirs, list("XDG_CONFIG_DIRS", "/etc/xdg")...)
	if d := xdg("XDG_CONFIG_HOME", ".config"); d != "" {
		dirs = append(dirs, d+sub)
	}
	if d := getenv("XDG_RUNTIME_DIR"); path.IsAbs(d) {
		dirs = append(dirs, d+sub)
	}
	if d := xdg("XDG_DATA_HOME", ".local/share"); d != "" {
		dirs = append(dirs, d+sub)
	}
	return append(dirs, list("XDG_DATA_DIRS", "/usr/local/share:/usr/share")...)
}

// resolveDirs canonicalizes the directories inside root (path_strv_resolve_uniq): symlinks
// followed, a missing directory kept as it is, duplicates dropped.
func resolveDirs(dirs []string, root string) []string {
	var out []string
	seen := map[string]bool{}
	for _, d := range dirs {
		r, err := chaseName(root, d)
		if err != nil {
			if !isErrno(err, syscall.ENOENT) {
				continue
			}
			r = d
		}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// ListFiles lists the *.conf files of the directories (inside root), one per file name, the
// first directory that has it winning, sorted by file name (conf_files_list). A file name
// starting with a dot is left out. With replace (--replace=PATH), that path takes the place
// of the file of the same name if its directory is more important, or is added.
func ListFiles(dirs []string, root, replace string) []string {
	found := map[string]string{}
	for _, d := range resolveDirs(dirs, root) {
		full := joinPath(root, d)
		f, err := os.Open(full)
		if err != nil {
			continue
		}
		names, _ := f.Readdirnames(-1)
		f.Close()
		for _, n := range names {
			if !strings.HasSuffix(n, ".conf") || strings.HasPrefix(n, ".") {
				continue
			}
			if _, ok := found[n]; !ok {
				found[n] = joinPath(full, n)
			}
		}
	}
	files := make([]string, 0, len(found))
	for _, p := range found {
		files = append(files, p)
	}
	sort.Slice(files, func(a, b int) bool { return path.Base(files[a]) < path.Base(files[b]) })
	if replace == "" {
		return files
	}
	return insertReplacement(files, dirs, root, replace)
}

// insertReplacement is conf_files_insert(): path goes where its file name sorts, unless a
// file of that name comes from a directory at least as important.
func insertReplacement(files, dirs []string, root, p string) []string {
	base := path.Base(p)
	i := 0
	for ; i < len(files); i++ {
		c := strings.Compare(path.Base(files[i]), base)
		if c > 0 {
			break
		}
		if c < 0 {
			continue
		}
		for _, d := range dirs {
			if _, ok := pathStartsWith(files[i], joinPath(root, d)); ok {
				return files
			}
			if _, ok := pathStartsWith(p, d); ok {
				files[i] = joinPath(root, p)
				return files
			}
		}
	}
	out := append([]string(nil), files[:i]...)
	out = append(out, joinPath(root, p))
	return append(out, files[i:]...)
}

// Reader reads configuration files into a Config.
type Reader struct {
	Parser *Parser
	Dirs   []string // where relative file names are looked for
	Stdin  io.Reader
	Config *Config
}

// ReadFile reads one file: "-" is standard input, an absolute path is opened as it is (not
// inside the root directory, as systemd-tmpfiles does), another name is looked for in the
// directories. ignoreMissing: a file that does not exist is no error. The error returned is
// the first error of the file that is not a mistake in the configuration (those set
// Config.Invalid); every error has been logged.
func (r *Reader) ReadFile(fn string, ignoreMissing bool) error {
	p := r.Parser
	var in io.Reader
	var name string
	switch {
	case fn == "-":
		name, in = "<stdin>", r.Stdin
		if in == nil {
			in = strings.NewReader("")
		}
	default:
		f, n, err := r.open(fn)
		if err != nil {
			if ignoreMissing && isErrno(err, syscall.ENOENT) {
				p.logf(LevelDebug, "Failed to open \"%s\", ignoring: %s", fn, strerror(err))
				return nil
			}
			p.logf(LevelErr, "Failed to open '%s': %s", fn, strerror(err))
			return err
		}
		defer f.Close()
		name, in = n, f
	}
	data, err := io.ReadAll(in)
	if err != nil {
		p.logf(LevelErr, "Failed to read '%s': %s", name, strerror(err))
		return err
	}
	lines, lerr := splitLines(data)
	var first error
	for n, l := range lines {
		l = strings.Trim(l, whitespace)
		if l == "" || l[0] == '#' {
			continue
		}
		it, err := p.ParseLine(name, n+1, l)
		if err != nil {
			p.logf(LevelErr, "%s", err.Error())
			le, ok := err.(*LineError)
			if ok && le.Invalid {
				r.Config.Invalid = true
			} else if first == nil {
				first = err
			}
			continue
		}
		if it != nil {
			r.Config.add(p, it)
		}
	}
	if lerr != nil {
		p.logf(LevelErr, "Failed to read '%s': %s", name, strerror(lerr))
		return lerr
	}
	r.Config.inheritAges()
	return first
}

// open opens an absolute path as it is, or fn in the first directory (inside the root) that
// has it; it returns the path it opened.
func (r *Reader) open(fn string) (*os.File, string, error) {
	if strings.HasPrefix(fn, "/") {
		f, err := os.Open(fn)
		return f, simplify(fn), err
	}
	for _, d := range resolveDirs(r.Dirs, r.Parser.Root) {
		p := simplify(joinPath(joinPath(r.Parser.Root, d), fn))
		f, err := os.Open(p)
		if err == nil {
			return f, p, nil
		}
		if !isErrno(err, syscall.ENOENT) {
			return nil, "", err
		}
	}
	return nil, "", syscall.ENOENT
}

// add keeps a parsed line, unless it conflicts with one kept before for its path.
func (c *Config) add(p *Parser, i *Item) {
	m := &c.items
	if i.Type.needsGlob() {
		m = &c.globs
	}
	a := m.get(i.Path)
	if a != nil && duplicated(a.items, i) {
		p.syntax(LevelNotice, i.File, i.Line, "Duplicate line for path \"%s\", ignoring.", i.Path)
		return
	}
	a = m.getOrAdd(i.Path)
	a.items = append(a.items, i)
	sort.SliceStable(a.items, func(x, y int) bool { return itemLess(a.items[x], a.items[y]) })
}

// inheritAges gives each X line without an age the age of the directory line (d, D, v, q,
// Q) for the same path, or else of the closest one above it (read_config_file's loop, run
// after each file).
func (c *Config) inheritAges() {
	for _, ia := range c.globs.order {
		for _, i := range ia.items {
			if i.Type != IgnoreDirectoryPath {
				continue
			}
			var cand *Item
			for _, ja := range c.items.order {
				for _, j := range ja.items {
					if !j.Type.isDirectoryType() {
						continue
					}
					if simplify(j.Path) == simplify(i.Path) {
						cand = j
						break
					}
					if cand != nil {
						if _, ok := pathStartsWith(j.Path, cand.Path); ok && fnmatch(i.Path, j.Path, true) {
							cand = j
						}
					} else if _, ok := pathStartsWith(i.Path, j.Path); ok {
						cand = j
					}
				}
			}
			if cand != nil && cand.AgeSet {
				i.Age, i.AgeSet = cand.Age, true
			}
		}
	}
}

// link connects every path to the closest configured path above it (link_parent), plain
// paths first, then globs.
func (c *Config) link() {
	for _, m := range []*orderedArrays{&c.items, &c.globs} {
		for _, a := range m.order {
			if len(a.items) == 0 {
				continue
			}
			p := a.items[0].Path
			for {
				k := strings.LastIndexByte(p, '/')
				if k <= 0 {
					break
				}
				p = p[:k]
				j := c.items.get(p)
				if j == nil {
					j = c.globs.get(p)
				}
				if j != nil {
					j.children = append(j.children, a)
					a.parent = j
					break
				}
			}
		}
	}
}

// Len is the number of lines kept.
func (c *Config) Len() int {
	n := 0
	for _, m := range []*orderedArrays{&c.items, &c.globs} {
		for _, a := range m.order {
			n += len(a.items)
		}
	}
	return n
}

// Items are the lines kept, plain paths first, in the order they will be applied.
func (c *Config) Items() []*Item {
	var out []*Item
	for _, m := range []*orderedArrays{&c.items, &c.globs} {
		for _, a := range m.order {
			out = append(out, a.items...)
		}
	}
	return out
}
