// SPDX-License-Identifier: GPL-2.0
#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/digest.h"
#include "sign.h"

/* Longest header list, query or canonical request we sign. */
#define SIGN_MAX_HEADERS	16
#define SIGN_MAX_PARAMS		32
#define SIGN_BUF		8192

struct strbuf {
	char *buf;
	size_t len, cap;
	int err;
};

static void sb_add(struct strbuf *sb, const char *s, size_t n)
{
	if (sb->err || sb->len + n + 1 > sb->cap) {
		sb->err = -ENOSPC;
		return;
	}
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

static void sb_puts(struct strbuf *sb, const char *s)
{
	sb_add(sb, s, strlen(s));
}

static void sha256_hex(const char *s, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int mdlen;

	EVP_Digest(s, n, md, &mdlen, EVP_sha256(), NULL);
	digest_hex(md, 32, out);
}

static void hmac256(const void *key, size_t keylen, const char *msg,
		    unsigned char out[32])
{
	unsigned int len = 32;

	HMAC(EVP_sha256(), key, keylen, (const unsigned char *)msg,
	     strlen(msg), out, &len);
}

int sign_uri_encode(const char *in, int keep_slash, char *out, size_t len)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *in; in++) {
		unsigned char c = *in;

		if (isalnum(c) || c == '-' || c == '_' || c == '.' ||
		    c == '~' || (keep_slash && c == '/')) {
			if (o + 2 > len)
				return -ENOSPC;
			out[o++] = c;
		} else {
			if (o + 4 > len)
				return -ENOSPC;
			out[o++] = '%';
			out[o++] = digits[c >> 4];
			out[o++] = digits[c & 15];
		}
	}
	if (o + 1 > len)
		return -ENOSPC;
	out[o] = '\0';
	return 0;
}

struct kv {
	char *key;
	char *value;
};

static int kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int r = strcmp(x->key, y->key);

	return r ? r : strcmp(x->value, y->value);
}

/* Canonical query: every name and value encoded, sorted by name. */
static int canonical_query(const char *query, struct strbuf *sb)
{
	char tmp[SIGN_BUF], *save = NULL, *part, *eq;
	struct kv params[SIGN_MAX_PARAMS];
	char enc[2][1024];
	size_t n = 0, i;
	int ret = 0;

	if (!query || !*query)
		return 0;
	if (strlen(query) >= sizeof(tmp))
		return -ENOSPC;
	strcpy(tmp, query);
	for (part = strtok_r(tmp, "&", &save); part;
	     part = strtok_r(NULL, "&", &save)) {
		if (n == SIGN_MAX_PARAMS)
			return -E2BIG;
		eq = strchr(part, '=');
		if (eq)
			*eq++ = '\0';
		if (sign_uri_encode(part, 0, enc[0], sizeof(enc[0])) ||
		    sign_uri_encode(eq ? eq : "", 0, enc[1], sizeof(enc[1]))) {
			ret = -ENOSPC;
			break;
		}
		params[n].key = strdup(enc[0]);
		params[n].value = strdup(enc[1]);
		n++;
		if (!params[n - 1].key || !params[n - 1].value) {
			ret = -ENOMEM;
			break;
		}
	}
	if (!ret) {
		qsort(params, n, sizeof(params[0]), kv_cmp);
		for (i = 0; i < n; i++) {
			if (i)
				sb_puts(sb, "&");
			sb_puts(sb, params[i].key);
			sb_puts(sb, "=");
			sb_puts(sb, params[i].value);
		}
	}
	for (i = 0; i < n; i++) {
		free(params[i].key);
		free(params[i].value);
	}
	return ret;
}

struct lheader {
	char name[64];
	char value[1024];
};

static int lheader_cmp(const void *a, const void *b)
{
	return strcmp(((const struct lheader *)a)->name,
		      ((const struct lheader *)b)->name);
}

/* Lower-case name; value trimmed, inner runs of spaces collapsed. */
static int lheader_set(struct lheader *h, const char *name, const char *value)
{
	size_t i, o = 0;
	int space = 0;

	if (strlen(name) >= sizeof(h->name))
		return -ENOSPC;
	for (i = 0; name[i]; i++)
		h->name[i] = tolower((unsigned char)name[i]);
	h->name[i] = '\0';
	while (*value == ' ' || *value == '\t')
		value++;
	for (; *value; value++) {
		if (*value == ' ' || *value == '\t') {
			space = 1;
			continue;
		}
		if (o + 3 > sizeof(h->value))
			return -ENOSPC;
		if (space && o)
			h->value[o++] = ' ';
		space = 0;
		h->value[o++] = *value;
	}
	h->value[o] = '\0';
	return 0;
}

void sigv4_amz_date(time_t t, char out[17])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

int sigv4_authorization(const struct sigv4_request *req, char *out,
			size_t len)
{
	struct lheader headers[SIGN_MAX_HEADERS];
	char creq[SIGN_BUF], sts[1024], signed_names[1024], scope[256];
	char creq_hash[65], sig[65], date[9];
	unsigned char k[32];
	struct strbuf sb = { creq, 0, sizeof(creq), 0 };
	struct strbuf names = { signed_names, 0, sizeof(signed_names), 0 };
	size_t n = 0, i;
	char *secret;
	int ret;

	if (strlen(req->amz_date) != 16)
		return -EINVAL;
	if (req->nr_headers + 3 > SIGN_MAX_HEADERS)
		return -E2BIG;
	ret = lheader_set(&headers[n++], "host", req->host);
	if (!ret)
		ret = lheader_set(&headers[n++], "x-amz-date", req->amz_date);
	if (!ret && req->session_token)
		ret = lheader_set(&headers[n++], "x-amz-security-token",
				  req->session_token);
	for (i = 0; !ret && i < req->nr_headers; i++)
		ret = lheader_set(&headers[n++], req->headers[i].name,
				  req->headers[i].value);
	if (ret)
		return ret;
	qsort(headers, n, sizeof(headers[0]), lheader_cmp);

	sb_puts(&sb, req->method);
	sb_puts(&sb, "\n");
	sb_puts(&sb, req->path);
	sb_puts(&sb, "\n");
	ret = canonical_query(req->query, &sb);
	if (ret)
		return ret;
	sb_puts(&sb, "\n");
	for (i = 0; i < n; i++) {
		sb_puts(&sb, headers[i].name);
		sb_puts(&sb, ":");
		sb_puts(&sb, headers[i].value);
		sb_puts(&sb, "\n");
		if (i)
			sb_puts(&names, ";");
		sb_puts(&names, headers[i].name);
	}
	sb_puts(&sb, "\n");
	sb_puts(&sb, signed_names);
	sb_puts(&sb, "\n");
	sb_puts(&sb, req->payload_hash);
	if (sb.err || names.err)
		return -ENOSPC;
	sha256_hex(creq, sb.len, creq_hash);

	memcpy(date, req->amz_date, 8);
	date[8] = '\0';
	snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", date,
		 req->region, req->service);
	snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256\n%s\n%s\n%s",
		 req->amz_date, scope, creq_hash);

	if (asprintf(&secret, "AWS4%s", req->secret_access_key) < 0)
		return -ENOMEM;
	hmac256(secret, strlen(secret), date, k);
	explicit_bzero(secret, strlen(secret));
	free(secret);
	hmac256(k, 32, req->region, k);
	hmac256(k, 32, req->service, k);
	hmac256(k, 32, "aws4_request", k);
	hmac256(k, 32, sts, k);
	digest_hex(k, 32, sig);

	ret = snprintf(out, len,
		       "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		       req->access_key_id, scope, signed_names, sig);
	return ret < 0 || (size_t)ret >= len ? -ENOSPC : 0;
}

void sign_http_date(time_t t, char out[30])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 30, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

int oss_signature(const struct oss_request *req, const char *secret,
		  char *out, size_t len)
{
	struct lheader headers[SIGN_MAX_HEADERS];
	char sts[SIGN_BUF];
	struct strbuf sb = { sts, 0, sizeof(sts), 0 };
	unsigned char mac[20];
	unsigned int maclen = sizeof(mac);
	size_t i, n = req->nr_oss_headers;
	int ret = 0;

	if (n > SIGN_MAX_HEADERS)
		return -E2BIG;
	for (i = 0; !ret && i < n; i++)
		ret = lheader_set(&headers[i], req->oss_headers[i].name,
				  req->oss_headers[i].value);
	if (ret)
		return ret;
	qsort(headers, n, sizeof(headers[0]), lheader_cmp);

	sb_puts(&sb, req->verb);
	sb_puts(&sb, "\n");
	sb_puts(&sb, req->content_md5 ? req->content_md5 : "");
	sb_puts(&sb, "\n");
	sb_puts(&sb, req->content_type ? req->content_type : "");
	sb_puts(&sb, "\n");
	sb_puts(&sb, req->date);
	sb_puts(&sb, "\n");
	for (i = 0; i < n; i++) {
		sb_puts(&sb, headers[i].name);
		sb_puts(&sb, ":");
		sb_puts(&sb, headers[i].value);
		sb_puts(&sb, "\n");
	}
	sb_puts(&sb, req->resource);
	if (sb.err)
		return -ENOSPC;
	HMAC(EVP_sha1(), secret, strlen(secret), (const unsigned char *)sts,
	     sb.len, mac, &maclen);
	if (len < 4 * ((maclen + 2) / 3) + 1)
		return -ENOSPC;
	EVP_EncodeBlock((unsigned char *)out, mac, maclen);
	return 0;
}
