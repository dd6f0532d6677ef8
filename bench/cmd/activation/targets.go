package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/flint-init/flint/bench/internal/cgtree"
	"github.com/flint-init/flint/bench/internal/procnet"
)

// errUnavailable marks a side that cannot run here (tool missing, verb not implemented yet).
var errUnavailable = errors.New("not available")

// syncBuffer collects a child's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a child process in its own process group; stop signals the whole group.
type proc struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

func startProc(name string, args ...string) (*proc, error) {
	p := &proc{cmd: exec.Command(name, args...), out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process group, then SIGKILL after 5s, and waits.
func (p *proc) stop() error {
	pgid := p.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	// Whatever is left in the group (a service that ignored SIGTERM) goes too.
	syscall.Kill(-pgid, syscall.SIGKILL)
	return nil
}

// waitSocket waits until a unix socket listens on path, failing early if p exits.
func waitSocket(p *proc, path string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		if procnet.UnixListening(path) {
			return nil
		}
		if p != nil && p.exited() {
			out := p.out.String()
			if strings.Contains(out, "not implemented") || strings.Contains(out, "unknown command") {
				return fmt.Errorf("%w: %s", errUnavailable, firstLine(out))
			}
			return fmt.Errorf("%s exited before %s existed: %s", p.cmd.Path, path, out)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no socket %s after 10s", path)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func run(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// execCold is a manager that exits with its server: each cycle starts it afresh
// (systemd-socket-activate, flint activate).
type execCold struct {
	argv func(sock string) []string
	sock string
}

func (e *execCold) cycle() (string, func() error, error) {
	os.Remove(e.sock)
	argv := e.argv(e.sock)
	p, err := startProc(argv[0], argv[1:]...)
	if err != nil {
		return "", nil, err
	}
	if err := waitSocket(p, e.sock); err != nil {
		p.stop()
		return "", nil, err
	}
	return e.sock, p.stop, nil
}

// unitFiles writes the benchmark's units into dir: foobar.socket/foobar.service (Accept=no, the
// seed example), grace.socket/grace.service (the same echo with a graceful stop, for the restart
// test: testdata/graceful.c) and echo.socket/echo@.service (Accept=yes, /bin/cat on the
// connection). Rate limits are off on both sides so that they do not decide the numbers.
func unitFiles(dir, sock, foobard string, port int, defaultDeps bool) error {
	dd := ""
	if !defaultDeps {
		dd = "DefaultDependencies=no\n"
	}
	files := map[string]string{
		"foobar.socket": "[Unit]\nDescription=foobar socket\n" + dd +
			"[Socket]\nListenStream=" + sock + "\nTriggerLimitIntervalSec=0\n",
		"foobar.service": "[Unit]\nDescription=foobar echo daemon\nStartLimitIntervalSec=0\n" + dd +
			"[Service]\nExecStart=" + foobard + "\n",
		"grace.socket": "[Unit]\nDescription=graceful echo socket\n" + dd +
			"[Socket]\nListenStream=" + graceSock(sock) + "\nTriggerLimitIntervalSec=0\n",
		"grace.service": "[Unit]\nDescription=graceful echo daemon\nStartLimitIntervalSec=0\n" + dd +
			"[Service]\nExecStart=" + filepath.Join(filepath.Dir(foobard), "graceful") + "\n",
		"echo.socket": "[Unit]\nDescription=echo socket\n" + dd +
			fmt.Sprintf("[Socket]\nListenStream=127.0.0.1:%d\nAccept=yes\nMaxConnections=1024\nTriggerLimitIntervalSec=0\n", port),
		"echo@.service": "[Unit]\nDescription=echo instance\nStartLimitIntervalSec=0\n" + dd +
			"[Service]\nExecStart=/bin/cat\nStandardInput=socket\n",
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// manager is a long-running service manager with the benchmark's units loaded: flint run or
// systemd 252 in a private namespace. ctl runs its systemctl-like client.
type manager struct {
	name  string
	sock  string // foobar.socket's path
	port  int    // echo.socket's port
	pid   int    // the manager's pid as the host sees it
	ctl   func(args ...string) error
	close func()
}

func (m *manager) cycle() (string, func() error, error) {
	return m.sock, func() error { return m.ctl("stop", "foobar.service") }, nil
}

func (m *manager) restart() error { return m.ctl("restart", "grace.service") }

// graceSock is grace.socket's path, next to foobar.socket's.
func graceSock(sock string) string { return filepath.Join(filepath.Dir(sock), "grace.sk") }

// startFlint runs `flint run --units DIR --control SOCK` with both socket units started;
// wrap, when given, is a command that execs flint with its arguments.
func startFlint(flint, work, foobard string, port int, wrap ...string) (*manager, error) {
	units := filepath.Join(work, "units")
	sock := filepath.Join(work, "foobar.sk")
	if err := unitFiles(units, sock, foobard, port, true); err != nil {
		return nil, err
	}
	wants := filepath.Join(units, "sockets.target.wants")
	os.MkdirAll(wants, 0o755)
	for _, u := range []string{"foobar.socket", "grace.socket", "echo.socket"} {
		os.Symlink(filepath.Join(units, u), filepath.Join(wants, u))
	}
	control := filepath.Join(work, "control.sock")
	args := []string{flint, "run", "--no-booted", "--no-journal-sockets", "--units", units, "--control", control}
	args = append(wrap, args...)
	p, err := startProc(args[0], args[1:]...)
	if err != nil {
		return nil, err
	}
	// The socket units start in parallel: wait for each (the restart test's first request once
	// met grace.sk bound but not yet listening).
	for _, s := range []string{sock, graceSock(sock)} {
		if err := waitSocket(p, s); err != nil {
			p.stop()
			return nil, err
		}
	}
	return &manager{
		name: "flint run",
		sock: sock,
		port: port,
		ctl: func(args ...string) error {
			_, err := run(flint, append([]string{"--control", control}, args...)...)
			return err
		},
		close: func() { p.stop() },
	}, nil
}

// startFlintCgroup is startFlint in a cgroup subtree of its own (cgtree), removed when the
// manager is closed.
func startFlintCgroup(flint, work, foobard string, port int) (*manager, error) {
	tree, err := cgtree.New("flint-bench")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUnavailable, err)
	}
	m, err := startFlint(flint, work, foobard, port, tree.Wrap()...)
	if err != nil {
		tree.Remove()
		return nil, err
	}
	m.name = sideRunCg
	stop := m.close
	m.close = func() { stop(); tree.Remove() }
	return m, nil
}

// startSystemd boots systemd 252 in private namespaces with the helper script
// (scripts/systemd-ns) and starts both socket units. The work directory is visible inside at the
// same path, so the socket and foobard live there.
func startSystemd(script, work, foobard string, port int) (*manager, error) {
	if _, err := os.Stat(script); err != nil {
		return nil, fmt.Errorf("%w: %v", errUnavailable, err)
	}
	if _, err := os.Stat("/lib/systemd/systemd"); err != nil {
		return nil, fmt.Errorf("%w: %v", errUnavailable, err)
	}
	units := filepath.Join(work, "units")
	sock := filepath.Join(work, "foobar.sk")
	if err := unitFiles(units, sock, foobard, port, false); err != nil {
		return nil, err
	}
	// The project's scripts/systemd-ns says boot|systemctl|kill; the older shared helper
	// start|ctl|stop.
	boot, ctlVerb, kill := "boot", "systemctl", "kill"
	if text, err := os.ReadFile(script); err == nil && !strings.Contains(string(text), "systemd-ns boot") {
		boot, ctlVerb, kill = "start", "ctl", "stop"
	}
	out, err := run("bash", script, boot, work)
	if err != nil {
		return nil, err
	}
	pid := strings.TrimSpace(out)
	ctl := func(args ...string) error {
		_, err := run("bash", append([]string{script, ctlVerb, pid}, args...)...)
		return err
	}
	m := &manager{name: "systemd 252", sock: sock, port: port, ctl: ctl,
		close: func() { run("bash", script, kill, pid) }}
	if err := ctl("start", "foobar.socket", "grace.socket", "echo.socket"); err != nil {
		m.close()
		return nil, err
	}
	for _, s := range []string{sock, graceSock(sock)} {
		if err := waitSocket(nil, s); err != nil {
			m.close()
			return nil, err
		}
	}
	return m, nil
}

// startXinetd runs a private xinetd (-f CONF -dontfork) serving /bin/cat on 127.0.0.1:port.
func startXinetd(work string, port int) (func(), error) {
	bin, err := exec.LookPath("xinetd")
	if err != nil {
		return nil, fmt.Errorf("%w: %v (apt-get install xinetd)", errUnavailable, err)
	}
	conf := filepath.Join(work, "xinetd.conf")
	text := fmt.Sprintf(`defaults
{
	log_type       = FILE %s/xinetd.log
	log_on_success =
	log_on_failure = HOST
}

service flintbench
{
	type        = UNLISTED
	id          = flintbench
	socket_type = stream
	protocol    = tcp
	port        = %d
	bind        = 127.0.0.1
	wait        = no
	user        = root
	server      = /bin/cat
	instances   = UNLIMITED
	per_source  = UNLIMITED
	cps         = 1000000 1
	flags       = REUSE
}
`, work, port)
	if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
		return nil, err
	}
	p, err := startProc(bin, "-f", conf, "-dontfork", "-pidfile", filepath.Join(work, "xinetd.pid"))
	if err != nil {
		return nil, err
	}
	if err := waitEcho(p, fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
		p.stop()
		return nil, err
	}
	return func() { p.stop() }, nil
}

// startInetdSSA runs systemd-socket-activate -a --inetd serving /bin/cat on 127.0.0.1:port.
func startInetdSSA(argv0 string, extra []string, port int) (func(), error) {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := append(append([]string{}, extra...), "-a", "--inetd", "-l", addr, "/bin/cat")
	p, err := startProc(argv0, args...)
	if err != nil {
		return nil, err
	}
	if err := waitEcho(p, addr); err != nil {
		p.stop()
		return nil, err
	}
	return func() { p.stop() }, nil
}

// waitEcho waits until one echo through addr succeeds.
func waitEcho(p *proc, addr string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := echoOnce(addr)
		if err == nil {
			return nil
		}
		if p.exited() {
			out := p.out.String()
			if strings.Contains(out, "not implemented") || strings.Contains(out, "unknown command") {
				return fmt.Errorf("%w: %s", errUnavailable, firstLine(out))
			}
			return fmt.Errorf("%s exited: %s", p.cmd.Path, out)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no echo from %s after 10s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
