// SPDX-License-Identifier: GPL-2.0
/*
 * Interrupts with a userspace irqchip: if_flag and
 * ready_for_interrupt_injection, request_interrupt_window and
 * KVM_EXIT_IRQ_WINDOW_OPEN, KVM_INTERRUPT delivery to the guest's IDT (long
 * mode and real mode), HLT woken by an interrupt, NMIs.
 */
#include <sys/ioctl.h>

#include "vm.h"

static void inject(struct vcpu *v, uint32_t vector)
{
	struct kvm_interrupt irq = { .irq = vector };

	if (ioctl(v->fd, KVM_INTERRUPT, &irq))
		fail("KVM_INTERRUPT %u: %s", vector, strerror(errno));
}

GUEST_CODE(if_guest, ".code64",
	"cli\n"
	"mov $1, %eax\n"
	G_REPORT
	"sti\n"
	"nop\n"
	"mov $2, %eax\n"
	G_REPORT
	"cli\n"
	"mov $3, %eax\n"
	G_REPORT
	G_DONE);

static void if_flag(void)
{
	struct vcpu *v = GUEST_VM(if_guest, MODE_LONG);

	CHECK_EQ(run_ucall(v, UC_REPORT), 1);
	CHECK_EQ(v->run->if_flag, 0, "IF clear");
	CHECK_EQ(v->run->ready_for_interrupt_injection, 0, "not ready with IF=0");
	CHECK_EQ(run_ucall(v, UC_REPORT), 2);
	CHECK_EQ(v->run->if_flag, 1, "IF set");
	CHECK_EQ(v->run->ready_for_interrupt_injection, 1, "ready with IF=1");
	CHECK_EQ(run_ucall(v, UC_REPORT), 3);
	CHECK_EQ(v->run->if_flag, 0, "IF clear again");
	CHECK_EQ(v->run->ready_for_interrupt_injection, 0);
	run_to_done(v);
}

/* IF=0 for a while, then sti: the window opens. */
GUEST_CODE(window_guest, ".code64",
	"cli\n"
	"mov $1, %eax\n"
	G_REPORT
	"mov $100000, %ecx\n"
	"1: loop 1b\n"
	"sti\n"
	"2: mov $3, %eax\n"
	G_REPORT
	"jmp 2b\n");

static void irq_window(void)
{
	struct vcpu *v = GUEST_VM(window_guest, MODE_LONG);

	CHECK_EQ(run_ucall(v, UC_REPORT), 1);
	v->run->request_interrupt_window = 1;
	run_expect_exit(v, KVM_EXIT_IRQ_WINDOW_OPEN);
	CHECK_EQ(v->run->if_flag, 1);
	CHECK_EQ(v->run->ready_for_interrupt_injection, 1);
	inject(v, 0x40);
	v->run->request_interrupt_window = 0;
	CHECK_EQ(run_ucall(v, UC_VECTOR), 0x40, "the interrupt comes first");
	CHECK_EQ(run_ucall(v, UC_REPORT), 3, "then the guest goes on");
}

/* Interrupts enabled from the start: the window is open at once. */
GUEST_CODE(sti_loop, ".code64",
	"sti\n"
	"1: mov $7, %eax\n"
	G_REPORT
	"jmp 1b\n");

static void window_already_open(void)
{
	struct vcpu *v = GUEST_VM(sti_loop, MODE_LONG);
	struct kvm_regs r;

	vcpu_get_regs(v, &r);
	r.rflags |= X86_EFLAGS_IF;
	vcpu_set_regs(v, &r);
	v->run->request_interrupt_window = 1;
	run_expect_exit(v, KVM_EXIT_IRQ_WINDOW_OPEN);
	CHECK_EQ(v->run->ready_for_interrupt_injection, 1);
	inject(v, 0x41);
	v->run->request_interrupt_window = 0;
	CHECK_EQ(run_ucall(v, UC_VECTOR), 0x41);
	CHECK_EQ(run_ucall(v, UC_REPORT), 7);
}

static void many_vectors(void)
{
	static const uint32_t vectors[] = { 0x20, 0x21, 0x80, 0x9f, 0xfe, 0xff, 0x30 };
	struct vcpu *v = GUEST_VM(sti_loop, MODE_LONG);
	unsigned int i;

	CHECK_EQ(run_ucall(v, UC_REPORT), 7);
	for (i = 0; i < ARRAY_SIZE(vectors); i++) {
		CHECK(v->run->ready_for_interrupt_injection, "not ready");
		inject(v, vectors[i]);
		CHECK_EQ(run_ucall(v, UC_VECTOR), vectors[i]);
		CHECK_EQ(run_ucall(v, UC_REPORT), 7);
	}
}

/* A second KVM_INTERRUPT before the vCPU runs replaces the first. */
static void interrupt_replaced(void)
{
	struct vcpu *v = GUEST_VM(sti_loop, MODE_LONG);
	struct kvm_vcpu_events ev;

	CHECK_EQ(run_ucall(v, UC_REPORT), 7);
	inject(v, 0x51);
	inject(v, 0x52);
	CHECK_OK(ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev));
	CHECK_EQ(ev.interrupt.injected, 1);
	CHECK_EQ(ev.interrupt.nr, 0x52);
	CHECK_EQ(run_ucall(v, UC_VECTOR), 0x52);
	CHECK_EQ(run_ucall(v, UC_REPORT), 7, "one interrupt only");
}

GUEST_CODE(hlt_wake, ".code64",
	"sti\n"
	"hlt\n"
	"mov $0x77, %eax\n"
	G_REPORT
	G_DONE);

static void hlt_woken(void)
{
	struct vcpu *v = GUEST_VM(hlt_wake, MODE_LONG);

	run_expect_exit(v, KVM_EXIT_HLT);
	CHECK_EQ(v->run->if_flag, 1);
	CHECK_EQ(v->run->ready_for_interrupt_injection, 1);
	inject(v, 0x42);
	CHECK_EQ(run_ucall(v, UC_VECTOR), 0x42, "the interrupt wakes the guest");
	CHECK_EQ(run_ucall(v, UC_REPORT), 0x77, "and it goes on past the hlt");
	run_to_done(v);
}

GUEST_CODE(nmi_guest, ".code64",
	"cli\n"
	"1: mov $9, %eax\n"
	G_REPORT
	"jmp 1b\n");

static void nmi_with_if_clear(void)
{
	struct vcpu *v = GUEST_VM(nmi_guest, MODE_LONG);

	CHECK_EQ(run_ucall(v, UC_REPORT), 9);
	CHECK_EQ(v->run->if_flag, 0);
	CHECK_OK(ioctl(v->fd, KVM_NMI));
	CHECK_EQ(run_ucall(v, UC_VECTOR), 2, "NMI despite IF=0");
	CHECK_EQ(run_ucall(v, UC_REPORT), 9);
	CHECK_OK(ioctl(v->fd, KVM_NMI));
	CHECK_EQ(run_ucall(v, UC_VECTOR), 2, "a second NMI");
	CHECK_EQ(run_ucall(v, UC_REPORT), 9);
}

/*
 * A half-delivered event (an exception or NMI whose delivery an exit cut
 * short, here set with KVM_SET_VCPU_EVENTS) goes in first on the next entry,
 * and the handler runs with IF=0.  Until then the vCPU is not ready for an
 * interrupt even with IF=1, and the window does not open: an interrupt
 * injected now would land in that handler with interrupts off.
 */
static void half_injected_events_close_window(void)
{
	static const struct {
		const char *what;
		bool nmi;
		uint8_t vector;
	} events[] = {
		{ "an exception", false, 6 },
		{ "an NMI", true, 2 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(events); i++) {
		struct vcpu *v = GUEST_VM(sti_loop, MODE_LONG);
		struct kvm_vcpu_events ev;
		struct kvm_regs r;
		int ret;

		vcpu_get_regs(v, &r);
		r.rflags |= X86_EFLAGS_IF;
		vcpu_set_regs(v, &r);
		CHECK_OK(ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev));
		ev.flags = 0;
		if (events[i].nmi) {
			ev.nmi.injected = 1;
		} else {
			ev.exception.injected = 1;
			ev.exception.nr = events[i].vector;
		}
		CHECK_OK(ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev));
		v->run->request_interrupt_window = 1;
		v->run->immediate_exit = 1;
		ret = ioctl(v->fd, KVM_RUN, 0);
		CHECK(ret == -1 && errno == EINTR, "KVM_RUN: %d %s", ret,
		      strerrorname(errno));
		v->run->immediate_exit = 0;
		CHECK_EQ(v->run->if_flag, 1, "%s", events[i].what);
		CHECK_EQ(v->run->ready_for_interrupt_injection, 0,
			 "not ready while %s is half-injected", events[i].what);
		CHECK_EQ(run_ucall(v, UC_VECTOR), events[i].vector,
			 "%s goes in first", events[i].what);
		if (events[i].nmi) {
			run_expect_exit(v, KVM_EXIT_IRQ_WINDOW_OPEN);
			CHECK_EQ(v->run->ready_for_interrupt_injection, 1,
				 "ready once the NMI handler returned");
		}
	}
}

/*
 * One KVM_INTERRUPT is one delivery.  The guest counts its interrupts in
 * its handler, which then spins a while with IF=0 and no exits: an
 * interrupt delivered a second time would land there, at any point.
 */
GUEST_CODE(count_irqs, ".code64",
	"sti\n"
	"1: movl " STR(DATA_GPA) ", %eax\n"
	G_REPORT
	"jmp 1b\n"
	"count_irqs_handler: lock incl " STR(DATA_GPA) "\n"
	"push %rcx\n"
	"mov $1000000, %ecx\n"
	"2: loop 2b\n"
	"pop %rcx\n"
	"iretq\n");

static void one_interrupt_one_delivery(void)
{
	struct vcpu *v = GUEST_VM(count_irqs, MODE_LONG);
	extern const char count_irqs_handler[];
	uint32_t i, count;

	vm_set_idt_gate(v->vm, 0x60, guest_addr(count_irqs, count_irqs_handler));
	CHECK_EQ(run_ucall(v, UC_REPORT), 0);
	for (i = 1; i <= 200; i++) {
		CHECK(v->run->ready_for_interrupt_injection, "not ready");
		inject(v, 0x60);
		count = run_ucall(v, UC_REPORT);
		CHECK_EQ(count, i, "interrupts counted after %u KVM_INTERRUPTs", i);
	}
}

/* Real mode: the vector goes through the IVT. */
GUEST_CODE(rm_irq, ".code16",
	"sti\n"
	"1: mov %bx, %ax\n"
	"movzwl %ax, %eax\n"
	G_REPORT
	"jmp 1b\n"
	"rm_irq_handler: mov $0x3030, %bx\n"
	"iret\n");

static void real_mode_interrupt(void)
{
	struct vcpu *v = GUEST_VM(rm_irq, MODE_REAL);
	uint16_t *ivt = gpa2hva(v->vm, 0);
	extern const char rm_irq_handler[];

	ivt[0x30 * 2] = guest_addr(rm_irq, rm_irq_handler);
	ivt[0x30 * 2 + 1] = 0;
	CHECK_EQ(run_ucall(v, UC_REPORT), 0);
	CHECK(v->run->ready_for_interrupt_injection, "not ready");
	inject(v, 0x30);
	CHECK_EQ(run_ucall(v, UC_REPORT), 0x3030, "the handler ran");
}

static const struct tcase cases[] = {
	CASE(if_flag, "if_flag and ready_for_interrupt_injection follow IF"),
	CASE(irq_window, "request_interrupt_window: IRQ_WINDOW_OPEN at sti"),
	CASE(window_already_open, "request_interrupt_window with IF=1"),
	CASE(many_vectors, "KVM_INTERRUPT vectors 0x20-0xff reach the IDT"),
	CASE(interrupt_replaced, "a second KVM_INTERRUPT replaces the first"),
	CASE(one_interrupt_one_delivery,
	     "each KVM_INTERRUPT is delivered exactly once"),
	CASE(hlt_woken, "HLT woken by an interrupt"),
	CASE(nmi_with_if_clear, "KVM_NMI with IF=0"),
	CASE(half_injected_events_close_window,
	     "no interrupt window while an exception or NMI is half-injected"),
	CASE(real_mode_interrupt, "KVM_INTERRUPT in real mode"),
};

int main(int argc, char **argv)
{
	return run_cases(argc, argv, cases, ARRAY_SIZE(cases));
}
