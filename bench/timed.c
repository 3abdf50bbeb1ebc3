/*
 * timed.c: run a program and report its wall time and peak memory, for
 * bench/verify.sh (GNU time is not always installed).
 *
 *   timed OUT PROGRAM [ARGS...]
 *
 * PROGRAM is an absolute path (no PATH lookup). Its standard streams are
 * this program's. When it has exited, one line is appended to the file
 * OUT: its wall time in seconds, its CPU time (user + system, all its
 * threads) in seconds, its peak resident set size in KiB (ru_maxrss of
 * the child, from wait4()) and its exit status. The exit status of timed
 * is the program's (125 when it could not be run).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	int status = 0;
	if (argc < 3 || argv[2][0] != '/') {
		fprintf(stderr, "usage: timed OUT /ABSOLUTE/PROGRAM [ARGS...]\n");
		return 125;
	}
	FILE *out = fopen(argv[1], "ae");
	if (out == NULL) {
		fprintf(stderr, "timed: %s: %s\n", argv[1], strerror(errno));
		return 125;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "timed: fork: %s\n", strerror(errno));
		return 125;
	}
	if (pid == 0) {
		fclose(out);
		execv(argv[2], argv + 2);
		fprintf(stderr, "timed: %s: %s\n", argv[2], strerror(errno));
		_exit(125);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "timed: wait: %s\n", strerror(errno));
			return 125;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	             (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	fprintf(out, "%.6f %.6f %ld %d\n", s, cpu, ru.ru_maxrss, code);
	if (fclose(out) != 0) {
		fprintf(stderr, "timed: %s: %s\n", argv[1], strerror(errno));
		return 125;
	}
	return code;
}
