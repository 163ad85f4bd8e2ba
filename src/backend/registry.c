// SPDX-License-Identifier: GPL-2.0
/*
 * registry: blobs of an OCI/Docker registry, GET /v2/<repo>/blobs/sha256:<id>.
 *
 * Auth: anonymous; Basic ("auth" = base64 user:pass); a static
 * "registry_token"; or Bearer tokens obtained through the 401 challenge
 * (realm, service, scope) with the Basic credentials, cached until they
 * expire and fetched again on expiry or on a 401. Redirects (307 to blob
 * storage) are followed without our credentials and remembered per blob;
 * when a remembered target fails (expired signature: 403) we go back to the
 * registry. Mirrors are tried in order before the registry itself.
 */
#include <curl/curl.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/list.h"
#include "lib/log.h"
#include "remote.h"
#include "sign.h"
#include "www_auth.h"

#define REGISTRY_MAX_MIRRORS	8
#define TOKEN_BODY_MAX		(64 * 1024)
#define TOKEN_DEFAULT_TTL_S	60

struct registry_mirror {
	char *base;			/* scheme://host */
	struct curl_slist *headers;
};

struct registry {
	struct remote_backend rbe;
	char *base;			/* scheme://host */
	char *host;
	char *repo;
	char *basic;			/* base64 user:pass, or NULL */
	char *static_token;
	struct registry_mirror mirrors[REGISTRY_MAX_MIRRORS];
	unsigned int nr_mirrors;

	pthread_mutex_t lock;		/* the token */
	pthread_mutex_t fetch_lock;	/* one token fetch at a time */
	char *token;
	time_t token_expiry;
	unsigned long token_gen;
	struct www_auth challenge;	/* the last Bearer challenge */
	bool use_basic;
	uint64_t tokens_fetched;
};

struct registry_call {
	struct remote_call rc;
	char *redirect;			/* while opening (rc.rb is NULL) */
	bool via_redirect;
	unsigned int mirror;		/* == nr_mirrors: the registry */
	unsigned long token_gen;	/* of the token sent */
};

static int registry_prepare(struct http_call *call);
static enum http_verdict registry_inspect(struct http_call *call,
					  struct http_response *resp);
static void registry_opened(struct remote_call *rc, struct remote_blob *rb);
static void registry_call_release(struct remote_call *rc);

/* ---- configuration ---- */

static int registry_check_mirrors(struct json_object *m, const char *where,
				  char *err, size_t errlen)
{
	size_t i, n;

	if (!json_object_is_type(m, json_type_array)) {
		snprintf(err, errlen, "%s.mirrors: must be an array", where);
		return -EINVAL;
	}
	n = json_object_array_length(m);
	if (n > REGISTRY_MAX_MIRRORS) {
		snprintf(err, errlen, "%s.mirrors: at most %d", where,
			 REGISTRY_MAX_MIRRORS);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(m, i), *h;

		if (!json_object_is_type(o, json_type_object) ||
		    !remote_string(o, "host", NULL)) {
			snprintf(err, errlen, "%s.mirrors[%zu].host: missing",
				 where, i);
			return -EINVAL;
		}
		if (json_object_object_get_ex(o, "headers", &h) &&
		    !json_object_is_type(h, json_type_object)) {
			snprintf(err, errlen,
				 "%s.mirrors[%zu].headers: must be an object",
				 where, i);
			return -EINVAL;
		}
	}
	return 0;
}

static int registry_check_config(struct json_object *cfg, const char *where,
				 char *err, size_t errlen)
{
	static const char *const own[] = {
		"scheme", "host", "repo", "auth", "registry_token", "mirrors",
		"blob_url_scheme", "blob_redirected_host", NULL
	};
	static const char *const required[] = { "host", "repo", NULL };
	struct json_object *m;
	int ret;

	ret = remote_check_config(cfg, where, own, required, err, errlen);
	if (ret)
		return ret;
	if (remote_string(cfg, "blob_redirected_host", NULL) ||
	    remote_string(cfg, "blob_url_scheme", NULL)) {
		snprintf(err, errlen,
			 "%s: blob_redirected_host and blob_url_scheme are not supported; redirects are followed as the registry gives them",
			 where);
		return -EINVAL;
	}
	if (json_object_object_get_ex(cfg, "mirrors", &m))
		return registry_check_mirrors(m, where, err, errlen);
	return 0;
}

static void registry_destroy(struct backend *be)
{
	struct registry *reg = container_of(be, struct registry, rbe.be);
	unsigned int i;

	http_client_destroy(reg->rbe.client);
	for (i = 0; i < reg->nr_mirrors; i++) {
		free(reg->mirrors[i].base);
		curl_slist_free_all(reg->mirrors[i].headers);
	}
	if (reg->basic)
		explicit_bzero(reg->basic, strlen(reg->basic));
	if (reg->token)
		explicit_bzero(reg->token, strlen(reg->token));
	free(reg->basic);
	free(reg->static_token);
	free(reg->token);
	free(reg->base);
	free(reg->host);
	free(reg->repo);
	pthread_mutex_destroy(&reg->lock);
	pthread_mutex_destroy(&reg->fetch_lock);
	free(reg);
}

static int registry_add_mirrors(struct registry *reg, struct json_object *m,
				const char *scheme)
{
	size_t i;

	for (i = 0; i < json_object_array_length(m); i++) {
		struct json_object *o = json_object_array_get_idx(m, i), *h;
		struct registry_mirror *mir = &reg->mirrors[reg->nr_mirrors++];
		const char *host = remote_string(o, "host", "");

		if (strstr(host, "://"))
			mir->base = strdup(host);
		else if (asprintf(&mir->base, "%s://%s", scheme, host) < 0)
			mir->base = NULL;
		if (!mir->base)
			return -ENOMEM;
		if (json_object_object_get_ex(o, "headers", &h)) {
			json_object_object_foreach(h, key, val) {
				char line[1024];

				snprintf(line, sizeof(line), "%s: %s", key,
					 json_object_get_string(val));
				mir->headers = curl_slist_append(mir->headers,
								 line);
			}
		}
	}
	return 0;
}

static int registry_create(struct json_object *cfg, struct backend **out)
{
	const char *scheme = remote_string(cfg, "scheme", "https");
	struct json_object *m;
	struct registry *reg;
	int ret = -ENOMEM;

	reg = calloc(1, sizeof(*reg));
	if (!reg)
		return -ENOMEM;
	pthread_mutex_init(&reg->lock, NULL);
	pthread_mutex_init(&reg->fetch_lock, NULL);
	reg->host = strdup(remote_string(cfg, "host", ""));
	reg->repo = strdup(remote_string(cfg, "repo", ""));
	if (remote_string(cfg, "auth", NULL))
		reg->basic = strdup(remote_string(cfg, "auth", NULL));
	if (remote_string(cfg, "registry_token", NULL))
		reg->static_token = strdup(remote_string(cfg, "registry_token",
							 NULL));
	if (!reg->host || !reg->repo ||
	    asprintf(&reg->base, "%s://%s", scheme, reg->host) < 0)
		goto err;
	if (json_object_object_get_ex(cfg, "mirrors", &m)) {
		ret = registry_add_mirrors(reg, m, scheme);
		if (ret)
			goto err;
	}
	reg->rbe.name = "registry";
	reg->rbe.prepare = registry_prepare;
	reg->rbe.inspect = registry_inspect;
	reg->rbe.opened = registry_opened;
	reg->rbe.release = registry_call_release;
	ret = remote_client_create(cfg, &reg->rbe.be, &reg->rbe.client);
	if (ret)
		goto err;
	*out = &reg->rbe.be;
	return 0;
err:
	registry_destroy(&reg->rbe.be);
	return ret;
}

/* ---- tokens ---- */

struct token_call {
	struct http_call call;
	struct registry *reg;
	const struct www_auth *ch;
};

static int token_prepare(struct http_call *call)
{
	struct token_call *tc = container_of(call, struct token_call, call);
	char service[WWW_AUTH_VALUE_MAX * 3], scope[WWW_AUTH_VALUE_MAX * 3];
	char fallback[WWW_AUTH_VALUE_MAX];
	const char *sc = tc->ch->scope;
	int ret;

	if (!*sc) {
		snprintf(fallback, sizeof(fallback), "repository:%s:pull",
			 tc->reg->repo);
		sc = fallback;
	}
	if (sign_uri_encode(tc->ch->service, 0, service, sizeof(service)) ||
	    sign_uri_encode(sc, 0, scope, sizeof(scope)))
		return -E2BIG;
	ret = http_call_set_url(call, "%s%sservice=%s&scope=%s", tc->ch->realm,
				strchr(tc->ch->realm, '?') ? "&" : "?",
				service, scope);
	/* The API may change the credentials: use them under the lock. */
	pthread_mutex_lock(&tc->reg->lock);
	if (!ret && tc->reg->basic)
		ret = http_call_add_header(call, "Authorization: Basic %s",
					   tc->reg->basic);
	pthread_mutex_unlock(&tc->reg->lock);
	return ret;
}

static int token_parse(struct registry *reg, const char *body)
{
	long ttl = TOKEN_DEFAULT_TTL_S;
	char *token;
	int ret;

	ret = www_auth_parse_token(body, &token, &ttl);
	if (ret)
		return ret;
	pthread_mutex_lock(&reg->lock);
	free(reg->token);
	reg->token = token;
	/* Renew a little early so a request never carries a dying token. */
	reg->token_expiry = time(NULL) + ttl - (ttl >= 10 ? ttl / 10 : 1);
	reg->token_gen++;
	pthread_mutex_unlock(&reg->lock);
	counter_add(&reg->tokens_fetched, 1);
	return 0;
}

static bool registry_has_basic(struct registry *reg)
{
	bool has;

	pthread_mutex_lock(&reg->lock);
	has = reg->basic != NULL;
	pthread_mutex_unlock(&reg->lock);
	return has;
}

/*
 * Fetch a token for @ch, unless another thread already did so since the
 * token we used (@seen_gen) was handed out.
 */
static int registry_fetch_token(struct registry *reg,
				const struct www_auth *ch,
				unsigned long seen_gen)
{
	struct token_call tc = {
		.call = { .method = "GET", .up_to_len = true,
			  .len = TOKEN_BODY_MAX - 1, .prepare = token_prepare },
		.reg = reg, .ch = ch,
	};
	char *body;
	int ret;

	pthread_mutex_lock(&reg->fetch_lock);
	pthread_mutex_lock(&reg->lock);
	if (reg->token_gen != seen_gen && reg->token &&
	    reg->token_expiry > time(NULL)) {
		pthread_mutex_unlock(&reg->lock);
		pthread_mutex_unlock(&reg->fetch_lock);
		return 0;
	}
	reg->challenge = *ch;
	pthread_mutex_unlock(&reg->lock);

	body = calloc(1, TOKEN_BODY_MAX);
	if (!body) {
		pthread_mutex_unlock(&reg->fetch_lock);
		return -ENOMEM;
	}
	tc.call.buf = body;
	ret = http_call_run(reg->rbe.client, &tc.call);
	if (ret == -EACCES)
		log_error("registry %s: the token service %s refused %s (HTTP %ld): check \"auth\"",
			  reg->host, ch->realm,
			  registry_has_basic(reg) ? "our credentials" :
						    "anonymous access",
			  tc.call.resp.status);
	else if (ret)
		log_error("registry %s: token request to %s failed: %s (HTTP %ld: %s)",
			  reg->host, ch->realm, strerror(-ret),
			  tc.call.resp.status, tc.call.resp.error);
	if (!ret) {
		body[tc.call.resp.got] = '\0';
		ret = token_parse(reg, body);
		if (ret)
			log_error("registry %s: the token service %s answered without a token",
				  reg->host, ch->realm);
	}
	explicit_bzero(body, TOKEN_BODY_MAX);
	free(body);
	http_call_release(&tc.call);
	pthread_mutex_unlock(&reg->fetch_lock);
	return ret;
}

/* ---- blob requests ---- */

static struct registry_call *to_registry_call(struct http_call *call)
{
	return container_of(call, struct registry_call, rc.call);
}

static struct registry *registry_of(struct registry_call *rc)
{
	return container_of(rc->rc.rbe, struct registry, rbe);
}

static int registry_auth_header(struct registry_call *rc)
{
	struct registry *reg = registry_of(rc);
	struct www_auth ch;
	bool renew = false;
	int ret = 0;

	pthread_mutex_lock(&reg->lock);
	if (reg->token && reg->token_expiry <= time(NULL)) {
		renew = reg->challenge.realm[0] != '\0';
		ch = reg->challenge;
	}
	pthread_mutex_unlock(&reg->lock);
	if (renew)
		registry_fetch_token(reg, &ch, rc->token_gen);

	pthread_mutex_lock(&reg->lock);
	rc->token_gen = reg->token_gen;
	if (reg->token && reg->token_expiry > time(NULL))
		ret = http_call_add_header(&rc->rc.call,
					   "Authorization: Bearer %s",
					   reg->token);
	else if (reg->static_token)
		ret = http_call_add_header(&rc->rc.call,
					   "Authorization: Bearer %s",
					   reg->static_token);
	else if (reg->use_basic && reg->basic)
		ret = http_call_add_header(&rc->rc.call,
					   "Authorization: Basic %s",
					   reg->basic);
	pthread_mutex_unlock(&reg->lock);
	return ret;
}

static char *registry_redirect_get(struct registry_call *rc)
{
	struct remote_blob *rb = rc->rc.rb;
	char *url = NULL;

	if (!rb)
		return rc->redirect ? strdup(rc->redirect) : NULL;
	pthread_mutex_lock(&rb->lock);
	if (rb->redirect)
		url = strdup(rb->redirect);
	pthread_mutex_unlock(&rb->lock);
	return url;
}

static void registry_redirect_set(struct registry_call *rc, const char *url)
{
	struct remote_blob *rb = rc->rc.rb;
	char *copy = url ? strdup(url) : NULL;

	if (!rb) {
		free(rc->redirect);
		rc->redirect = copy;
		return;
	}
	pthread_mutex_lock(&rb->lock);
	free(rb->redirect);
	rb->redirect = copy;
	pthread_mutex_unlock(&rb->lock);
}

static int registry_prepare(struct http_call *call)
{
	struct registry_call *rc = to_registry_call(call);
	struct registry *reg = registry_of(rc);
	struct curl_slist *h;
	char *redirect;
	const char *base;
	int ret;

	redirect = registry_redirect_get(rc);
	rc->via_redirect = redirect != NULL;
	if (redirect) {
		/* Blob storage: a signed URL, never our registry credentials. */
		free(call->url);
		call->url = redirect;
		return 0;
	}
	base = rc->mirror < reg->nr_mirrors ? reg->mirrors[rc->mirror].base
					    : reg->base;
	ret = http_call_set_url(call, "%s/v2/%s/blobs/sha256:%s", base,
				reg->repo, rc->rc.id);
	if (ret)
		return ret;
	if (rc->mirror < reg->nr_mirrors) {
		for (h = reg->mirrors[rc->mirror].headers; h && !ret; h = h->next)
			ret = http_call_add_header(call, "%s", h->data);
		return ret;
	}
	return registry_auth_header(rc);
}

static enum http_verdict registry_challenge(struct registry_call *rc,
					    struct http_response *resp)
{
	struct registry *reg = registry_of(rc);
	struct www_auth ch;

	if (!resp->www_authenticate ||
	    www_auth_parse(resp->www_authenticate, &ch)) {
		rc->rc.call.error = -EACCES;
		return HTTP_FAIL;
	}
	if (ch.scheme == WWW_AUTH_BASIC) {
		pthread_mutex_lock(&reg->lock);
		if (!reg->basic || reg->use_basic) {
			pthread_mutex_unlock(&reg->lock);
			log_error("registry %s: %s (HTTP 401): check \"auth\"",
				  reg->host, reg->basic ? "the credentials were refused"
							: "it needs credentials");
			rc->rc.call.error = -EACCES;
			return HTTP_FAIL;
		}
		reg->use_basic = true;
		pthread_mutex_unlock(&reg->lock);
		return HTTP_AGAIN;
	}
	if (registry_fetch_token(reg, &ch, rc->token_gen)) {
		rc->rc.call.error = -EACCES;
		return HTTP_FAIL;
	}
	return HTTP_AGAIN;
}

static enum http_verdict registry_inspect(struct http_call *call,
					  struct http_response *resp)
{
	struct registry_call *rc = to_registry_call(call);
	struct registry *reg = registry_of(rc);
	long s = resp->status;
	bool transport = resp->curl_code != 0;

	if (rc->via_redirect) {
		/* An expired or broken redirect: back to the registry. */
		if (transport || s == 400 || s == 401 || s == 403 ||
		    s == 404 || s == 410 || s >= 500) {
			log_debug("registry %s: redirect for blob '%s' failed (HTTP %ld); asking the registry again",
				  reg->host, rc->rc.id, s);
			registry_redirect_set(rc, NULL);
			return HTTP_AGAIN;
		}
		return HTTP_DEFAULT;
	}
	if (rc->mirror < reg->nr_mirrors &&
	    (transport || s >= 500 || s == 404 || s == 401 || s == 403)) {
		log_debug("registry %s: mirror %s failed for blob '%s' (HTTP %ld); trying the next",
			  reg->host, reg->mirrors[rc->mirror].base,
			  rc->rc.id, s);
		rc->mirror++;
		return HTTP_AGAIN;
	}
	if (transport)
		return HTTP_DEFAULT;
	if ((s == 301 || s == 302 || s == 303 || s == 307 || s == 308) &&
	    resp->location && (!strncmp(resp->location, "http://", 7) ||
			       !strncmp(resp->location, "https://", 8))) {
		registry_redirect_set(rc, resp->location);
		return HTTP_AGAIN;
	}
	if (s == 401 && rc->mirror >= reg->nr_mirrors)
		return registry_challenge(rc, resp);
	return HTTP_DEFAULT;
}

/* Keep the redirect the HEAD found: the first GET goes there. */
static void registry_opened(struct remote_call *rc, struct remote_blob *rb)
{
	struct registry_call *reg_call = container_of(rc, struct registry_call, rc);

	rb->redirect = reg_call->redirect;
	reg_call->redirect = NULL;
}

static void registry_call_release(struct remote_call *rc)
{
	struct registry_call *reg_call = container_of(rc, struct registry_call, rc);

	free(reg_call->redirect);
	reg_call->redirect = NULL;
}

_Static_assert(sizeof(struct registry_call) <= REMOTE_CALL_MAX,
	       "registry_call must fit in a remote call");

/*
 * New credentials from the API: the token they earned goes, so that the
 * next request earns one with the new credentials.
 */
static int registry_update(struct backend *be, struct json_object *patch)
{
	struct registry *reg = container_of(be, struct registry, rbe.be);
	struct json_object *v;
	char *basic = NULL, *old;
	const char *auth;

	if (json_object_object_get_ex(patch, "auth", &v)) {
		auth = json_object_get_string(v);
		if (auth && *auth) {
			basic = strdup(auth);
			if (!basic)
				return -ENOMEM;
		}
		pthread_mutex_lock(&reg->lock);
		old = reg->basic;
		reg->basic = basic;
		free(reg->token);
		reg->token = NULL;
		reg->token_expiry = 0;
		reg->token_gen++;
		reg->use_basic = false;
		pthread_mutex_unlock(&reg->lock);
		if (old) {
			explicit_bzero(old, strlen(old));
			free(old);
		}
		log_info("registry %s: credentials changed through the API",
			 reg->host);
	}
	return remote_update(be, patch);
}

const struct backend_ops registry_backend_ops = {
	.type = "registry",
	.check_config = registry_check_config,
	.create = registry_create,
	.destroy = registry_destroy,
	.blob_open = remote_blob_open,
	.blob_read = remote_blob_read,
	.blob_stream = remote_blob_stream,
	.blob_close = remote_blob_close,
	.update = registry_update,
};
