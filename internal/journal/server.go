package journal

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/internal/logs"
)

// Paths where journald has its sockets.
const (
	DefaultDir = "/run/systemd/journal"
	DevLog     = "/dev/log"
)

// Config says where to serve and what to do with what arrives.
type Config struct {
	Dir    string // the sockets' directory: socket, stdout, dev-log (and syslog, a syslog daemon's)
	DevLog string // the symlink to Dir/dev-log; "" for none
	Store  *logs.Store
	// Attribute is the unit process pid belongs to ("" for none). It is called from the
	// goroutines that receive, right after a message arrived.
	Attribute func(pid int) string
	// AttributeLog, when set, is used instead of Attribute: it also returns how the unit's
	// messages are logged (LogLevelMax= drops those above it, LogExtraFields= are added;
	// nil: as they come).
	AttributeLog func(pid int) (string, *logs.Output)
	// Comm, when set, is the command name of process pid when /proc no longer has it (a
	// sender that exited and was reaped before its message was read); "" when unknown.
	Comm func(pid int) string
	// Logf records what the server has to say (a path left to another daemon, a socket it
	// could not make) in the manager's log.
	Logf func(format string, a ...any)
}

// MaxStreams bounds the stream connections served at once (journald's STDOUT_STREAMS_MAX);
// further connections are closed at once. StreamLimits bound them further.
const MaxStreams = 4096

// Server serves the sockets. Close stops it and removes what it made.
type Server struct {
	cfg     Config
	native  *net.UnixConn
	syslog  *net.UnixConn
	stdout  *net.UnixListener
	made    []madePath // files to remove at Close
	fwd     *forwarder
	wg      sync.WaitGroup
	mu      sync.Mutex
	streams map[net.Conn]struct{}
	count   streamCount // of streams, against the limits
	refused time.Time   // when a refused stream was last logged
	closed  bool
	cache   pidCache
}

// madePath is a file Start made: removed at Close if it is still the one made.
type madePath struct {
	path string
	ino  uint64
	link string // for a symlink: its target
}

// Start serves the sockets of cfg that no other process serves. A path a live socket answers
// on (another journald, a syslog daemon on /dev/log) is left alone, and cfg.Logf says so; a
// socket file nothing answers on is replaced.
func Start(cfg Config) (*Server, error) {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	s := &Server{cfg: cfg, streams: map[net.Conn]struct{}{}, count: newStreamCount(DefaultStreamLimits(nofileLimit())),
		fwd: newForwarder(filepath.Join(cfg.Dir, "syslog"), cfg.Store)}
	s.cache.entries = map[int]cacheEntry{}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	var errs []error
	if c, err := s.listenDatagram(filepath.Join(cfg.Dir, "socket")); err != nil {
		errs = append(errs, err)
	} else if c != nil {
		s.native = c
	}
	if l, err := s.listenStream(filepath.Join(cfg.Dir, "stdout")); err != nil {
		errs = append(errs, err)
	} else if l != nil {
		s.stdout = l
	}
	devLog := filepath.Join(cfg.Dir, "dev-log")
	if cfg.DevLog != "" && liveDatagram(cfg.DevLog) {
		cfg.Logf("%s is served by another process (a syslog daemon or journald): leaving it alone.", cfg.DevLog)
	} else if c, err := s.listenDatagram(devLog); err != nil {
		errs = append(errs, err)
	} else if c != nil {
		s.syslog = c
		if cfg.DevLog != "" {
			if err := s.linkDevLog(cfg.DevLog, devLog); err != nil {
				errs = append(errs, err)
			}
		}
	}
	for _, err := range errs {
		cfg.Logf("%v", err)
	}
	if s.native == nil && s.stdout == nil && s.syslog == nil {
		s.removeMade()
		return nil, nil
	}
	if s.native != nil {
		s.wg.Add(1)
		go s.serveDatagrams(s.native, false)
	}
	if s.syslog != nil {
		s.wg.Add(1)
		go s.serveDatagrams(s.syslog, true)
	}
	if s.stdout != nil {
		s.wg.Add(1)
		go s.serveStreams()
	}
	cfg.Store.SetTap(s.fwd.forwardLine)
	return s, nil
}

// liveDatagram reports whether a datagram socket answers at path (following symlinks).
func liveDatagram(path string) bool {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return unix.Connect(fd, &unix.SockaddrUnix{Name: path}) == nil
}

// liveStream reports whether a stream socket accepts connections at path.
func liveStream(path string) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// prepare makes path free for a new socket: false (and a note) when a live socket of
// another process answers there; a dead socket file is removed.
func (s *Server) prepare(path string, live func(string) bool) (bool, error) {
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("journal: %w", err)
	}
	if st.Mode().Type() != os.ModeSocket {
		return false, fmt.Errorf("journal: %s exists and is not a socket: leaving it alone", path)
	}
	if live(path) {
		s.cfg.Logf("%s is served by another process (journald?): leaving it alone.", path)
		return false, nil
	}
	if err := os.Remove(path); err != nil {
		return false, fmt.Errorf("journal: %w", err)
	}
	return true, nil
}

func (s *Server) listenDatagram(path string) (*net.UnixConn, error) {
	ok, err := s.prepare(path, liveDatagram)
	if !ok {
		return nil, err
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	c.SetReadBuffer(8 << 20) // as journald's sockets (best effort: capped by rmem_max)
	rc, err := c.SyscallConn()
	if err == nil {
		rc.Control(func(fd uintptr) { err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1) })
	}
	if err != nil {
		c.Close()
		os.Remove(path)
		return nil, fmt.Errorf("journal: SO_PASSCRED on %s: %w", path, err)
	}
	s.made = append(s.made, s.madeFile(path))
	os.Chmod(path, 0o666)
	return c, nil
}

func (s *Server) listenStream(path string) (*net.UnixListener, error) {
	ok, err := s.prepare(path, liveStream)
	if !ok {
		return nil, err
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	l.SetUnlinkOnClose(false) // removed by removeMade, if still ours
	s.made = append(s.made, s.madeFile(path))
	os.Chmod(path, 0o666)
	return l, nil
}

func (s *Server) madeFile(path string) madePath {
	m := madePath{path: path}
	if st, err := os.Lstat(path); err == nil {
		m.ino = st.Sys().(*syscall.Stat_t).Ino
	}
	return m
}

// linkDevLog points link (/dev/log) at target, replacing a dangling symlink or a dead socket;
// anything else there is left alone.
func (s *Server) linkDevLog(link, target string) error {
	if st, err := os.Lstat(link); err == nil {
		if cur, err := os.Readlink(link); err == nil && cur == target {
			return nil // already ours to serve; not made here, so not removed at the end
		}
		if st.Mode().Type() != os.ModeSymlink && st.Mode().Type() != os.ModeSocket {
			return fmt.Errorf("journal: %s exists and is neither a socket nor a symlink: leaving it alone", link)
		}
		if err := os.Remove(link); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
	}
	if err := os.Symlink(target, link); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	s.made = append(s.made, madePath{path: link, link: target})
	return nil
}

// removeMade removes the files Start made that are still the ones it made.
func (s *Server) removeMade() {
	for _, m := range s.made {
		if m.link != "" {
			if cur, err := os.Readlink(m.path); err == nil && cur == m.link {
				os.Remove(m.path)
			}
			continue
		}
		if st, err := os.Lstat(m.path); err == nil && st.Sys().(*syscall.Stat_t).Ino == m.ino {
			os.Remove(m.path)
		}
	}
	s.made = nil
}

// Close stops serving, waits for the receivers and removes the sockets.
func (s *Server) Close() {
	if s == nil {
		return
	}
	s.cfg.Store.SetTap(nil)
	s.mu.Lock()
	s.closed = true
	for c := range s.streams {
		c.Close()
	}
	s.mu.Unlock()
	if s.native != nil {
		s.native.Close()
	}
	if s.syslog != nil {
		s.syslog.Close()
	}
	if s.stdout != nil {
		s.stdout.Close()
	}
	s.wg.Wait()
	s.fwd.close()
	s.removeMade()
}

// Paths are the sockets served (for messages and tests).
func (s *Server) Paths() []string {
	var out []string
	for _, m := range s.made {
		out = append(out, m.path)
	}
	return out
}

// sender is what is known of the process that sent a message.
type sender struct {
	pid, uid, gid int
	unit          string
	out           *logs.Output // the unit's LogLevelMax= and LogExtraFields=; nil: none
	comm, exe     string
	cmdline       string
}

// cacheEntry is a sender's attribution and /proc data, reused for a while (journald caches
// its clients' context the same way).
type cacheEntry struct {
	s    sender
	when time.Time
}

// pidCache bounds what is kept per sender.
type pidCache struct {
	mu      sync.Mutex
	entries map[int]cacheEntry
}

const (
	cacheMaxAge  = time.Second
	cacheEntries = 1024
)

// sender returns what is known of pid (uid, gid from its credentials).
func (s *Server) sender(pid, uid, gid int) sender {
	now := time.Now()
	s.cache.mu.Lock()
	e, ok := s.cache.entries[pid]
	s.cache.mu.Unlock()
	if ok && now.Sub(e.when) < cacheMaxAge && e.s.uid == uid && e.s.gid == gid {
		return e.s
	}
	snd := sender{pid: pid, uid: uid, gid: gid}
	if pid > 0 {
		ps := strconv.Itoa(pid)
		if b, err := os.ReadFile("/proc/" + ps + "/comm"); err == nil {
			snd.comm = strings.TrimSuffix(string(b), "\n")
		} else if s.cfg.Comm != nil {
			snd.comm = s.cfg.Comm(pid)
		}
		snd.exe, _ = os.Readlink("/proc/" + ps + "/exe")
		if b, err := os.ReadFile("/proc/" + ps + "/cmdline"); err == nil {
			snd.cmdline = logs.Cmdline(strings.Split(strings.TrimSuffix(string(b), "\x00"), "\x00"))
		}
		if s.cfg.AttributeLog != nil {
			snd.unit, snd.out = s.cfg.AttributeLog(pid)
		} else if s.cfg.Attribute != nil {
			snd.unit = s.cfg.Attribute(pid)
		}
	}
	s.cache.mu.Lock()
	if len(s.cache.entries) >= cacheEntries {
		clear(s.cache.entries)
	}
	s.cache.entries[pid] = cacheEntry{snd, now}
	s.cache.mu.Unlock()
	return snd
}

// source is the logs.Source of a message from snd with identifier ident.
func (snd *sender) source(ident, transport string) *logs.Source {
	return &logs.Source{Ident: ident, Comm: snd.comm, Exe: snd.exe, Cmdline: snd.cmdline,
		UID: snd.uid, GID: snd.gid, Transport: transport}
}

// outsideRate is journald's default rate limit (RateLimitIntervalSec=30s,
// RateLimitBurst=10000), which flint applies to the messages of processes outside any unit,
// per uid: journald limits each cgroup, a user's session scope among them.
var outsideRate = logs.RateLimit{Interval: 30 * time.Second, Burst: 10000}

// admit applies the rate limit of snd's unit (LogRateLimit*=) to a message at level, or,
// for a sender outside any unit, outsideRate per uid: false when it is dropped.
func (snd *sender) admit(st *logs.Store, level int) bool {
	if snd.unit != "" {
		return st.Admit(snd.unit, snd.out.RateLimit(), level)
	}
	if snd.uid < 0 {
		return true // no credentials: nothing to hold it to
	}
	return st.Admit("uid "+strconv.Itoa(snd.uid), outsideRate, level)
}
