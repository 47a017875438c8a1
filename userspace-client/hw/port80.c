// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite client: port 0x80, the POST code port Linux writes for short I/O
 * delays (outb_p).  Writes vanish; reads return the last value written.
 */
#include <stdatomic.h>

#include "devices.h"
#include "../ioport.h"

static atomic_uchar port80__last;

static void port80__io(void *opaque, uint16_t port, bool is_write, uint8_t *data, int size)
{
	(void)opaque;
	(void)port;
	(void)size;
	if (is_write)
		atomic_store(&port80__last, *data);
	else
		*data = atomic_load(&port80__last);
}

static const struct ioport_ops port80__ops = { .name = "port80", .io = port80__io, .bytewise = true };

void port80__init(struct vm *vm)
{
	(void)vm;
	ioport__register(0x80, 1, &port80__ops, NULL);
}
