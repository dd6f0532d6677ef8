// Package manager is flint's engine. One goroutine (Manager.Run's loop) owns all unit state;
// everything else — the socket poller, the child reaper, the notify receiver, timers and control
// requests — posts closures to it (Manager.post) instead of touching state. Units are explicit
// state machines (socket.go, service.go, target.go) driven by jobs (jobs.go) ordered by
// After=/Before= as systemd orders them.
//
// File descriptors: the manager owns every listening socket for the socket unit's whole life
// (listen.Socket); services receive dups through spawn.Config.ExtraFiles, which the manager
// closes right after the child exists. Accepted connections (Accept=yes) are owned by the
// service instance until it is spawned, then closed in the manager.
package manager
