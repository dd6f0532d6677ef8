package main

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/internal/listen"
	"github.com/flint-init/flint/internal/spawn"
	"github.com/flint-init/flint/unit"
)

// flint activate is systemd-socket-activate(1) (same options, messages and hand-over) plus
// --restart. It needs no manager: it opens the sockets itself (internal/listen), waits for the
// first connection and starts the command with the sockets as fds 3... (internal/spawn keeps
// LISTEN_PID right). Unlike systemd-socket-activate it does not exec the command in its own
// place but stays its parent, so that with --restart it can run the command again, on the same
// listening sockets, each time the command exits: not one connection is refused in between.

func init() {
	register(&verb{name: "activate", summary: "listen on sockets and start a command on the first connection (systemd-socket-activate)",
		run: func(g *globals, args []string) int { return runActivate(args, os.Stderr) }, rawArgs: true})
}

const activateUsage = `%s [OPTIONS...]

Listen on sockets and launch child on connection.

Options:
  -h --help                  Show this help and exit
     --version               Print version string and exit
  -l --listen=ADDR           Listen for raw connections at ADDR
  -d --datagram              Listen on datagram instead of stream socket
     --seqpacket             Listen on SOCK_SEQPACKET instead of stream socket
  -a --accept                Spawn separate child for each connection
  -E --setenv=NAME[=VALUE]   Pass an environment variable to children
     --fdname=NAME[:NAME...] Specify names for file descriptors
     --inetd                 Enable inetd file descriptor passing protocol
     --restart               Run the command again (same sockets) each time it exits

Note: file descriptors from sd_listen_fds() will be passed through.
`

// activateOptions are the parsed command line of `flint activate`.
type activateOptions struct {
	listen  []string
	kind    unit.ListenKind
	accept  bool
	inetd   bool
	restart bool
	setenv  []string // NAME=VALUE, later ones replace earlier ones of the same name
	fdnames []string // nil: no LISTEN_FDNAMES
	argv    []string
}

// parseActivateArgs parses systemd-socket-activate's options getopt-style ("+hl:aE:d": bundled
// short options, -lADDR, --opt=VAL or --opt VAL; the first non-option starts the command).
// It returns done=true after --help or --version.
func parseActivateArgs(args []string, stdout io.Writer, prog string) (o *activateOptions, done bool, err error) {
	o = &activateOptions{kind: unit.ListenStream}
	setKind := func(k unit.ListenKind) error {
		if k == unit.ListenDatagram && o.kind == unit.ListenSequentialPacket {
			return errors.New("--datagram may not be combined with --seqpacket.")
		}
		if k == unit.ListenSequentialPacket && o.kind == unit.ListenDatagram {
			return errors.New("--seqpacket may not be combined with --datagram.")
		}
		o.kind = k
		return nil
	}
	addEnv := func(v string) {
		if !strings.Contains(v, "=") {
			v += "=" + os.Getenv(v) // passthrough; unset gives an empty value, as systemd does
		}
		o.setenv = envReplace(o.setenv, v)
	}
	addNames := func(v string) {
		names := strings.Split(v, ":")
		for _, n := range names {
			if !fdnameValid(n) {
				fmt.Fprintf(os.Stderr, "File descriptor name \"%s\" is not valid.\n", strconv.Quote(n)[1:len(strconv.Quote(n))-1])
			}
		}
		if o.fdnames == nil {
			o.fdnames = []string{}
		}
		o.fdnames = append(o.fdnames, names...)
	}
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		if strings.HasPrefix(a, "--") {
			name, val, hasVal := strings.Cut(a[2:], "=")
			need := func() (string, error) {
				if hasVal {
					return val, nil
				}
				if i+1 >= len(args) {
					return "", fmt.Errorf("option '--%s' requires an argument", name)
				}
				i++
				return args[i], nil
			}
			switch name {
			case "help":
				fmt.Fprintf(stdout, activateUsage, prog)
				return nil, true, nil
			case "version":
				fmt.Fprintln(stdout, versionString)
				return nil, true, nil
			case "datagram", "seqpacket", "accept", "inetd", "restart":
				if hasVal {
					return nil, false, fmt.Errorf("option '--%s' doesn't allow an argument", name)
				}
				switch name {
				case "datagram":
					err = setKind(unit.ListenDatagram)
				case "seqpacket":
					err = setKind(unit.ListenSequentialPacket)
				case "accept":
					o.accept = true
				case "inetd":
					o.inetd = true
				case "restart":
					o.restart = true
				}
				if err != nil {
					return nil, false, err
				}
			case "listen", "setenv", "environment", "fdname":
				v, err := need()
				if err != nil {
					return nil, false, err
				}
				switch name {
				case "listen":
					o.listen = append(o.listen, v)
				case "fdname":
					addNames(v)
				default:
					addEnv(v)
				}
			default:
				return nil, false, fmt.Errorf("unrecognized option '--%s'", name)
			}
			continue
		}
		// Bundled short options.
		for j := 1; j < len(a); j++ {
			c := a[j]
			switch c {
			case 'h':
				fmt.Fprintf(stdout, activateUsage, prog)
				return nil, true, nil
			case 'a':
				o.accept = true
			case 'd':
				if err := setKind(unit.ListenDatagram); err != nil {
					return nil, false, err
				}
			case 'l', 'E':
				v := a[j+1:]
				if v == "" {
					if i+1 >= len(args) {
						return nil, false, fmt.Errorf("option requires an argument -- '%c'", c)
					}
					i++
					v = args[i]
				}
				if c == 'l' {
					o.listen = append(o.listen, v)
				} else {
					addEnv(v)
				}
				j = len(a)
			default:
				return nil, false, fmt.Errorf("invalid option -- '%c'", c)
			}
		}
	}
	o.argv = args[i:]
	if len(o.argv) == 0 {
		return nil, false, fmt.Errorf("%s: command to execute is missing.", prog)
	}
	if o.kind == unit.ListenDatagram && o.accept {
		return nil, false, errors.New("Datagram sockets do not accept connections. The --datagram and --accept options may not be combined.")
	}
	return o, false, nil
}

// fdnameValid is sd_notify's rule for FDNAME=: at most 255 printable ASCII characters, no ':'.
func fdnameValid(s string) bool {
	if len(s) > 255 {
		return false
	}
	for _, r := range s {
		if r < ' ' || r > '~' || r == ':' {
			return false
		}
	}
	return true
}

// envReplace sets kv (NAME=VALUE) in env, replacing an entry of the same name in place.
func envReplace(env []string, kv string) []string {
	name, _, _ := strings.Cut(kv, "=")
	for i, e := range env {
		if n, _, _ := strings.Cut(e, "="); n == name {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
}

// activator is one running `flint activate`.
type activator struct {
	o      *activateOptions
	log    io.Writer
	files  []*os.File // listening sockets (passed-through fds first), fds 3... of the child
	socks  []*listen.Socket
	path   string // the command, resolved on $PATH
	signal chan os.Signal
}

func runActivate(args []string, stderr io.Writer) int {
	prog := "flint activate"
	if isSocketActivateName() {
		prog = "systemd-socket-activate"
	}
	o, done, err := parseActivateArgs(args, os.Stdout, prog)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if done {
		return 0
	}
	a := &activator{o: o, log: stderr}
	code, err := a.run()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return code
}

func isSocketActivateName() bool {
	return len(os.Args) > 0 && baseName(os.Args[0]) == "systemd-socket-activate"
}

func (a *activator) logf(format string, args ...any) {
	fmt.Fprintf(a.log, format+"\n", args...)
}

// openSockets takes the fds passed in by sd_listen_fds (they come first), then opens every
// --listen address as systemd-socket-activate does (umask applies to unix socket files).
func (a *activator) openSockets() error {
	if pid, _ := strconv.Atoi(os.Getenv("LISTEN_PID")); pid == os.Getpid() {
		n, _ := strconv.Atoi(os.Getenv("LISTEN_FDS"))
		if n > 0 {
			a.logf("Received %d descriptors via the environment.", n)
		}
		for fd := 3; fd < 3+n; fd++ {
			syscall.CloseOnExec(fd)
			a.files = append(a.files, os.NewFile(uintptr(fd), "listen-fd-"+strconv.Itoa(fd)))
		}
		for _, v := range []string{"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"} {
			os.Unsetenv(v)
		}
	}
	mask := syscall.Umask(0)
	syscall.Umask(mask)
	cfg := unit.DefaultSocketSection()
	cfg.SocketMode = os.FileMode(0o666 &^ mask)
	cfg.Backlog = unix.SOMAXCONN
	// The command gets blocking sockets (systemd-socket-activate creates them so); accept
	// mode polls and accepts without blocking (listen.Open: blocking unless Accept).
	cfg.Accept = a.o.accept
	for _, addr := range a.o.listen {
		spec, err := unit.ParseListen(a.o.kind, addr)
		if err != nil {
			return fmt.Errorf("Failed to open '%s': %v", addr, err)
		}
		s, err := listen.Open(spec, cfg)
		if err != nil {
			return fmt.Errorf("Failed to open '%s': %v", addr, err)
		}
		for _, w := range s.Warnings {
			a.logf("%s", w)
		}
		a.socks = append(a.socks, s)
		// Wrapped while blocking, as the manager hands a socket over: os.NewFile then leaves
		// it out of Go's netpoller.
		if err := s.SetNonblock(false); err != nil {
			return fmt.Errorf("Failed to open '%s': %v", addr, err)
		}
		f := s.File()
		if err := s.SetNonblock(cfg.Accept); err != nil {
			return fmt.Errorf("Failed to open '%s': %v", addr, err)
		}
		a.files = append(a.files, f)
	}
	if len(a.files) == 0 {
		return errors.New("No sockets to listen on specified or passed in.")
	}
	for i, f := range a.files {
		a.logf("Listening on %s as %d.", sockName(fileFd(f), false), 3+i)
	}
	return nil
}

func fileFd(f *os.File) int {
	rc, err := f.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	rc.Control(func(u uintptr) { fd = int(u) })
	return fd
}

// sockName prints a socket's local (or peer) address as systemd's getsockname_pretty does:
// "127.0.0.1:80", "[::]:80", "/run/x.sk", "@abstract", "vsock:2:80".
func sockName(fd int, peer bool) string {
	var sa unix.Sockaddr
	var err error
	if peer {
		sa, err = unix.Getpeername(fd)
	} else {
		sa, err = unix.Getsockname(fd)
	}
	if err != nil {
		return "n/a"
	}
	switch s := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(s.Addr), uint16(s.Port)).String()
	case *unix.SockaddrInet6:
		ad := netip.AddrFrom16(s.Addr)
		if ad.Is4In6() {
			return netip.AddrPortFrom(ad.Unmap(), uint16(s.Port)).String()
		}
		return netip.AddrPortFrom(ad, uint16(s.Port)).String()
	case *unix.SockaddrUnix:
		if s.Name == "" {
			return "<unnamed>"
		}
		if s.Name[0] == 0 || s.Name[0] == '@' {
			return "@" + s.Name[1:]
		}
		return s.Name
	case *unix.SockaddrVM:
		return fmt.Sprintf("vsock:%d:%d", s.CID, s.Port)
	case *unix.SockaddrNetlink:
		return fmt.Sprintf("netlink %d", s.Groups)
	}
	return "n/a"
}

// environment is the command's environment as systemd-socket-activate builds it: TERM, PATH,
// USER and HOME from ours, LISTEN_FDS, LISTEN_PID (set by spawn), LISTEN_FDNAMES, then -E.
func (a *activator) environment(nfds int, inetd bool) []string {
	var env []string
	for _, v := range []string{"TERM", "PATH", "USER", "HOME"} {
		if val, ok := os.LookupEnv(v); ok {
			env = append(env, v+"="+val)
		}
	}
	if !inetd {
		env = append(env, "LISTEN_FDS="+strconv.Itoa(nfds))
		if a.o.fdnames != nil {
			names := append([]string(nil), a.o.fdnames...)
			if len(names) == 1 {
				for len(names) < nfds {
					names = append(names, names[0])
				}
			} else if len(names) != nfds {
				a.logf("The number of fd names is different than number of fds: %d vs %d", len(names), nfds)
			}
			env = append(env, "LISTEN_FDNAMES="+strings.Join(names, ":"))
		}
	}
	for _, kv := range a.o.setenv {
		env = envReplace(env, kv)
	}
	return env
}

// start runs the command with files as fds 3... (or, with --inetd, the single file as stdin
// and stdout). The files stay ours.
func (a *activator) start(files []*os.File) (*spawn.Process, error) {
	cfg := &spawn.Config{
		Path:   a.path,
		Argv:   a.o.argv,
		Dir:    mustGetwd(),
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
	}
	if a.o.inetd {
		if len(files) != 1 {
			return nil, errors.New("--inetd only supported for single file descriptors.")
		}
		cfg.Stdin, cfg.Stdout = files[0], files[0]
		cfg.Env = a.environment(1, true)
	} else {
		cfg.ExtraFiles = files
		cfg.Env = a.environment(len(files), false)
		cfg.SetListenPID = true
	}
	p, err := spawn.Start(cfg)
	if err != nil {
		return nil, fmt.Errorf("Failed to execp %s (%s): %v", a.o.argv[0], strings.Join(a.o.argv, " "), err)
	}
	return p, nil
}

// reaped logs, once p has exited, what went wrong before its exec (nothing waits for the exec
// itself: the accept loop goes on at once).
func (a *activator) reaped(p *spawn.Process) {
	if err := p.ExecResult(); err != nil {
		a.logf("Failed to execp %s (%s): %v", a.o.argv[0], strings.Join(a.o.argv, " "), err)
	}
}

func mustGetwd() string {
	d, err := os.Getwd()
	if err != nil {
		return "/"
	}
	return d
}

func (a *activator) run() (int, error) {
	path, err := exec.LookPath(a.o.argv[0])
	if err != nil {
		return 0, fmt.Errorf("Failed to execp %s (%s): %v", a.o.argv[0], strings.Join(a.o.argv, " "), errors.Unwrap(err))
	}
	a.path = path
	if a.o.inetd && !a.o.accept && len(a.o.listen)+listenFDsFromEnv() != 1 {
		return 0, errors.New("--inetd only supported for single file descriptors.")
	}
	// Signals first, so that a SIGCHLD or SIGTERM cannot slip in before we listen for it.
	a.signal = make(chan os.Signal, 64)
	signal.Notify(a.signal, syscall.SIGCHLD, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(a.signal)
	if err := a.openSockets(); err != nil {
		return 0, err
	}
	poller, err := listen.NewPoller()
	if err != nil {
		return 0, err
	}
	defer poller.Close()
	ready := make(chan uint64, 16)
	go poller.Run(ready)
	for i, f := range a.files {
		if err := poller.Add(fileFd(f), uint64(i)); err != nil {
			return 0, fmt.Errorf("Failed to add event on epoll for fd %d: %v", 3+i, err)
		}
	}
	if a.o.accept {
		return a.acceptLoop(poller, ready)
	}
	return a.serveLoop(poller, ready)
}

func listenFDsFromEnv() int {
	if pid, _ := strconv.Atoi(os.Getenv("LISTEN_PID")); pid != os.Getpid() {
		return 0
	}
	n, _ := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	return n
}

// serveLoop is the Accept=no mode: wait for traffic, start the command with every socket,
// wait for it; with --restart wait for traffic again and start it anew, else exit with its
// status.
func (a *activator) serveLoop(poller *listen.Poller, ready chan uint64) (int, error) {
	for {
		var key uint64
		select {
		case key = <-ready:
		case s := <-a.signal:
			if s == syscall.SIGCHLD {
				continue
			}
			return 128 + int(s.(syscall.Signal)), nil
		}
		a.logf("Communication attempt on fd %d.", 3+int(key))
		a.logf("Execing %s (%s)", a.o.argv[0], strings.Join(a.o.argv, " "))
		p, err := a.start(a.files)
		if err != nil {
			return 0, err
		}
		pid := p.Pid
		ws, stopping := a.waitChild(pid)
		a.reaped(p)
		code := exitCode(ws)
		if !a.o.restart || stopping {
			return code, nil
		}
		a.logf("Child %d died with code %d", pid, waitStatusCode(ws))
		// Readiness reported while the command ran is stale (the command owned the sockets);
		// drop it, then watch every socket again: a connection already pending fires at once.
	drain:
		for {
			select {
			case <-ready:
			default:
				break drain
			}
		}
		for i, f := range a.files {
			if err := poller.Rearm(fileFd(f), uint64(i)); err != nil {
				return 0, fmt.Errorf("rearm fd %d: %v", 3+i, err)
			}
		}
	}
}

// waitChild waits for pid, forwarding termination signals to it. stopping reports that we
// were told to stop (then no restart).
func (a *activator) waitChild(pid int) (ws syscall.WaitStatus, stopping bool) {
	for {
		var w syscall.WaitStatus
		got, err := syscall.Wait4(pid, &w, syscall.WNOHANG, nil)
		if err == nil && got == pid {
			return w, stopping
		}
		if err != nil && err != syscall.EINTR {
			return 0, stopping
		}
		s := <-a.signal
		if s != syscall.SIGCHLD {
			sig := s.(syscall.Signal)
			if sig == syscall.SIGTERM || sig == syscall.SIGINT || sig == syscall.SIGQUIT {
				stopping = true
			}
			// ^C and ^\ on our terminal already reached the command (it is in our foreground
			// process group); forwarding them would deliver them twice.
			if (sig == syscall.SIGINT || sig == syscall.SIGQUIT) && inForeground() {
				continue
			}
			syscall.Kill(pid, sig)
		}
	}
}

// inForeground reports whether we are the foreground process group of our terminal (stdin).
func inForeground() bool {
	pg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	return err == nil && pg == syscall.Getpgrp()
}

func exitCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// waitStatusCode is siginfo's si_status as systemd-socket-activate logs it: the exit code or
// the signal number.
func waitStatusCode(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return int(ws.Signal())
	}
	return ws.ExitStatus()
}

// acceptLoop is the --accept mode: one child per connection, the connection as fd 3 (or as
// stdin and stdout with --inetd); children are reaped as they exit.
func (a *activator) acceptLoop(poller *listen.Poller, ready chan uint64) (int, error) {
	children := map[int]*spawn.Process{}
	for {
		select {
		case key := <-ready:
			i := int(key)
			fd := fileFd(a.files[i])
			a.logf("Communication attempt on fd %d.", 3+i)
			if err := a.acceptOne(fd, children); err != nil {
				return 1, err
			}
			if err := poller.Rearm(fd, key); err != nil {
				return 1, fmt.Errorf("rearm fd %d: %v", 3+i, err)
			}
		case s := <-a.signal:
			if s == syscall.SIGCHLD {
				for {
					var ws syscall.WaitStatus
					pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
					if pid <= 0 || err != nil {
						break
					}
					if p := children[pid]; p != nil {
						a.reaped(p)
					}
					delete(children, pid)
					a.logf("Child %d died with code %d", pid, waitStatusCode(ws))
				}
				continue
			}
			for pid := range children {
				syscall.Kill(pid, s.(syscall.Signal))
			}
			return 128 + int(s.(syscall.Signal)), nil
		}
	}
}

func (a *activator) acceptOne(fd int, children map[int]*spawn.Process) error {
	nfd, _, err := unix.Accept4(fd, unix.SOCK_CLOEXEC)
	if err != nil {
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) || errors.Is(err, unix.ECONNABORTED) {
			return nil
		}
		return fmt.Errorf("Failed to accept connection on fd:%d: %v", fd, err)
	}
	conn := os.NewFile(uintptr(nfd), "connection")
	defer conn.Close() // the child has its own copy
	a.logf("Connection from %s to %s", sockName(nfd, true), sockName(nfd, false))
	a.logf("Execing %s (%s)", a.o.argv[0], strings.Join(a.o.argv, " "))
	p, err := a.start([]*os.File{conn})
	if err != nil {
		a.logf("%v", err)
		return nil
	}
	children[p.Pid] = p
	a.logf("Spawned %s (%s) as PID %d.", a.o.argv[0], strings.Join(a.o.argv, " "), p.Pid)
	return nil
}
