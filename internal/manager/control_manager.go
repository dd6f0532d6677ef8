package manager

import (
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/internal/sdbus"
	"github.com/flint-init/flint/unit"
)

// managerPropertyOrder is the order of systemd 252's Manager properties as `systemctl show`
// prints them (the D-Bus interface's), of those flint has.
var managerPropertyOrder = []string{
	"Version", "Features", "Virtualization", "Architecture", "Tainted",
	"UserspaceTimestamp", "UserspaceTimestampMonotonic", "LogLevel", "LogTarget",
	"NNames", "NFailedUnits", "NJobs", "NInstalledJobs", "Progress", "Environment",
	"ConfirmSpawn", "ShowStatus", "UnitPath", "DefaultStandardOutput", "DefaultStandardError",
	"SystemState", "DefaultTimeoutStartUSec", "DefaultTimeoutStopUSec", "DefaultTimeoutAbortUSec",
	"DefaultRestartUSec", "DefaultStartLimitIntervalUSec", "DefaultStartLimitBurst", "DefaultOOMPolicy",
}

// managerProperties answers manager-properties: the Manager object's properties (the same
// values as over D-Bus) and the defaults every unit starts from, in systemctl's text form
// and systemd's order — what `systemctl show` prints without a unit.
func (m *Manager) managerProperties(_ *api.Request) []api.Property {
	virt := detectVirt()
	if virt == "none" {
		virt = "" // systemd's Virtualization= on bare metal
	}
	oom := m.opt.DefaultOOMPolicy
	if oom == "" {
		oom = "stop"
	}
	timeout := unit.FormatTimespan(unit.DefaultTimeout)
	props := append(m.dbusManagerProps(),
		sdbus.Prop{Name: "Virtualization", Text: virt},
		sdbus.Prop{Name: "Tainted", Text: taints()},
		sdbus.Prop{Name: "ConfirmSpawn", Text: "no"},
		sdbus.Prop{Name: "DefaultTimeoutStartUSec", Text: timeout},
		sdbus.Prop{Name: "DefaultTimeoutStopUSec", Text: timeout},
		sdbus.Prop{Name: "DefaultTimeoutAbortUSec", Text: timeout},
		sdbus.Prop{Name: "DefaultRestartUSec", Text: "100ms"},
		sdbus.Prop{Name: "DefaultStartLimitIntervalUSec", Text: "10s"},
		sdbus.Prop{Name: "DefaultStartLimitBurst", Text: "5"},
		sdbus.Prop{Name: "DefaultOOMPolicy", Text: oom})
	out := make([]api.Property, 0, len(props))
	for _, p := range props {
		if !slices.Contains(managerPropertyOrder, p.Name) {
			continue
		}
		out = append(out, api.Property{Name: p.Name, Value: propText(p)})
	}
	slices.SortStableFunc(out, func(a, b api.Property) int {
		return slices.Index(managerPropertyOrder, a.Name) - slices.Index(managerPropertyOrder, b.Name)
	})
	return out
}

// propText is a D-Bus property's value as systemctl prints it: strings as they are, a list
// of strings joined by spaces, numbers in decimal, booleans yes/no.
func propText(p sdbus.Prop) string {
	if p.Text != "" || p.Value == nil {
		return p.Text
	}
	switch v := p.Value.(type) {
	case string:
		return v
	case []string:
		return strings.Join(v, " ")
	case bool:
		return unit.FormatBool(v)
	case uint32:
		return strconv.FormatUint(uint64(v), 10)
	case uint64:
		return strconv.FormatUint(v, 10)
	case int32:
		return strconv.FormatInt(int64(v), 10)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return ""
}

// taints is systemd 252's Tainted= (manager_taint_string): what is off about the system, of
// the checks flint makes, joined by ':'.
func taints() string {
	var t []string
	if l, err := os.Readlink("/bin"); err != nil || (l != "usr/bin" && l != "/usr/bin") {
		t = append(t, "unmerged-usr")
	}
	if _, err := os.Stat("/proc/cgroups"); err != nil {
		t = append(t, "cgroups-missing")
	}
	var st unix.Statfs_t
	if unix.Statfs("/sys/fs/cgroup", &st) == nil && st.Type != unix.CGROUP2_SUPER_MAGIC {
		t = append(t, "cgroupsv1") // hybrid or legacy hierarchies
	}
	if adj, err := os.ReadFile("/etc/adjtime"); err == nil {
		if lines := strings.Split(string(adj), "\n"); len(lines) > 2 && strings.TrimSpace(lines[2]) == "LOCAL" {
			t = append(t, "local-hwclock")
		}
	}
	if l, err := os.Readlink("/var/run"); err != nil || (l != "../run" && l != "/run") {
		t = append(t, "var-run-bad")
	}
	for _, id := range []string{"uid", "gid"} {
		if b, err := os.ReadFile("/proc/sys/kernel/overflow" + id); err == nil && strings.TrimSpace(string(b)) != "65534" {
			t = append(t, "overflow"+id+"-not-65534")
		}
	}
	return strings.Join(t, ":")
}
