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
		l.forget(cached) // a fresh Unit for the manager; Load will load it again
	}
	u := l.base(name)
	l.finish(u)
	l.forget(u)
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

// forget drops u from the cache under all its names. Callers hold l.mu.
func (l *Loader) forget(u *Unit) {
	for n, v := range l.units {
		if v == u {
			delete(l.units, n)
		}
	}
	delete(l.final, u)
}
