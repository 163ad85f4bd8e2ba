// SPDX-License-Identifier: GPL-2.0
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/compiler.h"
#include "http_client.h"
#include "http_net.h"
#include "lib/log.h"

#define HTTP_POOL_MAX		64
#define HTTP_AGAIN_MAX		4	/* immediate re-tries per call */
#define HTTP_RETRY_AFTER_MAX_S	30

struct http_client {
	struct http_config cfg;
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	pthread_mutex_t lock;		/* pool and proxy state */
	CURL *pool[HTTP_POOL_MAX];
	unsigned int nr_pool;
	time_t proxy_down_until;
	unsigned int seed;
	uint64_t *connections;
	struct http_client_stats stats;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- the client ---- */

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access,
		       void *arg)
{
	struct http_client *c = arg;

	(void)h, (void)access;
	pthread_mutex_lock(&c->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *arg)
{
	struct http_client *c = arg;

	(void)h;
	pthread_mutex_unlock(&c->share_locks[data]);
}

int http_client_create(struct http_config *cfg, uint64_t *connections,
		       struct http_client **out)
{
	struct http_client *c;
	unsigned int i;

	if (curl_dl_load())
		return -ENOENT;
	pthread_once(&curl_once, curl_init);
	if (curl_init_result != CURLE_OK)
		return -EIO;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	/* The client takes over the configuration's allocations. */
	c->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg));
	c->connections = connections;
	pthread_mutex_init(&c->lock, NULL);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->share_locks[i], NULL);
	c->seed = (unsigned int)time(NULL) ^ (unsigned int)(uintptr_t)c;
	c->share = curl_share_init();
	if (!c->share) {
		http_client_destroy(c);
		return -ENOMEM;
	}
	curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	*out = c;
	return 0;
}

void http_client_destroy(struct http_client *c)
{
	unsigned int i;

	if (!c)
		return;
	for (i = 0; i < c->nr_pool; i++)
		curl_easy_cleanup(c->pool[i]);
	if (c->share)
		curl_share_cleanup(c->share);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&c->share_locks[i]);
	pthread_mutex_destroy(&c->lock);
	http_config_release(&c->cfg);
	free(c);
}

void http_client_stats(struct http_client *c, struct http_client_stats *st)
{
	st->requests = counter_read(&c->stats.requests);
	st->retries = counter_read(&c->stats.retries);
	st->proxy_fallbacks = counter_read(&c->stats.proxy_fallbacks);
}

static CURL *handle_get(struct http_client *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->lock);
	if (c->nr_pool)
		h = c->pool[--c->nr_pool];
	pthread_mutex_unlock(&c->lock);
	if (h) {
		curl_easy_reset(h);
		return h;
	}
	return curl_easy_init();
}

static void handle_put(struct http_client *c, CURL *h)
{
	pthread_mutex_lock(&c->lock);
	if (c->nr_pool < HTTP_POOL_MAX) {
		c->pool[c->nr_pool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	if (h)
		curl_easy_cleanup(h);
}

/*
 * The proxy to use now, copied (the API may change it at any time), or
 * NULL to go direct.
 */
static char *proxy_in_use(struct http_client *c)
{
	char *url = NULL;

	pthread_mutex_lock(&c->lock);
	if (c->cfg.proxy_url && time(NULL) >= c->proxy_down_until)
		url = strdup(c->cfg.proxy_url);
	pthread_mutex_unlock(&c->lock);
	return url;
}

static void proxy_mark_down(struct http_client *c)
{
	unsigned int interval;

	pthread_mutex_lock(&c->lock);
	interval = MAX(1U, c->cfg.proxy_check_interval_s);
	c->proxy_down_until = time(NULL) + interval;
	if (c->cfg.proxy_url)
		log_warn("proxy %s is down: going direct for %u s",
			 c->cfg.proxy_url, interval);
	pthread_mutex_unlock(&c->lock);
	counter_add(&c->stats.proxy_fallbacks, 1);
}

int http_client_set_proxy(struct http_client *c, const char *url)
{
	char *copy = NULL;

	if (url && *url) {
		copy = strdup(url);
		if (!copy)
			return -ENOMEM;
	}
	pthread_mutex_lock(&c->lock);
	free(c->cfg.proxy_url);
	c->cfg.proxy_url = copy;
	c->proxy_down_until = 0;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

/* ---- one transfer ---- */

void http_response_reset(struct http_response *resp)
{
	free(resp->location);
	free(resp->www_authenticate);
	memset(resp, 0, sizeof(*resp));
	resp->content_length = -1;
}

struct body_sink {
	CURL *h;
	struct http_call *call;
	struct http_response *resp;
	bool decided;
	enum { SINK_RANGE, SINK_WHOLE, SINK_ERROR } mode;
	uint64_t pos;			/* body bytes seen */
	size_t snippet_len;
	bool done_early;
};

int http_parse_content_range(const char *v, uint64_t *first, uint64_t *last,
			     uint64_t *total)
{
	unsigned long long a, b, t;
	char star;

	if (sscanf(v, "bytes %llu-%llu/%llu", &a, &b, &t) == 3) {
		*total = t;
	} else if (sscanf(v, "bytes %llu-%llu/%c", &a, &b, &star) == 3 &&
		   star == '*') {
		*total = 0;
	} else {
		return -EINVAL;
	}
	if (b < a)
		return -EINVAL;
	*first = a;
	*last = b;
	return 0;
}

static const char *header_value(CURL *h, const char *name)
{
	struct curl_header *hdr;

	if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &hdr) != CURLHE_OK)
		return NULL;
	return hdr->value;
}

static void sink_decide(struct body_sink *s)
{
	struct http_call *call = s->call;
	uint64_t first, last, total;
	const char *cr;
	long status = 0;

	s->decided = true;
	curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
	if (status == 206 && call->ranged) {
		cr = header_value(s->h, "Content-Range");
		if (!cr || http_parse_content_range(cr, &first, &last, &total) ||
		    first != call->off || last != call->off + call->len - 1) {
			snprintf(s->resp->error, sizeof(s->resp->error),
				 "206 with Content-Range '%s' for bytes %" PRIu64 "-%" PRIu64,
				 cr ? cr : "(none)", call->off,
				 call->off + call->len - 1);
			s->resp->data_error = -EIO;
			return;
		}
		s->resp->range_total = total;
		s->mode = SINK_RANGE;
	} else if (status == 200) {
		/* A server that ignores Range: take our part of the whole. */
		s->mode = call->ranged ? SINK_WHOLE : SINK_RANGE;
	} else {
		s->mode = SINK_ERROR;
	}
}

/* Body bytes of our range: into the buffer, or to the consumer. */
static int sink_deliver(struct body_sink *s, const char *data, size_t n)
{
	struct http_call *call = s->call;
	int ret;

	if (call->consume) {
		ret = call->consume(call->consume_ctx, data, n);
		if (ret < 0) {
			s->resp->consume_error = ret;
			return ret;
		}
	} else {
		memcpy((char *)call->buf + s->resp->got, data, n);
	}
	s->resp->got += n;
	return 0;
}

static size_t sink_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct body_sink *s = arg;
	struct http_call *call = s->call;
	size_t n = size * nmemb, skip, take;

	if (!s->decided)
		sink_decide(s);
	if (s->resp->data_error || s->resp->consume_error)
		return 0;
	switch (s->mode) {
	case SINK_RANGE:
		if (s->resp->got + n > call->len) {
			snprintf(s->resp->error, sizeof(s->resp->error),
				 "body longer than the %" PRIu64 " bytes asked for",
				 call->len);
			s->resp->data_error = -EIO;
			return 0;
		}
		if (sink_deliver(s, data, n))
			return 0;
		break;
	case SINK_WHOLE:
		skip = s->pos < call->off ? MIN(n, call->off - s->pos) : 0;
		take = MIN(n - skip, call->len - s->resp->got);
		if (take && sink_deliver(s, data + skip, take))
			return 0;
		s->pos += n;
		if (s->resp->got == call->len) {
			/* The rest of the blob is of no use: stop here. */
			s->done_early = true;
			return 0;
		}
		break;
	case SINK_ERROR:
		take = MIN(n, sizeof(s->resp->error) - 1 - s->snippet_len);
		for (skip = 0; skip < take; skip++) {
			char ch = data[skip];

			/* A log line stays one line of printable text. */
			s->resp->error[s->snippet_len++] =
				ch >= 0x20 && ch < 0x7f ? ch : ' ';
		}
		s->resp->error[s->snippet_len] = '\0';
		break;
	}
	return n;
}

static void collect_headers(CURL *h, struct http_response *resp)
{
	curl_off_t cl = -1, ra = 0;
	const char *v;

	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	if (!curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl))
		resp->content_length = cl;
	if (!curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra))
		resp->retry_after_s = ra;
	v = header_value(h, "Location");
	if (v)
		resp->location = strdup(v);
	v = header_value(h, "WWW-Authenticate");
	if (v)
		resp->www_authenticate = strdup(v);
	if (!resp->range_total) {
		uint64_t first, last, total;

		v = header_value(h, "Content-Range");
		if (v && !http_parse_content_range(v, &first, &last, &total))
			resp->range_total = total;
	}
}

static void setup_handle(struct http_client *c, CURL *h,
			 struct http_call *call, struct body_sink *sink,
			 char *range, size_t rangelen, const char *proxy)
{
	curl_easy_setopt(h, CURLOPT_SHARE, c->share);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_URL, call->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, call->headers);
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)c->cfg.connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->cfg.timeout_ms);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "fscached/" FSCACHED_VERSION);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->cfg.skip_verify ? 0L : 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->cfg.skip_verify ? 0L : 2L);
	if (c->cfg.ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->cfg.ca_file);
	if (c->cfg.resolve)
		curl_easy_setopt(h, CURLOPT_RESOLVE, c->cfg.resolve);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	/* Only the configured proxy, never one from the environment. */
	curl_easy_setopt(h, CURLOPT_PROXY, proxy ? proxy : "");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, sink->resp->error);
	if (!strcmp(call->method, "HEAD")) {
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	} else {
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
		if (call->ranged) {
			snprintf(range, rangelen, "%" PRIu64 "-%" PRIu64,
				 call->off, call->off + call->len - 1);
			curl_easy_setopt(h, CURLOPT_RANGE, range);
		}
	}
}

static void http_perform(struct http_client *c, struct http_call *call)
{
	struct http_response *resp = &call->resp;
	struct body_sink sink = { .call = call, .resp = resp };
	struct http_net_watch net;
	char range[64];
	char *proxy = proxy_in_use(c);
	CURLcode rc;
	CURL *h;

	http_response_reset(resp);
	resp->via_proxy = proxy != NULL;
	h = handle_get(c);
	if (!h) {
		free(proxy);
		resp->curl_code = CURLE_OUT_OF_MEMORY;
		return;
	}
	sink.h = h;
	/* curl copies the strings it is given. */
	setup_handle(c, h, call, &sink, range, sizeof(range), proxy);
	http_net_setup(h, &net);
	free(proxy);
	counter_add(&c->stats.requests, 1);
	http_net_hold(c->cfg.timeout_ms);
	rc = curl_easy_perform(h);
	if (rc == CURLE_WRITE_ERROR && sink.done_early)
		rc = CURLE_OK;
	resp->curl_code = rc;
	if (rc == CURLE_OK || rc == CURLE_WRITE_ERROR)
		collect_headers(h, resp);
	if (c->connections) {
		long conns = 0;

		if (!curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns) && conns > 0)
			counter_add(c->connections, conns);
	}
	if (rc != CURLE_OK && !resp->error[0])
		snprintf(resp->error, sizeof(resp->error), "%s",
			 curl_easy_strerror(rc));
	if (rc != CURLE_OK)
		resp->net_again = http_net_again(&net, rc, c->cfg.timeout_ms);
	/* The callback must not outlive @net. */
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 1L);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, NULL);
	handle_put(c, h);
}

/* ---- verdicts and retries ---- */

static bool proxy_failed(const struct http_response *resp)
{
	return resp->via_proxy &&
	       (resp->curl_code == CURLE_COULDNT_CONNECT ||
		resp->curl_code == CURLE_COULDNT_RESOLVE_PROXY ||
		resp->curl_code == CURLE_RECV_ERROR ||
		resp->curl_code == CURLE_SEND_ERROR ||
		resp->curl_code == CURLE_GOT_NOTHING ||
		(resp->curl_code == CURLE_OK && resp->status == 502));
}

static enum http_verdict default_verdict(struct http_call *call)
{
	struct http_response *resp = &call->resp;

	if (resp->consume_error) {
		call->error = resp->consume_error;
		return HTTP_FAIL;
	}
	if (resp->curl_code == CURLE_OPERATION_TIMEDOUT) {
		call->error = -ETIMEDOUT;
		return HTTP_RETRY;
	}
	if (resp->curl_code != CURLE_OK || resp->data_error) {
		call->error = -EIO;
		return HTTP_RETRY;
	}
	if (resp->status >= 200 && resp->status < 300) {
		if (!strcmp(call->method, "GET") && !call->up_to_len &&
		    resp->got != call->len) {
			snprintf(resp->error, sizeof(resp->error),
				 "short body: %" PRIu64 " of %" PRIu64 " bytes",
				 resp->got, call->len);
			call->error = -EIO;
			return HTTP_RETRY;
		}
		return HTTP_DONE;
	}
	if (resp->status == 429 || resp->status >= 500) {
		call->error = -EIO;
		return HTTP_RETRY;
	}
	switch (resp->status) {
	case 404:
		call->error = -ENOENT;
		break;
	case 401:
	case 403:
		call->error = -EACCES;
		break;
	case 416:
		call->error = -EINVAL;
		break;
	default:
		call->error = -EIO;
	}
	return HTTP_FAIL;
}

static unsigned int backoff_ms(struct http_client *c, unsigned int attempt,
			       long retry_after_s)
{
	unsigned int base = c->cfg.retry_delay_ms, delay;

	if (retry_after_s > 0)
		return MIN(retry_after_s, HTTP_RETRY_AFTER_MAX_S) * 1000;
	delay = base << MIN(attempt, 16U);
	delay = MIN(delay, c->cfg.retry_max_delay_ms);
	/* Full jitter in [delay/2, delay]: clients that failed together
	 * do not come back together. */
	return delay / 2 + rand_r(&c->seed) % (delay / 2 + 1);
}

/* A streamed GET goes on after what was consumed already. */
static void call_resume(struct http_call *call)
{
	uint64_t got = call->resp.got;

	if (!call->consume || !got || got >= call->len)
		return;
	call->off += got;
	call->len -= got;
}

int http_call_run(struct http_client *c, struct http_call *call)
{
	unsigned int retries = 0, agains = 0;
	enum http_verdict v;
	int ret;

	memset(&call->resp, 0, sizeof(call->resp));
	call->attempts = 0;
	for (;;) {
		curl_slist_free_all(call->headers);
		call->headers = NULL;
		ret = call->prepare(call);
		if (ret)
			return ret;
		call->error = 0;
		call->attempts++;
		http_perform(c, call);

		/* Every byte of a streamed range arrived: never again. */
		if (call->consume && call->len && call->resp.got == call->len &&
		    !call->resp.data_error && !call->resp.consume_error)
			return 0;
		/* A network change: not the server's fault, no retry spent. */
		if (call->resp.net_again && !call->resp.consume_error &&
		    ++agains <= HTTP_AGAIN_MAX) {
			call_resume(call);
			continue;
		}
		if (c->cfg.proxy_fallback && proxy_failed(&call->resp)) {
			proxy_mark_down(c);
			if (++agains <= HTTP_AGAIN_MAX) {
				call_resume(call);
				continue;
			}
		}
		v = call->inspect ? call->inspect(call, &call->resp)
				  : HTTP_DEFAULT;
		if (v == HTTP_DEFAULT)
			v = default_verdict(call);
		switch (v) {
		case HTTP_DONE:
			return 0;
		case HTTP_AGAIN:
			if (++agains <= HTTP_AGAIN_MAX) {
				call_resume(call);
				continue;
			}
			return call->error ? call->error : -EIO;
		case HTTP_RETRY:
			if (retries >= c->cfg.retry_limit)
				return call->error ? call->error : -EIO;
			call_resume(call);
			counter_add(&c->stats.retries, 1);
			/* Never the query: signed URLs carry credentials. */
			log_debug("%s %.*s: %s (status %ld); retry %u of %u",
				  call->method, (int)strcspn(call->url, "?"),
				  call->url, call->resp.error,
				  call->resp.status, retries + 1,
				  c->cfg.retry_limit);
			sleep_ms(backoff_ms(c, retries,
					    call->resp.retry_after_s));
			retries++;
			continue;
		case HTTP_FAIL:
		default:
			return call->error ? call->error : -EIO;
		}
	}
}

void http_call_release(struct http_call *call)
{
	curl_slist_free_all(call->headers);
	call->headers = NULL;
	free(call->url);
	call->url = NULL;
	http_response_reset(&call->resp);
}

int http_call_set_url(struct http_call *call, const char *fmt, ...)
{
	va_list ap;
	char *url;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&url, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	free(call->url);
	call->url = url;
	return 0;
}

int http_call_add_header(struct http_call *call, const char *fmt, ...)
{
	struct curl_slist *l;
	char line[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -E2BIG;
	l = curl_slist_append(call->headers, line);
	if (!l)
		return -ENOMEM;
	call->headers = l;
	explicit_bzero(line, sizeof(line));
	return 0;
}
