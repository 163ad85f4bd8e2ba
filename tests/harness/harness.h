// SPDX-License-Identifier: GPL-2.0
/*
 * fscached test harness.
 *
 * kselftest-style TEST()/FIXTURE()/TEST_F() with ASSERT_*()/EXPECT_*()
 * checks and TAP 13 output.  Every test runs in a forked child that leads
 * its own process group; the harness kills that group (and anything the
 * test left behind) when the test ends or times out.  See README.md.
 *
 * Link every test program with harness.c.
 */
#ifndef FSCACHED_TESTS_HARNESS_H
#define FSCACHED_TESTS_HARNESS_H

#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* Per-test timeout (seconds) when the test does not set one. */
#define TH_DEFAULT_TIMEOUT	60

struct __test_metadata;

typedef void (*th_phase_fn)(struct __test_metadata *_metadata, void *self);

struct __test_metadata {
	const char *name;		/* "test" or "fixture.test" */
	const char *file;
	int line;
	unsigned int timeout;		/* seconds, 0: default */
	th_phase_fn setup;		/* NULL for TEST() */
	th_phase_fn body;
	th_phase_fn teardown;		/* NULL for TEST() */
	void *self;			/* fixture data, NULL for TEST() */

	/* Private to harness.c. */
	pid_t pid;			/* the test's own process */
	int jmp_armed;
	jmp_buf env;
};

/* Integer or pointer value captured by the comparison macros. */
enum { TH_KIND_SIGNED, TH_KIND_UNSIGNED, TH_KIND_POINTER };
enum { TH_OP_EQ, TH_OP_NE, TH_OP_LT, TH_OP_LE, TH_OP_GT, TH_OP_GE };

struct _th_val {
	int kind;
	intmax_t s;
	uintmax_t u;
};

static inline struct _th_val _th_val_s(intmax_t v)
{
	return (struct _th_val){ .kind = TH_KIND_SIGNED, .s = v };
}

static inline struct _th_val _th_val_u(uintmax_t v)
{
	return (struct _th_val){ .kind = TH_KIND_UNSIGNED, .u = v };
}

static inline struct _th_val _th_val_p(const volatile void *p)
{
	return (struct _th_val){ .kind = TH_KIND_POINTER, .u = (uintptr_t)p };
}

/*
 * Evaluate x exactly once and capture it with its signedness.  "1 ? x : 0"
 * applies the integer promotions (and array/function decay) without doing
 * arithmetic on x, so it also works for bit-fields and opaque pointers.
 */
#define _TH_VAL(x) _Generic(1 ? (x) : 0,				\
	int: _th_val_s,							\
	long: _th_val_s,						\
	long long: _th_val_s,						\
	unsigned int: _th_val_u,					\
	unsigned long: _th_val_u,					\
	unsigned long long: _th_val_u,					\
	default: _th_val_p)(x)

void _th_register(struct __test_metadata *t);
int _th_main(int argc, char **argv);
void _th_fail(struct __test_metadata *_metadata);
__attribute__((noreturn))
void _th_bail(struct __test_metadata *_metadata);
int _th_cmp(struct _th_val a, int op, struct _th_val b);
void _th_report_cmp(struct __test_metadata *_metadata, const char *file,
		    int line, const char *ea, struct _th_val a, int op,
		    const char *eb, struct _th_val b);
void _th_report_bool(struct __test_metadata *_metadata, const char *file,
		     int line, const char *e, struct _th_val v,
		     const char *what);
int _th_streq(const char *a, const char *b);
void _th_report_str(struct __test_metadata *_metadata, const char *file,
		    int line, const char *ea, const char *a, int op,
		    const char *eb, const char *b);
__attribute__((format(printf, 2, 3)))
void _th_skip(struct __test_metadata *_metadata, const char *fmt, ...);
__attribute__((format(printf, 1, 2)))
void _th_log(const char *fmt, ...);

/* ---- tests ---- */

#define _TH_UNUSED __attribute__((unused))

#define TEST(test) TEST_TIMEOUT(test, 0)

#define TEST_TIMEOUT(test, seconds)					\
	static void _th_test_##test(struct __test_metadata *_metadata);	\
	static void _th_body_##test(struct __test_metadata *_metadata,	\
				    void *self _TH_UNUSED)		\
	{								\
		_th_test_##test(_metadata);				\
	}								\
	static struct __test_metadata _th_meta_##test = {		\
		.name = #test,						\
		.file = __FILE__,					\
		.line = __LINE__,					\
		.timeout = (seconds),					\
		.body = _th_body_##test,				\
	};								\
	__attribute__((constructor))					\
	static void _th_register_##test(void)				\
	{								\
		_th_register(&_th_meta_##test);				\
	}								\
	static void _th_test_##test(					\
		struct __test_metadata *_metadata _TH_UNUSED)

/* ---- fixtures ---- */

#define FIXTURE_DATA(fix) struct _th_fixture_##fix

#define FIXTURE(fix)							\
	FIXTURE_DATA(fix);						\
	static void _th_setup_##fix(struct __test_metadata *,		\
				    FIXTURE_DATA(fix) *);		\
	static void _th_teardown_##fix(struct __test_metadata *,	\
				       FIXTURE_DATA(fix) *);		\
	static void _th_setup_thunk_##fix(struct __test_metadata *,	\
					  void *);			\
	static void _th_teardown_thunk_##fix(struct __test_metadata *,	\
					     void *);			\
	FIXTURE_DATA(fix)

#define FIXTURE_SETUP(fix)						\
	static void _th_setup_thunk_##fix(struct __test_metadata *m,	\
					  void *self)			\
	{								\
		_th_setup_##fix(m, self);				\
	}								\
	static void _th_setup_##fix(					\
		struct __test_metadata *_metadata _TH_UNUSED,		\
		FIXTURE_DATA(fix) *self _TH_UNUSED)

#define FIXTURE_TEARDOWN(fix)						\
	static void _th_teardown_thunk_##fix(struct __test_metadata *m,	\
					     void *self)		\
	{								\
		_th_teardown_##fix(m, self);				\
	}								\
	static void _th_teardown_##fix(					\
		struct __test_metadata *_metadata _TH_UNUSED,		\
		FIXTURE_DATA(fix) *self _TH_UNUSED)

#define TEST_F(fix, test) TEST_F_TIMEOUT(fix, test, 0)

#define TEST_F_TIMEOUT(fix, test, seconds)				\
	static void _th_f_##fix##_##test(				\
		struct __test_metadata *_metadata,			\
		FIXTURE_DATA(fix) *self);				\
	static void _th_fbody_##fix##_##test(				\
		struct __test_metadata *_metadata, void *self)		\
	{								\
		_th_f_##fix##_##test(_metadata, self);			\
	}								\
	static FIXTURE_DATA(fix) _th_self_##fix##_##test;		\
	static struct __test_metadata _th_meta_##fix##_##test = {	\
		.name = #fix "." #test,					\
		.file = __FILE__,					\
		.line = __LINE__,					\
		.timeout = (seconds),					\
		.setup = _th_setup_thunk_##fix,				\
		.body = _th_fbody_##fix##_##test,			\
		.teardown = _th_teardown_thunk_##fix,			\
		.self = &_th_self_##fix##_##test,			\
	};								\
	__attribute__((constructor))					\
	static void _th_register_##fix##_##test(void)			\
	{								\
		_th_register(&_th_meta_##fix##_##test);			\
	}								\
	static void _th_f_##fix##_##test(				\
		struct __test_metadata *_metadata _TH_UNUSED,		\
		FIXTURE_DATA(fix) *self _TH_UNUSED)

#define TEST_HARNESS_MAIN						\
	int main(int argc, char **argv)					\
	{								\
		return _th_main(argc, argv);				\
	}

/* ---- diagnostics and skipping ---- */

/* printf-style diagnostic, printed as "# ..." TAP comment line(s). */
#define TH_LOG(...) _th_log(__VA_ARGS__)

/* Mark the test skipped with a printf-style reason, then run statement. */
#define SKIP(statement, ...)						\
	do {								\
		_th_skip(_metadata, __VA_ARGS__);			\
		statement;						\
	} while (0)

/* ---- checks ---- */

#define _TH_CMP(a, op, b, fatal)					\
	do {								\
		struct _th_val _th_a = _TH_VAL(a);			\
		struct _th_val _th_b = _TH_VAL(b);			\
		if (!_th_cmp(_th_a, op, _th_b)) {			\
			_th_report_cmp(_metadata, __FILE__, __LINE__,	\
				       #a, _th_a, op, #b, _th_b);	\
			if (fatal)					\
				_th_bail(_metadata);			\
		}							\
	} while (0)

/* want_true: 1 for TRUE/NE_NULL, 0 for FALSE/NULL. */
#define _TH_BOOL(x, want_true, what, fatal)				\
	do {								\
		struct _th_val _th_v = _TH_VAL(x);			\
		if ((_th_v.kind == TH_KIND_SIGNED ? _th_v.s != 0 :	\
		     _th_v.u != 0) != (want_true)) {			\
			_th_report_bool(_metadata, __FILE__, __LINE__,	\
					#x, _th_v, what);		\
			if (fatal)					\
				_th_bail(_metadata);			\
		}							\
	} while (0)

#define _TH_STR(a, op, b, fatal)					\
	do {								\
		const char *_th_sa = (a);				\
		const char *_th_sb = (b);				\
		if (_th_streq(_th_sa, _th_sb) != ((op) == TH_OP_EQ)) {	\
			_th_report_str(_metadata, __FILE__, __LINE__,	\
				       #a, _th_sa, op, #b, _th_sb);	\
			if (fatal)					\
				_th_bail(_metadata);			\
		}							\
	} while (0)

#define ASSERT_EQ(a, b)		_TH_CMP(a, TH_OP_EQ, b, 1)
#define ASSERT_NE(a, b)		_TH_CMP(a, TH_OP_NE, b, 1)
#define ASSERT_LT(a, b)		_TH_CMP(a, TH_OP_LT, b, 1)
#define ASSERT_LE(a, b)		_TH_CMP(a, TH_OP_LE, b, 1)
#define ASSERT_GT(a, b)		_TH_CMP(a, TH_OP_GT, b, 1)
#define ASSERT_GE(a, b)		_TH_CMP(a, TH_OP_GE, b, 1)
#define ASSERT_TRUE(x)		_TH_BOOL(x, 1, "true", 1)
#define ASSERT_FALSE(x)		_TH_BOOL(x, 0, "false", 1)
#define ASSERT_NULL(p)		_TH_BOOL(p, 0, "NULL", 1)
#define ASSERT_NE_NULL(p)	_TH_BOOL(p, 1, "non-NULL", 1)
#define ASSERT_STREQ(a, b)	_TH_STR(a, TH_OP_EQ, b, 1)
#define ASSERT_STRNE(a, b)	_TH_STR(a, TH_OP_NE, b, 1)

#define EXPECT_EQ(a, b)		_TH_CMP(a, TH_OP_EQ, b, 0)
#define EXPECT_NE(a, b)		_TH_CMP(a, TH_OP_NE, b, 0)
#define EXPECT_LT(a, b)		_TH_CMP(a, TH_OP_LT, b, 0)
#define EXPECT_LE(a, b)		_TH_CMP(a, TH_OP_LE, b, 0)
#define EXPECT_GT(a, b)		_TH_CMP(a, TH_OP_GT, b, 0)
#define EXPECT_GE(a, b)		_TH_CMP(a, TH_OP_GE, b, 0)
#define EXPECT_TRUE(x)		_TH_BOOL(x, 1, "true", 0)
#define EXPECT_FALSE(x)		_TH_BOOL(x, 0, "false", 0)
#define EXPECT_NULL(p)		_TH_BOOL(p, 0, "NULL", 0)
#define EXPECT_NE_NULL(p)	_TH_BOOL(p, 1, "non-NULL", 0)
#define EXPECT_STREQ(a, b)	_TH_STR(a, TH_OP_EQ, b, 0)
#define EXPECT_STRNE(a, b)	_TH_STR(a, TH_OP_NE, b, 0)

#endif /* FSCACHED_TESTS_HARNESS_H */
