// Package sdbus serves systemd's D-Bus API (org.freedesktop.systemd1) peer to peer, as
// systemd does on /run/systemd/private: no bus daemon, the client authenticates with SASL
// EXTERNAL and the server checks its credentials (SO_PEERCRED). The wire format is godbus's;
// the connection handling, the object tree's standard interfaces (Peer, Introspectable,
// Properties) and the typing of properties are this package's. What the objects are and what
// their methods do is a Backend's (the manager's).
//
// Interfaces, methods and property types are systemd 252's (systemd1.txt): a property the
// backend does not know is served with its type's zero value, as systemd serves an unset one.
package sdbus
