package unit

import "fmt"

// AcceptInstance loads the service instance that serves one connection of an Accept=yes
// socket: SocketService() of sock (a template such as "foo@.service") instantiated with
// instance (systemd names it "<n>-<local>-<peer>"), with the dependencies systemd adds when
// it creates such an instance: After= and TriggeredBy= the socket. The result is NOT cached
// (every connection has its own name), so the manager owns it and may modify it. An error
// is returned when sock is not an Accept=yes socket or the name is invalid; a template that
// does not exist gives a Unit with LoadState not-found, as Load does.
func (l *Loader) AcceptInstance(sock *Unit, instance string) (*Unit, error) {
	if sock == nil || sock.Socket == nil || !sock.Socket.Accept {
		return nil, fmt.Errorf("accept instance: %v is not an Accept=yes socket", unitName(sock))
	}
	tpl := sock.SocketService()
	name, err := Instantiate(tpl, instance)
	if err != nil {
		return nil, fmt.Errorf("accept instance of %s: %w", sock.Name, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.scan()
	if cached := l.units[name]; cached != nil {
		l.forget(cached, name) // a fresh Unit for the manager; Load will load it again
	}
	u := l.base(name)
	l.finish(u)
	l.forget(u, name)
	if u.LoadState == Loaded {
		u.Unit.After = appendUnique(u.Unit.After, sock.Name)
		u.TriggeredBy = appendUnique(u.TriggeredBy, sock.Name)
	}
	return u, nil
}

func unitName(u *Unit) string {
	if u == nil {
		return "<nil>"
	}
	return u.Name
}

// forget drops u from the cache under all its names and name, the one it was asked for (base
// files a unit under those only). It looks up those keys rather than pass over the cache: an
// Accept=yes connection costs the same however many units are loaded. Callers hold l.mu.
func (l *Loader) forget(u *Unit, name string) {
	drop := func(n string) {
		if l.units[n] == u {
			delete(l.units, n)
		}
	}
	drop(name)
	drop(u.Name)
	for _, n := range u.Names {
		drop(n)
	}
	delete(l.final, u)
	delete(l.sums, u)
}
