/* SPDX-License-Identifier: GPL-2.0 */
#ifndef FSCACHED_COMPILER_H
#define FSCACHED_COMPILER_H

#include <errno.h>
#include <stdint.h>
#include <time.h>

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)		(((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a)	((x) & ~((__typeof__(x))(a) - 1))
#define MIN(a, b)		((a) < (b) ? (a) : (b))
#define MAX(a, b)		((a) > (b) ? (a) : (b))
#define __printf(a, b)		__attribute__((format(printf, a, b)))
#define __unused		__attribute__((unused))

/* Statistics counters: relaxed atomics, read without locks. */
static inline void counter_add(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

static inline uint64_t counter_read(const uint64_t *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* Microseconds on the monotonic clock, for durations. */
static inline uint64_t monotonic_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* @us from now on @clock: a deadline for pthread_cond_timedwait(). */
static inline void timespec_in_us(clockid_t clock, uint64_t us,
				  struct timespec *ts)
{
	clock_gettime(clock, ts);
	ts->tv_sec += us / 1000000;
	ts->tv_nsec += (long)(us % 1000000) * 1000;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

static inline void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

#endif
