/* Test client for internal/notify: talks to $NOTIFY_SOCKET through libsystemd.
 * usage: sdnotify notify|fdstore|parent|barrier */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

int main(int argc, char **argv) {
	int r = -1;

	if (argc != 2) {
		fprintf(stderr, "usage: %s notify|fdstore|parent|barrier\n", argv[0]);
		return 2;
	}
	if (strcmp(argv[1], "notify") == 0) {
		r = sd_notify(0, "READY=1\nSTATUS=hello from C");
	} else if (strcmp(argv[1], "fdstore") == 0) {
		int p[2];
		if (pipe(p) < 0) {
			perror("pipe");
			return 1;
		}
		if (write(p[1], "stored data", 11) != 11) {
			perror("write");
			return 1;
		}
		close(p[1]);
		r = sd_pid_notify_with_fds(getpid(), 0, "FDSTORE=1\nFDNAME=mypipe", &p[0], 1);
	} else if (strcmp(argv[1], "parent") == 0) {
		char buf[64];
		snprintf(buf, sizeof buf, "MAINPID=%d", (int) getppid());
		r = sd_pid_notify(getppid(), 0, buf);
	} else if (strcmp(argv[1], "barrier") == 0) {
		r = sd_notify_barrier(0, 10 * 1000000ULL);
		if (r >= 0)
			r = 1;
	}
	if (r <= 0) {
		fprintf(stderr, "%s: %s\n", argv[1], r == 0 ? "NOTIFY_SOCKET not set" : strerror(-r));
		return 1;
	}
	return 0;
}
