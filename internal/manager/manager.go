package manager

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/flint-init/flint/internal/spawn"

	"golang.org/x/sys/unix"

	"github.com/flint-init/flint/internal/cgroup"
	"github.com/flint-init/flint/internal/control"
	"github.com/flint-init/flint/internal/dynuser"
	"github.com/flint-init/flint/internal/journal"
	"github.com/flint-init/flint/internal/listen"
	"github.com/flint-init/flint/internal/logs"
	"github.com/flint-init/flint/internal/notify"
	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/install"
)

// Options configure a Manager.
type Options struct {
	// TmpfilesSetup applies tmpfiles.d at Run before the boot, as systemd-tmpfiles-setup.service
	// (tmpfiles.go).
	TmpfilesSetup bool

	Scope       unit.Scope
	UnitDirs    []string // nil: the default search path
	ControlPath string
	Target      string    // unit started at boot; "" = default.target
	RuntimeDir  string    // flint's runtime directory (notify socket); "" = dir of ControlPath
	Console     io.Writer // systemd-style status lines; nil = os.Stderr
	LogDir      string    // optional per-unit log files
	LogLines    int       // lines kept per unit; 0 = 1000
	// BootedDir, when not "", is created at Run unless it exists (SystemdBootedDir: then
	// sd_booted() is true in the services), and removed at the orderly end if Run made it.
	BootedDir string
	// ForwardLogs copies every unit's log lines to Console, "UNIT[PID]: TEXT" (forward.go).
	ForwardLogs bool
	// JournalDir is where journald's sockets are served (journal.DefaultDir for the system
	// manager); "" serves none. DevLog is the /dev/log symlink to its dev-log ("" none).
	JournalDir, DevLog string
	// LogStorage is where the lines also go on disk, as journald's Storage=: "persistent"
	// (PersistentLogDir), "volatile" (RuntimeDir/journal), "auto" (persistent when
	// PersistentLogDir exists, else volatile), "" or "none" (memory only).
	LogStorage       string
	PersistentLogDir string // "" = DefaultPersistentLogDir
	// LogMaxUse and LogRuntimeMaxUse bound the persistent and the volatile files
	// (SystemMaxUse=, RuntimeMaxUse=); 0: journald's defaults.
	LogMaxUse, LogRuntimeMaxUse int64
	// Cgroups is the cgroup layout units get their groups in (cgroup.go); nil or of kind
	// None: processes are tracked by session only.
	Cgroups *cgroup.Layout
	// DefaultOOMPolicy is systemd's DefaultOOMPolicy= (system.conf): the OOMPolicy= of the
	// services that set none and delegate nothing; "" is systemd's default, stop.
	DefaultOOMPolicy string
}

// DefaultPersistentLogDir is the persistent journal's directory (journald's /var/log/journal).
const DefaultPersistentLogDir = "/var/log/flint"

// VolatileLogDir is the volatile journal's directory of a manager whose runtime directory is
// runtimeDir.
func VolatileLogDir(runtimeDir string) string { return filepath.Join(runtimeDir, "journal") }

// logStorage is the directory and bounds of the journal files, "" for none.
func (o *Options) logStorage() (string, logs.DiskOptions) {
	persistent := o.PersistentLogDir
	if persistent == "" {
		persistent = DefaultPersistentLogDir
	}
	storage := o.LogStorage
	if storage == "auto" {
		storage = "volatile"
		if st, err := os.Stat(persistent); err == nil && st.IsDir() {
			storage = "persistent"
		}
	}
	switch storage {
	case "persistent":
		return persistent, logs.DiskOptions{MaxUse: o.LogMaxUse}
	case "volatile":
		return VolatileLogDir(o.RuntimeDir), logs.DiskOptions{MaxUse: o.LogRuntimeMaxUse}
	}
	return "", logs.DiskOptions{}
}

// Manager is the service manager. Create with New, then call Run.
type Manager struct {
	opt    Options
	loader *unit.Loader
	loop   chan func()
	osys   system // nil: the real one (system.go)
	// traceState, when set (by tests), sees every state change, before its consequences.
	traceState func(u *Unit, sub subState)

	units map[string]*Unit // every name a unit is known by (aliases included)
	cg    cgroupState      // the units' cgroups (cgroup.go)
	bpf   bpfState         // the units' cgroup BPF programs (bpf.go)
	order []*Unit          // in load order, each once

	// cleans are the units' cleans under way (clean.go); cleanRemove, when set (by tests),
	// removes in removeTree's place.
	cleans      map[*Unit]*cleanRun
	cleanRemove func(ctx context.Context, path string) error

	poller     *listen.Poller
	wall       wallClock      // calendar timers (wallclock.go)
	tz         tzWatch        // changes of /etc/localtime (wallclock.go)
	localZone  *time.Location // the local time zone calendar timers follow; nil: time.Local
	orderIndex orderIndex     // reverse Before=/After= edges (units.go)
	unneeded   []*Unit        // units with StopWhenUnneeded=yes
	upholders  []*Unit        // units with Upholds=

	pollRefs map[uint64]pollRef
	nextKey  uint64

	notify *notify.Receiver
	rs     *stateFile  // the runtime directory's lock and state file (leftovers.go)
	nsync  *notifySync // orders notifications before main-process exits (notifysync.go)
	logs   *logs.Store
	// journal serves journald's sockets (journald.go); nil when it does not.
	journalSrv  *journal.Server
	journalStop chan struct{} // closed when the journal sockets close
	reapedNotes reapedNotes   // the units of the processes reaped last (journald.go)
	// logSource is what the journal records about the manager's messages (journal.go);
	// pid is the manager's.
	logSource *logs.Source
	pid       int
	presets   *install.Presets // the preset files' rules until the next reload (props.go)
	api       *control.Server
	// logGroupNames are the groups whose members may read log lines (control_logs.go).
	logGroupNames []string

	procs map[int]*proc // live processes we started (or adopted as main processes), by pid
	// Process tracking (tracking.go): orphans placed in units, those left alone, and rule 5's
	// notes of sessions (sessionOrder: oldest first).
	adopted      map[int]adoptee
	alone        map[int]bool
	sessions     map[int]sessionEnd
	sessionOrder []sessionNote
	logPipes     []*os.File // scratch: log pipes opened for the process being spawned
	spawnFiles   []*os.File // scratch: files made for the process being spawned, closed after
	childBuf     []int      // scratch: hasUnknownChild's list of the leader's children
	// subreaper: orphans of the services are reparented to flint (PID 1, or
	// PR_SET_CHILD_SUBREAPER), which process tracking relies on (tracking.go).
	subreaper bool

	jobs    map[int]*job
	nextJob int

	dispatching     bool // dispatch is running (finishJob then only marks dispatchPending)
	dispatchPending bool
	gcPending       bool             // a unit was loaded, changed state or lost its job: collectGarbage
	gcQueue         []*Unit          // those units (gcEnqueue)
	gcAll           bool             // sweep whatever the queue holds (a daemon-reload changed references)
	gcGen           uint64           // the current sweep's generation (collectGarbage)
	nextSeq         uint64           // the last Unit.seq given
	reloads         []reloadStamp    // the daemon-reloads that loaded units had (stateChangeOf)
	gcUnsure        int              // the units marked unsure in the current sweep
	gcDoomed        []*Unit          // scratch: the units the sweep collects
	gcProcs         map[*Unit]bool   // scratch: the units with a process left, built once a sweep needs it
	refBy           revIndex[string] // the loaded units whose configuration refers to a name (indexRefs)
	refQueue        []*Unit          // registered units whose references are not loaded yet (loadReferred)
	loadingRefs     bool             // loadReferred is running: a unit it loads only joins refQueue
	releaseMemory   bool             // return the loading garbage to the OS once no job is left (boot, reload)
	releaseMark     int              // len(order) at the last release armed by loading (register)
	shuttingDown    bool
	shutdownScan    int    // checkShutdownDone's cursor into order
	allStopped      bool   // the shutdown stopped every unit: "All units stopped." at Run's end
	objective       string // what Run ends with: "", exit, poweroff, halt, reboot (actions.go)
	actionTarget    string // a unit action's target, started after the event (actions.go)
	exitCode        int    // flint run's exit status (actions.go)
	quit            chan struct{}
	quitOnce        sync.Once
	bootTime        time.Time
	console         *console
	selfEnv         []string
	environ         *envList           // the environment block every spawned process starts from (environ.go)
	dynAlloc        *dynuser.Allocator // DynamicUser='s users, made at the first use (dynuser.go)
	dbus            *dbusState         // systemd's D-Bus API (dbus.go); nil when not served
}

// pollRef says which socket (unit, index) a poller key refers to.
type pollRef struct {
	u   *Unit
	idx int
}

// proc is a process the manager started (or adopted as a unit's main process) and will reap.
type proc struct {
	pid  int
	u    *Unit  // the unit it belongs to (tracking.go, rule 1)
	kind string // "main", "control", "adopted" (another unit's main process)
	sid  int    // its session
	// trusted: a main process taken on trust (a root-owned PIDFile=, a MAINPID= from root),
	// not placed by an exact rule of tracking.go.
	trusted bool
	onExit  func(ws syscall.WaitStatus)
	// watchers are other units whose main process it is (MAINPID= naming it): they see its
	// exit too, as systemd dispatches a SIGCHLD to every unit watching the pid.
	watchers []*Unit
	sp       *spawn.Process // when spawned by us: its exec's outcome, logged at the exit
	path     string         // the executable, for that log line
}

// New prepares a manager: the unit loader, the log store, the notify socket and the poller.
// Nothing is started until Run.
func New(opt Options) (*Manager, error) {
	unit.PrepareTables()
	if opt.Target == "" {
		opt.Target = "default.target"
	}
	if opt.Console == nil {
		opt.Console = os.Stderr
	}
	if opt.LogLines == 0 {
		opt.LogLines = 1000
	}
	if opt.RuntimeDir == "" {
		opt.RuntimeDir = filepath.Dir(opt.ControlPath)
	}
	if err := os.MkdirAll(opt.RuntimeDir, 0o755); err != nil {
		return nil, fmt.Errorf("runtime directory: %w", err)
	}
	// Before anything in the runtime directory is touched: is another manager running on it?
	rs, err := openState(opt.RuntimeDir, opt.ControlPath)
	if err != nil {
		return nil, err
	}
	m := &Manager{
		opt:      opt,
		loader:   unit.NewLoader(opt.Scope, opt.UnitDirs),
		loop:     make(chan func(), 4096),
		units:    map[string]*Unit{},
		pollRefs: map[uint64]pollRef{},
		procs:    map[int]*proc{},
		adopted:  map[int]adoptee{},
		alone:    map[int]bool{},
		jobs:     map[int]*job{},
		quit:     make(chan struct{}),
		bootTime: time.Now(),
		console:  newConsole(opt.Console),
		selfEnv:  os.Environ(),
		rs:       rs,
	}
	m.logs = logs.NewStore(opt.LogLines, opt.LogDir)
	if dir, dopt := opt.logStorage(); dir != "" {
		if err := m.logs.Persist(dir, dopt); err != nil {
			m.consolef("Failed to keep the logs in %s, keeping them in memory only: %v", dir, err)
		}
	}
	m.logSource, m.pid = newLogSource(), os.Getpid()
	p, err := listen.NewPoller()
	if err != nil {
		rs.close(false)
		return nil, fmt.Errorf("poller: %w", err)
	}
	m.poller = p
	// A notify socket file left by a manager that was killed is replaced.
	nr, err := notify.Listen(notifyAddress(opt.RuntimeDir))
	if err != nil {
		p.Close()
		rs.close(false)
		return nil, fmt.Errorf("notify socket: %w", err)
	}
	m.notify = nr
	return m, nil
}

// post runs fn on the manager's goroutine. Safe from any goroutine.
func (m *Manager) post(fn func()) {
	select {
	case m.loop <- fn:
	case <-m.quit:
	}
}

// call runs fn on the manager's goroutine and waits for it.
func (m *Manager) call(fn func()) {
	done := make(chan struct{})
	m.post(func() { fn(); close(done) })
	select {
	case <-done:
	case <-m.quit:
	}
}

// notifyAddress is where the notify socket goes: dir/notify, as systemd's /run/systemd/notify,
// unless a root manager's dir is closed to other users somewhere on its path (a --control in
// a 0700 directory), where services with User= could not reach it; then an abstract socket,
// which no directory guards (sd_notify(3) accepts "@" addresses).
func notifyAddress(dir string) string {
	if os.Geteuid() == 0 {
		for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
			if st, err := os.Stat(d); err == nil && st.Mode().Perm()&0o001 == 0 {
				return "@flint/notify/" + newInvocationID()[:16]
			}
			if d == "/" || d == "." {
				break
			}
		}
	}
	return filepath.Join(dir, "notify")
}

// Run starts the manager: control socket, reaper, poller, notify receiver, then the boot target;
// it returns when a SIGTERM/SIGINT-initiated shutdown (or ctx) has stopped every unit.
func (m *Manager) Run(ctx context.Context) error {
	// Deferred first, so run last: the status lines of the shutdown reach the output before
	// flint exits (unless nobody reads it).
	defer m.console.flush(2 * time.Second)
	// The last lines reach the journal files, those still in the units' pipes too.
	defer func() {
		m.logs.Drain(forwardDrain)
		m.logs.Flush()
	}()
	// Orphans of services are reparented to us, so that KillMode=control-group finds them and
	// one place reaps everything.
	m.subreaper = true
	if os.Getpid() != 1 {
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			m.consolef("Failed to become child subreaper: %v", err)
			m.subreaper = false
		}
	}
	signal.Ignore(syscall.SIGPIPE)
	sigs := make(chan os.Signal, 64)
	signal.Notify(sigs, syscall.SIGCHLD, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)

	// What a manager killed before it could stop its units left running is stopped before
	// anything starts; then the state file names this manager. An orderly end removes it
	// (the flag is set where Run returns after the shutdown).
	clean := false
	defer func() { m.rs.close(clean) }()
	m.recoverLeftovers()
	m.writeState()
	if m.opt.BootedDir != "" {
		created, err := markBooted(m.opt.BootedDir, m.opt.RuntimeDir)
		if err != nil {
			m.consolef("Failed to create %s, sd_booted() stays false: %v", m.opt.BootedDir, err)
		}
		defer func() {
			if clean {
				unmarkBooted(created, m.opt.RuntimeDir)
			}
		}()
	}
	// The shutdown's last status line comes after the units' last forwarded lines (deferred
	// before the forwarding's end, so run after it).
	defer func() {
		if m.allStopped {
			m.consolef("All units stopped.")
		}
	}()
	if m.opt.ForwardLogs {
		defer m.forwardLogs()()
	}
	// The journal's sockets are there before any service starts; they go once the loop has
	// ended (deferred before the loop's own cleanup, so run after it).
	m.startJournal()
	defer m.stopJournal()

	// Time zone changes make calendar timers compute their next elapse anew (and start those
	// with OnTimezoneChange=yes).
	m.localZone = time.Local
	m.tz.changed()
	if err := m.tz.watch(m.post, m.timezoneChanged); err != nil {
		m.consolef("Failed to watch %s, time zone changes will not be seen: %v", localtimePath, err)
	}
	defer m.tz.close()
	// Generators write units before any is loaded (generators.go).
	m.runGenerators()
	m.loader.Reload()
	defer func() {
		if clean {
			m.removeGeneratorOutputs() // as systemd at its end, but for a re-execution
		}
	}()
	if m.opt.TmpfilesSetup {
		m.tmpfilesSetup()
	}
	// systemd's D-Bus API answers before the boot: a unit's systemctl (the user dbus.socket's
	// ExecStartPost=) must find it, or it falls back to a bus that cannot start yet.
	defer m.startDBus()()
	// Boot before the control socket appears: sockets without control commands are then
	// listening by the time a client can see the manager.
	m.boot()
	m.afterEvent()
	srv, err := control.Listen(m.opt.ControlPath, m.handleRequest, m.consolef)
	if err != nil {
		return err
	}
	m.logGroupNames, srv.LogGroups = logGroups(m.opt.Scope)
	m.api = srv
	go srv.Serve()
	defer func() {
		srv.Close()
		// The requests answered as the manager quit (flint exit --force, a start whose
		// unit's SuccessAction= ended it) get their replies out.
		srv.Drain(time.Second)
	}()

	pollEvents := make(chan uint64, 256)
	go m.poller.Run(pollEvents)
	notes := make(chan *notify.Message, 256)
	go m.notify.Run(notes)
	defer m.notify.Close()
	defer m.poller.Close()
	defer m.dropMainWatches()
	defer m.wall.close()

	for {
		// The log pipes of the services started while handling the last event get their
		// readers now, all at once, rather than a goroutine each in the middle of spawning.
		m.logs.StartReaders()
		m.console.release()
		m.scheduleState() // the boot's changes, then each event's
		if !m.cg.booted {
			m.cgroupStartupFinished() // cgroup_startup.go
		}
		if m.releaseMemory && len(m.jobs) == 0 {
			// Loading units leaves garbage several times their size; once the boot (or a
			// reload) has settled, collect it and give the pages back, so that an idle manager
			// holds what its units need rather than the peak of reading them. The collector's
			// pacing stays Go's default (GOGC=100, no memory limit): its work per byte
			// allocated then does not depend on the live heap, so an activation costs the
			// same among 10 units as among 10,000; a fixed headroom (a memory limit, or a
			// GOGC scaled down with the heap) would mark the whole live heap every few
			// megabytes, work that grows with the units loaded, and near a limit a PID 1
			// would spend its CPU collecting instead of failing an allocation.
			m.releaseMemory = false
			m.writeState() // the state file of the settled boot first: its garbage goes too
			debug.FreeOSMemory()
		}
		// Status lines printed while an event is handled go out together at the next
		// release (held only while handling: lines of other goroutines while the loop waits
		// go out at once).
		select {
		case fn := <-m.loop:
			m.console.hold()
			fn()
		case key := <-pollEvents:
			m.console.hold()
			m.socketReady(key)
		case msg := <-notes:
			m.console.hold()
			m.handleNotify(msg)
		case s := <-sigs:
			m.console.hold()
			switch s {
			case syscall.SIGCHLD:
				m.reap()
			case syscall.SIGHUP:
				m.daemonReload()
			default:
				m.consolef("Received %s, stopping all units.", unix.SignalName(s.(syscall.Signal)))
				m.shutdown()
			}
		case <-ctx.Done():
			m.shutdown()
			ctx = context.Background()
		case <-m.quit:
			m.reap()
			clean = true
			return nil
		}
		if m.dispatchPending {
			m.dispatch()
		}
		m.afterEvent()
		if m.gcPending {
			m.collectGarbage()
		}
	}
}

// reap collects every exited child; the only place in flint that waits for processes. Each
// exited child is first looked at without being reaped, and the orphans it left are placed
// while it still holds its pid and session (tracking.go).
func (m *Manager) reap() {
	for {
		pid := peekExited()
		if pid <= 0 {
			if m.shuttingDown {
				// The last process of a stopped unit may go after its state change (a control
				// command killed by a stop): shutdown completes here then.
				m.checkShutdownDone()
			}
			return
		}
		m.adoptOrphans(pid)
		end := bootTick()
		var comm string
		if m.journalSrv != nil {
			// A zombie keeps its command name; the journal may still need it (reapedNotes).
			if b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm"); err == nil {
				comm = strings.TrimSuffix(string(b), "\n")
			}
		}
		var ws syscall.WaitStatus
		var ru syscall.Rusage
		if got, err := syscall.Wait4(pid, &ws, syscall.WNOHANG, &ru); got != pid || err != nil {
			continue
		}
		adoptedBy := m.reaped(pid, end)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		p, ok := m.procs[pid]
		if ok && p.u != nil {
			m.noteReaped(pid, p.u, comm)
		} else if adoptedBy != nil {
			m.noteReaped(pid, adoptedBy, comm)
		}
		if !ok {
			if adoptedBy != nil {
				adoptedBy.hist().wex().cpu += cpu
			}
			m.stateReaped(pid, adoptedBy)
			m.orphanExited(pid, ws) // reparented to us (child subreaper)
			if adoptedBy != nil {
				m.gcEnqueue(adoptedBy)
				m.processGone(adoptedBy)
			}
			continue
		}
		delete(m.procs, pid)
		m.stateReaped(pid, p.u)
		if p.kind != "adopted" {
			utmpExited(p.u, pid, ws) // UtmpIdentifier= (utmp.go)
		}
		if p.u != nil {
			p.u.hist().wex().cpu += cpu
			m.gcEnqueue(p.u) // its last process may have gone
		}
		// What it wrote before it exited comes before what the manager says of its exit.
		m.logs.Sync(pid)
		if p.sp != nil && p.u != nil {
			if err := p.sp.ExecResult(); err != nil {
				var ee *spawn.ExecError
				switch {
				case errors.As(err, &ee) && ee.Status == 0:
					// a '-' command (spawn.Config.SkipMissing), as systemd's exec_child says it
					m.logUnit(p.u, "Executable %s missing, skipping: %s", p.path, unit.Strerror(ee.Err))
				case errors.As(err, &ee):
					m.logSpawnFailed(p.u, pid, p.path, spawn.ExitStatusName(ee.Status), ee.Err)
				default:
					m.logUnit(p.u, "Failed to execute %s: %v", p.path, err)
				}
			}
		}
		if p.onExit != nil {
			p.onExit(ws)
		} else if p.kind == "adopted" && p.u != nil {
			m.processGone(p.u)
		}
		for _, w := range p.watchers {
			if w.isService() && w.svcState().mainPID == pid {
				m.mainExitHandler(w, pid)(ws)
			}
		}
	}
}

// peekExited returns the pid of an exited child without reaping it (waitid with WNOWAIT), 0
// if none has exited.
func peekExited() int {
	var si unix.Siginfo
	for {
		err := unix.Waitid(unix.P_ALL, 0, &si, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0
		}
		break
	}
	// si_pid follows si_signo, si_errno and si_code in the union, aligned as a pointer.
	off := (unsafe.Offsetof(si.Code) + 4 + unsafe.Sizeof(uintptr(0)) - 1) &^ (unsafe.Sizeof(uintptr(0)) - 1)
	return int(*(*int32)(unsafe.Add(unsafe.Pointer(&si), off)))
}

// consolef prints one systemd-style status line.
func (m *Manager) consolef(format string, a ...any) {
	m.console.printf(format, a...)
}

// newInvocationID is 128 random bits in hex, as systemd's sd_id128_randomize. getrandom(2)
// directly: crypto/rand would link (and initialise, in every flint command) Go's whole
// FIPS 140 module for these 16 bytes.
func newInvocationID() string {
	var b [16]byte
	for n := 0; n < len(b); {
		k, err := unix.Getrandom(b[n:], 0)
		if err != nil && err != unix.EINTR {
			break // cannot happen on Linux >= 3.17 (getrandom blocks only until boot seeding)
		}
		n += max(k, 0)
	}
	return hex.EncodeToString(b[:])
}
