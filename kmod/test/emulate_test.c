// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit test of the kvmlite MMIO emulator, decoder, MOV DR emulation
 * and guest page walk: kmod/emulate.c, decode.c and guest.c, compiled
 * unchanged against the shims in shim/ and the fake core below (a backend
 * whose state is a struct, guest memory as an array with memslots).
 *
 * Prints TAP; exits non-zero when a check fails.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <linux/kernel.h>
#include <asm/msr-index.h>
#include <asm/page.h>
#include <asm/processor-flags.h>

#include "kvmlite.h"
#include "emulate.h"

#define EFLAGS_ARITH_ALL (X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | \
			  X86_EFLAGS_ZF | X86_EFLAGS_SF | X86_EFLAGS_OF)

/* ---- The fake core ---------------------------------------------------- */

/*
 * Guest physical memory: RAM below 640K and from 1M to 8M, a read-only
 * slot (ROM) at 0xf0000, MMIO in the hole 0xa0000-0xf0000 and above 8M.
 */
#define MEM_SIZE	0x800000ULL
#define ROM_BASE	0xf0000ULL
#define ROM_END		0x100000ULL
#define LOW_END		0xa0000ULL
#define MMIO		0x40000000ULL	/* an MMIO address in every mode */
#define VGA		0xa0000ULL	/* MMIO reachable in real mode */
#define CODE		0x10000ULL

static u8 mem[MEM_SIZE];
static struct kvml_memslot ram_slot = { .id = 0 };
static struct kvml_memslot rom_slot = { .id = 1, .flags = KVM_MEM_READONLY };

struct kvml_memslot *kvml_gfn_to_slot(struct kvml_vm *vm, u64 gfn)
{
	u64 gpa = gfn << PAGE_SHIFT;

	if (gpa >= ROM_BASE && gpa < ROM_END)
		return &rom_slot;
	if (gpa < LOW_END || (gpa >= ROM_END && gpa < MEM_SIZE))
		return &ram_slot;
	return NULL;
}

static bool gpa_ok(u64 gpa, unsigned int len, bool write)
{
	u64 a;

	for (a = gpa & PAGE_MASK; a < gpa + len; a += PAGE_SIZE) {
		struct kvml_memslot *s = kvml_gfn_to_slot(NULL, a >> PAGE_SHIFT);

		if (!s || (write && (s->flags & KVM_MEM_READONLY)))
			return false;
	}
	return true;
}

static int mmu_reads;

int kvml_read_gpa(struct kvml_vm *vm, u64 gpa, void *buf, unsigned int len)
{
	mmu_reads++;
	if (!gpa_ok(gpa, len, false))
		return -EFAULT;
	memcpy(buf, mem + gpa, len);
	return 0;
}

int kvml_write_gpa(struct kvml_vm *vm, u64 gpa, const void *buf,
		   unsigned int len)
{
	if (!gpa_ok(gpa, len, true))
		return -EFAULT;
	memcpy(mem + gpa, buf, len);
	return 0;
}

static int exc_vector = -1;
static bool exc_has_error;

void kvml_queue_exception(struct kvml_vcpu *vcpu, u8 vector, bool has_error,
			  u32 error)
{
	exc_vector = vector;
	exc_has_error = has_error;
}

void kvml_inject_gp(struct kvml_vcpu *vcpu)
{
	kvml_queue_exception(vcpu, GP_VECTOR, true, 0);
}

void kvml_inject_ud(struct kvml_vcpu *vcpu)
{
	kvml_queue_exception(vcpu, UD_VECTOR, false, 0);
}

/* The fake backend: all its state in plain variables. */
static struct kvm_segment segs[SEG_NR];
static u64 cr0, cr3, cr4, efer;
static int cpl;
static u32 shadow;

static void t_get_segment(struct kvml_vcpu *v, struct kvm_segment *s, int seg)
{
	*s = segs[seg];
}

static u64 t_get_cr(struct kvml_vcpu *v, int cr)
{
	return cr == 0 ? cr0 : cr == 3 ? cr3 : cr == 4 ? cr4 : 0;
}

static u64 t_get_efer(struct kvml_vcpu *v) { return efer; }
static int t_get_cpl(struct kvml_vcpu *v) { return cpl; }
static u32 t_get_shadow(struct kvml_vcpu *v) { return shadow; }
static void t_set_shadow(struct kvml_vcpu *v, u32 m) { shadow = m; }

static const struct kvml_backend_ops test_ops = {
	.name = "test",
	.get_segment = t_get_segment,
	.get_cr = t_get_cr,
	.get_efer = t_get_efer,
	.get_cpl = t_get_cpl,
	.get_interrupt_shadow = t_get_shadow,
	.set_interrupt_shadow = t_set_shadow,
};

const struct kvml_backend_ops *kvml_ops = &test_ops;

static struct kvm_run run;
static struct kvml_vm vm;
static struct kvml_vcpu vcpu = { .vm = &vm, .run = &run };
static u64 *regs = vcpu.regs;

/* ---- TAP -------------------------------------------------------------- */

static int tests, failures;

static bool check(bool ok, const char *fmt, ...)
{
	va_list ap;

	tests++;
	if (!ok)
		failures++;
	printf("%sok %d - ", ok ? "" : "not ", tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return ok;
}

#define CHECK_EQ(a, b, what)						\
	({ u64 _a = (a), _b = (b);					\
	   check(_a == _b, "%s: %#llx == %#llx", what,			\
		 (unsigned long long)_a, (unsigned long long)_b); })

/* ---- Guest set-up ----------------------------------------------------- */

static void put64(u64 gpa, u64 v) { memcpy(mem + gpa, &v, 8); }
static void put32(u64 gpa, u32 v) { memcpy(mem + gpa, &v, 4); }

static void reset_vcpu(void)
{
	int i;

	memset(vcpu.regs, 0, sizeof(vcpu.regs));
	memset(&vcpu.emul, 0, sizeof(vcpu.emul));
	memset(&run, 0, sizeof(run));
	memset(segs, 0, sizeof(segs));
	for (i = 0; i < SEG_NR; i++) {
		segs[i].present = 1;
		segs[i].limit = 0xffffffff;
	}
	vcpu.rflags = 0x2;
	vcpu.rip = CODE;
	vcpu.complete_userspace = NULL;
	cpl = 0;
	cr3 = 0;
	cr4 = 0;
	efer = 0;
	shadow = 0;
	exc_vector = -1;
}

static void mode_real(void)
{
	reset_vcpu();
	cr0 = 0;
	vcpu.rip = 0;
	segs[SEG_CS].base = CODE;
	segs[SEG_CS].selector = CODE >> 4;
}

static void mode_prot(bool db)
{
	reset_vcpu();
	cr0 = X86_CR0_PE;
	segs[SEG_CS].db = db;
}

/* Long mode, 0-4G identity mapped with 1 GiB pages (PML4 0x1000). */
static void mode_long(void)
{
	int i;

	reset_vcpu();
	cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_WP;
	cr4 = X86_CR4_PAE;
	efer = EFER_LME | EFER_LMA;
	cr3 = 0x1000;
	segs[SEG_CS].l = 1;
	memset(mem + 0x1000, 0, 0x2000);
	put64(0x1000, 0x2000 | 7);
	for (i = 0; i < 4; i++)
		put64(0x2000 + i * 8, ((u64)i << 30) | 0x87);
}

/* Map 4K @gva to @gpa in long mode, tables from a bump allocator. */
static u64 table_next = 0x300000;

static u64 new_table(void)
{
	u64 t = table_next;

	table_next += 0x1000;
	memset(mem + t, 0, 0x1000);
	return t;
}

static void map4k(u64 gva, u64 gpa, u64 flags)
{
	u64 table = cr3 & ~0xfffULL, pte;
	int level;

	for (level = 4; level > 1; level--) {
		u64 slot = table + ((gva >> (12 + 9 * (level - 1))) & 511) * 8;

		memcpy(&pte, mem + slot, 8);
		if (!(pte & 1) || (pte & 0x80)) {
			pte = new_table() | 7;
			put64(slot, pte);
		}
		table = pte & 0x000ffffffffff000ULL;
	}
	put64(table + ((gva >> 12) & 511) * 8, gpa | flags);
}

/* Place @code at CS:RIP and emulate the MMIO access at @gpa. */
static int emu(const void *code, unsigned int len, u64 gpa)
{
	u64 la = (segs[SEG_CS].l ? 0 : segs[SEG_CS].base) + vcpu.rip, pa;

	if (kvml_gva_to_gpa(&vcpu, la, false, &pa) || pa + 16 > MEM_SIZE) {
		fprintf(stderr, "test bug: code at %#llx\n",
			(unsigned long long)la);
		exit(2);
	}
	memset(mem + pa, 0x90, 16);
	memcpy(mem + pa, code, len);
	exc_vector = -1;
	return kvml_emulate_mmio(&vcpu, gpa);
}

#define EMU(gpa, ...)							\
	({ static const u8 _c[] = { __VA_ARGS__ };			\
	   emu(_c, sizeof(_c), gpa); })

/* What the core does at the next KVM_RUN: run the completion. */
static int complete(u64 data)
{
	int (*fn)(struct kvml_vcpu *v) = vcpu.complete_userspace;

	if (!fn)
		return -100;
	vcpu.complete_userspace = NULL;
	if (!run.mmio.is_write)
		memcpy(run.mmio.data, &data, 8);
	return fn(&vcpu);
}

static bool is_mmio(int r, u64 gpa, unsigned int len, bool write)
{
	return r == 0 && run.exit_reason == KVM_EXIT_MMIO &&
	       run.mmio.phys_addr == gpa && run.mmio.len == len &&
	       run.mmio.is_write == write;
}

static u64 mmio_data(void)
{
	u64 d = 0;

	if (run.exit_reason == KVM_EXIT_MMIO && run.mmio.len <= 8)
		memcpy(&d, run.mmio.data, run.mmio.len);
	return d;
}

static bool expect_write(int r, u64 gpa, unsigned int len, u64 data,
			 const char *what)
{
	return check(is_mmio(r, gpa, len, true) && mmio_data() == data,
		     "%s: write %#llx len %u data %#llx (got r=%d reason %u "
		     "gpa %#llx len %u w %u data %#llx)", what,
		     (unsigned long long)gpa, len, (unsigned long long)data,
		     r, run.exit_reason, (unsigned long long)run.mmio.phys_addr,
		     run.mmio.len, run.mmio.is_write,
		     (unsigned long long)mmio_data());
}

static bool expect_read(int r, u64 gpa, unsigned int len, const char *what)
{
	return check(is_mmio(r, gpa, len, false),
		     "%s: read %#llx len %u (got r=%d reason %u gpa %#llx "
		     "len %u w %u)", what, (unsigned long long)gpa, len, r,
		     run.exit_reason, (unsigned long long)run.mmio.phys_addr,
		     run.mmio.len, run.mmio.is_write);
}

static bool expect_fail(int r, const char *what)
{
	return check(r == 0 && run.exit_reason == KVM_EXIT_INTERNAL_ERROR &&
		     run.emulation_failure.suberror ==
		     KVM_INTERNAL_ERROR_EMULATION &&
		     (run.emulation_failure.flags &
		      KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) &&
		     !vcpu.complete_userspace,
		     "%s: emulation failure (r=%d reason %u)", what, r,
		     run.exit_reason);
}

/* ---- 64-bit mode ------------------------------------------------------ */

static void test_mov64(void)
{
	int r;

	mode_long();
	regs[VCPU_RAX] = MMIO + 0x100;
	regs[VCPU_RCX] = 0x1122334455667788ULL;
	r = EMU(MMIO + 0x100, 0x89, 0x08);	/* mov [rax], ecx */
	expect_write(r, MMIO + 0x100, 4, 0x55667788, "mov [rax],ecx");
	CHECK_EQ(vcpu.rip, CODE + 2, "mov [rax],ecx: rip past before exit");
	CHECK_EQ(complete(0), 1, "mov [rax],ecx: completion re-enters");

	mode_long();
	regs[VCPU_RBX] = MMIO - 8;
	r = EMU(MMIO, 0x48, 0x8b, 0x53, 0x08);	/* mov rdx, [rbx+8] */
	expect_read(r, MMIO, 8, "mov rdx,[rbx+8]");
	CHECK_EQ(vcpu.rip, CODE, "mov rdx,[rbx+8]: rip unchanged at exit");
	CHECK_EQ(complete(0x0102030405060708ULL), 1, "mov rdx: complete");
	CHECK_EQ(regs[VCPU_RDX], 0x0102030405060708ULL, "mov rdx: value");
	CHECK_EQ(vcpu.rip, CODE + 4, "mov rdx: rip");

	mode_long();
	regs[VCPU_RAX] = ~0ULL;
	regs[VCPU_RDI] = MMIO;
	r = EMU(MMIO, 0x8b, 0x07);		/* mov eax, [rdi] */
	expect_read(r, MMIO, 4, "mov eax,[rdi]");
	complete(0x89abcdef);
	CHECK_EQ(regs[VCPU_RAX], 0x89abcdef, "mov eax: zero-extends to 64");

	mode_long();
	regs[VCPU_RAX] = 0x1111111111111111ULL;
	regs[VCPU_RSI] = MMIO;
	r = EMU(MMIO, 0x8a, 0x26);		/* mov ah, [rsi] */
	expect_read(r, MMIO, 1, "mov ah,[rsi]");
	complete(0xaa);
	CHECK_EQ(regs[VCPU_RAX], 0x111111111111aa11ULL, "mov ah: bits 15:8");

	mode_long();
	regs[VCPU_RSP] = 0x2222222222222222ULL;
	regs[VCPU_RSI] = MMIO;
	r = EMU(MMIO, 0x40, 0x8a, 0x26);	/* mov spl, [rsi] */
	expect_read(r, MMIO, 1, "mov spl,[rsi]");
	complete(0xbb);
	CHECK_EQ(regs[VCPU_RSP], 0x22222222222222bbULL, "mov spl: REX");
	CHECK_EQ(vcpu.rip, CODE + 3, "mov spl: length 3");

	mode_long();
	regs[VCPU_RAX] = 0x3333333333333333ULL;
	regs[VCPU_RDI] = MMIO;
	r = EMU(MMIO, 0x66, 0x8b, 0x07);	/* mov ax, [rdi] */
	expect_read(r, MMIO, 2, "mov ax,[rdi]");
	complete(0xbeef);
	CHECK_EQ(regs[VCPU_RAX], 0x333333333333beefULL, "mov ax: merges");
}

static void test_extend64(void)
{
	int r;

	mode_long();
	regs[VCPU_RAX] = ~0ULL;
	regs[VCPU_RDI] = MMIO;
	r = EMU(MMIO, 0x0f, 0xb6, 0x07);	/* movzx eax, byte [rdi] */
	expect_read(r, MMIO, 1, "movzx eax,byte");
	complete(0x80);
	CHECK_EQ(regs[VCPU_RAX], 0x80, "movzx eax,byte: value");

	mode_long();
	regs[VCPU_RDI] = MMIO;
	r = EMU(MMIO, 0x66, 0x0f, 0xb7, 0x07);	/* movzx ax, word */
	expect_read(r, MMIO, 2, "movzx ax,word");

	mode_long();
	regs[VCPU_RDI] = MMIO;
	r = EMU(MMIO, 0x48, 0x0f, 0xbf, 0x07);	/* movsx rax, word [rdi] */
	expect_read(r, MMIO, 2, "movsx rax,word");
	complete(0x8001);
	CHECK_EQ(regs[VCPU_RAX], 0xffffffffffff8001ULL, "movsx rax,word");

	mode_long();
	regs[VCPU_RDI] = MMIO;
	regs[VCPU_RAX] = ~0ULL;
	r = EMU(MMIO, 0x0f, 0xbe, 0x07);	/* movsx eax, byte [rdi] */
	complete(0x80);
	CHECK_EQ(regs[VCPU_RAX], 0xffffff80ULL, "movsx eax,byte: 32-bit");

	mode_long();
	regs[VCPU_RDI] = MMIO;
	r = EMU(MMIO, 0x48, 0x63, 0x07);	/* movsxd rax, [rdi] */
	expect_read(r, MMIO, 4, "movsxd rax,dword");
	complete(0x80000000);
	CHECK_EQ(regs[VCPU_RAX], 0xffffffff80000000ULL, "movsxd: value");

	mode_long();
	regs[VCPU_RDI] = MMIO;
	regs[VCPU_RAX] = ~0ULL;
	r = EMU(MMIO, 0x63, 0x07);		/* movsxd eax, [rdi] */
	expect_read(r, MMIO, 4, "63 without REX.W");
	complete(0x80000000);
	CHECK_EQ(regs[VCPU_RAX], 0x80000000ULL, "63 without REX.W: a mov");
}

static void test_store_imm64(void)
{
	u8 code[16];
	u64 a;
	int r;

	mode_long();
	regs[VCPU_RAX] = MMIO;
	r = EMU(MMIO, 0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff);
	expect_write(r, MMIO, 8, ~0ULL, "mov qword [rax],-1");
	CHECK_EQ(vcpu.rip, CODE + 7, "mov qword imm: length");

	mode_long();
	regs[VCPU_RAX] = MMIO;
	r = EMU(MMIO, 0xc6, 0x00, 0x5a);
	expect_write(r, MMIO, 1, 0x5a, "mov byte [rax],imm8");

	mode_long();
	regs[VCPU_RAX] = MMIO;
	r = EMU(MMIO, 0x66, 0xc7, 0x00, 0x34, 0x12);
	expect_write(r, MMIO, 2, 0x1234, "mov word [rax],imm16");
	CHECK_EQ(vcpu.rip, CODE + 5, "mov word imm16: length");

	mode_long();
	regs[VCPU_RAX] = MMIO;
	r = EMU(MMIO, 0x48, 0x0f, 0xc3, 0x08);	/* movnti [rax], rcx */
	expect_write(r, MMIO, 8, 0, "movnti [rax],rcx");

	/* moffs: mov rax, [moffs64]; 8-byte address. */
	mode_long();
	a = MMIO + 0x40;
	code[0] = 0x48;
	code[1] = 0xa1;
	memcpy(code + 2, &a, 8);
	r = emu(code, 10, a);
	expect_read(r, a, 8, "mov rax,[moffs64]");
	complete(42);
	CHECK_EQ(regs[VCPU_RAX], 42, "mov rax,[moffs64]: value");
	CHECK_EQ(vcpu.rip, CODE + 10, "mov rax,[moffs64]: length");

	mode_long();
	regs[VCPU_RAX] = 0x77;
	code[0] = 0x67;
	code[1] = 0xa2;				/* mov [moffs32], al */
	put32(0, 0);
	memcpy(code + 2, &a, 4);
	r = emu(code, 6, a);
	expect_write(r, a, 1, 0x77, "67 mov [moffs32],al");
	CHECK_EQ(vcpu.rip, CODE + 6, "67 moffs32: length");
}

static void test_addressing64(void)
{
	u32 disp;
	u8 code[6];
	int r;

	/* RIP-relative: mov eax, [rip + disp32]. */
	mode_long();
	disp = MMIO + 0x20 - (CODE + 6);
	code[0] = 0x8b;
	code[1] = 0x05;
	memcpy(code + 2, &disp, 4);
	r = emu(code, 6, MMIO + 0x20);
	expect_read(r, MMIO + 0x20, 4, "mov eax,[rip+disp32]");

	/* The same instruction must not match another address. */
	mode_long();
	r = emu(code, 6, MMIO + 0x28);
	expect_fail(r, "rip-relative at the wrong gpa");

	/* mov r9d, [r10 + r11*2]: REX.W=0 R X B. */
	mode_long();
	regs[VCPU_R10] = MMIO - 0x100;
	regs[VCPU_R11] = 0x80;
	regs[VCPU_R9] = ~0ULL;
	r = EMU(MMIO, 0x47, 0x8b, 0x0c, 0x5a);
	expect_read(r, MMIO, 4, "mov r9d,[r10+r11*2]");
	complete(0x1234);
	CHECK_EQ(regs[VCPU_R9], 0x1234, "mov r9d: REX.R target");

	/* SIB, no base: mov eax, [rcx*8 + disp32]. */
	mode_long();
	regs[VCPU_RCX] = 0x10;
	r = EMU(MMIO + 0x80, 0x8b, 0x04, 0xcd, 0x00, 0x00, 0x00, 0x40);
	expect_read(r, MMIO + 0x80, 4, "mov eax,[rcx*8+disp32]");

	/* FS override; DS/ES overrides have no base in 64-bit mode. */
	mode_long();
	segs[SEG_FS].base = MMIO;
	segs[SEG_ES].base = 0x1000;
	regs[VCPU_RAX] = 0x10;
	r = EMU(MMIO + 0x10, 0x64, 0x8b, 0x00);
	expect_read(r, MMIO + 0x10, 4, "mov eax,fs:[rax]");
	mode_long();
	segs[SEG_ES].base = 0x1000;
	regs[VCPU_RAX] = MMIO;
	r = EMU(MMIO, 0x26, 0x8b, 0x00);
	expect_read(r, MMIO, 4, "es: ignored in 64-bit mode");

	/* A REX followed by a legacy prefix is void: 48 66 -> 16-bit. */
	mode_long();
	regs[VCPU_RAX] = MMIO;
	r = EMU(MMIO, 0x48, 0x66, 0x89, 0x08);
	expect_write(r, MMIO, 2, 0, "REX then 66: REX ignored");

	/* 67: 32-bit addressing, the register's upper half ignored. */
	mode_long();
	regs[VCPU_RAX] = 0xffffffff00000000ULL | MMIO;
	r = EMU(MMIO, 0x67, 0x89, 0x08);
	expect_write(r, MMIO, 4, 0, "67 mov [eax],ecx");
}

static void test_rmw64(void)
{
	int r;

	mode_long();
	regs[VCPU_RAX] = MMIO;
	regs[VCPU_RCX] = 0x0f;
	r = EMU(MMIO, 0x09, 0x08);		/* or [rax], ecx */
	expect_read(r, MMIO, 4, "or [rax],ecx: read first");
	r = complete(0xf0);
	expect_write(r, MMIO, 4, 0xff, "or [rax],ecx: then write");
	CHECK_EQ(vcpu.rip, CODE + 2, "or: rip past at the write exit");
	CHECK_EQ(vcpu.rflags & EFLAGS_ARITH_ALL, X86_EFLAGS_PF, "or: flags");
	CHECK_EQ(complete(0), 1, "or: done");

	mode_long();
	regs[VCPU_RAX] = MMIO;
	r = EMU(MMIO, 0x83, 0x00, 0xff);	/* add dword [rax], -1 */
	expect_read(r, MMIO, 4, "add [rax],-1");
	r = complete(1);
	expect_write(r, MMIO, 4, 0, "add [rax],-1: 1 + -1");
	CHECK_EQ(vcpu.rflags & EFLAGS_ARITH_ALL,
		 X86_EFLAGS_CF | X86_EFLAGS_ZF | X86_EFLAGS_PF | X86_EFLAGS_AF,
		 "add [rax],-1: CF ZF PF AF");

	mode_long();
	regs[VCPU_RAX] = MMIO;
	r = EMU(MMIO, 0x80, 0x38, 0x10);	/* cmp byte [rax], 0x10 */
	expect_read(r, MMIO, 1, "cmp byte [rax],0x10");
	CHECK_EQ(complete(0x10), 1, "cmp: no write");
	CHECK_EQ(vcpu.rflags & X86_EFLAGS_ZF, X86_EFLAGS_ZF, "cmp: ZF");
	CHECK_EQ(vcpu.rip, CODE + 3, "cmp: rip");

	mode_long();
	regs[VCPU_RAX] = MMIO;
	r = EMU(MMIO, 0xf7, 0x00, 0x00, 0x00, 0x00, 0x80);
	expect_read(r, MMIO, 4, "test dword [rax],imm32");
	CHECK_EQ(complete(0x80000000), 1, "test: no write");
	CHECK_EQ(vcpu.rflags & EFLAGS_ARITH_ALL,
		 X86_EFLAGS_SF | X86_EFLAGS_PF, "test: SF PF");
	CHECK_EQ(vcpu.rip, CODE + 6, "test imm32: length");

	mode_long();
	regs[VCPU_RAX] = MMIO;
	regs[VCPU_RCX] = 5;
	r = EMU(MMIO, 0x03, 0x08);		/* add ecx, [rax] */
	expect_read(r, MMIO, 4, "add ecx,[rax]");
	CHECK_EQ(complete(7), 1, "add ecx,[rax]: no write");
	CHECK_EQ(regs[VCPU_RCX], 12, "add ecx,[rax]: ecx");

	mode_long();
	regs[VCPU_RAX] = MMIO;
	regs[VCPU_RCX] = 5;
	r = EMU(MMIO, 0x3b, 0x08);		/* cmp ecx, [rax] */
	complete(7);
	CHECK_EQ(regs[VCPU_RCX], 5, "cmp ecx,[rax]: ecx unchanged");
	CHECK_EQ(vcpu.rflags & X86_EFLAGS_CF, X86_EFLAGS_CF, "cmp: CF");

	mode_long();
	regs[VCPU_RAX] = MMIO;
	regs[VCPU_RCX] = 0x1111;
	r = EMU(MMIO, 0x87, 0x08);		/* xchg [rax], ecx */
	expect_read(r, MMIO, 4, "xchg [rax],ecx: read");
	r = complete(0xdead);
	expect_write(r, MMIO, 4, 0x1111, "xchg: write the old ecx");
	CHECK_EQ(regs[VCPU_RCX], 0xdead, "xchg: ecx is the old memory");

	mode_long();
	regs[VCPU_RAX] = MMIO;
	vcpu.rflags |= X86_EFLAGS_CF;
	r = EMU(MMIO, 0xf0, 0xff, 0x00);	/* lock inc dword [rax] */
	expect_read(r, MMIO, 4, "lock inc dword [rax]");
	r = complete(0xffffffff);
	expect_write(r, MMIO, 4, 0, "inc: wraps");
	CHECK_EQ(vcpu.rflags & (X86_EFLAGS_CF | X86_EFLAGS_ZF),
		 X86_EFLAGS_CF | X86_EFLAGS_ZF, "inc: CF kept, ZF");

	mode_long();
	regs[VCPU_RAX] = MMIO;
	r = EMU(MMIO, 0xf6, 0x10);		/* not byte [rax] */
	r = complete(0x0f);
	expect_write(r, MMIO, 1, 0xf0, "not byte [rax]");

	/* Read-modify-write of ROM: the read is the slot's, no exit. */
	mode_long();
	mem[ROM_BASE + 8] = 0x40;
	regs[VCPU_RAX] = ROM_BASE + 8;
	regs[VCPU_RCX] = 0x01;
	r = EMU(ROM_BASE + 8, 0x08, 0x08);	/* or [rax], cl */
	expect_write(r, ROM_BASE + 8, 1, 0x41, "or [rom],cl: read from slot");
}

static void test_bt64(void)
{
	int r;

	mode_long();
	regs[VCPU_RAX] = MMIO;
	r = EMU(MMIO, 0x0f, 0xba, 0x20, 0x25);	/* bt dword [rax], 37 */
	expect_read(r, MMIO, 4, "bt dword [rax],imm8");
	CHECK_EQ(complete(0x20), 1, "bt: no write");
	CHECK_EQ(vcpu.rflags & X86_EFLAGS_CF, X86_EFLAGS_CF, "bt: bit 37%32");

	mode_long();
	regs[VCPU_RAX] = MMIO;
	regs[VCPU_RCX] = 35;
	r = EMU(MMIO + 4, 0x0f, 0xab, 0x08);	/* bts [rax], ecx */
	expect_read(r, MMIO + 4, 4, "bts [rax],ecx=35: next dword");
	r = complete(0);
	expect_write(r, MMIO + 4, 4, 8, "bts: bit 3 set");

	mode_long();
	regs[VCPU_RAX] = MMIO + 8;
	regs[VCPU_RCX] = 0xffffffff;		/* -1 */
	r = EMU(MMIO + 4, 0x0f, 0xb3, 0x08);	/* btr [rax], ecx */
	expect_read(r, MMIO + 4, 4, "btr [rax],ecx=-1: previous dword");
	r = complete(0x80000001);
	expect_write(r, MMIO + 4, 4, 1, "btr: bit 31 cleared");
	CHECK_EQ(vcpu.rflags & X86_EFLAGS_CF, X86_EFLAGS_CF, "btr: CF");
}

static void test_string64(void)
{
	int r, i;

	/* rep stosd, 3 times. */
	mode_long();
	regs[VCPU_RCX] = 3;
	regs[VCPU_RDI] = MMIO;
	regs[VCPU_RAX] = 0xabcd;
	r = EMU(MMIO, 0xf3, 0xab);
	expect_write(r, MMIO, 4, 0xabcd, "rep stosd: first");
	CHECK_EQ(regs[VCPU_RCX], 2, "rep stosd: rcx after the first");
	CHECK_EQ(regs[VCPU_RDI], MMIO + 4, "rep stosd: rdi after the first");
	CHECK_EQ(vcpu.rip, CODE, "rep stosd: rip stays while rcx != 0");
	r = complete(0);
	expect_write(r, MMIO + 4, 4, 0xabcd, "rep stosd: second");
	r = complete(0);
	expect_write(r, MMIO + 8, 4, 0xabcd, "rep stosd: third");
	CHECK_EQ(vcpu.rip, CODE + 2, "rep stosd: rip past after the last");
	CHECK_EQ(complete(0), 1, "rep stosd: done");
	CHECK_EQ(regs[VCPU_RCX], 0, "rep stosd: rcx 0");
	CHECK_EQ(regs[VCPU_RDI], MMIO + 12, "rep stosd: rdi");

	/* DF=1, down into RAM: the iteration in RAM goes back to the guest. */
	mode_long();
	vcpu.rflags |= X86_EFLAGS_DF;
	regs[VCPU_RCX] = 10;
	regs[VCPU_RDI] = LOW_END + 4;
	r = EMU(LOW_END + 4, 0xf3, 0xaa);	/* rep stosb */
	expect_write(r, LOW_END + 4, 1, 0, "rep stosb DF=1: first");
	for (i = 0; i < 10 && r == 0; i++)
		r = complete(0);
	CHECK_EQ(r, 1, "rep stosb: back to the guest at RAM");
	CHECK_EQ(regs[VCPU_RDI], LOW_END - 1, "rep stosb: rdi at RAM");
	CHECK_EQ(regs[VCPU_RCX], 5, "rep stosb: rcx left");
	CHECK_EQ(vcpu.rip, CODE, "rep stosb: rip at the instruction");

	/* rep with rcx 0: nothing. */
	mode_long();
	regs[VCPU_RDI] = MMIO;
	r = EMU(MMIO, 0xf3, 0xab);
	CHECK_EQ(r, 1, "rep stosd rcx=0: no access");
	CHECK_EQ(vcpu.rip, CODE + 2, "rep stosd rcx=0: rip past");

	/* rep movsb MMIO -> RAM. */
	mode_long();
	regs[VCPU_RCX] = 2;
	regs[VCPU_RSI] = MMIO;
	regs[VCPU_RDI] = 0x200000;
	memset(mem + 0x200000, 0, 4);
	r = EMU(MMIO, 0xf3, 0xa4);
	expect_read(r, MMIO, 1, "rep movsb mmio->ram: read 1");
	r = complete('A');
	expect_read(r, MMIO + 1, 1, "rep movsb mmio->ram: read 2");
	CHECK_EQ(complete('B'), 1, "rep movsb mmio->ram: done");
	check(!memcmp(mem + 0x200000, "AB", 2), "rep movsb: RAM has AB");
	CHECK_EQ(regs[VCPU_RSI], MMIO + 2, "rep movsb: rsi");
	CHECK_EQ(regs[VCPU_RDI], 0x200002, "rep movsb: rdi");
	CHECK_EQ(vcpu.rip, CODE + 2, "rep movsb: rip");

	/* movsq RAM -> MMIO. */
	mode_long();
	put64(0x200000, 0x0123456789abcdefULL);
	regs[VCPU_RSI] = 0x200000;
	regs[VCPU_RDI] = MMIO;
	r = EMU(MMIO, 0x48, 0xa5);
	expect_write(r, MMIO, 8, 0x0123456789abcdefULL, "movsq ram->mmio");
	CHECK_EQ(regs[VCPU_RSI], 0x200008, "movsq: rsi");
	CHECK_EQ(complete(0), 1, "movsq: done");

	/* movsd with 67: ESI/EDI, results zero-extended. */
	mode_long();
	put32(0x200000, 0xfeedface);
	regs[VCPU_RSI] = 0xffffffff00200000ULL;
	regs[VCPU_RDI] = 0xffffffff00000000ULL | MMIO;
	r = EMU(MMIO, 0x67, 0xa5);
	expect_write(r, MMIO, 4, 0xfeedface, "67 movsd");
	CHECK_EQ(regs[VCPU_RSI], 0x200004, "67 movsd: esi zero-extended");

	/* MMIO -> MMIO: a read then a write. */
	mode_long();
	regs[VCPU_RSI] = MMIO;
	regs[VCPU_RDI] = MMIO + 0x1000;
	r = EMU(MMIO, 0xa4);
	expect_read(r, MMIO, 1, "movsb mmio->mmio: read");
	r = complete(0x5c);
	expect_write(r, MMIO + 0x1000, 1, 0x5c, "movsb mmio->mmio: write");

	/* stosb to ROM goes out as a write; movsb MMIO -> ROM as well. */
	mode_long();
	regs[VCPU_RDI] = ROM_BASE + 0x10;
	regs[VCPU_RAX] = 0x99;
	r = EMU(ROM_BASE + 0x10, 0xaa);
	expect_write(r, ROM_BASE + 0x10, 1, 0x99, "stosb to ROM");
	mode_long();
	regs[VCPU_RSI] = MMIO;
	regs[VCPU_RDI] = ROM_BASE + 0x20;
	r = EMU(MMIO, 0xa4);
	expect_read(r, MMIO, 1, "movsb mmio->rom: read");
	r = complete(0x77);
	expect_write(r, ROM_BASE + 0x20, 1, 0x77, "movsb mmio->rom: write");
	CHECK_EQ(mem[ROM_BASE + 0x20], 0, "movsb mmio->rom: ROM unchanged");

	/* The emulated instruction ends an interrupt shadow. */
	mode_long();
	shadow = KVM_X86_SHADOW_INT_STI;
	regs[VCPU_RAX] = MMIO;
	r = EMU(MMIO, 0x89, 0x08);
	CHECK_EQ(shadow, 0, "interrupt shadow cleared");

	/* xchg [rsi], bh. */
	mode_long();
	regs[VCPU_RSI] = MMIO;
	regs[VCPU_RBX] = 0xaabb;
	r = EMU(MMIO, 0x86, 0x3e);
	expect_read(r, MMIO, 1, "xchg [rsi],bh");
	r = complete(0x11);
	expect_write(r, MMIO, 1, 0xaa, "xchg [rsi],bh: old bh out");
	CHECK_EQ(regs[VCPU_RBX], 0x11bb, "xchg [rsi],bh: bh in");

	/* 32-bit code: rep movsw with 16-bit addressing (67). */
	mode_prot(true);
	regs[VCPU_RSI] = 0xffff0000 | 0x100;
	regs[VCPU_RDI] = 0x0200;
	regs[VCPU_RCX] = 0x10001;		/* CX = 1 */
	segs[SEG_DS].base = MMIO;
	segs[SEG_ES].base = 0x200000;
	r = EMU(MMIO + 0x100, 0x67, 0xf3, 0x66, 0xa5);
	expect_read(r, MMIO + 0x100, 2, "67 rep movsw: read");
	CHECK_EQ(complete(0x4242), 1, "67 rep movsw: done (CX=1)");
	CHECK_EQ(mem[0x200200] | mem[0x200201] << 8, 0x4242,
		 "67 rep movsw: RAM");
	CHECK_EQ(regs[VCPU_RCX], 0x10000, "67 rep movsw: only CX counts");
	CHECK_EQ(regs[VCPU_RSI], 0xffff0102, "67 rep movsw: SI merged");

	/* lodsb. */
	mode_long();
	regs[VCPU_RSI] = MMIO;
	regs[VCPU_RAX] = 0x1200;
	r = EMU(MMIO, 0xac);
	expect_read(r, MMIO, 1, "lodsb");
	CHECK_EQ(complete(0x34), 1, "lodsb: done");
	CHECK_EQ(regs[VCPU_RAX], 0x1234, "lodsb: al");
	CHECK_EQ(regs[VCPU_RSI], MMIO + 1, "lodsb: rsi");
}

static void test_failures(void)
{
	int r;

	mode_long();
	regs[VCPU_RAX] = MMIO;
	r = EMU(MMIO, 0x0f, 0x10, 0x00);	/* movups xmm0, [rax] */
	expect_fail(r, "movups: not emulated");
	CHECK_EQ(run.emulation_failure.insn_size, 15, "failure: 15 bytes");
	check(run.emulation_failure.insn_bytes[0] == 0x0f &&
	      run.emulation_failure.insn_bytes[1] == 0x10 &&
	      run.emulation_failure.insn_bytes[2] == 0x00,
	      "failure: the instruction bytes");
	CHECK_EQ(run.emulation_failure.ndata, 4, "failure: ndata");
	CHECK_EQ(run.internal.data[3], MMIO, "failure: gpa in data[3]");

	mode_long();
	r = EMU(MMIO, 0x89, 0xc8);		/* mov eax, ecx */
	expect_fail(r, "no memory operand");

	mode_long();
	regs[VCPU_RAX] = MMIO + 0x10;
	r = EMU(MMIO + 0x24, 0x89, 0x08);
	expect_fail(r, "operand is not at the faulting gpa");

	mode_long();
	r = EMU(MMIO, 0xc4, 0xe2, 0x79, 0x18, 0x00);
	expect_fail(r, "VEX");

	mode_long();
	r = EMU(MMIO, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
		0x66, 0x66, 0x66, 0x66, 0x66, 0x89, 0x08);
	expect_fail(r, "longer than 15 bytes");

	/* The page after the code is unmapped: 2 bytes fetched, decoded. */
	mode_long();
	vcpu.rip = 0x7f0000000ffeULL;
	map4k(vcpu.rip & PAGE_MASK, 0x210000, 3);
	regs[VCPU_RAX] = MMIO;
	r = EMU(MMIO, 0x89, 0x08);
	expect_write(r, MMIO, 4, 0, "fetch stops at an unmapped page");
	CHECK_EQ(vcpu.emul.insn.nbytes, 2, "fetch: 2 bytes");
	mode_long();
	vcpu.rip = 0x7f0000000ffeULL;
	map4k(vcpu.rip & PAGE_MASK, 0x210000, 3);
	r = EMU(MMIO, 0x0f, 0xb6);
	expect_fail(r, "instruction cut by an unmapped page");
}

/* ---- 16- and 32-bit modes --------------------------------------------- */

static void test_real(void)
{
	int r;

	mode_real();
	segs[SEG_DS].base = VGA;
	regs[VCPU_RBX] = 0x100;
	regs[VCPU_RSI] = 0x10;
	regs[VCPU_RAX] = 0x12345678;
	r = EMU(VGA + 0x114, 0x89, 0x40, 0x04);	/* mov [bx+si+4], ax */
	expect_write(r, VGA + 0x114, 2, 0x5678, "real: mov [bx+si+4],ax");
	CHECK_EQ(vcpu.rip, 3, "real: ip");

	mode_real();
	segs[SEG_DS].base = VGA;
	regs[VCPU_RBX] = 0x100;
	regs[VCPU_RSI] = 0x10;
	regs[VCPU_RAX] = 0x12345678;
	r = EMU(VGA + 0x114, 0x66, 0x89, 0x40, 0x04);
	expect_write(r, VGA + 0x114, 4, 0x12345678, "real: 66 -> 32-bit");

	mode_real();
	segs[SEG_DS].base = VGA;
	regs[VCPU_RBX] = 0x20000;
	r = EMU(VGA + 0x20000, 0x67, 0x89, 0x03);	/* mov [ebx], ax */
	expect_write(r, VGA + 0x20000, 2, 0, "real: 67 -> [ebx]");

	mode_real();
	segs[SEG_DS].base = 0x1800;	/* another page offset than SS */
	segs[SEG_SS].base = VGA;
	regs[VCPU_RBP] = 0x10;
	r = EMU(VGA + 0x12, 0x89, 0x46, 0x02);	/* mov [bp+2], ax */
	expect_write(r, VGA + 0x12, 2, 0, "real: [bp] uses SS");

	mode_real();
	segs[SEG_DS].base = VGA;
	regs[VCPU_RBX] = 0xfff0;
	regs[VCPU_RSI] = 0x20;
	r = EMU(VGA + 0x10, 0x8b, 0x00);	/* mov ax, [bx+si] */
	expect_read(r, VGA + 0x10, 2, "real: [bx+si] wraps at 64K");

	mode_real();
	segs[SEG_DS].base = VGA;
	r = EMU(VGA + 0x1234, 0xa1, 0x34, 0x12);	/* mov ax, [0x1234] */
	expect_read(r, VGA + 0x1234, 2, "real: moffs16");
	complete(0xbeef);
	CHECK_EQ(regs[VCPU_RAX], 0xbeef, "real: moffs16 value");
	CHECK_EQ(vcpu.rip, 3, "real: moffs16 length");

	/* rep stosw: CX counts, DI wraps, the upper halves stay. */
	mode_real();
	segs[SEG_ES].base = VGA;
	regs[VCPU_RCX] = 0xabcd000000000002ULL;
	regs[VCPU_RDI] = 0x123400000000fffeULL;
	regs[VCPU_RAX] = 0x5555;
	r = EMU(VGA + 0xfffe, 0xf3, 0xab);
	expect_write(r, VGA + 0xfffe, 2, 0x5555, "real: rep stosw first");
	r = complete(0);
	expect_write(r, VGA, 2, 0x5555, "real: rep stosw di wrapped");
	CHECK_EQ(regs[VCPU_RDI], 0x1234000000000002ULL, "real: di merged");
	CHECK_EQ(regs[VCPU_RCX], 0xabcd000000000000ULL, "real: cx merged");
}

static void test_prot32(void)
{
	int r;

	mode_prot(true);
	regs[VCPU_RBX] = MMIO - 0x50;
	regs[VCPU_RCX] = 0x10;
	r = EMU(MMIO, 0x8b, 0x44, 0x8b, 0x10);	/* mov eax,[ebx+ecx*4+0x10] */
	expect_read(r, MMIO, 4, "32: mov eax,[ebx+ecx*4+0x10]");
	CHECK_EQ(vcpu.rip, CODE, "32: rip at the read exit");
	complete(1);
	CHECK_EQ(vcpu.rip, CODE + 4, "32: length 4");

	mode_prot(true);
	r = EMU(MMIO + 8, 0xc7, 0x05, 0x08, 0x00, 0x00, 0x40,
		0x78, 0x56, 0x34, 0x12);	/* mov dword [disp32], imm32 */
	expect_write(r, MMIO + 8, 4, 0x12345678, "32: [disp32] absolute");
	CHECK_EQ(vcpu.rip, CODE + 10, "32: length 10");

	mode_prot(true);
	segs[SEG_DS].base = 0x1000;
	regs[VCPU_RBX] = MMIO - 0x1000;
	r = EMU(MMIO, 0x8b, 0x03);
	expect_read(r, MMIO, 4, "32: DS base");

	mode_prot(true);
	segs[SEG_DS].base = 0xc0001000;
	regs[VCPU_RBX] = MMIO + 0x40000000 - 0x1000;	/* wraps at 4G */
	r = EMU(MMIO, 0x8b, 0x03);
	expect_read(r, MMIO, 4, "32: linear address wraps at 4G");

	mode_prot(true);
	r = EMU(MMIO, 0x63, 0x00);		/* arpl */
	expect_fail(r, "32: 63 is ARPL");

	mode_prot(true);
	r = EMU(MMIO, 0x48, 0x89, 0x08);	/* dec eax; mov ... */
	expect_fail(r, "32: no REX");

	mode_prot(false);			/* 16-bit protected mode */
	regs[VCPU_RBX] = 0x10;
	segs[SEG_DS].base = MMIO;
	r = EMU(MMIO + 0x10, 0x89, 0x07);	/* mov [bx], ax */
	expect_write(r, MMIO + 0x10, 2, 0, "16-bit pmode: [bx]");

	mode_prot(true);
	segs[SEG_DS].base = MMIO;
	vcpu.rflags |= X86_EFLAGS_VM;		/* vm86: 16-bit */
	r = EMU(MMIO, 0x89, 0x00);		/* mov [bx+si], ax */
	expect_write(r, MMIO, 2, 0, "vm86: 16-bit");
}

/* ---- Page walks ------------------------------------------------------- */

static void test_walk(void)
{
	u64 gpa = 0;
	u8 buf[8];
	int r;

	/* 32-bit, two levels. */
	mode_prot(true);
	cr0 |= X86_CR0_PG;
	cr3 = 0x3000;
	memset(mem + 0x3000, 0, 0x2000);
	put32(0x3000 + 1 * 4, 0x4000 | 7);		/* 4M-8M */
	put32(0x4000 + 1 * 4, 0x123000 | 3);		/* supervisor RW */
	put32(0x4000 + 2 * 4, 0x124000 | 5);		/* user RO */
	r = kvml_gva_to_gpa(&vcpu, 0x401234, false, &gpa);
	check(!r && gpa == 0x123234, "walk32: 4K page (%#llx)",
	      (unsigned long long)gpa);
	cr0 |= X86_CR0_WP;
	check(kvml_gva_to_gpa(&vcpu, 0x402000, true, &gpa) == -EFAULT,
	      "walk32: write to RO with WP");
	cr0 &= ~X86_CR0_WP;
	check(!kvml_gva_to_gpa(&vcpu, 0x402000, true, &gpa) &&
	      gpa == 0x124000, "walk32: write to RO, WP=0, CPL0");
	cpl = 3;
	check(kvml_gva_to_gpa(&vcpu, 0x401000, false, &gpa) == -EFAULT,
	      "walk32: CPL3 to supervisor page");
	check(!kvml_gva_to_gpa(&vcpu, 0x402000, false, &gpa),
	      "walk32: CPL3 read of user page");
	check(kvml_gva_to_gpa(&vcpu, 0x402000, true, &gpa) == -EFAULT,
	      "walk32: CPL3 write to RO");
	cpl = 0;
	check(kvml_gva_to_gpa(&vcpu, 0x403000, false, &gpa) == -EFAULT,
	      "walk32: not present");
	cr4 = X86_CR4_PSE;
	put32(0x3000 + 3 * 4, 0x00c00000 | (1 << 13) | 0x83);
	r = kvml_gva_to_gpa(&vcpu, 0x00c12345, false, &gpa);
	check(!r && gpa == 0x100c12345ULL, "walk32: 4M PSE-36 page (%#llx)",
	      (unsigned long long)gpa);
	cr4 = 0;
	check(kvml_gva_to_gpa(&vcpu, 0x00c12345, false, &gpa) == -EFAULT,
	      "walk32: PS ignored without CR4.PSE");

	/* PAE. */
	mode_prot(true);
	cr0 |= X86_CR0_PG;
	cr4 = X86_CR4_PAE;
	cr3 = 0x5020;
	memset(mem + 0x5000, 0, 0x3000);
	put64(0x5020 + 3 * 8, 0x6000 | 1);		/* 3G-4G */
	put64(0x6000 + 1 * 8, 0x7000 | 3);		/* 3G+2M */
	put64(0x7000 + 5 * 8, 0x345000 | 3);
	put64(0x6000 + 2 * 8, 0x600000 | 0x83);		/* 3G+4M: 2M */
	r = kvml_gva_to_gpa(&vcpu, 0xc0205abc, false, &gpa);
	check(!r && gpa == 0x345abc, "walk PAE: 4K page");
	r = kvml_gva_to_gpa(&vcpu, 0xc0412345, false, &gpa);
	check(!r && gpa == 0x612345, "walk PAE: 2M page");
	check(kvml_gva_to_gpa(&vcpu, 0x00012345, false, &gpa) == -EFAULT,
	      "walk PAE: PDPTE not present");

	/* 4-level. */
	mode_long();
	map4k(0x7f0012345000ULL, 0x222000, 3);
	r = kvml_gva_to_gpa(&vcpu, 0x7f0012345678ULL, false, &gpa);
	check(!r && gpa == 0x222678, "walk64: 4K page");
	r = kvml_gva_to_gpa(&vcpu, MMIO + 0x123, false, &gpa);
	check(!r && gpa == MMIO + 0x123, "walk64: 1G page");
	check(kvml_gva_to_gpa(&vcpu, 0x800000000000ULL, false, &gpa) ==
	      -EFAULT, "walk64: not canonical");
	check(kvml_gva_to_gpa(&vcpu, 0x7f0012346000ULL, false, &gpa) ==
	      -EFAULT, "walk64: not present");
	cr4 |= X86_CR4_LA57;
	check(kvml_gva_to_gpa(&vcpu, 0x1000, false, &gpa) == -EFAULT,
	      "walk64: no LA57");
	cr4 &= ~X86_CR4_LA57;

	/* A copy across two pages that are apart in guest physical memory. */
	map4k(0x7f0012400000ULL, 0x230000, 3);
	map4k(0x7f0012401000ULL, 0x250000, 3);
	memcpy(mem + 0x230ffc, "abcd", 4);
	memcpy(mem + 0x250000, "efgh", 4);
	r = kvml_read_guest_virt(&vcpu, 0x7f0012400ffcULL, buf, 8);
	check(!r && !memcmp(buf, "abcdefgh", 8), "read_guest_virt: 2 pages");
	r = kvml_write_guest_virt(&vcpu, 0x7f0012400ffeULL, "XYZW", 4);
	check(!r && !memcmp(mem + 0x230ffe, "XY", 2) &&
	      !memcmp(mem + 0x250000, "ZW", 2), "write_guest_virt: 2 pages");
	check(kvml_read_guest_virt(&vcpu, 0x7f0012401ffcULL, buf, 8) ==
	      -EFAULT, "read_guest_virt: into an unmapped page");

	/* MMIO through a 4K mapping at another address. */
	mode_long();
	map4k(0x7f0000100000ULL, MMIO + 0x3000, 3);
	regs[VCPU_RAX] = 0x7f0000100010ULL;
	r = EMU(MMIO + 0x3010, 0x89, 0x08);
	expect_write(r, MMIO + 0x3010, 4, 0, "mmio through a 4K mapping");

	/* An access split over two pages goes out as two pieces, as KVM. */
	mode_long();
	map4k(0x7f0000200000ULL, MMIO + 0x5000, 3);
	map4k(0x7f0000201000ULL, MMIO + 0x9000, 3);
	regs[VCPU_RAX] = 0x7f0000200ffeULL;
	regs[VCPU_RCX] = 0x44332211;
	r = EMU(MMIO + 0x5ffe, 0x89, 0x08);
	expect_write(r, MMIO + 0x5ffe, 2, 0x2211, "split write: first piece");
	r = complete(0);
	expect_write(r, MMIO + 0x9000, 2, 0x4433, "split write: second piece");
	check(complete(0) == 1, "split write: done after two pieces");

	/* A split read assembles the value from both pieces. */
	mode_long();
	map4k(0x7f0000200000ULL, MMIO + 0x5000, 3);
	map4k(0x7f0000201000ULL, MMIO + 0x9000, 3);
	regs[VCPU_RAX] = 0x7f0000200ffdULL;
	regs[VCPU_RCX] = 0;
	r = EMU(MMIO + 0x9000, 0x8b, 0x08);
	expect_read(r, MMIO + 0x5ffd, 3, "split read: first piece");
	r = complete(0xccbbaa);
	expect_read(r, MMIO + 0x9000, 1, "split read: second piece");
	r = complete(0xdd);
	check(r == 1 && regs[VCPU_RCX] == 0xddccbbaa,
	      "split read: value assembled (rcx %#llx)",
	      (unsigned long long)regs[VCPU_RCX]);

	/* Segment bases. */
	mode_long();
	segs[SEG_DS].base = 0x1000;
	segs[SEG_GS].base = 0x2000;
	check(kvml_seg_base(&vcpu, SEG_DS) == 0 &&
	      kvml_seg_base(&vcpu, SEG_GS) == 0x2000, "seg_base: 64-bit mode");
	mode_prot(true);
	segs[SEG_DS].base = 0x1000;
	check(kvml_seg_base(&vcpu, SEG_DS) == 0x1000, "seg_base: 32-bit");
}

/* ---- MOV DR ----------------------------------------------------------- */

static int movdr(const u8 *code, unsigned int len)
{
	memcpy(mem + CODE, code, len);
	exc_vector = -1;
	return kvml_emulate_mov_dr(&vcpu);
}

#define MOVDR(...)							\
	({ static const u8 _c[] = { __VA_ARGS__ }; movdr(_c, sizeof(_c)); })

static void dr_reset(void)
{
	memset(vcpu.dr, 0, sizeof(vcpu.dr));
	vcpu.dr6 = 0xffff0ff0;
	vcpu.dr7 = 0x400;
}

static void test_mov_dr(void)
{
	int r;

	mode_long();
	dr_reset();
	regs[VCPU_RAX] = 0x1;
	r = MOVDR(0x0f, 0x23, 0xf8);		/* mov dr7, rax */
	check(r == 1 && vcpu.dr7 == 0x401 && vcpu.rip == CODE + 3,
	      "mov dr7,rax");

	mode_long();
	dr_reset();
	r = MOVDR(0x0f, 0x21, 0xf1);		/* mov rcx, dr6 */
	check(r == 1 && regs[VCPU_RCX] == 0xffff0ff0, "mov rcx,dr6");

	mode_long();
	dr_reset();
	regs[VCPU_RAX] = 0;
	r = MOVDR(0x0f, 0x23, 0xf0);		/* mov dr6, rax */
	check(r == 1 && vcpu.dr6 == 0xffff0ff0, "mov dr6,0: fixed bits");
	regs[VCPU_RAX] = ~0ULL & 0xffffffff;
	vcpu.rip = CODE;
	r = MOVDR(0x0f, 0x23, 0xf0);
	check(r == 1 && vcpu.dr6 == 0xffffeff0 + 0xf, "mov dr6,~0: bit 12 0");
	regs[VCPU_RAX] = 0;
	vcpu.rip = CODE;
	r = MOVDR(0x0f, 0x23, 0xf8);
	check(r == 1 && vcpu.dr7 == 0x400, "mov dr7,0: bit 10 set");

	mode_long();
	dr_reset();
	vcpu.dr7 = 0x455;
	r = MOVDR(0x0f, 0x21, 0xe9);		/* mov rcx, dr5 */
	check(r == 1 && regs[VCPU_RCX] == 0x455, "dr5 aliases dr7");
	vcpu.rip = CODE;
	cr4 |= X86_CR4_DE;
	r = MOVDR(0x0f, 0x21, 0xe1);		/* mov rcx, dr4 */
	check(r == 1 && exc_vector == UD_VECTOR && vcpu.rip == CODE,
	      "dr4 with CR4.DE: #UD");

	mode_long();
	dr_reset();
	cpl = 3;
	r = MOVDR(0x0f, 0x21, 0xc0);
	check(r == 1 && exc_vector == GP_VECTOR && exc_has_error &&
	      vcpu.rip == CODE, "CPL3: #GP(0)");

	mode_long();
	dr_reset();
	regs[VCPU_RAX] = 1ULL << 32;
	r = MOVDR(0x0f, 0x23, 0xf8);
	check(r == 1 && exc_vector == GP_VECTOR && vcpu.dr7 == 0x400,
	      "dr7 bits 63:32: #GP");
	regs[VCPU_RAX] = 0xffff800000001000ULL;
	vcpu.rip = CODE;
	r = MOVDR(0x0f, 0x23, 0xd8);		/* mov dr3, rax */
	check(r == 1 && vcpu.dr[3] == 0xffff800000001000ULL, "mov dr3,rax");

	mode_long();
	dr_reset();
	regs[VCPU_R9] = 0x1234;
	r = MOVDR(0x41, 0x0f, 0x23, 0xc1);	/* mov dr0, r9 */
	check(r == 1 && vcpu.dr[0] == 0x1234 && vcpu.rip == CODE + 4,
	      "mov dr0,r9 (REX.B)");
	vcpu.rip = CODE;
	r = MOVDR(0x44, 0x0f, 0x21, 0xc0);	/* mov rax, dr8 */
	check(r == 1 && exc_vector == UD_VECTOR, "dr8 (REX.R): #UD");

	mode_long();
	dr_reset();
	vcpu.dr7 = 0x2400;
	r = MOVDR(0x0f, 0x21, 0xc0);
	check(r == 1 && exc_vector == DB_VECTOR && (vcpu.dr6 & 0x2000) &&
	      !(vcpu.dr7 & 0x2000) && vcpu.rip == CODE, "DR7.GD: #DB");

	mode_prot(true);
	dr_reset();
	vcpu.dr[1] = 0xffffffff;
	regs[VCPU_RAX] = ~0ULL;
	r = MOVDR(0x0f, 0x21, 0x08);		/* mod 0: still a register */
	check(r == 1 && regs[VCPU_RAX] == 0xffffffff && vcpu.rip == CODE + 3,
	      "32-bit: mov eax,dr1, mod ignored");
	regs[VCPU_RDX] = 0x1234567800000001ULL;
	vcpu.rip = CODE;
	r = MOVDR(0x0f, 0x23, 0xc2);		/* mov dr0, edx */
	check(r == 1 && vcpu.dr[0] == 1, "32-bit: mov dr0,edx low half");

	mode_long();
	r = MOVDR(0x0f, 0x20, 0xc0);		/* mov rax, cr0 */
	expect_fail(r, "mov_dr: not a MOV DR");
}

/* ---- RFLAGS against the host CPU --------------------------------------- */

/*
 * Each helper runs one instruction on the host with the given arithmetic
 * flags and returns the result and RFLAGS after it.  The asm pushes, so
 * the test is built with -mno-red-zone.
 */
#define HOST_BIN(name, sfx, type)					\
static u64 host_##name##_##sfx(u64 a, u64 b, u64 *fl)			\
{									\
	type x = a, y = b;						\
	unsigned long f = *fl;						\
	asm volatile("push %[f]\n\tpopf\n\t" #name " %[y], %[x]\n\t"	\
		     "pushf\n\tpop %[f]"					\
		     : [x] "+q" (x), [f] "+r" (f) : [y] "q" (y) : "cc");\
	*fl = f;							\
	return x;							\
}

#define HOST_UN(name, sfx, type)					\
static u64 host_##name##_##sfx(u64 a, u64 b, u64 *fl)			\
{									\
	type x = a;							\
	unsigned long f = *fl;						\
	(void)b;							\
	asm volatile("push %[f]\n\tpopf\n\t" #name " %[x]\n\t"		\
		     "pushf\n\tpop %[f]"					\
		     : [x] "+q" (x), [f] "+r" (f) : : "cc");		\
	*fl = f;							\
	return x;							\
}

#define HOST_ALL(m, name)						\
	m(name, 1, u8) m(name, 2, u16) m(name, 4, u32) m(name, 8, u64)

HOST_ALL(HOST_BIN, add)
HOST_ALL(HOST_BIN, or)
HOST_ALL(HOST_BIN, adc)
HOST_ALL(HOST_BIN, sbb)
HOST_ALL(HOST_BIN, and)
HOST_ALL(HOST_BIN, sub)
HOST_ALL(HOST_BIN, xor)
HOST_ALL(HOST_BIN, cmp)
HOST_ALL(HOST_BIN, test)
HOST_ALL(HOST_UN, neg)
HOST_ALL(HOST_UN, inc)
HOST_ALL(HOST_UN, dec)
HOST_ALL(HOST_UN, not)

typedef u64 (*host_fn)(u64 a, u64 b, u64 *fl);

#define HOST_ROW(name)							\
	{ host_##name##_1, host_##name##_2, host_##name##_4, host_##name##_8 }

struct flag_case {
	const char *name;
	host_fn host[4];
	u8 opcode;		/* byte form; +1 for the others */
	int ext;		/* ModRM.reg for unary forms, else -1 */
	bool writes;
	u64 undefined;		/* flags the SDM leaves undefined */
};

static const struct flag_case flag_cases[] = {
	{ "add", HOST_ROW(add), 0x00, -1, true, 0 },
	{ "or", HOST_ROW(or), 0x08, -1, true, X86_EFLAGS_AF },
	{ "adc", HOST_ROW(adc), 0x10, -1, true, 0 },
	{ "sbb", HOST_ROW(sbb), 0x18, -1, true, 0 },
	{ "and", HOST_ROW(and), 0x20, -1, true, X86_EFLAGS_AF },
	{ "sub", HOST_ROW(sub), 0x28, -1, true, 0 },
	{ "xor", HOST_ROW(xor), 0x30, -1, true, X86_EFLAGS_AF },
	{ "cmp", HOST_ROW(cmp), 0x38, -1, false, 0 },
	{ "test", HOST_ROW(test), 0x84, -1, false, X86_EFLAGS_AF },
	{ "neg", HOST_ROW(neg), 0xf6, 3, true, 0 },
	{ "not", HOST_ROW(not), 0xf6, 2, true, 0 },
	{ "inc", HOST_ROW(inc), 0xfe, 0, true, 0 },
	{ "dec", HOST_ROW(dec), 0xfe, 1, true, 0 },
};

static u64 rnd(void)
{
	static const u64 edge[] = {
		0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff,
		0x80000000, 0xffffffff, 0x7fffffffffffffffULL,
		0x8000000000000000ULL, ~0ULL, 0x0f, 0x10,
	};
	u64 r = 0;
	int i;

	if (rand() % 3 == 0)
		return edge[rand() % ARRAY_SIZE(edge)];
	for (i = 0; i < 4; i++)
		r = (r << 16) ^ (rand() & 0xffff);
	return r;
}

/* One op at one size, through the emulator: op [rax], ecx-family. */
static bool flags_one(const struct flag_case *fc, int sz, u64 a, u64 b,
		      u64 fl_in, char *why, size_t whylen)
{
	static const int sizes[] = { 1, 2, 4, 8 };
	unsigned int size = sizes[sz], n = 0;
	u64 host_fl = fl_in, want, got, mask = size < 8 ?
		(1ULL << (size * 8)) - 1 : ~0ULL;
	u8 code[8];
	int r;

	want = fc->host[sz](a, b, &host_fl) & mask;

	mode_long();
	if (size == 2)
		code[n++] = 0x66;
	if (size == 8)
		code[n++] = 0x48;
	code[n++] = fc->opcode + (size > 1);
	code[n++] = fc->ext >= 0 ? fc->ext << 3 : 0x08;	/* [rax], ecx */
	regs[VCPU_RAX] = MMIO;
	regs[VCPU_RCX] = b;
	vcpu.rflags = fl_in;
	r = emu(code, n, MMIO);
	if (!is_mmio(r, MMIO, size, false)) {
		snprintf(why, whylen, "no read exit");
		return false;
	}
	r = complete(a);
	if (fc->writes) {
		if (!is_mmio(r, MMIO, size, true)) {
			snprintf(why, whylen, "no write exit (r=%d)", r);
			return false;
		}
		got = mmio_data();
		if (got != want) {
			snprintf(why, whylen, "result %#llx != host %#llx",
				 (unsigned long long)got,
				 (unsigned long long)want);
			return false;
		}
	} else if (r != 1) {
		snprintf(why, whylen, "unexpected exit");
		return false;
	}
	mask = EFLAGS_ARITH_ALL & ~fc->undefined;
	if ((vcpu.rflags & mask) != (host_fl & mask)) {
		snprintf(why, whylen, "a=%#llx b=%#llx in=%#llx: flags %#llx "
			 "!= host %#llx", (unsigned long long)a,
			 (unsigned long long)b, (unsigned long long)fl_in,
			 (unsigned long long)(vcpu.rflags & mask),
			 (unsigned long long)(host_fl & mask));
		return false;
	}
	return true;
}

static void test_flags_vs_host(void)
{
	unsigned int c, sz, i;
	char why[200];

	srand(1);
	for (c = 0; c < ARRAY_SIZE(flag_cases); c++) {
		for (sz = 0; sz < 4; sz++) {
			bool ok = true;

			why[0] = 0;
			for (i = 0; i < 2000 && ok; i++) {
				u64 fl = 0x2 | (rnd() & EFLAGS_ARITH_ALL);

				ok = flags_one(&flag_cases[c], sz, rnd(), rnd(),
					       fl, why, sizeof(why));
			}
			check(ok, "flags vs host: %s size %u %s",
			      flag_cases[c].name, 1u << sz, why);
		}
	}
}

/* ---- Decoder lengths --------------------------------------------------- */

static void test_lengths(void)
{
	static const struct {
		u8 mode, len, bytes[15];
	} cases[] = {
		{ 8, 2, { 0x89, 0x08 } },
		{ 8, 3, { 0x89, 0x48, 0x10 } },
		{ 8, 6, { 0x89, 0x88, 1, 2, 3, 4 } },
		{ 8, 3, { 0x89, 0x04, 0x24 } },
		{ 8, 7, { 0x89, 0x04, 0x25, 1, 2, 3, 4 } },
		{ 8, 9, { 0x48, 0x81, 0x44, 0x24, 8, 1, 2, 3, 4 } },
		{ 8, 5, { 0x66, 0x81, 0x00, 1, 2 } },
		{ 8, 13, { 0xf0, 0x48, 0x81, 0x84, 0x88, 1, 2, 3, 4, 5, 6 } },
		{ 8, 4, { 0x64, 0x67, 0x8b, 0x00 } },
		{ 4, 5, { 0xa1, 1, 2, 3, 4 } },
		{ 4, 4, { 0x67, 0xa1, 1, 2 } },
		{ 2, 4, { 0x89, 0x87, 1, 2 } },
		{ 2, 4, { 0x89, 0x06, 1, 2 } },
		{ 2, 3, { 0x66, 0x89, 0x07 } },
		{ 2, 8, { 0x66, 0xc7, 0x47, 1, 1, 2, 3, 4 } },
	};
	struct kvml_insn insn;
	unsigned int i;
	int r;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(&insn, 0, sizeof(insn));
		memcpy(insn.bytes, cases[i].bytes, 15);
		insn.nbytes = 15;
		insn.mode = cases[i].mode;
		r = kvml_decode_insn(&insn);
		check(!r && insn.len == cases[i].len,
		      "length %u of case %u (mode %u): got %d/%u",
		      cases[i].len, i, cases[i].mode, r, insn.len);
	}
}

int main(void)
{
	test_lengths();
	test_mov64();
	test_extend64();
	test_store_imm64();
	test_addressing64();
	test_rmw64();
	test_bt64();
	test_string64();
	test_failures();
	test_real();
	test_prot32();
	test_walk();
	test_mov_dr();
	test_flags_vs_host();

	printf("1..%d\n", tests);
	printf("%d passed, %d failed\n", tests - failures, failures);
	return failures ? 1 : 0;
}
