/* base64 and SASL PLAIN/LOGIN decoding. */
#include "base64.h"
#include "sasl.h"
#include "t.h"

static void test_base64(void)
{
	/* RFC 4648 10 test vectors, both ways. */
	static const char *const vec[][2] = {
		{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
		{"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
		{"foobar", "Zm9vYmFy"},
	};
	for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
		char enc[32], dec[32];
		size_t n = base64_encode(vec[i][0], strlen(vec[i][0]), enc,
		                         sizeof enc);
		CHECK_INT(n, strlen(vec[i][1]));
		CHECK_STR(enc, vec[i][1]);
		size_t len = 99;
		CHECK_INT(base64_decode(vec[i][1], strlen(vec[i][1]), dec,
		                        sizeof dec, &len), 0);
		CHECK_INT(len, strlen(vec[i][0]));
		CHECK(memcmp(dec, vec[i][0], len) == 0);
	}
	/* Strictness. */
	static const char *const bad[] = {
		"Zg=", "Zg", "Z===", "Zm9v\r\n", "Zm 9v", "Zh==", "Zm9=",
		"=Zm9", "Zg==Zg==", "Zm9v!A==", "Zm8=Zm8=",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char dec[32];
		size_t len;
		t_checks++;
		if (base64_decode(bad[i], strlen(bad[i]), dec, sizeof dec,
		                  &len) != -1) {
			t_failures++;
			fprintf(stderr, "accepted bad base64 \"%s\"\n", bad[i]);
		}
	}
	char small[2];
	size_t len;
	CHECK_INT(base64_decode("Zm9v", 4, small, sizeof small, &len), -1);
	CHECK_INT(base64_encode("foo", 3, small, sizeof small), 0);
}

static void test_plain(void)
{
	struct sasl_plain p;
	/* "\0alice@example.org\0secret" */
	CHECK_INT(sasl_plain_decode("AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==", 36,
	                            &p), SASL_OK);
	CHECK_STR(p.authzid, "");
	CHECK_STR(p.authcid, "alice@example.org");
	CHECK_STR(p.passwd, "secret");
	/* "admin\0alice\0pw" */
	CHECK_INT(sasl_plain_decode("YWRtaW4AYWxpY2UAcHc=", 20, &p), SASL_OK);
	CHECK_STR(p.authzid, "admin");
	CHECK_STR(p.authcid, "alice");
	CHECK_STR(p.passwd, "pw");
	CHECK_INT(sasl_plain_decode("not base64!", 11, &p), SASL_BAD_BASE64);
	/* "alice\0pw": one NUL only */
	CHECK_INT(sasl_plain_decode("YWxpY2UAcHc=", 12, &p), SASL_MALFORMED);
	/* "\0\0pw": empty authcid */
	CHECK_INT(sasl_plain_decode("AABwdw==", 8, &p), SASL_MALFORMED);
	/* "\0alice\0": empty password */
	CHECK_INT(sasl_plain_decode("AGFsaWNlAA==", 12, &p), SASL_MALFORMED);
	/* "\0a\0p\0x": a third NUL */
	CHECK_INT(sasl_plain_decode("AGEAcAB4", 8, &p), SASL_MALFORMED);
	CHECK_INT(sasl_plain_decode("=", 1, &p), SASL_MALFORMED);
	CHECK_STR(p.passwd, ""); /* wiped on failure */
	/* Over-long input is refused before decoding. */
	char big[2000];
	memset(big, 'A', sizeof big);
	CHECK_INT(sasl_plain_decode(big, sizeof big, &p), SASL_MALFORMED);
	CHECK(sasl_is_cancel("*", 1));
	CHECK(!sasl_is_cancel("**", 2));
}

static void test_login(void)
{
	char out[64];
	CHECK_INT(sasl_login_decode("YWxpY2U=", 8, out, sizeof out), SASL_OK);
	CHECK_STR(out, "alice");
	CHECK_INT(sasl_login_decode("=", 1, out, sizeof out), SASL_MALFORMED);
	CHECK_INT(sasl_login_decode("YQBi", 4, out, sizeof out),
	          SASL_MALFORMED); /* "a\0b" */
	CHECK_INT(sasl_login_decode("@@@@", 4, out, sizeof out),
	          SASL_BAD_BASE64);
	char tiny[4];
	CHECK(sasl_login_decode("YWxpY2U=", 8, tiny, sizeof tiny) != SASL_OK);
}

int main(void)
{
	test_base64();
	test_plain();
	test_login();
	return t_done("sasl");
}
