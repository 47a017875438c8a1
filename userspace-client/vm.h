/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmlite client: the VM, its memory and its vCPUs.
 *
 * A VM is one process: the main thread runs the event loop (loop.c) and each
 * vCPU a thread of its own in KVM_RUN (vcpu.c).  Everything talks to the
 * device (/dev/kvmlite or /dev/kvm) only through <linux/kvm.h>.
 */
#ifndef KVMLITE_CLIENT_VM_H
#define KVMLITE_CLIENT_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>

#include "util.h"

/* Guest physical layout (see Documentation/client.rst, "Guest memory"). */
#define PCI_HOLE_START	0xC0000000ULL	/* RAM above this goes to 4 GiB */
#define HIGH_RAM_START	0x100000000ULL

/* Exit statuses of the client. */
enum {
	EXIT_GUEST_DONE = 0,	/* poweroff, reboot, halt, user quit */
	EXIT_SETUP = 1,		/* bad arguments, files, device */
	EXIT_GUEST_CRASH = 2,	/* triple fault, internal error, entry failure */
};

struct vm;

struct vcpu {
	struct vm *vm;
	int id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;	/* with wake: a halted vCPU waits here */
	pthread_cond_t wake;
	volatile int dump_requested;	/* SIGUSR2: dump registers at the next exit */
};

struct vm {
	const char *dev_path;
	int sys_fd;
	int vm_fd;
	bool is_kvmlite;	/* KVM_CAP_KVMLITE answered */

	uint8_t *ram;		/* host mapping: low RAM, then high RAM */
	uint64_t ram_size;
	uint64_t low_size;	/* RAM at guest physical 0 */
	uint64_t high_size;	/* RAM at HIGH_RAM_START */

	int nr_vcpus;
	struct vcpu *vcpus;
	struct kvm_cpuid2 *supported_cpuid;
	struct kvm_msr_list *msr_list;

	/* How the run ends: the first vm__stop() wins. */
	atomic_bool stopping;
	pthread_mutex_t stop_lock;
	int exit_status;
	char exit_msg[160];
	int stop_efd;		/* eventfd: the event loop wakes up to end */
	char *crash_dump;	/* register dump of a crashed vCPU */
};

/* Open the device, create the VM and its RAM; exits 1 with one line on error. */
void vm__init(struct vm *vm, const char *dev_path, uint64_t ram_size, int nr_vcpus);
/* Host pointer for guest physical [gpa, gpa+len) in RAM, or NULL. */
void *vm__gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len);
/* End the run with STATUS and a message line (printed by the main thread). */
void vm__stop(struct vm *vm, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline bool vm__stopping(struct vm *vm)
{
	return atomic_load(&vm->stopping);
}

/* vcpu.c */
void vcpu__init(struct vm *vm, struct vcpu *vcpu, int id);
void vcpu__set_boot_state(struct vcpu *vcpu, uint64_t rip, uint64_t rsi,
			  uint64_t cr3, uint64_t gdt_base, uint16_t gdt_limit);
void vcpu__start(struct vcpu *vcpu);
/* Make the vCPU look at its interrupt lines again (any thread). */
void vcpu__kick(struct vcpu *vcpu);
void vm__kick_vcpus(struct vm *vm);
void vcpu__dump(struct vcpu *vcpu, const char *why);
void vcpu__setup_kick_signal(void);
unsigned long vcpu__tsc_khz(struct vcpu *vcpu);

#endif
