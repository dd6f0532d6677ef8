package unit

import (
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Status says what flint does with a directive it parses.
type Status string

const (
	// Supported directives are parsed and acted on.
	Supported Status = "supported"
	// NotEnforced directives are parsed and validated like systemd does, recorded in
	// ExecContext.NotEnforced, but not applied (sandboxing, cgroup resource control, ...).
	NotEnforced Status = "not-enforced"
)

// DirectiveInfo describes one directive of the table, for documentation. Supported means
// the value is decoded into a typed field of Unit for the manager to act on (whether it
// does is the manager's documentation); NotEnforced means validated and recorded only.
type DirectiveInfo struct {
	Name    string // "ExecStart"
	Section string // "Service"
	Status  Status
}

type parseFunc func(d *decoder, e Entry, v string)

type directive struct {
	status Status
	parse  parseFunc
}

// directiveTable is the single table of known directives: section -> name -> parser.
var directiveTable = map[string]map[string]*directive{}

func reg(section, name string, st Status, p parseFunc) {
	m := directiveTable[section]
	if m == nil {
		m = map[string]*directive{}
		directiveTable[section] = m
	}
	m[name] = &directive{status: st, parse: p}
}

// regBoth registers a directive of the exec/kill/cgroup contexts in [Service] and [Socket].
func regBoth(name string, st Status, p parseFunc) {
	reg("Service", name, st, p)
	reg("Socket", name, st, p)
}

var sectionOrder = map[string]int{"Unit": 0, "Service": 1, "Socket": 2, "Timer": 3, "Path": 4, "Install": 5}

// Directives returns every directive flint knows, sorted by section ([Unit], [Service],
// [Socket], [Timer], [Path], [Install]) and name.
func Directives() []DirectiveInfo {
	var out []DirectiveInfo
	for sec, m := range directives() {
		for name, dir := range m {
			out = append(out, DirectiveInfo{Name: name, Section: sec, Status: dir.status})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Section != out[j].Section {
			return sectionOrder[out[i].Section] < sectionOrder[out[j].Section]
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// directivesOnce builds directiveTable on first use rather than at program start: most flint
// commands (start, stop, status...) only talk to the manager and never decode a unit file, and
// the ~600 registrations cost the command-line tool a couple of milliseconds.
var directivesOnce sync.Once

// directives returns directiveTable, built.
func directives() map[string]map[string]*directive {
	directivesOnce.Do(func() {
		registerUnit()
		registerInstall()
		registerService()
		registerSocket()
		registerTimer()
		registerPath()
		registerExec()
		registerKill()
		registerNotEnforced()
		registerPrivileges()
		registerProcess()
		registerSandboxFS()
		registerMAC()
		registerFlint()
		t := directiveTable
		sectionsOther = map[string]map[string]*directive{"Unit": t["Unit"], "Install": t["Install"]}
		sectionsService = map[string]map[string]*directive{"Unit": t["Unit"], "Install": t["Install"], "Service": t["Service"]}
		sectionsSocket = map[string]map[string]*directive{"Unit": t["Unit"], "Install": t["Install"], "Socket": t["Socket"]}
		sectionsTimer = map[string]map[string]*directive{"Unit": t["Unit"], "Install": t["Install"], "Timer": t["Timer"]}
		sectionsPath = map[string]map[string]*directive{"Unit": t["Unit"], "Install": t["Install"], "Path": t["Path"]}
		sectionsSlice = map[string]map[string]*directive{"Unit": t["Unit"], "Install": t["Install"], "Slice": sliceTable(t["Service"])}
	})
	return directiveTable
}

// ---- generic value setters; each logs and ignores a bad value as systemd does ----

func pBool(get func(d *decoder) *bool) parseFunc {
	return func(d *decoder, e Entry, v string) {
		b, err := ParseBool(v)
		if err != nil {
			d.warn(e, "Failed to parse boolean value, ignoring: %s", v)
			return
		}
		*get(d) = b
	}
}

// pSec parses a time span as config_parse_sec; infAsZero stores "infinity" as 0.
func pSec(get func(d *decoder) *time.Duration, infAsZero bool) parseFunc {
	return pSecMsg(get, infAsZero, "Failed to parse sec value")
}

// pSecMsg is pSec with systemd's message for a bad value ("<msg>, ignoring: <value>").
func pSecMsg(get func(d *decoder) *time.Duration, infAsZero bool, msg string) parseFunc {
	return func(d *decoder, e Entry, v string) {
		t, err := ParseTimespan(v)
		if err != nil {
			d.warn(e, "%s, ignoring: %s", strings.ReplaceAll(msg, "%K", e.Key), v)
			return
		}
		if t == DurationInfinity && infAsZero {
			t = 0
		}
		*get(d) = t
	}
}

// pString sets a string, with specifiers expanded when expand is set (empty resets).
func pString(get func(d *decoder) *string, expand bool) parseFunc {
	return func(d *decoder, e Entry, v string) {
		if expand {
			x, ok := d.printf(e, v, false)
			if !ok {
				return
			}
			v = x
		}
		*get(d) = v
	}
}

// pEnum accepts one of the given words (empty resets to def unless def is "\x00");
// what names the value in systemd's warning ("Failed to parse <what>, ignoring: v"),
// where %K stands for the directive name.
func pEnum(get func(d *decoder) *string, def, what string, allowed ...string) parseFunc {
	return func(d *decoder, e Entry, v string) {
		if v == "" && def != "\x00" {
			*get(d) = def
			return
		}
		for _, a := range allowed {
			if v == a {
				*get(d) = a // the word itself, as the defaults: a unit can share the part it is in
				return
			}
		}
		d.warn(e, "Failed to parse %s, ignoring: %s", strings.ReplaceAll(what, "%K", e.Key), v)
	}
}

func pInt(get func(d *decoder) *int, min, max int) parseFunc {
	return func(d *decoder, e Entry, v string) {
		n, err := strconv.Atoi(v)
		if err != nil || n < min || n > max {
			d.warn(e, "Failed to parse int value, ignoring: %s", v)
			return
		}
		*get(d) = n
	}
}

// pOptionalInt parses an integer in [min, max] that may also be unset (an empty value resets
// it): Nice=, OOMScoreAdjust=. bad and outOfRange are systemd's messages, with %s the value.
func pOptionalInt(get func(d *decoder) (*int, *bool), min, max int, bad, outOfRange string) parseFunc {
	return func(d *decoder, e Entry, v string) {
		n, set := get(d)
		if v == "" {
			*n, *set = 0, false
			return
		}
		i, err := strconv.Atoi(v)
		if err != nil {
			d.warn(e, bad, v)
			return
		}
		if i < min || i > max {
			d.warn(e, outOfRange, v)
			return
		}
		*n, *set = i, true
	}
}

func pUnsigned(get func(d *decoder) *int) parseFunc {
	return func(d *decoder, e Entry, v string) {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			d.warn(e, "Failed to parse unsigned value, ignoring: %s", v)
			return
		}
		*get(d) = int(n)
	}
}

func pMode(get func(d *decoder) *os.FileMode) parseFunc {
	return func(d *decoder, e Entry, v string) {
		m, err := ParseMode(v)
		if err != nil {
			d.warn(e, "Failed to parse mode value, ignoring: %s", v)
			return
		}
		*get(d) = m
	}
}

func pSize(get func(d *decoder) *uint64) parseFunc {
	return func(d *decoder, e Entry, v string) {
		n, err := ParseSize(v)
		if err != nil {
			d.warn(e, "Failed to parse size value '%s', ignoring: Invalid argument", v)
			return
		}
		*get(d) = n
	}
}

// pStrv appends whitespace-separated words (quotes removed), empty resets. validate may
// reject a word (warning, word ignored).
func pStrv(get func(d *decoder) *[]string, expand bool, validate func(string) bool) parseFunc {
	return func(d *decoder, e Entry, v string) {
		l := get(d)
		if v == "" {
			*l = nil
			return
		}
		words, warning, err := splitWords(v, exUnquote)
		if warning != "" {
			d.warn(e, "%s", warning)
		}
		if err != nil {
			d.warn(e, "Invalid syntax, ignoring: %s", v)
			return
		}
		for _, w := range words {
			if expand {
				x, ok := d.printf(e, w, false)
				if !ok {
					continue
				}
				w = x
			}
			if validate != nil && !validate(w) {
				d.warn(e, "%s", invalidWordMsg(e.Key, w))
				continue
			}
			*l = append(*l, w)
		}
	}
}

// pAccept accepts any value: for directives that flint records but does not interpret.
func pAccept(d *decoder, e Entry, v string) {}

func isAbsPath(s string) bool { return strings.HasPrefix(s, "/") && pathIsValid(s) }

type time_ = time.Duration

// pSecZeroInf parses a time span where 0 and "infinity" both mean no limit (stored as 0),
// as systemd's config_parse_sec_fix_0.
func pSecZeroInf(get func(d *decoder) *time.Duration) parseFunc {
	return pSecMsg(get, true, "Failed to parse time value")
}

type osFileMode = os.FileMode
type sysSignal = syscall.Signal

// invalidWordMsg is systemd's warning for a rejected word of a list directive.
func invalidWordMsg(key, w string) string {
	switch key {
	case "Documentation":
		return "Invalid URL, ignoring: " + w
	}
	return key + "= path is not absolute, ignoring: " + w
}

// pPath is config_parse_unit_path_printf: an absolute path, specifiers expanded, empty resets.
// With fatal (RootDirectory=), a bad value makes the unit fail to load instead of a warning.
func pPath(get func(d *decoder) *string, fatal bool) parseFunc {
	return func(d *decoder, e Entry, v string) {
		if v == "" {
			*get(d) = ""
			return
		}
		x, ok := d.printf(e, v, fatal)
		if !ok {
			return
		}
		if !isAbsPath(x) {
			if fatal {
				d.fail(e, "%s= path is not absolute: %s", e.Key, x)
			} else {
				d.warn(e, "%s= path is not absolute, ignoring: %s", e.Key, x)
			}
			return
		}
		*get(d) = path.Clean(x)
	}
}
