package manager

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/flint-init/flint/internal/cgroup"
	"github.com/flint-init/flint/internal/cgroup/bpf"
	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/show"
	"golang.org/x/sys/unix"
)

// cgroup BPF (internal/cgroup/bpf): IPAddressAllow=/IPAddressDeny=, IPAccounting=,
// SocketBindAllow=/SocketBindDeny=, DeviceAllow=/DevicePolicy= (with what PrivateDevices=
// and ProtectClock= imply) and RestrictNetworkInterfaces= are programs attached to the
// unit's cgroup2 directory, and to its slices' (bpfPlace), before its first process is
// cloned into it (after cgroupPlace made the group), so that not one instruction of the
// unit runs unfiltered. The
// programs stay attached while the group lives; a start with other settings (after a
// reload) replaces them. Where they cannot be attached — no cgroups for the manager, no
// cgroup2 hierarchy, the kernel refusing — the start fails with Result=resources and says
// why, rather than run the unit without the protection its file asks for (systemd 252
// logs and runs it unprotected).

// bpfState is the manager's part: the programs of the units that have some.
type bpfState struct {
	units map[string]*unitBPF // by unit name
	noted map[string]bool     // units told their implied device policy is not enforced
}

type unitBPF struct {
	set        *bpf.Set
	key        string // the cgroup directory and spec the set was made for
	invocation string // the start the IP counters were last reset for
}

// bpfSupported is bpf.Supported's answer, asked once.
var bpfSupported = sync.OnceValue(bpf.Supported)

// bpfSpec is what u's settings ask the programs for; warn receives the entries that name
// no device or interface (logged, as systemd logs them, and skipped).
func bpfSpec(ec *unit.ExecContext, warn func(string)) *bpf.Spec {
	b := &ec.BPF
	s := &bpf.Spec{IP: bpf.IPFilter{Allow: b.IPAddressAllow, Deny: b.IPAddressDeny}, IPAccounting: b.IPAccounting}
	for _, l := range []struct {
		in  []unit.SocketBindRule
		out *[]bpf.BindRule
	}{{b.SocketBindAllow, &s.BindAllow}, {b.SocketBindDeny, &s.BindDeny}} {
		for _, r := range l.in {
			br := bpf.BindRule{PortMin: r.PortMin, PortMax: r.PortMax}
			switch r.Family {
			case "ipv4":
				br.Family = unix.AF_INET
			case "ipv6":
				br.Family = unix.AF_INET6
			}
			switch r.Protocol {
			case "tcp":
				br.Protocol = unix.IPPROTO_TCP
			case "udp":
				br.Protocol = unix.IPPROTO_UDP
			}
			*l.out = append(*l.out, br)
		}
	}
	policy, allow := devicePolicy(ec)
	if policy != "auto" || len(allow) > 0 {
		s.DeviceFilter = true
		entries := allow
		if policy != "strict" {
			entries = slices.Concat(staticDevices(), allow)
		}
		for _, a := range entries {
			rules, err := bpf.ResolveDevice(a.Path, a.Access)
			if err != nil {
				if !strings.HasPrefix(a.Path, "/run/systemd/inaccessible/") {
					warn(fmt.Sprintf("DeviceAllow=%s %s: %v, ignoring.", a.Path, a.Access, err))
				}
				continue
			}
			s.Devices = append(s.Devices, rules...)
		}
	}
	if len(b.RestrictNetworkInterfaces) > 0 {
		s.IfacesFilter, s.IfacesDeny = true, !b.RestrictNetworkInterfacesAllow
		for _, name := range b.RestrictNetworkInterfaces {
			ifc, err := net.InterfaceByName(name)
			if err != nil {
				warn(fmt.Sprintf("Couldn't find index of network interface '%s', ignoring.", name))
				continue
			}
			s.Ifaces = append(s.Ifaces, ifc.Index)
		}
	}
	return s
}

// devicePolicy is u's device policy and list after what other settings imply, as systemd's
// unit_patch_contexts() leaves them: PrivateDevices=yes closes a policy left at auto;
// ProtectClock=yes adds char-rtc read where a policy is in force (not auto without a list:
// the entry would block every other device).
func devicePolicy(ec *unit.ExecContext) (string, []unit.DeviceAllow) {
	policy := ec.BPF.DevicePolicy
	if policy == "" {
		policy = "auto"
		if ec.PrivateDevices {
			policy = "closed"
		}
	}
	allow := ec.BPF.DeviceAllow
	if ec.ProtectClock && (policy != "auto" || len(allow) > 0) {
		allow = append(slices.Clip(allow), unit.DeviceAllow{Path: "char-rtc", Access: "r"})
	}
	return policy, allow
}

func staticDevices() []unit.DeviceAllow {
	var out []unit.DeviceAllow
	for _, d := range bpf.StaticDevices {
		out = append(out, unit.DeviceAllow{Path: d[0], Access: d[1]})
	}
	return out
}

// bpfDirectives names what asks u for programs, for messages.
func bpfDirectives(ec *unit.ExecContext) []string {
	names := ec.BPF.Directives()
	if ec.BPF.DevicePolicy == "" && ec.PrivateDevices {
		names = append(names, "PrivateDevices")
	}
	return names
}

// bpfPlace attaches the programs u's settings ask for to u's cgroup, before the process
// cgroupPlace placed there runs; the slices above u get theirs first. An error is the
// start's failure.
//
// A slice's group gets the programs of its settings but IPAddressAllow=/IPAddressDeny=
// (those merge into its units' lists, sliceIPLists): DeviceAllow=/DevicePolicy=,
// SocketBind*=, RestrictNetworkInterfaces= and IPAccounting= (counting the traffic of
// everything below), as systemd's cgroup_context_apply gives a slice. The kernel runs the
// programs of every group above a process's (BPF_F_ALLOW_MULTI), each of which may refuse:
// a slice's filters hold for its units whatever their own settings.
func (m *Manager) bpfPlace(u *Unit, ec *unit.ExecContext) error {
	isSlice := u.cfg.Type == unit.TypeSlice
	if !isSlice {
		if err := m.sliceBPFReady(u); err != nil {
			return err
		}
	}
	ub := m.bpf.units[u.Name]
	spec := bpfSpec(ec, func(s string) { m.logUnit(u, "%s", s) })
	var deny []netip.Prefix
	var from []string
	if isSlice {
		spec.IP = bpf.IPFilter{}
	} else {
		var allow []netip.Prefix
		allow, deny, from = m.sliceIPLists(u)
		spec.IP.Allow = slices.Concat(spec.IP.Allow, allow)
		spec.IP.Deny = slices.Concat(spec.IP.Deny, deny)
	}
	if spec.Empty() {
		if ub != nil {
			ub.set.Close()
			delete(m.bpf.units, u.Name)
		}
		return nil
	}
	directives := bpfDirectives(ec)
	if isSlice {
		directives = slices.DeleteFunc(directives, func(d string) bool { return strings.HasPrefix(d, "IPAddress") })
	}
	what := strings.Join(directives, "=, ") + "="
	if len(deny) > 0 {
		what = strings.TrimPrefix(what+", IPAddressDeny= of "+strings.Join(from, ", "), "=, ")
	}
	refuse := func(why string) error {
		if !isSlice && len(ec.BPF.Directives()) == 0 && len(deny) == 0 {
			// Only what PrivateDevices= implies: its own sandbox (a private /dev) stands
			// without it. Said once.
			if !m.bpf.noted[u.Name] {
				m.logUnit(u, "%s=: device access not restricted by cgroup BPF: %s.", strings.Join(bpfDirectives(ec), "=, "), why)
				if m.bpf.noted == nil {
					m.bpf.noted = map[string]bool{}
				}
				m.bpf.noted[u.Name] = true
			}
			return nil
		}
		return &resourceError{fmt.Errorf("%s cannot be enforced: %s; refusing to start the unit without it", what, why)}
	}
	ug := m.cg.groups[u.Name]
	switch {
	case !m.cgroupsOn():
		why := "the manager uses no cgroups"
		if m.opt.Cgroups != nil && m.opt.Cgroups.Why != "" {
			why += " (" + m.opt.Cgroups.Why + ")"
		}
		return refuse(why)
	case ug == nil:
		return refuse("the unit has no cgroup")
	case !ug.g.L.Tracking.V2:
		return refuse("cgroup BPF programs need a cgroup2 hierarchy, and this machine's cgroups are v1 only")
	}
	if err := bpfSupported(); err != nil {
		return refuse("the kernel refuses cgroup BPF programs: " + err.Error())
	}
	dir := ug.g.L.Tracking.Dir(ug.g.Rel)
	key := dir + "\x00" + fmt.Sprintf("%+v", *spec)
	if ub == nil || ub.key != key {
		set, err := bpf.Attach(dir, spec)
		if err != nil {
			return refuse(err.Error())
		}
		if ub != nil {
			ub.set.Close()
		}
		ub = &unitBPF{set: set, key: key, invocation: u.hs().invocationID}
		if m.bpf.units == nil {
			m.bpf.units = map[string]*unitBPF{}
		}
		m.bpf.units[u.Name] = ub
	}
	if ub.invocation != u.hs().invocationID {
		// A new start counts from zero, as systemd resets IP accounting at each start.
		ub.set.ResetIPCounters()
		ub.invocation = u.hs().invocationID
	}
	return nil
}

// sliceWantsBPF reports whether slice settings ec ask for programs on the slice's group
// (a first look, without resolving devices).
func sliceWantsBPF(ec *unit.ExecContext) bool {
	b := &ec.BPF
	return b.IPAccounting || len(b.SocketBindDeny) > 0 || len(b.DeviceAllow) > 0 || len(b.RestrictNetworkInterfaces) > 0 ||
		b.DevicePolicy != "" && b.DevicePolicy != "auto"
}

// sliceBPFReady attaches the programs of the slices above u (their groups made by
// cgroupPlace), as a unit's own are attached: before its first process runs, and a slice
// whose programs cannot be attached refuses the unit's start; those of a slice that no
// longer asks for them (after a reload) are detached. -.slice is flint's own group:
// nothing is attached there.
func (m *Manager) sliceBPFReady(u *Unit) error {
	for s := m.sliceOf(u); s != "" && s != "-.slice"; s = unit.SliceParent(s) {
		su := m.units[s]
		if su == nil || su.cfg.Slice == nil || su.cfg.LoadState != unit.Loaded ||
			!sliceWantsBPF(&su.cfg.Slice.Resources) && m.bpf.units[s] == nil {
			continue
		}
		if err := m.bpfPlace(su, &su.cfg.Slice.Resources); err != nil {
			return &resourceError{fmt.Errorf("%s: %w", s, err)}
		}
	}
	return nil
}

// sliceBPF attaches slice su's programs as its group is made (sliceGroup); a failure is
// logged (the units below refuse to start: sliceBPFReady).
func (m *Manager) sliceBPF(su *Unit, ec *unit.ExecContext) {
	if !sliceWantsBPF(ec) {
		return
	}
	if err := m.bpfPlace(su, ec); err != nil {
		m.logUnit(su, "%v", err)
	}
}

// bpfProperties puts IP accounting's counters into rt (IPIngressBytes=, ...), where u has
// IPAccounting=yes and its programs are attached.
func (m *Manager) bpfProperties(u *Unit, rt []show.Property) []show.Property {
	ub := m.bpf.units[u.Name]
	if ub == nil {
		return rt
	}
	ip, ib, op, ob, ok := ub.set.IPCounters()
	if !ok {
		return rt
	}
	vals := map[string]uint64{"IPIngressBytes": ib, "IPIngressPackets": ip, "IPEgressBytes": ob, "IPEgressPackets": op}
	for n, v := range vals {
		i := slices.IndexFunc(rt, func(p show.Property) bool { return p.Name == n })
		if i < 0 {
			rt = append(rt, show.Property{Name: n, Value: strconv.FormatUint(v, 10)})
		} else {
			rt[i].Value = strconv.FormatUint(v, 10)
		}
	}
	return rt
}

// socketCgroup readies a socket unit's listening sockets for its IP and bind filters:
// a socket is filtered by the programs of the cgroup it was made in, so the manager moves
// itself (its cgroup2 membership alone) into the unit's group while it makes them, as
// systemd makes them in the unit's cgroup; leave moves it back. A socket unit without such
// filters costs nothing here.
func (m *Manager) socketCgroup(u *Unit) (leave func(), err error) {
	ec := execContextOf(u.cfg)
	nothing := func() {}
	if ec == nil {
		return nothing, nil
	}
	if _, deny, _ := m.sliceIPLists(u); len(deny)+len(ec.BPF.IPAddressDeny)+len(ec.BPF.SocketBindDeny)+len(ec.BPF.RestrictNetworkInterfaces) == 0 &&
		!ec.BPF.IPAccounting && !m.sliceSocketFilters(u) {
		return nothing, nil
	}
	m.unitGroup(u, ec) // nil without cgroups: bpfPlace says why
	if err := m.bpfPlace(u, ec); err != nil {
		return nothing, err
	}
	ug := m.cg.groups[u.Name]
	h := ug.g.L.Tracking
	self, ok := cgroup.PathOf(os.Getpid(), h)
	if !ok {
		return nothing, &resourceError{fmt.Errorf("cannot make the sockets in the unit's cgroup: the manager's own cgroup2 group is unknown")}
	}
	back := filepath.Join(h.Mount, self, "cgroup.procs")
	pid := []byte(strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(filepath.Join(h.Dir(ug.g.Rel), "cgroup.procs"), pid, 0); err != nil {
		return nothing, &resourceError{fmt.Errorf("cannot make the sockets in the unit's cgroup: %w", err)}
	}
	return func() {
		if err := os.WriteFile(back, pid, 0); err != nil {
			m.logUnit(u, "Failed to move the manager back to its cgroup %s: %v", self, err)
		}
	}, nil
}

// sliceSocketFilters reports whether a slice above u has settings that filter or count its
// sockets (SocketBindDeny=, RestrictNetworkInterfaces=, IPAccounting=).
func (m *Manager) sliceSocketFilters(u *Unit) bool {
	for s := m.sliceOf(u); s != "" && s != "-.slice"; s = unit.SliceParent(s) {
		su := m.units[s]
		if su == nil || su.cfg.Slice == nil || su.cfg.LoadState != unit.Loaded {
			continue
		}
		if b := &su.cfg.Slice.Resources.BPF; len(b.SocketBindDeny)+len(b.RestrictNetworkInterfaces) > 0 || b.IPAccounting {
			return true
		}
	}
	return false
}

// bpfReapply attaches u's programs as set-property left its settings, when u's group is in
// use; an idle group gets them at the unit's next start.
func (m *Manager) bpfReapply(u *Unit) {
	ec := execContextOf(u.cfg)
	if ug := m.cg.groups[u.Name]; ec == nil || ug == nil || ug.idle {
		return
	}
	if err := m.bpfPlace(u, ec); err != nil {
		m.logUnit(u, "%v", err)
	}
}

// sliceIPLists are the IPAddressAllow=/IPAddressDeny= lists of the slices u is in, up to
// -.slice, and the slices that deny something: systemd merges them into a unit's own lists,
// so that a unit's allow list can open what a slice denies (a slice's own group gets no
// filter: no process lives there).
func (m *Manager) sliceIPLists(u *Unit) (allow, deny []netip.Prefix, from []string) {
	for s := m.sliceOf(u); s != ""; s = unit.SliceParent(s) {
		su := m.units[s]
		if su == nil || su.cfg.Slice == nil || su.cfg.LoadState != unit.Loaded {
			continue
		}
		b := &su.cfg.Slice.Resources.BPF
		allow = append(allow, b.IPAddressAllow...)
		deny = append(deny, b.IPAddressDeny...)
		if len(b.IPAddressDeny) > 0 {
			from = append(from, s)
		}
	}
	return allow, deny, from
}
