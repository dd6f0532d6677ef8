// Package manager is flint's engine: an event loop, a job engine, and one state machine per
// unit type.
//
// The loop (manager.go): one goroutine, Manager.Run's, owns all unit state; everything else —
// the socket poller, the child reaper, the notify receiver, timers and control requests
// (control*.go) — posts closures to it (Manager.post) instead of touching state.
//
// The job engine: a request (start, stop, restart, isolate ...) becomes a transaction of jobs
// along the dependencies (transaction.go), which run in After=/Before= order (jobs.go) and
// finish when their unit reaches the state they wait for. setState (units.go) is where every
// state change's consequences run: jobs, BindsTo=/OnFailure=/OnSuccess=, sockets going back
// to listening, the timers and path units that start the unit.
//
// The state machines: unitMachine (machine.go) is what the job engine asks of a unit type —
// start, stop, reload — and Manager.machine the one dispatch on the type. Each type's
// transitions are in its files: service.go (start), service_exit.go (the main process
// exits), service_stop.go (stop, the signal states, Restart=), service_timers.go (timeouts),
// notify.go (sd_notify); socket.go; timer.go; path.go; target.go (targets, and the types flint
// takes as present). states.go has each type's sub-states, as a typed enum whose String is
// systemd's word, and its transition table: a change the table forbids is reported as a bug
// (Manager.bug; the package's tests fail on any). results.go has the units' results.
//
// A machine holds a host (host.go), never the *Manager: the one way from a machine into the
// rest of the package — setState, the job engine, logging, unit lookup, timers — which the
// Manager implements; timerHost, socketHost and serviceHost add what only timers, sockets
// and services need (a service's: the process layer of process.go, pidfile.go, tracking.go). The manager's event sources (the reaper, sd_notify, the poller,
// inotify, the clocks) hand their events to the machines.
//
// The machines reach the operating system through system (system.go): spawn (exec.go's
// spawnCommand and internal/spawn), kill, a unit's processes (tracking.go), timers, inotify
// and the clock. Their table tests (service_machine_test.go, socket_machine_test.go,
// timer_machine_test.go, path_machine_test.go) give a fake that records those requests and
// runs no process and no clock.
//
// File descriptors: the manager owns every listening socket for the socket unit's whole life
// (listen.Socket); services receive dups through spawn.Config.ExtraFiles, which the manager
// closes right after the child exists. Accepted connections (Accept=yes) are owned by the
// service instance until it is spawned, then closed in the manager.
package manager
