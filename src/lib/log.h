/* SPDX-License-Identifier: GPL-2.0 */
#ifndef FSCACHED_LOG_H
#define FSCACHED_LOG_H

#include "compiler.h"

enum log_level {
	LOG_ERROR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
	LOG_TRACE,
};

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
int log_parse_level(const char *name, enum log_level *level);
const char *log_level_name(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __printf(2, 3);

#define log_error(...)	log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

/* Per-request protocol tracing; compiled in only with -DFSCACHED_TRACE. */
#ifdef FSCACHED_TRACE
#define trace(...)	log_msg(LOG_TRACE, __VA_ARGS__)
#else
#define trace(...)	do { if (0) log_msg(LOG_TRACE, __VA_ARGS__); } while (0)
#endif

#endif
