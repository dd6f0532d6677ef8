package manager

import (
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/unit"
)

// evalConditions checks Condition*= (assert false) or Assert*= (assert true) as systemd does:
// every non-triggering one must hold, and if there are triggering ('|') ones, at least one of
// them must hold. It returns the first failing one as "ConditionX=param".
func evalConditions(conds []unit.Condition, assert bool, scope unit.Scope) (bool, string) {
	var trig, trigOK bool
	var trigFailed string
	for _, c := range conds {
		if c.Assert != assert {
			continue
		}
		ok := evalCondition(c, scope)
		if c.Negate {
			ok = !ok
		}
		prefix := "Condition"
		if assert {
			prefix = "Assert"
		}
		desc := prefix + c.Kind + "=" + map[bool]string{true: "|", false: ""}[c.Trigger] + map[bool]string{true: "!", false: ""}[c.Negate] + c.Param
		if c.Trigger {
			trig = true
			if ok {
				trigOK = true
			} else if trigFailed == "" {
				trigFailed = desc
			}
			continue
		}
		if !ok {
			return false, desc
		}
	}
	if trig && !trigOK {
		return false, trigFailed
	}
	return true, ""
}

// unmetConditions is what systemd 252's status lists under "Condition: start condition
// failed": systemd tests a unit's conditions last to first (its list is built by prepending)
// and stops at the first failed one that is not a trigger; the failed ones, in file order.
func unmetConditions(conds []unit.Condition, assert bool, scope unit.Scope) []string {
	var failed []string
	for i := len(conds) - 1; i >= 0; i-- {
		c := conds[i]
		if c.Assert != assert {
			continue
		}
		if evalCondition(c, scope) != c.Negate {
			continue
		}
		prefix := "Condition"
		if assert {
			prefix = "Assert"
		}
		failed = append([]string{prefix + c.Kind + "=" + map[bool]string{true: "|", false: ""}[c.Trigger] +
			map[bool]string{true: "!", false: ""}[c.Negate] + c.Param}, failed...)
		if !c.Trigger {
			break
		}
	}
	return failed
}

func evalCondition(c unit.Condition, scope unit.Scope) bool {
	p := c.Param
	switch c.Kind {
	case "PathExists":
		_, err := os.Stat(p)
		return err == nil
	case "PathExistsGlob":
		m, _ := filepath.Glob(p)
		return len(m) > 0
	case "PathIsDirectory":
		fi, err := os.Stat(p)
		return err == nil && fi.IsDir()
	case "PathIsSymbolicLink":
		fi, err := os.Lstat(p)
		return err == nil && fi.Mode()&os.ModeSymlink != 0
	case "PathIsMountPoint":
		return isMountPoint(p)
	case "PathIsReadWrite":
		return unix.Access(p, unix.W_OK) == nil && !isReadOnlyFS(p)
	case "PathIsEncrypted":
		return false
	case "DirectoryNotEmpty":
		ents, err := os.ReadDir(p)
		return err == nil && len(ents) > 0
	case "FileNotEmpty":
		fi, err := os.Stat(p)
		return err == nil && fi.Mode().IsRegular() && fi.Size() > 0
	case "FileIsExecutable":
		fi, err := os.Stat(p)
		return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
	case "User":
		if p == "@system" {
			return os.Getuid() < 1000
		}
		if n, err := strconv.Atoi(p); err == nil {
			return os.Getuid() == n
		}
		u, err := user.Current()
		return err == nil && u.Username == p
	case "Group":
		gids, _ := os.Getgroups()
		gids = append(gids, os.Getgid())
		want := -1
		if n, err := strconv.Atoi(p); err == nil {
			want = n
		} else if g, err := user.LookupGroup(p); err == nil {
			want, _ = strconv.Atoi(g.Gid)
		}
		for _, g := range gids {
			if g == want {
				return true
			}
		}
		return false
	case "Host":
		h, _ := os.Hostname()
		if ok, _ := filepath.Match(p, h); ok {
			return true
		}
		id, _ := os.ReadFile("/etc/machine-id")
		return strings.TrimSpace(string(id)) == p
	case "KernelCommandLine":
		data, _ := os.ReadFile("/proc/cmdline")
		for _, w := range strings.Fields(string(data)) {
			if w == p || strings.HasPrefix(w, p+"=") && !strings.Contains(p, "=") {
				return true
			}
		}
		return false
	case "Virtualization":
		v := detectVirt()
		switch p {
		case "yes", "true", "1":
			return v != "none"
		case "no", "false", "0":
			return v == "none"
		case "container":
			return isContainer()
		case "vm":
			return v != "none" && !isContainer()
		}
		return v == p
	case "Architecture":
		return p == archName()
	case "Environment":
		for _, kv := range os.Environ() {
			if kv == p || !strings.Contains(p, "=") && strings.HasPrefix(kv, p+"=") {
				return true
			}
		}
		return false
	case "FirstBoot":
		_, err := os.Stat("/etc/machine-id")
		first := err != nil
		return (p == "yes" || p == "true" || p == "1") == first
	case "NeedsUpdate":
		return false
	case "ACPower":
		return true
	case "Capability", "Security", "ControlGroupController", "KernelVersion", "CPUs", "Memory",
		"OSRelease", "CPUFeature", "Credential", "MemoryPressure", "CPUPressure", "IOPressure", "Firmware":
		return true // not evaluated by flint: treated as met (docs/compatibility.md)
	}
	return true
}

func isMountPoint(p string) bool {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	clean := filepath.Clean(p)
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == clean {
			return true
		}
	}
	return false
}

func isReadOnlyFS(p string) bool {
	var st unix.Statfs_t
	if unix.Statfs(p, &st) != nil {
		return false
	}
	return st.Flags&unix.ST_RDONLY != 0
}

func isContainer() bool {
	if os.Getenv("container") != "" {
		return true
	}
	if _, err := os.Stat("/.dockerenv"); err == nil {
		return true
	}
	data, _ := os.ReadFile("/run/systemd/container")
	return len(strings.TrimSpace(string(data))) > 0
}

func detectVirt() string {
	if c := os.Getenv("container"); c != "" {
		return c
	}
	if isContainer() {
		return "container-other"
	}
	data, _ := os.ReadFile("/sys/class/dmi/id/sys_vendor")
	v := strings.ToLower(strings.TrimSpace(string(data)))
	switch {
	case strings.Contains(v, "qemu"):
		return "qemu"
	case strings.Contains(v, "kvm"):
		return "kvm"
	case strings.Contains(v, "vmware"):
		return "vmware"
	case strings.Contains(v, "microsoft"):
		return "microsoft"
	case strings.Contains(v, "amazon"):
		return "amazon"
	}
	cpu, _ := os.ReadFile("/proc/cpuinfo")
	if strings.Contains(string(cpu), "hypervisor") {
		return "vm-other"
	}
	return "none"
}

func archName() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86-64"
	case "386":
		return "x86"
	case "arm64":
		return "arm64"
	case "arm":
		return "arm"
	case "riscv64":
		return "riscv64"
	case "ppc64le":
		return "ppc64-le"
	case "s390x":
		return "s390x"
	}
	return runtime.GOARCH
}

// checkConditions evaluates Condition*= and Assert*=; a failed condition leaves the unit
// inactive (the job succeeds), a failed assertion fails the job.
func (m *Manager) checkConditions(u *Unit) bool {
	ok, failed := evalConditions(u.cfg.Unit.Conditions, false, m.opt.Scope)
	h := u.hist()
	h.conditionResult, h.conditionStamp = ok, stampOf(time.Now())
	h.assertResult, h.assertStamp = false, stamp{} // not checked when a condition fails
	h.unmet = nil
	if !ok {
		h.wex().conditionFailed = failed
		h.unmet = &unmetChecks{conditions: unmetConditions(u.cfg.Unit.Conditions, false, m.opt.Scope)}
		m.consolef("%s was skipped because of an unmet condition check (%s).", describe(u), failed)
		if u.job != nil {
			m.finishJob(u.job, "done")
		}
		return false
	}
	aok, afailed := evalConditions(u.cfg.Unit.Conditions, true, m.opt.Scope)
	h.assertResult, h.assertStamp = aok, stampOf(time.Now())
	if !aok {
		h.wex().assertFailed = afailed
		h.unmet = &unmetChecks{asserts: unmetConditions(u.cfg.Unit.Conditions, true, m.opt.Scope)}
		m.consolef("Assertion failed for %s (%s).", describe(u), afailed)
		if u.job != nil {
			m.finishJob(u.job, "assert")
		}
		return false
	}
	return true
}
