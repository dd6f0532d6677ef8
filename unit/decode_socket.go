package unit

import (
	"errors"
	"fmt"
	"net"
	"path"
	"strconv"
	"strings"
	"time"
)

// The defaults of a socket unit, systemd 252's socket_init and socket_add_extras.
const (
	// DefaultBacklog is SOMAXCONN_DELUXE (INT_MAX), what systemd 252 sets and `systemctl show`
	// prints; systemd.socket(5) says 4294967295, which listen(2) would cap the same way (at
	// net.core.somaxconn).
	DefaultBacklog = 2147483647
	// DefaultTriggerLimitInterval is TriggerLimitIntervalSec='s default, for socket and path
	// units.
	DefaultTriggerLimitInterval = 2 * time.Second
)

// defaultTriggerLimitBurst is TriggerLimitBurst='s default: 200 for Accept=yes, 20 otherwise.
func defaultTriggerLimitBurst(accept bool) int {
	if accept {
		return 200
	}
	return 20
}

// DefaultSocketSection returns the [Socket] section of a socket unit that sets nothing (with
// Accept=no), as the decoder starts from it and as `flint activate` and listen.Open (for a nil
// section) use it.
func DefaultSocketSection() *SocketSection {
	return &SocketSection{
		SocketBinding:  newSocketBinding(),
		SocketOptions:  newSocketOptions(),
		SocketCommands: newSocketCommands(false),
		Exec:           newExecContext(),
		Kill:           func() *KillContext { k := newKillContext(); return &k }(),
	}
}

func pListen(kind ListenKind) parseFunc {
	return func(d *decoder, e Entry, v string) {
		s := d.u.Socket
		if v == "" {
			s.Listen = nil // any Listen*= reset empties the whole list
			return
		}
		x, ok := d.printf(e, v, false)
		if !ok {
			return
		}
		l, err := ParseListen(kind, x)
		if err != nil {
			switch {
			case kind == ListenFIFO || kind == ListenSpecial || kind == ListenMessageQueue || kind == ListenUSBFunction:
				d.warn(e, "%s= path is not absolute, ignoring: %s", e.Key, x)
			case errors.Is(err, errAFNotSupported):
				d.warn(e, "Address family not supported, ignoring: %s", x)
			case errors.Is(err, errOutOfRange):
				d.warn(e, "Failed to parse address value in '%s', ignoring: Numerical result out of range", x)
			default:
				d.warn(e, "Failed to parse address value in '%s', ignoring: Invalid argument", x)
			}
			return
		}
		if l.Interface != "" {
			// systemd resolves the interface name when it parses the address
			if _, err := net.InterfaceByName(l.Interface); err != nil {
				d.warn(e, "Failed to parse address value in '%s', ignoring: No such device", x)
				return
			}
		}
		l.Pos = e.Where()
		s.Listen = append(s.Listen, l)
	}
}

var ipTOSNames = map[string]int{"low-delay": 0x10, "throughput": 0x08, "reliability": 0x04, "low-cost": 0x02}

func registerSocket() {
	S := Supported
	s := func(d *decoder) *SocketSection { return d.u.Socket }
	for _, k := range []ListenKind{ListenStream, ListenDatagram, ListenSequentialPacket, ListenFIFO,
		ListenNetlink, ListenSpecial, ListenMessageQueue, ListenUSBFunction} {
		reg("Socket", string(k), S, pListen(k))
	}
	reg("Socket", "SocketProtocol", S, func(d *decoder, e Entry, v string) {
		switch v {
		case "udplite", "sctp":
			s(d).SocketProtocol = v
		default:
			d.warn(e, "Failed to parse socket protocol, ignoring: %s", v)
		}
	})
	reg("Socket", "BindIPv6Only", S, func(d *decoder, e Entry, v string) {
		switch v {
		case "default", "both", "ipv6-only":
			s(d).BindIPv6Only = v
			return
		}
		b, err := ParseBool(v)
		if err != nil {
			d.warn(e, "Failed to parse bind IPv6 only value, ignoring: %s", v)
			return
		}
		s(d).BindIPv6Only = map[bool]string{true: "ipv6-only", false: "both"}[b]
	})
	reg("Socket", "Backlog", S, func(d *decoder, e Entry, v string) {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			d.warn(e, "Failed to parse unsigned value, ignoring: %s", v)
			return
		}
		s(d).Backlog = uint32(n)
	})
	reg("Socket", "BindToDevice", S, func(d *decoder, e Entry, v string) {
		if v == "" || v == "*" {
			s(d).BindToDevice = ""
			return
		}
		if !ifnameValid(v) {
			d.warn(e, "Invalid interface name, ignoring: %s", v)
			return
		}
		s(d).BindToDevice = v
	})
	for name, get := range map[string]func(d *decoder) *[]ExecCommand{
		"ExecStartPre":  func(d *decoder) *[]ExecCommand { return &s(d).ExecStartPre },
		"ExecStartPost": func(d *decoder) *[]ExecCommand { return &s(d).ExecStartPost },
		"ExecStopPre":   func(d *decoder) *[]ExecCommand { return &s(d).ExecStopPre },
		"ExecStopPost":  func(d *decoder) *[]ExecCommand { return &s(d).ExecStopPost },
	} {
		reg("Socket", name, S, pExec(get))
	}
	reg("Socket", "TimeoutSec", S, pSecZeroInf(func(d *decoder) *time.Duration { return &s(d).TimeoutSec }))
	reg("Socket", "SocketUser", S, pUserGroup(func(d *decoder) *string { return &s(d).SocketUser }))
	reg("Socket", "SocketGroup", S, pUserGroup(func(d *decoder) *string { return &s(d).SocketGroup }))
	reg("Socket", "SocketMode", S, pMode(func(d *decoder) *osFileMode { return &s(d).SocketMode }))
	reg("Socket", "DirectoryMode", S, pMode(func(d *decoder) *osFileMode { return &s(d).DirectoryMode }))
	for name, get := range map[string]func(d *decoder) *bool{
		"Accept":          func(d *decoder) *bool { return &s(d).Accept },
		"FlushPending":    func(d *decoder) *bool { return &s(d).FlushPending },
		"Writable":        func(d *decoder) *bool { return &s(d).Writable },
		"KeepAlive":       func(d *decoder) *bool { return &s(d).KeepAlive },
		"NoDelay":         func(d *decoder) *bool { return &s(d).NoDelay },
		"FreeBind":        func(d *decoder) *bool { return &s(d).FreeBind },
		"Transparent":     func(d *decoder) *bool { return &s(d).Transparent },
		"Broadcast":       func(d *decoder) *bool { return &s(d).Broadcast },
		"PassCredentials": func(d *decoder) *bool { return &s(d).PassCredentials },
		"PassSecurity":    func(d *decoder) *bool { return &s(d).PassSecurity },
		"PassPacketInfo":  func(d *decoder) *bool { return &s(d).PassPacketInfo },
		"ReusePort":       func(d *decoder) *bool { return &s(d).ReusePort },
		"RemoveOnStop":    func(d *decoder) *bool { return &s(d).RemoveOnStop },
	} {
		reg("Socket", name, S, pBool(get))
	}
	reg("Socket", "MaxConnections", S, pUnsigned(func(d *decoder) *int { return &s(d).MaxConnections }))
	reg("Socket", "MaxConnectionsPerSource", S, pUnsigned(func(d *decoder) *int { return &s(d).MaxConnectionsPerSource }))
	reg("Socket", "KeepAliveTimeSec", S, pSec(func(d *decoder) *time.Duration { return &s(d).KeepAliveTime }, false))
	reg("Socket", "KeepAliveIntervalSec", S, pSec(func(d *decoder) *time.Duration { return &s(d).KeepAliveInterval }, false))
	reg("Socket", "KeepAliveProbes", S, pUnsigned(func(d *decoder) *int { return &s(d).KeepAliveProbes }))
	reg("Socket", "DeferAcceptSec", S, pSec(func(d *decoder) *time.Duration { return &s(d).DeferAcceptSec }, false))
	reg("Socket", "Priority", S, pInt(func(d *decoder) *int { return &s(d).Priority }, -1<<31, 1<<31-1))
	reg("Socket", "ReceiveBuffer", S, pSize(func(d *decoder) *uint64 { return &s(d).ReceiveBuffer }))
	reg("Socket", "SendBuffer", S, pSize(func(d *decoder) *uint64 { return &s(d).SendBuffer }))
	reg("Socket", "PipeSize", S, pSize(func(d *decoder) *uint64 { return &s(d).PipeSize }))
	reg("Socket", "IPTOS", S, func(d *decoder, e Entry, v string) {
		if v == "" {
			s(d).IPTOS = -1
			return
		}
		if n, ok := ipTOSNames[v]; ok {
			s(d).IPTOS = n
			return
		}
		n, err := strconv.ParseUint(v, 0, 8)
		if err != nil {
			d.warn(e, "Failed to parse IP TOS value, ignoring: %s", v)
			return
		}
		s(d).IPTOS = int(n)
	})
	reg("Socket", "IPTTL", S, pInt(func(d *decoder) *int { return &s(d).IPTTL }, -1<<31, 1<<31-1))
	reg("Socket", "Mark", S, pInt(func(d *decoder) *int { return &s(d).Mark }, -1<<31, 1<<31-1))
	reg("Socket", "Timestamping", S, func(d *decoder, e Entry, v string) {
		switch v {
		case "off":
			s(d).Timestamping = "off"
		case "us", "usec", "µs", "μs":
			s(d).Timestamping = "us"
		case "ns", "nsec":
			s(d).Timestamping = "ns"
		default:
			d.warn(e, "Failed to parse timestamping precision, ignoring: %s", v)
		}
	})
	reg("Socket", "TCPCongestion", S, pString(func(d *decoder) *string { return &s(d).TCPCongestion }, false))
	long := func(get func(d *decoder) *int64) parseFunc {
		return func(d *decoder, e Entry, v string) {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				d.warn(e, "Failed to parse long value, ignoring: %s", v)
				return
			}
			*get(d) = n
		}
	}
	reg("Socket", "MessageQueueMaxMessages", S, long(func(d *decoder) *int64 { return &s(d).MessageQueueMaxMessages }))
	reg("Socket", "MessageQueueMessageSize", S, long(func(d *decoder) *int64 { return &s(d).MessageQueueMessageSize }))
	reg("Socket", "Symlinks", S, func(d *decoder, e Entry, v string) {
		if v == "" {
			s(d).Symlinks = nil
			return
		}
		words, _, err := splitWords(v, exUnquote)
		if err != nil {
			d.warn(e, "Invalid syntax, ignoring: %s", v)
			return
		}
		for _, w := range words {
			p, ok := d.printf(e, w, false)
			if !ok {
				continue
			}
			if !isAbsPath(p) {
				d.warn(e, "Symlinks= path is not absolute, ignoring: %s", p)
				continue
			}
			s(d).Symlinks = append(s(d).Symlinks, path.Clean(p))
		}
	})
	reg("Socket", "FileDescriptorName", S, func(d *decoder, e Entry, v string) {
		x, ok := d.printf(e, v, false)
		if !ok {
			return
		}
		if x != "" && !fdNameValid(x) {
			d.warn(e, "Invalid file descriptor name, ignoring: %s", x)
			return
		}
		s(d).FileDescriptorName = x
	})
	reg("Socket", "Service", S, func(d *decoder, e Entry, v string) {
		x, ok := d.printfBare(e, v)
		if !ok {
			return
		}
		if !strings.HasSuffix(x, ".service") || !ValidUnitName(x) {
			d.warn(e, "Unit must be of type service, ignoring: %s", x)
			return
		}
		if IsTemplate(x) {
			// systemd cannot load a template as a unit: the socket keeps its default service
			d.warn(e, "Failed to load unit %s, ignoring: Unit name %s is missing the instance name.", x, x)
			return
		}
		s(d).Service = x
	})
	reg("Socket", "TriggerLimitIntervalSec", S, pSec(func(d *decoder) *time.Duration { return &s(d).TriggerLimitInterval }, false))
	reg("Socket", "TriggerLimitBurst", S, pUnsigned(func(d *decoder) *int { return &s(d).TriggerLimitBurst }))
	NE := NotEnforced
	reg("Socket", "SmackLabel", NE, pString(func(d *decoder) *string { return &s(d).SmackLabel }, true))
	reg("Socket", "SmackLabelIPIn", NE, pString(func(d *decoder) *string { return &s(d).SmackLabelIPIn }, true))
	reg("Socket", "SmackLabelIPOut", NE, pString(func(d *decoder) *string { return &s(d).SmackLabelIPOut }, true))
	reg("Socket", "SELinuxContextFromNet", NE, func(d *decoder, e Entry, v string) {
		b, err := ParseBool(v)
		if err != nil {
			d.warn(e, "Failed to parse boolean value, ignoring: %s", v)
			return
		}
		s(d).SELinuxContextFromNet = fmt.Sprint(map[bool]string{true: "yes", false: "no"}[b])
	})
}
