// Package spawn starts service processes for the manager: standard streams and passed fds
// (exactly fds 0-2 and 3..n, nothing else), environment, working directory, credentials,
// resource limits, umask, nice, OOM score, session, and LISTEN_PID.
//
// # LISTEN_PID
//
// sd_listen_fds(3) accepts the passed sockets only when LISTEN_PID equals getpid(), and the pid
// is not known before fork. Go cannot run code between fork and execve, so Start forks a shim
// that keeps the pid: it applies the settings, writes its own pid into a slot reserved in the
// environment, and execs the service. The settings travel as a small program of raw system
// calls (program.go) over a socketpair, which also carries the failure report back; the final
// execve closes it, so EOF means success. Each failing step has systemd's exit status (203/EXEC
// for a missing or non-executable binary, 200/CHDIR, 217/USER, ...), reported as *ExecError and
// used as the shim's exit status.
//
// Two shims run the same program:
//   - on linux/amd64, a 351-byte static ELF written in machine code (testdata/nativeshim.S),
//     executed from a sealed memfd; its exec is about as cheap as an exec gets;
//   - elsewhere, or when the kernel refuses to run a memfd, flint itself re-executed as
//     `flint __spawn FD` (ShimMain), as runc does with `runc init`.
//
// # Cost
//
// BenchmarkStart starts /bin/echo and times the first byte it writes (the shape of a
// socket-activated service answering its first client), against syscall.ForkExec of /bin/echo
// alone, which is what systemd-socket-activate pays (one fork, one exec). Medians on the
// development VM (2 vCPUs, load average 5-7 from other builds, so only the ratios mean much):
//
//	ForkExec /bin/echo directly        2.0-2.8 ms
//	Start, native shim                 3.3-3.8 ms   (+~1 ms: one exec of a 351-byte static ELF)
//	Start, Go shim (flint re-exec)      14-17 ms    (Go runtime start-up of a large binary)
//
// The native shim's ops themselves (70 raw syscalls, mostly resetting signal dispositions) are
// lost in the noise: removing the signal resets changed nothing measurable. What remains is the
// price of a second execve, which on this VM is most of a process start; with a real service the
// ratio shrinks as the service's own start-up dominates.
//
// # Ownership
//
// Start never waits for children: the manager alone reaps (wait4(-1) on SIGCHLD). The files in a
// Config stay the caller's; Start does not close them or change their blocking mode.
package spawn
