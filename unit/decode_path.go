package unit

import (
	"strings"
	"time"
)

// PathKind is which directive of a path unit watches a path.
type PathKind string

const (
	PathExists        PathKind = "PathExists"        // the path exists
	PathExistsGlob    PathKind = "PathExistsGlob"    // a file matches the glob
	PathChanged       PathKind = "PathChanged"       // written and closed, created, deleted, moved
	PathModified      PathKind = "PathModified"      // PathChanged=, and any write
	DirectoryNotEmpty PathKind = "DirectoryNotEmpty" // the directory holds a file
)

// PathSpec is one watched path.
type PathSpec struct {
	Kind PathKind
	Path string // absolute, simplified
}

// PathSection is the [Path] section (systemd.path(5)).
type PathSection struct {
	// Specs in systemd's order: it prepends each line to its list, so the last line comes
	// first (what `systemctl show` lists as Paths=). An empty assignment of any of them empties
	// the list.
	Specs                []PathSpec
	MakeDirectory        bool
	DirectoryMode        osFileMode    // default 0755
	TriggerLimitInterval time.Duration // default 2s
	TriggerLimitBurst    int           // default 200
	TriggerLimitCooldown time.Duration // X-Flint-TriggerLimitCooldownSec=; 0: off
	// Unit is Unit= as written (specifiers resolved, a template instantiated); "" means the
	// service of the path unit's name (PathUnit).
	Unit string
}

// PathUnit is the unit a path unit starts: Unit= or the service of the same name.
func (u *Unit) PathUnit() string {
	if u.Path == nil {
		return ""
	}
	if u.Path.Unit != "" {
		return u.Path.Unit
	}
	return strings.TrimSuffix(u.Name, ".path") + ".service"
}

// simplifyPath is systemd's path_simplify: no "." components, no repeated or trailing
// slashes ("..." is kept).
func simplifyPath(p string) string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c == "" || c == "." {
			continue
		}
		out = append(out, c)
	}
	s := strings.Join(out, "/")
	if strings.HasPrefix(p, "/") {
		return "/" + s
	}
	if s == "" {
		return "."
	}
	return s
}

func registerPath() {
	S := Supported
	p := func(d *decoder) *PathSection { return d.u.Path }
	for _, kind := range []PathKind{PathExists, PathExistsGlob, PathChanged, PathModified, DirectoryNotEmpty} {
		reg("Path", string(kind), S, func(d *decoder, e Entry, v string) {
			if v == "" {
				p(d).Specs = nil
				return
			}
			x, err := expandWith(d.expand, v)
			if err != nil {
				d.warn(e, "Failed to resolve unit specifiers in %s, ignoring: %s", v, specifierErr(err))
				return
			}
			// path_simplify_and_warn(PATH_CHECK_ABSOLUTE)
			if !isAbsPath(x) {
				d.warn(e, "%s= path is not absolute, ignoring: %s", e.Key, x)
				return
			}
			x = simplifyPath(x)
			if len(x) >= 4096 {
				d.warn(e, "%s= path has invalid length (%d bytes), ignoring.", e.Key, len(x))
				return
			}
			for _, c := range strings.Split(x, "/") {
				if c == ".." {
					d.warn(e, "%s= path is not normalized, ignoring: %s", e.Key, x)
					return
				}
			}
			p(d).Specs = append([]PathSpec{{Kind: kind, Path: x}}, p(d).Specs...)
		})
	}
	reg("Path", "MakeDirectory", S, pBool(func(d *decoder) *bool { return &p(d).MakeDirectory }))
	reg("Path", "DirectoryMode", S, pMode(func(d *decoder) *osFileMode { return &p(d).DirectoryMode }))
	reg("Path", "TriggerLimitIntervalSec", S, pSec(func(d *decoder) *time.Duration { return &p(d).TriggerLimitInterval }, false))
	reg("Path", "TriggerLimitBurst", S, pUnsigned(func(d *decoder) *int { return &p(d).TriggerLimitBurst }))
	reg("Path", "Unit", S, pTriggerUnit(func(d *decoder) *string { return &p(d).Unit }))
}
