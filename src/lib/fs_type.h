/* SPDX-License-Identifier: GPL-2.0 */
#ifndef FSCACHED_FS_TYPE_H
#define FSCACHED_FS_TYPE_H

/*
 * The name of the filesystem with statfs(2) magic @type, for messages that
 * say why a cache directory will not do; NULL for one it does not know.
 */
const char *fs_type_name(unsigned long type);

#endif
