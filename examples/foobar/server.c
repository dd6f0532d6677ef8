/* foobard: the classic socket-activation example.
 *
 * flint (or systemd) creates the listening unix socket of foobar.socket and starts this
 * program on the first connection, handing the socket over as fd 3 (SD_LISTEN_FDS_START)
 * with LISTEN_FDS=1 and LISTEN_PID=<our pid>. We check that, then accept connections one
 * after the other and echo every byte back until the client closes. Logs go to stderr.
 *
 * Build: gcc -O2 -o foobard server.c -lsystemd
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

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
        if (n < 0) {
                fprintf(stderr, "foobard: sd_listen_fds: %s\n", strerror(-n));
                return 1;
        }
        if (n != 1) {
                fprintf(stderr, "foobard: expected 1 socket from the service manager, got %d\n", n);
                return 1;
        }
        int fd = SD_LISTEN_FDS_START;
        int r = sd_is_socket(fd, AF_UNIX, SOCK_STREAM, 1);
        if (r < 0) {
                fprintf(stderr, "foobard: sd_is_socket: %s\n", strerror(-r));
                return 1;
        }
        if (r == 0) {
                fprintf(stderr, "foobard: fd %d is not a listening unix stream socket\n", fd);
                return 1;
        }
        /* A client that goes away mid-echo must not kill the daemon. */
        signal(SIGPIPE, SIG_IGN);
        fprintf(stderr, "foobard: pid %d serving on fd %d\n", (int)getpid(), fd);
        sd_notify(0, "READY=1");

        for (unsigned long served = 1;; served++) {
                int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
                if (c < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        fprintf(stderr, "foobard: accept: %s\n", strerror(errno));
                        return 1;
                }
                r = echo_connection(c);
                if (r < 0)
                        fprintf(stderr, "foobard: connection %lu: %s\n", served, strerror(-r));
                else
                        fprintf(stderr, "foobard: connection %lu done\n", served);
                close(c);
        }
}
