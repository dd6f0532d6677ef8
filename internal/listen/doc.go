// Package listen turns the Listen*= entries of a socket unit into open file descriptors,
// the way systemd's socket units create them (systemd.socket(5)): unix sockets in the file
// system and in the abstract namespace, IPv4, IPv6 and dual-stack ports, vsock, netlink,
// FIFOs, special files and POSIX message queues, with the [Socket] options applied.
//
// It also accepts connections for Accept=yes sockets (Socket.Accept, InstanceName) and
// watches readiness with a one-shot epoll set (Poller).
//
// Ownership: every descriptor this package creates is close-on-exec. A Socket owns its
// File; the manager keeps the Socket for the unit's whole life and hands dups to services.
// A Conn's File belongs to the caller of Accept.
package listen
