/* SPDX-License-Identifier: GPL-2.0 */
/* What the format parsers say is wrong: into @err, returning -EINVAL. */
#ifndef FSCACHED_FORMAT_ERROR_H
#define FSCACHED_FORMAT_ERROR_H

#include <stddef.h>

int format_fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
