// SPDX-License-Identifier: GPL-2.0
/*
 * Exit round trips: the time from one guest exit of a kind to the next,
 * averaged over many iterations, after a warm-up (which also lets KVM
 * build its MMIO caches and both hypervisors map the guest's pages).
 *
 *	cpuid		CPUID, handled in the kernel: guest loop, one KVM_RUN
 *	pio_out/in	OUT/IN to a port: every iteration is KVM_RUN, the exit
 *			to userspace and back
 *	mmio_write/read	a 4-byte MOV to a GPA outside every memslot
 *	hlt_irq		HLT exits to userspace, which injects an interrupt
 *			with KVM_INTERRUPT; the guest's IDT handler IRETs to
 *			the next HLT (userspace irqchip)
 */
#include <stdio.h>

#include "bench.h"

#define WARMUP		1000
#define EXIT_ITERS	20000L
#define CPUID_ITERS	50000L
#define BENCH_PORT	0x2000
#define IRQ_VECTOR	0x40

/* Guests: each loops for ever, or (cpuid) R8 times and then says done. */
GUEST_CODE(g_cpuid, ".code64",
	"1: xor %eax, %eax\n"
	"xor %ecx, %ecx\n"
	"cpuid\n"
	"dec %r8\n"
	"jnz 1b\n"
	G_DONE
	"hlt\n");

GUEST_CODE(g_out, ".code64",
	"mov $" STR(BENCH_PORT) ", %edx\n"
	"1: out %eax, %dx\n"
	"jmp 1b\n");

GUEST_CODE(g_in, ".code64",
	"mov $" STR(BENCH_PORT) ", %edx\n"
	"1: in %dx, %eax\n"
	"jmp 1b\n");

GUEST_CODE(g_mmio_w, ".code64",
	"mov $" STR(MMIO_GPA) ", %ebx\n"
	"1: mov %eax, (%rbx)\n"
	"jmp 1b\n");

GUEST_CODE(g_mmio_r, ".code64",
	"mov $" STR(MMIO_GPA) ", %ebx\n"
	"1: mov (%rbx), %eax\n"
	"jmp 1b\n");

GUEST_CODE(g_hlt, ".code64",
	"sti\n"
	"1: hlt\n"
	"jmp 1b\n"
	".globl g_hlt_handler\n"
	"g_hlt_handler:\n"
	"iretq\n");
extern const char g_hlt_handler[];

static void bad_exit(struct vcpu *v, const char *want)
{
	diag("expected %s", want);
	vcpu_dump(v);
	fail("unexpected exit");
}

/* One round trip of each kind: enter, check the exit, answer it. */
static void trip_out(struct vcpu *v)
{
	struct kvm_run *r = v->run;

	if (run_once(v) != KVM_EXIT_IO || r->io.direction != KVM_EXIT_IO_OUT ||
	    r->io.port != BENCH_PORT)
		bad_exit(v, "OUT");
}

static void trip_in(struct vcpu *v)
{
	struct kvm_run *r = v->run;

	if (run_once(v) != KVM_EXIT_IO || r->io.direction != KVM_EXIT_IO_IN ||
	    r->io.port != BENCH_PORT)
		bad_exit(v, "IN");
	*(uint32_t *)pio_data(v) = 0x12345678;
}

static void trip_mmio_w(struct vcpu *v)
{
	struct kvm_run *r = v->run;

	if (run_once(v) != KVM_EXIT_MMIO || !r->mmio.is_write ||
	    r->mmio.phys_addr != MMIO_GPA || r->mmio.len != 4)
		bad_exit(v, "MMIO write");
}

static void trip_mmio_r(struct vcpu *v)
{
	struct kvm_run *r = v->run;

	if (run_once(v) != KVM_EXIT_MMIO || r->mmio.is_write ||
	    r->mmio.phys_addr != MMIO_GPA || r->mmio.len != 4)
		bad_exit(v, "MMIO read");
	*(uint32_t *)r->mmio.data = 0x12345678;
}

static void trip_hlt(struct vcpu *v)
{
	struct kvm_interrupt irq = { .irq = IRQ_VECTOR };

	if (run_once(v) != KVM_EXIT_HLT)
		bad_exit(v, "HLT");
	if (ioctl(v->fd, KVM_INTERRUPT, &irq))
		fail("KVM_INTERRUPT: %s", strerrorname(errno));
}

static void round_trips(const char *metric, struct vcpu *v,
			void (*trip)(struct vcpu *v))
{
	long i, n = EXIT_ITERS * bench_scale;
	uint64_t t0, t1;

	for (i = 0; i < WARMUP; i++)
		trip(v);
	t0 = now_ns();
	for (i = 0; i < n; i++)
		trip(v);
	t1 = now_ns();
	report(metric, (double)(t1 - t0) / n, "ns");
}

void bench_pio_out(void)
{
	round_trips("pio_out", GUEST_VM(g_out, MODE_LONG), trip_out);
}

void bench_pio_in(void)
{
	round_trips("pio_in", GUEST_VM(g_in, MODE_LONG), trip_in);
}

void bench_mmio_write(void)
{
	round_trips("mmio_write", GUEST_VM(g_mmio_w, MODE_LONG), trip_mmio_w);
}

void bench_mmio_read(void)
{
	round_trips("mmio_read", GUEST_VM(g_mmio_r, MODE_LONG), trip_mmio_r);
}

void bench_hlt_irq(void)
{
	struct vcpu *v = GUEST_VM(g_hlt, MODE_LONG);

	set_idt_gate(v->vm, IRQ_VECTOR, guest_addr(g_hlt, g_hlt_handler));
	round_trips("hlt_irq", v, trip_hlt);
}

/* Run the CPUID loop @n times from the start to the DONE ucall: ns. */
static uint64_t cpuid_loop(struct vcpu *v, long n)
{
	struct kvm_regs r;
	uint64_t t0, t1;

	vcpu_get_regs(v, &r);
	r.rip = CODE_GPA;
	r.r8 = n;
	vcpu_set_regs(v, &r);
	t0 = now_ns();
	if (run_once(v) != KVM_EXIT_IO || vcpu_ucall(v, NULL) != UC_DONE)
		bad_exit(v, "the DONE ucall");
	t1 = now_ns();
	return t1 - t0;
}

void bench_cpuid(void)
{
	struct vcpu *v = GUEST_VM(g_cpuid, MODE_LONG);
	long n = CPUID_ITERS * bench_scale;

	cpuid_loop(v, WARMUP);
	report("cpuid", (double)cpuid_loop(v, n) / n, "ns");
}
