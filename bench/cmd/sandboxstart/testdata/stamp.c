/* stamp: writes CLOCK_MONOTONIC in microseconds to argv[1], first thing in main. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
	struct timespec ts;
	char buf[32];
	int fd, n;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (argc != 2)
		return 2;
	n = snprintf(buf, sizeof buf, "%lld\n", (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, buf, n) != n)
		return 1;
	return close(fd) != 0;
}
