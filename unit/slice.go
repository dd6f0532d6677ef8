package unit

import "strings"

// SliceSection is a slice unit's [Slice]: the resource-control settings of
// systemd.resource-control(5), applied to the slice's cgroup, which holds the cgroups of the
// units and slices in it. Only the resource fields of Resources are used.
type SliceSection struct {
	Resources ExecContext
}

// CgroupContextDirectives are systemd 252's CGROUP_CONTEXT_CONFIG_ITEMS but Slice=: the
// directives of [Slice] (a slice's parent is in its name), each parsed as in [Service], and
// the properties set-property changes on a loaded unit (bus_cgroup_set_property).
var CgroupContextDirectives = []string{"CPUAccounting", "CPUWeight", "StartupCPUWeight", "CPUShares", "StartupCPUShares",
	"CPUQuota", "CPUQuotaPeriodSec", "AllowedCPUs", "StartupAllowedCPUs", "AllowedMemoryNodes",
	"StartupAllowedMemoryNodes", "MemoryAccounting", "MemoryMin", "MemoryLow", "DefaultMemoryMin", "DefaultMemoryLow",
	"MemoryHigh", "MemoryMax", "MemorySwapMax", "MemoryLimit", "TasksAccounting", "TasksMax", "IOAccounting",
	"IOWeight", "StartupIOWeight", "IODeviceWeight", "IOReadBandwidthMax", "IOWriteBandwidthMax", "IOReadIOPSMax",
	"IOWriteIOPSMax", "IODeviceLatencyTargetSec", "BlockIOAccounting", "BlockIOWeight", "StartupBlockIOWeight",
	"BlockIODeviceWeight", "BlockIOReadBandwidth", "BlockIOWriteBandwidth", "DeviceAllow", "DevicePolicy",
	"IPAccounting", "IPAddressAllow", "IPAddressDeny", "IPIngressFilterPath", "IPEgressFilterPath",
	"DisableControllers", "Delegate", "ManagedOOMSwap", "ManagedOOMMemoryPressure",
	"ManagedOOMMemoryPressureLimit", "ManagedOOMPreference", "BPFProgram", "SocketBindAllow", "SocketBindDeny",
	"RestrictNetworkInterfaces"}

// sliceTable is [Slice]'s directive table, taken from [Service]'s. It is not part of
// Directives(): the compatibility page lists the sections of systemd's configuration-items
// snapshot, and these directives are the [Service] ones.
func sliceTable(service map[string]*directive) map[string]*directive {
	out := make(map[string]*directive, len(CgroupContextDirectives))
	for _, n := range CgroupContextDirectives {
		if d, ok := service[n]; ok {
			out[n] = d
		}
	}
	return out
}

// standardSlices are the slices systemd defines itself (perpetual) or ships unit files for
// (systemd.special(7)), with their descriptions; flint provides them where the search path
// has no file.
var standardSlices = map[Scope]map[string]string{
	System: {"-.slice": "Root Slice", "system.slice": "System Slice", "user.slice": "User and Session Slice",
		"machine.slice": "Virtual Machine and Container Slice"},
	User: {"-.slice": "Root Slice", "app.slice": "User Application Slice",
		"background.slice": "User Background Tasks Slice", "session.slice": "User Core Session Slice"},
}

// IsPerpetualSlice reports whether name is a slice that is always active and cannot be
// stopped (systemd's slice_enumerate_perpetual: -.slice, and system.slice of the system
// manager).
func IsPerpetualSlice(scope Scope, name string) bool {
	return name == "-.slice" || scope == System && name == "system.slice"
}

// ValidSliceName reports whether name can be a slice: NAME.slice whose dash-separated parts
// are not empty, or -.slice (the rule of systemd's slice_name_is_valid).
func ValidSliceName(name string) bool {
	if name == "-.slice" {
		return true
	}
	stem, ok := strings.CutSuffix(name, ".slice")
	if !ok || stem == "" || strings.Contains(stem, "@") || !IsValidName(name) {
		return false
	}
	return !strings.HasPrefix(stem, "-") && !strings.HasSuffix(stem, "-") && !strings.Contains(stem, "--")
}

// SliceParent is the slice a slice is in: "a-b.slice" is in "a.slice", a top-level slice in
// "-.slice", and "-.slice" in none ("").
func SliceParent(name string) string {
	if name == "-.slice" {
		return ""
	}
	stem := strings.TrimSuffix(name, ".slice")
	if i := strings.LastIndexByte(stem, '-'); i > 0 {
		return stem[:i] + ".slice"
	}
	return "-.slice"
}

// implicitSlice loads a slice that has no unit file, as systemd does (slices, unlike
// services, need no fragment): the standard slices with their own descriptions, any other
// valid name as "Slice /a/b" (systemd's unit_name_to_path); its drop-ins apply. ok is false
// for a name that cannot be a slice.
func (l *Loader) implicitSlice(u *Unit) bool {
	if !ValidSliceName(u.Name) {
		return false
	}
	desc, ok := standardSlices[l.scope][u.Name]
	if !ok {
		stem := strings.TrimSuffix(u.Name, ".slice")
		p, err := UnescapePath(stem)
		if err != nil {
			p = stem
		}
		desc = "Slice /" + strings.TrimPrefix(p, "/")
	}
	text := "[Unit]\nDescription=" + strings.ReplaceAll(desc, "%", "%%") + "\n"
	if u.Name == "-.slice" || IsPerpetualSlice(l.scope, u.Name) {
		text += "Documentation=man:systemd.special(7)\nDefaultDependencies=no\n"
	} else if ok {
		text += "Documentation=man:systemd.special(7)\nBefore=slices.target\n"
	}
	f, _ := ParseFile(u.Name, []byte(text))
	files := []*File{f}
	u.DropInPaths = l.dropIns(u.Names, ".d", ".conf")
	h := fnvOffset
	u.dropInMtime = l.statDropIns(u.DropInPaths, &h)
	l.sums[u] = uint64(h)
	for _, p := range u.DropInPaths {
		data, _, err := readFileInto(l.lk.InTree(p), l.buf)
		if err != nil {
			continue
		}
		l.buf = data[:0]
		df, diags := ParseFile(p, data)
		u.Diagnostics = append(u.Diagnostics, diags...)
		files = append(files, df)
	}
	u.LoadState = Loaded
	Decode(u, files, l.Expander(u))
	if u.LoadState == BadSetting || u.LoadState == LoadError {
		return true
	}
	l.addDirDeps(u)
	u.Unit.WantedByImplicit = l.reverseWants(u)
	return true
}
