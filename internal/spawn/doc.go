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
// Three interpreters run that program, the first available is used:
//
//  1. linux/amd64: no helper process at all. vfork_amd64.s clones (clone3, else clone) with
//     CLONE_VM (memory shared until the child's exec, as posix_spawn's vfork) with all signals
//     blocked; the child runs the program in assembly on its own small stack and execs the
//     service. One fork, one exec — the same as systemd-socket-activate. Start returns once
//     the child exists, without CLONE_VFORK's wait for its exec. CLONE_CHILD_CLEARTID has the
//     kernel clear a word (and wake its futex) at the child's exec or exit: until then the
//     program's memory stays the child's; a failing step writes its report next to that word
//     (ExecResult reads it). clone3's CLONE_CLEAR_SIGHAND (Linux 5.5) resets the manager's
//     signal handlers in the child, so the program resets only the ignored signals; with
//     plain clone (older kernels, or a seccomp filter refusing clone3, as container runtimes
//     have) it resets every one.
//  2. linux/amd64 fallback: a static ELF of 403 bytes of machine code (testdata/nativeshim.S)
//     run from a sealed memfd, fed the program over a socketpair that also carries the report
//     (EOF at the final execve means success).
//  3. elsewhere: flint itself re-executed as `flint __spawn FD` (ShimMain, like `runc init`),
//     running the same program with raw syscalls on a locked thread.
//
// A Config with Sandbox set (internal/sandbox's privilege and system call settings, and the
// file-system half's plan) takes none of these: the child is flint re-executed as
// `flint __sandbox FD` (sandbox.go), which runs the same program with Go code at three points
// of it (before the credentials, after setuid, before execve) and execs the service in place.
//
// # Cost
//
// BenchmarkStart starts /bin/echo and times the first byte it writes (the shape of a
// socket-activated service answering its first client), against syscall.ForkExec of /bin/echo
// alone (what systemd-socket-activate pays). Medians on the development VM (2 vCPUs shared with
// other builds, load average 5-14, so only ratios mean much), in ms:
//
//	                    first byte   ratio to ForkExec
//	ForkExec /bin/echo   2.0 - 5.4     1
//	clone (default)      2.0 - 5.6     1.0 - 1.17 (noise)
//	native ELF shim      3.3 - 11      1.4 - 2.4  (a second exec)
//	flint re-exec        14 - 50       7 - 10     (Go runtime start-up of a large binary)
//
// BenchmarkActivateAccept goes end to end over TCP in accept (inetd) mode: connect, then the
// first byte of /bin/echo's answer, served by systemd-socket-activate --inetd -a or by an
// accept loop calling Start. Medians, same VM at load average 13-15, 200 connections each:
//
//	systemd-socket-activate   22 - 31 ms
//	Start, clone              10 - 15 ms
//	Start, native ELF shim    11 - 16 ms
//	Start, flint re-exec      56 - 74 ms
//
// The caller's thread is inside clone only for the clone itself. With CLONE_VFORK (until
// 2026-11-25) it stayed there until the child's exec, 0.3-1 ms on the development VM, during
// which the manager could do nothing else: a target starting 16 services spawned them one
// after another; now their execs overlap (the chain benchmark's 16 starts spread 44 -> 37 ms),
// and a child that hangs before its exec (chdir into a dead NFS mount) holds nobody.
//
// Until 2026-11-25 evening each spawn also made a pipe (to learn of the exec) and two
// goroutines (to wait on it and to log a failure), and the child reset all 62 signal
// dispositions: with the futex word and CLONE_CLEAR_SIGHAND, starting the chain benchmark's
// target (16 sockets, 16 services) makes half the system calls (strace -c of the manager and
// its children: 3577 -> 1843; rt_sigaction 1008 -> 128, close 240 -> 128, futex 143 -> 51), and
// the manager takes 30 % fewer page faults (292 -> 204) and 15 % less CPU (26.5 -> 22.4 ms,
// medians of 15 runs).
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
