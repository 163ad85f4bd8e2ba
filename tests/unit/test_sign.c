// SPDX-License-Identifier: GPL-2.0
/*
 * The signers against published vectors: AWS's Signature Version 4 test
 * suite (region us-east-1, service "service", 2015-08-30T12:36:00Z), the S3
 * GET-object example of the S3 API reference, and the PUT example of the
 * Aliyun OSS documentation.
 */
#include <errno.h>
#include <string.h>

#include "backend/sign.h"
#include "harness.h"

#define SUITE_KEY	"AKIDEXAMPLE"
#define SUITE_SECRET	"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_SCOPE	"Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "

static void suite_request(struct sigv4_request *r, const char *method,
			  const char *path, const char *query)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->host = "example.amazonaws.com";
	r->path = path;
	r->query = query;
	r->payload_hash = SIGN_EMPTY_SHA256;
	r->region = "us-east-1";
	r->service = "service";
	r->amz_date = "20150830T123600Z";
	r->access_key_id = SUITE_KEY;
	r->secret_access_key = SUITE_SECRET;
}

TEST(sigv4_get_vanilla)
{
	struct sigv4_request r;
	char auth[512];

	suite_request(&r, "GET", "/", NULL);
	ASSERT_EQ(0, sigv4_authorization(&r, auth, sizeof(auth)));
	EXPECT_STREQ("AWS4-HMAC-SHA256 " SUITE_SCOPE "SignedHeaders=host;x-amz-date, "
		     "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		     auth);
}

TEST(sigv4_post_vanilla)
{
	struct sigv4_request r;
	char auth[512];

	suite_request(&r, "POST", "/", NULL);
	ASSERT_EQ(0, sigv4_authorization(&r, auth, sizeof(auth)));
	EXPECT_NE(NULL, strstr(auth, "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"));
}

TEST(sigv4_get_vanilla_query_order_key_case)
{
	struct sigv4_request r;
	char auth[512];

	suite_request(&r, "GET", "/", "Param2=value2&Param1=value1");
	ASSERT_EQ(0, sigv4_authorization(&r, auth, sizeof(auth)));
	EXPECT_NE(NULL, strstr(auth, "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"));
}

TEST(sigv4_post_header_value_case)
{
	struct sign_header h[] = { { "My-Header1", "VALUE1" } };
	struct sigv4_request r;
	char auth[512];

	suite_request(&r, "POST", "/", NULL);
	r.headers = h;
	r.nr_headers = 1;
	ASSERT_EQ(0, sigv4_authorization(&r, auth, sizeof(auth)));
	EXPECT_STREQ("AWS4-HMAC-SHA256 " SUITE_SCOPE "SignedHeaders=host;my-header1;x-amz-date, "
		     "Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d",
		     auth);
}

TEST(sigv4_get_header_value_trim)
{
	struct sign_header h[] = {
		{ "My-Header1", " value1" },
		{ "My-Header2", "\"a   b   c\"" },
	};
	struct sigv4_request r;
	char auth[512];

	suite_request(&r, "GET", "/", NULL);
	r.headers = h;
	r.nr_headers = 2;
	ASSERT_EQ(0, sigv4_authorization(&r, auth, sizeof(auth)));
	EXPECT_NE(NULL, strstr(auth, "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
			       "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"));
}

TEST(sigv4_get_unreserved)
{
	char path[256];
	struct sigv4_request r;
	char auth[512];

	ASSERT_EQ(0, sign_uri_encode("/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
				     1, path, sizeof(path)));
	suite_request(&r, "GET", path, NULL);
	ASSERT_EQ(0, sigv4_authorization(&r, auth, sizeof(auth)));
	EXPECT_NE(NULL, strstr(auth, "Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"));
}

/* S3 API reference, "Example: GET Object" (first 10 bytes of test.txt). */
TEST(sigv4_s3_get_object_with_range)
{
	struct sign_header h[] = {
		{ "Range", "bytes=0-9" },
		{ "x-amz-content-sha256", SIGN_EMPTY_SHA256 },
	};
	struct sigv4_request r = {
		.method = "GET",
		.host = "examplebucket.s3.amazonaws.com",
		.path = "/test.txt",
		.headers = h,
		.nr_headers = 2,
		.payload_hash = SIGN_EMPTY_SHA256,
		.region = "us-east-1",
		.service = "s3",
		.amz_date = "20130524T000000Z",
		.access_key_id = "AKIAIOSFODNN7EXAMPLE",
		.secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	};
	char auth[512];

	ASSERT_EQ(0, sigv4_authorization(&r, auth, sizeof(auth)));
	EXPECT_STREQ("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
		     "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
		     "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
		     auth);
}

TEST(sigv4_session_token_is_signed)
{
	struct sigv4_request r;
	char a[512], b[512];

	suite_request(&r, "GET", "/", NULL);
	ASSERT_EQ(0, sigv4_authorization(&r, a, sizeof(a)));
	r.session_token = "token";
	ASSERT_EQ(0, sigv4_authorization(&r, b, sizeof(b)));
	EXPECT_NE(NULL, strstr(b, "SignedHeaders=host;x-amz-date;x-amz-security-token,"));
	EXPECT_STRNE(a, b);
}

TEST(sigv4_small_buffer_and_bad_date)
{
	struct sigv4_request r;
	char auth[40];

	suite_request(&r, "GET", "/", NULL);
	EXPECT_EQ(-ENOSPC, sigv4_authorization(&r, auth, sizeof(auth)));
	r.amz_date = "2015";
	EXPECT_EQ(-EINVAL, sigv4_authorization(&r, auth, sizeof(auth)));
}

TEST(amz_and_http_dates)
{
	char amz[17], http[30];

	sigv4_amz_date(1440938160, amz);
	EXPECT_STREQ("20150830T123600Z", amz);
	sign_http_date(1132253398, http);
	EXPECT_STREQ("Thu, 17 Nov 2005 18:49:58 GMT", http);
}

/* The Aliyun OSS documentation's PUT example. */
TEST(oss_v1_documented_put)
{
	struct sign_header h[] = {
		{ "X-OSS-Meta-Author", "foo@bar.com" },
		{ "X-OSS-Magic", "abracadabra" },
	};
	struct oss_request r = {
		.verb = "PUT",
		.content_md5 = "ODBGOERFMDMzQTczRUY3NUE3NzA5QzdFNUYzMDQxNEM=",
		.content_type = "text/html",
		.date = "Thu, 17 Nov 2005 18:49:58 GMT",
		.oss_headers = h,
		.nr_oss_headers = 2,
		.resource = "/oss-example/nelson",
	};
	char sig[64];

	ASSERT_EQ(0, oss_signature(&r, "OtxrzxIsfpFjA7SwPzILwy8Bw21TLhquhboDYROV",
				   sig, sizeof(sig)));
	EXPECT_STREQ("26NBxoKdsyly4EDv6inkoDft/yA=", sig);
	EXPECT_EQ(-ENOSPC, oss_signature(&r, "x", sig, 10));
}

TEST(uri_encoding)
{
	char out[64];

	ASSERT_EQ(0, sign_uri_encode("a b/c+d~", 1, out, sizeof(out)));
	EXPECT_STREQ("a%20b/c%2Bd~", out);
	ASSERT_EQ(0, sign_uri_encode("a/b", 0, out, sizeof(out)));
	EXPECT_STREQ("a%2Fb", out);
	EXPECT_EQ(-ENOSPC, sign_uri_encode("abcdef", 0, out, 4));
}

TEST_HARNESS_MAIN
