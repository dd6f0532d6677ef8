package unit

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Resource control: the cgroup directives of systemd.resource-control(5) decoded into
// ExecContext's typed fields, which the manager applies to the unit's cgroup
// (internal/cgroup). Each value is first validated by the parser that gives systemd's warning
// (decode_notenforced.go); a value warned about is ignored, as systemd ignores it. The value as
// written is kept in NotEnforcedValues too (without listing the directive as not enforced),
// where `show` words the properties from.

func registerCgroup() {
	validate := notEnforcedParsers()
	x := func(d *decoder) *ExecContext { return d.exec }
	// reg registers name with set, run after validation; deprecated directives warn once
	// even when their value is good.
	reg := func(name string, deprecated bool, set func(c *ExecContext, v string)) {
		val := validate[name]
		regBoth(name, Supported, func(d *decoder, e Entry, v string) {
			n := len(d.diags)
			if val != nil {
				val(d, e, v)
			}
			allowed := 0
			if deprecated {
				allowed = 1
			}
			if len(d.diags) > n+allowed {
				return
			}
			c := x(d)
			if c.NotEnforcedValues == nil {
				c.NotEnforcedValues = map[string]string{}
			}
			c.NotEnforcedValues[e.Key] = v
			set(c, v)
		})
	}
	memory := func(get func(c *ExecContext) *uint64) func(c *ExecContext, v string) {
		return func(c *ExecContext, v string) { *get(c) = resourceLimit(v, physicalMemory) }
	}
	reg("MemoryMin", false, memory(func(c *ExecContext) *uint64 { return &c.MemoryMin }))
	reg("MemoryLow", false, memory(func(c *ExecContext) *uint64 { return &c.MemoryLow }))
	reg("MemoryHigh", false, memory(func(c *ExecContext) *uint64 { return &c.MemoryHigh }))
	reg("MemoryMax", false, memory(func(c *ExecContext) *uint64 { return &c.MemoryMax }))
	reg("MemorySwapMax", false, memory(func(c *ExecContext) *uint64 { return &c.MemorySwapMax }))
	reg("MemoryLimit", true, memory(func(c *ExecContext) *uint64 { return &c.MemoryLimit }))
	reg("TasksMax", false, func(c *ExecContext, v string) { c.TasksMax = resourceLimit(v, systemTasksMax) })
	number := func(get func(c *ExecContext) *uint64) func(c *ExecContext, v string) {
		return func(c *ExecContext, v string) {
			n, _ := strconv.ParseUint(v, 10, 64) // "" resets to 0, unset
			*get(c) = n
		}
	}
	reg("CPUWeight", false, func(c *ExecContext, v string) {
		if v == "idle" {
			c.CPUWeight = 1 // the least weight: cpu.idle is cgroup2's alone and not set here
			return
		}
		number(func(c *ExecContext) *uint64 { return &c.CPUWeight })(c, v)
	})
	reg("StartupCPUWeight", false, func(c *ExecContext, v string) {
		if v == "idle" {
			startup(c).CPUWeight = 1
			return
		}
		number(func(c *ExecContext) *uint64 { return &startup(c).CPUWeight })(c, v)
	})
	reg("StartupCPUShares", true, number(func(c *ExecContext) *uint64 { return &startup(c).CPUShares }))
	reg("StartupIOWeight", false, number(func(c *ExecContext) *uint64 { return &startup(c).IOWeight }))
	reg("StartupBlockIOWeight", true, number(func(c *ExecContext) *uint64 { return &startup(c).BlockIOWeight }))
	reg("CPUShares", true, number(func(c *ExecContext) *uint64 { return &c.CPUShares }))
	reg("IOWeight", false, number(func(c *ExecContext) *uint64 { return &c.IOWeight }))
	reg("BlockIOWeight", true, number(func(c *ExecContext) *uint64 { return &c.BlockIOWeight }))
	reg("CPUQuota", false, func(c *ExecContext, v string) {
		c.CPUQuotaPerSec = 0
		if p, ok := parsePercent(v); ok {
			c.CPUQuotaPerSec = time.Duration(p * float64(time.Second) / 100)
		}
	})
	regBoth("CPUQuotaPeriodSec", Supported, func(d *decoder, e Entry, v string) {
		if v == "" || v == "infinity" {
			x(d).CPUQuotaPeriod = 0
			return
		}
		t, err := ParseTimespan(v)
		if err != nil || t <= 0 {
			d.warn(e, "Failed to parse sec_def_infinity value, ignoring: %s", v)
			return
		}
		// The kernel takes 1 ms to 1 s (systemd clamps the same way when it applies it).
		x(d).CPUQuotaPeriod = min(max(t, time.Millisecond), time.Second)
		setValue(x(d), e.Key, v)
	})
	cpuset := func(get func(c *ExecContext) *string) parseFunc {
		return func(d *decoder, e Entry, v string) {
			for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }) {
				lo, hi, rng := strings.Cut(part, "-")
				_, err1 := strconv.ParseUint(lo, 10, 32)
				_, err2 := strconv.ParseUint(hi, 10, 32)
				if err1 != nil || rng && err2 != nil {
					d.warn(e, "Failed to parse CPU affinity '%s'", v)
					return
				}
			}
			*get(x(d)) = strings.Join(strings.Fields(strings.ReplaceAll(v, ",", " ")), ",")
			setValue(x(d), e.Key, v)
		}
	}
	regBoth("AllowedCPUs", Supported, cpuset(func(c *ExecContext) *string { return &c.AllowedCPUs }))
	regBoth("AllowedMemoryNodes", Supported, cpuset(func(c *ExecContext) *string { return &c.AllowedMemoryNodes }))
	regBoth("StartupAllowedCPUs", Supported, cpuset(func(c *ExecContext) *string { return &startup(c).AllowedCPUs }))
	regBoth("StartupAllowedMemoryNodes", Supported, cpuset(func(c *ExecContext) *string { return &startup(c).AllowedMemoryNodes }))
	device := func(get func(c *ExecContext) *[]DeviceValue, parse func(string) (uint64, bool), what string) parseFunc {
		return func(d *decoder, e Entry, v string) {
			if v == "" {
				*get(x(d)) = nil
				return
			}
			path, val, _ := strings.Cut(strings.TrimSpace(v), " ")
			n, ok := parse(strings.TrimSpace(val))
			if !strings.HasPrefix(path, "/") || !ok {
				d.warn(e, "%s '%s', ignoring.", what, v)
				return
			}
			*get(x(d)) = append(*get(x(d)), DeviceValue{Path: path, Value: n})
			setValue(x(d), e.Key, v)
		}
	}
	weight := func(s string) (uint64, bool) {
		n, err := strconv.ParseUint(s, 10, 64)
		return n, err == nil && n >= 1 && n <= 10000
	}
	regBoth("IODeviceWeight", Supported, device(func(c *ExecContext) *[]DeviceValue { return &c.IODeviceWeight }, weight, "Invalid device path or weight specified in"))
	for _, b := range []struct {
		names []string
		get   func(c *ExecContext) *[]DeviceValue
	}{
		{[]string{"IOReadBandwidthMax", "BlockIOReadBandwidth"}, func(c *ExecContext) *[]DeviceValue { return &c.IOReadBandwidthMax }},
		{[]string{"IOWriteBandwidthMax", "BlockIOWriteBandwidth"}, func(c *ExecContext) *[]DeviceValue { return &c.IOWriteBandwidthMax }},
		{[]string{"IOReadIOPSMax"}, func(c *ExecContext) *[]DeviceValue { return &c.IOReadIOPSMax }},
		{[]string{"IOWriteIOPSMax"}, func(c *ExecContext) *[]DeviceValue { return &c.IOWriteIOPSMax }},
	} {
		for _, n := range b.names {
			p := device(b.get, parseSize1000, "Invalid device node or bandwidth specified in")
			if strings.HasPrefix(n, "BlockIO") {
				p = deprecatedToo(p)
			}
			regBoth(n, Supported, p)
		}
	}
	accounting := func(get func(c *ExecContext) **bool) parseFunc {
		return func(d *decoder, e Entry, v string) {
			b, err := ParseBool(v)
			if err != nil {
				d.warn(e, "Failed to parse boolean value, ignoring: %s", v)
				return
			}
			*get(x(d)) = &b
			setValue(x(d), e.Key, v)
		}
	}
	regBoth("CPUAccounting", Supported, accounting(func(c *ExecContext) **bool { return &c.CPUAccounting }))
	regBoth("MemoryAccounting", Supported, accounting(func(c *ExecContext) **bool { return &c.MemoryAccounting }))
	regBoth("TasksAccounting", Supported, accounting(func(c *ExecContext) **bool { return &c.TasksAccounting }))
	regBoth("IOAccounting", Supported, accounting(func(c *ExecContext) **bool { return &c.IOAccounting }))
	regBoth("BlockIOAccounting", Supported, accounting(func(c *ExecContext) **bool { return &c.IOAccounting }))
	reg("Slice", false, func(c *ExecContext, v string) { c.Slice = v })
	reg("Delegate", false, func(c *ExecContext, v string) {
		if b, err := ParseBool(v); err == nil {
			c.Delegate, c.DelegateControllers = b, nil
			return
		}
		c.Delegate = true
		if v == "" {
			c.DelegateControllers = nil
			return
		}
		c.DelegateControllers = append(c.DelegateControllers, strings.Fields(v)...)
	})
	regBoth("DisableControllers", Supported, func(d *decoder, e Entry, v string) {
		if v == "" {
			x(d).DisableControllers = nil
			return
		}
		for _, w := range strings.Fields(v) {
			if !cgroupControllers[w] {
				d.warn(e, "Invalid cgroup string: %s, ignoring", w)
				return
			}
		}
		x(d).DisableControllers = append(x(d).DisableControllers, strings.Fields(v)...)
		setValue(x(d), e.Key, v)
	})
}

// deprecatedToo is p after systemd's warning about a BlockIO*= directive.
func deprecatedToo(p parseFunc) parseFunc {
	return func(d *decoder, e Entry, v string) {
		d.warn(e, "Unit uses %s=; please use IO*= settings instead. Support for %s= will be removed soon.", e.Key, e.Key)
		p(d, e, v)
	}
}

func setValue(c *ExecContext, k, v string) {
	if c.NotEnforcedValues == nil {
		c.NotEnforcedValues = map[string]string{}
	}
	c.NotEnforcedValues[k] = v
}

// resourceLimit is a validated limit value: "" unset (0), "infinity", a percentage of
// whole(), or a size.
func resourceLimit(v string, whole func() uint64) uint64 {
	switch v {
	case "":
		return 0
	case "infinity":
		return Infinity
	}
	if p, ok := parsePercent(v); ok {
		return max(uint64(float64(whole())*p/100), 1)
	}
	n, _ := ParseSize(v)
	return max(n, 1)
}

// physicalMemory is the machine's RAM in bytes.
func physicalMemory() uint64 {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return Infinity
	}
	return uint64(si.Totalram) * uint64(si.Unit)
}

// parseSize1000 is systemd's parse_size(s, 1000) for bandwidths: a number with K, M, G or T
// in base 1000, or "infinity".
func parseSize1000(s string) (uint64, bool) {
	if s == "infinity" {
		return Infinity, true
	}
	mult := uint64(1)
	for i, suf := range []string{"K", "M", "G", "T"} {
		if t, ok := strings.CutSuffix(s, suf); ok {
			s = t
			for range i + 1 {
				mult *= 1000
			}
			break
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n * mult, err == nil && n > 0
}

// DefaultTasksMax is systemd's DefaultTasksMax=15%: of the least of kernel.threads-max,
// kernel.pid_max - 1 and the root cgroup's pids.max.
func DefaultTasksMax() uint64 { return systemTasksMax() * 15 / 100 }

// SetResource applies one resource-control assignment (as `set-property NAME=VALUE` gives it)
// to ec, the ExecContext of a unit of type t (service or socket), with the parser a unit file
// line would use. It returns the section the assignment belongs in, for the drop-in
// set-property writes, or an error with systemd's message for a value it ignores, or for a
// name that is no resource setting flint applies.
func SetResource(t Type, ec *ExecContext, name, value string) (section string, err error) {
	switch t {
	case TypeService:
		section = "Service"
	case TypeSocket:
		section = "Socket"
	case TypeSlice:
		section = "Slice"
	default:
		return "", ErrNotApplied
	}
	directives()
	dir, ok := allowedSections(t)[section][name]
	if !ok || dir.status != Supported || !resourceDirective[name] {
		return "", ErrNotApplied
	}
	d := &decoder{u: &Unit{Name: "set-property"}, exec: ec}
	dir.parse(d, Entry{Key: name, Value: value, File: "set-property"}, value)
	for _, dg := range d.diags {
		if !strings.Contains(dg.Msg, "please use") { // a deprecation alone is no refusal
			return "", fmt.Errorf("%s", dg.Msg)
		}
	}
	return section, nil
}

// startup is c's Startup, made on its first setting.
func startup(c *ExecContext) *StartupResources {
	if c.Startup == nil {
		c.Startup = &StartupResources{}
	}
	return c.Startup
}

// ErrNotApplied is SetResource's error for a setting flint does not apply to a cgroup.
var ErrNotApplied = errors.New("not applied by flint")

// resourceDirective are the directives SetResource accepts: those registerCgroup registers
// that systemd's SetUnitProperties changes on a loaded unit.
var resourceDirective = map[string]bool{
	"MemoryMin": true, "MemoryLow": true, "MemoryHigh": true, "MemoryMax": true, "MemorySwapMax": true,
	"MemoryLimit": true, "TasksMax": true, "CPUWeight": true, "CPUShares": true, "CPUQuota": true,
	"CPUQuotaPeriodSec": true, "AllowedCPUs": true, "AllowedMemoryNodes": true, "IOWeight": true,
	"BlockIOWeight": true, "IODeviceWeight": true, "IOReadBandwidthMax": true, "IOWriteBandwidthMax": true,
	"IOReadIOPSMax": true, "IOWriteIOPSMax": true, "CPUAccounting": true, "MemoryAccounting": true,
	"TasksAccounting": true, "IOAccounting": true, "BlockIOAccounting": true, "Delegate": true,
	"DisableControllers": true, "StartupCPUWeight": true, "StartupCPUShares": true, "StartupIOWeight": true,
	"StartupBlockIOWeight": true, "StartupAllowedCPUs": true, "StartupAllowedMemoryNodes": true,
	// cgroup BPF (decode_bpf.go)
	"IPAccounting": true, "IPAddressAllow": true, "IPAddressDeny": true, "SocketBindAllow": true,
	"SocketBindDeny": true, "DeviceAllow": true, "DevicePolicy": true, "RestrictNetworkInterfaces": true,
}

// systemTasksMax is systemd's system_tasks_max: the least of kernel.threads-max,
// kernel.pid_max - 1 and the root cgroup's pids.max.
func systemTasksMax() uint64 {
	m := uint64(1<<64 - 1)
	read := func(p string) (uint64, bool) {
		b, err := os.ReadFile(p)
		if err != nil {
			return 0, false
		}
		n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		return n, err == nil && n > 0
	}
	if n, ok := read("/proc/sys/kernel/threads-max"); ok {
		m = min(m, n)
	}
	if n, ok := read("/proc/sys/kernel/pid_max"); ok {
		m = min(m, n-1)
	}
	if n, ok := read("/sys/fs/cgroup/pids.max"); ok {
		m = min(m, n)
	}
	return m
}
