package sandbox

import (
	"strings"

	"golang.org/x/sys/unix"
)

// namespaceFlags are RestrictNamespaces='s names, in systemd's order (namespace_info).
var namespaceFlags = []struct {
	name string
	flag uint64
}{
	{"cgroup", unix.CLONE_NEWCGROUP}, {"ipc", unix.CLONE_NEWIPC}, {"net", unix.CLONE_NEWNET},
	{"mnt", unix.CLONE_NEWNS}, {"pid", unix.CLONE_NEWPID}, {"user", unix.CLONE_NEWUSER},
	{"uts", unix.CLONE_NEWUTS},
}

// NamespacesAll is systemd's NAMESPACE_FLAGS_ALL: RestrictNamespaces=no (nothing restricted).
const NamespacesAll = unix.CLONE_NEWCGROUP | unix.CLONE_NEWIPC | unix.CLONE_NEWNET | unix.CLONE_NEWNS |
	unix.CLONE_NEWPID | unix.CLONE_NEWUSER | unix.CLONE_NEWUTS

// NamespacesInitial is RestrictNamespaces= unset (systemd's NAMESPACE_FLAGS_INITIAL): every
// type retained, and the next list replaces rather than merges.
const NamespacesInitial = ^uint64(0)

// ParseNamespaces is systemd's config_parse_restrict_namespaces for one line: the namespace
// types a process may still create or join (retain), given those retained so far; "" resets
// to NamespacesInitial, "no" retains all, "yes" none; a list retains those, a "~" list all but
// those; after the first assignment, lists merge (a list adds, "~" takes away). ok is false
// for an unknown word. The types retained are the result & NamespacesAll.
func ParseNamespaces(cur uint64, line string) (uint64, bool) {
	first := cur == NamespacesInitial
	switch line {
	case "":
		return NamespacesInitial, true
	case "no", "false", "off", "0", "n", "f":
		return NamespacesAll, true
	case "yes", "true", "on", "1", "y", "t":
		return 0, true
	}
	invert := false
	if line[0] == '~' {
		invert = true
		line = line[1:]
	}
	var flags uint64
	for _, w := range strings.Fields(line) {
		found := false
		for _, n := range namespaceFlags {
			if n.name == w {
				flags |= n.flag
				found = true
			}
		}
		if !found {
			return cur, false
		}
	}
	if first {
		if invert {
			return NamespacesAll &^ flags, true
		}
		return flags, true
	}
	if invert {
		return cur &^ flags, true
	}
	return cur | flags, true
}

// FormatNamespaces is how systemctl show prints RestrictNamespaces=: "yes" for none
// retained, "no" for all, else the names retained (or "~" and those refused, whichever
// systemd's namespace_flags_to_string picks: it prints the retained ones).
func FormatNamespaces(retain uint64) string {
	switch retain & NamespacesAll {
	case NamespacesAll:
		return "no"
	case 0:
		return "yes"
	}
	var w []string
	for _, n := range namespaceFlags {
		if retain&n.flag != 0 {
			w = append(w, n.name)
		}
	}
	return strings.Join(w, " ")
}
