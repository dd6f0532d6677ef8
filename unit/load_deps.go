package unit

import (
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// finish adds the implicit and default dependencies systemd adds after loading a unit
// (socket_add_extras, service_add_extras, *_add_default_dependencies). Callers hold l.mu.
//
//   - a socket with at least one Accept=no listener: Before= and Triggers= its service
//     (SocketService()); the service gets TriggeredBy= the socket;
//   - a service: TriggeredBy= and After= every socket in the search path that triggers it
//     (the other side of the socket's Before=), and Wants=, After=, TriggeredBy= each unit
//     of its Sockets=; with BusName= and Type=dbus or DefaultDependencies=yes, Requires=
//     and After=dbus.socket;
//   - a timer or a path unit: Before= and Triggers= its unit (Unit=, or the service of its
//     name); that unit gets TriggeredBy= and After= every timer and path unit in the search
//     path that starts it; a path unit RequiresMountsFor= its paths;
//   - a socket RequiresMountsFor= the paths it listens on, a Persistent= timer (system
//     scope) /var/lib/systemd/timers (addMountPaths);
//   - a service, and a socket with commands: the dependencies of its execution settings
//     (addExecDeps: RequiresMountsFor= its directories, After=systemd-tmpfiles-setup.service
//     for PrivateTmp=, After=systemd-journald.socket for journal logging, ...);
//   - every dependency naming an alias is replaced by the unit's real name;
//   - DefaultDependencies=yes, socket: Before=sockets.target; (system scope)
//     Requires= and After=sysinit.target; Conflicts= and Before=shutdown.target;
//   - DefaultDependencies=yes, service: (system scope) Requires= and After=sysinit.target;
//     After=basic.target; Conflicts= and Before=shutdown.target;
//   - DefaultDependencies=yes, timer: Before=timers.target; (system scope) Requires= and
//     After=sysinit.target, and with an OnCalendar= value After=time-sync.target and
//     time-set.target; Conflicts= and Before=shutdown.target;
//   - DefaultDependencies=yes, path: Before=paths.target; (system scope) Requires= and
//     After=sysinit.target; Conflicts= and Before=shutdown.target;
//   - DefaultDependencies=yes, target: After= each unit it Wants=/Requires=/Requisite=/BindsTo=
//     when that unit is loaded with DefaultDependencies=yes and is not ordered after the
//     target (no loops: neither the target's Before= nor the unit's After=);
//     Conflicts= and Before=shutdown.target.
//
// Accept=yes sockets trigger instances created per connection: the manager links each
// instance to its socket (After=, TriggeredBy=) when it creates it, as systemd does at
// runtime. The mount units of RequiresMountsFor= paths (After=*.mount, Wants=tmp.mount for
// PrivateTmp=) and slices are not added: flint manages neither mounts nor cgroup slices.
func (l *Loader) finish(u *Unit) {
	if u.Unit.implicit {
		return
	}
	u.Unit.implicit = true
	if u.LoadState != Loaded {
		return
	}
	defer shareTriggerLists(u)
	l.resolveAliases(u)
	switch u.Type {
	case TypeSocket:
		if u.Socket != nil && socketHasNonAccept(u.Socket) {
			svc := l.realName(u.SocketService()) // Service= may name an alias
			u.Unit.Before = appendUnique(u.Unit.Before, svc)
			u.Triggers = appendUnique(u.Triggers, svc)
		}
	case TypeService:
		for _, s := range l.triggeringUnits(u, &l.bySocket, l.indexSockets) {
			u.TriggeredBy = appendUnique(u.TriggeredBy, s.Name)
			// the other side of the socket's Before= (systemd shows it once the socket is
			// loaded)
			u.Unit.After = appendUnique(u.Unit.After, s.Name)
		}
		if u.Service != nil && u.Service.BusName != "" && (u.Service.Type == DBus || u.Unit.DefaultDependencies) {
			// a service with a bus name needs the bus: always for Type=dbus, with default
			// dependencies otherwise (systemd 252 as checked by internal/difftest)
			u.Unit.Requires = appendUnique(u.Unit.Requires, "dbus.socket")
			u.Unit.After = appendUnique(u.Unit.After, "dbus.socket")
		}
		if u.Service != nil {
			for _, s := range u.Service.Sockets {
				u.Unit.Wants = appendUnique(u.Unit.Wants, s)
				u.Unit.After = appendUnique(u.Unit.After, s)
				u.TriggeredBy = appendUnique(u.TriggeredBy, s)
			}
		}
	case TypeTimer, TypePath:
		// timer_/path_add_trigger_dependencies, and Unit= (config_parse_trigger_unit):
		// Before= and Triggers= the unit it starts.
		x := l.realName(u.TriggerUnit())
		u.Unit.Before = appendUnique(u.Unit.Before, x)
		u.Triggers = appendUnique(u.Triggers, x)
		if u.Path != nil {
			// path_add_mount_dependencies
			for i := len(u.Path.Specs) - 1; i >= 0; i-- {
				u.Unit.RequiresMountsFor = appendUnique(u.Unit.RequiresMountsFor, u.Path.Specs[i].Path)
			}
		}
	}
	l.addMountPaths(u)
	l.addExecDeps(u)
	if u.Type != TypeTimer && u.Type != TypePath {
		for _, t := range l.triggeringUnits(u, &l.byTrigger, l.indexTriggers) {
			u.TriggeredBy = appendUnique(u.TriggeredBy, t.Name)
			u.Unit.After = appendUnique(u.Unit.After, t.Name) // its Before=
		}
	}
	if !u.Unit.DefaultDependencies {
		return
	}
	switch u.Type {
	case TypeSocket:
		u.Unit.Before = appendUnique(u.Unit.Before, "sockets.target")
		l.addSysinit(u)
		addShutdown(u)
	case TypeService:
		l.addSysinit(u)
		u.Unit.After = appendUnique(u.Unit.After, "basic.target")
		addShutdown(u)
	case TypeTimer:
		// timer_add_default_dependencies
		u.Unit.Before = appendUnique(u.Unit.Before, "timers.target")
		l.addSysinit(u)
		if l.scope == System {
			for _, v := range u.Timer.Values {
				if v.Base == OnCalendar {
					u.Unit.After = appendUnique(u.Unit.After, "time-sync.target", "time-set.target")
					break
				}
			}
		}
		addShutdown(u)
	case TypePath:
		// path_add_default_dependencies
		u.Unit.Before = appendUnique(u.Unit.Before, "paths.target")
		l.addSysinit(u)
		addShutdown(u)
	case TypeTarget:
		for _, list := range [][]string{u.Unit.Requires, u.Unit.Requisite, u.Unit.Wants, u.Unit.BindsTo} {
			for _, n := range list {
				if contains(u.Unit.Before, n) {
					continue // no loops
				}
				o := l.base(n)
				if o.LoadState != Loaded || !o.Unit.DefaultDependencies {
					continue // both must be loaded and want default dependencies
				}
				if l.orderedAfter(o, u) {
					continue // no loops: the unit is already ordered after the target
				}
				u.Unit.After = appendUnique(u.Unit.After, n)
			}
		}
		addShutdown(u)
	case TypeSlice:
		addShutdown(u) // slice_add_default_dependencies
	}
}

// shareTriggerLists makes Triggers= the first names of Before= and TriggeredBy= the first of
// After= when they hold the same names (a socket and its service: Before= and Triggers= the
// service, After= and TriggeredBy= the socket): one array instead of two. Both are only
// appended to (appendUnique), and a full slice makes an append copy.
func shareTriggerLists(u *Unit) {
	if n := len(u.Triggers); n > 0 && n <= len(u.Unit.Before) && slices.Equal(u.Triggers, u.Unit.Before[:n]) {
		u.Triggers = u.Unit.Before[:n:n]
	}
	if n := len(u.TriggeredBy); n > 0 && n <= len(u.Unit.After) && slices.Equal(u.TriggeredBy, u.Unit.After[:n]) {
		u.TriggeredBy = u.Unit.After[:n:n]
	}
}

// orderedAfter reports whether o is ordered after target t by its own configuration or by
// its default dependencies (a service or socket with DefaultDependencies=yes is After=
// sysinit.target in the system scope; a service After=basic.target).
func (l *Loader) orderedAfter(o, t *Unit) bool {
	for _, n := range t.Names {
		if contains(o.Unit.After, n) {
			return true
		}
	}
	if !o.Unit.DefaultDependencies {
		return false
	}
	switch o.Type {
	case TypeService:
		return t.Name == "basic.target" || l.scope == System && t.Name == "sysinit.target"
	case TypeSocket, TypeTimer, TypePath:
		return l.scope == System && t.Name == "sysinit.target"
	}
	return false
}

// resolveAliases replaces the names of u's dependency lists that are aliases of another
// unit by that unit's name, as systemd shows them (it merges an alias into the unit it
// names when it loads it): After=runlevel3.target reads After=multi-user.target.
func (l *Loader) resolveAliases(u *Unit) {
	x := &u.Unit
	aliased := func(lists ...[]string) bool {
		for _, list := range lists {
			for _, n := range list {
				if l.realName(n) != n {
					return true
				}
			}
		}
		return false
	}
	// the parts that may be shared are copied before a change
	if aliased(x.Requisite, x.BindsTo, x.PartOf, x.Upholds) {
		x.OwnBindings()
	}
	if aliased(x.OnFailure, x.OnSuccess, x.PropagatesReloadTo, x.ReloadPropagatedFrom, x.PropagatesStopTo,
		x.StopPropagatedFrom, x.JoinsNamespaceOf) {
		x.OwnPropagation()
	}
	for _, list := range []*[]string{&x.Wants, &x.Requires, &x.Requisite, &x.BindsTo, &x.PartOf, &x.Upholds,
		&x.Conflicts, &x.Before, &x.After, &x.OnFailure, &x.OnSuccess, &x.PropagatesReloadTo,
		&x.ReloadPropagatedFrom, &x.PropagatesStopTo, &x.StopPropagatedFrom, &x.JoinsNamespaceOf} {
		changed := false
		for _, n := range *list {
			if l.realName(n) != n {
				changed = true
				break
			}
		}
		if !changed {
			continue
		}
		var out []string
		for _, n := range *list {
			out = appendUnique(out, l.realName(n))
		}
		*list = out
	}
}

// realName is the name the unit called name is loaded under (its fragment's name, an
// instance of an aliased template instantiated), without loading it; name itself when it
// has no fragment or is masked. Callers hold l.mu.
func (l *Loader) realName(name string) string {
	if u := l.units[name]; u != nil {
		return u.Name
	}
	frag, _ := l.findFragment(name)
	if frag == "" {
		return name
	}
	id := filepath.Base(frag)
	if id == name {
		return name
	}
	if l.isMask(frag) {
		return name
	}
	if IsTemplate(id) {
		_, inst, _, _ := ParseName(name)
		if inst == "" {
			return name
		}
		n, err := Instantiate(id, inst)
		if err != nil {
			return name
		}
		return n
	}
	return id
}

// addSysinit adds Requires= and After=sysinit.target in the system scope (the default
// dependencies of sockets, services, timers and path units).
func (l *Loader) addSysinit(u *Unit) {
	if l.scope == System {
		u.Unit.Requires = appendUnique(u.Unit.Requires, "sysinit.target")
		u.Unit.After = appendUnique(u.Unit.After, "sysinit.target")
	}
}

func addShutdown(u *Unit) {
	if u.Name == "shutdown.target" {
		return
	}
	u.Unit.Conflicts = appendUnique(u.Unit.Conflicts, "shutdown.target")
	u.Unit.Before = appendUnique(u.Unit.Before, "shutdown.target")
}

// socketHasNonAccept is systemd's have_non_accept_socket: Accept=no, or a listener that is
// not a stream/seqpacket socket (FIFOs, special files, message queues, datagram sockets).
func socketHasNonAccept(s *SocketSection) bool {
	if !s.Accept {
		return true
	}
	for _, p := range s.Listen {
		if p.Kind != ListenStream && p.Kind != ListenSequentialPacket {
			return true
		}
	}
	return false
}

// triggerRef is a triggering unit and its place in the sorted list of its kind.
type triggerRef struct {
	u   *Unit
	pos int
}

// triggerIndex maps a unit name to the units that start it. Most names have one (a socket
// and its service): that one is a map value of its own, not a slice.
type triggerIndex struct {
	one  map[string]triggerRef   // the first unit that starts a name
	more map[string][]triggerRef // the others
}

func newTriggerIndex() *triggerIndex {
	return &triggerIndex{one: map[string]triggerRef{}, more: map[string][]triggerRef{}}
}

func (x *triggerIndex) add(name string, r triggerRef) {
	if _, ok := x.one[name]; !ok {
		x.one[name] = r
		return
	}
	x.more[name] = append(x.more[name], r)
}

// refs appends the units that start name to out.
func (x *triggerIndex) refs(name string, out []triggerRef) []triggerRef {
	if r, ok := x.one[name]; ok {
		out = append(out, r)
		out = append(out, x.more[name]...)
	}
	return out
}

// triggeringUnits are the units of an index (bySocket or byTrigger, built by build at the
// first call) that start u under any of its names, in the order of their names.
func (l *Loader) triggeringUnits(u *Unit, index **triggerIndex, build func() *triggerIndex) []*Unit {
	if *index == nil {
		*index = build()
		l.indexBuilds++
	}
	var buf [4]triggerRef
	refs := (*index).refs(u.Name, buf[:0])
	for _, n := range u.Names {
		if n != u.Name {
			refs = (*index).refs(n, refs)
		}
	}
	if len(refs) == 0 {
		return nil
	}
	slices.SortFunc(refs, func(a, b triggerRef) int { return a.pos - b.pos })
	out := make([]*Unit, 0, len(refs))
	for i, r := range refs {
		if i == 0 || r.pos != refs[i-1].pos {
			out = append(out, r.u)
		}
	}
	return out
}

// indexSockets loads every socket of the search path and indexes those with a non-Accept
// listener (which trigger their service) by the service they start.
func (l *Loader) indexSockets() *triggerIndex {
	idx := newTriggerIndex()
	for i, n := range l.socketNames() {
		s := l.base(n)
		if s.LoadState != Loaded || s.Socket == nil || !socketHasNonAccept(s.Socket) {
			continue
		}
		idx.add(s.SocketService(), triggerRef{s, i})
	}
	return idx
}

// indexTriggers loads every timer and path unit of the search path and indexes them by the
// unit they start.
func (l *Loader) indexTriggers() *triggerIndex {
	idx := newTriggerIndex()
	for i, n := range l.triggerNames() {
		t := l.base(n)
		if t.LoadState != Loaded || t.Timer == nil && t.Path == nil {
			continue
		}
		idx.add(t.TriggerUnit(), triggerRef{t, i})
	}
	return idx
}

// socketNames lists the socket unit names of the search path (aliases excluded).
func (l *Loader) socketNames() []string {
	if l.sockets != nil {
		return l.sockets
	}
	out := []string{}
	for n, dst := range l.ids {
		if !strings.HasSuffix(n, ".socket") || IsTemplate(n) {
			continue
		}
		if !strings.HasPrefix(dst, "/") {
			continue // an alias: its target is listed under its own name
		}
		out = append(out, n)
	}
	sort.Strings(out)
	l.sockets = out
	return out
}

// triggerNames lists the timer and path unit names of the search path (aliases and templates
// excluded).
func (l *Loader) triggerNames() []string {
	if l.triggers != nil {
		return l.triggers
	}
	out := []string{}
	for n, dst := range l.ids {
		if (strings.HasSuffix(n, ".timer") || strings.HasSuffix(n, ".path")) && !IsTemplate(n) && strings.HasPrefix(dst, "/") {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	l.triggers = out
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
