package fs

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// NSStore holds a namespace shared by the units of a JoinsNamespaceOf= group, as systemd's
// netns/ipcns storage socket: a socket pair whose queue holds at most one fd, the
// namespace. The first child to find it empty creates the namespace and stores it; the
// others join it. R and W are the two ends (fd numbers in the process using it); a
// zero NSStore (both 0) is none.
type NSStore struct{ R, W int }

// Valid reports whether s names a store.
func (s NSStore) Valid() bool { return s.R > 0 && s.W > 0 }

// NewNSStore makes a store. The manager keeps both fds (close-on-exec) for as long as the
// group has a unit with a runtime, and hands them to each child (Cmd.ExtraFiles).
func NewNSStore() (r, w *os.File, err error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("namespace store: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), "nsstore-r"), os.NewFile(uintptr(fds[1]), "nsstore-w"), nil
}

// shareNS is setup_shareable_ns(): join the namespace of kind k in the store, or make one
// (bringing a network one's loopback up) and put it there. It returns true when it made the
// namespace.
func shareNS(s NSStore, k nsKind) (bool, error) {
	if err := unix.Flock(s.R, unix.LOCK_EX); err != nil {
		return false, err
	}
	defer unix.Flock(s.R, unix.LOCK_UN)
	fd, err := recvFD(s.R)
	made := false
	switch {
	case errors.Is(err, unix.EAGAIN):
		if err := unix.Unshare(k.flag); err != nil {
			return false, err
		}
		if k.loopback {
			_ = loopbackUp()
		}
		fd, err = unix.Open("/proc/thread-self/ns/"+k.proc, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return false, err
		}
		made = true
	case err != nil:
		return false, err
	default:
		if err := unix.Setns(fd, k.flag); err != nil {
			unix.Close(fd)
			return false, err
		}
	}
	defer unix.Close(fd)
	return made, sendFD(s.W, fd)
}

// storeNSPath is open_shareable_ns_path(): put the namespace at path in the store unless
// it holds one already.
func storeNSPath(s NSStore, path string) error {
	if err := unix.Flock(s.R, unix.LOCK_EX); err != nil {
		return err
	}
	defer unix.Flock(s.R, unix.LOCK_UN)
	fd, err := recvFD(s.R)
	if errors.Is(err, unix.EAGAIN) {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return sendFD(s.W, fd)
}

func recvFD(sock int) (int, error) {
	oob := make([]byte, unix.CmsgSpace(4))
	buf := make([]byte, 1)
	_, oobn, _, _, err := unix.Recvmsg(sock, buf, oob, unix.MSG_DONTWAIT|unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return -1, err
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return -1, fmt.Errorf("namespace store: no fd in message")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return -1, fmt.Errorf("namespace store: no fd in message")
	}
	return fds[0], nil
}

func sendFD(sock, fd int) error {
	return unix.Sendmsg(sock, []byte{0}, unix.UnixRights(fd), nil, unix.MSG_DONTWAIT)
}

// loopbackUp is loopback_setup(): lo up (the kernel gives it 127.0.0.1/8 and ::1).
func loopbackUp() error {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(s, unix.SIOCSIFFLAGS, ifr)
}

// privilege is systemd's ERRNO_IS_PRIVILEGE(): EPERM or EACCES.
func privilege(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES)
}

// nsKind is what tells exec_child's network and IPC namespace steps apart.
type nsKind struct {
	flag       int    // CLONE_NEWNET, CLONE_NEWIPC
	proc       string // its name under /proc/self/ns
	what       string // its name in messages: "network", "IPC"
	private    string // the setting that asks for one: "PrivateNetwork"
	pathOption string // the setting that names one to join: "NetworkNamespacePath"
	status     int    // the exit status of a failure
	loopback   bool   // a new one gets its loopback up
}

var (
	netKind = nsKind{unix.CLONE_NEWNET, "net", "network", "PrivateNetwork", "NetworkNamespacePath", StatusNetwork, true}
	// 226/NAMESPACE, as systemd's EXIT_NAMESPACE for IPC.
	ipcKind = nsKind{unix.CLONE_NEWIPC, "ipc", "IPC", "PrivateIPC", "IPCNamespacePath", StatusNamespace, false}
)

// kindOf returns the nsKind of flag (CLONE_NEWNET or CLONE_NEWIPC).
func kindOf(flag int) nsKind {
	if flag == unix.CLONE_NEWNET {
		return netKind
	}
	return ipcKind
}

// nsStep is one namespace step of a Spec: its kind and what the unit asks for.
type nsStep struct {
	kind    nsKind
	in      bool   // the child was cloned in it (InNetNS, InIPCNS): nothing to do
	private bool   // PrivateNetwork=, PrivateIPC=
	path    string // NetworkNamespacePath=, IPCNamespacePath=
	store   NSStore
}

// nsSteps are s's namespace steps in exec_child's order: network, then IPC.
func (s *Spec) nsSteps() []nsStep {
	return []nsStep{
		{netKind, s.InNetNS, s.PrivateNetwork, s.NetworkNamespacePath, s.NetNSStore},
		{ipcKind, s.InIPCNS, s.PrivateIPC, s.IPCNamespacePath, s.IPCNSStore},
	}
}

// setupNS is exec_child's step for one namespace: Private*= (a namespace of the unit's own,
// or its group's through the store) or *NamespacePath= (joined). A refused Private*= is a
// warning, a path that cannot be opened a failure with the kind's exit status.
func (s *Spec) setupNS(n nsStep) error {
	k := n.kind
	if n.in || !n.private && n.path == "" {
		return nil
	}
	if _, err := os.Stat("/proc/self/ns/" + k.proc); err != nil {
		if n.path != "" {
			return fail(k.status, "%s= is not supported, refusing.", k.pathOption)
		}
		s.warn(fmt.Sprintf("%s=yes is configured, but the kernel does not support %s namespaces, ignoring.", k.private, k.what))
		return nil
	}
	var err error
	switch {
	case n.store.Valid():
		if n.path != "" {
			if err := storeNSPath(n.store, n.path); err != nil {
				return fail(k.status, "Failed to open %s namespace path %s: %v", k.what, n.path, err)
			}
		}
		_, err = shareNS(n.store, k)
	case n.path != "":
		if err := joinPath(n.path, k.flag); err != nil {
			return fail(k.status, "Failed to open %s namespace path %s: %v", k.what, n.path, err)
		}
	default:
		if err = unix.Unshare(k.flag); err == nil && k.loopback {
			_ = loopbackUp()
		}
	}
	if err != nil {
		if privilege(err) {
			s.warn(fmt.Sprintf("%s=yes is configured, but %s namespace setup failed, ignoring: %v", k.private, k.what, err))
			return nil
		}
		return fail(k.status, "Failed to set up %s namespacing: %v", k.what, err)
	}
	return nil
}

func joinPath(path string, flag int) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Setns(fd, flag)
}

// setupUTS is ProtectHostname='s namespace: refused by the container, a warning.
func (s *Spec) setupUTS() error {
	if !s.ProtectHostname {
		return nil
	}
	if _, err := os.Stat("/proc/self/ns/uts"); err != nil {
		s.warn("ProtectHostname=yes is configured, but the kernel does not support UTS namespaces, ignoring namespace setup.")
		return nil
	}
	if err := unix.Unshare(unix.CLONE_NEWUTS); err != nil {
		if !privilege(err) && !errors.Is(err, unix.EINVAL) {
			return fail(StatusNamespace, "Failed to set up UTS namespacing: %v", err)
		}
		s.warn("ProtectHostname=yes is configured, but UTS namespace setup is prohibited (container manager?), ignoring namespace setup.")
	}
	return nil
}

func (s *Spec) warn(msg string) {
	if s.Warn != nil {
		s.Warn(msg)
	}
}

// GroupNS is the manager's side of a store for a child cloned into a user namespace
// (PrivateUsers=), which may not join or make a namespace the store's other users can
// join: the manager hands it the group's namespace to be cloned in instead, making it first
// (owned by the manager's user namespace, as systemd's) when the store is empty, or taking
// the one at path (NetworkNamespacePath=, IPCNamespacePath=). flag is CLONE_NEWNET or
// CLONE_NEWIPC. The store keeps the namespace; the file returned is the caller's.
func GroupNS(r, w *os.File, path string, flag int) (*os.File, error) {
	s := NSStore{R: int(r.Fd()), W: int(w.Fd())}
	if err := unix.Flock(s.R, unix.LOCK_EX); err != nil {
		return nil, err
	}
	defer unix.Flock(s.R, unix.LOCK_UN)
	fd, err := recvFD(s.R)
	switch {
	case errors.Is(err, unix.EAGAIN) && path != "":
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	case errors.Is(err, unix.EAGAIN):
		fd, err = newNS(kindOf(flag))
	}
	if err != nil {
		return nil, err
	}
	if err := sendFD(s.W, fd); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "namespace"), nil
}

// newNS makes a namespace of kind k (a network one with its loopback up) on a thread of
// its own, which ends with it, and returns an fd of it.
func newNS(k nsKind) (int, error) {
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := unix.Unshare(k.flag); err != nil {
			ch <- result{-1, err}
			return
		}
		if k.loopback {
			_ = loopbackUp()
		}
		fd, err := unix.Open("/proc/thread-self/ns/"+k.proc, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		ch <- result{fd, err}
	}()
	r := <-ch
	return r.fd, r.err
}

// NewMqueueMount makes a detached mqueue mount of the IPC namespace ipcns (for
// MqueueMountFD), as PrivateIPC='s /dev/mqueue is mounted, on a thread of its own that
// joins the namespace and ends with it.
func NewMqueueMount(ipcns *os.File) (*os.File, error) {
	type result struct {
		fd  int
		err error
	}
	ch := make(chan result)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		m, err := func() (int, error) {
			if err := unix.Setns(int(ipcns.Fd()), unix.CLONE_NEWIPC); err != nil {
				return -1, err
			}
			fd, err := unix.Fsopen("mqueue", unix.FSOPEN_CLOEXEC)
			if err != nil {
				return -1, err
			}
			defer unix.Close(fd)
			_ = unix.FsconfigSetString(fd, "source", "mqueue")
			if err := unix.FsconfigCreate(fd); err != nil {
				return -1, err
			}
			return unix.Fsmount(fd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC|unix.MOUNT_ATTR_RELATIME)
		}()
		ch <- result{m, err}
	}()
	r := <-ch
	if r.err != nil {
		return nil, r.err
	}
	return os.NewFile(uintptr(r.fd), "mqueue-mount"), nil
}
