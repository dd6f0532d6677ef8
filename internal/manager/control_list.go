package manager

import (
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/flint-init/flint/api"
	"github.com/flint-init/flint/internal/logs"
	"github.com/flint-init/flint/unit"
	"github.com/flint-init/flint/unit/show"
)

// normalizeName adds ".service" to a name without a unit suffix, as systemctl does.
func normalizeName(n string) string {
	for _, suf := range []string{".service", ".socket", ".target", ".timer", ".path", ".mount", ".slice", ".scope", ".device", ".swap", ".automount"} {
		if strings.HasSuffix(n, suf) {
			return n
		}
	}
	return n + ".service"
}

func (m *Manager) matchUnits(patterns []string, all bool) []*Unit {
	var out []*Unit
	seen := map[*Unit]bool{}
	if len(patterns) == 0 {
		for _, u := range m.order {
			if !seen[u] {
				seen[u] = true
				out = append(out, u)
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out
	}
	for _, p := range patterns {
		if strings.ContainsAny(p, "*?[") {
			for _, u := range m.order {
				if ok, _ := filepath.Match(p, u.Name); ok && !seen[u] {
					seen[u] = true
					out = append(out, u)
				}
			}
			continue
		}
		u := m.load(normalizeName(p))
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out
}

// statusOf answers status and show. The log lines of status go only to a peer that may read
// them (readsLogs), or those own accepts (a user's own lines, ownLines); LogsWithheld says
// that the unit has lines the peer does not see.
func (m *Manager) statusOf(req *api.Request, readsLogs bool, own func(*logs.Line) bool) ([]api.UnitStatus, error) {
	units := m.matchUnits(req.Units, req.All)
	var out []api.UnitStatus
	for _, u := range units {
		st := api.UnitStatus{Name: u.Name, Props: m.properties(u)}
		if len(req.Props) > 0 {
			st.Props = filterProps(st.Props, req.Props)
		}
		if req.Verb == "status" {
			n := req.Lines
			if n == 0 {
				n = 10
			}
			if n > 0 {
				// As systemctl status: the last n lines, of them those since the unit last
				// left the inactive state.
				sinceStart := func(lines []logs.Line) []logs.Line {
					if u.hs().inactiveExit.isZero() {
						return lines
					}
					return slices.DeleteFunc(lines, func(l logs.Line) bool { return l.Seq <= u.hs().inactiveExitSeq })
				}
				lines := sinceStart(m.logs.Query([]string{u.Name}, n, time.Time{}))
				if !readsLogs {
					all := lines
					lines = nil
					if own != nil {
						lines = sinceStart(m.logs.Tail(&logs.Filter{Units: []string{logs.ExactPattern(u.Name)}, Sender: own}, n, time.Time{}))
					}
					st.LogsWithheld = slices.ContainsFunc(all, func(l logs.Line) bool { return own == nil || !own(&l) })
				}
				for _, l := range lines {
					st.Logs = append(st.Logs, m.apiLine(&l, false))
				}
			}
			for _, pid := range m.unitPIDs(u) {
				st.Processes = append(st.Processes, api.Process{PID: pid, Command: procCmdline(pid), CGroup: m.cgroupBelow(u, pid)})
			}
		}
		out = append(out, st)
	}
	return out, nil
}

func filterProps(props []api.Property, want []string) []api.Property {
	w := map[string]bool{}
	for _, p := range want {
		for _, x := range strings.Split(p, ",") {
			w[strings.TrimSpace(x)] = true
		}
	}
	var out []api.Property
	for _, p := range props {
		if w[p.Name] {
			out = append(out, p)
		}
	}
	return out
}

// listUnits answers list-units as systemctl filters it: patterns, --type, then --state
// (matching load, active or sub state); without --all and --state only units that are not
// inactive or have a job. Sorted by unit type, then name (case-insensitively).
func (m *Manager) listUnits(req *api.Request) []api.UnitInfo {
	var out []api.UnitInfo
	for _, u := range m.matchUnits(nil, true) {
		if len(req.Units) > 0 && !matchAny(req.Units, u.Name) {
			continue
		}
		st := u.activeState()
		if len(req.Types) > 0 && !contains(req.Types, string(u.cfg.Type)) {
			continue
		}
		if len(req.States) > 0 && !contains(req.States, st.String()) && !contains(req.States, u.sub.String()) && !contains(req.States, string(u.cfg.LoadState)) {
			continue
		}
		if !req.All && len(req.States) == 0 && st == Inactive && u.job == nil {
			continue
		}
		info := api.UnitInfo{Name: u.Name, Load: string(u.cfg.LoadState), Active: st.String(), Sub: u.sub.String(), Description: describe(u)}
		if u.job != nil {
			info.Job = u.job.typ
		}
		out = append(out, info)
	}
	sort.SliceStable(out, func(i, j int) bool {
		ti, tj := unitSuffix(out[i].Name), unitSuffix(out[j].Name)
		if ti != tj {
			return ti < tj
		}
		return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name)
	})
	return out
}

func unitSuffix(n string) string {
	if i := strings.LastIndexByte(n, '.'); i >= 0 {
		return n[i+1:]
	}
	return ""
}

// matchAny reports whether name matches one of the glob patterns (or equals it, completed
// with .service).
func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := filepath.Match(p, name); ok || normalizeName(p) == name {
			return true
		}
	}
	return false
}

// listSockets answers list-sockets: one row per Listen*= of every socket unit that is not
// inactive (all of them with --all), sorted by address as systemctl 252 does. ACTIVATES is
// empty for Accept=yes sockets (they trigger no single unit).
func (m *Manager) listSockets(req *api.Request) []api.SocketInfo {
	var out []api.SocketInfo
	for _, u := range m.matchUnits(nil, true) {
		if u.sock == nil || !u.loaded() {
			continue
		}
		if len(req.Units) > 0 && !matchAny(req.Units, u.Name) {
			continue
		}
		if !req.All && isInactiveOrFailed(u.activeState()) {
			continue
		}
		var act []string
		if !u.cfg.Socket.Accept {
			act = []string{u.cfg.SocketService()}
		}
		for _, l := range u.cfg.Socket.Listen {
			out = append(out, api.SocketInfo{Listen: show.FormatListenAddress(l), Type: listenTypeName(l), Unit: u.Name, Activates: act})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Listen != out[j].Listen {
			return out[i].Listen < out[j].Listen
		}
		return out[i].Type < out[j].Type
	})
	return out
}

// listTimers answers list-timers: every timer unit that is active or failed (all of them with
// --all), the next to elapse first and those without a next elapse last, as systemctl 252.
func (m *Manager) listTimers(req *api.Request) []api.TimerInfo {
	var out []api.TimerInfo
	for _, u := range m.matchUnits(nil, true) {
		if u.mo().tmr == nil || !u.loaded() {
			continue
		}
		if len(req.Units) > 0 && !matchAny(req.Units, u.Name) {
			continue
		}
		if !req.All && u.activeState() == Inactive {
			continue // failed ones are listed, as by systemctl
		}
		out = append(out, api.TimerInfo{Next: u.mo().tmr.nextElapse(), Last: u.mo().tmr.lastTrigger, Unit: u.Name,
			Activates: []string{u.cfg.TimerUnit()}})
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Next, out[j].Next
		if a.IsZero() != b.IsZero() {
			return b.IsZero()
		}
		if !a.Equal(b) {
			return a.Before(b)
		}
		return out[i].Unit < out[j].Unit
	})
	return out
}

// listenTypeName is the type column of list-sockets and the "(Stream)" of Listen=.
func listenTypeName(l unit.Listen) string {
	switch l.Kind {
	case unit.ListenStream:
		return "Stream"
	case unit.ListenDatagram:
		return "Datagram"
	case unit.ListenSequentialPacket:
		return "SequentialPacket"
	case unit.ListenFIFO:
		return "FIFO"
	case unit.ListenSpecial:
		return "Special"
	case unit.ListenNetlink:
		return "Netlink"
	case unit.ListenMessageQueue:
		return "MessageQueue"
	case unit.ListenUSBFunction:
		return "USBFunction"
	}
	return string(l.Kind)
}

// listDependencies walks the dependency tree of a unit (default.target if none) as systemctl
// list-dependencies does: Requires=, Requisite=, Wants=, BindsTo= and the units that are
// PartOf= it (ConsistsOf=), the slice it is in — or, with reverse, the units that have those on it; targets are
// expanded, other units only with --all; each level sorted with targets last.
func (m *Manager) listDependencies(req *api.Request) ([]api.DepNode, error) {
	name := "default.target"
	if len(req.Units) > 0 {
		name = normalizeName(req.Units[0])
	}
	root := m.load(name)
	var out []api.DepNode
	onPath := map[*Unit]bool{}
	var walk func(u *Unit, depth int)
	walk = func(u *Unit, depth int) {
		out = append(out, api.DepNode{Unit: u.Name, Active: u.activeState().String(), Depth: depth})
		if onPath[u] || (depth > 0 && !req.All && u.cfg.Type != unit.TypeTarget) || len(out) > 10000 {
			return
		}
		onPath[u] = true
		defer delete(onPath, u)
		seen := map[string]bool{}
		var deps []*Unit
		add := func(n string) {
			if !seen[n] {
				seen[n] = true
				deps = append(deps, m.load(n))
			}
		}
		if req.Reverse {
			for _, o := range append([]*Unit(nil), m.order...) {
				c := &o.cfg.Unit
				if contains(c.Requires, u.Name) || contains(c.Wants, u.Name) || contains(c.BindsTo, u.Name) || contains(c.Requisite, u.Name) || contains(u.cfg.Unit.PartOf, o.Name) ||
					o.cfg.LoadState == unit.Loaded && o != u && m.sliceOf(o) == u.Name {
					add(o.Name)
				}
			}
		} else {
			c := &u.cfg.Unit
			for _, list := range [][]string{c.Requires, c.Requisite, c.Wants, c.BindsTo} {
				for _, d := range list {
					add(d)
				}
			}
			// the implicit Requires= on the unit's slice (systemd's unit_add_slice_dependencies)
			if s := m.sliceOf(u); s != "" && s != u.Name && u.cfg.LoadState == unit.Loaded {
				add(s)
			}
			for _, o := range append([]*Unit(nil), m.order...) {
				if contains(o.cfg.Unit.PartOf, u.Name) {
					add(o.Name)
				}
			}
		}
		sort.SliceStable(deps, func(i, j int) bool {
			ti, tj := deps[i].cfg.Type == unit.TypeTarget, deps[j].cfg.Type == unit.TypeTarget
			if ti != tj {
				return tj
			}
			return strings.ToLower(deps[i].Name) < strings.ToLower(deps[j].Name) // strcasecmp
		})
		for _, d := range deps {
			walk(d, depth+1)
		}
	}
	walk(root, 0)
	return out, nil
}

func procCmdline(pid int) string {
	data, err := readFileSmall("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.ReplaceAll(string(data), "\x00", " "))
}
