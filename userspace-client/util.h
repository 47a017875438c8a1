/* SPDX-License-Identifier: GPL-2.0 */
/* kvmlite client: small helpers shared by every file. */
#ifndef KVMLITE_CLIENT_UTIL_H
#define KVMLITE_CLIENT_UTIL_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define KiB (1024ULL)
#define MiB (1024ULL * KiB)
#define GiB (1024ULL * MiB)

/* Print "kvmlite: MSG" (with ": strerror(errno)" for die_errno) and exit 1. */
void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
void die_errno(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
/* Print "kvmlite: MSG" on stderr, starting on a fresh line of the terminal. */
void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Monotonic host time in nanoseconds. */
uint64_t clock__now_ns(void);

/* Read a whole file into a new buffer; NULL with errno set on failure. */
void *file__read_all(const char *path, size_t *size);

/* Wrappers that exit on out-of-memory. */
void *xzalloc(size_t size);

#endif
