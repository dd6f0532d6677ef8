package manager

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/flint-init/flint/internal/listen"
	"github.com/flint-init/flint/unit"
)

// socketRT is the runtime state of a socket unit.
// One for each socket unit started: its small fields are packed (128 bytes, TestUnitSize).
type socketRT struct {
	socks []openSocket // open while the unit is active; owned here
	// NAccepted=, NRefused= and NConnections= (systemd's are unsigned, 32 bits, too)
	nAccepted, nRefused uint32
	nConnections        int32
	// controlResult is how the last control process that failed ended (exit-code, signal,
	// core-dump; resources when it could not be spawned).
	controlResult Result
	perSource     map[string]int
	triggerLimit  rateLimit // TriggerLimitIntervalSec=/TriggerLimitBurst=; never reset, as in systemd
	controlPID    int
	queue         []unit.ExecCommand // remaining control commands of the current phase
	next          func(ok bool)      // continuation when the control queue ends
	triggered     string             // service it last started
}

// openSocket is one open socket of a socket unit, with its key in the manager's poller
// and whether the poller watches it now.
type openSocket struct {
	*listen.Socket
	key   uint64
	armed bool
}

// sockStart runs ExecStartPre, opens every Listen*= socket, runs ExecStartPost, then listens.
// As systemd's socket_enter_*: a failing ExecStartPre= fails the socket at once; a failure
// once the sockets are to be opened stops it as a stop does (ExecStopPre=, ExecStopPost=).
func (m socketMachine) sockStart(u *Unit) {
	cfg := u.cfg.Socket
	if why := m.sockServiceBusy(u); why != "" {
		// systemd's socket_start refuses (the job fails, the unit's state stays).
		m.logUnit(u, "%s", why)
		if u.job != nil {
			m.finishJob(u.job, "failed")
		}
		return
	}
	u.result = resultSuccess
	u.hist().invocationID = newInvocationID()
	u.hist().resetRuns()
	m.setState(u, sockStartPre)
	m.runControl(u, cfg.ExecStartPre, sockStartPre, func(ok bool) {
		if !ok {
			m.sockEnterFailed(u, u.sock.controlResult)
			return
		}
		if err := m.sockOpen(u); err != nil {
			m.consolef("[FAILED] Failed to listen on %s: %v", describe(u), err)
			m.logUnit(u, "Failed to listen: %v", err)
			m.sockEnterStopPre(u, resultResources)
			return
		}
		m.setState(u, sockStartPost)
		m.runControl(u, cfg.ExecStartPost, sockStartPost, func(ok bool) {
			if !ok {
				m.sockEnterStopPre(u, u.sock.controlResult)
				return
			}
			m.consolef("[  OK  ] Listening on %s.", describe(u))
			m.sockEnterListening(u)
		})
	})
}

// sockServiceBusy says why u cannot start now, "" if it can: an Accept=no socket needs its
// service loaded and not running (systemd's socket_start: dead, failed or waiting to
// restart), as the service would not get the new sockets.
func (m socketMachine) sockServiceBusy(u *Unit) string {
	if u.cfg.Socket.Accept {
		return ""
	}
	svc := m.load(u.cfg.SocketService())
	switch {
	case !svc.loaded():
		return "Socket service " + svc.Name + " not loaded, refusing."
	case svc.isService() && svc.sub != svcDead && svc.sub != svcFailed && svc.sub != svcAutoRestart:
		return "Socket service " + svc.Name + " already active, refusing."
	}
	return ""
}

// sockOpen opens all of u's sockets; on any failure it closes those already open.
func (m socketMachine) sockOpen(u *Unit) error {
	s := u.sock
	cfg := u.cfg.Socket
	if len(s.socks) > 0 {
		return nil // kept across daemon-reload
	}
	m.stateChanged(u)
	leave, err := m.socketCgroup(u) // made in the unit's cgroup for its IP and bind filters (bpf.go)
	if err != nil {
		return err
	}
	defer leave()
	for i := range cfg.Listen {
		// The Socket keeps the configuration's own Listen: after a daemon-reload that
		// changed it, the old configuration stays with the socket until it closes.
		ls, err := listen.OpenSpec(&cfg.Listen[i], cfg)
		if err != nil {
			m.sockClose(u)
			return err
		}
		s.socks = append(s.socks, openSocket{Socket: ls, key: m.pollKey(u, len(s.socks))})
	}
	return nil
}

// sockClose closes u's sockets (RemoveOnStop removes their files).
func (m socketMachine) sockClose(u *Unit) {
	s := u.sock
	for _, ls := range s.socks {
		if ls.armed {
			m.poll().Remove(ls.Fd())
		}
		m.pollForget(ls.key)
		if err := ls.Close(u.cfg.Socket); err != nil {
			m.logUnit(u, "close: %v", err)
		}
	}
	s.socks = nil
	m.stateChanged(u)
}

// sockEnterListening watches every socket for readiness. With FlushPending=yes (Accept=no)
// it first drops what is pending.
func (m socketMachine) sockEnterListening(u *Unit) {
	s := u.sock
	if u.cfg.Socket.FlushPending && !u.cfg.Socket.Accept {
		for _, ls := range s.socks {
			if err := ls.Flush(); err != nil {
				m.logUnit(u, "%v", err)
			}
		}
	}
	for i, ls := range s.socks {
		if ls.armed {
			continue
		}
		err := m.poll().Add(ls.Fd(), ls.key)
		if err != nil && errors.Is(err, syscall.EEXIST) {
			err = m.poll().Rearm(ls.Fd(), ls.key)
		}
		if err != nil {
			m.logUnit(u, "watch %s: %v", ls.Spec.Raw, err)
			continue
		}
		s.socks[i].armed = true
	}
	m.setState(u, sockListening)
}

// sockDisarm stops watching (the service owns the sockets while it runs).
func (m socketMachine) sockDisarm(u *Unit) {
	s := u.sock
	for i, ls := range s.socks {
		if ls.armed {
			m.poll().Remove(ls.Fd())
			s.socks[i].armed = false
		}
	}
}

func (m socketMachine) sockEnterFailed(u *Unit, result Result) {
	u.setResult(result)
	m.sockDisarm(u)
	m.sockClose(u)
	m.logUnitResult(u)
	m.setState(u, sockFailed)
}

// sockStop stops u (a stop job): see sockEnterStopPre. A stop already under way goes on.
func (m socketMachine) sockStop(u *Unit) {
	if u.sub == sockStopPre || u.sub == sockStopPost {
		return
	}
	if s := u.sock; s.controlPID != 0 {
		m.killProcess(s.controlPID, syscall.SIGTERM)
	}
	m.sockEnterStopPre(u, resultSuccess)
}

// sockEnterStopPre runs ExecStopPre, closes the sockets, runs ExecStopPost, and ends dead, or
// failed when u failed: result (the reason of the stop, "success" for a stop job) or a failing
// stop command. The first failure stays the unit's result.
func (m socketMachine) sockEnterStopPre(u *Unit, result Result) {
	cfg := u.cfg.Socket
	u.setResult(result)
	m.sockDisarm(u)
	m.setState(u, sockStopPre)
	m.runControl(u, cfg.ExecStopPre, sockStopPre, func(ok bool) {
		if !ok {
			u.setResult(u.sock.controlResult)
		}
		m.sockDisarm(u)
		m.sockClose(u)
		m.setState(u, sockStopPost)
		m.runControl(u, cfg.ExecStopPost, sockStopPost, func(ok bool) {
			if !ok {
				u.setResult(u.sock.controlResult)
			}
			m.consolef("[  OK  ] Closed %s.", describe(u))
			m.logUnitResult(u)
			if u.result != resultSuccess {
				m.setState(u, sockFailed)
			} else {
				m.setState(u, sockDead)
			}
		})
	})
}

// ready: socket idx of u is readable.
func (m socketMachine) ready(u *Unit, idx int) {
	s := u.sock
	if idx >= len(s.socks) {
		return
	}
	s.socks[idx].armed = false
	if u.sub != sockListening {
		return
	}
	cfg := u.cfg.Socket
	if cfg.Accept && isStreamish(*s.socks[idx].Spec) {
		m.acceptConnections(u, idx) // counts triggers per connection
		return
	}
	if m.triggerLimitHit(u) {
		m.triggerLimitFail(u)
		return
	}
	// Accept=no: start the service once and hand it every socket.
	svcName := u.cfg.SocketService()
	svc := m.load(svcName)
	if !svc.loaded() {
		m.logUnit(u, "Service %s not loaded, refusing.", svcName)
		m.sockEnterStopPre(u, resultResources)
		return
	}
	st := svc.activeState()
	if !isInactiveOrFailed(st) && svc.job == nil {
		// Already running or starting: it owns the sockets.
		m.setState(u, sockRunning)
		return
	}
	s.triggered = svc.Name
	m.sockDisarm(u)
	m.setState(u, sockRunning)
	svc.service().triggeredBy = u.Name
	m.logUnit(svc, "Triggered by %s (connection on %s).", u.Name, s.socks[idx].Spec.Raw)
	m.enqueue("start", svc, "replace", func(result string) {
		if result != "done" && result != "canceled" {
			m.logUnit(u, "Failed to start %s: %s", svc.Name, result)
		}
	})
}

// triggerLimitFail stops u, which ends failed with trigger-limit-hit.
func (m socketMachine) triggerLimitFail(u *Unit) {
	m.consolef("%s: Trigger limit hit, refusing further activation.", u.Name)
	m.logUnit(u, "Trigger limit hit, refusing further activation.")
	m.sockEnterStopPre(u, resultTriggerLimitHit)
}

func isStreamish(l unit.Listen) bool {
	return l.Kind == unit.ListenStream || l.Kind == unit.ListenSequentialPacket
}

// triggerLimitHit records one trigger and reports whether TriggerLimitBurst= was exceeded
// within TriggerLimitIntervalSec=.
func (m socketMachine) triggerLimitHit(u *Unit) bool {
	cfg := u.cfg.Socket
	return !u.sock.triggerLimit.below(cfg.TriggerLimitInterval, cfg.TriggerLimitBurst, m.sys().now())
}

// socketServiceStopped: the service that owned the sockets stopped; listen again (pending
// connections then trigger a new start at once), or fail if the service hit its start limit.
func (m socketMachine) socketServiceStopped(sock *Unit, svc *Unit) {
	if sock.sock == nil || sock.cfg.Socket.Accept {
		return
	}
	if sock.mo().cooldown != nil {
		m.cooldownDue(sock) // a cooldown that ended while the service ran
		return
	}
	if sock.sub != sockRunning && sock.sub != sockListening {
		return
	}
	if svc.isService() && svc.svcState().limitHit {
		m.consolef("%s: Failed with result 'service-start-limit-hit'.", sock.Name)
		m.logUnit(sock, "Failed with result 'service-start-limit-hit'.")
		m.sockEnterStopPre(sock, resultServiceStartLimitHit)
		return
	}
	// As systemd's socket_trigger_notify, nothing while the service has a job (the start half
	// of a restart); and the service may have started again meanwhile (its stop finished a
	// job, which ran the next ones before this is called).
	if svc.job != nil || !isInactiveOrFailed(svc.activeState()) {
		return
	}
	if sock.sub == sockRunning {
		m.sockEnterListening(sock)
	}
}

// socketServiceRunning: a service that sock activates runs (started by hand, or before sock
// listened): it owns sock's sockets, which are no longer watched (systemd's
// socket_trigger_notify).
func (m socketMachine) socketServiceRunning(sock *Unit) {
	if sock.sock == nil || sock.cfg.Socket.Accept || sock.sub != sockListening {
		return
	}
	m.sockDisarm(sock)
	m.setState(sock, sockRunning)
}

// acceptConnections accepts every pending connection on socket idx of u and starts one
// service instance per connection (Accept=yes).
func (m socketMachine) acceptConnections(u *Unit, idx int) {
	s := u.sock
	cfg := u.cfg.Socket
	ls := s.socks[idx]
	defer func() {
		if u.sub == sockListening && idx < len(s.socks) && !s.socks[idx].armed {
			if err := m.poll().Rearm(ls.Fd(), s.socks[idx].key); err == nil {
				s.socks[idx].armed = true
			}
		}
	}()
	for n := 0; n < 64; n++ {
		c, err := ls.Accept()
		if err != nil {
			if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) {
				return
			}
			if acceptAgain(err) {
				continue
			}
			// As systemd's socket_dispatch_io: any other error (EMFILE, ENFILE, ENOBUFS,
			// ENOMEM) fails the socket with Result=resources. Re-arming it instead would wake
			// the loop again at once, for as long as the condition lasts.
			m.consolef("%s: Failed to accept socket: %s", u.Name, unit.Strerror(err))
			m.logUnit(u, "Failed to accept socket: %s", unit.Strerror(err))
			m.sockEnterStopPre(u, resultResources)
			return
		}
		// As systemd, every connection counts against TriggerLimit*=, refused ones too; the
		// one that hits the limit is refused.
		if m.triggerLimitHit(u) {
			c.File.Close()
			s.nRefused++
			m.triggerLimitFail(u)
			return
		}
		if cfg.MaxConnections > 0 && int(s.nConnections) >= cfg.MaxConnections {
			m.logUnit(u, "Too many incoming connections (%d), dropping connection.", s.nConnections)
			s.nRefused++
			c.File.Close()
			continue
		}
		if cfg.MaxConnectionsPerSource > 0 && c.SourceKey != "" {
			if s.perSource == nil {
				s.perSource = map[string]int{}
			}
			if s.perSource[c.SourceKey] >= cfg.MaxConnectionsPerSource {
				m.logUnit(u, "Too many incoming connections (%d) from source %s, dropping connection.", s.perSource[c.SourceKey], c.SourceKey)
				s.nRefused++
				c.File.Close()
				continue
			}
		}
		if !m.startInstance(u, c) {
			return
		}
	}
}

// startInstance creates the per-connection service instance foo@<n>-<local>-<remote>.service.
// An instance that cannot be loaded (its template missing or bad, no fd left to read it)
// fails the socket with Result=resources, as systemd's socket_enter_running does, and
// startInstance reports false.
func (m socketMachine) startInstance(u *Unit, c *listen.Conn) bool {
	s := u.sock
	inst := listen.InstanceName(uint64(s.nAccepted), c)
	s.nAccepted++
	iu, err := m.newInstance(u, inst)
	if err != nil {
		c.File.Close()
		m.logUnit(u, "%v", err)
		m.logUnit(u, "Failed to queue service startup job (Maybe the service file is missing or not a service unit?): %v", err)
		m.sockEnterStopPre(u, resultResources)
		return false
	}
	s.nConnections++
	if c.SourceKey != "" {
		if s.perSource == nil {
			s.perSource = map[string]int{}
		}
		s.perSource[c.SourceKey]++
	}
	iu.service().instanceOf = u
	iu.service().conn = c
	iu.service().triggeredBy = u.Name
	iu.transient = true
	m.enqueue("start", iu, "replace", nil)
	return true
}

// The manager's side of the sockets: the poller's events, the Accept=yes instances it
// registers and unloads, the hand-over of the sockets to a service that starts.

// socketReady handles a readiness event from the poller (the fd is disarmed: one-shot).
func (m *Manager) socketReady(key uint64) {
	ref, ok := m.pollRefs[key]
	if !ok {
		return
	}
	socketMachine{m}.ready(ref.u, ref.idx)
}

// newInstance loads and registers Accept=yes instance inst of socket u's service. The loader
// gives the instance After=/TriggeredBy= its socket and does not cache it (one per
// connection); collectInstance forgets it here.
func (m *Manager) newInstance(u *Unit, inst string) (*Unit, error) {
	cfg, err := m.loader.AcceptInstance(u.cfg, inst)
	if err != nil {
		return nil, fmt.Errorf("Accept=yes: %v", err)
	}
	if cfg.LoadState != unit.Loaded {
		return nil, fmt.Errorf("Failed to load %s: %s", cfg.Name, cfg.LoadError)
	}
	return m.register(cfg.Name, cfg), nil
}

// collectInstance forgets a finished Accept=yes instance and gives its connection slot back.
func (m *Manager) collectInstance(iu *Unit) {
	sock := iu.service().instanceOf
	if sock == nil || iu.job != nil {
		return
	}
	socketMachine{m}.instanceGone(sock, iu)
	m.gcEnqueue(sock) // the instances kept it
	if iu.result != resultSuccess && iu.cfg.Unit.CollectMode != "inactive-or-failed" {
		return // failed instances stay for inspection until reset-failed (CollectMode=inactive)
	}
	m.unload([]*Unit{iu})
}

// instanceGone gives the connection slot of instance iu of u back.
func (socketMachine) instanceGone(sock, iu *Unit) {
	s := sock.sock
	s.nConnections--
	if c := iu.service().conn; c != nil {
		if c.SourceKey != "" && s.perSource != nil {
			s.perSource[c.SourceKey]--
			if s.perSource[c.SourceKey] <= 0 {
				delete(s.perSource, c.SourceKey)
			}
		}
		c.File.Close()
		iu.service().conn = nil
	}
	iu.service().instanceOf = nil
}

// listenFiles returns the listening sockets of every socket unit that activates svc, in
// hand-over order, with their names. They stay the socket units': spawn.Start hands them to
// the child without closing them. Their O_NONBLOCK follows svc's NonBlocking=, set or
// cleared on each hand-over as systemd's flags_fds does (the file description is shared with
// the socket unit, which only polls it).
func (m *Manager) listenFiles(svc *Unit) ([]*os.File, []string) {
	nonBlocking := svc.cfg.Service != nil && svc.cfg.Service.NonBlocking
	var files []*os.File
	var names []string
	for _, su := range m.socketsOf(svc) {
		if su.sock == nil || len(su.sock.socks) == 0 {
			continue
		}
		name := su.cfg.Socket.FileDescriptorName
		if name == "" {
			name = su.Name
		}
		for _, ls := range su.sock.socks {
			f := ls.File() // before NonBlocking=: made while blocking, it stays out of Go's netpoller
			if err := ls.SetNonblock(nonBlocking); err != nil {
				m.logUnit(svc, "Failed to set NonBlocking=: %v", err)
			}
			files = append(files, f)
			names = append(names, name)
		}
		if su.sub == sockListening {
			socketMachine{m}.sockDisarm(su)
			m.setState(su, sockRunning)
		}
	}
	return files, names
}

// acceptAgain reports whether an accept error concerns only the connection being accepted
// (the peer went away, or the network is down for it) or is transient, so that the socket
// goes on listening: systemd's ERRNO_IS_ACCEPT_AGAIN (disconnect errnos, EAGAIN, EINTR,
// EOPNOTSUPP).
func acceptAgain(err error) bool {
	var en syscall.Errno
	if !errors.As(err, &en) {
		return false
	}
	switch en {
	case syscall.EAGAIN, syscall.EINTR, syscall.EOPNOTSUPP,
		syscall.ECONNABORTED, syscall.ECONNREFUSED, syscall.ECONNRESET, syscall.EHOSTDOWN,
		syscall.EHOSTUNREACH, syscall.ENETDOWN, syscall.ENETRESET, syscall.ENETUNREACH,
		syscall.ENONET, syscall.ENOPROTOOPT, syscall.ENOTCONN, syscall.EPIPE, syscall.EPROTO,
		syscall.ESHUTDOWN, syscall.ETIMEDOUT:
		return true
	}
	return false
}
