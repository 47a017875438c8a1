// SPDX-License-Identifier: GPL-2.0
/* kvmlite client: the port I/O registry (a sorted table, searched by halves). */
#include <stdio.h>
#include <string.h>

#include "ioport.h"

struct ioport_range {
	uint16_t base;
	uint16_t len;
	const struct ioport_ops *ops;
	void *opaque;
};

#define IOPORT_MAX_RANGES 64

static struct ioport_range ioport__ranges[IOPORT_MAX_RANGES];
static int ioport__nr;
bool ioport__debug;

void ioport__register(uint16_t base, uint16_t len, const struct ioport_ops *ops, void *opaque)
{
	int i, j;

	if (ioport__nr == IOPORT_MAX_RANGES)
		die("ioport: too many port ranges");
	for (i = 0; i < ioport__nr; i++) {
		struct ioport_range *r = &ioport__ranges[i];

		if (base < r->base + r->len && r->base < base + len)
			die("ioport: %s ports %#x+%u overlap %s", ops->name, base, len,
			    r->ops->name);
		if (base < r->base)
			break;
	}
	for (j = ioport__nr; j > i; j--)
		ioport__ranges[j] = ioport__ranges[j - 1];
	ioport__ranges[i] = (struct ioport_range){ base, len, ops, opaque };
	ioport__nr++;
}

static struct ioport_range *ioport__find(uint16_t port)
{
	int lo = 0, hi = ioport__nr - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;
		struct ioport_range *r = &ioport__ranges[mid];

		if (port < r->base)
			hi = mid - 1;
		else if (port >= r->base + r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

void ioport__dispatch(uint16_t port, bool is_write, uint8_t *data, int size)
{
	struct ioport_range *r = ioport__find(port);
	int i;

	if (!r) {
		if (!is_write)
			memset(data, 0xff, size);
		if (ioport__debug)
			report("unhandled %s port %#x size %d%s", is_write ? "out" : "in",
			       port, size, is_write ? "" : " (reads all ones)");
		return;
	}
	if (!r->ops->bytewise || size == 1) {
		r->ops->io(r->opaque, port, is_write, data, size);
		return;
	}
	for (i = 0; i < size; i++)
		ioport__dispatch(port + i, is_write, data + i, 1);
}
