// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"

static int current_level = LOG_INFO;

static const char *const level_names[] = {
	[LOG_ERROR] = "error",
	[LOG_WARN] = "warn",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
	[LOG_TRACE] = "trace",
};

void log_set_level(enum log_level level)
{
	__atomic_store_n(&current_level, level, __ATOMIC_RELAXED);
}

enum log_level log_get_level(void)
{
	return __atomic_load_n(&current_level, __ATOMIC_RELAXED);
}

const char *log_level_name(enum log_level level)
{
	if ((unsigned int)level >= ARRAY_SIZE(level_names))
		return "?";
	return level_names[level];
}

int log_parse_level(const char *name, enum log_level *level)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (!strcasecmp(name, level_names[i])) {
			*level = i;
			return 0;
		}
	}
	if (!strcasecmp(name, "warning")) {
		*level = LOG_WARN;
		return 0;
	}
	return -1;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n;

	if ((int)level > (int)log_get_level())
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line),
		     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
		     log_level_name(level));
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	/* One fputs per line so that lines of concurrent threads never mix. */
	n = strlen(line);
	if (n < (int)sizeof(line) - 1)
		line[n++] = '\n', line[n] = '\0';
	fputs(line, stderr);
}
