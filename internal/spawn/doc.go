// Package spawn starts service processes for the manager: standard streams and passed fds
// (exactly fds 0-2 and 3..n, nothing else), environment, working directory, credentials,
// resource limits, umask, nice, OOM score, session, and LISTEN_PID.
//
// # LISTEN_PID
//
// sd_listen_fds(3) accepts the passed sockets only when LISTEN_PID equals getpid(), and the pid
// is not known before fork (nor is that of WATCHDOG_PID and SYSTEMD_EXEC_PID, the same kind of
// variable), while Go runs no code of ours between fork and execve. Every
// setting is therefore compiled into a small program of raw system calls (program.go): dup the
// fds into place, setsid, oom_score_adj, nice, limits, umask, groups/gid/uid, chdir, reset
// signal dispositions and mask, write getpid() into a slot reserved in the environment, execve.
// A failing step reports {systemd exit status, errno, step}: 203/EXEC for a missing or
// non-executable binary, 200/CHDIR, 217/USER, ... (ExecError; the child exits with that status).
// Where systemd's exec_child tolerates a refusal, so does the program: an OOM score the kernel
// refuses for want of privilege is left, a limit or nice level refused so is replaced by the
// closest one allowed (closest.go).
//
// Two interpreters run that program:
//
//  1. linux/amd64: no helper process at all. vfork_amd64.s clones (clone3, else clone) with
//     CLONE_VM (memory shared until the child's exec, as posix_spawn's vfork) with all signals
//     blocked; the child runs the program in assembly on its own small stack and execs the
//     service. One fork, one exec, as systemd-socket-activate. Start returns once the child
//     exists, without CLONE_VFORK's wait for its exec: the caller's thread is inside clone only
//     for the clone itself, so the execs of many services overlap, and a child that hangs
//     before its exec (chdir into a dead NFS mount) holds nobody. CLONE_CHILD_CLEARTID has the
//     kernel clear a word (and wake its futex) at the child's exec or exit: until then the
//     program's memory stays the child's; a failing step writes its report next to that word
//     (ExecResult reads it), so a spawn needs no pipe and no goroutine. clone3's
//     CLONE_CLEAR_SIGHAND (Linux 5.5) resets the manager's signal handlers in the child, so the
//     program resets only the ignored signals; with plain clone (older kernels, or a seccomp
//     filter refusing clone3, as container runtimes have) it resets every one.
//  2. elsewhere: flint itself re-executed as `flint __spawn FD` (ShimMain, like `runc init`),
//     fed the program over a socketpair that also carries the report (EOF at the final execve
//     means success), running it with raw syscalls on a locked thread. It costs a second exec
//     and the Go runtime's start-up; tests run it on amd64 too.
//
// A Config with Sandbox set (internal/sandbox's privilege and system call settings, and the
// file-system half's plan) takes neither: the child is flint re-executed as
// `flint __sandbox FD` (sandbox.go), which runs the same program with Go code at three points
// of it (before the credentials, after setuid, before execve) and execs the service in place.
//
// BenchmarkStart and BenchmarkActivateAccept compare the interpreters with syscall.ForkExec and
// systemd-socket-activate; bench/README.md has the figures.
//
// # Ownership and limits
//
// Start never waits for children: the manager alone reaps (wait4(-1) on SIGCHLD). The files in a
// Config stay the caller's; Start neither closes them nor changes their blocking mode. The Go
// runtime raises its own soft RLIMIT_NOFILE to the hard limit and the vfork path does not undo
// that, so the manager should pass the service's LimitNOFILE= (systemd's default 1024:524288)
// in Config.Rlimits. fds above the passed ones are marked close-on-exec with close_range(2)
// (Linux 5.11); on older kernels only the manager's own close-on-exec discipline protects.
package spawn
