package install

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/flint-init/flint/unit"
)

// Presets are the rules of systemd.preset(5) files: which units `systemctl preset` enables
// and which it disables.
type Presets struct {
	rules []presetRule
	// Warnings are the lines that could not be read ("FILE:LINE: Couldn't parse line ..."),
	// which systemd logs and passes over.
	Warnings []string
}

// presetRule is one "enable PATTERN [INSTANCE...]" or "disable PATTERN" line.
type presetRule struct {
	enable    bool
	pattern   string
	instances []string // enable TEMPLATE INSTANCE...: the instances a preset enables
}

// presetDirs are systemd 252's preset directories (CONF_PATHS, with Debian's /lib).
func presetDirs(scope unit.Scope) []string {
	if scope == unit.User {
		return []string{"/etc/systemd/user-preset", "/run/systemd/user-preset", "/usr/local/lib/systemd/user-preset", "/usr/lib/systemd/user-preset"}
	}
	return []string{"/etc/systemd/system-preset", "/run/systemd/system-preset", "/usr/local/lib/systemd/system-preset",
		"/usr/lib/systemd/system-preset", "/lib/systemd/system-preset"}
}

// LoadPresets reads the *.preset files of scope's preset directories below root ("" for /):
// ordered by file name, a name in an earlier directory hiding the same name in later ones
// (a link to /dev/null or an empty file masks it), rules in file order. The first rule that
// matches a unit decides.
func LoadPresets(scope unit.Scope, root string) *Presets {
	files := map[string]string{}
	for _, d := range presetDirs(scope) {
		dir := filepath.Join("/", root, d)
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if !strings.HasSuffix(e.Name(), ".preset") {
				continue
			}
			if _, seen := files[e.Name()]; !seen {
				files[e.Name()] = filepath.Join(dir, e.Name())
			}
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	ps := &Presets{}
	for _, n := range names {
		p := files[n]
		if unit.IsMaskFile(p) {
			continue
		}
		data, err := unit.ReadFile(p) // a FIFO or device among the presets neither blocks nor floods
		if err != nil {
			continue
		}
		for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
			if w := ps.parseLine(line); w != "" {
				ps.Warnings = append(ps.Warnings, p+":"+strconv.Itoa(i+1)+": "+w)
			}
		}
	}
	return ps
}

// parseLine adds the rule of one line, or says why there is none ("" for blank lines and
// comments), as systemd's read_presets.
func (ps *Presets) parseLine(line string) string {
	l := strings.Trim(line, " \t\n\r")
	if l == "" || strings.ContainsRune("#;", rune(l[0])) {
		return ""
	}
	if rest, ok := firstWord(l, "enable"); ok {
		words := strings.Fields(rest)
		if len(words) > 1 && !unit.IsTemplate(words[0]) {
			return "Couldn't parse line '" + line + "'. Ignoring."
		}
		ps.rules = append(ps.rules, presetRule{enable: true, pattern: words[0], instances: words[1:]})
		return ""
	}
	if rest, ok := firstWord(l, "disable"); ok {
		ps.rules = append(ps.rules, presetRule{pattern: rest})
		return ""
	}
	return "Couldn't parse line '" + line + "'. Ignoring."
}

// firstWord is systemd's first_word: s begins with word followed by whitespace; the rest
// without that whitespace (which is never empty: s is stripped).
func firstWord(s, word string) (string, bool) {
	rest, ok := strings.CutPrefix(s, word)
	if !ok || rest == "" || !strings.ContainsRune(" \t\n\r", rune(rest[0])) {
		return "", false
	}
	return strings.TrimLeft(rest, " \t\n\r"), true
}

// query is systemd's query_presets: whether the presets enable name (units no rule names
// are enabled) and, when instances is asked for and the deciding rule lists instances of
// name's template, the instances of name it enables.
func (ps *Presets) query(name string, instances bool) (bool, []string) {
	for _, r := range ps.rules {
		tpl := unit.TemplateOf(name)
		if unit.IsTemplate(name) {
			tpl = name
		}
		if instances && len(r.instances) > 0 && tpl == r.pattern {
			if unit.IsTemplate(name) {
				var out []string
				for _, i := range r.instances {
					if n, err := unit.Instantiate(name, i); err == nil {
						out = append(out, n)
					}
				}
				return r.enable, out
			}
			_, inst, _, _ := unit.ParseName(name)
			if slices.Contains(r.instances, inst) {
				return r.enable, nil
			}
		}
		if fnmatch(r.pattern, name) {
			return r.enable, nil
		}
	}
	return true, nil
}

// State is the preset column of list-unit-files: "enabled" or "disabled".
func (ps *Presets) State(name string) string {
	if ok, _ := ps.query(name, false); ok {
		return "enabled"
	}
	return "disabled"
}

// fnmatch is fnmatch(3) with FNM_NOESCAPE on a unit name (no '/'): a backslash is an
// ordinary character.
func fnmatch(pattern, name string) bool {
	ok, err := filepath.Match(strings.ReplaceAll(pattern, `\`, `\\`), name)
	return err == nil && ok
}
