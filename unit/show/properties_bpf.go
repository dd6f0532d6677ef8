package show

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/flint-init/flint/unit"
)

// bpfProperties adds the settings flint enforces with cgroup BPF programs as systemctl 252
// prints them: the address lists as prefixes joined by spaces, one DeviceAllow= line per
// entry (the newest first, with the char-rtc r ProtectClock= adds where a device policy is
// in force), one SocketBindAllow=/
// SocketBindDeny= line per rule (the newest first, worded as 252 words them: "ipv6:tcp8080"
// without a ':' between protocol and ports), the interfaces after a "~" for a deny list.
// A list not set adds nothing (but RestrictNetworkInterfaces=, "~" before any assignment).
func bpfProperties(p *propList, e *unit.ExecContext) {
	b := &e.BPF
	for _, l := range []struct {
		name string
		list []string
	}{{"IPAddressAllow", prefixStrings(b.IPAddressAllow)}, {"IPAddressDeny", prefixStrings(b.IPAddressDeny)}} {
		if len(l.list) > 0 {
			p.add(l.name, strings.Join(l.list, " "))
		}
	}
	devices := b.DeviceAllow
	if e.ProtectClock && (b.DevicePolicy != "" || e.PrivateDevices || len(devices) > 0) {
		devices = append(devices[:len(devices):len(devices)], unit.DeviceAllow{Path: "char-rtc", Access: "r"})
	}
	for i := len(devices) - 1; i >= 0; i-- {
		p.add("DeviceAllow", devices[i].Path+" "+devices[i].Access)
	}
	for _, l := range []struct {
		name  string
		rules []unit.SocketBindRule
	}{{"SocketBindAllow", b.SocketBindAllow}, {"SocketBindDeny", b.SocketBindDeny}} {
		for i := len(l.rules) - 1; i >= 0; i-- {
			p.add(l.name, socketBindString(l.rules[i]))
		}
	}
	v := strings.Join(b.RestrictNetworkInterfaces, " ")
	if !b.RestrictNetworkInterfacesAllow {
		v = "~" + v // "~" alone: not set (systemctl's full show leaves it out)
	}
	p.add("RestrictNetworkInterfaces", v)
}

func prefixStrings(ps []netip.Prefix) []string {
	var out []string
	for _, x := range ps {
		out = append(out, x.String())
	}
	return out
}

// socketBindString is a rule as systemctl 252 prints it.
func socketBindString(r unit.SocketBindRule) string {
	if r.Family == "" && r.Protocol == "" && r.PortMin == 0 {
		return "any"
	}
	s := ""
	if r.Family != "" {
		s = r.Family + ":"
	}
	s += r.Protocol
	switch {
	case r.PortMin == 0:
		s += "any"
	case r.PortMin == r.PortMax:
		s += strconv.Itoa(int(r.PortMin))
	default:
		s += strconv.Itoa(int(r.PortMin)) + "-" + strconv.Itoa(int(r.PortMax))
	}
	return s
}

// entryProperties print one line per entry and none when they have no entry, even when
// show -p names them: they have a place in the order of properties, and are left out of
// PropertyNames.
var entryProperties = map[string]bool{"DeviceAllow": true, "SocketBindAllow": true, "SocketBindDeny": true}
