/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmlite client: the port I/O registry.  Each device registers the port
 * ranges it decodes; a KVM_EXIT_IO goes to the owner of its first port.
 * Ports nobody owns read as all ones and ignore writes, as on a PC bus.
 */
#ifndef KVMLITE_CLIENT_IOPORT_H
#define KVMLITE_CLIENT_IOPORT_H

#include "util.h"

struct ioport_ops {
	const char *name;
	/*
	 * Handle one access of SIZE (1, 2 or 4) bytes at PORT; DATA holds the
	 * value written, or receives the value read (little endian).
	 */
	void (*io)(void *opaque, uint16_t port, bool is_write, uint8_t *data, int size);
	/* Split wider accesses into byte accesses of consecutive ports. */
	bool bytewise;
};

void ioport__register(uint16_t base, uint16_t len, const struct ioport_ops *ops, void *opaque);
void ioport__dispatch(uint16_t port, bool is_write, uint8_t *data, int size);
/* Report accesses to ports nobody owns on stderr (--debug). */
extern bool ioport__debug;

#endif
