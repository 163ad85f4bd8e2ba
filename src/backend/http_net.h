/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the HTTP engine does about the host's network (netwatch.h): fresh
 * connections after a change, stalled transfers given up when one comes,
 * and a wait while no link is up. Private to http_client.c.
 */
#ifndef FSCACHED_BACKEND_HTTP_NET_H
#define FSCACHED_BACKEND_HTTP_NET_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

/* One transfer's view of the network; lives across curl_easy_perform(). */
struct http_net_watch {
	uint64_t generation;	/* at the start */
	uint64_t last_rx_us;	/* when bytes last came */
	curl_off_t last_dlnow;
	bool restart;		/* given up on a change: try again at once */
};

void http_net_setup(CURL *h, struct http_net_watch *w);
/*
 * After a failed transfer: whether to try again at once, not counting a
 * retry. Waits (up to @timeout_ms) for a link when none is up and the
 * transfer could not connect.
 */
bool http_net_again(struct http_net_watch *w, int curl_code,
		    unsigned int timeout_ms);
/* Before a transfer: wait (up to @timeout_ms) while no link is up. */
void http_net_hold(unsigned int timeout_ms);

#endif
