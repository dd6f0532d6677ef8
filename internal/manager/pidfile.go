package manager

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/unit"
)

// Where a main process comes from besides ExecStart=: PIDFile=, MAINPID=, GuessMainPID=. Each
// source goes through checkMainPID, systemd 252's service_is_suitable_main_pid(); a pid that
// is not the service's own is taken only from a trusted source: a MAINPID= sent by root, a
// PIDFile= owned by root and reached without an unsafe symlink (systemd's
// service_load_pid_file()).

// checkMainPID says whether pid may become u's main process: an error (systemd's message)
// when it may not, else whether it belongs to u (tracking.go). One that does not belongs to
// another unit, or none, and is taken only from a trusted source.
func (m *Manager) checkMainPID(u *Unit, pid int) (belongs bool, err error) {
	switch {
	case pid == os.Getpid() || pid == 1:
		return false, fmt.Errorf("New main PID %d is the manager, refusing.", pid)
	case pid == u.service().controlPID:
		return false, fmt.Errorf("New main PID %d is the control process, refusing.", pid)
	case !procAlive(pid):
		return false, fmt.Errorf("New main PID %d does not exist or is a zombie.", pid)
	}
	return m.ownerOf(pid) == u, nil
}

// loadPIDFile reads u's PIDFile= as systemd's service_load_pid_file() does: the path is
// followed refusing unsafe transitions (a symlink or directory of one user leading to a file
// of another, but root's: chasePIDFile); the file's first line must be a pid (parsePID) that
// checkMainPID accepts; a pid that is not the service's own is taken only when the file is
// root's and was reached safely. It returns the pid, 0 when the file names the current main
// process, or an error carrying systemd's message. Unlike systemd, a PID file that is not a
// regular file is refused without being opened (a FIFO would block the manager, a device
// could act on being opened).
func (m *Manager) loadPIDFile(u *Unit) (int, error) {
	path := u.cfg.Service.PIDFile
	questionable := false
	fd, err := chasePIDFile(path, true)
	if errors.Is(err, unix.ENOLINK) {
		questionable = true
		fd, err = chasePIDFile(path, false)
	}
	if err != nil {
		return 0, fmt.Errorf("Can't open PID file %s (yet?) after %s: %s", path, u.sub, unit.Strerror(err))
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, fmt.Errorf("Failed to fstat() PID file O_PATH fd: %s", unit.Strerror(err))
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return 0, fmt.Errorf("PID file %s is not a regular file, refusing.", path)
	}
	line, err := readPIDFileLine(fd)
	if err != nil {
		return 0, fmt.Errorf("Can't convert PID files %s O_PATH file descriptor to proper file descriptor: %s", path, unit.Strerror(err))
	}
	pid, err := parsePID(line)
	if err != nil {
		return 0, fmt.Errorf("Failed to parse PID from file %s: %s", path, unit.Strerror(err))
	}
	if pid == u.service().mainPID {
		return 0, nil
	}
	belongs, err := m.checkMainPID(u, pid)
	if err != nil {
		return 0, err
	}
	if !belongs {
		if questionable {
			return 0, fmt.Errorf("Refusing to accept PID outside of service control group, acquired through unsafe symlink chain: %s", path)
		}
		if st.Uid != 0 {
			return 0, fmt.Errorf("New main PID %d does not belong to service, and PID file is not owned by root. Refusing.", pid)
		}
		m.logUnit(u, "New main PID %d does not belong to service, but we'll accept it since PID file is owned by root.", pid)
	}
	return pid, nil
}

// pidFileMoved reads u's PIDFile= again (systemd's service_load_pid_file() when the main
// process exits, and after a reload): a new suitable pid in it becomes the main process, and
// it reports whether one did. warn logs why the file could not be used.
func (m *Manager) pidFileMoved(u *Unit, warn bool) bool {
	if u.cfg.Service.PIDFile == "" {
		return false
	}
	pid, err := m.loadPIDFile(u)
	if err != nil {
		if warn {
			m.logUnit(u, "%v", err)
		}
		return false
	}
	if pid == 0 {
		return false
	}
	m.adoptMain(u, pid)
	return true
}

// awaitPIDFile looks for the PIDFile= of a Type=forking service whose forking process exited
// before the file was there, while the service starts: the daemon is adopted when the file
// names a suitable process; the start fails with Result=protocol when no process of the
// service is left ("Daemon never wrote its PID file"), or times out.
func (m *Manager) awaitPIDFile(u *Unit) {
	gen := u.service().timerGen // a new state (a timeout, a stop) disarms the timer and ends the wait
	var tick func()
	tick = func() {
		m.sys().afterFunc(m, 50*time.Millisecond, func() {
			if !u.isService() || u.service().timerGen != gen || u.sub != svcStart || u.service().mainPID != 0 {
				return
			}
			if pid, err := m.loadPIDFile(u); err == nil && pid > 0 {
				m.adoptMain(u, pid)
				serviceMachine{m}.forkingStartPost(u)
				return
			}
			if len(m.sys().unitPIDs(m, u)) == 0 {
				m.logUnit(u, "Daemon never wrote its PID file. Failing.")
				serviceMachine{m}.svcEnterSignal(u, svcStopSigterm, resultProtocol)
				return
			}
			tick()
		})
	}
	tick()
}

// maxFollows is how many symlinks chasePIDFile follows (systemd's CHASE_SYMLINKS_MAX).
const maxFollows = 32

// chasePIDFile opens path (absolute, or relative to the manager's working directory) as an
// O_PATH descriptor, following symlinks itself one component at a time, as systemd's
// chase_symlinks(). With safe, a step from something owned by one user to something owned by
// another is refused with ENOLINK, unless the first is root's (systemd's CHASE_SAFE and
// unsafe_transition()): a service's user cannot make the manager read a file of someone
// else's through a symlink or a directory of its own.
func chasePIDFile(path string, safe bool) (fd int, err error) {
	if !strings.HasPrefix(path, "/") {
		wd, err := os.Getwd()
		if err != nil {
			return -1, err
		}
		path = wd + "/" + path
	}
	fd, err = unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	var prev unix.Stat_t
	if err := unix.Fstat(fd, &prev); err != nil {
		unix.Close(fd)
		return -1, err
	}
	// step moves to next (an O_PATH fd, closed on failure), checking the transition.
	step := func(next int) error {
		var st unix.Stat_t
		if err := unix.Fstat(next, &st); err != nil {
			unix.Close(next)
			return err
		}
		if safe && unsafeTransition(&prev, &st) {
			unix.Close(next)
			return unix.ENOLINK
		}
		prev = st
		unix.Close(fd)
		fd = next
		return nil
	}
	depth := 0 // how far below "/" the components done so far lead (".." at "/" stays there)
	todo := path
	follows := 0
	for {
		var name string
		name, todo = nextComponent(todo)
		if name == "" {
			return fd, nil
		}
		if name == ".." {
			if depth == 0 {
				continue
			}
			parent, err := unix.Openat(fd, "..", unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err == nil {
				err = step(parent)
			}
			if err != nil {
				unix.Close(fd)
				return -1, err
			}
			depth--
			continue
		}
		child, err := unix.Openat(fd, name, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			unix.Close(fd)
			return -1, err
		}
		var st unix.Stat_t
		err = unix.Fstat(child, &st)
		if err == nil && safe && unsafeTransition(&prev, &st) {
			err = unix.ENOLINK
		}
		if err != nil {
			unix.Close(child)
			unix.Close(fd)
			return -1, err
		}
		prev = st // what follows a symlink is compared with the symlink, as in chase_symlinks()
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			unix.Close(fd)
			fd = child
			depth++
			continue
		}
		// A symlink: read it, and go on from the directory it is in (or from "/").
		unix.Close(child)
		follows++
		target, err := readlinkat(fd, name)
		switch {
		case err != nil:
		case follows > maxFollows:
			err = unix.ELOOP
		case target == "":
			err = unix.EINVAL
		}
		if err != nil {
			unix.Close(fd)
			return -1, err
		}
		if strings.HasPrefix(target, "/") {
			root, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err == nil {
				err = step(root)
			}
			if err != nil {
				unix.Close(fd)
				return -1, err
			}
			depth = 0
		}
		todo = target + "/" + todo
	}
}

// nextComponent splits the first path component off p, skipping empty ones and ".".
func nextComponent(p string) (name, rest string) {
	for {
		p = strings.TrimLeft(p, "/")
		if p == "" {
			return "", ""
		}
		name, rest, _ = strings.Cut(p, "/")
		if name != "." {
			return name, rest
		}
		p = rest
	}
}

// unsafeTransition is systemd's unsafe_transition(): going from a (owned by a user other than
// root) to b owned by someone else.
func unsafeTransition(a, b *unix.Stat_t) bool {
	return a.Uid != 0 && a.Uid != b.Uid
}

// readlinkat reads the symlink name in directory dir.
func readlinkat(dir int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dir, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
		if size >= 1<<16 {
			return "", unix.ENAMETOOLONG
		}
	}
}

// maxPIDFileLine bounds the first line of a PID file, as systemd's LONG_LINE_MAX (1 MiB):
// longer is an error (ENOBUFS).
const maxPIDFileLine = 1 << 20

// readPIDFileLine reads the first line of the regular file behind the O_PATH descriptor fd:
// up to the first "\n", "\r" or NUL, or the end of the file (systemd's read_one_line_file).
func readPIDFileLine(fd int) (string, error) {
	f, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer unix.Close(f)
	var line []byte
	var buf [4096]byte
	for {
		n, err := unix.Read(f, buf[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return "", err
		}
		if n == 0 {
			return string(line), nil
		}
		for i, c := range buf[:n] {
			if c == '\n' || c == '\r' || c == 0 {
				return string(append(line, buf[:i]...)), nil
			}
		}
		line = append(line, buf[:n]...)
		if len(line) > maxPIDFileLine {
			return "", unix.ENOBUFS
		}
	}
}

// parsePID parses a pid as systemd's parse_pid() (safe_atolu(), strtoull(3) in base 0):
// leading white space, an optional sign, a number in decimal, hexadecimal after "0x", octal
// after "0", and (systemd's own prefixes, before any sign) binary after "0b" and octal after
// "0o"; nothing after it. EINVAL for anything else, ERANGE for a number that overflows, is
// negative, is 0 or does not fit a pid_t.
func parsePID(s string) (int, error) {
	s = strings.TrimLeft(s, " \t\n\r")
	base := 0
	switch {
	case strings.HasPrefix(s, "0b") || strings.HasPrefix(s, "0B"):
		base, s = 2, s[2:]
	case strings.HasPrefix(s, "0o") || strings.HasPrefix(s, "0O"):
		base, s = 8, s[2:]
	}
	n, end, overflow := strtoull(s, base)
	switch {
	case overflow:
		return 0, syscall.ERANGE
	case end == 0 || end != len(s):
		return 0, syscall.EINVAL
	case n != 0 && s[0] == '-':
		return 0, syscall.ERANGE
	case n == 0 || n > 1<<31-1:
		return 0, syscall.ERANGE // pid_is_valid(), and (pid_t) n == n
	}
	return int(n), nil
}

// strtoull is C's strtoull(3) on s: the value, the index where parsing stopped (0 when no
// digit was read) and whether the value overflowed (ERANGE). base 0 takes "0x" for 16 and a
// leading "0" for 8; base 16 takes an optional "0x".
func strtoull(s string, base int) (n uint64, end int, overflow bool) {
	i := 0
	for i < len(s) && strings.IndexByte(" \t\n\v\f\r", s[i]) >= 0 {
		i++
	}
	neg := false
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		neg = s[i] == '-'
		i++
	}
	digit := func(c byte) int {
		switch {
		case c >= '0' && c <= '9':
			return int(c - '0')
		case c|0x20 >= 'a' && c|0x20 <= 'z':
			return int(c|0x20-'a') + 10
		}
		return 99
	}
	hexPrefix := i+2 < len(s) && s[i] == '0' && s[i+1]|0x20 == 'x' && digit(s[i+2]) < 16
	switch {
	case (base == 0 || base == 16) && hexPrefix:
		base, i = 16, i+2
	case base == 0 && i < len(s) && s[i] == '0':
		base = 8
	case base == 0:
		base = 10
	}
	start := i
	for ; i < len(s) && digit(s[i]) < base; i++ {
		d := uint64(digit(s[i]))
		if n > (^uint64(0)-d)/uint64(base) {
			overflow = true
		}
		n = n*uint64(base) + d
	}
	if i == start {
		return 0, 0, false
	}
	if overflow {
		return ^uint64(0), i, true
	}
	if neg {
		n = -n
	}
	return n, i, false
}
