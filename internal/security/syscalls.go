package security

import (
	"strconv"
	"strings"

	"github.com/flint-init/flint/internal/sandbox"
)

// The system call groups and the native architecture's calls are the sandbox's
// (internal/sandbox, generated from systemd-analyze syscall-filter and the kernel's
// tables): what the assessment counts is what the filter enforces.

// native reports whether name is a system call of the native architecture: the names the
// assessment and the filter keep (a name of another architecture, or unknown, is ignored
// as systemd ignores it).
func native(name string) bool { return sandbox.NativeSyscall(name) }

// syscallGroup is the members of a @group in systemd's order.
func syscallGroup(name string) []string {
	g, _ := sandbox.Group(name)
	return g
}

// parseSyscallFilter is config_parse_syscall_filter: the first assignment decides between
// an allow list (which starts with @default) and a deny list ('~'); later assignments add
// to it or take from it; the empty assignment resets. "name:errno" keeps the name.
func (r *rawContext) parseSyscallFilter(v string) {
	if v == "" {
		r.syscalls, r.syscallAllow = nil, false
		return
	}
	invert := false
	if strings.HasPrefix(v, "~") {
		invert, v = true, v[1:]
	}
	if r.syscalls == nil {
		r.syscalls = map[string]bool{}
		r.syscallAllow = !invert
		if r.syscallAllow {
			r.addSyscall("@default", false)
		}
	}
	for _, w := range words(v) {
		name, errno, hasErrno := strings.Cut(w, ":")
		if hasErrno {
			if !invert || !validErrno(errno) {
				continue // an allowed call takes no errno; a bad errno drops the entry
			}
		}
		r.addSyscall(name, invert)
	}
}

// addSyscall is seccomp_parse_syscall_filter: a group adds each member; a call listed
// the way the list goes (allowed in an allow list, denied in a deny list) is added,
// the other way it is taken out.
func (r *rawContext) addSyscall(name string, invert bool) {
	if strings.HasPrefix(name, "@") {
		for _, m := range syscallGroup(name) {
			r.addSyscall(m, invert)
		}
		return
	}
	if !native(name) {
		return
	}
	if invert != r.syscallAllow {
		r.syscalls[name] = true
	} else {
		delete(r.syscalls, name)
	}
}

func (r *rawContext) syscallNames() map[string]bool {
	if r.syscalls == nil {
		return map[string]bool{}
	}
	return r.syscalls
}

// validErrno approximates parse_errno: a number up to 4095, an errno name ("EPERM"), or
// "kill", the action that kills instead.
func validErrno(s string) bool {
	if s == "kill" {
		return true
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n >= 0 && n <= 4095
	}
	if len(s) < 2 || s[0] != 'E' {
		return false
	}
	for _, c := range s[1:] {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// groupOffender tells whether the filter lets through a call of the group (a call of
// it allowed by an allow list, or missing from a deny list), and names the first one
// in the group's order: syscall_names_in_filter.
func groupOffender(filter map[string]bool, allowList bool, group string) (string, bool) {
	for _, m := range syscallGroup(group) {
		if strings.HasPrefix(m, "@") {
			if o, bad := groupOffender(filter, allowList, m); bad {
				return o, true
			}
			continue
		}
		if !native(m) {
			continue
		}
		if filter[m] == allowList {
			return m, true
		}
	}
	return "", false
}
