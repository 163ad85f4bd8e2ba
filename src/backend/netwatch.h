/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The host's network, as rtnetlink tells it (libnl-3): links, addresses
 * and routes that change, and whether any link is up. Remote backends ask
 * it so that a network restart or a failover to another NIC costs a quick
 * retry instead of a timeout:
 *
 *  - after a change, pooled connections made before it are not reused;
 *  - a transfer that has received nothing for NETWATCH_STALL_MS when a
 *    change comes is given up and retried at once, on a new connection;
 *  - while no link is up, fetches wait for one (up to their timeout)
 *    instead of spending their retries on "network unreachable".
 *
 * One watcher per process. Without netwatch_start(), or where rtnetlink
 * is missing, the network is always "online" and never changes. Only
 * links that have been up since the start count: a host with no link but
 * loopback (or with links never brought up) is online, there is nothing
 * to wait for.
 */
#ifndef FSCACHED_NETWATCH_H
#define FSCACHED_NETWATCH_H

#include <stdbool.h>
#include <stdint.h>

#define NETWATCH_STALL_MS	1000

struct netwatch_stats {
	bool running;
	bool online;
	uint64_t changes;	/* link, address and route events seen */
	uint64_t held;		/* fetches that waited for the network */
	uint64_t restarted;	/* stalled transfers retried after a change */
};

int netwatch_start(void);
void netwatch_stop(void);

/* Bumped on every change. */
uint64_t netwatch_generation(void);
/* Monotonic us of the latest change, 0 if none. */
uint64_t netwatch_last_change_us(void);
bool netwatch_online(void);
/*
 * Wait until the network is online or the monotonic clock reaches
 * @deadline_us: true when online. Counts a hold when it had to wait.
 */
bool netwatch_wait_online(uint64_t deadline_us);
void netwatch_count_restart(void);
void netwatch_get_stats(struct netwatch_stats *st);

#endif
