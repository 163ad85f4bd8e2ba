// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backend/backend.h"
#include "srv.h"

static const char *servers_dir(void)
{
	const char *d = getenv("TEST_SERVERS");

	return d && *d ? d : "tests/servers";
}

int test_tmpdir(char *out, size_t len)
{
	const char *base = getenv("TMPDIR");

	snprintf(out, len, "%s/fscached-test.XXXXXX", base && *base ? base : "/tmp");
	return mkdtemp(out) ? 0 : -errno;
}

static char *unquote(char *v)
{
	size_t n = strlen(v);

	if (n >= 2 && v[0] == '\'' && v[n - 1] == '\'') {
		v[n - 1] = '\0';
		return v + 1;
	}
	return v;
}

static int srv_load_env(struct srv *s)
{
	char path[PATH_MAX + 8], line[4096], *eq;
	FILE *f;

	snprintf(path, sizeof(path), "%s/env", s->dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f) && s->nr_env < SRV_MAX_ENV) {
		line[strcspn(line, "\n")] = '\0';
		eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		s->keys[s->nr_env] = strdup(line);
		s->values[s->nr_env] = strdup(unquote(eq + 1));
		s->nr_env++;
	}
	fclose(f);
	return 0;
}

int srv_run(const struct srv *s, const char *verb, const char *args,
	    char *out, size_t outlen)
{
	char cmd[PATH_MAX * 2 + 1024];
	size_t n = 0;
	FILE *p;
	int status;

	snprintf(cmd, sizeof(cmd), "%s/%s %s %s %s", servers_dir(), s->kind,
		 verb, s->dir, args ? args : "");
	fflush(stdout);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (out && outlen) {
		n = fread(out, 1, outlen - 1, p);
		out[n] = '\0';
		while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
			out[--n] = '\0';
	} else {
		char sink[512];

		while (fread(sink, 1, sizeof(sink), p) > 0)
			;
	}
	status = pclose(p);
	if (!WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

int srv_start(struct srv *s, const char *kind, const char *args)
{
	int ret;

	memset(s, 0, sizeof(*s));
	snprintf(s->kind, sizeof(s->kind), "%s", kind);
	if (test_tmpdir(s->dir, sizeof(s->dir)))
		return -1;
	ret = srv_run(s, "start", args, NULL, 0);
	if (ret == 77)
		return 77;
	if (ret)
		return -1;
	return srv_load_env(s) ? -1 : 0;
}

void srv_stop(struct srv *s)
{
	unsigned int i;

	if (!s->kind[0])
		return;
	srv_run(s, "stop", NULL, NULL, 0);
	for (i = 0; i < s->nr_env; i++) {
		free(s->keys[i]);
		free(s->values[i]);
	}
	s->nr_env = 0;
	s->kind[0] = '\0';
}

const char *srv_env(const struct srv *s, const char *key)
{
	unsigned int i;

	for (i = 0; i < s->nr_env; i++)
		if (!strcmp(s->keys[i], key))
			return s->values[i];
	return "";
}

int test_make_blob(const char *path, uint64_t size, unsigned int seed)
{
	uint32_t x = seed * 2654435761u + 1;
	unsigned char buf[65536];
	uint64_t done = 0;
	size_t i, n;
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	while (done < size) {
		n = size - done < sizeof(buf) ? size - done : sizeof(buf);
		for (i = 0; i < n; i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = x >> 24;
		}
		fwrite(buf, 1, n, f);
		done += n;
	}
	return fclose(f) ? -errno : 0;
}

int test_sha256_file(const char *path, char *hex)
{
	unsigned char buf[65536], md[32];
	unsigned int mdlen, i;
	EVP_MD_CTX *ctx;
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		EVP_DigestUpdate(ctx, buf, n);
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	fclose(f);
	for (i = 0; i < 32; i++)
		sprintf(hex + 2 * i, "%02x", md[i]);
	return 0;
}

int test_backend(const char *type, const char *json, struct backend **out,
		 char *err, size_t errlen)
{
	struct json_object *cfg = json_tokener_parse(json);
	int ret;

	if (!cfg) {
		snprintf(err, errlen, "bad JSON: %s", json);
		return -EINVAL;
	}
	ret = backend_check_config(type, cfg, "backend", err, errlen);
	if (!ret)
		ret = backend_create(type, cfg, out);
	json_object_put(cfg);
	return ret;
}

int test_backend_compare(struct backend *be, const char *id, const char *path,
			 uint64_t off, uint64_t len)
{
	struct backend_blob *blob;
	char *got, *want;
	ssize_t n;
	int fd, ret;

	ret = backend_blob_open(be, id, &blob);
	if (ret)
		return ret;
	got = malloc(len);
	want = malloc(len);
	fd = open(path, O_RDONLY);
	n = backend_blob_read(blob, got, len, off);
	if (n < 0) {
		ret = n;
	} else if (pread(fd, want, n, off) != n || memcmp(got, want, n)) {
		ret = 1;
	} else if ((uint64_t)n != len && off + n != blob->size) {
		ret = 1;
	}
	close(fd);
	free(got);
	free(want);
	backend_blob_close(blob);
	return ret;
}

int test_backend_compare_all(struct backend *be, const char *id,
			     const char *path, size_t chunk)
{
	struct backend_blob *blob;
	char *got, *want;
	uint64_t off;
	struct stat st;
	ssize_t n;
	int fd, ret;

	ret = backend_blob_open(be, id, &blob);
	if (ret)
		return ret;
	fd = open(path, O_RDONLY);
	if (fd < 0 || fstat(fd, &st) || (uint64_t)st.st_size != blob->size) {
		if (fd >= 0)
			close(fd);
		backend_blob_close(blob);
		return 1;
	}
	got = malloc(chunk);
	want = malloc(chunk);
	for (off = 0; !ret && off < blob->size; off += chunk) {
		n = backend_blob_read(blob, got, chunk, off);
		if (n < 0)
			ret = n;
		else if (pread(fd, want, n, off) != n || memcmp(got, want, n))
			ret = 1;
	}
	close(fd);
	free(got);
	free(want);
	backend_blob_close(blob);
	return ret;
}
