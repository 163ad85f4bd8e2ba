/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Parsers of outside input (configurations, on-disk formats) say what is
 * wrong in a caller's buffer and return -EINVAL.
 */
#ifndef FSCACHED_ERRMSG_H
#define FSCACHED_ERRMSG_H

#include <stddef.h>

int err_einval(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
