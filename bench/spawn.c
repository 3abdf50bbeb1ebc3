/*
 * spawn: what the executor's sandbox adds to starting a program.
 *
 *     spawn PROGRAM RUNS [HOLD_MIB]
 *
 * Starts PROGRAM (a trivial one: it exits at once) RUNS times each way,
 * interleaved so that both see the same machine: bare posix_spawn() +
 * waitpid(), then the full sandbox of an action with no network and the
 * default limits, as pitwall starts it (pw_sandbox_prepare() +
 * pw_sandbox_spawn() + waitpid() + pw_sandbox_release()). With HOLD_MIB
 * the process first allocates and touches that much memory, as a broker
 * holding a large state would: posix_spawn() in glibc uses CLONE_VFORK too,
 * and so does the sandbox, so neither should grow with it. Prints one line
 * of medians and 99th percentiles in microseconds.
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exec/sandbox.h"

static double now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	return v[(size_t)((double)(n - 1) * p)];
}

int main(int argc, char **argv)
{
	if (argc < 3 || argv[1][0] != '/') {
		fprintf(stderr, "usage: spawn /PROGRAM RUNS [HOLD_MIB]\n");
		return 2;
	}
	size_t runs = strtoul(argv[2], NULL, 10);
	size_t hold = argc > 3 ? strtoul(argv[3], NULL, 10) : 0;
	if (runs < 10) {
		fprintf(stderr, "spawn: RUNS must be at least 10\n");
		return 2;
	}
	char *mem = NULL;
	if (hold > 0) {
		mem = malloc(hold << 20);
		if (mem == NULL) {
			fprintf(stderr, "spawn: cannot hold %zu MiB\n", hold);
			return 1;
		}
		memset(mem, 0x5a, hold << 20);
	}
	char dir[] = "/tmp/pw-spawn-XXXXXX";
	if (mkdtemp(dir) == NULL) {
		perror("spawn: mkdtemp");
		return 1;
	}
	const char *write[] = {dir};
	pw_sandbox sb = {
	        .write = write,
	        .n_write = 1,
	        .memory = PW_LIMIT_MEMORY_DEFAULT,
	        .cpu_ms = 60000,
	        .file_size = PW_LIMIT_FILE_SIZE_DEFAULT,
	        .procs = PW_LIMIT_PROCS_DEFAULT,
	        .open_files = PW_LIMIT_OPEN_FILES_DEFAULT,
	        .needs = PW_FEAT_ALL & ~PW_FEAT_LANDLOCK_NET,
	};
	double *bare = calloc(runs, sizeof *bare), *boxed = calloc(runs, sizeof *boxed);
	int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	char *av[] = {argv[1], NULL}, *ev[] = {NULL};
	char why[512];
	if (bare == NULL || boxed == NULL || devnull < 0)
		return 1;
	(void)pw_sandbox_kernel_probe(); /* once per process, as in the broker */
	for (size_t i = 0; i < runs; i++) {
		double t0 = now_us();
		pid_t pid;
		if (posix_spawn(&pid, argv[1], NULL, NULL, av, ev) != 0 ||
		    waitpid(pid, NULL, 0) != pid) {
			fprintf(stderr, "spawn: posix_spawn failed\n");
			return 1;
		}
		bare[i] = now_us() - t0;
		t0 = now_us();
		pw_sandbox_prep *p;
		if (pw_sandbox_prepare(&sb, argv[1], &p, why, sizeof why) != PW_OK) {
			fprintf(stderr, "spawn: %s\n", why);
			return 1;
		}
		pid = pw_sandbox_spawn(p, argv[1], av, ev, dir, devnull, devnull, why, sizeof why);
		if (pid < 0 || waitpid(pid, NULL, 0) != pid) {
			fprintf(stderr, "spawn: %s\n", why);
			return 1;
		}
		pw_sandbox_release(p);
		boxed[i] = now_us() - t0;
	}
	qsort(bare, runs, sizeof *bare, cmp);
	qsort(boxed, runs, sizeof *boxed, cmp);
	printf("held_mib %zu runs %zu bare_p50 %.0f bare_p99 %.0f sandbox_p50 %.0f sandbox_p99 "
	       "%.0f "
	       "added_p50 %.0f\n",
	       hold, runs, pct(bare, runs, 0.5), pct(bare, runs, 0.99), pct(boxed, runs, 0.5),
	       pct(boxed, runs, 0.99), pct(boxed, runs, 0.5) - pct(bare, runs, 0.5));
	(void)rmdir(dir);
	free(mem);
	free(bare);
	free(boxed);
	return 0;
}
