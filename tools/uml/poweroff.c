// SPDX-License-Identifier: GPL-2.0
/*
 * Power off the user-mode-Linux test kernel from its init script, so that the
 * UML process on the host exits.  Flushes the file systems (the host fs via
 * hostfs holds the exit status of the test) first.
 */
#include <stdio.h>
#include <sys/reboot.h>
#include <unistd.h>

int main(void)
{
	sync();
	reboot(RB_POWER_OFF);
	perror("poweroff: reboot(RB_POWER_OFF)");
	return 1;
}
