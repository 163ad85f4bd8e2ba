/* SPDX-License-Identifier: GPL-2.0 */
/* The /api/v1/mount handlers (mounts the daemon makes), for the route table. */
#ifndef FSCACHED_API_MOUNTS_H
#define FSCACHED_API_MOUNTS_H

#include "server.h"

void api_post_mount(void *ctx, const struct api_request *req,
		    struct api_response *resp);
void api_delete_mount(void *ctx, const struct api_request *req,
		      struct api_response *resp);
void api_get_mount(void *ctx, const struct api_request *req,
		   struct api_response *resp);

#endif
