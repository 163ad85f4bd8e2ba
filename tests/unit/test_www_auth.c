// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>

#include "backend/www_auth.h"
#include "harness.h"

TEST(bearer_challenge_of_a_registry)
{
	struct www_auth a;

	ASSERT_EQ(0, www_auth_parse("Bearer realm=\"https://auth.docker.io/token\","
				    "service=\"registry.docker.io\","
				    "scope=\"repository:samalba/my-app:pull,push\"", &a));
	EXPECT_EQ(WWW_AUTH_BEARER, a.scheme);
	EXPECT_STREQ("https://auth.docker.io/token", a.realm);
	EXPECT_STREQ("registry.docker.io", a.service);
	/* A comma inside quotes belongs to the value. */
	EXPECT_STREQ("repository:samalba/my-app:pull,push", a.scope);
}

TEST(spaces_case_tokens_and_errors)
{
	struct www_auth a;

	ASSERT_EQ(0, www_auth_parse("  bearer  realm = \"r\" , service=svc,"
				    " error=\"invalid_token\", other=\"x\"", &a));
	EXPECT_STREQ("r", a.realm);
	EXPECT_STREQ("svc", a.service);
	EXPECT_STREQ("invalid_token", a.error);
	EXPECT_STREQ("", a.scope);
	ASSERT_EQ(0, www_auth_parse("Bearer realm=\"a\\\"b\"", &a));
	EXPECT_STREQ("a\"b", a.realm);
}

TEST(basic_challenge)
{
	struct www_auth a;

	ASSERT_EQ(0, www_auth_parse("Basic realm=\"Registry Realm\"", &a));
	EXPECT_EQ(WWW_AUTH_BASIC, a.scheme);
	EXPECT_STREQ("Registry Realm", a.realm);
	ASSERT_EQ(0, www_auth_parse("Basic", &a));
}

TEST(malformed_challenges_are_rejected)
{
	static const char *const bad[] = {
		"", "Negotiate abc", "Bearerrealm=x", "Bearer", "Bearer realm",
		"Bearer realm=\"unterminated", "Bearer realm=\"x\" service",
		"Bearer realm=\"x\" junk", "Bearer =x", "Bearer realm=\"a\x01b\"",
		"Bearer realm=a\"b",
	};
	struct www_auth a;
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (www_auth_parse(bad[i], &a) != -EINVAL)
			TH_LOG("accepted: '%s'", bad[i]);
		EXPECT_EQ(-EINVAL, www_auth_parse(bad[i], &a));
	}
}

TEST(overlong_values_are_rejected)
{
	static char h[4096];
	struct www_auth a;

	strcpy(h, "Bearer realm=\"");
	memset(h + strlen(h), 'x', 2000);
	strcat(h, "\"");
	EXPECT_EQ(-EINVAL, www_auth_parse(h, &a));
	strcpy(h, "Bearer ");
	memset(h + strlen(h), 'n', 100);
	strcat(h, "=1");
	EXPECT_EQ(-EINVAL, www_auth_parse(h, &a));
}

TEST_HARNESS_MAIN
