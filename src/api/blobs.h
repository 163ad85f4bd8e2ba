/* SPDX-License-Identifier: GPL-2.0 */
/* The /api/v2/blobs handlers (binding images), for the route table. */
#ifndef FSCACHED_API_BLOBS_H
#define FSCACHED_API_BLOBS_H

#include "server.h"

void api_put_blobs(void *ctx, const struct api_request *req,
		   struct api_response *resp);
void api_delete_blobs(void *ctx, const struct api_request *req,
		      struct api_response *resp);
void api_get_blobs(void *ctx, const struct api_request *req,
		   struct api_response *resp);

#endif
