// SPDX-License-Identifier: GPL-2.0
/*
 * libcurl, loaded when the first HTTP client is made (see dlib.h). The
 * functions below are libcurl's own, declared by curl.h, and forward to
 * the library once it is mapped.
 */
#define CURL_DISABLE_TYPECHECK	/* its macros would rename our definitions */
#include <curl/curl.h>
#include <stdarg.h>

#include "lib/dlib.h"
#include "http_client.h"

#define CURL_SYMS(X)							\
	X(curl_global_init) X(curl_easy_init) X(curl_easy_cleanup)	\
	X(curl_easy_reset) X(curl_easy_perform) X(curl_easy_setopt)	\
	X(curl_easy_getinfo) X(curl_easy_header) X(curl_easy_strerror)	\
	X(curl_share_init) X(curl_share_setopt) X(curl_share_cleanup)	\
	X(curl_slist_append) X(curl_slist_free_all)

#define CURL_SLOT(n)	static __typeof__(n) *p_##n;
CURL_SYMS(CURL_SLOT)
#define CURL_ENTRY(n)	{ #n, (void **)&p_##n },
static const struct dlib_sym curl_syms[] = { CURL_SYMS(CURL_ENTRY) };
static struct dlib curl_lib = DLIB_INIT("libcurl.so.4", "libcurl4", curl_syms);

int curl_dl_load(void)
{
	return dlib_load(&curl_lib);
}

/* Every caller went through curl_dl_load() first (http_client_create). */
CURLcode curl_global_init(long flags)
{
	return curl_dl_load() ? CURLE_FAILED_INIT : p_curl_global_init(flags);
}

CURL *curl_easy_init(void)
{
	return curl_dl_load() ? NULL : p_curl_easy_init();
}

void curl_easy_cleanup(CURL *h)
{
	p_curl_easy_cleanup(h);
}

void curl_easy_reset(CURL *h)
{
	p_curl_easy_reset(h);
}

CURLcode curl_easy_perform(CURL *h)
{
	return p_curl_easy_perform(h);
}

/*
 * The argument's type is in the option's number, as libcurl itself reads
 * it: longs below 10000, then object pointers, function pointers, curl_off_t
 * and blobs.
 */
CURLcode curl_easy_setopt(CURL *h, CURLoption opt, ...)
{
	CURLcode ret;
	va_list ap;

	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		ret = p_curl_easy_setopt(h, opt, va_arg(ap, long));
	else if (opt < CURLOPTTYPE_FUNCTIONPOINT)
		ret = p_curl_easy_setopt(h, opt, va_arg(ap, void *));
	else if (opt < CURLOPTTYPE_OFF_T)
		ret = p_curl_easy_setopt(h, opt, va_arg(ap, void (*)(void)));
	else if (opt < CURLOPTTYPE_BLOB)
		ret = p_curl_easy_setopt(h, opt, va_arg(ap, curl_off_t));
	else
		ret = p_curl_easy_setopt(h, opt, va_arg(ap, void *));
	va_end(ap);
	return ret;
}

/* Every CURLINFO takes one pointer. */
CURLcode curl_easy_getinfo(CURL *h, CURLINFO info, ...)
{
	CURLcode ret;
	va_list ap;

	va_start(ap, info);
	ret = p_curl_easy_getinfo(h, info, va_arg(ap, void *));
	va_end(ap);
	return ret;
}

CURLHcode curl_easy_header(CURL *h, const char *name, size_t index,
			   unsigned int origin, int request,
			   struct curl_header **hout)
{
	return p_curl_easy_header(h, name, index, origin, request, hout);
}

const char *curl_easy_strerror(CURLcode code)
{
	return curl_dl_load() ? "libcurl is not loaded" : p_curl_easy_strerror(code);
}

CURLSH *curl_share_init(void)
{
	return curl_dl_load() ? NULL : p_curl_share_init();
}

/* SHARE and UNSHARE take an int, the lock functions and USERDATA pointers. */
CURLSHcode curl_share_setopt(CURLSH *sh, CURLSHoption opt, ...)
{
	CURLSHcode ret;
	va_list ap;

	va_start(ap, opt);
	switch (opt) {
	case CURLSHOPT_SHARE:
	case CURLSHOPT_UNSHARE:
		ret = p_curl_share_setopt(sh, opt, va_arg(ap, int));
		break;
	case CURLSHOPT_LOCKFUNC:
	case CURLSHOPT_UNLOCKFUNC:
		ret = p_curl_share_setopt(sh, opt, va_arg(ap, void (*)(void)));
		break;
	default:
		ret = p_curl_share_setopt(sh, opt, va_arg(ap, void *));
		break;
	}
	va_end(ap);
	return ret;
}

CURLSHcode curl_share_cleanup(CURLSH *sh)
{
	return p_curl_share_cleanup(sh);
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *s)
{
	return curl_dl_load() ? NULL : p_curl_slist_append(list, s);
}

void curl_slist_free_all(struct curl_slist *list)
{
	if (list)
		p_curl_slist_free_all(list);
}
