/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TAP (version 13) output and the case runner of the kvmlite selftests.
 *
 * A test program is a table of cases.  Each case is one TAP point and runs
 * in a forked child, so that a crash, a hang or a failed check in one case
 * cannot hide the others.  Inside a case:
 *
 *	- return normally to pass;
 *	- CHECK()/fail() print a "# ..." diagnostic and end the case as failed;
 *	- skip() ends the case as skipped, with a reason.
 *
 * The parent prints "ok N - name", "not ok N - name" or
 * "ok N - name # SKIP reason" once the child is gone.
 */
#ifndef SELFTEST_TEST_H
#define SELFTEST_TEST_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define KSFT_PASS	0
#define KSFT_FAIL	1
#define KSFT_SKIP	4

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

struct tcase {
	const char *name;
	void (*fn)(void);
	void (*fn_arg)(long arg);	/* instead of fn: called with arg */
	long arg;
	int timeout;			/* seconds; 0: the default (30) */
};

#define CASE(f, desc)		{ .name = (desc), .fn = (f) }
#define CASE_ARG(f, a, desc)	{ .name = (desc), .fn_arg = (f), .arg = (a) }
#define CASE_TIMEOUT(f, t, desc) { .name = (desc), .fn = (f), .timeout = (t) }

/* The device under test: argv[1], else /dev/kvmlite. */
extern const char *dev_path;

/*
 * Open the device (skipping the whole program when it cannot be opened),
 * print the header and the plan, run every case, and return the exit code:
 * 0 when nothing failed, 1 when something failed, 4 when all skipped.
 */
int run_cases(int argc, char **argv, const struct tcase *cases, int n);

void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The messages of the CHECK macros are optional; when given, the first
 * argument is a string literal format.
 */
#define CHECK(cond, ...)						\
	do {								\
		if (!(cond)) {						\
			diag("%s:%d: failed: %s", __FILE__, __LINE__, #cond); \
			fail(" " __VA_ARGS__);				\
		}							\
	} while (0)

/* Compare two integers, printing both on a mismatch. */
#define CHECK_EQ(a, b, ...)						\
	do {								\
		unsigned long long __a = (unsigned long long)(a);	\
		unsigned long long __b = (unsigned long long)(b);	\
		if (__a != __b) {					\
			diag("%s:%d: %s == %s: 0x%llx != 0x%llx",	\
			     __FILE__, __LINE__, #a, #b, __a, __b);	\
			fail(" " __VA_ARGS__);				\
		}							\
	} while (0)

/* A call that must fail with -1 and errno @err. */
#define CHECK_ERR(call, err, ...)					\
	do {								\
		long __r = (long)(call);				\
		int __e = errno;					\
		if (__r != -1 || __e != (err)) {			\
			diag("%s:%d: %s: want -1/%s, got %ld/%s",	\
			     __FILE__, __LINE__, #call, strerrorname(err), \
			     __r, __r == -1 ? strerrorname(__e) : "-"); \
			fail(" " __VA_ARGS__);				\
		}							\
	} while (0)

/* A call that must succeed (return >= 0). */
#define CHECK_OK(call, ...)						\
	do {								\
		long __r = (long)(call);				\
		if (__r < 0) {						\
			diag("%s:%d: %s: %s", __FILE__, __LINE__, #call, \
			     strerrorname(errno));			\
			fail(" " __VA_ARGS__);				\
		}							\
	} while (0)

/* "EINVAL" rather than "Invalid argument": what the tests compare. */
const char *strerrorname(int err);

#endif
