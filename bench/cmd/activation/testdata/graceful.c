/* graceful: foobard (examples/foobar/server.c) with the stop behaviour of a well-written daemon,
 * for the benchmark's restart test. On SIGTERM it stops accepting, finishes the connection it
 * is serving and exits 0; connections still waiting in the listening queue stay there, for the
 * next instance (the service manager keeps its own copy of the socket).
 *
 * Race-free: SIGTERM is blocked except while waiting in ppoll() for the listening socket, and a
 * SIGTERM left pending is collected with sigtimedwait() before each accept, so the signal never
 * lands between a check and a blocking accept(), and a queue that is never empty does not keep
 * the daemon from stopping.
 *
 * Build: gcc -O2 -o graceful graceful.c -lsystemd
 */
#define _GNU_SOURCE /* accept4, ppoll */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

static volatile sig_atomic_t stopping;

static void on_term(int sig) {
        (void)sig;
        stopping = 1;
}

static int echo_connection(int c) {
        char buf[4096];
        for (;;) {
                ssize_t n = read(c, buf, sizeof buf);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return 0;
                for (ssize_t off = 0; off < n;) {
                        ssize_t w = write(c, buf + off, (size_t)(n - off));
                        if (w < 0) {
                                if (errno == EINTR)
                                        continue;
                                return -errno;
                        }
                        off += w;
                }
        }
}

int main(void) {
        int n = sd_listen_fds(0);
        if (n != 1) {
                fprintf(stderr, "graceful: expected 1 socket from the service manager, got %d\n", n);
                return 1;
        }
        int fd = SD_LISTEN_FDS_START;
        if (sd_is_socket(fd, AF_UNIX, SOCK_STREAM, 1) <= 0) {
                fprintf(stderr, "graceful: fd %d is not a listening unix stream socket\n", fd);
                return 1;
        }
        signal(SIGPIPE, SIG_IGN);
        sigset_t term, waitmask;
        sigemptyset(&term);
        sigaddset(&term, SIGTERM);
        sigprocmask(SIG_BLOCK, &term, &waitmask); /* waitmask: the mask without SIGTERM */
        sigdelset(&waitmask, SIGTERM);
        struct sigaction sa = {.sa_handler = on_term}; /* no SA_RESTART */
        sigaction(SIGTERM, &sa, NULL);
        sd_notify(0, "READY=1");

        unsigned long served = 0;
        while (!stopping) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                int r = ppoll(&p, 1, NULL, &waitmask);
                if (r < 0) {
                        if (errno == EINTR)
                                continue; /* SIGTERM: the loop condition ends it */
                        fprintf(stderr, "graceful: ppoll: %s\n", strerror(errno));
                        return 1;
                }
                /* With a connection ready, ppoll returns it and leaves a SIGTERM that came
                 * meanwhile pending (blocked again): take it here, or a busy queue would keep
                 * us serving forever. */
                struct timespec zero = {0, 0};
                if (sigtimedwait(&term, NULL, &zero) == SIGTERM)
                        break;
                /* ppoll said a connection is waiting and we are its only consumer (Accept=no),
                 * so this accept does not block. */
                int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0) {
                        if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                                continue;
                        fprintf(stderr, "graceful: accept: %s\n", strerror(errno));
                        return 1;
                }
                /* Served to the end, SIGTERM or not: an accepted request is always answered. */
                served++;
                r = echo_connection(c);
                if (r < 0)
                        fprintf(stderr, "graceful: connection %lu: %s\n", served, strerror(-r));
                close(c);
        }
        fprintf(stderr, "graceful: SIGTERM, stopped after %lu connections\n", served);
        return 0;
}
