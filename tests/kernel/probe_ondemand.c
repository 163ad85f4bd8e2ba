// SPDX-License-Identifier: GPL-2.0
/*
 * For the shell kernel tests: exit 0 where cachefiles on-demand mode can be
 * bound here, else print why (the skip message) and exit 1.
 */
#include <stdbool.h>
#include <stdio.h>

#include "ktest.h"

int main(void)
{
	char why[256];

	if (!ktest_cachefiles_unusable(why, sizeof(why)))
		return 0;
	puts(why);
	return 1;
}
