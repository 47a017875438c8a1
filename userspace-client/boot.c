// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite client: the Linux x86 boot protocol (Documentation/x86/boot.rst),
 * 64-bit entry.  The protected-mode part of the bzImage goes to 1 MiB, the
 * zero page (boot_params) to 0x7000 and the command line to 0x20000; the CPU
 * starts in long mode at the kernel's startup_64 (load address + 0x200) on
 * an identity map of the first 4 GiB built here.
 */
#include <asm/bootparam.h>
#include <errno.h>
#include <linux/screen_info.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot.h"

/* Guest physical layout of the boot data. */
#define BOOT_GDT_ADDR		0x00000500ULL
#define BOOT_PARAMS_ADDR	0x00007000ULL
#define BOOT_PML4_ADDR		0x00009000ULL	/* then PDPT, then 4 PDs */
#define BOOT_CMDLINE_ADDR	0x00020000ULL
#define BOOT_CMDLINE_MAX	0x00010000ULL
#define EBDA_ADDR		0x0009fc00ULL
#define VGA_START		0x000a0000ULL
#define BIOS_START		0x000e0000ULL	/* ACPI tables live here */
#define KERNEL_LOAD_ADDR	0x00100000ULL
#define KERNEL_64BIT_ENTRY	0x200

#define SETUP_HDR_OFFSET	0x1f1
#define SETUP_MAGIC		0x53726448	/* "HdrS" */
#define LOADER_TYPE_UNDEFINED	0xff
#define E820_RAM		1
#define E820_RESERVED		2

static void e820__add(struct boot_params *bp, uint64_t addr, uint64_t size, uint32_t type)
{
	struct boot_e820_entry *e = &bp->e820_table[bp->e820_entries++];

	e->addr = addr;
	e->size = size;
	e->type = type;
}

static void boot__e820(struct vm *vm, struct boot_params *bp)
{
	e820__add(bp, 0, EBDA_ADDR, E820_RAM);
	e820__add(bp, EBDA_ADDR, VGA_START - EBDA_ADDR, E820_RESERVED);
	e820__add(bp, BIOS_START, KERNEL_LOAD_ADDR - BIOS_START, E820_RESERVED);
	e820__add(bp, KERNEL_LOAD_ADDR, vm->low_size - KERNEL_LOAD_ADDR, E820_RAM);
	if (vm->high_size)
		e820__add(bp, HIGH_RAM_START, vm->high_size, E820_RAM);
}

/* An 80x25 VGA colour text screen, as the BIOS leaves it (hw/vga.c). */
static void boot__screen_info(struct boot_params *bp)
{
	struct screen_info *si = &bp->screen_info;

	si->orig_x = 0;
	si->orig_y = 0;
	si->orig_video_mode = 3;
	si->orig_video_cols = 80;
	si->orig_video_lines = 25;
	si->orig_video_ega_bx = 3;	/* not 0x10: EGA/VGA, 256 KiB */
	si->orig_video_isVGA = VIDEO_TYPE_VGAC;
	si->orig_video_points = 16;
	si->ext_mem_k = 0xfc00;
}

/* Identity map of 0..4 GiB with 2 MiB pages, and the boot GDT. */
static void boot__page_tables_and_gdt(struct vm *vm)
{
	uint64_t *pml4 = vm__gpa_to_hva(vm, BOOT_PML4_ADDR, 0x1000);
	uint64_t *pdpt = vm__gpa_to_hva(vm, BOOT_PML4_ADDR + 0x1000, 0x1000);
	uint64_t *pd = vm__gpa_to_hva(vm, BOOT_PML4_ADDR + 0x2000, 0x4000);
	uint64_t *gdt = vm__gpa_to_hva(vm, BOOT_GDT_ADDR, 4 * 8);
	int i;

	memset(pml4, 0, 0x6000);
	pml4[0] = (BOOT_PML4_ADDR + 0x1000) | 0x3;			/* P RW */
	for (i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PML4_ADDR + 0x2000 + i * 0x1000ULL) | 0x3;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;			/* P RW PS */

	gdt[0] = 0;
	gdt[1] = 0;
	gdt[2] = 0x00af9b000000ffffULL;	/* 0x10: 64-bit code, flat */
	gdt[3] = 0x00cf93000000ffffULL;	/* 0x18: data, flat */
}

/* The BIOS data area fields Linux reads: base memory size and EBDA segment. */
static void boot__bios_data_area(struct vm *vm)
{
	uint8_t *bda = vm__gpa_to_hva(vm, 0x400, 0x100);

	bda[0x0e] = (EBDA_ADDR >> 4) & 0xff;
	bda[0x0f] = (EBDA_ADDR >> 12) & 0xff;
	bda[0x13] = (EBDA_ADDR >> 10) & 0xff;
	bda[0x14] = (EBDA_ADDR >> 18) & 0xff;
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

void linux__load(struct vm *vm, const char *kernel_path, const char *initrd_path,
		 const char *cmdline)
{
	struct boot_params *bp;
	struct setup_header *hdr;
	uint8_t *image, *dst;
	size_t image_size, setup_size, pm_size, hdr_len, cmdline_len, cmdline_max;
	uint64_t kernel_end, initrd_addr = 0, initrd_top;
	size_t initrd_size = 0;
	void *initrd = NULL;
	unsigned int setup_sects;

	image = file__read_all(kernel_path, &image_size);
	if (!image)
		die_errno("cannot read kernel %s", kernel_path);
	if (image_size < 1024 || image[0x1fe] != 0x55 || image[0x1ff] != 0xaa ||
	    le32(image + 0x202) != SETUP_MAGIC)
		die("%s is not a Linux x86 kernel image (bzImage): no boot protocol header",
		    kernel_path);

	bp = vm__gpa_to_hva(vm, BOOT_PARAMS_ADDR, sizeof(*bp));
	memset(bp, 0, sizeof(*bp));
	hdr = &bp->hdr;
	/* The header runs from 0x1f1 to 0x202 + the byte at 0x201. */
	hdr_len = 0x202 + image[0x201] - SETUP_HDR_OFFSET;
	if (hdr_len > sizeof(*hdr))
		hdr_len = sizeof(*hdr);
	memcpy(hdr, image + SETUP_HDR_OFFSET, hdr_len);

	if (hdr->version < 0x020c || !(hdr->xloadflags & XLF_KERNEL_64) ||
	    !(hdr->loadflags & LOADED_HIGH))
		die("%s: kernel has no 64-bit entry point (boot protocol %u.%02u, "
		    "xloadflags %#x); 2.12 and XLF_KERNEL_64 needed", kernel_path,
		    hdr->version >> 8, hdr->version & 0xff, hdr->xloadflags);
	setup_sects = hdr->setup_sects ? hdr->setup_sects : 4;
	setup_size = (setup_sects + 1) * 512;
	if (setup_size >= image_size)
		die("%s is truncated: %zu bytes, setup alone is %zu", kernel_path,
		    image_size, setup_size);
	pm_size = image_size - setup_size;

	/* It decompresses to pref_address (or above) and needs init_size there. */
	kernel_end = KERNEL_LOAD_ADDR + pm_size;
	if (hdr->pref_address + hdr->init_size > kernel_end)
		kernel_end = hdr->pref_address + hdr->init_size;
	if (kernel_end > vm->low_size)
		die("kernel %s needs %llu MiB of memory, the VM has %llu MiB (see -m)",
		    kernel_path, (unsigned long long)((kernel_end + MiB - 1) / MiB),
		    (unsigned long long)(vm->ram_size / MiB));
	dst = vm__gpa_to_hva(vm, KERNEL_LOAD_ADDR, pm_size);
	memcpy(dst, image + setup_size, pm_size);
	free(image);

	cmdline_len = strlen(cmdline);
	cmdline_max = hdr->cmdline_size ? hdr->cmdline_size : 255;
	if (cmdline_max > BOOT_CMDLINE_MAX - 1)
		cmdline_max = BOOT_CMDLINE_MAX - 1;
	if (cmdline_len > cmdline_max)
		die("kernel command line is %zu bytes, the kernel takes at most %zu",
		    cmdline_len, cmdline_max);
	dst = vm__gpa_to_hva(vm, BOOT_CMDLINE_ADDR, cmdline_len + 1);
	memcpy(dst, cmdline, cmdline_len + 1);

	if (initrd_path) {
		initrd = file__read_all(initrd_path, &initrd_size);
		if (!initrd)
			die_errno("cannot read initrd %s", initrd_path);
		initrd_top = vm->low_size;
		if (hdr->initrd_addr_max && initrd_top > (uint64_t)hdr->initrd_addr_max + 1)
			initrd_top = (uint64_t)hdr->initrd_addr_max + 1;
		if (initrd_size > initrd_top || ((initrd_top - initrd_size) & ~0xfffULL) < kernel_end)
			die("initrd %s (%zu MiB) and the kernel do not fit in %llu MiB (see -m)",
			    initrd_path, (size_t)((initrd_size + MiB - 1) / MiB),
			    (unsigned long long)(vm->ram_size / MiB));
		initrd_addr = (initrd_top - initrd_size) & ~0xfffULL;
		memcpy(vm__gpa_to_hva(vm, initrd_addr, initrd_size), initrd, initrd_size);
		free(initrd);
	}

	hdr->type_of_loader = LOADER_TYPE_UNDEFINED;
	hdr->loadflags |= CAN_USE_HEAP;
	hdr->loadflags &= ~KEEP_SEGMENTS;
	hdr->heap_end_ptr = 0xfe00;
	hdr->code32_start = KERNEL_LOAD_ADDR;
	hdr->cmd_line_ptr = (uint32_t)BOOT_CMDLINE_ADDR;
	bp->ext_cmd_line_ptr = 0;
	hdr->ramdisk_image = (uint32_t)initrd_addr;
	hdr->ramdisk_size = (uint32_t)initrd_size;
	bp->ext_ramdisk_image = (uint32_t)(initrd_addr >> 32);
	bp->ext_ramdisk_size = (uint32_t)((uint64_t)initrd_size >> 32);
	hdr->setup_data = 0;
	hdr->hardware_subarch = 0;	/* a PC */

	boot__screen_info(bp);
	boot__e820(vm, bp);
	bp->alt_mem_k = (vm->low_size - MiB) / KiB;
	bp->acpi_rsdp_addr = acpi__build_tables(vm, BIOS_START, 0x10000);
	boot__bios_data_area(vm);
	boot__page_tables_and_gdt(vm);

	vcpu__set_boot_state(&vm->vcpus[0], KERNEL_LOAD_ADDR + KERNEL_64BIT_ENTRY,
			     BOOT_PARAMS_ADDR, BOOT_PML4_ADDR, BOOT_GDT_ADDR, 4 * 8 - 1);
}
