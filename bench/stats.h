/*
 * stats.h: the clock and the order statistics the benchmark programs share
 * (bench/README.md). Header only: each program is one file.
 */
#ifndef PW_BENCH_STATS_H
#define PW_BENCH_STATS_H

#include <stdlib.h>
#include <time.h>

/* CLOCK_MONOTONIC in microseconds. */
static inline double bench_now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The p-quantile (0..1) of v[0..n), nearest rank; sorts v. n > 0. */
static inline double bench_pct(double *v, size_t n, double p)
{
	qsort(v, n, sizeof *v, bench_cmp_double);
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

/* Median, minimum and maximum of v[0..n) (a round's figures); sorts v. n > 0. */
typedef struct bench_mmm {
	double med, min, max;
} bench_mmm;

static inline bench_mmm bench_summary(double *v, size_t n)
{
	bench_mmm m;
	qsort(v, n, sizeof *v, bench_cmp_double);
	m.min = v[0];
	m.max = v[n - 1];
	m.med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	return m;
}

#endif
