// SPDX-License-Identifier: GPL-2.0
/* rtnetlink notifications through libnl-3: see netwatch.h. */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <linux/rtnetlink.h>
#include <netlink/cache.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/socket.h>

#include "lib/compiler.h"
#include "lib/log.h"
#include "netwatch.h"

static struct {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	bool running;
	bool online;		/* under lock; also read relaxed */
	uint64_t generation;	/* atomic */
	uint64_t last_change_us;	/* atomic */
	uint64_t changes;	/* atomic */
	uint64_t held;		/* atomic */
	uint64_t restarted;	/* atomic */
	struct nl_sock *events;	/* subscribed to the groups */
	struct nl_sock *query;	/* for the link cache */
	struct nl_cache *links;
	int stop_fd;
	bool seen;		/* an event in the current batch */
	pthread_t thread;
} nw = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.changed = PTHREAD_COND_INITIALIZER,
	.online = true,
	.stop_fd = -1,
};

uint64_t netwatch_generation(void)
{
	return __atomic_load_n(&nw.generation, __ATOMIC_ACQUIRE);
}

uint64_t netwatch_last_change_us(void)
{
	return __atomic_load_n(&nw.last_change_us, __ATOMIC_RELAXED);
}

bool netwatch_online(void)
{
	return __atomic_load_n(&nw.online, __ATOMIC_RELAXED);
}

void netwatch_count_restart(void)
{
	counter_add(&nw.restarted, 1);
}

void netwatch_get_stats(struct netwatch_stats *st)
{
	pthread_mutex_lock(&nw.lock);
	st->running = nw.running;
	st->online = nw.online;
	pthread_mutex_unlock(&nw.lock);
	st->changes = counter_read(&nw.changes);
	st->held = counter_read(&nw.held);
	st->restarted = counter_read(&nw.restarted);
}

bool netwatch_wait_online(uint64_t deadline_us)
{
	struct timespec until;
	uint64_t now, left;
	bool online;

	if (netwatch_online())
		return true;
	counter_add(&nw.held, 1);
	pthread_mutex_lock(&nw.lock);
	while (!nw.online && (now = monotonic_us()) < deadline_us) {
		/* Condition variables wait on CLOCK_REALTIME by default. */
		left = MIN(deadline_us - now, 1000000ULL);
		timespec_in_us(CLOCK_REALTIME, left, &until);
		pthread_cond_timedwait(&nw.changed, &nw.lock, &until);
	}
	online = nw.online;
	pthread_mutex_unlock(&nw.lock);
	return online;
}

struct link_census {
	unsigned int links;	/* not loopback, and up at some time */
	unsigned int up;	/* ... administratively up with a carrier now */
};

/*
 * Links seen up since the watcher started: a link that never was (a
 * tunnel device nobody configured, as in a bare VM) says nothing about
 * the network, and must not make it "offline".
 */
#define NETWATCH_LINKS_MAX	64
static int links_seen[NETWATCH_LINKS_MAX];
static unsigned int nr_links_seen;

static bool link_seen(int ifindex, bool up)
{
	unsigned int i;

	for (i = 0; i < nr_links_seen; i++)
		if (links_seen[i] == ifindex)
			return true;
	if (!up || nr_links_seen == NETWATCH_LINKS_MAX)
		return up;
	links_seen[nr_links_seen++] = ifindex;
	return true;
}

static void count_link(struct nl_object *obj, void *arg)
{
	struct rtnl_link *link = (struct rtnl_link *)obj;
	unsigned int flags = rtnl_link_get_flags(link);
	bool up = (flags & IFF_UP) && (flags & IFF_RUNNING);
	struct link_census *c = arg;

	if ((flags & IFF_LOOPBACK) || !link_seen(rtnl_link_get_ifindex(link), up))
		return;
	c->links++;
	c->up += up;
}

static bool links_online(void)
{
	struct link_census c = { 0 };

	if (nl_cache_refill(nw.query, nw.links) < 0)
		return true;	/* cannot tell: do not hold anything */
	nl_cache_foreach(nw.links, count_link, &c);
	return !c.links || c.up;
}

static int note_event(struct nl_msg *msg, void *arg)
{
	(void)msg, (void)arg;
	nw.seen = true;
	return NL_OK;
}

/* After a batch of events: one new generation, the state again. */
static void netwatch_update(void)
{
	bool online = links_online();

	pthread_mutex_lock(&nw.lock);
	if (online != nw.online)
		log_warn("network: %s", online ? "a link is up again: fetches go on"
					      : "no link is up: fetches wait for one");
	__atomic_store_n(&nw.online, online, __ATOMIC_RELAXED);
	__atomic_store_n(&nw.last_change_us, monotonic_us(), __ATOMIC_RELAXED);
	__atomic_fetch_add(&nw.generation, 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&nw.changed);
	pthread_mutex_unlock(&nw.lock);
	counter_add(&nw.changes, 1);
	log_debug("network changed (generation %llu, %s)",
		  (unsigned long long)netwatch_generation(),
		  online ? "online" : "offline");
}

static void *netwatch_main(void *arg)
{
	struct pollfd pfd[2] = {
		{ .fd = nl_socket_get_fd(nw.events), .events = POLLIN },
		{ .fd = nw.stop_fd, .events = POLLIN },
	};
	int ret;

	(void)arg;
	for (;;) {
		ret = poll(pfd, 2, -1);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0 || pfd[1].revents)
			break;
		nw.seen = false;
		/* Everything queued now is one change. */
		do {
			ret = nl_recvmsgs_default(nw.events);
		} while (ret >= 0 && poll(pfd, 1, 0) > 0);
		if (ret == -NLE_NOMEM)
			nw.seen = true;	/* overrun: something changed */
		if (nw.seen)
			netwatch_update();
	}
	return NULL;
}

static void netwatch_free(void)
{
	if (nw.links)
		nl_cache_free(nw.links);
	if (nw.query)
		nl_socket_free(nw.query);
	if (nw.events)
		nl_socket_free(nw.events);
	if (nw.stop_fd >= 0)
		close(nw.stop_fd);
	nw.links = NULL;
	nw.query = nw.events = NULL;
	nw.stop_fd = -1;
}

int netwatch_start(void)
{
	int ret;

	if (nw.running)
		return 0;
	nw.events = nl_socket_alloc();
	nw.query = nl_socket_alloc();
	nw.stop_fd = eventfd(0, EFD_CLOEXEC);
	if (!nw.events || !nw.query || nw.stop_fd < 0) {
		ret = -ENOMEM;
		goto err;
	}
	nl_socket_disable_seq_check(nw.events);
	nl_socket_modify_cb(nw.events, NL_CB_VALID, NL_CB_CUSTOM, note_event,
			    NULL);
	ret = nl_connect(nw.events, NETLINK_ROUTE);
	if (!ret)
		ret = nl_socket_add_memberships(nw.events, RTNLGRP_LINK,
						RTNLGRP_IPV4_IFADDR,
						RTNLGRP_IPV6_IFADDR,
						RTNLGRP_IPV4_ROUTE,
						RTNLGRP_IPV6_ROUTE, 0);
	if (!ret)
		ret = nl_socket_set_nonblocking(nw.events);
	if (!ret)
		ret = nl_connect(nw.query, NETLINK_ROUTE);
	if (!ret)
		ret = rtnl_link_alloc_cache(nw.query, AF_UNSPEC, &nw.links);
	if (ret) {
		log_warn("network: cannot watch rtnetlink (%s): network changes will only be noticed by timeouts",
			 nl_geterror(ret));
		ret = -EIO;
		goto err;
	}
	__atomic_store_n(&nw.online, links_online(), __ATOMIC_RELAXED);
	ret = -pthread_create(&nw.thread, NULL, netwatch_main, NULL);
	if (ret)
		goto err;
	pthread_mutex_lock(&nw.lock);
	nw.running = true;
	pthread_mutex_unlock(&nw.lock);
	log_debug("network: watching links, addresses and routes (%s)",
		  nw.online ? "online" : "offline");
	return 0;
err:
	netwatch_free();
	return ret;
}

void netwatch_stop(void)
{
	uint64_t one = 1;

	if (!nw.running)
		return;
	if (write(nw.stop_fd, &one, sizeof(one)) != sizeof(one))
		log_warn("network: cannot stop the watcher: %s", strerror(errno));
	pthread_join(nw.thread, NULL);
	pthread_mutex_lock(&nw.lock);
	nw.running = false;
	nw.online = true;
	pthread_cond_broadcast(&nw.changed);
	pthread_mutex_unlock(&nw.lock);
	netwatch_free();
	nr_links_seen = 0;
}
