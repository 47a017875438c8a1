// SPDX-License-Identifier: GPL-2.0
/*
 * Port I/O exits: OUT and IN of 1, 2 and 4 bytes, immediate and DX forms,
 * in every mode; the string forms (rep outs/ins of bytes, words and
 * dwords, backwards, across pages, larger than the PIO page), checked byte
 * for byte.
 */
#include <stdlib.h>
#include <sys/ioctl.h>

#include "vm.h"

/* The next exit must be a port access with these properties. */
static void expect_io(struct vcpu *v, int dir, uint16_t port, int size)
{
	struct kvm_run *run = v->run;

	vcpu_run(v);
	if (run->exit_reason == KVM_EXIT_IO && run->io.direction == dir &&
	    run->io.port == port && run->io.size == size)
		return;
	diag("expected %s of %d bytes at port 0x%x", dir ? "out" : "in",
	     size, port);
	vcpu_dump(v);
	fail("unexpected exit");
}

static void expect_out(struct vcpu *v, uint16_t port, int size, uint32_t val)
{
	uint32_t got = 0;

	expect_io(v, KVM_EXIT_IO_OUT, port, size);
	CHECK_EQ(v->run->io.count, 1);
	memcpy(&got, pio_data(v), size);
	CHECK_EQ(got, val, "out to port 0x%x", port);
}

static void answer_in(struct vcpu *v, uint16_t port, int size, uint32_t val)
{
	expect_io(v, KVM_EXIT_IO_IN, port, size);
	CHECK_EQ(v->run->io.count, 1);
	memcpy(pio_data(v), &val, size);
}

GUEST_CODE(lm_out, ".code64",
	"mov $0x12, %al\n"
	"out %al, $0xe0\n"
	"mov $0x3456, %ax\n"
	"out %ax, $0xe2\n"
	"mov $0x789abcde, %eax\n"
	"out %eax, $0xe4\n"
	"mov $0x5000, %dx\n"
	"mov $0x9a, %al\n"
	"out %al, %dx\n"
	"mov $0xbcde, %ax\n"
	"out %ax, %dx\n"
	"mov $0xf0e1d2c3, %eax\n"
	"out %eax, %dx\n"
	"mov $0xffff, %dx\n"
	"out %al, %dx\n"
	G_DONE);

static void out_sizes(void)
{
	struct vcpu *v = GUEST_VM(lm_out, MODE_LONG);

	expect_out(v, 0xe0, 1, 0x12);
	expect_out(v, 0xe2, 2, 0x3456);
	expect_out(v, 0xe4, 4, 0x789abcde);
	expect_out(v, 0x5000, 1, 0x9a);
	expect_out(v, 0x5000, 2, 0xbcde);
	expect_out(v, 0x5000, 4, 0xf0e1d2c3);
	expect_out(v, 0xffff, 1, 0xc3);
	run_to_done(v);
}

/* Each IN result is reported; EAX starts as 0xdeadbeef (RAX all ones). */
GUEST_CODE(lm_in, ".code64",
	"mov $-1, %rax\n"
	"mov $0xdeadbeef, %eax\n"
	"in $0xe0, %al\n"
	G_REPORT
	"mov $0xdeadbeef, %eax\n"
	"in $0xe2, %ax\n"
	G_REPORT
	"mov $-1, %rax\n"
	"in $0xe4, %eax\n"
	"mov %rax, %rbx\n"
	G_REPORT
	"mov $0x5000, %dx\n"
	"mov $0xdeadbeef, %eax\n"
	"in %dx, %al\n"
	G_REPORT
	"mov $0x5000, %dx\n"
	"mov $0xdeadbeef, %eax\n"
	"in %dx, %ax\n"
	G_REPORT
	"mov $0x5000, %dx\n"
	"in %dx, %eax\n"
	G_REPORT
	G_DONE);

static void in_sizes(void)
{
	struct vcpu *v = GUEST_VM(lm_in, MODE_LONG);
	struct kvm_regs r;

	answer_in(v, 0xe0, 1, 0x5a);
	CHECK_EQ(run_ucall(v, UC_REPORT), 0xdeadbe5a, "in al");
	answer_in(v, 0xe2, 2, 0x1234);
	CHECK_EQ(run_ucall(v, UC_REPORT), 0xdead1234, "in ax");
	answer_in(v, 0xe4, 4, 0x89abcdef);
	CHECK_EQ(run_ucall(v, UC_REPORT), 0x89abcdef, "in eax");
	vcpu_get_regs(v, &r);
	CHECK_EQ(r.rbx, 0x89abcdef, "in eax zero-extends into rax");
	answer_in(v, 0x5000, 1, 0xa5);
	CHECK_EQ(run_ucall(v, UC_REPORT), 0xdeadbea5, "in al, dx");
	answer_in(v, 0x5000, 2, 0x4321);
	CHECK_EQ(run_ucall(v, UC_REPORT), 0xdead4321, "in ax, dx");
	answer_in(v, 0x5000, 4, 0x10203040);
	CHECK_EQ(run_ucall(v, UC_REPORT), 0x10203040, "in eax, dx");
	run_to_done(v);
}

GUEST_CODE(rm_io, ".code16",
	"mov $0x77, %al\n"
	"out %al, $0xe6\n"
	"mov $0x8899, %ax\n"
	"mov $0x5006, %dx\n"
	"out %ax, %dx\n"
	"mov $0x11223344, %eax\n"
	"out %eax, %dx\n"
	"mov $0x1111, %ax\n"
	"in %dx, %ax\n"
	"mov %ax, %bx\n"
	"in $0xe6, %al\n"
	"mov %al, %bl\n"
	"movzwl %bx, %eax\n"
	G_REPORT
	G_DONE);

GUEST_CODE(pm_io, ".code32",
	"mov $0x77, %al\n"
	"out %al, $0xe6\n"
	"mov $0x8899, %ax\n"
	"mov $0x5006, %dx\n"
	"out %ax, %dx\n"
	"mov $0x11223344, %eax\n"
	"out %eax, %dx\n"
	"mov $0x1111, %ax\n"
	"in %dx, %ax\n"
	"mov %ax, %bx\n"
	"in $0xe6, %al\n"
	"mov %al, %bl\n"
	"movzwl %bx, %eax\n"
	G_REPORT
	G_DONE);

static void io_other_modes(long mode)
{
	struct vcpu *v = mode == MODE_REAL ? GUEST_VM(rm_io, MODE_REAL) :
					     GUEST_VM(pm_io, MODE_PROT);

	expect_out(v, 0xe6, 1, 0x77);
	expect_out(v, 0x5006, 2, 0x8899);
	expect_out(v, 0x5006, 4, 0x11223344);
	answer_in(v, 0x5006, 2, 0xabcd);
	answer_in(v, 0xe6, 1, 0xef);
	CHECK_EQ(run_ucall(v, UC_REPORT), 0xabef);
	run_to_done(v);
}

/*
 * Serve a string I/O of @n items of @size bytes at @port: an OUT fills
 * @buf, an IN is served from @buf.  An exit may carry several items.
 */
static void string_io(struct vcpu *v, int dir, uint16_t port, int size,
		      uint32_t n, uint8_t *buf)
{
	uint32_t done = 0, exits = 0;

	while (done < n) {
		uint32_t c;

		expect_io(v, dir, port, size);
		c = v->run->io.count;
		CHECK(c >= 1 && c <= n - done, "count %u with %u left", c,
		      n - done);
		CHECK(v->run->io.data_offset + (uint64_t)c * size <= v->run_size,
		      "data beyond the mapping");
		if (dir == KVM_EXIT_IO_OUT)
			memcpy(buf + done * size, pio_data(v), c * size);
		else
			memcpy(pio_data(v), buf + done * size, c * size);
		done += c;
		exits++;
	}
	diag("%u items of %d bytes at port 0x%x in %u exits", n, size, port,
	     exits);
}

static void pattern(uint8_t *p, int n, int seed)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + seed * 31 + 1);
}

/* Registers after each string op are reported: ECX, then ESI or EDI. */
#define REP_OP(op, reg, addr, count, port)				\
	"mov $" addr ", %" reg "\n"					\
	"mov $" count ", %ecx\n"					\
	"mov $" port ", %dx\n"						\
	op "\n"								\
	"mov %ecx, %eax\n"						\
	G_REPORT							\
	"mov %" reg ", %eax\n"						\
	G_REPORT

GUEST_CODE(lm_string, ".code64",
	"cld\n"
	REP_OP("rep outsb", "esi", "0x10000", "16", "0x5001")
	REP_OP("rep insb", "edi", "0x10100", "16", "0x5002")
	REP_OP("rep outsw", "esi", "0x10200", "8", "0x5003")
	REP_OP("rep insw", "edi", "0x10300", "8", "0x5004")
	REP_OP("rep outsl", "esi", "0x10400", "4", "0x5005")
	REP_OP("rep insl", "edi", "0x10500", "4", "0x5006")
	REP_OP("outsb", "esi", "0x10600", "5", "0x5007")
	REP_OP("insw", "edi", "0x10700", "5", "0x5008")
	"std\n"
	REP_OP("rep insb", "edi", "0x1080f", "16", "0x5009")
	REP_OP("rep outsw", "esi", "0x1090e", "8", "0x500a")
	"cld\n"
	REP_OP("rep outsb", "esi", "0x10ff8", "16", "0x500b")
	REP_OP("rep insl", "edi", "0x11ffc", "4", "0x500c")
	REP_OP("rep insb", "edi", "0x12000", "5000", "0x500d")
	REP_OP("rep outsb", "esi", "0x12000", "0", "0x500e")
	G_DONE);

struct str_step {
	int dir, size;
	uint32_t addr, count;
	uint16_t port;
	bool down, rep;
};

/* Compare guest memory from @addr (going down when @down) with @buf. */
static bool same_items(const uint8_t *mem, uint32_t addr, const uint8_t *buf,
		       uint32_t items, int size, bool down)
{
	uint32_t k;

	for (k = 0; k < items; k++) {
		uint32_t a = down ? addr - k * size : addr + k * size;

		if (memcmp(mem + a, buf + k * size, size))
			return false;
	}
	return true;
}

static void string_forms(void)
{
	static const struct str_step steps[] = {
		{ KVM_EXIT_IO_OUT, 1, 0x10000, 16, 0x5001, false, true },
		{ KVM_EXIT_IO_IN, 1, 0x10100, 16, 0x5002, false, true },
		{ KVM_EXIT_IO_OUT, 2, 0x10200, 8, 0x5003, false, true },
		{ KVM_EXIT_IO_IN, 2, 0x10300, 8, 0x5004, false, true },
		{ KVM_EXIT_IO_OUT, 4, 0x10400, 4, 0x5005, false, true },
		{ KVM_EXIT_IO_IN, 4, 0x10500, 4, 0x5006, false, true },
		{ KVM_EXIT_IO_OUT, 1, 0x10600, 5, 0x5007, false, false },
		{ KVM_EXIT_IO_IN, 2, 0x10700, 5, 0x5008, false, false },
		{ KVM_EXIT_IO_IN, 1, 0x1080f, 16, 0x5009, true, true },
		{ KVM_EXIT_IO_OUT, 2, 0x1090e, 8, 0x500a, true, true },
		{ KVM_EXIT_IO_OUT, 1, 0x10ff8, 16, 0x500b, false, true },
		{ KVM_EXIT_IO_IN, 4, 0x11ffc, 4, 0x500c, false, true },
		{ KVM_EXIT_IO_IN, 1, 0x12000, 5000, 0x500d, false, true },
		{ KVM_EXIT_IO_OUT, 1, 0x12000, 0, 0x500e, false, true },
	};
	struct vcpu *v = GUEST_VM(lm_string, MODE_LONG);
	uint8_t *mem = gpa2hva(v->vm, 0);
	uint8_t *buf = malloc(8192);
	unsigned int i;

	pattern(mem + 0x10000, 0x3000, 99);
	for (i = 0; i < ARRAY_SIZE(steps); i++) {
		const struct str_step *s = &steps[i];
		/* Without rep, one item and ECX untouched. */
		uint32_t items = s->rep ? s->count : 1;
		int32_t step = s->down ? -s->size : s->size;

		if (items && s->dir == KVM_EXIT_IO_OUT) {
			memset(buf, 0, items * s->size);
			string_io(v, s->dir, s->port, s->size, items, buf);
			CHECK(same_items(mem, s->addr, buf, items, s->size,
					 s->down), "step %u: data out differs", i);
		} else if (items) {
			pattern(buf, items * s->size, i);
			string_io(v, s->dir, s->port, s->size, items, buf);
		}
		CHECK_EQ(run_ucall(v, UC_REPORT), s->rep ? 0 : s->count,
			 "step %u: ecx", i);
		CHECK_EQ(run_ucall(v, UC_REPORT), s->addr + items * step,
			 "step %u: esi/edi", i);
		if (items && s->dir == KVM_EXIT_IO_IN)
			CHECK(same_items(mem, s->addr, buf, items, s->size,
					 s->down), "step %u: data in differs", i);
	}
	run_to_done(v);
}

/* rep outsb / insb in real mode with DS:SI and ES:DI, 16-bit CX. */
GUEST_CODE(rm_string, ".code16",
	"mov $0x1000, %ax\n"
	"mov %ax, %ds\n"
	"mov %ax, %es\n"
	"mov $0x20, %si\n"
	"mov $10, %cx\n"
	"mov $0x5010, %dx\n"
	"cld\n"
	"rep outsb\n"
	"mov $0x40, %di\n"
	"mov $6, %cx\n"
	"mov $0x5011, %dx\n"
	"rep insw\n"
	"mov %di, %ax\n"
	"movzwl %ax, %eax\n"
	G_REPORT
	G_DONE);

static void real_mode_string(void)
{
	struct vcpu *v = GUEST_VM(rm_string, MODE_REAL);
	uint8_t *mem = gpa2hva(v->vm, DATA_GPA);
	uint8_t buf[16];

	pattern(mem + 0x20, 10, 5);
	string_io(v, KVM_EXIT_IO_OUT, 0x5010, 1, 10, buf);
	CHECK(!memcmp(buf, mem + 0x20, 10), "rep outsb data");
	pattern(buf, 12, 6);
	string_io(v, KVM_EXIT_IO_IN, 0x5011, 2, 6, buf);
	CHECK_EQ(run_ucall(v, UC_REPORT), 0x40 + 12, "di");
	CHECK(!memcmp(buf, mem + 0x40, 12), "rep insw data");
	run_to_done(v);
}

/* 10000 exits: OUT of a counter, IN of the host's answer, summed. */
GUEST_CODE(pio_many, ".code64",
	"xor %ebx, %ebx\n"
	"xor %edi, %edi\n"
	"1: mov %ebx, %eax\n"
	"out %eax, $0xe8\n"
	"in $0xe8, %eax\n"
	"add %eax, %edi\n"
	"inc %ebx\n"
	"cmp $10000, %ebx\n"
	"jne 1b\n"
	"mov %edi, %eax\n"
	G_REPORT
	G_DONE);

static void many_exits(void)
{
	struct vcpu *v = GUEST_VM(pio_many, MODE_LONG);
	uint32_t i, sum = 0;

	for (i = 0; i < 10000; i++) {
		expect_out(v, 0xe8, 4, i);
		answer_in(v, 0xe8, 4, i * 7 + 1);
		sum += i * 7 + 1;
	}
	CHECK_EQ(run_ucall(v, UC_REPORT), sum);
	run_to_done(v);
}

static const struct tcase cases[] = {
	CASE(out_sizes, "OUT of 1, 2 and 4 bytes"),
	CASE(in_sizes, "IN of 1, 2 and 4 bytes merge into RAX"),
	CASE_ARG(io_other_modes, MODE_REAL, "IN and OUT in real mode"),
	CASE_ARG(io_other_modes, MODE_PROT, "IN and OUT in protected mode"),
	CASE(string_forms, "string I/O, checked byte for byte"),
	CASE(real_mode_string, "string I/O in real mode"),
	CASE_TIMEOUT(many_exits, 60, "20000 port exits in a row"),
};

int main(int argc, char **argv)
{
	return run_cases(argc, argv, cases, ARRAY_SIZE(cases));
}
