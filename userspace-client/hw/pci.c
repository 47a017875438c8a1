// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite client: PCI configuration mechanism #1 with an empty bus.  The
 * address register (0xcf8) keeps what is written; every configuration read
 * (0xcfc-0xcff) answers all ones, "no device"; writes go nowhere.  Port
 * 0xcf9, the reset control register of PC chipsets, reboots on a write with
 * the reset bit (0x04) set, which is Linux's reboot=pci method.
 */
#include <pthread.h>

#include "devices.h"
#include "../ioport.h"
#include "../vm.h"

static struct {
	pthread_mutex_t lock;
	struct vm *vm;
	uint32_t address;
	uint8_t reset_control;
} pci = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void pci__io(void *opaque, uint16_t port, bool is_write, uint8_t *data, int size)
{
	unsigned int off = port - 0xcf8, i;

	(void)opaque;
	pthread_mutex_lock(&pci.lock);
	if (off == 1 && size == 1) {			/* 0xcf9: reset control */
		if (is_write) {
			pci.reset_control = *data & 0x0e;
			if (*data & 0x04)
				vm__stop(pci.vm, EXIT_GUEST_DONE, "guest rebooted");
		} else {
			*data = pci.reset_control;
		}
	} else if (off < 4) {				/* the address register */
		for (i = 0; i < (unsigned int)size && off + i < 4; i++) {
			unsigned int shift = 8 * (off + i);

			if (is_write)
				pci.address = (pci.address & ~(0xffU << shift)) |
					      (uint32_t)data[i] << shift;
			else
				data[i] = pci.address >> shift;
		}
	} else if (!is_write) {				/* data: no device */
		for (i = 0; i < (unsigned int)size; i++)
			data[i] = 0xff;
	}
	pthread_mutex_unlock(&pci.lock);
}

static const struct ioport_ops pci__ops = { .name = "pci-conf1", .io = pci__io };

void pci__init(struct vm *vm)
{
	pci.vm = vm;
	ioport__register(0xcf8, 8, &pci__ops, NULL);
}
