package sandbox

import (
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// afMax is AF_MAX of the headers systemd 252 is built with on this distribution (Linux 6.1):
// the families below it are the ones an allow list refuses one by one.
const afMax = 46

var familyNumbers = map[string]int{
	"AF_UNIX": unix.AF_UNIX, "AF_LOCAL": unix.AF_LOCAL, "AF_INET": unix.AF_INET, "AF_INET6": unix.AF_INET6,
	"AF_NETLINK": unix.AF_NETLINK, "AF_ROUTE": unix.AF_NETLINK, "AF_PACKET": unix.AF_PACKET,
	"AF_BLUETOOTH": unix.AF_BLUETOOTH, "AF_ALG": unix.AF_ALG, "AF_VSOCK": unix.AF_VSOCK, "AF_CAN": unix.AF_CAN,
	"AF_APPLETALK": unix.AF_APPLETALK, "AF_AX25": unix.AF_AX25, "AF_IPX": unix.AF_IPX, "AF_X25": unix.AF_X25,
	"AF_ROSE": unix.AF_ROSE, "AF_DECnet": unix.AF_DECnet, "AF_NETBEUI": unix.AF_NETBEUI,
	"AF_SECURITY": unix.AF_SECURITY, "AF_KEY": unix.AF_KEY, "AF_ASH": unix.AF_ASH, "AF_ECONET": unix.AF_ECONET,
	"AF_ATMSVC": unix.AF_ATMSVC, "AF_ATMPVC": unix.AF_ATMPVC, "AF_RDS": unix.AF_RDS, "AF_SNA": unix.AF_SNA,
	"AF_IRDA": unix.AF_IRDA, "AF_PPPOX": unix.AF_PPPOX, "AF_WANPIPE": unix.AF_WANPIPE, "AF_LLC": unix.AF_LLC,
	"AF_IB": unix.AF_IB, "AF_MPLS": unix.AF_MPLS, "AF_TIPC": unix.AF_TIPC, "AF_IUCV": unix.AF_IUCV,
	"AF_RXRPC": unix.AF_RXRPC, "AF_ISDN": unix.AF_ISDN, "AF_PHONET": unix.AF_PHONET,
	"AF_IEEE802154": unix.AF_IEEE802154, "AF_CAIF": unix.AF_CAIF, "AF_NFC": unix.AF_NFC, "AF_KCM": unix.AF_KCM,
	"AF_QIPCRTR": unix.AF_QIPCRTR, "AF_SMC": unix.AF_SMC, "AF_XDP": unix.AF_XDP, "AF_MCTP": unix.AF_MCTP,
	"AF_NETROM": unix.AF_NETROM, "AF_BRIDGE": unix.AF_BRIDGE,
}

// familyNames are the canonical names by number (show prints these).
var familyNames = func() map[int]string {
	m := map[int]string{}
	for n, v := range familyNumbers {
		if n == "AF_LOCAL" || n == "AF_ROUTE" {
			continue
		}
		m[v] = n
	}
	return m
}

// Families is the value of RestrictAddressFamilies=.
type Families struct {
	AllowList bool
	Set       map[int]bool // nil until a list was given
}

// Restricts reports whether the setting filters socket() at all.
func (f Families) Restricts() bool { return f.AllowList || len(f.Set) > 0 }

// Names lists the families, sorted by name, as show prints them.
func (f Families) Names() []string {
	names := familyNames()
	var out []string
	for af := range f.Set {
		out = append(out, names[af])
	}
	sort.Strings(out)
	return out
}

// ParseFamiliesLine applies one line of RestrictAddressFamilies= as systemd 252's
// config_parse_address_families: "" resets to no restriction, "none" refuses every family,
// the first list decides between an allow list and a "~" deny list, and a later list of the
// other kind takes families out. bad lists the unknown names.
func ParseFamiliesLine(f Families, line string) (Families, []string) {
	switch line {
	case "":
		if f.Set != nil {
			clear(f.Set)
		}
		f.AllowList = false
		return f, nil
	case "none":
		if f.Set != nil {
			clear(f.Set)
		}
		f.AllowList = true
		return f, nil
	}
	invert := false
	if line[0] == '~' {
		invert = true
		line = line[1:]
	}
	if f.Set == nil {
		f.Set = map[int]bool{}
		f.AllowList = !invert
	}
	var bad []string
	for _, w := range strings.Fields(line) {
		af, ok := familyNumbers[w]
		if !ok {
			bad = append(bad, w)
			continue
		}
		if !invert == f.AllowList {
			f.Set[af] = true
		} else {
			delete(f.Set, af)
		}
	}
	return f, bad
}
