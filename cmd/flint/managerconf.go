package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/flint-init/flint/unit"
)

// managerConfPaths are systemd's manager configuration files for scope, in the order they
// apply: system.conf (user.conf for --user) in /etc/systemd, then the drop-ins
// NAME.conf.d/*.conf of /etc, /run, /usr/local/lib and /usr/lib, by file name, a name in an
// earlier directory hiding the same name in a later one (systemd's config_parse_config_file).
func managerConfPaths(scope unit.Scope) []string {
	name := "system.conf"
	if scope == unit.User {
		name = "user.conf"
	}
	out := []string{filepath.Join("/etc/systemd", name)}
	seen := map[string]string{}
	for _, dir := range []string{"/etc/systemd", "/run/systemd", "/usr/local/lib/systemd", "/usr/lib/systemd"} {
		ents, _ := os.ReadDir(filepath.Join(dir, name+".d"))
		for _, e := range ents {
			if _, ok := seen[e.Name()]; !ok && filepath.Ext(e.Name()) == ".conf" {
				seen[e.Name()] = filepath.Join(dir, name+".d", e.Name())
			}
		}
	}
	var names []string
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, seen[n])
	}
	return out
}

// defaultOOMPolicy is DefaultOOMPolicy= of [Manager] in the manager configuration files (the
// last valid assignment; "" when none). The other settings of those files are not read by
// flint. A bad value is reported on w with its file and line, and ignored, as systemd does.
func defaultOOMPolicy(paths []string, w io.Writer) string {
	policy := ""
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		f, _ := unit.ParseFile(p, data)
		for _, s := range f.Sections {
			if s.Name != "Manager" {
				continue
			}
			for _, e := range s.Entries {
				if e.Key != "DefaultOOMPolicy" {
					continue
				}
				switch e.Value {
				case "continue", "stop", "kill":
					policy = e.Value
				case "":
					policy = ""
				default:
					fmt.Fprintf(w, "%s: Failed to parse OOM policy, ignoring: %s\n", e.Pos(), e.Value)
				}
			}
		}
	}
	return policy
}
