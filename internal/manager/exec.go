package manager

import (
	"errors"
	"fmt"
	"github.com/flint-init/flint/internal/sandbox"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/flint-init/flint/internal/logs"
	"github.com/flint-init/flint/internal/spawn"
	"github.com/flint-init/flint/unit"
)

// defaultPath is the PATH systemd gives services (and resolves bare ExecStart names on).
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// execParams is what one process start needs besides the command.
type execParams struct {
	listenFiles []*os.File // handed as fds 3.. (LISTEN_FDS); closed by the caller afterwards
	listenNames []string
	conn        *os.File // Accept=yes connection (StandardInput=socket or fd 3 "connection")
	control     bool     // a control process (ExecStartPre, ExecStop, ...): MAINPID set, no LISTEN_*
	mainPID     int
	extraEnv    []string
	stdoutOnly  bool
}

// resolvePath finds a bare program name on systemd's fixed PATH.
func resolvePath(p string) (string, error) {
	if filepath.IsAbs(p) {
		return p, nil
	}
	for _, d := range filepath.SplitList(defaultPath) {
		c := filepath.Join(d, p)
		if fi, err := os.Stat(c); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return c, nil
		}
	}
	return "", fmt.Errorf("%s: not found in %s", p, defaultPath)
}

// errorText is err's text without the path a *fs.PathError repeats: the message already
// names the file.
func errorText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return unit.Strerror(pe.Err)
	}
	return err.Error()
}

// serviceEnv computes a process's environment in systemd's order of precedence: the
// manager's environment block (environ.go), Environment=, EnvironmentFile=,
// PassEnvironment=, then the manager's own variables
// (LISTEN_*, NOTIFY_SOCKET, ...), minus UnsetEnvironment=.
func (m *Manager) serviceEnv(u *Unit, ec *unit.ExecContext, cr *creds, p *execParams) ([]string, error) {
	env := m.environment().clone()
	if len(ec.ExecSearchPath) > 0 {
		// As systemd's build_environment: PATH= is ExecSearchPath=, before Environment=
		// (which may set it otherwise).
		env.set("PATH", strings.Join(ec.ExecSearchPath, ":"))
	}
	for _, kv := range ec.Environment {
		env.add(kv)
	}
	for _, ef := range ec.EnvironmentFiles {
		// Read in the manager's loop: unit.ReadEnvironmentFile never blocks (a FIFO is
		// refused, not opened for reading) and reads at most 64 MiB.
		kvs, err := unit.ReadEnvironmentFile(ef.Path)
		if err != nil {
			if ef.Optional {
				continue // "-": any error is ignored, as systemd's
			}
			return nil, &resourceError{fmt.Errorf("failed to load environment file %s: %s", unit.Printable(ef.Path), unit.Printable(errorText(err)))}
		}
		for _, kv := range kvs {
			env.add(kv)
		}
	}
	for _, k := range ec.PassEnvironment {
		if v, ok := os.LookupEnv(k); ok {
			env.set(k, v)
		}
	}
	if cr != nil && cr.name != "" {
		env.set("USER", cr.name)
		env.set("LOGNAME", cr.name)
		if !cr.dynamic {
			env.set("HOME", cr.home)
			env.set("SHELL", cr.shell)
		}
	}
	env.set("INVOCATION_ID", u.hs().invocationID)
	if u.isService() && u.cfg.Service != nil {
		// As systemd's service_exec_needs_notify_socket(): the main process may notify unless
		// NotifyAccess=none (main is the default of Type=notify and of WatchdogSec=), control
		// processes with NotifyAccess=exec or all.
		na := notifyAccess(u)
		if p.control && (na == "exec" || na == "all") || !p.control && na != "none" {
			env.set("NOTIFY_SOCKET", m.notify.Addr())
		}
		if wd := u.cfg.Service.WatchdogSec; wd > 0 && !p.control {
			usec := strconv.FormatInt(wd.Microseconds(), 10)
			if wd == unit.DurationInfinity {
				usec = "18446744073709551615" // USEC_INFINITY, as systemd passes it
			}
			env.set("WATCHDOG_USEC", usec)
		}
	}
	if p.control && p.mainPID > 0 {
		env.set("MAINPID", strconv.Itoa(p.mainPID))
	}
	if u.isService() {
		for _, kv := range u.svcState().activationEnv {
			env.add(kv)
		}
	}
	if n := len(p.listenFiles); n > 0 && !p.control {
		env.set("LISTEN_FDS", strconv.Itoa(n))
		env.set("LISTEN_FDNAMES", strings.Join(p.listenNames, ":"))
	}
	for _, d := range execDirs(m.opt.Scope, ec) {
		if len(d.names) > 0 {
			var full []string
			for _, n := range d.names {
				full = append(full, filepath.Join(d.base, n))
			}
			env.set(d.env, strings.Join(full, ":"))
		}
	}
	for _, kv := range p.extraEnv {
		env.add(kv)
	}
	for _, k := range ec.UnsetEnvironment {
		if strings.Contains(k, "=") {
			env.unsetExact(k)
		} else {
			env.unset(k)
		}
	}
	return env.list(), nil
}

// resourceError is a failure of the manager to prepare a process (as systemd's
// service_spawn() failing before fork): the unit fails with Result=resources and no exit
// status is recorded.
type resourceError struct{ err error }

func (e *resourceError) Error() string { return e.err.Error() }
func (e *resourceError) Unwrap() error { return e.err }

// openStdioFile opens a file, FIFO or terminal for a service's standard stream without ever
// blocking the manager's loop: systemd opens these in the forked child, where a FIFO without
// a reader, or a serial line waiting for its carrier, blocks only that child; flint opens them
// in its loop. The open is O_NONBLOCK, cleared once open so that the service gets an ordinary
// blocking file. A FIFO opened for writing is opened read-write: then it needs no reader to
// open, and the service's writes wait in the pipe until a reader comes, as they would have
// waited in open(2).
func openStdioFile(path string, flags int, perm uint32) (*os.File, error) {
	if flags&(os.O_WRONLY|os.O_RDWR) == os.O_WRONLY {
		var st syscall.Stat_t
		if syscall.Stat(path, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFIFO {
			flags = flags&^os.O_WRONLY | os.O_RDWR
		}
	}
	fd, err := syscall.Open(path, flags|syscall.O_NONBLOCK|syscall.O_CLOEXEC, perm)
	for err == syscall.EINTR {
		fd, err = syscall.Open(path, flags|syscall.O_NONBLOCK|syscall.O_CLOEXEC, perm)
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	if err := syscall.SetNonblock(fd, false); err != nil {
		syscall.Close(fd)
		return nil, &fs.PathError{Op: "fcntl", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// openStdio opens a process's standard streams per StandardInput/Output/Error=.
// Files returned in toClose must be closed by the caller after the start.
func (m *Manager) openStdio(u *Unit, ec *unit.ExecContext, p *execParams, src *logs.Source) (in, out, errf *os.File, toClose []*os.File, err error) {
	open := func(spec string, write bool, stream string) (*os.File, error) {
		switch {
		case spec == "" || spec == "null":
			return nil, nil // spawn gives a nil stream its one shared /dev/null
		case spec == "socket":
			if p.conn != nil {
				return p.conn, nil
			}
			if len(p.listenFiles) == 1 {
				return p.listenFiles[0], nil
			}
			return nil, fmt.Errorf("Standard%s=socket needs exactly one socket", strings.Title(stream))
		case spec == "tty" || spec == "tty-force" || spec == "tty-fail":
			path := ec.TTYPath
			if path == "" {
				path = "/dev/console"
			}
			f, err := openStdioFile(path, os.O_RDWR|syscall.O_NOCTTY, 0)
			if err == nil {
				toClose = append(toClose, f)
				if !write {
					ttySize(f, ec) // TTYRows=, TTYColumns= (exectty.go)
				}
			}
			return f, err
		case strings.HasPrefix(spec, "file:"), strings.HasPrefix(spec, "append:"), strings.HasPrefix(spec, "truncate:"):
			i := strings.IndexByte(spec, ':')
			kind, path := spec[:i], spec[i+1:]
			flags := os.O_RDONLY
			if write {
				flags = os.O_WRONLY | os.O_CREATE
				switch kind {
				case "append":
					flags |= os.O_APPEND
				case "truncate":
					flags |= os.O_TRUNC
				}
			} else if kind == "file" {
				flags = os.O_RDWR | os.O_CREATE
			}
			f, err := openStdioFile(path, flags|syscall.O_NOCTTY, 0o644)
			if err == nil {
				toClose = append(toClose, f)
			}
			return f, err
		default:
			// journal, syslog, kmsg, journal+console, ...: captured into flint's log.
			f, err := m.logs.PipeDeferred(u.Name, stream, src) // the main loop starts its reader
			if err == nil {
				toClose = append(toClose, f)
				m.logPipes = append(m.logPipes, f)
			}
			return f, err
		}
	}
	stdin := ec.StandardInput
	if stdin == "" {
		stdin = "null"
	}
	passed := m.passedStdio(u) // systemd-run --pipe's fds (dbus_stdio.go)
	if passed[0] != nil {
		in = passed[0]
	} else if stdin == "data" {
		f, err := dataFile(ec.StandardInputText)
		if err != nil {
			return nil, nil, nil, toClose, err
		}
		toClose = append(toClose, f)
		in = f
	} else if in, err = open(stdin, false, "input"); err != nil {
		return nil, nil, nil, toClose, &spawn.ExecError{Status: 208, Step: "STDIN", Err: err}
	}
	so := ec.StandardOutput
	if so == "" {
		// systemd.exec(5): StandardOutput= defaults to inherit when StandardInput= is a tty,
		// socket or fd: (fd: is not supported here), else to the journal.
		so = "journal"
		if stdin == "socket" || strings.HasPrefix(stdin, "tty") {
			so = "inherit"
		}
	}
	if passed[1] != nil {
		out = passed[1]
	} else if so == "inherit" {
		if stdin == "socket" || strings.HasPrefix(stdin, "tty") {
			out = in
		} else {
			out, err = open("null", true, "stdout")
		}
	} else {
		out, err = open(so, true, "stdout")
	}
	if err != nil {
		return nil, nil, nil, toClose, &spawn.ExecError{Status: 209, Step: "STDOUT", Err: err}
	}
	se := ec.StandardError
	if passed[2] != nil {
		errf = passed[2]
	} else if se == "" || se == "inherit" {
		// stderr is stdout's descriptor, as in systemd: one log stream for both (in the
		// order they were written), "stdout" in flint's log.
		errf = out
	} else {
		errf, err = open(se, true, "stderr")
	}
	if err != nil {
		return nil, nil, nil, toClose, &spawn.ExecError{Status: spawn.StatusStderr, Step: "STDERR", Err: err}
	}
	return in, out, errf, toClose, nil
}

// dataFile returns a readable file holding data (StandardInputText=).
func dataFile(data string) (*os.File, error) {
	f, err := os.CreateTemp("", "flint-stdin-")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	if _, err := f.WriteString(data); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, 0); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// spawnCommand starts one command of u. It returns the pid; the caller registers the exit
// handler. fds in p are not closed here.
func (m *Manager) spawnCommand(u *Unit, cmd unit.ExecCommand, ec *unit.ExecContext, p *execParams) (*spawn.Process, error) {
	// As systemd's exec_child, User=/Group= are looked up (a dynamic user allocated) for
	// every command whatever its prefix: the unit's directories are set up for them, and
	// USER=, HOME= name them.
	dirs := execDirs(m.opt.Scope, ec)
	cr, err := m.unitCreds(u, ec, dirs)
	if err != nil {
		return nil, err
	}
	if err := setupExecDirs(dirs, execDirOwner(m.opt.Scope, cr), func(s string) { m.logUnit(u, "%s", s) }); err != nil {
		return nil, err
	}
	var mounts []spawn.Mount
	if dirs[0].dynamic {
		stage, err := m.privateStage()
		if err != nil {
			return nil, &resourceError{err}
		}
		mounts = privateMounts(dirs, stage)
	}
	setuid := !cmd.Flags.FullPrivilege && !cmd.Flags.NoSetuid && !(cmd.Flags.AmbientOnly && !ambientCapsSupported())
	if cr != nil && !setuid {
		// '+', '!' (and '!!' on a kernel without ambient capabilities) run as the manager's
		// user, with USER=, HOME= and SHELL= still those of User=.
		// initgroups' groups are set for them too (see creds).
		cr = &creds{name: cr.name, home: cr.home, shell: cr.shell, dynamic: cr.dynamic, uid: uint32(os.Getuid()), gid: uint32(os.Getgid()),
			groups: cr.initGroups, setGroups: cr.initGroups != nil}
	}
	env, err := m.serviceEnv(u, ec, cr, p)
	if err != nil {
		return nil, err
	}
	argv, path := cmd.Argv, cmd.Path
	if !cmd.Flags.NoEnvExpand && (strings.Contains(path, "$") || slices.ContainsFunc(argv, func(w string) bool { return strings.Contains(w, "$") })) {
		vars := envMap(env)
		argv = expandArgv(argv, vars)
		path = expandWord(path, vars)
	}
	src := m.streamSource(u, ec, path, argv, cr, setuid)
	if rp, err := resolveSearchPath(path, ec.ExecSearchPath); err == nil {
		path = rp
	}
	if len(argv) == 0 {
		argv = []string{path}
	}
	ttyReset(ec) // TTYVHangup=, TTYReset=, TTYVTDisallocate= (exectty.go)
	m.logPipes = m.logPipes[:0]
	in, out, errf, toClose, err := m.openStdio(u, ec, p, src)
	pipes := append([]*os.File(nil), m.logPipes...)
	defer func() {
		for _, f := range toClose {
			f.Close()
		}
	}()
	if err != nil {
		return nil, err
	}
	cfg := &spawn.Config{
		Path:        path,
		SkipMissing: cmd.Flags.IgnoreFailure,
		Argv:        argv,
		Env:         env,
		Stdin:       in,
		Stdout:      out,
		Stderr:      errf,
		NewSession:  true,
		Mounts:      mounts,
		// NoNewPrivileges= (implied by DynamicUser=) is a sandbox setting: a '+' command
		// runs without it, as in systemd.
		NoNewPrivs: ec.NoNewPrivileges && !cmd.Flags.FullPrivilege,
	}
	m.cgroupPlace(u, ec, cr, cfg) // in the unit's cgroup before anything else (cgroup.go)
	// The cgroup's BPF programs attached before the process runs (bpf.go).
	if err := m.bpfPlace(u, ec); err != nil {
		return nil, err
	}
	dir := ec.WorkingDirectory
	dirOptional := ec.WorkingDirectoryOptional
	switch {
	case dir == "~":
		if cr != nil && cr.home != "" {
			dir = cr.home
		} else {
			dir, _ = os.UserHomeDir()
		}
	case dir == "" && m.opt.Scope == unit.User:
		// The user manager's default is the home directory, if there is one (systemd sets
		// working_directory_missing_ok for user units).
		dir, _ = os.UserHomeDir()
		dirOptional = true
	case dir == "":
		dir = "/"
	}
	cfg.Dir = dir
	cfg.DirOptional = dirOptional
	if !p.control && u.isService() && u.svcState().conn != nil {
		if a := u.svcState().conn.RemoteAddr; a != "" {
			cfg.Env = append(cfg.Env, "REMOTE_ADDR="+a)
		}
		if pt := u.svcState().conn.RemotePort; pt != "" {
			cfg.Env = append(cfg.Env, "REMOTE_PORT="+pt)
		}
	}
	if !p.control {
		if p.conn != nil && ec.StandardInput != "socket" {
			cfg.ExtraFiles = []*os.File{p.conn}
			cfg.Env = append(cfg.Env, "LISTEN_FDS=1", "LISTEN_FDNAMES=connection")
			cfg.SetListenPID = true
		} else if len(p.listenFiles) > 0 {
			cfg.ExtraFiles = p.listenFiles
			cfg.SetListenPID = true
		}
		// WATCHDOG_PID= goes with WATCHDOG_USEC= (systemd's EXEC_SET_WATCHDOG), so that
		// sd_watchdog_enabled() in the main process says yes.
		cfg.SetWatchdogPID = u.isService() && u.cfg.Service != nil && u.cfg.Service.WatchdogSec > 0
	}
	if cr != nil && (setuid || cr.setGroups) {
		cfg.Credential = &syscall.Credential{Uid: cr.uid, Gid: cr.gid, Groups: cr.groups, NoSetGroups: !cr.setGroups}
	}
	uid, gid := -1, -1
	if cfg.Credential != nil {
		uid, gid = int(cfg.Credential.Uid), int(cfg.Credential.Gid)
	}
	if !cmd.Flags.FullPrivilege {
		if err := m.acquireFSRuntime(u, ec); err != nil {
			return nil, &spawn.ExecError{Status: sandbox.StatusNamespace, Step: "namespace", Err: err}
		}
		cfg.Env = append(cfg.Env, m.fsEnv(u, ec)...)
	}
	cfg.Keyring = m.keyring(u, ec, uid, gid)
	cfg.UserNS = m.userNS(ec, cmd, cfg.Credential)
	if cfg.Sandbox, err = m.sandboxSpec(u, ec, cmd, uid, gid, cfg); err != nil {
		if ee, ok := err.(*spawn.ExecError); ok {
			return nil, ee
		}
		return nil, &spawn.ExecError{Status: sandbox.StatusSeccomp, Step: "sandbox", Err: err}
	}
	um := uint32(ec.UMask) // always set: UMask=0000 is a setting too (the default is 0022)
	cfg.Umask = &um
	if ec.NiceSet {
		n := ec.Nice
		cfg.Nice = &n
	}
	if ec.OOMScoreAdjustSet {
		o := ec.OOMScoreAdjust
		cfg.OOMScoreAdjust = &o
	}
	// systemd applies the limits with the sandboxing, which '+' lifts: a '+' command keeps
	// the manager's own.
	if !cmd.Flags.FullPrivilege {
		cfg.Rlimits = serviceRlimits(ec)
	}
	cfg.IgnoreSIGPIPE = ec.IgnoresSIGPIPE() // yes unless IgnoreSIGPIPE=no
	// Scheduling, affinity, memory policy, I/O priority, timer slack, core dump filter
	// (execprocess.go): made for every command, '+' too, as in systemd.
	if cfg.Process, err = processSettings(ec); err != nil {
		return nil, err
	}
	if mode := passedTTY(m.passedStdio(u)[0], ec); mode != spawn.CTTYNone { // dbus_stdio.go
		if cfg.Process == nil {
			cfg.Process = &spawn.ProcessSettings{}
		}
		cfg.Process.ControllingTTY = mode
	}
	// Every process gets SYSTEMD_EXEC_PID=<its own pid> (systemd.exec(5)), written by spawn
	// after the fork. In systemd's build_environment() it comes before Environment= and
	// EnvironmentFile=, which may set it otherwise, and UnsetEnvironment= removes it.
	cfg.SetExecPID = setsExecPID(env, ec)
	// UtmpIdentifier=: the records are written before the service's exec, as systemd's
	// exec_child writes them (a getty's own records come after): the child waits at its
	// gate until they are.
	var gate *os.File
	if ec.UtmpIdentifier != "" {
		r, w, perr := os.Pipe()
		if perr == nil {
			cfg.Gate, gate = r, w
			defer r.Close()
			defer w.Close()
		}
	}
	m.logPipes = m.logPipes[:0]
	sp, err := spawn.Start(cfg)
	m.closeSpawnFiles()
	if gate != nil {
		if err == nil {
			utmpStarted(ec, sp.Pid, cr) // utmp.go
		}
		gate.Write([]byte{0}) // the child execs
		gate.Close()
	}
	if err == nil {
		for _, f := range pipes {
			m.logs.SetPID(f, sp.Pid)
		}
		m.stateChanged(u)
	}
	return sp, err
}

// streamSource is what the journal records about the output of a command (path as the unit
// names it, argv) of u: SyslogIdentifier= or the command's name (as systemd's stream
// header gives it), its uid and gid, the unit's invocation id and a stream id of its own.
// The process's _COMM and _EXE are read at its first line (logs.Pipe); until then they
// are guessed from the path.
func (m *Manager) streamSource(u *Unit, ec *unit.ExecContext, path string, argv []string, cr *creds, setuid bool) *logs.Source {
	name := path
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	ident := ec.SyslogIdentifier
	if ident == "" {
		ident = name
	}
	comm := name
	if len(comm) > 15 {
		comm = comm[:15] // TASK_COMM_LEN
	}
	src := &logs.Source{Ident: ident, Comm: comm, Exe: path, Cmdline: logs.Cmdline(argv), UID: os.Getuid(), GID: os.Getgid(),
		Invocation: u.hs().invocationID, StreamID: newInvocationID(), Out: logOutput(ec)}
	if cr != nil && setuid {
		src.UID, src.GID = int(cr.uid), int(cr.gid)
	}
	return src
}

// setsExecPID reports whether a process with environment env (already without what
// UnsetEnvironment= removes) and settings ec gets SYSTEMD_EXEC_PID from the manager: not when
// the unit's configuration set it, nor when UnsetEnvironment= names it.
func setsExecPID(env []string, ec *unit.ExecContext) bool {
	const key = "SYSTEMD_EXEC_PID"
	for _, kv := range env {
		if strings.HasPrefix(kv, key+"=") {
			return false
		}
	}
	return !slices.Contains(ec.UnsetEnvironment, key)
}

// serviceRlimits are the limits of a process of ec: its Limit*= settings, and systemd's
// DefaultLimitNOFILE=1024:524288 when it has no LimitNOFILE= (Go raised flint's own soft
// limit, which the process would inherit).
func serviceRlimits(ec *unit.ExecContext) []spawn.Rlimit {
	var out []spawn.Rlimit
	hasNofile := false
	for _, rl := range ec.Rlimits {
		out = append(out, spawn.Rlimit{Resource: rl.Resource, Soft: rl.Soft, Hard: rl.Hard})
		hasNofile = hasNofile || rl.Resource == syscall.RLIMIT_NOFILE
	}
	if !hasNofile {
		out = append(out, spawn.Rlimit{Resource: syscall.RLIMIT_NOFILE, Soft: 1024, Hard: defaultNofileHard()})
	}
	return out
}

// defaultNofileHard is 524288, or the manager's own hard limit if lower (an unprivileged
// manager cannot raise it). The manager never changes its limit: read once.
var defaultNofileHard = sync.OnceValue(func() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Max < 524288 {
		return rl.Max
	}
	return 524288
})
