// SPDX-License-Identifier: GPL-2.0
/*
 * Start a daemon and print how long it took to be ready, in microseconds:
 * the time from fork to its sd_notify "READY=1" on a socket of ours. The
 * daemon is left running, its stdout joined to its stderr; its pid goes to
 * PIDFILE.
 *
 *   start-time PIDFILE TIMEOUT_S CMD [ARGS...]
 *   start-time -x CMD [ARGS...]     time from fork to CMD's exit instead
 *
 * Exit status: 0, 1 if it exited or timed out before it was ready.
 */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* The floor under any start time: fork, exec and exit of a command. */
static int time_to_exit(char **cmd)
{
	double t0 = now_us();
	pid_t pid = fork();

	if (pid < 0) {
		perror("start-time: fork");
		return 1;
	}
	if (!pid) {
		execvp(cmd[0], cmd);
		_exit(127);
	}
	if (waitpid(pid, NULL, 0) != pid)
		return 1;
	printf("%.0f\n", now_us() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[256], env[128];
	double t0, deadline;
	struct pollfd pfd;
	FILE *pidf;
	pid_t pid;
	ssize_t n;
	int fd;

	if (argc >= 3 && !strcmp(argv[1], "-x"))
		return time_to_exit(argv + 2);
	if (argc < 4) {
		fprintf(stderr, "usage: start-time PIDFILE TIMEOUT_S CMD [ARGS...]\n");
		return 2;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("start-time: socket");
		return 1;
	}
	/* An abstract socket: nothing to clean up. */
	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1,
		 "fscached-start-time-%d", (int)getpid());
	/* Abstract names are exact: no trailing NULs in the length. */
	if (bind(fd, (struct sockaddr *)&sa,
		 offsetof(struct sockaddr_un, sun_path) + 1 +
		 strlen(sa.sun_path + 1)) < 0) {
		perror("start-time: bind");
		return 1;
	}
	snprintf(env, sizeof(env), "@%s", sa.sun_path + 1);
	t0 = now_us();
	pid = fork();
	if (pid < 0) {
		perror("start-time: fork");
		return 1;
	}
	if (!pid) {
		/* Our stdout is the caller's answer: the daemon must not hold it. */
		dup2(STDERR_FILENO, STDOUT_FILENO);
		setenv("NOTIFY_SOCKET", env, 1);
		execvp(argv[3], argv + 3);
		perror("start-time: exec");
		_exit(127);
	}
	pidf = fopen(argv[1], "w");
	if (pidf) {
		fprintf(pidf, "%d\n", (int)pid);
		fclose(pidf);
	}
	deadline = t0 + atof(argv[2]) * 1e6;
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	while (now_us() < deadline) {
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			fprintf(stderr, "start-time: %s exited before it was ready\n",
				argv[3]);
			return 1;
		}
		if (poll(&pfd, 1, 10) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			continue;
		buf[n] = '\0';
		if (strstr(buf, "READY=1")) {
			printf("%.0f\n", now_us() - t0);
			return 0;
		}
	}
	fprintf(stderr, "start-time: %s not ready after %s s\n", argv[3], argv[2]);
	return 1;
}
