package unit

// This file is the package's loading contract. The bodies live in load.go (search path,
// fragments, drop-ins, templates, aliases, masking), specifier.go and install.go.

// Scope selects the system or the per-user search path and specifier values.
type Scope int

const (
	System Scope = iota
	User
)

// Expander expands specifiers (%n, %i, ...) in one directive value. It returns an error for
// an unknown specifier; the decoder reports it at the directive's file:line.
type Expander func(value string) (string, error)

// SocketService returns the name of the service a socket unit activates: Service= if set,
// else the socket's prefix with ".service", or "prefix@.service" (the template) with Accept=yes.
func (u *Unit) SocketService() string {
	if u.Socket != nil && u.Socket.service != "" {
		return u.Socket.service
	}
	return u.deriveSocketService()
}

func (u *Unit) deriveSocketService() string {
	if u.Socket == nil {
		return ""
	}
	if u.Socket.Service != "" {
		return u.Socket.Service
	}
	base := u.Name[:len(u.Name)-len(".socket")]
	if u.Socket.Accept {
		// foo.socket -> foo@.service; an instance foo@x.socket -> foo@.service as systemd does
		if i := indexByte(base, '@'); i >= 0 {
			base = base[:i]
		}
		return base + "@.service"
	}
	return base + ".service"
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}
