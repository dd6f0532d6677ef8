package manager

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/flint-init/flint/internal/sdbus"
	"github.com/flint-init/flint/unit"
)

// This file puts the manager on the system or session bus, as systemd does once its bus runs:
// flint connects as a client, owns org.freedesktop.systemd1 there and serves the same object
// tree as on its private socket. The connection is made on a goroutine of its own and the
// manager goroutine only learns the outcome: the bus daemon may be a service flint itself is
// starting (dbus.service behind dbus.socket), which cannot answer while the manager waits.
//
// When: at the start if there is no dbus.service unit (a bus daemon flint does not run), else
// whenever dbus.service becomes active. A connection that ends (the bus daemon stopped) is made anew
// when dbus.service is active again after having been inactive: not at once, since a connect
// to dbus.socket's listening socket would start the service anew.

// dbusBus is the bus side of dbusState, the manager goroutine's.
type dbusBus struct {
	bus        *sdbus.Bus
	connecting bool
	// waitRestart: the last connection ended while dbus.service was active (or there is no
	// dbus.service): the next one waits until it has been restarted.
	waitRestart bool
}

// busService is the unit of the bus daemon whose state decides when flint connects.
const busService = "dbus.service"

// dbusBusAddress is the D-Bus address of the bus flint owns org.freedesktop.systemd1 on:
// for --user the manager's DBUS_SESSION_BUS_ADDRESS (dbus.socket's ExecStartPost= sets it),
// else $XDG_RUNTIME_DIR/bus; for the system, $DBUS_SYSTEM_BUS_ADDRESS, else the standard
// socket when flint is the booted manager. "" for none.
func (m *Manager) dbusBusAddress() string {
	if m.opt.Scope == unit.User {
		for _, kv := range m.environment().list() {
			if v, ok := strings.CutPrefix(kv, "DBUS_SESSION_BUS_ADDRESS="); ok && v != "" {
				return v
			}
		}
		if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
			return "unix:path=" + filepath.Join(d, "bus")
		}
		return ""
	}
	if a := os.Getenv("DBUS_SYSTEM_BUS_ADDRESS"); a != "" {
		return a
	}
	if m.opt.BootedDir != "" {
		return "unix:path=/run/dbus/system_bus_socket"
	}
	return ""
}

// dbusBusUnitChanged: u changed state; the bus daemon's service decides when to connect.
func (m *Manager) dbusBusUnitChanged(u *Unit) {
	if m.dbus == nil || m.units[busService] != u {
		return
	}
	if u.activeState() != Active {
		m.dbus.link.waitRestart = false
		return
	}
	m.dbusBusCheck()
}

// dbusBusCheck connects to the bus when it should and is not connected.
func (m *Manager) dbusBusCheck() {
	d := m.dbus
	if d == nil || d.link.bus != nil || d.link.connecting || d.link.waitRestart || m.quitting() {
		return
	}
	if u := m.units[busService]; u != nil && u.activeState() != Active {
		return
	} else if u == nil && m.loader.Load(busService).LoadState != unit.NotFound {
		// flint runs the bus daemon: wait until it does (a connection to dbus.socket
		// would start it).
		return
	}
	addr := m.dbusBusAddress()
	if addr == "" {
		return
	}
	d.link.connecting = true
	srv := d.srv
	go func() {
		b, err := srv.ConnectBus(addr)
		m.post(func() {
			d.link.connecting = false
			if err != nil {
				// No bus daemon (yet): quiet; one that does not let flint own the name: said.
				if !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ECONNREFUSED) {
					m.consolef("Failed to connect to the bus %s: %v", addr, err)
				}
				return
			}
			if m.dbus != d || d.closing {
				go b.Close()
				return
			}
			d.link.bus = b
			b.OnNameGone(func(name string) {
				if d.controlsScope(name) {
					m.post(func() { m.scopeControllerGone(name) })
				}
			})
			go func() {
				<-b.Done()
				m.post(func() {
					if d.link.bus != b {
						return
					}
					d.link.bus = nil
					u := m.units[busService]
					d.link.waitRestart = u == nil || u.activeState() == Active
					m.dbusBusCheck()
				})
			}()
		})
	}()
}

// quitting reports whether the manager is on its way out (no new bus connection then).
func (m *Manager) quitting() bool {
	select {
	case <-m.quit:
		return true
	default:
		return false
	}
}
