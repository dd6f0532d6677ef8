package unit

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// The directives flint enforces with cgroup BPF programs (internal/cgroup/bpf), as
// systemd.resource-control(5) describes them, decoded into ExecContext.BPF. Each value's
// text is kept in NotEnforcedValues too, where `show` words the properties from.

// BPFContext holds IPAddressAllow=, IPAddressDeny=, IPAccounting=, SocketBindAllow=,
// SocketBindDeny=, DeviceAllow=, DevicePolicy= and RestrictNetworkInterfaces=.
type BPFContext struct {
	IPAddressAllow, IPAddressDeny   []netip.Prefix // masked; "any" etc. as their prefixes
	IPAccounting                    bool
	SocketBindAllow, SocketBindDeny []SocketBindRule
	DevicePolicy                    string // "" (auto), "closed" or "strict"
	DeviceAllow                     []DeviceAllow
	// RestrictNetworkInterfaces: the names, an allow list when RestrictNetworkInterfacesAllow
	// (the assignment that started the list had no '~'; systemd's is_allow_list, which an
	// empty assignment leaves as it was and which is false before any).
	RestrictNetworkInterfaces      []string
	RestrictNetworkInterfacesAllow bool
}

// SocketBindRule is one SocketBindAllow=/SocketBindDeny= entry: Family "" (both), "ipv4" or
// "ipv6"; Protocol "" (both), "tcp" or "udp"; ports PortMin..PortMax, every port when
// PortMin is 0 ("any").
type SocketBindRule struct {
	Family, Protocol string
	PortMin, PortMax uint16
}

// DeviceAllow is one DeviceAllow= entry: a device node path, "char-NAME" or "block-NAME"
// (a driver name from /proc/devices, globs allowed), and the access, a subset of "rwm".
type DeviceAllow struct {
	Path, Access string
}

// Empty reports whether the unit asks for no BPF program (nothing to attach).
func (b *BPFContext) Empty() bool {
	return len(b.IPAddressDeny) == 0 && !b.IPAccounting && len(b.SocketBindDeny) == 0 &&
		b.DevicePolicy == "" && len(b.DeviceAllow) == 0 && len(b.RestrictNetworkInterfaces) == 0
}

// Directives lists the BPF directives the unit sets, in a fixed order (for messages).
func (b *BPFContext) Directives() []string {
	var out []string
	add := func(on bool, name string) {
		if on {
			out = append(out, name)
		}
	}
	add(len(b.IPAddressAllow) > 0, "IPAddressAllow")
	add(len(b.IPAddressDeny) > 0, "IPAddressDeny")
	add(b.IPAccounting, "IPAccounting")
	add(len(b.SocketBindAllow) > 0, "SocketBindAllow")
	add(len(b.SocketBindDeny) > 0, "SocketBindDeny")
	add(len(b.DeviceAllow) > 0, "DeviceAllow")
	add(b.DevicePolicy != "", "DevicePolicy")
	add(len(b.RestrictNetworkInterfaces) > 0, "RestrictNetworkInterfaces")
	return out
}

// BPFDirectives are the directives registerBPF decodes.
var BPFDirectives = []string{"IPAddressAllow", "IPAddressDeny", "IPAccounting", "SocketBindAllow",
	"SocketBindDeny", "DeviceAllow", "DevicePolicy", "RestrictNetworkInterfaces"}

// symbolicPrefixes are the names IPAddressAllow=/IPAddressDeny= take for their prefixes.
var symbolicPrefixes = map[string][]string{
	"any":        {"0.0.0.0/0", "::/0"},
	"localhost":  {"127.0.0.0/8", "::1/128"},
	"link-local": {"169.254.0.0/16", "fe80::/64"},
	"multicast":  {"224.0.0.0/4", "ff00::/8"},
}

// ParseIPPrefix is one word of IPAddressAllow=/IPAddressDeny=: a symbolic name, an address
// with a prefix length, or an address alone (the whole address).
func ParseIPPrefix(w string) ([]netip.Prefix, bool) {
	if ss, ok := symbolicPrefixes[w]; ok {
		var out []netip.Prefix
		for _, s := range ss {
			out = append(out, netip.MustParsePrefix(s))
		}
		return out, true
	}
	if p, err := netip.ParsePrefix(w); err == nil {
		return []netip.Prefix{p.Masked()}, true
	}
	if a, err := netip.ParseAddr(w); err == nil && a.Zone() == "" {
		return []netip.Prefix{netip.PrefixFrom(a, a.BitLen())}, true
	}
	return nil, false
}

// ParseSocketBindRule is one SocketBindAllow=/SocketBindDeny= value:
// "any" or "[ipv4|ipv6:][tcp|udp:](any|PORT[-PORT])".
func ParseSocketBindRule(v string) (SocketBindRule, bool) {
	var r SocketBindRule
	if v == "any" {
		return r, true
	}
	parts := strings.Split(v, ":")
	if len(parts) > 3 {
		return r, false
	}
	for _, p := range parts[:len(parts)-1] {
		switch {
		case (p == "ipv4" || p == "ipv6") && r.Family == "" && r.Protocol == "":
			r.Family = p
		case (p == "tcp" || p == "udp") && r.Protocol == "":
			r.Protocol = p
		default:
			return r, false
		}
	}
	port := parts[len(parts)-1]
	if port == "any" {
		return r, true
	}
	lo, hi, isRange := strings.Cut(port, "-")
	if !isRange {
		hi = lo
	}
	a, err1 := strconv.ParseUint(lo, 10, 16)
	b, err2 := strconv.ParseUint(hi, 10, 16)
	if err1 != nil || err2 != nil || a == 0 || b < a {
		return r, false
	}
	r.PortMin, r.PortMax = uint16(a), uint16(b)
	return r, true
}

func registerBPF() {
	x := func(d *decoder) *BPFContext { return &d.exec.BPF }
	ips := func(get func(b *BPFContext) *[]netip.Prefix) parseFunc {
		return func(d *decoder, e Entry, v string) {
			if v == "" {
				*get(x(d)) = nil
				setValue(d.exec, e.Key, "")
				return
			}
			for _, w := range strings.Fields(v) {
				ps, ok := ParseIPPrefix(w)
				if !ok {
					d.warn(e, "Address prefix is invalid, ignoring assignment: %s", w)
					continue
				}
				*get(x(d)) = append(slices.Clip(*get(x(d))), ps...) // a set-property copy shares no array
			}
			setValue(d.exec, e.Key, strings.TrimSpace(d.exec.NotEnforcedValues[e.Key]+" "+v))
		}
	}
	regBoth("IPAddressAllow", Supported, ips(func(b *BPFContext) *[]netip.Prefix { return &b.IPAddressAllow }))
	regBoth("IPAddressDeny", Supported, ips(func(b *BPFContext) *[]netip.Prefix { return &b.IPAddressDeny }))
	regBoth("IPAccounting", Supported, func(d *decoder, e Entry, v string) {
		b, err := ParseBool(v)
		if err != nil {
			d.warn(e, "Failed to parse boolean value, ignoring: %s", v)
			return
		}
		x(d).IPAccounting = b
		setValue(d.exec, e.Key, v)
	})
	binds := func(get func(b *BPFContext) *[]SocketBindRule) parseFunc {
		return func(d *decoder, e Entry, v string) {
			if v == "" {
				*get(x(d)) = nil
				return
			}
			r, ok := ParseSocketBindRule(v)
			if !ok {
				d.warn(e, "Unable to parse %s= assignment, ignoring: %s", e.Key, v)
				return
			}
			if len(*get(x(d))) >= 128 {
				d.warn(e, "Too many %s= assignments, ignoring: %s", e.Key, v)
				return
			}
			*get(x(d)) = append(slices.Clip(*get(x(d))), r)
		}
	}
	regBoth("SocketBindAllow", Supported, binds(func(b *BPFContext) *[]SocketBindRule { return &b.SocketBindAllow }))
	regBoth("SocketBindDeny", Supported, binds(func(b *BPFContext) *[]SocketBindRule { return &b.SocketBindDeny }))
	regBoth("DevicePolicy", Supported, func(d *decoder, e Entry, v string) {
		switch v {
		case "auto":
			x(d).DevicePolicy = ""
		case "closed", "strict":
			x(d).DevicePolicy = v
		default:
			d.warn(e, "Failed to parse device policy, ignoring: %s", v)
			return
		}
		setValue(d.exec, e.Key, v)
	})
	regBoth("DeviceAllow", Supported, func(d *decoder, e Entry, v string) {
		if v == "" {
			x(d).DeviceAllow = nil
			return
		}
		p, acc, _ := strings.Cut(strings.TrimSpace(v), " ")
		p, ok := d.printfMsg(e, p, "Failed to resolve unit specifiers in %s, ignoring", false)
		if !ok {
			return
		}
		if !strings.HasPrefix(p, "/dev/") && !strings.HasPrefix(p, "char-") && !strings.HasPrefix(p, "block-") && !strings.HasPrefix(p, "/run/systemd/inaccessible/") {
			d.warn(e, "Invalid device node path '%s', ignoring.", p)
			return
		}
		acc = strings.TrimSpace(acc)
		if acc == "" {
			acc = "rwm"
		}
		if strings.Trim(acc, "rwm") != "" {
			d.warn(e, "Invalid device rights '%s', ignoring.", acc)
			return
		}
		x(d).DeviceAllow = append(slices.Clip(x(d).DeviceAllow), DeviceAllow{Path: p, Access: acc})
	})
	regBoth("RestrictNetworkInterfaces", Supported, func(d *decoder, e Entry, v string) {
		b := x(d)
		if v == "" {
			b.RestrictNetworkInterfaces = nil
			return
		}
		allow := !strings.HasPrefix(v, "~")
		if len(b.RestrictNetworkInterfaces) == 0 {
			b.RestrictNetworkInterfacesAllow = allow
		}
		for _, w := range strings.Fields(strings.TrimPrefix(v, "~")) {
			if !ifnameValid(w) {
				d.warn(e, "Invalid interface name, ignoring: %s", w)
				continue
			}
			i := indexOf(b.RestrictNetworkInterfaces, w)
			switch {
			case allow != b.RestrictNetworkInterfacesAllow && i >= 0:
				// The other kind of rule takes the name out of the list.
				b.RestrictNetworkInterfaces = append(b.RestrictNetworkInterfaces[:i:i], b.RestrictNetworkInterfaces[i+1:]...)
			case allow == b.RestrictNetworkInterfacesAllow && i < 0:
				b.RestrictNetworkInterfaces = append(slices.Clip(b.RestrictNetworkInterfaces), w)
			}
		}
	})
}

func indexOf(ss []string, s string) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}
