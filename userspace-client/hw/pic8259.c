// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite client: the dual 8259A PIC (master 0x20/0x21, slave 0xa0/0xa1 on
 * the master's IRQ 2) and the ELCR (0x4d0/0x4d1).  Edge-triggered, fully
 * nested, fixed priority (IRQ 0 highest); specific and non-specific EOI,
 * automatic EOI, reading IRR or ISR and poll mode through OCW3.  The result
 * is offered to the vCPU by vcpu.c through pic__has_interrupt() and
 * pic__acknowledge().
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../irq.h"
#include "../ioport.h"
#include "../vm.h"

struct pic_chip {
	uint8_t irr;		/* requests */
	uint8_t imr;		/* mask */
	uint8_t isr;		/* in service */
	uint8_t line;		/* current input levels, for edge detection */
	uint8_t vector_base;	/* ICW2 */
	uint8_t init_step;	/* 0: ready; 2, 3, 4: expecting that ICW */
	bool single;		/* ICW1 SNGL: no ICW3 */
	bool need_icw4;
	bool auto_eoi;		/* ICW4 AEOI */
	bool read_isr;		/* OCW3 RR/RIS: the command port reads ISR */
	bool poll;		/* OCW3 P: next command port read polls */
	uint8_t elcr;
};

static struct {
	pthread_mutex_t lock;
	struct vm *vm;
	struct pic_chip chip[2];	/* master, slave */
	void (*ack_notifier[16])(void);
} pic = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The highest-priority requested, unmasked IRQ that beats what is in service. */
static int pic_chip__pending(struct pic_chip *c, uint8_t extra_irr)
{
	uint8_t req = (c->irr | extra_irr) & ~c->imr;
	int i;

	for (i = 0; i < 8; i++) {
		if (c->isr & (1 << i))
			return -1;	/* something of higher or equal priority is in service */
		if (req & (1 << i))
			return i;
	}
	return -1;
}

static bool pic__slave_output(void)
{
	return pic_chip__pending(&pic.chip[1], 0) >= 0;
}

static int pic__master_pending(void)
{
	return pic_chip__pending(&pic.chip[0], pic__slave_output() ? 1 << 2 : 0);
}

bool pic__has_interrupt(void)
{
	bool r;

	pthread_mutex_lock(&pic.lock);
	r = pic__master_pending() >= 0;
	pthread_mutex_unlock(&pic.lock);
	return r;
}

/* Acknowledge IRQ on chip C: IRR to ISR (edge: the request is consumed). */
static void pic_chip__ack(struct pic_chip *c, int irq)
{
	c->irr &= ~(1 << irq);
	if (!c->auto_eoi)
		c->isr |= 1 << irq;
}

bool pic__irq_requested(int irq)
{
	bool r;

	pthread_mutex_lock(&pic.lock);
	r = pic.chip[irq >> 3].irr & (1 << (irq & 7));
	pthread_mutex_unlock(&pic.lock);
	return r;
}

void pic__set_ack_notifier(int irq, void (*fn)(void))
{
	pic.ack_notifier[irq] = fn;
}

int pic__acknowledge(void)
{
	int irq, sirq, vector = -1, acked = -1;

	pthread_mutex_lock(&pic.lock);
	irq = pic__master_pending();
	if (irq == 2 && pic__slave_output()) {
		sirq = pic_chip__pending(&pic.chip[1], 0);
		pic_chip__ack(&pic.chip[1], sirq);
		pic_chip__ack(&pic.chip[0], 2);
		vector = pic.chip[1].vector_base + sirq;
		acked = 8 + sirq;
	} else if (irq >= 0) {
		pic_chip__ack(&pic.chip[0], irq);
		vector = pic.chip[0].vector_base + irq;
		acked = irq;
	}
	pthread_mutex_unlock(&pic.lock);
	if (acked >= 0 && pic.ack_notifier[acked])
		pic.ack_notifier[acked]();
	return vector;
}

void pic__set_irq(int irq, bool level)
{
	struct pic_chip *c = &pic.chip[irq >> 3];
	uint8_t bit = 1 << (irq & 7);
	bool kick = false;

	pthread_mutex_lock(&pic.lock);
	if (level && !(c->line & bit)) {
		c->irr |= bit;
		kick = pic__master_pending() >= 0;
	}
	if (level)
		c->line |= bit;
	else
		c->line &= ~bit;
	pthread_mutex_unlock(&pic.lock);
	if (kick)
		vm__kick_vcpus(pic.vm);
}

void pic__pulse_irq(int irq)
{
	pic__set_irq(irq, true);
	pic__set_irq(irq, false);
}

static void pic_chip__eoi(struct pic_chip *c, int irq)
{
	int i;

	if (irq < 0) {		/* non-specific: the highest priority in service */
		for (i = 0; i < 8; i++)
			if (c->isr & (1 << i)) {
				c->isr &= ~(1 << i);
				return;
			}
		return;
	}
	c->isr &= ~(1 << irq);
}

/* Poll mode read: acknowledge like an INTA cycle, return 0x80 | irq or 0. */
static uint8_t pic_chip__poll(struct pic_chip *c)
{
	int irq = pic_chip__pending(c, 0);

	if (irq < 0)
		return 0;
	pic_chip__ack(c, irq);
	return 0x80 | irq;
}

static void pic_chip__write_command(struct pic_chip *c, uint8_t v)
{
	if (v & 0x10) {			/* ICW1 */
		c->init_step = 2;
		c->single = v & 0x02;
		c->need_icw4 = v & 0x01;
		c->imr = 0;
		c->isr = 0;
		c->irr = 0;
		c->auto_eoi = false;
		c->read_isr = false;
		c->poll = false;
		return;
	}
	if (v & 0x08) {			/* OCW3 */
		if (v & 0x04)
			c->poll = true;
		if (v & 0x02)
			c->read_isr = v & 0x01;
		return;
	}
	/* OCW2: EOI variants (rotation is treated as plain EOI) */
	switch (v >> 5) {
	case 1:				/* non-specific EOI */
	case 5:				/* rotate on non-specific EOI */
		pic_chip__eoi(c, -1);
		break;
	case 3:				/* specific EOI */
	case 7:				/* rotate on specific EOI */
		pic_chip__eoi(c, v & 7);
		break;
	default:			/* priority commands: ignored */
		break;
	}
}

static void pic_chip__write_data(struct pic_chip *c, uint8_t v)
{
	switch (c->init_step) {
	case 2:
		c->vector_base = v & 0xf8;
		c->init_step = c->single ? (c->need_icw4 ? 4 : 0) : 3;
		break;
	case 3:
		c->init_step = c->need_icw4 ? 4 : 0;
		break;
	case 4:
		c->auto_eoi = v & 0x02;
		c->init_step = 0;
		break;
	default:			/* OCW1 */
		c->imr = v;
		break;
	}
}

static void pic__io(void *opaque, uint16_t port, bool is_write, uint8_t *data, int size)
{
	struct pic_chip *c = &pic.chip[port >= 0xa0 ? 1 : 0];
	bool kick;

	(void)opaque;
	(void)size;
	pthread_mutex_lock(&pic.lock);
	if (is_write) {
		if (port & 1)
			pic_chip__write_data(c, *data);
		else
			pic_chip__write_command(c, *data);
	} else if (c->poll) {
		c->poll = false;
		*data = pic_chip__poll(c);
	} else if (port & 1) {
		*data = c->imr;
	} else {
		*data = c->read_isr ? c->isr : c->irr;
	}
	kick = pic__master_pending() >= 0;
	pthread_mutex_unlock(&pic.lock);
	/* An EOI or unmask can let a waiting request through. */
	if (kick && is_write)
		vm__kick_vcpus(pic.vm);
}

static void elcr__io(void *opaque, uint16_t port, bool is_write, uint8_t *data, int size)
{
	struct pic_chip *c = &pic.chip[port & 1];
	/* IRQ 0, 1, 2, 8 and 13 are always edge-triggered. */
	uint8_t mask = (port & 1) ? 0xde : 0xf8;

	(void)opaque;
	(void)size;
	pthread_mutex_lock(&pic.lock);
	if (is_write)
		c->elcr = *data & mask;
	else
		*data = c->elcr;
	pthread_mutex_unlock(&pic.lock);
}

static const struct ioport_ops pic__ops = { .name = "8259", .io = pic__io, .bytewise = true };
static const struct ioport_ops elcr__ops = { .name = "elcr", .io = elcr__io, .bytewise = true };

void pic__init(struct vm *vm)
{
	pic.vm = vm;
	memset(pic.chip, 0, sizeof(pic.chip));
	pic.chip[0].vector_base = 0x08;
	pic.chip[1].vector_base = 0x70;
	ioport__register(0x20, 2, &pic__ops, NULL);
	ioport__register(0xa0, 2, &pic__ops, NULL);
	ioport__register(0x4d0, 2, &elcr__ops, NULL);
}

void pic__describe(char *buf, size_t len)
{
	pthread_mutex_lock(&pic.lock);
	snprintf(buf, len, "8259 master irr %02x imr %02x isr %02x line %02x base %02x, "
		 "slave irr %02x imr %02x isr %02x line %02x base %02x",
		 pic.chip[0].irr, pic.chip[0].imr, pic.chip[0].isr, pic.chip[0].line,
		 pic.chip[0].vector_base, pic.chip[1].irr, pic.chip[1].imr, pic.chip[1].isr,
		 pic.chip[1].line, pic.chip[1].vector_base);
	pthread_mutex_unlock(&pic.lock);
}
