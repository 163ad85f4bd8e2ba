// SPDX-License-Identifier: GPL-2.0
/*
 * libmicrohttpd, loaded when the API socket is opened (see dlib.h). The
 * functions below are libmicrohttpd's own, declared by microhttpd.h.
 */
#include <stdarg.h>
#include <sys/socket.h>
#include <microhttpd.h>

#include "lib/dlib.h"
#include "server.h"

#define MHD_SYMS(X)							\
	X(MHD_start_daemon_va) X(MHD_stop_daemon)			\
	X(MHD_lookup_connection_value) X(MHD_queue_response)		\
	X(MHD_create_response_from_buffer) X(MHD_destroy_response)	\
	X(MHD_add_response_header)

#define MHD_SLOT(n)	static __typeof__(n) *p_##n;
MHD_SYMS(MHD_SLOT)
#define MHD_ENTRY(n)	{ #n, (void **)&p_##n },
static const struct dlib_sym mhd_syms[] = { MHD_SYMS(MHD_ENTRY) };
static struct dlib mhd_lib = DLIB_INIT("libmicrohttpd.so.12", "libmicrohttpd12",
				       mhd_syms);

int mhd_dl_load(void)
{
	return dlib_load(&mhd_lib);
}

/* The options go through as they are: libmicrohttpd has a va_list form. */
struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port,
				    MHD_AcceptPolicyCallback apc, void *apc_cls,
				    MHD_AccessHandlerCallback dh, void *dh_cls,
				    ...)
{
	struct MHD_Daemon *d;
	va_list ap;

	if (mhd_dl_load())
		return NULL;
	va_start(ap, dh_cls);
	d = p_MHD_start_daemon_va(flags, port, apc, apc_cls, dh, dh_cls, ap);
	va_end(ap);
	return d;
}

/* Everything below runs on a daemon that MHD_start_daemon() made. */
void MHD_stop_daemon(struct MHD_Daemon *daemon)
{
	p_MHD_stop_daemon(daemon);
}

const char *MHD_lookup_connection_value(struct MHD_Connection *connection,
					enum MHD_ValueKind kind, const char *key)
{
	return p_MHD_lookup_connection_value(connection, kind, key);
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *connection,
				   unsigned int status_code,
				   struct MHD_Response *response)
{
	return p_MHD_queue_response(connection, status_code, response);
}

struct MHD_Response *MHD_create_response_from_buffer(size_t size, void *buffer,
						     enum MHD_ResponseMemoryMode mode)
{
	return p_MHD_create_response_from_buffer(size, buffer, mode);
}

void MHD_destroy_response(struct MHD_Response *response)
{
	p_MHD_destroy_response(response);
}

enum MHD_Result MHD_add_response_header(struct MHD_Response *response,
					const char *header, const char *content)
{
	return p_MHD_add_response_header(response, header, content);
}
