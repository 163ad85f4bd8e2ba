// SPDX-License-Identifier: GPL-2.0
/*
 * What a registry and its token service send back: the WWW-Authenticate
 * challenge, the token answer, and Content-Range of any HTTP backend.
 */
#include <string.h>

#include "backend/http_client.h"
#include "backend/www_auth.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_string(data, size), *token = NULL;
	uint64_t first, last, total;
	struct www_auth ch;
	long ttl = 60;

	if (!text)
		return 0;
	if (!www_auth_parse(text, &ch)) {
		FUZZ_CHECK(ch.scheme == WWW_AUTH_BASIC ||
			   ch.scheme == WWW_AUTH_BEARER);
		FUZZ_CHECK(memchr(ch.realm, '\0', sizeof(ch.realm)) &&
			   memchr(ch.scope, '\0', sizeof(ch.scope)) &&
			   memchr(ch.service, '\0', sizeof(ch.service)));
		/* It goes into a header line: no line break may get through. */
		FUZZ_CHECK(!strpbrk(ch.realm, "\r\n") &&
			   !strpbrk(ch.scope, "\r\n") &&
			   !strpbrk(ch.service, "\r\n"));
	}
	if (!www_auth_parse_token(text, &token, &ttl)) {
		FUZZ_CHECK(*token && !strpbrk(token, "\r\n"));
		FUZZ_CHECK(ttl > 0 && ttl <= WWW_AUTH_TOKEN_TTL_MAX);
		free(token);
	}
	if (!http_parse_content_range(text, &first, &last, &total))
		FUZZ_CHECK(first <= last);
	free(text);
	return 0;
}
