// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite client: the 8254 PIT (ports 0x40-0x43) and port 0x61 (channel 2
 * gate, speaker, OUT2).  Counters run on the host's monotonic clock at
 * 1.193182 MHz, so the guest's time and its TSC calibration follow real
 * time.  Channel 0 drives IRQ 0 through a timerfd the event loop polls:
 * periodic in modes 2 and 3, one-shot in modes 0, 1, 4 and 5.  Channel 2 is
 * gated by port 0x61 bit 0 and its output reads back in bit 5, which is how
 * Linux calibrates the TSC.  Channel 1 counts but drives nothing.
 *
 * Ticks of channel 0 that the guest could not take in time (a busy host, a
 * slow nested exit) are not lost: they are counted and delivered one after
 * another, each once the 8259 no longer holds the previous one in its
 * request register, as KVM's in-kernel PIT does.  Otherwise jiffies would
 * fall behind real time.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "devices.h"
#include "../ioport.h"
#include "../irq.h"
#include "../vm.h"

#define PIT_HZ 1193182ULL
#define PIT_MAX_PENDING_TICKS 1000

enum { RW_LATCH = 0, RW_LSB = 1, RW_MSB = 2, RW_WORD = 3 };

struct pit_channel {
	uint8_t mode;		/* 0-5 */
	uint8_t rw;		/* RW_* access mode */
	bool bcd;
	uint32_t reload;	/* 1..65536 */
	bool counting;		/* a count was loaded and the gate opened */
	uint64_t start_ns;	/* when counting started */
	uint32_t frozen;	/* the count while not counting */
	bool write_msb_next;	/* RW_WORD: next write is the MSB */
	uint8_t write_lsb;
	bool read_msb_next;	/* RW_WORD: next read is the MSB */
	bool latched;		/* counter latch command pending reads */
	uint16_t latch;
	uint8_t latch_reads;	/* bytes of the latch still to read */
	bool status_latched;
	uint8_t status;
	bool null_count;
	bool gate;
};

static struct {
	pthread_mutex_t lock;
	struct vm *vm;
	struct pit_channel ch[3];
	uint8_t port61;		/* bits 0-3 as written */
	bool refresh;		/* port 0x61 bit 4 toggles on each read */
	int timer_fd;
	unsigned int pending_ticks;	/* channel 0 interrupts still to deliver */
} pit = { .lock = PTHREAD_MUTEX_INITIALIZER };

static uint64_t pit__ticks_since(uint64_t start_ns, uint64_t now)
{
	uint64_t ns = now - start_ns;

	return (ns / 1000000000ULL) * PIT_HZ + (ns % 1000000000ULL) * PIT_HZ / 1000000000ULL;
}

static uint64_t pit__ticks_to_ns(uint64_t ticks)
{
	return (ticks / PIT_HZ) * 1000000000ULL + (ticks % PIT_HZ) * 1000000000ULL / PIT_HZ;
}

/* The counter's value now. */
static uint16_t pit_channel__count(struct pit_channel *c, uint64_t now)
{
	uint64_t t;

	if (!c->counting)
		return c->frozen;
	t = pit__ticks_since(c->start_ns, now);
	switch (c->mode) {
	case 2:
		return c->reload - t % c->reload;
	case 3:			/* counts down by two, twice per period */
		return (c->reload - (2 * t) % c->reload) & 0xfffe;
	default:		/* 0, 1, 4, 5: down once, then wraps */
		return (uint16_t)(c->reload - t);
	}
}

/* The channel's OUT pin now. */
static bool pit_channel__out(struct pit_channel *c, uint64_t now)
{
	uint64_t t;

	if (!c->counting)
		return c->mode != 0 && c->mode != 1;	/* 0 and 1 start low */
	t = pit__ticks_since(c->start_ns, now);
	switch (c->mode) {
	case 0:
	case 1:
		return t >= c->reload;
	case 2:
		return t % c->reload != c->reload - 1;
	case 3:
		return t % c->reload < (c->reload + 1) / 2;
	default:		/* 4, 5: a one-clock low pulse at terminal count */
		return t != c->reload;
	}
}

static void pit__arm_timer(struct pit_channel *c)
{
	struct itimerspec its;
	uint64_t ns = pit__ticks_to_ns(c->reload);

	memset(&its, 0, sizeof(its));
	if (c->counting) {
		its.it_value.tv_sec = ns / 1000000000ULL;
		its.it_value.tv_nsec = ns % 1000000000ULL;
		if (!its.it_value.tv_sec && !its.it_value.tv_nsec)
			its.it_value.tv_nsec = 1;
		if (c->mode == 2 || c->mode == 3)
			its.it_interval = its.it_value;
	}
	timerfd_settime(pit.timer_fd, 0, &its, NULL);
}

/* Counting (re)starts for channel N: a count was written or the gate rose. */
static void pit__start(int n, uint64_t now)
{
	struct pit_channel *c = &pit.ch[n];

	c->null_count = false;
	if (!c->gate && (c->mode == 0 || c->mode == 2 || c->mode == 3 || c->mode == 4)) {
		/* gated off: waits for the gate */
		c->counting = false;
		c->frozen = c->reload & 0xffff;
		return;
	}
	if (c->mode == 1 || c->mode == 5) {
		/* hardware-triggered: waits for a gate rising edge */
		c->counting = false;
		c->frozen = c->reload & 0xffff;
		return;
	}
	c->counting = true;
	c->start_ns = now;
	if (n == 0)
		pit__arm_timer(c);
}

static void pit__load(int n, uint32_t value, uint64_t now)
{
	struct pit_channel *c = &pit.ch[n];

	if (c->bcd) {
		value = (value & 0xf) + ((value >> 4) & 0xf) * 10 +
			((value >> 8) & 0xf) * 100 + ((value >> 12) & 0xf) * 1000;
		if (value == 0)
			value = 10000;
	} else if (value == 0) {
		value = 0x10000;
	}
	c->reload = value;
	pit__start(n, now);
}

static void pit__set_gate(int n, bool gate, uint64_t now)
{
	struct pit_channel *c = &pit.ch[n];
	bool rising = gate && !c->gate;

	if (!gate && c->gate && c->counting && (c->mode == 0 || c->mode == 4)) {
		c->frozen = pit_channel__count(c, now);	/* pauses */
		c->counting = false;
	}
	c->gate = gate;
	if (rising && !c->null_count && c->reload)
		pit__start(n, now);
	if (!gate && c->counting && (c->mode == 2 || c->mode == 3)) {
		c->frozen = c->reload & 0xffff;
		c->counting = false;
	}
}

static void pit__latch_count(struct pit_channel *c, uint64_t now)
{
	if (c->latched)
		return;
	c->latched = true;
	c->latch = pit_channel__count(c, now);
	c->latch_reads = c->rw == RW_WORD ? 2 : 1;
	c->read_msb_next = c->rw == RW_MSB;
}

static void pit__write_control(uint8_t v, uint64_t now)
{
	int n = v >> 6, i;
	struct pit_channel *c;

	if (n == 3) {			/* read-back */
		for (i = 0; i < 3; i++) {
			if (!(v & (2 << i)))
				continue;
			c = &pit.ch[i];
			if (!(v & 0x20))
				pit__latch_count(c, now);
			if (!(v & 0x10) && !c->status_latched) {
				c->status_latched = true;
				c->status = (pit_channel__out(c, now) ? 0x80 : 0) |
					    (c->null_count ? 0x40 : 0) | (c->rw << 4) |
					    (c->mode << 1) | c->bcd;
			}
		}
		return;
	}
	c = &pit.ch[n];
	if (((v >> 4) & 3) == RW_LATCH) {
		pit__latch_count(c, now);
		return;
	}
	c->rw = (v >> 4) & 3;
	c->mode = (v >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4;		/* 6 and 7 are 2 and 3 */
	c->bcd = v & 1;
	c->write_msb_next = c->rw == RW_MSB;
	c->read_msb_next = c->rw == RW_MSB;
	c->latched = false;
	c->status_latched = false;
	c->null_count = true;
	/* A new mode stops the counter until a count is written. */
	c->frozen = c->counting ? pit_channel__count(c, now) : c->frozen;
	c->counting = false;
	if (n == 0) {
		pit.pending_ticks = 0;
		pit__arm_timer(c);
	}
}

static void pit__write_counter(int n, uint8_t v, uint64_t now)
{
	struct pit_channel *c = &pit.ch[n];

	switch (c->rw) {
	case RW_LSB:
		pit__load(n, v, now);
		break;
	case RW_MSB:
		pit__load(n, (uint32_t)v << 8, now);
		break;
	case RW_WORD:
		if (!c->write_msb_next) {
			c->write_lsb = v;
			c->write_msb_next = true;
			/* mode 0: writing the LSB stops the count */
			if (c->mode == 0 && c->counting) {
				c->frozen = pit_channel__count(c, now);
				c->counting = false;
				if (n == 0)
					pit__arm_timer(c);
			}
		} else {
			c->write_msb_next = false;
			pit__load(n, c->write_lsb | (uint32_t)v << 8, now);
		}
		break;
	}
}

static uint8_t pit__read_counter(int n, uint64_t now)
{
	struct pit_channel *c = &pit.ch[n];
	uint16_t value;
	uint8_t r;

	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->latched) {
		value = c->latch;
		if (--c->latch_reads == 0)
			c->latched = false;
	} else {
		value = pit_channel__count(c, now);
	}
	if (c->bcd)
		value = (value % 10) | ((value / 10) % 10) << 4 |
			((value / 100) % 10) << 8 | ((value / 1000) % 10) << 12;
	switch (c->rw) {
	case RW_LSB:
		return value & 0xff;
	case RW_MSB:
		return value >> 8;
	default:
		r = c->read_msb_next ? value >> 8 : value & 0xff;
		c->read_msb_next = !c->read_msb_next;
		return r;
	}
}

static void pit__io(void *opaque, uint16_t port, bool is_write, uint8_t *data, int size)
{
	uint64_t now = clock__now_ns();

	(void)opaque;
	(void)size;
	pthread_mutex_lock(&pit.lock);
	if (port == 0x43) {
		if (is_write)
			pit__write_control(*data, now);
		else
			*data = 0xff;
	} else if (is_write) {
		pit__write_counter(port - 0x40, *data, now);
	} else {
		*data = pit__read_counter(port - 0x40, now);
	}
	pthread_mutex_unlock(&pit.lock);
}

static void port61__io(void *opaque, uint16_t port, bool is_write, uint8_t *data, int size)
{
	uint64_t now = clock__now_ns();

	(void)opaque;
	(void)port;
	(void)size;
	pthread_mutex_lock(&pit.lock);
	if (is_write) {
		pit.port61 = *data & 0x0f;
		pit__set_gate(2, *data & 1, now);
	} else {
		pit.refresh = !pit.refresh;
		*data = pit.port61 | (pit.refresh ? 0x10 : 0) |
			(pit_channel__out(&pit.ch[2], now) ? 0x20 : 0);
	}
	pthread_mutex_unlock(&pit.lock);
}

int pit8254__timer_fd(void)
{
	return pit.timer_fd;
}

/*
 * Raise IRQ 0 for the next pending tick unless the 8259 still holds the
 * previous one (lock held; the 8259's lock nests inside).
 */
static void pit__deliver_tick(void)
{
	if (!pit.pending_ticks || pic__irq_requested(0))
		return;
	pit.pending_ticks--;
	pic__pulse_irq(0);
}

/* Channel 0 reached its terminal count (or its period ended): IRQ 0. */
void pit8254__timer_expired(void)
{
	uint64_t expirations;

	if (read(pit.timer_fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return;		/* re-armed meanwhile: nothing due */
	pthread_mutex_lock(&pit.lock);
	pit.pending_ticks += expirations;
	if (pit.pending_ticks > PIT_MAX_PENDING_TICKS)
		pit.pending_ticks = PIT_MAX_PENDING_TICKS;
	pit__deliver_tick();
	pthread_mutex_unlock(&pit.lock);
}

/* The 8259 handed IRQ 0 to the CPU: the next pending tick may follow. */
static void pit__irq0_acked(void)
{
	pthread_mutex_lock(&pit.lock);
	pit__deliver_tick();
	pthread_mutex_unlock(&pit.lock);
}

static const struct ioport_ops pit__ops = { .name = "8254", .io = pit__io, .bytewise = true };
static const struct ioport_ops port61__ops = { .name = "port61", .io = port61__io, .bytewise = true };

void pit8254__init(struct vm *vm)
{
	int i;

	pit.vm = vm;
	for (i = 0; i < 3; i++) {
		pit.ch[i].gate = i != 2;
		pit.ch[i].rw = RW_WORD;
		pit.ch[i].reload = 0x10000;
	}
	pit.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (pit.timer_fd < 0)
		die_errno("timerfd_create");
	pic__set_ack_notifier(0, pit__irq0_acked);
	ioport__register(0x40, 4, &pit__ops, NULL);
	ioport__register(0x61, 1, &port61__ops, NULL);
}

void pit8254__describe(char *buf, size_t len)
{
	struct itimerspec its;
	struct pit_channel *c = &pit.ch[0];

	pthread_mutex_lock(&pit.lock);
	timerfd_gettime(pit.timer_fd, &its);
	snprintf(buf, len, "8254 ch0 mode %u rw %u reload %u counting %d count %u pending %u "
		 "irr0 %d timer %ld.%09ld/%ld.%09ld", c->mode, c->rw, c->reload, c->counting,
		 pit_channel__count(c, clock__now_ns()), pit.pending_ticks, pic__irq_requested(0),
		 (long)its.it_value.tv_sec, its.it_value.tv_nsec, (long)its.it_interval.tv_sec,
		 its.it_interval.tv_nsec);
	pthread_mutex_unlock(&pit.lock);
}
