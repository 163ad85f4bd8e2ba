// SPDX-License-Identifier: GPL-2.0
/* The HTTP engine and the host's network: see http_net.h. */
#include "lib/compiler.h"
#include "http_net.h"
#include "lib/log.h"
#include "netwatch.h"

static int http_net_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
			     curl_off_t ultotal, curl_off_t ulnow)
{
	struct http_net_watch *w = arg;
	uint64_t now = monotonic_us();

	(void)dltotal, (void)ultotal, (void)ulnow;
	if (dlnow != w->last_dlnow) {
		w->last_dlnow = dlnow;
		w->last_rx_us = now;
		return 0;
	}
	/*
	 * Nothing came for a while and the network changed meanwhile: the
	 * connection may be on a path that is gone. A transfer that is
	 * receiving is left alone.
	 */
	if (netwatch_generation() != w->generation &&
	    now - w->last_rx_us >= NETWATCH_STALL_MS * 1000ULL) {
		w->restart = true;
		return 1;
	}
	return 0;
}

void http_net_setup(CURL *h, struct http_net_watch *w)
{
	uint64_t changed = netwatch_last_change_us(), age;
	long fresh = 0, lifetime = 0;

	w->generation = netwatch_generation();
	w->last_rx_us = monotonic_us();
	w->last_dlnow = 0;
	w->restart = false;
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, http_net_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, w);
	/* No connection made before the latest change is used again. */
	if (changed) {
		age = monotonic_us() - changed;
		if (age < 2000000)
			fresh = 1;
		else if (age < 3600ULL * 1000000)
			lifetime = age / 1000000 - 1;
	}
	curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, fresh);
	curl_easy_setopt(h, CURLOPT_MAXLIFETIME_CONN, lifetime);
}

void http_net_hold(unsigned int timeout_ms)
{
	if (!netwatch_online())
		netwatch_wait_online(monotonic_us() + timeout_ms * 1000ULL);
}

bool http_net_again(struct http_net_watch *w, int curl_code,
		    unsigned int timeout_ms)
{
	if (w->restart && curl_code == CURLE_ABORTED_BY_CALLBACK) {
		netwatch_count_restart();
		log_info("network changed under a stalled transfer: trying again at once on a new connection");
		return true;
	}
	if (netwatch_online())
		return false;
	if (curl_code != CURLE_COULDNT_CONNECT &&
	    curl_code != CURLE_COULDNT_RESOLVE_HOST &&
	    curl_code != CURLE_OPERATION_TIMEDOUT)
		return false;
	return netwatch_wait_online(monotonic_us() + timeout_ms * 1000ULL);
}
