/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmlite benchmarks: shared helpers.  Every benchmark runs in a forked
 * child (see kvmbench.c) and reports its figures as lines
 *
 *	@@BENCH@@ <metric> <value> <unit>
 *
 * on stdout, which bench/run.sh collects.  Times are CLOCK_MONOTONIC
 * nanoseconds of the host the program runs on: in the rig, with QEMU's
 * -icount shift=0, one nanosecond is one emulated instruction, so the
 * figures repeat exactly from run to run.
 */
#ifndef KVMLITE_BENCH_H
#define KVMLITE_BENCH_H

#include <stdint.h>
#include <sys/ioctl.h>
#include <time.h>

#include "vm.h"

#define BENCH_MARK	"@@BENCH@@"

/* Iteration counts are multiplied by this (KVMBENCH_SCALE, default 1). */
extern long bench_scale;

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* One figure of a benchmark, in @unit. */
void report(const char *metric, double value, const char *unit);

/* KVM_RUN without the library's watchdog timer (it costs syscalls). */
int run_once(struct vcpu *v);

/* Point IDT vector @vec of a vm_create()d VM at guest address @handler. */
void set_idt_gate(struct vm *vm, int vec, uint64_t handler);

/* Benchmarks, one per function: exits.c and objects.c. */
void bench_cpuid(void);
void bench_pio_out(void);
void bench_pio_in(void);
void bench_mmio_write(void);
void bench_mmio_read(void);
void bench_hlt_irq(void);
void bench_touch(void);
void bench_memslot(void);
void bench_vm_create(void);
void bench_vcpu_create(void);
void bench_memory(void);

#endif
