// SPDX-License-Identifier: GPL-2.0
/*
 * fscached: serves the kernel's fscache/cachefiles on-demand requests from
 * a blob backend. This file only parses options and wires the modules.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <json-c/json.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "config/config.h"
#include "service/daemon.h"
#include "lib/log.h"

#ifndef FSCACHED_VERSION
#define FSCACHED_VERSION "unknown"
#endif

#define DEFAULT_THREADS		4
#define DEFAULT_READAHEAD_KB	16384
#define MAX_READAHEAD_KB	(1024 * 1024)
#define DEFAULT_FETCH_UNIT_KB	1024
#define MAX_FETCH_UNIT_KB	(64 * 1024)
#define MAX_THREADS		1024
#define MAX_RLIMIT_NOFILE	(16 * 1024 * 1024)

static void usage(FILE *out)
{
	fprintf(out,
"Usage: fscached [singleton] --fscache DIR [options]\n"
"\n"
"Serve EROFS and nydus images lazily: over the kernel's fscache on-demand\n"
"mode, or over fanotify pre-content events on file-backed EROFS mounts.\n"
"\n"
"  --fscache DIR          cache directory (on ext4, xfs or btrfs)\n"
"  --frontend NAME        cachefiles, fanotify or auto (default): auto takes\n"
"                         cachefiles where the kernel has on-demand mode\n"
"  --fscache-tag TAG      cachefiles tag of this cache\n"
"  --fscache-threads N    request workers (default %d)\n"
"  --cache-limits SPEC    cull unused cache files when the cache filesystem\n"
"                         runs low: brun=10%%,bcull=7%%,bstop=3%%,frun=10%%,\n"
"                         fcull=7%%,fstop=3%% (cachefilesd's), or off\n"
"  --readahead-kb N       fetch N KiB ahead of sequential readers\n"
"                         (default %d, 0: off)\n"
"  --fetch-unit-kb N      fetch whole aligned N KiB units, a power of two\n"
"                         from 4 to %d (default %d)\n"
"  --blob-dir DIR         serve blobs from files in DIR, named by blob id\n"
"  --bootstrap FILE       a nydus (RAFS v6) image's bootstrap, mounted as\n"
"                         fsid=<its file name>; its data blobs come from\n"
"                         --blob-dir or --config through their chunk maps\n"
"  --config FILE          nydus ConfigV2-style JSON configuration\n"
"  --stats-file FILE      where SIGUSR1 writes the counters as JSON\n"
"  --apisock PATH         serve the control API (nydusd's) on this unix socket\n"
"  --id ID                the daemon's id in the API\n"
"  --supervisor PATH      a supervisor (nydus-snapshotter's) keeps the cache\n"
"                         device and our states there, for a restart\n"
"  --upgrade              take the cache device over from the supervisor\n"
"                         (at once, or on PUT /api/v1/daemon/fuse/takeover)\n"
"  --log-file FILE        append the log to FILE instead of stderr\n"
"  --log-rotation-size N  accepted for nydusd's command line, ignored\n"
"                         (rotate --log-file with logrotate, copytruncate)\n"
"  --rlimit-nofile N      raise the open-file limit to N\n"
"  --log-level LEVEL      error, warn, info (default), debug, trace\n"
"  -h, --help             this text\n"
"  -V, --version          print the version\n"
"\n"
"Then (cachefiles): mount -t erofs none -o fsid=<blob id>[,domain_id=<domain>] <dir>\n"
"     (fanotify):   fscachectl mount BOOTSTRAP DIR, or POST /api/v1/mount\n",
		DEFAULT_THREADS, DEFAULT_READAHEAD_KB, MAX_FETCH_UNIT_KB,
		DEFAULT_FETCH_UNIT_KB);
}

static int parse_uint(const char *s, unsigned int max, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max || s[0] == '-')
		return -EINVAL;
	*out = v;
	return 0;
}

/*
 * cachefilesd's limits: "brun=10%,bcull=7%,bstop=3%,frun=...", any of
 * them, or "off"; stop < cull < run < 100 in each group.
 */
static int parse_cache_limits(const char *spec, struct cache_limits *l)
{
	static const char *const names[] = {
		"brun", "bcull", "bstop", "frun", "fcull", "fstop", NULL,
	};
	unsigned int *vals[] = { &l->brun, &l->bcull, &l->bstop, &l->frun,
				 &l->fcull, &l->fstop };
	char *copy, *item, *save = NULL, *eq, *pct;
	int i, ret = 0;

	if (!strcmp(spec, "off")) {
		l->off = true;
		return 0;
	}
	copy = strdup(spec);
	if (!copy)
		return -ENOMEM;
	for (item = strtok_r(copy, ",", &save); item && !ret;
	     item = strtok_r(NULL, ",", &save)) {
		eq = strchr(item, '=');
		if (eq)
			*eq++ = '\0';
		for (i = 0; names[i] && strcmp(names[i], item); i++)
			;
		pct = eq ? strchr(eq, '%') : NULL;
		if (pct && !pct[1])
			*pct = '\0';
		if (!eq || !names[i] || parse_uint(eq, 99, vals[i])) {
			fprintf(stderr, "fscached: --cache-limits: '%s' is not NAME=N%% with NAME one of brun, bcull, bstop, frun, fcull, fstop and N below 100 (or 'off')\n",
				item);
			ret = -EINVAL;
		}
	}
	free(copy);
	if (!ret && !(l->bstop < l->bcull && l->bcull < l->brun &&
		      l->fstop < l->fcull && l->fcull < l->frun)) {
		fprintf(stderr, "fscached: --cache-limits: needs bstop < bcull < brun and fstop < fcull < frun (now %u/%u/%u and %u/%u/%u)\n",
			l->bstop, l->bcull, l->brun, l->fstop, l->fcull, l->frun);
		ret = -EINVAL;
	}
	l->off = false;
	return ret;
}

static int parse_args(int argc, char **argv, struct daemon_opts *o)
{
	enum { OPT_TAG = 256, OPT_THREADS, OPT_CONFIG, OPT_BLOB_DIR,
	       OPT_LOG_LEVEL, OPT_STATS_FILE, OPT_READAHEAD, OPT_FETCH_UNIT,
	       OPT_APISOCK, OPT_ID, OPT_LOG_FILE, OPT_RLIMIT_NOFILE,
	       OPT_SUPERVISOR, OPT_UPGRADE, OPT_LOG_ROTATION, OPT_CACHE_LIMITS,
	       OPT_BOOTSTRAP, OPT_FRONTEND };
	static const struct option longopts[] = {
		{ "fscache", required_argument, NULL, 'F' },
		{ "fscache-tag", required_argument, NULL, OPT_TAG },
		{ "frontend", required_argument, NULL, OPT_FRONTEND },
		{ "fscache-threads", required_argument, NULL, OPT_THREADS },
		{ "readahead-kb", required_argument, NULL, OPT_READAHEAD },
		{ "fetch-unit-kb", required_argument, NULL, OPT_FETCH_UNIT },
		{ "config", required_argument, NULL, OPT_CONFIG },
		{ "blob-dir", required_argument, NULL, OPT_BLOB_DIR },
		{ "bootstrap", required_argument, NULL, OPT_BOOTSTRAP },
		{ "stats-file", required_argument, NULL, OPT_STATS_FILE },
		{ "apisock", required_argument, NULL, OPT_APISOCK },
		{ "id", required_argument, NULL, OPT_ID },
		{ "supervisor", required_argument, NULL, OPT_SUPERVISOR },
		{ "upgrade", no_argument, NULL, OPT_UPGRADE },
		{ "log-rotation-size", required_argument, NULL, OPT_LOG_ROTATION },
		{ "cache-limits", required_argument, NULL, OPT_CACHE_LIMITS },
		{ "log-file", required_argument, NULL, OPT_LOG_FILE },
		{ "rlimit-nofile", required_argument, NULL, OPT_RLIMIT_NOFILE },
		{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->limits = (struct cache_limits)CACHE_LIMITS_DEFAULT;
	o->threads = DEFAULT_THREADS;
	o->readahead_kb = DEFAULT_READAHEAD_KB;
	o->fetch_unit_kb = DEFAULT_FETCH_UNIT_KB;
	o->level = LOG_INFO;
	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'F':
			o->cache_dir = optarg;
			break;
		case OPT_TAG:
			o->tag = optarg;
			break;
		case OPT_FRONTEND:
			if (strcmp(optarg, "auto") && strcmp(optarg, "cachefiles") &&
			    strcmp(optarg, "fanotify")) {
				fprintf(stderr, "fscached: --frontend: '%s' is not one of cachefiles, fanotify, auto\n",
					optarg);
				return -EINVAL;
			}
			o->frontend = optarg;
			break;
		case OPT_THREADS:
			if (parse_uint(optarg, MAX_THREADS, &o->threads) ||
			    !o->threads) {
				fprintf(stderr, "fscached: --fscache-threads: '%s' is not a number from 1 to %d\n",
					optarg, MAX_THREADS);
				return -EINVAL;
			}
			break;
		case OPT_READAHEAD:
			if (parse_uint(optarg, MAX_READAHEAD_KB, &o->readahead_kb)) {
				fprintf(stderr, "fscached: --readahead-kb: '%s' is not a number from 0 to %d\n",
					optarg, MAX_READAHEAD_KB);
				return -EINVAL;
			}
			break;
		case OPT_FETCH_UNIT:
			if (parse_uint(optarg, MAX_FETCH_UNIT_KB, &o->fetch_unit_kb) ||
			    o->fetch_unit_kb < 4 ||
			    (o->fetch_unit_kb & (o->fetch_unit_kb - 1))) {
				fprintf(stderr, "fscached: --fetch-unit-kb: '%s' is not a power of two from 4 to %d\n",
					optarg, MAX_FETCH_UNIT_KB);
				return -EINVAL;
			}
			break;
		case OPT_APISOCK:
			o->apisock = optarg;
			break;
		case OPT_ID:
			o->id = optarg;
			break;
		case OPT_SUPERVISOR:
			o->supervisor = optarg;
			break;
		case OPT_UPGRADE:
			o->upgrade = true;
			break;
		case OPT_CACHE_LIMITS:
			if (parse_cache_limits(optarg, &o->limits))
				return -EINVAL;
			break;
		case OPT_BOOTSTRAP:
			if (o->nr_bootstraps == DAEMON_MAX_BOOTSTRAPS) {
				fprintf(stderr, "fscached: --bootstrap: at most %d images\n",
					DAEMON_MAX_BOOTSTRAPS);
				return -EINVAL;
			}
			o->bootstraps[o->nr_bootstraps++] = optarg;
			break;
		case OPT_LOG_ROTATION:
			/*
			 * nydus-snapshotter passes nydusd's option by default;
			 * rotating --log-file is logrotate's job here.
			 */
			break;
		case OPT_LOG_FILE:
			o->log_file = optarg;
			break;
		case OPT_RLIMIT_NOFILE:
			if (parse_uint(optarg, MAX_RLIMIT_NOFILE, &o->rlimit_nofile) ||
			    !o->rlimit_nofile) {
				fprintf(stderr, "fscached: --rlimit-nofile: '%s' is not a number from 1 to %d\n",
					optarg, MAX_RLIMIT_NOFILE);
				return -EINVAL;
			}
			break;
		case OPT_CONFIG:
			o->config_path = optarg;
			break;
		case OPT_BLOB_DIR:
			o->blob_dir = optarg;
			break;
		case OPT_STATS_FILE:
			o->stats_file = optarg;
			break;
		case OPT_LOG_LEVEL:
			if (log_parse_level(optarg, &o->level)) {
				fprintf(stderr, "fscached: --log-level: '%s' is not one of error, warn, info, debug, trace\n",
					optarg);
				return -EINVAL;
			}
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("fscached %s\n", FSCACHED_VERSION);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	/* nydusd's command line starts with a subcommand: accept its one. */
	if (optind < argc && !strcmp(argv[optind], "singleton"))
		optind++;
	if (optind < argc) {
		fprintf(stderr, "fscached: unexpected argument '%s' (see --help)\n",
			argv[optind]);
		return -EINVAL;
	}
	if (o->upgrade && !o->supervisor) {
		fprintf(stderr, "fscached: --upgrade takes the cache device over from a supervisor: give --supervisor PATH too\n");
		return -EINVAL;
	}
	return 0;
}

/*
 * nydusd's --log-file and --rlimit-nofile: the log goes to the file (and
 * so does anything a library prints on stderr), and the open-file limit
 * rises, as far as the hard limit and our privileges allow.
 */
static int apply_process_options(const struct daemon_opts *o)
{
	struct rlimit rl;
	int fd;

	if (o->log_file) {
		fd = open(o->log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			  0640);
		if (fd < 0) {
			fprintf(stderr, "fscached: --log-file %s: %s\n",
				o->log_file, strerror(errno));
			return -errno;
		}
		if (dup2(fd, STDERR_FILENO) < 0) {
			fprintf(stderr, "fscached: --log-file %s: %s\n",
				o->log_file, strerror(errno));
			close(fd);
			return -EIO;
		}
		close(fd);
	}
	if (o->rlimit_nofile) {
		rl.rlim_cur = rl.rlim_max = o->rlimit_nofile;
		if (setrlimit(RLIMIT_NOFILE, &rl) &&
		    (getrlimit(RLIMIT_NOFILE, &rl) ||
		     (rl.rlim_cur = MIN(rl.rlim_max, (rlim_t)o->rlimit_nofile),
		      setrlimit(RLIMIT_NOFILE, &rl))))
			log_warn("cannot raise the open-file limit to %u: %s",
				 o->rlimit_nofile, strerror(errno));
	}
	return 0;
}

/* --bootstrap: each image's bootstrap, read once at the start. */
static int load_images(struct daemon *d)
{
	const struct daemon_opts *o = &d->opts;
	char err[512], path[PATH_MAX];
	struct local_image *li;
	const char *base;
	unsigned int i;
	int ret;

	if (!o->nr_bootstraps)
		return 0;
	if (!d->config) {
		fprintf(stderr, "fscached: --bootstrap needs --blob-dir or --config to serve its data blobs\n");
		return -EINVAL;
	}
	d->images = calloc(o->nr_bootstraps, sizeof(*d->images));
	if (!d->images)
		return -ENOMEM;
	for (i = 0; i < o->nr_bootstraps; i++) {
		li = &d->images[i];
		if (!realpath(o->bootstraps[i], path)) {
			fprintf(stderr, "fscached: --bootstrap %s: %s\n",
				o->bootstraps[i], strerror(errno));
			return -errno;
		}
		ret = bootstrap_read(path, d->config->validate, &li->img, err,
				     sizeof(err));
		if (ret) {
			fprintf(stderr, "fscached: --bootstrap %s: %s\n",
				o->bootstraps[i], err);
			return ret;
		}
		base = strrchr(path, '/') + 1;
		li->fsid = strdup(base);
		li->path = strdup(path);
		if (!li->fsid || !li->path)
			return -ENOMEM;
		d->nr_images++;
		log_info("image %s: %u data blobs%s, mounted as fsid=%s", path,
			 li->img.nr_blobs, li->img.rafs ? " (RAFS v6)" : "",
			 li->fsid);
	}
	return 0;
}

static void free_images(struct daemon *d)
{
	unsigned int i;

	for (i = 0; d->images && i < d->opts.nr_bootstraps; i++) {
		free(d->images[i].fsid);
		free(d->images[i].path);
		bootstrap_info_free(&d->images[i].img);
	}
	free(d->images);
}

static int load_config(struct daemon *d)
{
	struct daemon_opts *o = &d->opts;
	char err[CONFIG_ERR_MAX], dir[PATH_MAX];
	int ret;

	if (o->config_path && o->blob_dir) {
		fprintf(stderr, "fscached: --blob-dir and --config both choose a backend; give one of them\n");
		return -EINVAL;
	}
	if (o->config_path) {
		ret = config_parse_file(o->config_path, &d->config, err,
					sizeof(err));
	} else if (o->blob_dir) {
		if (!realpath(o->blob_dir, dir)) {
			fprintf(stderr, "fscached: --blob-dir %s: %s\n",
				o->blob_dir, strerror(errno));
			return -errno;
		}
		ret = config_new_localfs("default", dir, "fscache", &d->config,
					 err, sizeof(err));
	} else if (o->apisock) {
		/* Images come through PUT /api/v2/blobs, as with nydusd. */
		ret = 0;
	} else {
		fprintf(stderr, "fscached: no blobs to serve: give --blob-dir DIR, --config FILE, or --apisock PATH to bind images through the API (see --help)\n");
		return -EINVAL;
	}
	if (ret) {
		fprintf(stderr, "fscached: configuration error: %s\n",
			ret == -EINVAL ? err : strerror(-ret));
		return ret;
	}
	if (d->config && strcmp(d->config->cache_type, "fscache")) {
		fprintf(stderr, "fscached: configuration error: cache.type: '%s' cannot serve /dev/cachefiles; use \"fscache\"\n",
			d->config->cache_type);
		return -EINVAL;
	}
	if (!o->cache_dir && d->config)
		o->cache_dir = d->config->work_dir;
	if (!o->cache_dir) {
		fprintf(stderr, "fscached: no cache directory: give --fscache DIR (or cache.fscache.work_dir in the config)\n");
		return -EINVAL;
	}
	if (o->cache_dir[0] != '/') {
		fprintf(stderr, "fscached: --fscache %s: must be an absolute path\n",
			o->cache_dir);
		return -EINVAL;
	}
	if (d->config && d->config->work_dir &&
	    strcmp(d->config->work_dir, o->cache_dir))
		log_warn("cache.fscache.work_dir %s differs from --fscache %s; using %s",
			 d->config->work_dir, o->cache_dir, o->cache_dir);
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon d = { .start_us = monotonic_us() };
	int ret;

	if (parse_args(argc, argv, &d.opts))
		return 2;
	log_set_level(d.opts.level);
	if (apply_process_options(&d.opts))
		return 2;
	if (load_config(&d) || load_images(&d)) {
		free_images(&d);
		config_free(d.config);
		return 2;
	}
	ret = daemon_run(&d);
	free_images(&d);
	config_free(d.config);
	return ret;
}
