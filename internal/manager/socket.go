package manager

import (
	"errors"
	"os"
	"syscall"
	"time"

	"github.com/flint-init/flint/internal/listen"
	"github.com/flint-init/flint/unit"
)

// socketRT is the runtime state of a socket unit.
type socketRT struct {
	socks        []*listen.Socket // open while the unit is active; owned here
	keys         []uint64         // poller keys, parallel to socks
	armed        []bool
	nAccepted    uint64
	nConnections int
	nRefused     uint64
	perSource    map[string]int
	triggers     []time.Time // recent triggers, for TriggerLimit*
	controlPID   int
	queue        []unit.ExecCommand // remaining control commands of the current phase
	next         func(ok bool)      // continuation when the control queue ends
	triggered    string             // service it last started
}

// sockStart runs ExecStartPre, opens every Listen*= socket, runs ExecStartPost, then listens.
func (m *Manager) sockStart(u *Unit) {
	s := u.sock
	cfg := u.cfg.Socket
	u.result = "success"
	u.invocationID = newInvocationID()
	m.setState(u, "start-pre")
	m.runControl(u, cfg.ExecStartPre, "start-pre", func(ok bool) {
		if !ok {
			m.sockEnterFailed(u, "exit-code")
			return
		}
		if err := m.sockOpen(u); err != nil {
			m.consolef("[FAILED] Failed to listen on %s: %v", describe(u), err)
			m.logUnit(u, "Failed to listen: %v", err)
			m.sockEnterFailed(u, "resources")
			return
		}
		m.setState(u, "start-post")
		m.runControl(u, cfg.ExecStartPost, "start-post", func(ok bool) {
			if !ok {
				m.sockClose(u)
				m.sockEnterFailed(u, "exit-code")
				return
			}
			m.consolef("[  OK  ] Listening on %s.", describe(u))
			m.sockEnterListening(u)
		})
	})
	_ = s
}

// sockOpen opens all of u's sockets; on any failure it closes those already open.
func (m *Manager) sockOpen(u *Unit) error {
	s := u.sock
	cfg := u.cfg.Socket
	if len(s.socks) > 0 {
		return nil // kept across daemon-reload
	}
	for _, l := range cfg.Listen {
		ls, err := listen.Open(l, cfg)
		if err != nil {
			m.sockClose(u)
			return err
		}
		s.socks = append(s.socks, ls)
		m.nextKey++
		s.keys = append(s.keys, m.nextKey)
		s.armed = append(s.armed, false)
		m.pollRefs[m.nextKey] = &pollRef{u: u, idx: len(s.socks) - 1}
	}
	return nil
}

// sockClose closes u's sockets (RemoveOnStop removes their files).
func (m *Manager) sockClose(u *Unit) {
	s := u.sock
	for i, ls := range s.socks {
		if s.armed[i] {
			m.poller.Remove(ls.Fd())
		}
		delete(m.pollRefs, s.keys[i])
		if err := ls.Close(u.cfg.Socket); err != nil {
			m.logUnit(u, "close: %v", err)
		}
	}
	s.socks, s.keys, s.armed = nil, nil, nil
}

// sockEnterListening watches every socket for readiness.
func (m *Manager) sockEnterListening(u *Unit) {
	s := u.sock
	for i, ls := range s.socks {
		if s.armed[i] {
			continue
		}
		var err error
		if i < len(s.armed) {
			err = m.poller.Add(ls.Fd(), s.keys[i])
			if err != nil && errors.Is(err, syscall.EEXIST) {
				err = m.poller.Rearm(ls.Fd(), s.keys[i])
			}
		}
		if err != nil {
			m.logUnit(u, "watch %s: %v", ls.Spec.Raw, err)
			continue
		}
		s.armed[i] = true
	}
	m.setState(u, "listening")
}

// sockDisarm stops watching (the service owns the sockets while it runs).
func (m *Manager) sockDisarm(u *Unit) {
	s := u.sock
	for i, ls := range s.socks {
		if s.armed[i] {
			m.poller.Remove(ls.Fd())
			s.armed[i] = false
		}
	}
}

func (m *Manager) sockEnterFailed(u *Unit, result string) {
	if u.result == "success" {
		u.result = result
	}
	m.sockDisarm(u)
	m.sockClose(u)
	m.setState(u, "failed")
}

// sockStop runs ExecStopPre, closes the sockets, runs ExecStopPost.
func (m *Manager) sockStop(u *Unit) {
	cfg := u.cfg.Socket
	s := u.sock
	if s.controlPID != 0 {
		m.killProcess(s.controlPID, syscall.SIGTERM)
	}
	m.setState(u, "stop-pre")
	m.runControl(u, cfg.ExecStopPre, "stop-pre", func(ok bool) {
		m.sockDisarm(u)
		m.sockClose(u)
		m.setState(u, "stop-post")
		m.runControl(u, cfg.ExecStopPost, "stop-post", func(ok2 bool) {
			m.consolef("[  OK  ] Closed %s.", describe(u))
			if u.result != "success" {
				m.setState(u, "failed")
			} else {
				m.setState(u, "dead")
			}
		})
	})
}

// socketReady handles a readiness event from the poller (the fd is disarmed: one-shot).
func (m *Manager) socketReady(key uint64) {
	ref, ok := m.pollRefs[key]
	if !ok {
		return
	}
	u := ref.u
	s := u.sock
	if ref.idx >= len(s.armed) {
		return
	}
	s.armed[ref.idx] = false
	if u.sub != "listening" {
		return
	}
	cfg := u.cfg.Socket
	if cfg.Accept && isStreamish(s.socks[ref.idx].Spec) {
		m.acceptConnections(u, ref.idx) // counts triggers per connection
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
		m.sockEnterFailed(u, "resources")
		return
	}
	st := svc.activeState()
	if !isInactiveOrFailed(st) && svc.job == nil {
		// Already running or starting: it owns the sockets.
		m.setState(u, "running")
		return
	}
	s.triggered = svc.Name
	m.sockDisarm(u)
	m.setState(u, "running")
	svc.svc.triggeredBy = u.Name
	m.logUnit(svc, "Triggered by %s (connection on %s).", u.Name, s.socks[ref.idx].Spec.Raw)
	m.enqueue("start", svc, "replace", func(result string) {
		if result != "done" && result != "canceled" {
			m.logUnit(u, "Failed to start %s: %s", svc.Name, result)
		}
	})
}

// triggerLimitFail puts u in the failed state with trigger-limit-hit.
func (m *Manager) triggerLimitFail(u *Unit) {
	m.consolef("%s: Trigger limit hit, refusing further activation.", u.Name)
	m.logUnit(u, "Trigger limit hit, refusing further activation.")
	m.sockEnterFailed(u, "trigger-limit-hit")
}

func isStreamish(l unit.Listen) bool {
	return l.Kind == unit.ListenStream || l.Kind == unit.ListenSequentialPacket
}

// triggerLimitHit records one trigger and reports whether TriggerLimitBurst was exceeded
// within TriggerLimitIntervalSec.
func (m *Manager) triggerLimitHit(u *Unit) bool {
	cfg := u.cfg.Socket
	if cfg.TriggerLimitInterval <= 0 || cfg.TriggerLimitBurst <= 0 {
		return false
	}
	now := time.Now()
	s := u.sock
	keep := s.triggers[:0]
	for _, t := range s.triggers {
		if now.Sub(t) < cfg.TriggerLimitInterval {
			keep = append(keep, t)
		}
	}
	s.triggers = append(keep, now)
	return len(s.triggers) > cfg.TriggerLimitBurst
}

// socketServiceStopped: the service that owned the sockets stopped; listen again (pending
// connections then trigger a new start at once), or fail if the service hit its start limit.
func (m *Manager) socketServiceStopped(sock *Unit, svc *Unit) {
	if sock.sock == nil || sock.cfg.Socket.Accept {
		return
	}
	if sock.sub != "running" && sock.sub != "listening" {
		return
	}
	if svc.svc != nil && svc.svc.limitHit {
		m.consolef("%s: Failed with result 'service-start-limit-hit'.", sock.Name)
		m.logUnit(sock, "Failed with result 'service-start-limit-hit'.")
		sock.result = "service-start-limit-hit"
		m.sockEnterFailed(sock, "service-start-limit-hit")
		return
	}
	if sock.sub == "running" {
		m.sockEnterListening(sock)
	}
}

// acceptConnections accepts every pending connection on socket idx of u and starts one
// service instance per connection (Accept=yes).
func (m *Manager) acceptConnections(u *Unit, idx int) {
	s := u.sock
	cfg := u.cfg.Socket
	ls := s.socks[idx]
	defer func() {
		if u.sub == "listening" && idx < len(s.socks) && !s.armed[idx] {
			if err := m.poller.Rearm(ls.Fd(), s.keys[idx]); err == nil {
				s.armed[idx] = true
			}
		}
	}()
	for n := 0; n < 64; n++ {
		c, err := ls.Accept()
		if err != nil {
			if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK) {
				return
			}
			if errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EINTR) {
				continue
			}
			m.logUnit(u, "accept: %v", err)
			return
		}
		// As systemd, every connection counts against TriggerLimit*=, refused ones too.
		if m.triggerLimitHit(u) {
			c.File.Close()
			m.triggerLimitFail(u)
			return
		}
		if cfg.MaxConnections > 0 && s.nConnections >= cfg.MaxConnections {
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
		m.startInstance(u, c)
	}
}

// startInstance creates the per-connection service instance foo@<n>-<local>-<remote>.service.
func (m *Manager) startInstance(u *Unit, c *listen.Conn) {
	s := u.sock
	inst := listen.InstanceName(s.nAccepted, c)
	s.nAccepted++
	// The loader gives the instance After=/TriggeredBy= its socket and does not cache it
	// (one per connection); collectInstance forgets it here.
	cfg, err := m.loader.AcceptInstance(u.cfg, inst)
	if err != nil {
		c.File.Close()
		m.logUnit(u, "Accept=yes: %v", err)
		return
	}
	if cfg.LoadState != unit.Loaded {
		c.File.Close()
		m.logUnit(u, "Failed to load %s: %s", cfg.Name, cfg.LoadError)
		return
	}
	iu := m.register(cfg.Name, cfg)
	s.nConnections++
	if c.SourceKey != "" {
		if s.perSource == nil {
			s.perSource = map[string]int{}
		}
		s.perSource[c.SourceKey]++
	}
	iu.svc.instanceOf = u
	iu.svc.conn = c
	iu.svc.triggeredBy = u.Name
	iu.transient = true
	m.enqueue("start", iu, "replace", nil)
}

// collectInstance forgets a finished Accept=yes instance and gives its connection slot back.
func (m *Manager) collectInstance(iu *Unit) {
	sock := iu.svc.instanceOf
	if sock == nil || iu.job != nil {
		return
	}
	s := sock.sock
	s.nConnections--
	if c := iu.svc.conn; c != nil {
		if c.SourceKey != "" && s.perSource != nil {
			s.perSource[c.SourceKey]--
			if s.perSource[c.SourceKey] <= 0 {
				delete(s.perSource, c.SourceKey)
			}
		}
		c.File.Close()
		iu.svc.conn = nil
	}
	iu.svc.instanceOf = nil
	m.gcEnqueue(sock) // the instances kept it
	if iu.result != "success" && iu.cfg.Unit.CollectMode != "inactive-or-failed" {
		return // failed instances stay for inspection until reset-failed (CollectMode=inactive)
	}
	m.unload([]*Unit{iu})
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
			if err := ls.SetNonblock(nonBlocking); err != nil {
				m.logUnit(svc, "Failed to set NonBlocking=: %v", err)
			}
			files = append(files, ls.File)
			names = append(names, name)
		}
		if su.sub == "listening" {
			m.sockDisarm(su)
			m.setState(su, "running")
		}
	}
	return files, names
}
