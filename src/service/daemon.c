// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/cache.h"
#include "lib/compiler.h"
#include "config/config.h"
#include "daemon.h"
#include "frontend/frontend.h"
#include "backend/netwatch.h"
#include "notify.h"

#ifndef FSCACHED_VERSION
#define FSCACHED_VERSION "unknown"
#endif

#define STATS_INTERVAL_MS	5000

static void daemon_set_state(struct daemon *d, const char *state)
{
	__atomic_store_n(&d->state, state, __ATOMIC_RELEASE);
}

/*
 * An image bound through the API is served by its own configuration;
 * anything else by the one of --config or --blob-dir, if there is one.
 */
static int resolve_blob(void *ctx, const char *domain, const char *blob_id,
			struct blob_source *src)
{
	struct daemon *d = ctx;
	const struct local_image *li = NULL;
	unsigned int i;
	int ret;

	ret = bindings_resolve_source(&d->bindings, domain, blob_id, src);
	if (ret != -ENOENT || !d->config)
		return ret;
	memset(src, 0, sizeof(*src));
	pthread_mutex_lock(&d->config_lock);
	for (i = 0; i < d->nr_images && !li; i++)
		if (!strcmp(d->images[i].fsid, blob_id) ||
		    bootstrap_blob_index(&d->images[i].img, blob_id) >= 0)
			li = &d->images[i];
	if (li && !strcmp(li->fsid, blob_id)) {
		ret = blob_source_bootstrap(src, d->config, &li->img, li->path);
		goto out;
	}
	ret = -ENOMEM;
	src->cfg = config_dup(d->config);
	if (!src->cfg)
		goto out;
	/* A data blob of a --bootstrap image: through its chunk map. */
	ret = li ? bootstrap_blob_source(&li->img, blob_id, src) : 0;
out:
	pthread_mutex_unlock(&d->config_lock);
	return ret;
}

/* Begin a clean shutdown, whatever the daemon is doing. */
static void daemon_stop(struct daemon *d)
{
	pthread_mutex_lock(&d->lock);
	d->stopping = true;
	if (d->fe)
		d->fe->ops->stop(d->fe);
	pthread_cond_broadcast(&d->attached);
	pthread_mutex_unlock(&d->lock);
}

/* Whether cachefiles failed for want of on-demand mode, not for a fault. */
static bool no_ondemand_mode(int err)
{
	return err == -EINVAL || err == -EOPNOTSUPP || err == -ENOENT ||
	       err == -ENODEV || err == -ENXIO;
}

/*
 * Open the front end: bind it, or take over @held_fd, the device or group
 * fd a previous daemon served. "auto" tries cachefiles where the device is
 * there, then fanotify. Called with d->lock held.
 */
static int daemon_attach_locked(struct daemon *d, int held_fd, bool quiet_busy)
{
	struct frontend_options fo = {
		.cache_dir = d->opts.cache_dir,
		.tag = d->opts.tag,
		.held_fd = held_fd,
		.quiet_busy = quiet_busy,
		.limits = d->opts.limits,
		.threads = d->opts.threads,
		.readahead = (uint64_t)d->opts.readahead_kb << 10,
		.fetch_unit = (uint64_t)d->opts.fetch_unit_kb << 10,
		.factory = &d->factory,
		.resolve = resolve_blob,
		.resolve_ctx = d,
	};
	const char *name = d->opts.frontend ? d->opts.frontend : "auto";
	const struct frontend_ops *ops;
	struct frontend *fe;
	char why[256];
	int ret;

	ops = frontend_choose(name, held_fd, why, sizeof(why));
	if (!ops) {
		if (!frontend_find("cachefiles"))
			log_error("this fscached was built without front ends (NO_FSCACHE=1)");
		else
			log_error("--frontend %s: %s", name, why);
		if (held_fd >= 0)
			close(held_fd);
		return -EOPNOTSUPP;
	}
	log_info("front end %s: %s", ops->name, why);
	ret = ops->open(&fo, &fe);
	if (ret && !strcmp(name, "auto") && held_fd < 0 &&
	    ops == frontend_find("cachefiles") && no_ondemand_mode(ret)) {
		log_info("front end fanotify: cachefiles has no on-demand mode here (%s); fanotify serves instead",
			 strerror(-ret));
		ops = frontend_find("fanotify");
		ret = ops->open(&fo, &fe);
	}
	if (ret)
		return ret;
	/* Before the first request is read: it may be for a restored image. */
	handover_load_state(&d->handover, held_fd >= 0);
	if (handover_to_service_manager(ops->held_fd(fe)) > 0)
		d->fe_held = true;
	d->fe = fe;
	if (d->stopping)
		ops->stop(fe);
	pthread_cond_broadcast(&d->attached);
	return 0;
}

static int daemon_attach(struct daemon *d, int held_fd, bool quiet_busy)
{
	int ret;

	pthread_mutex_lock(&d->lock);
	ret = daemon_attach_locked(d, held_fd, quiet_busy);
	pthread_mutex_unlock(&d->lock);
	return ret;
}

static int api_takeover(void *ctx, char *why, size_t len)
{
	struct daemon *d = ctx;
	int ret, fd = -1;

	pthread_mutex_lock(&d->lock);
	if (!d->opts.upgrade || d->fe || d->stopping) {
		snprintf(why, len, "%s", !d->opts.upgrade ?
			 "only a daemon started with --upgrade takes over" :
			 d->fe ? "the cache device is ours already" :
			 "the daemon is stopping");
		ret = -EBUSY;
		goto out;
	}
	ret = handover_take_from_supervisor(&d->handover, &fd);
	if (ret) {
		snprintf(why, len, "cannot take the cache device from the supervisor at %s: %s",
			 d->opts.supervisor, strerror(-ret));
		goto out;
	}
	ret = daemon_attach_locked(d, fd, false);
	if (ret)
		snprintf(why, len, "cannot restore the cache device: %s (the log says why)",
			 strerror(-ret));
	else
		daemon_set_state(d, "READY");
out:
	pthread_mutex_unlock(&d->lock);
	return ret;
}

static int api_sendfd(void *ctx, char *why, size_t len)
{
	struct daemon *d = ctx;
	int ret;

	if (!d->opts.supervisor) {
		snprintf(why, len, "the daemon was started without --supervisor");
		return -EINVAL;
	}
	pthread_mutex_lock(&d->lock);
	if (d->fe) {
		ret = handover_send_to_supervisor(&d->handover,
						  d->fe->ops->held_fd(d->fe));
		if (ret)
			snprintf(why, len, "cannot reach the supervisor at %s: %s",
				 d->opts.supervisor, strerror(-ret));
		else
			d->fe_held = true;
	} else {
		snprintf(why, len, "no cache device yet (waiting for a takeover)");
		ret = -EBUSY;
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

static int api_daemon_start(void *ctx, char *why, size_t len)
{
	struct daemon *d = ctx;
	int ret = 0;

	pthread_mutex_lock(&d->lock);
	if (!d->fe) {
		snprintf(why, len, "nothing to start: take over first");
		ret = -EBUSY;
	} else if (!strcmp(d->state, "READY")) {
		daemon_set_state(d, "RUNNING");
	}
	pthread_mutex_unlock(&d->lock);
	return ret;
}

static int api_cull(void *ctx, const char *blob_id, char *why, size_t len)
{
	struct daemon *d = ctx;
	int ret = -EAGAIN;

	pthread_mutex_lock(&d->lock);
	if (d->fe)
		ret = d->fe->ops->cull_blob(d->fe, blob_id);
	else
		snprintf(why, len, "no cache device yet");
	pthread_mutex_unlock(&d->lock);
	return ret;
}

/*
 * The front end, once attached. It stays until daemon_run() has stopped the
 * API, so an API call may use it without d->lock.
 */
static struct frontend *daemon_frontend(struct daemon *d)
{
	struct frontend *fe;

	pthread_mutex_lock(&d->lock);
	fe = d->fe;
	pthread_mutex_unlock(&d->lock);
	return fe;
}

/*
 * POST /api/v1/mount: the image's own configuration, or the daemon's
 * (--config, --blob-dir) when the request has none.
 */
static int api_mount(void *ctx, const char *mountpoint, const char *source,
		     const char *fs_type, const char *config, char *why,
		     size_t len)
{
	struct frontend_mount m = {
		.mountpoint = mountpoint,
		.source = source,
		.fs_type = fs_type,
	};
	struct fscached_config *cfg = NULL;
	struct daemon *d = ctx;
	char err[CONFIG_ERR_MAX];
	struct frontend *fe;
	int ret;

	if (config) {
		ret = config_parse_string(config, &cfg, err, sizeof(err));
		if (ret) {
			snprintf(why, len, "bad config: %s", err);
			return -EINVAL;
		}
	} else {
		pthread_mutex_lock(&d->config_lock);
		cfg = d->config ? config_dup(d->config) : NULL;
		pthread_mutex_unlock(&d->config_lock);
		if (!cfg) {
			snprintf(why, len, "no \"config\" in the request, and the daemon has none (start it with --config or --blob-dir)");
			return -EINVAL;
		}
	}
	m.cfg = cfg;
	fe = daemon_frontend(d);
	if (!fe) {
		snprintf(why, len, "no front end yet");
		ret = -EBUSY;
	} else if (!fe->ops->mount) {
		snprintf(why, len, "the %s front end does not mount: the kernel does (mount -t erofs -o fsid=...); start with --frontend fanotify for daemon mounts",
			 fe->ops->name);
		ret = -EOPNOTSUPP;
	} else {
		/* Unlocked: a mount may wait for its backend a long time. */
		ret = fe->ops->mount(fe, &m, why, len);
	}
	config_free(cfg);
	return ret;
}

static int api_umount(void *ctx, const char *mountpoint, char *why, size_t len)
{
	struct frontend *fe = daemon_frontend(ctx);

	if (!fe || !fe->ops->umount) {
		snprintf(why, len, "this daemon's front end does not mount");
		return -EOPNOTSUPP;
	}
	return fe->ops->umount(fe, mountpoint, why, len);
}

static struct json_object *api_mounts(void *ctx)
{
	struct json_object *o = NULL;
	struct daemon *d = ctx;

	pthread_mutex_lock(&d->lock);
	if (d->fe && d->fe->ops->mounts_json)
		o = d->fe->ops->mounts_json(d->fe);
	pthread_mutex_unlock(&d->lock);
	return o;
}

/*
 * New credentials or proxy: for the blobs already open (their managers'
 * backends) and for those opened later (the configurations they come from).
 */
static int api_update_config(void *ctx, const char *id,
			     const struct config_update *u)
{
	struct daemon *d = ctx;
	struct json_object *patch;
	unsigned int n = 0;

	pthread_mutex_lock(&d->config_lock);
	patch = d->config ? config_apply_update(d->config, id, u) : NULL;
	pthread_mutex_unlock(&d->config_lock);
	if (patch) {
		json_object_put(patch);
		n++;
	}
	n += bindings_update_configs(&d->bindings, id, u);
	n += factory_update_backends(&d->factory, id, u);
	if (n)
		log_info("configuration%s%s updated through the API (%u place%s)",
			 id ? " " : "s", id ? id : "", n, n == 1 ? "" : "s");
	return n ? (int)n : -ENOENT;
}

static struct json_object *network_stats_json(void)
{
	struct json_object *o = json_object_new_object();
	struct netwatch_stats st;

	netwatch_get_stats(&st);
	json_object_object_add(o, "watching", json_object_new_uint64(st.running));
	json_object_object_add(o, "online", json_object_new_uint64(st.online));
	json_object_object_add(o, "changes", json_object_new_uint64(st.changes));
	json_object_object_add(o, "held_fetches", json_object_new_uint64(st.held));
	json_object_object_add(o, "restarted_transfers",
			       json_object_new_uint64(st.restarted));
	return o;
}

static struct json_object *stats_json(struct daemon *d)
{
	struct json_object *root, *fe;

	factory_check(&d->factory);
	root = json_object_new_object();
	fe = json_object_new_object();
	pthread_mutex_lock(&d->lock);
	if (d->fe) {
		json_object_object_add(fe, "type",
				       json_object_new_string(d->fe->ops->name));
		d->fe->ops->stats_json(d->fe, fe);
	}
	pthread_mutex_unlock(&d->lock);
	json_object_object_add(root, "frontend", fe);
	json_object_object_add(root, "network", network_stats_json());
	json_object_object_add(root, "factory", factory_stats_json(&d->factory));
	return root;
}

static void write_stats(struct daemon *d)
{
	char tmp[PATH_MAX];
	struct json_object *root;
	const char *text;
	int fd;

	if (!d->opts.stats_file) {
		root = stats_json(d);
		log_info("stats: %s", json_object_to_json_string_ext(root,
				     JSON_C_TO_STRING_PLAIN));
		json_object_put(root);
		return;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", d->opts.stats_file) >=
	    (int)sizeof(tmp))
		return;
	root = stats_json(d);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    fsync(fd) || rename(tmp, d->opts.stats_file))
		log_error("cannot write stats to %s: %s", d->opts.stats_file,
			  strerror(errno));
	if (fd >= 0)
		close(fd);
	json_object_put(root);
}

static void *signal_thread(void *arg)
{
	struct daemon *d = arg;
	int sig;

	for (;;) {
		if (sigwait(&d->signals, &sig))
			continue;
		if (sig == SIGUSR1) {
			write_stats(d);
			continue;
		}
		log_info("got signal %d (%s), shutting down", sig,
			 strsignal(sig));
		daemon_stop(d);
		return NULL;
	}
}

static void block_signals(struct daemon *d)
{
	sigemptyset(&d->signals);
	sigaddset(&d->signals, SIGINT);
	sigaddset(&d->signals, SIGTERM);
	sigaddset(&d->signals, SIGHUP);
	sigaddset(&d->signals, SIGUSR1);
	/* Every thread created after this inherits the mask. */
	pthread_sigmask(SIG_BLOCK, &d->signals, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static struct json_object *api_info(void *ctx)
{
	struct daemon *d = ctx;
	struct json_object *o = json_object_new_object();
	struct json_object *v = json_object_new_object();

	json_object_object_add(v, "package_ver",
			       json_object_new_string(FSCACHED_VERSION));
	json_object_object_add(v, "git_commit",
			       json_object_new_string(FSCACHED_VERSION));
	json_object_object_add(v, "build_time",
			       json_object_new_string(__DATE__ " " __TIME__));
	json_object_object_add(v, "profile", json_object_new_string("release"));
	json_object_object_add(o, "id",
			       json_object_new_string(d->opts.id ? d->opts.id
								 : "fscached"));
	json_object_object_add(o, "version", v);
	json_object_object_add(o, "supervisor", d->opts.supervisor ?
			       json_object_new_string(d->opts.supervisor) : NULL);
	json_object_object_add(o, "state", json_object_new_string(
		__atomic_load_n(&d->state, __ATOMIC_ACQUIRE)));
	return o;
}

static struct json_object *api_stats(void *ctx)
{
	return stats_json(ctx);
}

static void api_exit(void *ctx)
{
	daemon_stop(ctx);
}

static int start_api(struct daemon *d)
{
	int ret;

	if (!d->opts.apisock)
		return 0;
	d->api_ops = (struct api_daemon){
		.ctx = d,
		.info = api_info,
		.stats = api_stats,
		.exit = api_exit,
		.start = api_daemon_start,
		.sendfd = api_sendfd,
		.takeover = api_takeover,
		.cull = api_cull,
		.update_config = api_update_config,
		.mount = api_mount,
		.umount = api_umount,
		.mounts = api_mounts,
		.bindings = &d->bindings,
	};
	ret = api_start(d->opts.apisock, &d->api_ops, &d->api);
	if (ret)
		log_error("cannot serve the API on %s: %s%s", d->opts.apisock,
			  strerror(-ret),
			  ret == -EADDRINUSE ? " (another daemon answers there)" :
			  ret == -EEXIST ? " (a file that is not a socket is in the way)" : "");
	return ret;
}

static void notify_ready(void)
{
	int ret = service_notify("READY=1");

	if (ret < 0)
		log_warn("cannot tell the service manager we are ready ($NOTIFY_SOCKET): %s",
			 strerror(-ret));
}

/* Until the API's takeover has attached the device, or a stop. */
static int daemon_wait_takeover(struct daemon *d)
{
	log_info("waiting for PUT /api/v1/daemon/fuse/takeover on %s",
		 d->opts.apisock);
	pthread_mutex_lock(&d->lock);
	while (!d->fe && !d->stopping)
		pthread_cond_wait(&d->attached, &d->lock);
	pthread_mutex_unlock(&d->lock);
	return d->fe ? 0 : -ECANCELED;
}

/*
 * The cache device: kept for us by systemd, handed over by the supervisor
 * (--upgrade: now, or when the API asks), or opened and bound afresh.
 */
static int daemon_get_device(struct daemon *d)
{
	bool supervised = d->opts.supervisor && d->opts.apisock;
	int ret, fd;

	if (d->opts.upgrade && !d->opts.apisock) {
		if (handover_take_from_supervisor(&d->handover, &fd))
			return -ENODEV;
		return daemon_attach(d, fd, false);
	}
	if (d->opts.upgrade)
		return daemon_wait_takeover(d);
	ret = daemon_attach(d, handover_from_service_manager(), supervised);
	if (ret != -EBUSY || !supervised)
		return ret;
	/*
	 * nydus-snapshotter restarts a dead nydusd with its first command
	 * line, no --upgrade, then asks for a takeover: its supervisor holds
	 * the device, which is why it is busy.
	 */
	log_info("the cache is busy: the supervisor at %s holds the cache device (or fanotify group) of a daemon that stopped; taking it over when asked",
		 d->opts.supervisor);
	pthread_mutex_lock(&d->lock);
	d->opts.upgrade = true;
	pthread_mutex_unlock(&d->lock);
	/* Only now may the API ask for the takeover. */
	ret = start_api(d);
	return ret ? ret : daemon_wait_takeover(d);
}

static int daemon_serve(struct daemon *d)
{
	int ret;

	ret = factory_start_checker(&d->factory, STATS_INTERVAL_MS);
	if (ret) {
		log_error("cannot start threads: %s", strerror(-ret));
		return ret;
	}
	if (!d->opts.upgrade || !d->opts.apisock)
		daemon_set_state(d, "RUNNING");
	log_info("fscached %s ready: cache %s, %u workers, backend %s (%.1f ms after main)",
		 FSCACHED_VERSION, d->opts.cache_dir, d->opts.threads,
		 d->config ? d->config->backend_type : "per image (API)",
		 (monotonic_us() - d->start_us) / 1000.0);
	notify_ready();
	ret = d->fe->ops->run(d->fe);
	if (d->opts.stats_file)
		write_stats(d);
	return ret;
}

int daemon_run(struct daemon *d)
{
	int ret;

	block_signals(d);
	pthread_mutex_init(&d->lock, NULL);
	pthread_mutex_init(&d->config_lock, NULL);
	pthread_cond_init(&d->attached, NULL);
	factory_init(&d->factory);
	bindings_init(&d->bindings);
	/* Without it, network changes are noticed by timeouts: not fatal. */
	netwatch_start();
	daemon_set_state(d, "INIT");
	ret = handover_init(&d->handover, d->opts.cache_dir,
			    d->opts.supervisor, &d->bindings);
	if (ret)
		goto out;
	ret = -pthread_create(&d->signal_thread, NULL, signal_thread, d);
	if (ret) {
		log_error("cannot start threads: %s", strerror(-ret));
		goto out;
	}
	/*
	 * With --upgrade the takeover comes through the API: serve it first.
	 * Otherwise once the device is ours (or known to be the supervisor's).
	 */
	if (d->opts.upgrade)
		ret = start_api(d);
	if (!ret)
		ret = daemon_get_device(d);
	if (!ret && !d->api)
		ret = start_api(d);
	if (!ret)
		ret = daemon_serve(d);
	/* Stopped while waiting for a takeover: a clean stop all the same. */
	if (ret == -ECANCELED)
		ret = 0;
	/* Stopped by the API or an error: the signal thread may still wait. */
	pthread_cancel(d->signal_thread);
	pthread_join(d->signal_thread, NULL);
out:
	daemon_set_state(d, "STOPPED");
	api_server_stop(d->api);
	if (d->fe)
		d->fe->ops->close(d->fe, d->fe_held);
	factory_destroy(&d->factory);
	netwatch_stop();
	bindings_destroy(&d->bindings);
	pthread_cond_destroy(&d->attached);
	pthread_mutex_destroy(&d->config_lock);
	pthread_mutex_destroy(&d->lock);
	log_info("fscached stopped");
	return ret ? 1 : 0;
}
