// SPDX-License-Identifier: GPL-2.0
/*
 * fscachectl: talk to a running fscached through its API socket.
 *
 *   fscachectl [--sock PATH] [--json] status | metrics
 */
#include <curl/curl.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
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

/* GET @path; returns the parsed JSON body, or NULL after saying why. */
static struct json_object *api_get(const char *sock, const char *path)
{
	struct reply r = { 0 };
	struct json_object *o = NULL;
	char url[512], err[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode rc;
	CURL *h;

	h = curl_easy_init();
	if (!h)
		return NULL;
	snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(h, CURLOPT_URL, url);
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

static void usage(FILE *f)
{
	fprintf(f,
"Usage: fscachectl [--sock PATH] [--json] COMMAND\n"
"\n"
"  status     the daemon's id, version and state\n"
"  metrics    cache, read-ahead, prefetch and backend counters\n"
"\n"
"  --sock PATH   the daemon's --apisock (default $FSCACHED_APISOCK or %s)\n"
"  --json        print the API's JSON instead of a table\n", DEFAULT_SOCK);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "sock", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sock = getenv("FSCACHED_APISOCK");
	bool json = false;
	int c, ret;

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
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (!strcmp(argv[optind], "status")) {
		ret = cmd_status(sock, json);
	} else if (!strcmp(argv[optind], "metrics")) {
		ret = cmd_metrics(sock, json);
	} else {
		fprintf(stderr, "fscachectl: unknown command '%s'\n", argv[optind]);
		usage(stderr);
		ret = 2;
	}
	curl_global_cleanup();
	return ret;
}
