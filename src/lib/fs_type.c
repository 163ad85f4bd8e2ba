// SPDX-License-Identifier: GPL-2.0
#include <stddef.h>

#include "fs_type.h"

const char *fs_type_name(unsigned long type)
{
	switch (type) {
	case 0x01021994: return "tmpfs";
	case 0x858458f6: return "ramfs";
	case 0x00c0ffee: return "hostfs";
	case 0x794c7630: return "overlayfs";
	case 0x6969: return "nfs";
	case 0x65735546: return "fuse";
	case 0x9fa0: return "proc";
	case 0xef53: return "ext4";
	case 0x58465342: return "xfs";
	case 0x9123683e: return "btrfs";
	}
	return NULL;
}
