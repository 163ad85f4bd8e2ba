// SPDX-License-Identifier: GPL-2.0
/*
 * fscachectl: talk to a running fscached through its API socket.
 *
 *   fscachectl [--sock PATH] [--json] status | metrics | blobs
 *   fscachectl [--sock PATH] bind FSID CONFIG [--domain D] [--bootstrap P]
 *   fscachectl [--sock PATH] unbind FSID [--domain D]
 *   fscachectl [--sock PATH] mount BOOTSTRAP DIR [--config F] [--fs-type T]
 *   fscachectl [--sock PATH] umount DIR | mounts
 *
 * Called as mount.fscached (a link to it), it is mount(8)'s helper for
 * "mount -t fscached BOOTSTRAP DIR -o config=FILE[,apisock=PATH]".
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SOCK	"/run/fscached/api.sock"
#define MAX_REPLY	(1 << 20)

struct reply {
	char *data;
	size_t len;
};

static size_t reply_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct reply *r = arg;
	size_t n = size * nmemb;
	char *p;

	if (r->len + n > MAX_REPLY)
		return 0;
	p = realloc(r->data, r->len + n + 1);
	if (!p)
		return 0;
	memcpy(p + r->len, data, n);
	r->data = p;
	r->len += n;
	p[r->len] = '\0';
	return n;
}

/*
 * @method @path with an optional JSON @body. Returns the parsed reply
 * (or an empty object for 204), or NULL after saying why.
 */
static struct json_object *api_call(const char *sock, const char *method,
				    const char *path, const char *body)
{
	struct reply r = { 0 };
	struct json_object *o = NULL;
	char url[1024], err[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode rc;
	CURL *h;

	h = curl_easy_init();
	if (!h)
		return NULL;
	snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (body)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, reply_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK) {
		fprintf(stderr, "fscachectl: cannot reach fscached at %s: %s (is it running with --apisock %s?)\n",
			sock, err[0] ? err : curl_easy_strerror(rc), sock);
		goto out;
	}
	if (status == 204) {
		o = json_object_new_object();
		goto out;
	}
	o = r.data ? json_tokener_parse(r.data) : NULL;
	if (status != 200 || !o) {
		fprintf(stderr, "fscachectl: %s: HTTP %ld: %s\n", path, status,
			r.data ? r.data : "(no body)");
		json_object_put(o);
		o = NULL;
	}
out:
	free(r.data);
	return o;
}

static struct json_object *api_get(const char *sock, const char *path)
{
	return api_call(sock, "GET", path, NULL);
}

static uint64_t u64(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ?
	       json_object_get_uint64(v) : 0;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) ?
	       json_object_get_string(v) : "-";
}

static double mib(uint64_t bytes)
{
	return bytes / 1048576.0;
}

static int cmd_status(const char *sock, bool json)
{
	struct json_object *o = api_get(sock, "/api/v1/daemon"), *v;

	if (!o)
		return 1;
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	} else {
		printf("%-10s %s\n", "id", str(o, "id"));
		if (json_object_object_get_ex(o, "version", &v))
			printf("%-10s %s\n", "version", str(v, "package_ver"));
		printf("%-10s %s\n", "state", str(o, "state"));
	}
	json_object_put(o);
	return 0;
}

static int cmd_metrics(const char *sock, bool json)
{
	struct json_object *bc = api_get(sock, "/api/v1/metrics/blobcache");
	struct json_object *be = bc ? api_get(sock, "/api/v1/metrics/backend") : NULL;
	struct json_object *t;
	uint64_t size;

	if (!bc || !be) {
		json_object_put(bc);
		return 1;
	}
	if (json) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "blobcache", bc);
		json_object_object_add(o, "backend", be);
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
		json_object_put(o);
		return 0;
	}
	if (!json_object_object_get_ex(bc, "fscached", &t))
		t = bc;
	size = u64(t, "blob_bytes");
	printf("%-26s %" PRIu64 "\n", "blobs open", u64(t, "blobs"));
	printf("%-26s %.1f MiB\n", "size of open blobs", mib(size));
	printf("%-26s %" PRIu64 " (%.1f MiB)\n", "demand fills", u64(t, "fills"),
	       mib(u64(t, "fill_bytes")));
	printf("%-26s %" PRIu64 " (%.1f MiB)\n", "read-ahead fills",
	       u64(t, "readahead_fills"), mib(u64(t, "readahead_bytes")));
	printf("%-26s %" PRIu64 " (%.1f MiB", "prefetched pieces",
	       u64(t, "prefetch_fills"), mib(u64(t, "prefetch_bytes")));
	if (size)
		printf(", %.0f%% of the open blobs",
		       100.0 * u64(t, "prefetch_bytes") / size);
	printf(")\n");
	printf("%-26s %" PRIu64 "\n", "prefetch errors", u64(t, "prefetch_errors"));
	printf("%-26s %" PRIu64 "\n", "fill errors", u64(t, "errors"));
	printf("%-26s %" PRIu64 " (%.1f MiB, %" PRIu64 " errors)\n",
	       "backend reads", u64(be, "read_count"),
	       mib(u64(be, "read_amount_total")), u64(be, "read_errors"));
	json_object_put(bc);
	json_object_put(be);
	return 0;
}

static int cmd_blobs(const char *sock, bool json)
{
	struct json_object *arr = api_get(sock, "/api/v2/blobs"), *o, *b;
	size_t i, j;

	if (!arr)
		return 1;
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY));
	} else {
		printf("%-20s %-40s %-10s %s\n", "DOMAIN", "IMAGE", "BACKEND", "DATA BLOBS");
		for (i = 0; i < json_object_array_length(arr); i++) {
			o = json_object_array_get_idx(arr, i);
			printf("%-20s %-40s %-10s", str(o, "domain_id"), str(o, "id"),
			       str(o, "backend_type"));
			if (json_object_object_get_ex(o, "blobs", &b))
				for (j = 0; j < json_object_array_length(b); j++)
					printf(" %s", json_object_get_string(
						json_object_array_get_idx(b, j)));
			printf("\n");
		}
	}
	json_object_put(arr);
	return 0;
}

/* bind FSID CONFIG_FILE [--domain D] [--bootstrap PATH] */
/* The JSON document in @path, or NULL after saying why. */
static struct json_object *config_file(const char *path)
{
	struct json_object *o = json_object_from_file(path);

	if (!o)
		fprintf(stderr, "fscachectl: %s: %s\n", path,
			json_util_get_last_err());
	return o;
}

static int cmd_bind(const char *sock, const char *fsid, const char *config,
		    const char *domain, const char *bootstrap)
{
	struct json_object *body, *cfg, *reply;
	int ret = 1;

	cfg = config_file(config);
	if (!cfg)
		return 1;
	body = json_object_new_object();
	json_object_object_add(body, "type", json_object_new_string("bootstrap"));
	json_object_object_add(body, "id", json_object_new_string(fsid));
	if (domain)
		json_object_object_add(body, "domain_id", json_object_new_string(domain));
	if (bootstrap)
		json_object_object_add(body, "metadata_path",
				       json_object_new_string(bootstrap));
	json_object_object_add(body, "config_v2", cfg);
	reply = api_call(sock, "PUT", "/api/v2/blobs",
			 json_object_to_json_string(body));
	if (reply) {
		printf("bound %s in domain %s\n", fsid, domain ? domain : fsid);
		json_object_put(reply);
		ret = 0;
	}
	json_object_put(body);
	return ret;
}

static int cmd_unbind(const char *sock, const char *fsid, const char *domain)
{
	struct json_object *reply;
	char path[768];

	snprintf(path, sizeof(path), "/api/v2/blobs?domain_id=%s&blob_id=%s",
		 domain ? domain : fsid, fsid);
	reply = api_call(sock, "DELETE", path, NULL);
	if (!reply)
		return 1;
	json_object_put(reply);
	printf("unbound %s\n", fsid);
	return 0;
}

/* "?mountpoint=DIR" with DIR made absolute and escaped for the URL. */
static int mount_path(const char *dir, char *out, size_t len)
{
	char abs[PATH_MAX];
	char *esc;

	if (!realpath(dir, abs)) {
		fprintf(stderr, "fscachectl: mountpoint %s: %s\n", dir,
			strerror(errno));
		return -1;
	}
	esc = curl_easy_escape(NULL, abs, 0);
	if (!esc)
		return -1;
	snprintf(out, len, "/api/v1/mount?mountpoint=%s", esc);
	curl_free(esc);
	return 0;
}

/*
 * mount SOURCE DIR [--config FILE] [--fs-type rafs|erofs]: SOURCE is a
 * bootstrap file, or, with no '/' and naming no file, the blob id of a
 * whole EROFS image in the backend.
 */
static int cmd_mount(const char *sock, const char *source, const char *dir,
		     const char *config, const char *fs_type)
{
	struct json_object *body, *cfg = NULL, *reply;
	char abs[PATH_MAX], path[PATH_MAX * 3 + 64];
	int ret = 1;

	if (!realpath(source, abs)) {
		if (errno != ENOENT || strchr(source, '/')) {
			fprintf(stderr, "fscachectl: bootstrap %s: %s\n", source,
				strerror(errno));
			return 1;
		}
		snprintf(abs, sizeof(abs), "%s", source);
		if (!fs_type)
			fs_type = "erofs";
	}
	if (mount_path(dir, path, sizeof(path)))
		return 1;
	if (config && !(cfg = config_file(config)))
		return 1;
	body = json_object_new_object();
	json_object_object_add(body, "source", json_object_new_string(abs));
	if (fs_type)
		json_object_object_add(body, "fs_type", json_object_new_string(fs_type));
	/* nydusd takes the config as JSON text inside a string. */
	if (cfg)
		json_object_object_add(body, "config", json_object_new_string(
			json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN)));
	reply = api_call(sock, "POST", path, json_object_to_json_string(body));
	if (reply) {
		json_object_put(reply);
		ret = 0;
	}
	json_object_put(body);
	json_object_put(cfg);
	return ret;
}

static int cmd_umount(const char *sock, const char *dir)
{
	struct json_object *reply;
	char path[PATH_MAX * 3 + 64];

	if (mount_path(dir, path, sizeof(path)))
		return 1;
	reply = api_call(sock, "DELETE", path, NULL);
	if (!reply)
		return 1;
	json_object_put(reply);
	return 0;
}

static int cmd_mounts(const char *sock, bool json)
{
	struct json_object *all = api_get(sock, "/api/v1/mount");

	if (!all)
		return 1;
	if (json) {
		printf("%s\n", json_object_to_json_string_ext(all, JSON_C_TO_STRING_PRETTY));
	} else {
		printf("%-32s %-6s %s\n", "MOUNTPOINT", "TYPE", "SOURCE");
		json_object_object_foreach(all, mp, m)
			printf("%-32s %-6s %s\n", mp, str(m, "fs_type"),
			       str(m, "source"));
	}
	json_object_put(all);
	return 0;
}

/*
 * mount(8)'s helper: mount.fscached SOURCE DIR [-sfnv] [-o OPTIONS], with
 * config=FILE, apisock=PATH and fs_type=T among the options; mount(8)'s
 * own (ro, defaults, nofail, _netdev, x-*...) are its business.
 */
static int mount_helper(int argc, char **argv)
{
	const char *sock = getenv("FSCACHED_APISOCK");
	const char *config = NULL, *fs_type = NULL;
	char *opts = NULL, *opt, *save = NULL;
	int c, ret;

	if (!sock || !*sock)
		sock = DEFAULT_SOCK;
	while ((c = getopt(argc, argv, "sfnvo:t:N:")) != -1)
		if (c == 'o')
			opts = strdup(optarg);
	if (optind != argc - 2) {
		fprintf(stderr, "Usage: mount.fscached BOOTSTRAP DIR [-o config=FILE,apisock=PATH,fs_type=rafs|erofs]\n");
		free(opts);
		return 1;
	}
	for (opt = opts ? strtok_r(opts, ",", &save) : NULL; opt;
	     opt = strtok_r(NULL, ",", &save)) {
		if (!strncmp(opt, "config=", 7))
			config = opt + 7;
		else if (!strncmp(opt, "apisock=", 8))
			sock = opt + 8;
		else if (!strncmp(opt, "fs_type=", 8))
			fs_type = opt + 8;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	ret = cmd_mount(sock, argv[optind], argv[optind + 1], config, fs_type);
	curl_global_cleanup();
	free(opts);
	/* mount(8)'s codes: 32 is "mount failure". */
	return ret ? 32 : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: fscachectl [--sock PATH] [--json] COMMAND [ARGS]\n"
"\n"
"  status     the daemon's id, version and state\n"
"  metrics    cache, read-ahead, prefetch and backend counters\n"
"  blobs      the images bound through the API\n"
"  bind FSID CONFIG.json [--domain D] [--bootstrap PATH]\n"
"             bind an image served by a ConfigV2 configuration; PATH is\n"
"             a local copy of its bootstrap, for its data blobs' names\n"
"  unbind FSID [--domain D]\n"
"  mount BOOTSTRAP DIR [--config CONFIG.json] [--fs-type rafs|erofs]\n"
"             have the daemon mount an image (the fanotify front end);\n"
"             without --config, the daemon's own configuration serves it\n"
"  umount DIR the same, undone\n"
"  mounts     the images the daemon has mounted\n"
"\n"
"  --sock PATH   the daemon's --apisock (default $FSCACHED_APISOCK or %s)\n"
"  --json        print the API's JSON instead of a table\n", DEFAULT_SOCK);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sock", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "domain", required_argument, NULL, 'd' },
		{ "bootstrap", required_argument, NULL, 'b' },
		{ "config", required_argument, NULL, 'c' },
		{ "fs-type", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = getenv("FSCACHED_APISOCK");
	const char *domain = NULL, *bootstrap = NULL, *config = NULL;
	const char *fs_type = NULL, *cmd, *name;
	bool json = false;
	int c, ret;

	name = strrchr(argv[0], '/');
	if (!strcmp(name ? name + 1 : argv[0], "mount.fscached"))
		return mount_helper(argc, argv);

	if (!sock || !*sock)
		sock = DEFAULT_SOCK;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sock = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'd':
			domain = optarg;
			break;
		case 'b':
			bootstrap = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 't':
			fs_type = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind++];
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!strcmp(cmd, "status") && optind == argc) {
		ret = cmd_status(sock, json);
	} else if (!strcmp(cmd, "metrics") && optind == argc) {
		ret = cmd_metrics(sock, json);
	} else if (!strcmp(cmd, "blobs") && optind == argc) {
		ret = cmd_blobs(sock, json);
	} else if (!strcmp(cmd, "bind") && optind == argc - 2) {
		ret = cmd_bind(sock, argv[optind], argv[optind + 1], domain,
			       bootstrap);
	} else if (!strcmp(cmd, "unbind") && optind == argc - 1) {
		ret = cmd_unbind(sock, argv[optind], domain);
	} else if (!strcmp(cmd, "mount") && optind == argc - 2) {
		ret = cmd_mount(sock, argv[optind], argv[optind + 1], config,
				fs_type);
	} else if (!strcmp(cmd, "umount") && optind == argc - 1) {
		ret = cmd_umount(sock, argv[optind]);
	} else if (!strcmp(cmd, "mounts") && optind == argc) {
		ret = cmd_mounts(sock, json);
	} else {
		fprintf(stderr, "fscachectl: '%s': unknown command or wrong arguments\n",
			cmd);
		usage(stderr);
		ret = 2;
	}
	curl_global_cleanup();
	return ret;
}
