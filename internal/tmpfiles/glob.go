package tmpfiles

import (
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// fnmatch matches name against a shell pattern as fnmatch(3) with FNM_PERIOD and, when
// pathname, FNM_PATHNAME: '*' and '?' never match a '/' and a leading '.' (of the name, or
// of a component) must be matched by a literal '.'; [...] and [!...] or [^...] classes with
// ranges and [:alpha:]-style names; a backslash quotes the next character.
func fnmatch(pattern, name string, pathname bool) bool {
	return match(pattern, name, pathname, true)
}

// match does the work of fnmatch; atStart: name begins a component (a leading '.' needs a
// literal match).
func match(p, n string, pathname, atStart bool) bool {
	for len(p) > 0 {
		c := p[0]
		switch c {
		case '?':
			if len(n) == 0 || (pathname && n[0] == '/') || (atStart && n[0] == '.') {
				return false
			}
			p, n = p[1:], n[1:]
			atStart = false
		case '*':
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			if atStart && len(n) > 0 && n[0] == '.' {
				return false
			}
			if len(p) == 0 {
				return !pathname || !strings.Contains(n, "/")
			}
			for k := 0; k <= len(n); k++ {
				if match(p, n[k:], pathname, false) {
					return true
				}
				if k < len(n) && pathname && n[k] == '/' {
					return false
				}
			}
			return false
		case '[':
			if len(n) == 0 || (pathname && n[0] == '/') || (atStart && n[0] == '.') {
				return false
			}
			ok, rest, valid := matchClass(p, n[0])
			if !valid {
				// An unterminated class is a literal '['.
				if n[0] != '[' {
					return false
				}
				p, n = p[1:], n[1:]
				atStart = false
				continue
			}
			if !ok {
				return false
			}
			p, n = rest, n[1:]
			atStart = false
		default:
			if c == '\\' && len(p) > 1 {
				p = p[1:]
				c = p[0]
			}
			if len(n) == 0 || n[0] != c {
				return false
			}
			atStart = pathname && c == '/'
			p, n = p[1:], n[1:]
		}
	}
	return len(n) == 0
}

var classNames = map[string]func(byte) bool{
	"alpha": func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' },
	"digit": func(c byte) bool { return c >= '0' && c <= '9' },
	"alnum": func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' },
	"upper": func(c byte) bool { return c >= 'A' && c <= 'Z' },
	"lower": func(c byte) bool { return c >= 'a' && c <= 'z' },
	"space": func(c byte) bool { return c == ' ' || c >= '\t' && c <= '\r' },
	"blank": func(c byte) bool { return c == ' ' || c == '\t' },
	"punct": func(c byte) bool {
		return c > ' ' && c < 0x7f && !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9')
	},
	"xdigit": func(c byte) bool { return unhex(c) >= 0 },
	"cntrl":  func(c byte) bool { return c < ' ' || c == 0x7f },
	"print":  func(c byte) bool { return c >= ' ' && c < 0x7f },
	"graph":  func(c byte) bool { return c > ' ' && c < 0x7f },
}

// matchClass matches c against the class at the start of p ("[...]"); it returns the
// pattern after the class, and valid false when the class is not terminated.
func matchClass(p string, c byte) (ok bool, rest string, valid bool) {
	i := 1
	negate := false
	if i < len(p) && (p[i] == '!' || p[i] == '^') {
		negate = true
		i++
	}
	first := true
	for {
		if i >= len(p) {
			return false, "", false
		}
		if p[i] == ']' && !first {
			i++
			break
		}
		first = false
		if p[i] == '[' && i+1 < len(p) && p[i+1] == ':' {
			if end := strings.Index(p[i+2:], ":]"); end >= 0 {
				if f, known := classNames[p[i+2:i+2+end]]; known {
					if f(c) {
						ok = true
					}
					i += 2 + end + 2
					continue
				}
			}
		}
		lo := p[i]
		if lo == '\\' && i+1 < len(p) {
			i++
			lo = p[i]
		}
		i++
		hi := lo
		if i+1 < len(p) && p[i] == '-' && p[i+1] != ']' {
			hi = p[i+1]
			if hi == '\\' && i+2 < len(p) {
				hi = p[i+2]
				i++
			}
			i += 2
		}
		if lo <= c && c <= hi {
			ok = true
		}
	}
	return ok != negate, p[i:], true
}

// braceExpand expands {a,b} alternatives as glob(3) with GLOB_BRACE: each alternative in
// turn, nested braces too; a brace without a matching close or without a comma at its level
// stays as it is.
func braceExpand(p string) []string {
	start := -1
	for i := 0; i < len(p); i++ {
		if p[i] == '\\' {
			i++
			continue
		}
		if p[i] == '{' {
			start = i
			break
		}
	}
	if start < 0 {
		return []string{p}
	}
	depth := 0
	var alts []string
	last := start + 1
	end := -1
	for i := start + 1; i < len(p) && end < 0; i++ {
		switch p[i] {
		case '\\':
			i++
		case '{':
			depth++
		case '}':
			if depth == 0 {
				alts = append(alts, p[last:i])
				end = i
			} else {
				depth--
			}
		case ',':
			if depth == 0 {
				alts = append(alts, p[last:i])
				last = i + 1
			}
		}
	}
	if end < 0 {
		return []string{p}
	}
	var out []string
	for _, a := range alts {
		out = append(out, braceExpand(p[:start]+a+p[end+1:])...)
	}
	return out
}

func hasMagic(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '*', '?', '[':
			return true
		}
	}
	return false
}

// unquote removes the backslashes of a component without glob characters.
func unquote(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// glob returns the paths (with the root directory in front) that the pattern (with the root
// directory in front) matches inside the root directory, in directory order (GLOB_NOSORT,
// GLOB_BRACE): a component without glob characters is taken as it is (the last one only if
// it exists, a symlink included), one with them is matched against the names of the
// directory, a name starting with '.' only by a pattern starting with '.'.
func (r *Runner) glob(pattern string) ([]string, error) {
	var out []string
	for _, p := range braceExpand(pattern) {
		res, err := r.globOne(r.root.inner(p))
		if err != nil {
			return nil, err
		}
		for _, m := range res {
			out = append(out, r.root.outer(m))
		}
	}
	if len(out) == 0 {
		return nil, syscall.ENOENT
	}
	return out, nil
}

func (r *Runner) globOne(pattern string) ([]string, error) {
	comps := strings.Split(strings.Trim(pattern, "/"), "/")
	cur := []string{"/"}
	for k, c := range comps {
		last := k == len(comps)-1
		if c == "" {
			continue
		}
		var next []string
		for _, dir := range cur {
			if !hasMagic(c) {
				cand := joinPath(dir, unquote(c))
				if last {
					if _, _, exists, err := r.root.chase(cand, chaseNoFollow|chaseNonexistent); err != nil || !exists {
						continue
					}
				}
				next = append(next, cand)
				continue
			}
			names, err := r.readDirNames(dir)
			if err != nil {
				continue
			}
			for _, n := range names {
				if fnmatch(c, n, false) {
					next = append(next, joinPath(dir, n))
				}
			}
		}
		cur = next
		if len(cur) == 0 {
			return nil, nil
		}
	}
	return cur, nil
}

// readDirNames lists a directory (inside the root) in directory order, without "." and "..";
// it is opened with O_NOATIME when allowed, so that cleaning ages are not disturbed.
func (r *Runner) readDirNames(dir string) ([]string, error) {
	fd, _, _, err := r.root.chase(dir, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	dfd, err := unix.Open(procPath(fd), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOATIME, 0)
	if err == unix.EPERM {
		dfd, err = unix.Open(procPath(fd), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dfd), dir)
	defer f.Close()
	return f.Readdirnames(-1)
}

// globItem applies action to every path the line's glob matches (glob_item); the first
// error is returned, the others logged.
func (r *Runner) globItem(i *Item, action func(*Item, string, creation) error) error {
	paths, err := r.glob(i.Path)
	if err != nil && err != syscall.ENOENT {
		return r.errorf(err, "glob(%s) failed: %s", i.Path, strerror(err))
	}
	var first error
	for _, p := range paths {
		if err := action(i, p, foundExisting); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// globItemRecursively applies action to every matching path and everything below it, never
// following a symlink (glob_item_recursively).
func (r *Runner) globItemRecursively(i *Item, action fdAction) error {
	paths, err := r.glob(i.Path)
	if err != nil && err != syscall.ENOENT {
		return r.errorf(err, "glob(%s) failed: %s", i.Path, strerror(err))
	}
	var first error
	for _, p := range paths {
		fd, _, _, err := r.root.chase(r.root.inner(p), chaseNoFollow)
		if err != nil {
			r.logf(LevelErr, "Opening '%s' failed: %s", p, strerror(err))
			if first == nil {
				first = err
			}
			continue
		}
		if err := r.itemDo(i, fd, p, action); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// itemDo applies action to fd (taking it over) and, for a directory, to everything in it.
func (r *Runner) itemDo(i *Item, fd int, p string, action fdAction) error {
	defer unix.Close(fd)
	st, err := fstat(fd)
	if err != nil {
		return r.errorf(err, "fstat() on file failed: %s", strerror(err))
	}
	first := action(i, fd, p, st, foundExisting)
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return first
	}
	dfd, err := unix.Open(procPath(fd), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		r.logf(LevelErr, "Failed to opendir() '%s': %s", procPath(fd), strerror(err))
		if first == nil {
			first = err
		}
		return first
	}
	f := os.NewFile(uintptr(dfd), p)
	names, _ := f.Readdirnames(-1)
	f.Close()
	for _, n := range names {
		cfd, err := unix.Openat(fd, n, unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_PATH, 0)
		if err != nil {
			r.logf(LevelErr, "Failed to open() file '%s': %s", n, strerror(err))
			if first == nil {
				first = err
			}
			continue
		}
		if err := r.itemDo(i, cfd, joinPath(p, n), action); err != nil && first == nil {
			first = err
		}
	}
	return first
}
