package unit

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// ProcessSettings are the per-process settings of systemd.exec(5) that a service process gets
// between fork and exec (scheduling, affinity, memory policy, timer slack, core dump filter,
// SIGPIPE), the search path of its command, and how its output is logged. They are part of
// ExecContext; decode_process.go parses them as systemd 252's load-fragment.c does.
type ProcessSettings struct {
	// IgnoreSIGPIPE is IgnoreSIGPIPE=; nil: not written (systemd's default, yes).
	IgnoreSIGPIPE *bool

	// CPUAffinity is the CPU set of CPUAffinity= (nil: not set); CPUAffinityFromNUMA is
	// CPUAffinity=numa: the CPUs of NUMAMask='s nodes.
	CPUAffinity         CPUSet
	CPUAffinityFromNUMA bool
	// NUMAPolicy is NUMAPolicy= ("" unset: default, preferred, bind, interleave, local);
	// NUMAMask its nodes (nil: none).
	NUMAPolicy string
	NUMAMask   CPUSet

	// CPUSchedulingSet: CPUSchedulingPolicy= or CPUSchedulingPriority= was written; then the
	// process gets sched_setattr(Policy, Priority, ResetOnFork).
	CPUSchedulingSet         bool
	CPUSchedulingPolicy      int // SCHED_OTHER (0), SCHED_FIFO (1), SCHED_RR (2), SCHED_BATCH (3), SCHED_IDLE (5)
	CPUSchedulingPriority    int
	CPUSchedulingResetOnFork bool

	// IOPrioSet: IOSchedulingClass= or IOSchedulingPriority= was written; IOPrio is the
	// ioprio_set(2) value, class << 13 | level, normalized as systemd does (class none is
	// best-effort level 4).
	IOPrioSet bool
	IOPrio    int

	// TimerSlackNSec is TimerSlackNSec= in nanoseconds; TimerSlackSet false: not set (or infinity).
	TimerSlackNSec uint64
	TimerSlackSet  bool

	// CoredumpFilter is CoredumpFilter='s mask; CoredumpFilterSet false: not set.
	CoredumpFilter    uint64
	CoredumpFilterSet bool

	// ExecSearchPath is ExecSearchPath='s directories: bare command names are looked up
	// there (instead of the default path), and PATH= is set to them.
	ExecSearchPath []string

	// Logging of the process's standard output and error (StandardOutput=journal and the
	// like): SyslogFacility= (facility number, default 3, daemon), SyslogLevel= (default 6,
	// info), SyslogLevelPrefix= (nil: yes), LogLevelMax= (-1: unset; the zero value of
	// LogLevelMaxSet false means unset too), LogExtraFields= (FIELD=value).
	SyslogFacility, SyslogLevel       int
	SyslogFacilitySet, SyslogLevelSet bool
	SyslogLevelPrefix                 *bool
	LogLevelMax                       int
	LogLevelMaxSet                    bool
	LogExtraFields                    []string
	// LogRateLimitIntervalSec= and LogRateLimitBurst= (unset: journald's own).
	LogRateLimitInterval                          time.Duration
	LogRateLimitBurst                             int
	LogRateLimitIntervalSet, LogRateLimitBurstSet bool

	// TimeoutCleanSec=: how long `clean` may take (TimeoutClean; DurationInfinity, the
	// default, is no limit).
	TimeoutClean    time.Duration
	TimeoutCleanSet bool

	// UtmpIdentifier is UtmpIdentifier= ("" none): the process gets utmp/wtmp records with
	// this ut_id; UtmpMode= ("" or init, login, user) says which.
	UtmpIdentifier, UtmpMode string

	// TTYReset=, TTYVHangup=, TTYVTDisallocate= act on TTYPath= (or /dev/console) before
	// each process starts; TTYRows=/TTYColumns= (-1: unset) size the terminal of
	// StandardInput=tty.
	TTYReset, TTYVHangup, TTYVTDisallocate bool
	TTYRows, TTYColumns                    *int
}

// Scheduling policies (sched(7)).
const (
	SchedOther = 0
	SchedFIFO  = 1
	SchedRR    = 2
	SchedBatch = 3
	SchedIdle  = 5
)

// ioprio classes (ioprio_set(2)).
const (
	IOPrioClassNone = 0
	IOPrioClassRT   = 1
	IOPrioClassBE   = 2
	IOPrioClassIdle = 3
	ioprioShift     = 13
	ioprioDefault   = IOPrioClassBE<<ioprioShift | 4
)

// IgnoresSIGPIPE is IgnoreSIGPIPE='s value (default yes).
func (p *ProcessSettings) IgnoresSIGPIPE() bool { return p.IgnoreSIGPIPE == nil || *p.IgnoreSIGPIPE }

// SyslogPriority is the facility and level a line of output gets without a "<N>" prefix:
// SyslogFacility= (default daemon) and SyslogLevel= (default info).
func (p *ProcessSettings) SyslogPriority() (facility, level int) {
	facility, level = 3, 6
	if p.SyslogFacilitySet {
		facility = p.SyslogFacility
	}
	if p.SyslogLevelSet {
		level = p.SyslogLevel
	}
	return facility, level
}

// LevelPrefix is SyslogLevelPrefix='s value (default yes).
func (p *ProcessSettings) LevelPrefix() bool {
	return p.SyslogLevelPrefix == nil || *p.SyslogLevelPrefix
}

// MaxLevel is LogLevelMax='s level, -1 when unset.
func (p *ProcessSettings) MaxLevel() int {
	if !p.LogLevelMaxSet {
		return -1
	}
	return p.LogLevelMax
}

// CPUSet is a set of CPUs (or NUMA nodes): bit i%64 of word i/64 for CPU i, as the kernel's
// cpumask (sched_setaffinity(2), set_mempolicy(2)) lays it out on a little-endian machine.
type CPUSet []uint64

// maxCPU is systemd's bound on a CPU index (cpu_set_add: CONFIG_NR_CPUS is at most 8192).
const maxCPU = 8192

// Add adds CPU i.
func (s *CPUSet) Add(i int) {
	for len(*s) <= i/64 {
		*s = append(*s, 0)
	}
	(*s)[i/64] |= 1 << (i % 64)
}

// Has reports whether CPU i is in s.
func (s CPUSet) Has(i int) bool { return i/64 < len(s) && s[i/64]&(1<<(i%64)) != 0 }

// Count is how many CPUs s holds.
func (s CPUSet) Count() int {
	n := 0
	for i := range len(s) * 64 {
		if s.Has(i) {
			n++
		}
	}
	return n
}

// String is s as a range list ("0-3 8"), as systemd's cpu_set_to_range_string writes it.
func (s CPUSet) String() string {
	var parts []string
	for i := 0; i < len(s)*64; i++ {
		if !s.Has(i) {
			continue
		}
		j := i
		for s.Has(j + 1) {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(i))
		} else {
			parts = append(parts, strconv.Itoa(i)+"-"+strconv.Itoa(j))
		}
		i = j
	}
	return strings.Join(parts, " ")
}

// ParseCPUSet parses a CPU (or NUMA node) list as systemd's parse_cpu_set: numbers and
// ranges separated by blanks or commas. An empty list gives a nil set.
func ParseCPUSet(v string) (CPUSet, bool) {
	var s CPUSet
	for _, w := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' }) {
		lo, hi, isRange := strings.Cut(w, "-")
		a, err := strconv.ParseUint(lo, 10, 32)
		if err != nil {
			return nil, false
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 32); err != nil {
				return nil, false
			}
		}
		if b >= maxCPU {
			return nil, false
		}
		if s == nil {
			s = CPUSet{} // a reversed range still makes the set non-empty, as in systemd
		}
		for c := a; c <= b; c++ {
			s.Add(int(c))
		}
	}
	return s, true
}

var schedPolicies = map[string]int{"other": SchedOther, "batch": SchedBatch, "idle": SchedIdle, "fifo": SchedFIFO, "rr": SchedRR}

var ioprioClasses = map[string]int{"none": IOPrioClassNone, "realtime": IOPrioClassRT, "best-effort": IOPrioClassBE, "idle": IOPrioClassIdle,
	"0": 0, "1": 1, "2": 2, "3": 3}

var syslogFacilities = map[string]int{"kern": 0, "user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
	"news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11, "local0": 16, "local1": 17, "local2": 18,
	"local3": 19, "local4": 20, "local5": 21, "local6": 22, "local7": 23}

// LogLevel parses a syslog level name or number 0-7 (log_level_from_string).
func LogLevel(v string) (int, bool) {
	for i, n := range []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"} {
		if v == n || v == strconv.Itoa(i) {
			return i, true
		}
	}
	return 0, false
}

func normIOPrio(v int) int {
	if v>>ioprioShift == IOPrioClassNone {
		return ioprioDefault
	}
	return v
}

func ps(d *decoder) *ProcessSettings { return &d.exec.ProcessSettings }

// processDirectives maps each directive to its typed parser. It runs after the earlier
// validator (decode_notenforced*.go), whose warnings mark a value systemd ignores.
var processDirectives = map[string]parseFunc{
	"IgnoreSIGPIPE": func(d *decoder, e Entry, v string) {
		if b, err := ParseBool(v); err == nil {
			ps(d).IgnoreSIGPIPE = &b
		}
	},
	"CPUAffinity": func(d *decoder, e Entry, v string) {
		p := ps(d)
		if v == "numa" {
			p.CPUAffinityFromNUMA, p.CPUAffinity = true, nil
			return
		}
		x, ok := d.printf(e, v, false)
		if !ok {
			return
		}
		s, ok := ParseCPUSet(x)
		if !ok {
			return
		}
		p.CPUAffinityFromNUMA = false
		if s == nil {
			p.CPUAffinity = nil // an empty assignment resets the list
			return
		}
		p.CPUAffinity = unionCPUs(p.CPUAffinity, s)
	},
	"NUMAPolicy": func(d *decoder, e Entry, v string) {
		ps(d).NUMAPolicy = v
	},
	"NUMAMask": func(d *decoder, e Entry, v string) {
		p := ps(d)
		if v == "all" {
			for i := 0; i <= numaMaxNode(); i++ {
				p.NUMAMask.Add(i)
			}
			return
		}
		s, ok := ParseCPUSet(v)
		if !ok {
			return
		}
		if s == nil {
			p.NUMAMask = nil
			return
		}
		p.NUMAMask = unionCPUs(p.NUMAMask, s)
	},
	"CPUSchedulingPolicy": func(d *decoder, e Entry, v string) {
		p := ps(d)
		if v == "" {
			p.CPUSchedulingSet, p.CPUSchedulingPolicy, p.CPUSchedulingPriority = false, SchedOther, 0
			return
		}
		pol, ok := schedPolicies[v]
		if !ok {
			return
		}
		p.CPUSchedulingPolicy = pol
		// Moving to or from a real-time policy clamps the priority to the policy's range.
		lo, hi := 0, 0
		if pol == SchedFIFO || pol == SchedRR {
			lo, hi = 1, 99
		}
		p.CPUSchedulingPriority = min(max(p.CPUSchedulingPriority, lo), hi)
		p.CPUSchedulingSet = true
	},
	"CPUSchedulingPriority": func(d *decoder, e Entry, v string) {
		n, err := strconv.Atoi(v)
		if err != nil {
			d.warn(e, "Failed to parse CPU scheduling priority, ignoring: %s", v)
			return
		}
		if n < 0 || n > 99 {
			d.warn(e, "CPU scheduling priority is out of range, ignoring: %s", v)
			return
		}
		ps(d).CPUSchedulingPriority = n
		ps(d).CPUSchedulingSet = true
	},
	"CPUSchedulingResetOnFork": func(d *decoder, e Entry, v string) {
		if b, err := ParseBool(v); err == nil {
			ps(d).CPUSchedulingResetOnFork = b
		}
	},
	"IOSchedulingClass": func(d *decoder, e Entry, v string) {
		p := ps(d)
		if v == "" {
			p.IOPrioSet, p.IOPrio = false, ioprioDefault
			return
		}
		c, ok := ioprioClasses[v]
		if !ok {
			return
		}
		cur := p.IOPrio
		if !p.IOPrioSet {
			cur = ioprioDefault
		}
		p.IOPrio = normIOPrio(c<<ioprioShift | cur&(1<<ioprioShift-1))
		p.IOPrioSet = true
	},
	"IOSchedulingPriority": func(d *decoder, e Entry, v string) {
		p := ps(d)
		if v == "" {
			p.IOPrioSet, p.IOPrio = false, ioprioDefault
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 7 {
			return
		}
		cur := p.IOPrio
		if !p.IOPrioSet {
			cur = ioprioDefault
		}
		p.IOPrio = normIOPrio(cur>>ioprioShift<<ioprioShift | n)
		p.IOPrioSet = true
	},
	"TimerSlackNSec": func(d *decoder, e Entry, v string) {
		n, ok := parseNsec(v)
		if !ok {
			d.warn(e, "Failed to parse nsec value, ignoring: %s", v)
			return
		}
		p := ps(d)
		p.TimerSlackNSec, p.TimerSlackSet = n, n != ^uint64(0)
	},
	"CoredumpFilter": func(d *decoder, e Entry, v string) {
		p := ps(d)
		if strings.TrimSpace(v) == "" {
			p.CoredumpFilter, p.CoredumpFilterSet = 0, false
			return
		}
		m, ok := coredumpMask(v)
		if !ok {
			return
		}
		p.CoredumpFilter |= m
		p.CoredumpFilterSet = true
	},
	"ExecSearchPath": pExecSearchPath,
	"SyslogFacility": func(d *decoder, e Entry, v string) {
		if f, ok := syslogFacilities[v]; ok {
			ps(d).SyslogFacility, ps(d).SyslogFacilitySet = f, true
		}
	},
	"SyslogLevel": func(d *decoder, e Entry, v string) {
		if l, ok := LogLevel(v); ok {
			ps(d).SyslogLevel, ps(d).SyslogLevelSet = l, true
		}
	},
	"SyslogLevelPrefix": func(d *decoder, e Entry, v string) {
		if b, err := ParseBool(v); err == nil {
			ps(d).SyslogLevelPrefix = &b
		}
	},
	"LogLevelMax": func(d *decoder, e Entry, v string) {
		if l, ok := LogLevel(v); ok {
			ps(d).LogLevelMax, ps(d).LogLevelMaxSet = l, true
		}
	},
	"LogExtraFields": pLogExtraFields,
	"LogRateLimitIntervalSec": func(d *decoder, e Entry, v string) {
		if t, err := ParseTimespan(v); err == nil {
			ps(d).LogRateLimitInterval, ps(d).LogRateLimitIntervalSet = t, true
		}
	},
	"LogRateLimitBurst": func(d *decoder, e Entry, v string) {
		if n, err := strconv.ParseUint(v, 10, 31); err == nil {
			ps(d).LogRateLimitBurst, ps(d).LogRateLimitBurstSet = int(n), true
		}
	},
	"TimeoutCleanSec": func(d *decoder, e Entry, v string) {
		if t, err := ParseTimespan(v); err == nil {
			ps(d).TimeoutClean, ps(d).TimeoutCleanSet = t, true
		}
	},
	"UtmpIdentifier": func(d *decoder, e Entry, v string) {
		if x, ok := d.printf(e, v, false); ok {
			ps(d).UtmpIdentifier = x
		}
	},
	"UtmpMode":         func(d *decoder, e Entry, v string) { ps(d).UtmpMode = v },
	"TTYReset":         pProcBool(func(p *ProcessSettings) *bool { return &p.TTYReset }),
	"TTYVHangup":       pProcBool(func(p *ProcessSettings) *bool { return &p.TTYVHangup }),
	"TTYVTDisallocate": pProcBool(func(p *ProcessSettings) *bool { return &p.TTYVTDisallocate }),
	"TTYRows":          pTTYSize(func(p *ProcessSettings) **int { return &p.TTYRows }),
	"TTYColumns":       pTTYSize(func(p *ProcessSettings) **int { return &p.TTYColumns }),
}

func pProcBool(get func(p *ProcessSettings) *bool) parseFunc {
	return func(d *decoder, e Entry, v string) {
		if b, err := ParseBool(v); err == nil {
			*get(ps(d)) = b
		}
	}
}

// pTTYSize is config_parse_tty_size: a number, or empty for unset.
func pTTYSize(get func(p *ProcessSettings) **int) parseFunc {
	return func(d *decoder, e Entry, v string) {
		if v == "" {
			*get(ps(d)) = nil
			return
		}
		if n, err := strconv.ParseUint(v, 10, 32); err == nil {
			x := int(n)
			*get(ps(d)) = &x
		}
	}
}

// processOwnWarnings are the directives whose earlier validator accepted more than systemd
// (or warned differently): only the typed parser runs, and warns itself.
var processOwnWarnings = map[string]bool{"ExecSearchPath": true, "LogExtraFields": true, "CPUSchedulingPriority": true,
	"TimerSlackNSec": true}

// pExecSearchPath is config_parse_colon_separated_paths: ':'-separated absolute paths,
// specifiers resolved; empty resets the list.
func pExecSearchPath(d *decoder, e Entry, v string) {
	p := ps(d)
	if v == "" {
		p.ExecSearchPath = nil
		return
	}
	for _, w := range strings.Split(v, ":") {
		if w == "" {
			continue
		}
		x, ok := d.printf(e, w, false)
		if !ok {
			return
		}
		if !isAbsPath(x) {
			d.warn(e, "%s= path is not absolute, ignoring: %s", e.Key, x)
			return
		}
		p.ExecSearchPath = append(p.ExecSearchPath, simplifyPath(x))
	}
}

// pLogExtraFields is config_parse_log_extra_fields: quoted, C-escaped FIELD=value words.
func pLogExtraFields(d *decoder, e Entry, v string) {
	p := ps(d)
	if v == "" {
		p.LogExtraFields = nil
		return
	}
	rest := v
	for {
		w, r, ok, err := extractWord(rest, exUnquote|exCUnescape)
		if err != nil {
			d.warn(e, "Invalid syntax, ignoring: %s", v)
			return
		}
		if !ok {
			return
		}
		rest = r
		k, good := d.printfBare(e, w)
		if !good {
			continue
		}
		name, _, hasEq := strings.Cut(k, "=")
		if !hasEq {
			d.warn(e, "Log field lacks '=' character, ignoring: %s", k)
			continue
		}
		if !JournalFieldValid(name, false) {
			d.warn(e, "Log field name is invalid, ignoring: %s", k)
			continue
		}
		p.LogExtraFields = append(p.LogExtraFields, k)
	}
}

// JournalFieldValid is journald's rule for a field name: 1-64 characters of A-Z, 0-9 and
// '_', not starting with a digit, nor (unless protected is allowed) with '_'.
func JournalFieldValid(name string, protected bool) bool {
	if name == "" || len(name) > 64 || !protected && name[0] == '_' || name[0] >= '0' && name[0] <= '9' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// parseNsec is config_parse_nsec (parse_nsec): a time span with nanosecond resolution
// whose bare number is nanoseconds; "infinity" is ^0.
func parseNsec(v string) (uint64, bool) {
	p := strings.Trim(v, whitespace)
	if p == "infinity" {
		return ^uint64(0), true
	}
	if p == "" {
		return 0, false
	}
	var total uint64
	for p != "" {
		i := 0
		for i < len(p) && p[i] >= '0' && p[i] <= '9' {
			i++
		}
		intPart, frac := p[:i], ""
		if i < len(p) && p[i] == '.' {
			j := i + 1
			for j < len(p) && p[j] >= '0' && p[j] <= '9' {
				j++
			}
			frac, i = p[i+1:j], j
			if frac == "" {
				return 0, false
			}
		}
		if intPart == "" && frac == "" {
			return 0, false
		}
		p = strings.TrimLeft(p[i:], whitespace)
		mul := uint64(1)
		switch {
		case strings.HasPrefix(p, "nsec"):
			p = p[4:]
		case strings.HasPrefix(p, "ns"):
			p = p[2:]
		default:
			for _, u := range timeUnits {
				if strings.HasPrefix(p, u.suffix) {
					mul, p = uint64(u.usec)*1000, p[len(u.suffix):]
					break
				}
			}
		}
		if p != "" && p[0] >= '0' && p[0] <= '9' && mul == 1 {
			return 0, false
		}
		whole, err := strconv.ParseUint("0"+intPart, 10, 64)
		if err != nil || whole > (1<<63)/mul {
			return 0, false
		}
		part := whole * mul
		for k, j := mul, 0; j < len(frac) && k > 0; j++ {
			k /= 10
			part += uint64(frac[j]-'0') * k
		}
		total += part
		p = strings.TrimLeft(p, whitespace)
	}
	return total, true
}

// coredumpMask is coredump_filter_mask_from_string: names, "default", "all", hex numbers.
func coredumpMask(v string) (uint64, bool) {
	names := []string{"private-anonymous", "shared-anonymous", "private-file-backed", "shared-file-backed",
		"elf-headers", "private-huge", "shared-huge", "private-dax", "shared-dax"}
	var m uint64
words:
	for _, w := range strings.Fields(v) {
		switch w {
		case "default":
			m |= 1<<0 | 1<<1 | 1<<4 | 1<<5
			continue
		case "all":
			m = 0xffffffff
			continue
		}
		for i, n := range names {
			if w == n {
				m |= 1 << i
				continue words
			}
		}
		x, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(w, "0x"), "0X"), 16, 64)
		if err != nil {
			return 0, false
		}
		m |= x
	}
	return m, true
}

func unionCPUs(a, b CPUSet) CPUSet {
	out := append(CPUSet{}, a...)
	for i := range len(b) * 64 {
		if b.Has(i) {
			out.Add(i)
		}
	}
	return out
}

// numaMaxNode is the highest NUMA node of /sys/devices/system/node (numa_max_node; 1023
// when it cannot be read).
func numaMaxNode() int {
	ents, err := os.ReadDir("/sys/devices/system/node")
	if err != nil {
		return 1023
	}
	m := 0
	for _, ent := range ents {
		if x, ok := strings.CutPrefix(ent.Name(), "node"); ok && ent.IsDir() {
			if i, err := strconv.Atoi(x); err == nil && i > m {
				m = i
			}
		}
	}
	return m
}

// RuntimeRandomizedExtra is RuntimeRandomizedExtraSec= (0: none): up to that much is
// added, at random, to RuntimeMaxSec= each time the service enters its running state.
func (s *ServiceSection) RuntimeRandomizedExtra() time.Duration { return s.runtimeRandomizedExtra }

// registerProcess re-registers the directives of processDirectives as Supported; it runs
// after registerNotEnforced. A value the earlier validator warned about is ignored whole,
// as systemd ignores it. The value written last stays in NotEnforcedValues, which `show`
// words as before.
func registerProcess() {
	for name, typed := range processDirectives {
		for _, sec := range []string{"Service", "Socket"} {
			var check parseFunc
			if old := directiveTable[sec][name]; old != nil && !processOwnWarnings[name] {
				check = old.parse
			}
			reg(sec, name, Supported, func(d *decoder, e Entry, v string) {
				if d.exec == nil {
					return
				}
				n := len(d.diags)
				if check != nil {
					check(d, e, v)
					if len(d.diags) > n {
						return
					}
				}
				typed(d, e, v)
				if d.exec.NotEnforcedValues == nil {
					d.exec.NotEnforcedValues = map[string]string{}
				}
				d.exec.NotEnforcedValues[e.Key] = e.Value
			})
		}
	}
	// RuntimeRandomizedExtraSec= keeps its parser (neRuntimeExtra), now enforced.
	old := directiveTable["Service"]["RuntimeRandomizedExtraSec"].parse
	reg("Service", "RuntimeRandomizedExtraSec", Supported, func(d *decoder, e Entry, v string) {
		old(d, e, v)
		if d.exec != nil {
			if d.exec.NotEnforcedValues == nil {
				d.exec.NotEnforcedValues = map[string]string{}
			}
			d.exec.NotEnforcedValues[e.Key] = e.Value
		}
	})
}

// CleanTimeout is TimeoutCleanSec= (DurationInfinity when unset).
func (p *ProcessSettings) CleanTimeout() time.Duration {
	if !p.TimeoutCleanSet {
		return DurationInfinity
	}
	return p.TimeoutClean
}
