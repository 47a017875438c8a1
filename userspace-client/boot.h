/* SPDX-License-Identifier: GPL-2.0 */
/* kvmlite client: loading Linux by the x86 boot protocol, and the firmware tables. */
#ifndef KVMLITE_CLIENT_BOOT_H
#define KVMLITE_CLIENT_BOOT_H

#include "vm.h"

/*
 * Load the bzImage KERNEL (and INITRD, may be NULL) into the VM with CMDLINE,
 * build boot_params, the e820 map, the ACPI tables, page tables and GDT, and
 * point vCPU 0 at the kernel's 64-bit entry.  Exits 1 with one line on a bad
 * or missing file or one that does not fit in memory.
 */
void linux__load(struct vm *vm, const char *kernel, const char *initrd, const char *cmdline);

/* acpi.c: write RSDP, RSDT, FADT, FACS and DSDT at GPA; returns the RSDP's address. */
uint64_t acpi__build_tables(struct vm *vm, uint64_t gpa, uint64_t size);

#endif
