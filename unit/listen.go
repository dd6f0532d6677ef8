package unit

import (
	"errors"
	"fmt"
	"net/netip"
	"path"
	"strconv"
	"strings"
)

// errAFNotSupported: only unix sockets can be sequential-packet sockets.
var errAFNotSupported = errors.New("address family not supported for sequential packet sockets")

// errOutOfRange is ERANGE: a port number above 65535.
var errOutOfRange = errors.New("numerical result out of range")

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// unixPathMax is sizeof(sockaddr_un.sun_path).
const unixPathMax = 108

// vmaddrCIDAny is VMADDR_CID_ANY.
const vmaddrCIDAny = 0xFFFFFFFF

// netlinkFamilies are the netlink protocol names systemd accepts in ListenNetlink=.
var netlinkFamilies = map[string]bool{
	"route": true, "firewall": true, "inet-diag": true, "nflog": true, "xfrm": true,
	"selinux": true, "iscsi": true, "audit": true, "fib-lookup": true, "connector": true,
	"netfilter": true, "ip6-fw": true, "dnrtmsg": true, "kobject-uevent": true,
	"generic": true, "scsitransport": true, "ecryptfs": true, "rdma": true, "crypto": true,
	"usersock": true, "sock-diag": true,
}

// ParseListen parses one Listen*= value (specifiers already expanded) of the given kind.
// Socket kinds (Stream, Datagram, SequentialPacket) accept a unix path, @abstract, a port,
// ipv4:port, [ipv6]:port (each IP form with an optional %interface) and vsock:CID:PORT;
// ListenNetlink takes "family [group]"; the others an absolute path. Raw is set to the
// address as systemctl shows it.
func ParseListen(kind ListenKind, value string) (Listen, error) {
	l := Listen{Kind: kind}
	v := value
	switch kind {
	case ListenFIFO, ListenSpecial, ListenMessageQueue, ListenUSBFunction:
		if !path.IsAbs(v) || !pathIsValid(v) {
			return l, fmt.Errorf("%s= path is not absolute: %s", kind, value)
		}
		if kind == ListenMessageQueue {
			// a message queue name is "/name", one component
			if strings.Count(v, "/") != 1 || len(v) < 2 {
				return l, fmt.Errorf("invalid message queue name: %s", value)
			}
		}
		l.Path = path.Clean(v)
		l.Raw = l.Path
		return l, nil
	case ListenNetlink:
		fam, grp, _ := strings.Cut(strings.TrimSpace(v), " ")
		grp = strings.TrimSpace(grp)
		if !netlinkFamilies[fam] {
			if n, err := strconv.Atoi(fam); err != nil || n < 0 || n > 31 {
				return l, fmt.Errorf("invalid netlink family: %s", value)
			}
		}
		g := 0
		if grp != "" {
			n, err := strconv.ParseUint(grp, 10, 32)
			if err != nil {
				return l, fmt.Errorf("invalid netlink group: %s", value)
			}
			g = int(n)
		}
		l.Family, l.NetlinkFamily, l.NetlinkGroup = FamilyNetlink, fam, g
		l.Raw = fmt.Sprintf("%s %d", fam, g)
		return l, nil
	case ListenStream, ListenDatagram, ListenSequentialPacket:
	default:
		return l, fmt.Errorf("unknown listen kind %q", kind)
	}
	switch {
	case strings.HasPrefix(v, "/"):
		if len(v) >= unixPathMax {
			return l, fmt.Errorf("unix socket path too long: %s", value)
		}
		// kept as written, as systemd binds and shows it ("/run//x" stays so)
		l.Family, l.Path, l.Raw = FamilyUnix, v, v
		return l, nil
	case strings.HasPrefix(v, "@"):
		if v == "@" {
			return l, fmt.Errorf("empty abstract socket name: %s", value) // EINVAL in systemd
		}
		if len(v) > unixPathMax {
			return l, fmt.Errorf("abstract socket name too long: %s", value)
		}
		l.Family, l.Path, l.Raw = FamilyUnix, v, v
		return l, nil
	case strings.HasPrefix(v, "vsock:") && kind != ListenSequentialPacket:
		rest := v[len("vsock:"):]
		cid, port, ok := strings.Cut(rest, ":")
		if !ok {
			return l, fmt.Errorf("invalid vsock address: %s", value)
		}
		var c uint64 = vmaddrCIDAny
		if cid != "" {
			n, err := strconv.ParseUint(cid, 10, 32)
			if err != nil {
				return l, fmt.Errorf("invalid vsock CID: %s", value)
			}
			c = n
		}
		pn, err := strconv.ParseUint(port, 10, 32)
		if err != nil {
			return l, fmt.Errorf("invalid vsock port: %s", value)
		}
		l.Family, l.VsockCID, l.Port = FamilyVsock, uint32(c), int(pn)
		if cid == "" {
			l.Raw = fmt.Sprintf("vsock::%d", pn)
		} else {
			l.Raw = fmt.Sprintf("vsock:%d:%d", c, pn)
		}
		return l, nil
	}
	if kind == ListenSequentialPacket {
		// systemd parses the address first, then refuses non-unix families
		if _, err := ParseListen(ListenStream, v); err != nil {
			return l, err
		}
		return l, fmt.Errorf("%w: %s", errAFNotSupported, value)
	}
	// Port only: any address, IPv6 dual-stack per BindIPv6Only.
	if isDigits(v) {
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil {
			return l, fmt.Errorf("%w: port %s", errOutOfRange, value)
		}
		if n == 0 {
			return l, fmt.Errorf("invalid port 0: %s", value)
		}
		l.Family, l.Port = FamilyInet6, int(n)
		l.Raw = fmt.Sprintf("[::]:%d", n)
		return l, nil
	}
	if strings.HasPrefix(v, "[") {
		end := strings.IndexByte(v, ']')
		if end < 0 || !strings.HasPrefix(v[end+1:], ":") {
			return l, fmt.Errorf("invalid IPv6 address, expected [addr]:port: %s", value)
		}
		host := v[1:end]
		ps, dev, _ := strings.Cut(v[end+2:], "%")
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return l, fmt.Errorf("invalid IPv6 address %q: %s", host, value)
		}
		port, err := parsePort(ps)
		if err != nil {
			return l, fmt.Errorf("%w: %s", err, value)
		}
		if dev != "" && !ifnameValid(dev) {
			return l, fmt.Errorf("invalid interface name %q: %s", dev, value)
		}
		l.Family, l.Host, l.Port, l.Interface = FamilyInet6, a.String(), port, dev
		l.Raw = fmt.Sprintf("[%s]:%d", l.Host, port)
		if dev != "" {
			l.Raw += "%" + dev
		}
		return l, nil
	}
	hostport, dev, _ := strings.Cut(v, "%")
	host, ps, ok := strings.Cut(hostport, ":")
	if !ok {
		return l, fmt.Errorf("missing port: %s", value)
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.Is4() {
		return l, fmt.Errorf("invalid IPv4 address %q: %s", host, value)
	}
	port, err := parsePort(ps)
	if err != nil {
		return l, fmt.Errorf("%w: %s", err, value)
	}
	if dev != "" && !ifnameValid(dev) {
		return l, fmt.Errorf("invalid interface name %q: %s", dev, value)
	}
	// An IPv4 address has no scope: systemd checks the interface name and then drops it.
	l.Family, l.Host, l.Port, l.Interface = FamilyInet, a.String(), port, dev
	l.Raw = fmt.Sprintf("%s:%d", l.Host, port)
	return l, nil
}

func parsePort(s string) (int, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return int(n), nil
}

// ifnameValid is systemd's ifname_valid(): 1..15 bytes, printable, no '/', ':', whitespace,
// not "." or "..".
func ifnameValid(s string) bool {
	if s == "" || len(s) > 15 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '/' || c == ':' || c == '%' {
			return false
		}
	}
	return true
}

// canAccept reports whether Accept=yes works with l (stream and seqpacket sockets).
func (l Listen) canAccept() bool {
	return l.Kind == ListenStream || l.Kind == ListenSequentialPacket
}
