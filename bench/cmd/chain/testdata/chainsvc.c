/*
 * chainsvc: the chain benchmark's daemon, the protocol of test/e2e/testdata/chainsvc in C so
 * that an activation hop is not dominated by the Go runtime's start-up.
 *
 *   chainsvc -k K -dir DIR -log FILE [-init 300ms] [-listen]
 *
 * Service K appends "start K <unix-ns>" to FILE, connects to DIR/s<K-1>.sk at once (K > 1),
 * sleeps -init, reads its upstream's answer "<K-1>\n", then serves: every client gets "K\n".
 * With -listen it creates DIR/s<K>.sk itself and sends READY=1 (Type=notify); otherwise it
 * serves the one listening socket handed over (LISTEN_FDS=1, LISTEN_PID its own pid, fd 3).
 * "ready K <unix-ns>" is logged once it can serve.
 *
 * Build: gcc -O2 -o chainsvc chainsvc.c -lsystemd
 * or, without libsystemd and its loader cost (the same protocol, sd_listen_fds and sd_notify
 * written out): gcc -O2 -static -DCHAINSVC_NO_LIBSYSTEMD -o chainsvc chainsvc.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#ifndef CHAINSVC_NO_LIBSYSTEMD
#include <systemd/sd-daemon.h>
#endif
#include <time.h>
#include <unistd.h>

static int k = 1;
static const char *dir = "", *log_path = "";

static void die(const char *what) {
	fprintf(stderr, "chainsvc %d: %s: %s\n", k, what, strerror(errno));
	exit(1);
}

static void note(const char *what) {
	struct timespec ts;
	char line[96];
	clock_gettime(CLOCK_REALTIME, &ts);
	int n = snprintf(line, sizeof line, "%s %d %lld\n", what, k,
	                 (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, line, n) != n)
		die(log_path);
	close(fd);
}

/* parse_duration reads a Go-style duration such as 300ms, 0s, 1.5s, 250us, 100ns. */
static long long parse_duration(const char *s) {
	char *end;
	double v = strtod(s, &end);
	if (end == s || v < 0)
		goto bad;
	if (!strcmp(end, "ns"))
		return (long long)v;
	if (!strcmp(end, "us") || !strcmp(end, "µs"))
		return (long long)(v * 1e3);
	if (!strcmp(end, "ms"))
		return (long long)(v * 1e6);
	if (!strcmp(end, "s") || (*end == 0 && v == 0))
		return (long long)(v * 1e9);
bad:
	fprintf(stderr, "chainsvc: bad -init %s\n", s);
	exit(2);
}

#ifdef CHAINSVC_NO_LIBSYSTEMD
#define SD_LISTEN_FDS_START 3

/* sd_listen_fds(1) as documented in sd_listen_fds(3): LISTEN_PID must be our pid. */
static int sd_listen_fds(int unset) {
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int n = 0;
	if (pid && fds && strtol(pid, NULL, 10) == (long)getpid())
		n = atoi(fds);
	if (unset) {
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_FDNAMES");
	}
	for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return n;
}

/* sd_notify as documented in sd_notify(3): one datagram to $NOTIFY_SOCKET ('@' = abstract). */
static int sd_notify(int unset, const char *state) {
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	(void)unset;
	if (!path || !*path || strlen(path) >= sizeof sa.sun_path)
		return 0;
	memcpy(sa.sun_path, path, strlen(path));
	if (sa.sun_path[0] == '@')
		sa.sun_path[0] = 0;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int r = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
	               offsetof(struct sockaddr_un, sun_path) + strlen(path));
	close(fd);
	return r < 0 ? -errno : 1;
}
#endif

static void sock_path(struct sockaddr_un *sa, int i) {
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	if (snprintf(sa->sun_path, sizeof sa->sun_path, "%s/s%d.sk", dir, i) >= (int)sizeof sa->sun_path) {
		fprintf(stderr, "chainsvc %d: socket path too long\n", k);
		exit(1);
	}
}

int main(int argc, char **argv) {
	long long init_ns = 300000000LL;
	int listen_self = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && a[1] == '-')
			a++; /* -flag and --flag, as Go's flag package */
		if (!strcmp(a, "-listen")) {
			listen_self = 1;
		} else if (i + 1 < argc && !strcmp(a, "-k")) {
			k = atoi(argv[++i]);
		} else if (i + 1 < argc && !strcmp(a, "-dir")) {
			dir = argv[++i];
		} else if (i + 1 < argc && !strcmp(a, "-log")) {
			log_path = argv[++i];
		} else if (i + 1 < argc && !strcmp(a, "-init")) {
			init_ns = parse_duration(argv[++i]);
		} else {
			fprintf(stderr, "usage: chainsvc -k K -dir DIR -log FILE [-init D] [-listen]\n");
			return 2;
		}
	}
	note("start");

	int up = -1;
	if (k > 1) {
		struct sockaddr_un sa;
		sock_path(&sa, k - 1);
		up = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (up < 0 || connect(up, (struct sockaddr *)&sa, sizeof sa) < 0)
			die("connect upstream");
	}
	struct timespec d = {init_ns / 1000000000LL, init_ns % 1000000000LL};
	while (nanosleep(&d, &d) < 0 && errno == EINTR)
		;
	if (up >= 0) {
		char buf[32], want[32];
		size_t got = 0;
		while (got < sizeof buf - 1) {
			ssize_t n = read(up, buf + got, sizeof buf - 1 - got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			got += n;
			if (buf[got - 1] == '\n')
				break;
		}
		buf[got] = 0;
		snprintf(want, sizeof want, "%d\n", k - 1);
		if (strcmp(buf, want)) {
			fprintf(stderr, "chainsvc %d: upstream answered \"%s\"\n", k, buf);
			return 1;
		}
		close(up);
	}

	int ln;
	if (listen_self) {
		struct sockaddr_un sa;
		sock_path(&sa, k);
		unlink(sa.sun_path);
		ln = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (ln < 0 || bind(ln, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ln, SOMAXCONN) < 0)
			die("listen");
	} else {
		int n = sd_listen_fds(1);
		if (n != 1) {
			fprintf(stderr, "chainsvc %d: no socket handed over (sd_listen_fds = %d)\n", k, n);
			return 1;
		}
		ln = SD_LISTEN_FDS_START;
	}
	note("ready");
	if (listen_self)
		sd_notify(0, "READY=1");

	char answer[16];
	int alen = snprintf(answer, sizeof answer, "%d\n", k);
	for (;;) {
		int c = accept4(ln, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return 0;
		}
		send(c, answer, alen, MSG_NOSIGNAL);
		close(c);
	}
}
