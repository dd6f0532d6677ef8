/* svchelper: a small service program for flint's end-to-end tests (built by the tests with gcc).
 *
 *   svchelper accept1 EXIT           accept one connection on fd 3, write "<pid>\n", exit EXIT
 *   svchelper notify MSG             send MSG ("\n" escapes allowed) to $NOTIFY_SOCKET, then pause
 *   svchelper notify-mainpid         fork a child, send MAINPID=<child> READY=1, exit 0
 *   svchelper fdstore NAME OUT       fd store round trip (see below), then pause
 *   svchelper ignore-term            ignore SIGTERM and pause
 *   svchelper grandchild PIDFILE     fork a child that writes its pid to PIDFILE; both pause
 *   svchelper forking PIDFILE        fork a daemon child, write its pid to PIDFILE, exit 0
 *   svchelper udp-echo               echo datagrams on fd 3 (LISTEN_FDS=1)
 *   svchelper steps STEP...          run steps in order, then pause: "sleep:MS", "exit:CODE",
 *                                    "loop:MS:MSG" (send MSG every MS ms forever), else a notify MSG
 *   svchelper serve                  accept on fd 3 forever, write "<pid>\n" to each connection;
 *                                    SIGTERM ends it between connections (a well-behaved daemon)
 *   svchelper fds                    print "N=target" for each open fd to stdout, then exit 0
 *   svchelper count-signals OUT      block every signal and fork a child; both count what arrives
 *                                    until a SIGUSR1, then write "SIGNO=COUNT" lines to OUT.main
 *                                    and OUT.child and exit 0 (OUT.ready: written after the fork)
 *
 * fdstore: if LISTEN_FDNAMES has NAME, the matching fd is a memfd; its content and the
 * LISTEN_FDNAMES value are written to OUT and the program pauses. Otherwise it creates a memfd
 * holding "stored-by-<pid>", stores it with FDSTORE=1 FDNAME=NAME, and exits 1 (a crash).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <dirent.h>
#include <unistd.h>

static void die(const char *what) {
	fprintf(stderr, "svchelper: %s: %s\n", what, strerror(errno));
	exit(100);
}

/* notify sends msg to $NOTIFY_SOCKET with fd (if >= 0) attached. */
static void notify(const char *msg, int fd) {
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || !*path) {
		fprintf(stderr, "svchelper: no NOTIFY_SOCKET\n");
		exit(101);
	}
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	socklen_t len;
	strncpy(sa.sun_path, path, sizeof sa.sun_path - 1);
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	if (path[0] == '@')
		sa.sun_path[0] = 0;
	else
		len++;
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		die("socket");
	struct iovec iov = {.iov_base = (void *)msg, .iov_len = strlen(msg)};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_name = &sa, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1};
	if (fd >= 0) {
		mh.msg_control = u.buf;
		mh.msg_controllen = sizeof u.buf;
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	if (sendmsg(s, &mh, 0) < 0)
		die("sendmsg");
	close(s);
}

static char *unescape(const char *in) {
	char *out = strdup(in), *o = out;
	for (; *in; in++) {
		if (in[0] == '\\' && in[1] == 'n') {
			*o++ = '\n';
			in++;
		} else
			*o++ = *in;
	}
	*o = 0;
	return out;
}

static volatile sig_atomic_t terminating;

static void on_term(int sig) {
	(void)sig;
	terminating = 1;
}

static void forever(void) {
	for (;;)
		pause();
}

static void writefile(const char *path, const char *text);

/* countsignals counts the signals that arrive (sigwaitinfo: real-time signals are queued, so
 * each one sent is seen) until SIGUSR1; what is pending then arrived before it. */
static int countsignals(const char *out) {
	sigset_t set;
	sigfillset(&set);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		die("sigprocmask");
	pid_t p = fork();
	if (p < 0)
		die("fork");
	char path[4096];
	snprintf(path, sizeof path, "%s.%s", out, p == 0 ? "child" : "main");
	if (p > 0) {
		char ready[4096], buf[32];
		snprintf(ready, sizeof ready, "%s.ready", out);
		snprintf(buf, sizeof buf, "%d\n", p);
		writefile(ready, buf);
	}
	static int n[_NSIG];
	for (;;) {
		int sig = sigwaitinfo(&set, NULL);
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			die("sigwaitinfo");
		}
		n[sig]++;
		if (sig == SIGUSR1)
			break;
	}
	struct timespec zero = {0, 0};
	int sig;
	while ((sig = sigtimedwait(&set, NULL, &zero)) > 0)
		n[sig]++;
	char buf[4096] = "";
	for (int i = 1; i < _NSIG; i++)
		if (n[i])
			snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%d=%d\n", i, n[i]);
	writefile(path, buf);
	return 0;
}

static void writefile(const char *path, const char *text) {
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		die(tmp);
	fputs(text, f);
	fclose(f);
	if (rename(tmp, path) < 0)
		die("rename");
}

int main(int argc, char **argv) {
	if (argc < 2)
		return 2;
	const char *mode = argv[1];
	if (!strcmp(mode, "accept1") && argc == 3) {
		int c = accept(3, NULL, NULL);
		if (c < 0)
			die("accept");
		dprintf(c, "%d\n", getpid());
		close(c);
		return atoi(argv[2]);
	}
	if (!strcmp(mode, "notify") && argc == 3) {
		notify(unescape(argv[2]), -1);
		forever();
	}
	if (!strcmp(mode, "notify-mainpid")) {
		pid_t p = fork();
		if (p < 0)
			die("fork");
		if (p == 0)
			forever();
		char msg[64];
		snprintf(msg, sizeof msg, "MAINPID=%d\nREADY=1", p);
		notify(msg, -1);
		return 0;
	}
	if (!strcmp(mode, "fdstore") && argc == 4) {
		const char *names = getenv("LISTEN_FDNAMES");
		const char *nfds = getenv("LISTEN_FDS");
		if (names && nfds) {
			char *dup = strdup(names), *save = NULL;
			int fd = 3;
			for (char *n = strtok_r(dup, ":", &save); n; n = strtok_r(NULL, ":", &save), fd++) {
				if (strcmp(n, argv[2]))
					continue;
				char buf[256] = {0};
				if (pread(fd, buf, sizeof buf - 1, 0) < 0)
					die("pread");
				char out[1024];
				snprintf(out, sizeof out, "names=%s\nfd=%d\ncontent=%s\n", names, fd, buf);
				writefile(argv[3], out);
				forever();
			}
		}
		int m = memfd_create("fdstore-test", MFD_CLOEXEC);
		if (m < 0)
			die("memfd_create");
		dprintf(m, "stored-by-%d", getpid());
		char msg[256];
		snprintf(msg, sizeof msg, "FDSTORE=1\nFDNAME=%s", argv[2]);
		notify(msg, m);
		usleep(200000);
		return 1;
	}
	if (!strcmp(mode, "count-signals") && argc == 3)
		return countsignals(argv[2]);
	if (!strcmp(mode, "ignore-term")) {
		signal(SIGTERM, SIG_IGN);
		forever();
	}
	if (!strcmp(mode, "grandchild") && argc == 3) {
		pid_t p = fork();
		if (p < 0)
			die("fork");
		if (p == 0) {
			char buf[32];
			snprintf(buf, sizeof buf, "%d\n", getpid());
			writefile(argv[2], buf);
		}
		forever();
	}
	if (!strcmp(mode, "forking") && argc == 3) {
		pid_t p = fork();
		if (p < 0)
			die("fork");
		if (p == 0) {
			setsid();
			forever();
		}
		char buf[32];
		snprintf(buf, sizeof buf, "%d\n", p);
		writefile(argv[2], buf);
		return 0;
	}
	if (!strcmp(mode, "udp-echo")) {
		for (;;) {
			char buf[2048];
			struct sockaddr_storage from;
			socklen_t fl = sizeof from;
			ssize_t n = recvfrom(3, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
			if (n < 0)
				die("recvfrom");
			sendto(3, buf, n, 0, (struct sockaddr *)&from, fl);
		}
	}
	if (!strcmp(mode, "serve")) {
		struct sigaction sa = {.sa_handler = on_term}; /* no SA_RESTART: accept returns EINTR */
		sigaction(SIGTERM, &sa, NULL);
		while (!terminating) {
			int c = accept(3, NULL, NULL);
			if (c < 0) {
				if (errno == EINTR)
					continue;
				die("accept");
			}
			dprintf(c, "%d\n", getpid());
			close(c);
		}
		return 0;
	}
	if (!strcmp(mode, "steps")) {
		for (int i = 2; i < argc; i++) {
			const char *a = argv[i];
			if (!strncmp(a, "sleep:", 6))
				usleep(atoi(a + 6) * 1000);
			else if (!strncmp(a, "exit:", 5))
				return atoi(a + 5);
			else if (!strncmp(a, "loop:", 5)) {
				int ms = atoi(a + 5);
				const char *msg = strchr(a + 5, ':');
				for (;;) {
					notify(unescape(msg ? msg + 1 : ""), -1);
					usleep(ms * 1000);
				}
			} else
				notify(unescape(a), -1);
		}
		forever();
	}
	if (!strcmp(mode, "fds")) {
		DIR *d = opendir("/proc/self/fd");
		if (!d)
			die("opendir");
		char out[8192] = "";
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
				continue;
			char link[300], target[512] = "";
			snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
			if (readlink(link, target, sizeof target - 1) < 0)
				continue;
			snprintf(out + strlen(out), sizeof out - strlen(out), "%s=%s\n", e->d_name, target);
		}
		closedir(d);
		if (write(1, out, strlen(out)) < 0)
			die("write");
		return 0;
	}
	fprintf(stderr, "svchelper: bad arguments\n");
	return 2;
}
