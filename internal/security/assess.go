package security

import (
	"encoding/json"
	"fmt"
	"strings"
)

// notApplicable is the badness of an assessment that does not apply to the unit.
const notApplicable = ^uint64(0)

// assessor is one row of systemd 252's assessment table: its weight in the overall
// exposure, its range of badness, and how the badness is found.
type assessor struct {
	id, jsonField           string
	good, bad, na           string // descriptions for badness 0, range, not applicable
	weight, rng             uint64
	defaultDependenciesOnly bool // "special boot phase" units are not judged by it
	assess                  func(a *assessor, i *Info) (uint64, string)
	caps                    uint64 // capability bits, for the CapabilityBoundingSet= rows
	ns                      uint64 // namespace flags, for the RestrictNamespaces= rows
	group                   string // system call group, for the SystemCallFilter= rows
	flag                    func(i *Info) bool
	invert                  bool // the flag set is bad (Delegate=)
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func assessBool(a *assessor, i *Info) (uint64, string) {
	v := a.flag(i)
	if a.invert {
		return b2u(v), ""
	}
	return b2u(!v), ""
}

func assessCaps(a *assessor, i *Info) (uint64, string) {
	return b2u(i.CapabilityBoundingSet&a.caps != 0), ""
}

func assessNamespaces(a *assessor, i *Info) (uint64, string) {
	return b2u(i.RestrictNamespaces&a.ns != 0), ""
}

// runsPrivileged is security_info_runs_privileged.
func runsPrivileged(i *Info) bool {
	if i.User == "0" || i.User == "root" {
		return true
	}
	if i.DynamicUser {
		return false
	}
	return i.User == ""
}

func assessUser(a *assessor, i *Info) (uint64, string) {
	switch {
	case i.User == "nobody":
		return 9, "Service runs under as 'nobody' user, which should not be used for services"
	case i.DynamicUser && i.User != "0" && i.User != "root":
		return 0, "Service runs under a transient non-root user identity"
	case i.User != "" && i.User != "0" && i.User != "root":
		return 0, "Service runs under a static non-root user identity"
	}
	return 10, ""
}

// parseBoolString is parse_boolean of systemd's string properties ("yes", "no", ...):
// 1, 0, or -1 for a word that is not a boolean.
func parseBoolString(s string) int {
	switch strings.ToLower(s) {
	case "1", "yes", "y", "true", "t", "on":
		return 1
	case "0", "no", "n", "false", "f", "off":
		return 0
	}
	return -1
}

func assessProtectHome(a *assessor, i *Info) (uint64, string) {
	switch r := parseBoolString(i.ProtectHome); {
	case r > 0:
		return 0, "Service has no access to home directories"
	case r < 0 && i.ProtectHome == "read-only":
		return 5, "Service has read-only access to home directories"
	case r < 0 && i.ProtectHome == "tmpfs":
		return 1, "Service has access to fake empty home directories"
	}
	return 10, "Service has full access to home directories"
}

func assessProtectSystem(a *assessor, i *Info) (uint64, string) {
	switch r := parseBoolString(i.ProtectSystem); {
	case r > 0:
		return 5, "Service has limited write access to the OS file hierarchy"
	case r < 0 && i.ProtectSystem == "full":
		return 3, "Service has very limited write access to the OS file hierarchy"
	case r < 0 && i.ProtectSystem == "strict":
		return 0, "Service has strict read-only access to the OS file hierarchy"
	}
	return 10, "Service has full access to the OS file hierarchy"
}

func emptyOrRoot(p string) bool { return p == "" || strings.Trim(p, "/") == "" }

func assessRootDirectory(a *assessor, i *Info) (uint64, string) {
	return b2u(emptyOrRoot(i.RootDirectory) && emptyOrRoot(i.RootImage)), ""
}

func assessUMask(a *assessor, i *Info) (uint64, string) {
	switch m := i.UMask; {
	case m&0o002 == 0:
		return 10, "Files created by service are world-writable by default"
	case m&0o004 == 0:
		return 5, "Files created by service are world-readable by default"
	case m&0o020 == 0:
		return 2, "Files created by service are group-writable by default"
	case m&0o040 == 0:
		return 1, "Files created by service are group-readable by default"
	}
	return 0, "Files created by service are accessible only by service's own user by default"
}

func assessKeyringMode(a *assessor, i *Info) (uint64, string) {
	return b2u(i.KeyringMode != "private"), ""
}

func assessProtectProc(a *assessor, i *Info) (uint64, string) {
	switch i.ProtectProc {
	case "noaccess":
		return 1, ""
	case "invisible", "ptraceable":
		return 0, ""
	}
	return 3, ""
}

func assessProcSubset(a *assessor, i *Info) (uint64, string) {
	return b2u(i.ProcSubset != "pid"), ""
}

func assessNotifyAccess(a *assessor, i *Info) (uint64, string) {
	return b2u(i.NotifyAccess == "all"), ""
}

func assessRemoveIPC(a *assessor, i *Info) (uint64, string) {
	if runsPrivileged(i) {
		return notApplicable, ""
	}
	return b2u(!i.RemoveIPC), ""
}

func assessSupplementaryGroups(a *assessor, i *Info) (uint64, string) {
	if runsPrivileged(i) {
		return notApplicable, ""
	}
	return b2u(len(i.SupplementaryGroups) > 0), ""
}

func assessSyscallArchs(a *assessor, i *Info) (uint64, string) {
	switch {
	case len(i.SystemCallArchitectures) == 0:
		return 10, "Service may execute system calls with all ABIs"
	case len(i.SystemCallArchitectures) == 1 && i.SystemCallArchitectures[0] == "native":
		return 0, "Service may execute system calls only with native ABI"
	}
	return 8, "Service may execute system calls with multiple ABIs"
}

func assessSyscallFilter(a *assessor, i *Info) (uint64, string) {
	if !i.SystemCallFilterAllow && len(i.SystemCallFilter) == 0 {
		return 10, "Service does not filter system calls"
	}
	offender, bad := groupOffender(i.SystemCallFilter, i.SystemCallFilterAllow, a.group)
	switch {
	case i.SystemCallFilterAllow && bad:
		return 9, fmt.Sprintf("System call allow list defined for service, and %s is included (e.g. %s is allowed)", a.group, offender)
	case i.SystemCallFilterAllow:
		return 0, fmt.Sprintf("System call allow list defined for service, and %s is not included", a.group)
	case bad:
		return 10, fmt.Sprintf("System call deny list defined for service, and %s is not included (e.g. %s is allowed)", a.group, offender)
	}
	return 0, fmt.Sprintf("System call deny list defined for service, and %s is included", a.group)
}

func assessIPAddress(a *assessor, i *Info) (uint64, string) {
	switch {
	case i.IPFiltersCustomIngress || i.IPFiltersCustomEgress:
		return 0, "Service defines custom ingress/egress IP filters with BPF programs"
	case !i.IPAddressDenyAll:
		return 10, "Service does not define an IP address allow list"
	case i.IPAddressAllowOther:
		return 5, "Service defines IP address allow list with non-localhost entries"
	case i.IPAddressAllowLocalhost:
		return 2, "Service defines IP address allow list with only localhost entries"
	}
	return 0, "Service blocks all IP address ranges"
}

func assessDeviceAllow(a *assessor, i *Info) (uint64, string) {
	if i.DevicePolicy == "strict" || i.DevicePolicy == "closed" {
		if len(i.DeviceAllow) > 0 {
			return 5, "Service has a device ACL with some special devices: " + strings.Join(i.DeviceAllow, " ")
		}
		return 0, "Service has a minimal device ACL"
	}
	return 10, "Service has no device ACL"
}

func assessAmbient(a *assessor, i *Info) (uint64, string) {
	return b2u(i.AmbientCapabilities != 0), ""
}

// Report is the assessment of one unit.
type Report struct {
	ID           string
	FragmentPath string
	Rows         []Row  // in systemd's display order
	Exposure     uint64 // 0 to 100, printed as tenths ("9.6")
}

// Row is one assessor's verdict.
type Row struct {
	Name, JSONField, Description string
	Weight, Badness, Range       uint64 // Badness is notApplicable when it does not apply
	Exposure                     string // this row's share of the exposure, "" for none
}

// Set is the check mark: 1 good, 0 bad, -1 not applicable.
func (r Row) Set() int {
	switch {
	case r.Badness == notApplicable:
		return -1
	case r.Badness == 0:
		return 1
	}
	return 0
}

// Policy overrides an assessor's weight, range or descriptions, by its JSON field name
// (systemd-analyze's --security-policy=). A zero weight excludes the assessor.
type Policy map[string]PolicyItem

// PolicyItem is one assessor's override; nil fields keep systemd's value.
type PolicyItem struct {
	Weight, Range                                  *uint64
	DescriptionGood, DescriptionBad, DescriptionNA *string
}

// Assess weighs info with systemd 252's assessors, and the policy's overrides if any.
func Assess(info *Info, policy Policy) Report {
	rep := Report{ID: info.ID, FragmentPath: info.FragmentPath}
	var badnessSum, weightSum uint64
	for idx := range assessors {
		a := &assessors[idx]
		weight, rng := a.weight, a.rng
		good, bad, na := a.good, a.bad, a.na
		if p, ok := policy[a.jsonField]; ok {
			if p.Weight != nil {
				weight = *p.Weight
			}
			if p.Range != nil && *p.Range > 0 {
				rng = *p.Range
			}
			if p.DescriptionGood != nil {
				good = *p.DescriptionGood
			}
			if p.DescriptionBad != nil {
				bad = *p.DescriptionBad
			}
			if p.DescriptionNA != nil {
				na = *p.DescriptionNA
			}
		}
		var badness uint64
		var d string
		switch {
		case a.defaultDependenciesOnly && !info.DefaultDependencies:
			badness, d = notApplicable, "Service runs in special boot phase, option is not appropriate"
		case weight == 0:
			badness, d = notApplicable, "Option excluded by policy, skipping"
		default:
			badness, d = a.assess(a, info)
		}
		if badness != notApplicable {
			if badness > rng {
				badness = rng
			}
			badnessSum += divRoundUp(badness*weight, rng)
			weightSum += weight
		}
		desc := ""
		switch {
		case badness == notApplicable:
			desc = na
		case badness == a.rng:
			desc = bad
		case badness == 0:
			desc = good
		}
		if d != "" {
			desc = d
		}
		rep.Rows = append(rep.Rows, Row{Name: a.id, JSONField: a.jsonField, Description: desc,
			Weight: weight, Badness: badness, Range: rng})
	}
	if weightSum == 0 {
		weightSum = 1 // every assessor excluded by the policy
	}
	for i := range rep.Rows {
		r := &rep.Rows[i]
		if r.Badness == notApplicable || r.Badness == 0 {
			continue
		}
		x := divRoundUp(divRoundUp(r.Badness*r.Weight*100, r.Range), weightSum)
		r.Exposure = fmt.Sprintf("%d.%d", x/10, x%10)
	}
	rep.Exposure = divRoundUp(badnessSum*100, weightSum)
	rep.Rows = sortRows(rep.Rows)
	return rep
}

func divRoundUp(x, y uint64) uint64 { return (x + y - 1) / y }

// Rating is the overall verdict for an exposure: its name and smiley.
type Rating struct {
	Name         string
	Emoji, ASCII string
}

var ratings = []struct {
	min uint64
	Rating
}{
	{100, Rating{"DANGEROUS", "🤢", ":-["}},
	{90, Rating{"UNSAFE", "😨", ":-{"}},
	{75, Rating{"EXPOSED", "🙁", ":-("}},
	{50, Rating{"MEDIUM", "😐", ":-|"}},
	{10, Rating{"OK", "🙂", ":-)"}},
	{1, Rating{"SAFE", "😀", ":-}"}},
	{0, Rating{"PERFECT", "😇", ":-]"}},
}

// Rating names the report's overall exposure.
func (r Report) Rating() Rating {
	for _, x := range ratings {
		if r.Exposure >= x.min {
			return x.Rating
		}
	}
	return ratings[len(ratings)-1].Rating
}

// sortRows orders the rows as systemd's table does: by description, descending, then by
// name. systemd compares a missing description (an empty cell) with a text by the order
// the rows were added in, reversed too, which is no total order; the result is the one of
// glibc's qsort, a merge sort, run over the table's rows with the header first.
func sortRows(rows []Row) []Row {
	const header = -1
	idx := make([]int, len(rows)+1)
	idx[0] = header
	for i := range rows {
		idx[i+1] = i
	}
	cmp := func(a, b int) int {
		switch {
		case a == header && b == header:
			return 0
		case a == header:
			return -1
		case b == header:
			return 1
		}
		ra, rb := rows[a], rows[b]
		if ra.Description == "" || rb.Description == "" {
			if c := compareInt(a, b); c != 0 {
				return -c
			}
		} else if c := strings.Compare(ra.Description, rb.Description); c != 0 {
			return -c
		}
		if c := strings.Compare(ra.Name, rb.Name); c != 0 {
			return c
		}
		return compareInt(a, b)
	}
	msort(idx, make([]int, len(idx)), cmp)
	out := make([]Row, 0, len(rows))
	for _, i := range idx[1:] {
		out = append(out, rows[i])
	}
	return out
}

// msort is glibc's msort_with_tmp: split in halves (the first n/2 long), sort each, merge
// taking from the first while it compares <= 0.
func msort(b, tmp []int, cmp func(a, b int) int) {
	n := len(b)
	if n <= 1 {
		return
	}
	n1 := n / 2
	b1, b2 := b[:n1], b[n1:]
	msort(b1, tmp, cmp)
	msort(b2, tmp, cmp)
	t := tmp[:0]
	i, j := 0, 0
	for i < len(b1) && j < len(b2) {
		if cmp(b1[i], b2[j]) <= 0 {
			t = append(t, b1[i])
			i++
		} else {
			t = append(t, b2[j])
			j++
		}
	}
	t = append(t, b1[i:]...)
	copy(b, t)
}

func compareInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ParsePolicy reads a --security-policy= file's JSON. As in systemd, an item that is not an
// object, and a field of the wrong type, are ignored; only invalid JSON is an error.
func ParsePolicy(data []byte) (Policy, error) {
	var top any
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, err
	}
	obj, ok := top.(map[string]any)
	if !ok {
		return nil, nil
	}
	p := Policy{}
	for k, v := range obj {
		item, ok := v.(map[string]any)
		if !ok {
			continue
		}
		var pi PolicyItem
		unsigned := func(name string) *uint64 {
			f, ok := item[name].(float64)
			if !ok || f < 0 || f != float64(uint64(f)) {
				return nil
			}
			u := uint64(f)
			return &u
		}
		str := func(name string) *string {
			s, ok := item[name].(string)
			if !ok {
				return nil
			}
			return &s
		}
		pi.Weight, pi.Range = unsigned("weight"), unsigned("range")
		pi.DescriptionGood, pi.DescriptionBad, pi.DescriptionNA = str("description_good"), str("description_bad"), str("description_na")
		p[k] = pi
	}
	return p, nil
}
