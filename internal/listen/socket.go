package listen

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/unit"
)

// Socket is one open endpoint of a socket unit. The *os.File is owned by the Socket
// (close-on-exec, non-blocking); the manager hands dups of it to services.
type Socket struct {
	// Spec is what it listens on, read only: with OpenSpec, the unit's own (a manager with
	// thousands of sockets keeps no copy of each).
	Spec *unit.Listen
	// file wraps fd once File is first asked for: thousands of sockets listen without ever
	// being handed to a process, and an os.File costs more than the rest of the Socket.
	file *os.File
	// Warnings lists the options that could not be applied and the symlinks that could not
	// be created; as in systemd these do not fail the socket, the manager should log them.
	Warnings []string

	fd       int  // the descriptor, kept so that Fd never touches File's blocking mode
	nonblock bool // O_NONBLOCK as last set by Open or SetNonblock
}

// SetNonblock sets or clears O_NONBLOCK on the socket's open file description (shared with
// every process it was handed to), as a service's NonBlocking= asks; nothing is done when the
// flag is already so.
func (s *Socket) SetNonblock(on bool) error {
	if on == s.nonblock {
		return nil
	}
	flags := 0
	if on {
		flags = unix.O_NONBLOCK
	}
	if _, err := unix.FcntlInt(uintptr(s.fd), unix.F_SETFL, flags); err != nil {
		return fmt.Errorf("%s: %w", s.Name(), os.NewSyscallError("fcntl F_SETFL", err))
	}
	s.nonblock = on
	return nil
}

// Open creates the endpoint described by spec with the options of cfg (nil: systemd's
// defaults), as systemd does when a socket unit starts. Errors name the address:
// "listen /run/foo.sk: bind: address already in use". Options that fail are recorded in
// Socket.Warnings, as systemd only logs them. The descriptor is blocking unless cfg.Accept.
func Open(spec unit.Listen, cfg *unit.SocketSection) (*Socket, error) {
	return OpenSpec(&spec, cfg)
}

// OpenSpec is Open of *spec, which the Socket keeps (Spec) and no one may change.
func OpenSpec(spec *unit.Listen, cfg *unit.SocketSection) (*Socket, error) {
	if cfg == nil {
		cfg = unit.DefaultSocketSection()
	}
	s := &Socket{Spec: spec, fd: -1, nonblock: true} // every open* below makes it non-blocking
	var err error
	switch spec.Kind {
	case unit.ListenStream, unit.ListenDatagram, unit.ListenSequentialPacket:
		err = s.openSocket(cfg)
	case unit.ListenNetlink:
		err = s.openNetlink(cfg)
	case unit.ListenFIFO:
		err = s.openFIFO(cfg)
	case unit.ListenSpecial:
		err = s.openSpecial(cfg)
	case unit.ListenMessageQueue:
		err = s.openMessageQueue(cfg)
	default:
		err = fmt.Errorf("%s is not supported", spec.Kind)
	}
	if err != nil {
		if s.fd >= 0 {
			unix.Close(s.fd)
		}
		return nil, fmt.Errorf("listen %s: %w", s.Name(), err)
	}
	// Blocking unless Accept=yes: with Accept=no the service gets this very open file
	// description, and systemd hands it over blocking (NonBlocking= no); an accepting manager
	// accepts without blocking.
	if !cfg.Accept {
		if err := s.SetNonblock(false); err != nil {
			unix.Close(s.fd)
			return nil, fmt.Errorf("listen %w", err)
		}
	}
	s.fd = moveHigh(s.fd)
	if path := s.symlinkTarget(cfg); path != "" {
		s.createSymlinks(path, cfg)
	}
	return s, nil
}

// Name is the address as written in the unit file (Spec.Raw), or one built from the spec.
func (s *Socket) Name() string {
	if s.Spec.Raw != "" {
		return s.Spec.Raw
	}
	sp := s.Spec
	switch sp.Family {
	case unit.FamilyInet:
		return net.JoinHostPort(sp.Host, strconv.Itoa(sp.Port))
	case unit.FamilyInet6:
		if sp.Host == "" {
			return strconv.Itoa(sp.Port)
		}
		return net.JoinHostPort(sp.Host, strconv.Itoa(sp.Port))
	case unit.FamilyVsock:
		return fmt.Sprintf("vsock:%d:%d", sp.VsockCID, sp.Port)
	case unit.FamilyNetlink:
		return fmt.Sprintf("%s %d", sp.NetlinkFamily, sp.NetlinkGroup)
	}
	return sp.Path
}

// Fd returns the descriptor number of the socket; it stays owned by the Socket.
func (s *Socket) Fd() int { return s.fd }

// File is the socket's descriptor as an *os.File, owned by the Socket (closed by Close),
// for handing to a process. It is made at the first call; made while the descriptor is
// non-blocking, os.NewFile also registers it with Go's netpoller, which only costs that
// epoll a wakeup per connection: the manager's poller is what watches it, and the manager
// hands a listening descriptor over blocking unless NonBlocking=yes (listenFiles) or
// accepts on it itself (Accept=yes, never handed over).
func (s *Socket) File() *os.File {
	if s.file == nil && s.fd >= 0 {
		s.file = os.NewFile(uintptr(s.fd), s.Name())
	}
	return s.file
}

// Close closes the descriptor. With cfg.RemoveOnStop it also removes the file-system node
// (unix socket path, FIFO, message queue) and the Symlinks=, as systemd does on stop.
func (s *Socket) Close(cfg *unit.SocketSection) error {
	var err error
	switch {
	case s.file != nil:
		err = s.file.Close()
		s.file = nil
		s.fd = -1
	case s.fd >= 0:
		if e := unix.Close(s.fd); e != nil {
			err = &os.PathError{Op: "close", Path: s.Name(), Err: e}
		}
		s.fd = -1
	}
	if cfg == nil || !cfg.RemoveOnStop {
		return err
	}
	switch {
	case s.Spec.Kind == unit.ListenFIFO, s.isUnixPath():
		if rerr := os.Remove(s.Spec.Path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
			err = rerr
		}
	case s.Spec.Kind == unit.ListenMessageQueue:
		if rerr := mqUnlink(s.Spec.Path); rerr != nil && !errors.Is(rerr, unix.ENOENT) && err == nil {
			err = rerr
		}
	}
	for _, l := range cfg.Symlinks {
		if rerr := os.Remove(l); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
			err = rerr
		}
	}
	return err
}

func (s *Socket) isUnixPath() bool {
	switch s.Spec.Kind {
	case unit.ListenStream, unit.ListenDatagram, unit.ListenSequentialPacket:
		return (s.Spec.Family == unit.FamilyUnix || s.Spec.Family == unit.FamilyNone) &&
			strings.HasPrefix(s.Spec.Path, "/")
	}
	return false
}

func (s *Socket) warn(format string, args ...any) {
	s.Warnings = append(s.Warnings, fmt.Sprintf(format, args...))
}

// sockType maps the Listen kind to the socket type.
func sockType(k unit.ListenKind) int {
	switch k {
	case unit.ListenDatagram:
		return unix.SOCK_DGRAM
	case unit.ListenSequentialPacket:
		return unix.SOCK_SEQPACKET
	}
	return unix.SOCK_STREAM
}

// protocol returns SocketProtocol= as an IPPROTO number for an IP socket of type typ.
func protocol(cfg *unit.SocketSection, family, typ int) int {
	if family != unix.AF_INET && family != unix.AF_INET6 {
		return 0
	}
	switch cfg.SocketProtocol {
	case "udplite":
		if typ == unix.SOCK_DGRAM {
			return unix.IPPROTO_UDPLITE
		}
	case "sctp":
		if typ == unix.SOCK_STREAM || typ == unix.SOCK_SEQPACKET {
			return unix.IPPROTO_SCTP
		}
	}
	return 0
}

// sockaddr builds the address to bind and its family.
func (s *Socket) sockaddr() (unix.Sockaddr, int, error) {
	sp := s.Spec
	switch sp.Family {
	case unit.FamilyUnix, unit.FamilyNone:
		if sp.Path == "" {
			return nil, 0, errors.New("empty socket path")
		}
		return &unix.SockaddrUnix{Name: sp.Path}, unix.AF_UNIX, nil
	case unit.FamilyInet:
		ip := net.ParseIP(sp.Host).To4()
		if ip == nil {
			return nil, 0, fmt.Errorf("invalid IPv4 address %q", sp.Host)
		}
		sa := &unix.SockaddrInet4{Port: sp.Port}
		copy(sa.Addr[:], ip)
		return sa, unix.AF_INET, nil
	case unit.FamilyInet6:
		if sp.Host == "" {
			// Port only: IPv6 any (dual-stack per BindIPv6Only=), IPv4 if the
			// kernel has no IPv6.
			if !ipv6Supported() {
				return &unix.SockaddrInet4{Port: sp.Port}, unix.AF_INET, nil
			}
			return &unix.SockaddrInet6{Port: sp.Port}, unix.AF_INET6, nil
		}
		ip := net.ParseIP(sp.Host)
		if ip == nil || ip.To16() == nil {
			return nil, 0, fmt.Errorf("invalid IPv6 address %q", sp.Host)
		}
		sa := &unix.SockaddrInet6{Port: sp.Port}
		copy(sa.Addr[:], ip.To16())
		if sp.Interface != "" {
			idx, err := ifindex(sp.Interface)
			if err != nil {
				return nil, 0, err
			}
			sa.ZoneId = uint32(idx)
		}
		return sa, unix.AF_INET6, nil
	case unit.FamilyVsock:
		return &unix.SockaddrVM{CID: sp.VsockCID, Port: uint32(sp.Port)}, unix.AF_VSOCK, nil
	}
	return nil, 0, fmt.Errorf("unsupported address family %q", sp.Family)
}

// ifindex resolves an interface scope given by name or number.
func ifindex(name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil && n > 0 {
		return n, nil
	}
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return 0, fmt.Errorf("interface %s: %w", name, err)
	}
	return ifi.Index, nil
}

func ipv6Supported() bool {
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

// backlog is Backlog= for listen(2), which caps it at net.core.somaxconn itself (an
// unsigned comparison): no need to read the sysctl for every socket opened.
func backlog(cfg *unit.SocketSection) int {
	return int(min(cfg.Backlog, math.MaxInt32))
}

// openSocket creates a stream, datagram or seqpacket socket, following systemd's
// socket_address_listen: options that must precede bind, SO_REUSEADDR, bind (replacing a
// stale unix socket file), listen, then the remaining options.
func (s *Socket) openSocket(cfg *unit.SocketSection) error {
	sa, family, err := s.sockaddr()
	if err != nil {
		return err
	}
	typ := sockType(s.Spec.Kind)
	if typ == unix.SOCK_SEQPACKET && family != unix.AF_UNIX && family != unix.AF_VSOCK {
		return errors.New("sequential packet sockets are only available for AF_UNIX and AF_VSOCK")
	}
	fd, err := unix.Socket(family, typ|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, protocol(cfg, family, typ))
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	s.fd = fd
	if family == unix.AF_INET6 {
		switch cfg.BindIPv6Only {
		case "both":
			err = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0)
		case "ipv6-only":
			err = unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)
		}
		// "default": the kernel applies net.ipv6.bindv6only, as systemd leaves it alone.
		if err != nil {
			return os.NewSyscallError("setsockopt IPV6_V6ONLY", err)
		}
	}
	if family == unix.AF_INET || family == unix.AF_INET6 {
		if cfg.BindToDevice != "" {
			if err := unix.BindToDevice(fd, cfg.BindToDevice); err != nil {
				return os.NewSyscallError("setsockopt SO_BINDTODEVICE "+cfg.BindToDevice, err)
			}
		}
		s.applyPreBind(cfg, family)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil && family != unix.AF_VSOCK {
		return os.NewSyscallError("setsockopt SO_REUSEADDR", err)
	}
	if s.isUnixPath() {
		err = unix.Bind(fd, sa)
		if errors.Is(err, unix.ENOENT) {
			// The directory is missing: create it (DirectoryMode=), then bind. Binding first
			// spares the common case a lookup of the directory per socket.
			if err := mkdirParents(s.Spec.Path, cfg.DirectoryMode); err != nil {
				return err
			}
			err = unix.Bind(fd, sa)
		}
		if errors.Is(err, unix.EADDRINUSE) {
			// A socket file left behind: replace it, as systemd does.
			if os.Remove(s.Spec.Path) == nil {
				err = unix.Bind(fd, sa)
			}
		}
		if err != nil {
			return os.NewSyscallError("bind", err)
		}
		if err := setSocketFile(s.Spec.Path, cfg); err != nil {
			return err
		}
	} else if err := unix.Bind(fd, sa); err != nil {
		return os.NewSyscallError("bind", err)
	}
	if typ != unix.SOCK_DGRAM {
		if err := unix.Listen(fd, backlog(cfg)); err != nil {
			return os.NewSyscallError("listen", err)
		}
	}
	s.applyOptions(cfg, family, typ)
	return nil
}

// mkdirParents creates the missing parent directories of path with mode (umask ignored, as
// systemd's mkdir_parents_label applies the configured DirectoryMode).
func mkdirParents(path string, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	var missing []string
	for d := dir; d != "/" && d != "."; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		}
		missing = append(missing, d)
	}
	for i := len(missing) - 1; i >= 0; i-- {
		err := os.Mkdir(missing[i], mode.Perm())
		if errors.Is(err, os.ErrExist) {
			continue // made by someone else meanwhile: left as it is, as systemd's mkdir_parents
		}
		if err != nil {
			return err
		}
		// The mode without the umask, set through the directory itself: a user who may write
		// to the parent and swaps it for a symlink meanwhile fails this, and changes no mode
		// elsewhere (os.Chmod follows links).
		fd, err := unix.Open(missing[i], unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return &os.PathError{Op: "open", Path: missing[i], Err: err}
		}
		err = unix.Fchmod(fd, uint32(mode.Perm()))
		unix.Close(fd)
		if err != nil {
			return &os.PathError{Op: "chmod", Path: missing[i], Err: err}
		}
	}
	return nil
}

// socketOwner is SocketUser= and SocketGroup= (names or numbers) as ids, -1 for unset.
func socketOwner(cfg *unit.SocketSection) (uid, gid int, err error) {
	uid, gid = -1, -1
	if cfg.SocketUser != "" {
		if uid, err = lookupUser(cfg.SocketUser); err != nil {
			return -1, -1, err
		}
	}
	if cfg.SocketGroup != "" {
		if gid, err = lookupGroup(cfg.SocketGroup); err != nil {
			return -1, -1, err
		}
	}
	return uid, gid, nil
}

// setSocketFile gives the socket file bind just made at path SocketMode= and
// SocketUser=/SocketGroup=, through an O_PATH descriptor of the file itself: a user who may
// write to its directory and swaps the socket for a symlink (or another file) between the
// bind and here makes the start fail, and changes neither the mode nor the owner of what
// the link names (os.Chmod follows links; os.Lchown changes a hard link's inode).
func setSocketFile(path string, cfg *unit.SocketSection) error {
	uid, gid, err := socketOwner(cfg)
	if err != nil {
		return err
	}
	fd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &os.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK || st.Nlink != 1 {
		return fmt.Errorf("%s was replaced after bind, refusing to change its mode or owner: %w", path, unix.EEXIST)
	}
	// chmod through the descriptor's /proc link reaches the socket file itself (fchmod of
	// an O_PATH descriptor is EBADF).
	if err := unix.Chmod("/proc/self/fd/"+strconv.Itoa(fd), uint32(cfg.SocketMode.Perm())); err != nil {
		return &os.PathError{Op: "chmod", Path: path, Err: err}
	}
	if uid < 0 && gid < 0 {
		return nil
	}
	if err := unix.Fchownat(fd, "", uid, gid, unix.AT_EMPTY_PATH); err != nil {
		return &os.PathError{Op: "chown", Path: path, Err: err}
	}
	return nil
}

// netlinkFamilies are the names systemd accepts for ListenNetlink=.
var netlinkFamilies = map[string]int{
	"route":          unix.NETLINK_ROUTE,
	"usersock":       unix.NETLINK_USERSOCK,
	"firewall":       unix.NETLINK_FIREWALL,
	"inet-diag":      unix.NETLINK_INET_DIAG,
	"sock-diag":      unix.NETLINK_SOCK_DIAG,
	"nflog":          unix.NETLINK_NFLOG,
	"xfrm":           unix.NETLINK_XFRM,
	"selinux":        unix.NETLINK_SELINUX,
	"iscsi":          unix.NETLINK_ISCSI,
	"audit":          unix.NETLINK_AUDIT,
	"fib-lookup":     unix.NETLINK_FIB_LOOKUP,
	"connector":      unix.NETLINK_CONNECTOR,
	"netfilter":      unix.NETLINK_NETFILTER,
	"ip6-fw":         unix.NETLINK_IP6_FW,
	"dnrtmsg":        unix.NETLINK_DNRTMSG,
	"kobject-uevent": unix.NETLINK_KOBJECT_UEVENT,
	"generic":        unix.NETLINK_GENERIC,
	"scsitransport":  unix.NETLINK_SCSITRANSPORT,
	"ecryptfs":       unix.NETLINK_ECRYPTFS,
	"rdma":           unix.NETLINK_RDMA,
	"crypto":         unix.NETLINK_CRYPTO,
	"smc":            unix.NETLINK_SMC,
}

// openNetlink creates a raw netlink socket of the named family bound to the group (systemd
// puts the group number in nl_groups as given).
func (s *Socket) openNetlink(cfg *unit.SocketSection) error {
	proto, ok := netlinkFamilies[s.Spec.NetlinkFamily]
	if !ok {
		n, err := strconv.Atoi(s.Spec.NetlinkFamily)
		if err != nil {
			return fmt.Errorf("unknown netlink family %q", s.Spec.NetlinkFamily)
		}
		proto = n
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, proto)
	if err != nil {
		return os.NewSyscallError("socket", err)
	}
	s.fd = fd
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		return os.NewSyscallError("setsockopt SO_REUSEADDR", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: uint32(s.Spec.NetlinkGroup)}); err != nil {
		return os.NewSyscallError("bind", err)
	}
	s.applyOptions(cfg, unix.AF_NETLINK, unix.SOCK_RAW)
	return nil
}
