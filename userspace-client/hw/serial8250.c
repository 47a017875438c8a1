// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite client: a 16550A UART as COM1 (ports 0x3f8-0x3ff, IRQ 4).  The
 * transmitter is infinitely fast: a byte written to THR goes to the terminal
 * at once and THR is empty again.  Received bytes come from the event loop
 * (the terminal) into a FIFO; the event loop stops reading the terminal while
 * the FIFO is full, so typed-ahead input waits in the terminal, not here.
 * Interrupts: received data, THR empty; line status and modem status never
 * change.  The IRQ line is gated by MCR.OUT2 as on a PC.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "devices.h"
#include "../ioport.h"
#include "../irq.h"
#include "../term.h"
#include "../vm.h"

#define COM1_PORT	0x3f8
#define COM1_IRQ	4
#define RX_FIFO_SIZE	64

/* Register offsets */
#define UART_RX		0	/* RBR (read), THR (write); DLL with DLAB */
#define UART_IER	1	/* DLM with DLAB */
#define UART_IIR	2	/* IIR (read), FCR (write) */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define IER_RDI		0x01
#define IER_THRI	0x02
#define IIR_NO_INT	0x01
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_FIFO_BITS	0xc0
#define FCR_ENABLE	0x01
#define FCR_CLEAR_RCVR	0x02
#define LCR_DLAB	0x80
#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10
#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

static struct {
	pthread_mutex_t lock;
	struct vm *vm;
	bool show_output;
	uint8_t rx[RX_FIFO_SIZE];
	unsigned int rx_head, rx_count;
	bool rx_was_full;
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	bool fifo_enabled;
	bool thre_pending;	/* THR-empty interrupt not yet acknowledged */
	bool irq_line;
	/* the last register accesses, for SIGUSR2 dumps */
	struct { uint8_t reg, val; bool write; } trace[64];
	unsigned int trace_pos;
} uart = { .lock = PTHREAD_MUTEX_INITIALIZER };

void (*serial8250__on_rx_room)(void);

static uint8_t uart__iir(void)
{
	uint8_t fifo = uart.fifo_enabled ? IIR_FIFO_BITS : 0;

	if ((uart.ier & IER_RDI) && uart.rx_count)
		return fifo | IIR_RDI;
	if ((uart.ier & IER_THRI) && uart.thre_pending)
		return fifo | IIR_THRI;
	return fifo | IIR_NO_INT;
}

/* Drive IRQ 4 from the interrupt state (call with the lock held). */
static void uart__update_irq(void)
{
	bool level = !(uart__iir() & IIR_NO_INT) && (uart.mcr & MCR_OUT2);

	if (level != uart.irq_line) {
		uart.irq_line = level;
		pic__set_irq(COM1_IRQ, level);
	}
}

static void uart__rx_push(uint8_t b)
{
	if (uart.rx_count == RX_FIFO_SIZE)
		return;
	uart.rx[(uart.rx_head + uart.rx_count) % RX_FIFO_SIZE] = b;
	uart.rx_count++;
}

static uint8_t uart__rx_pop(void)
{
	uint8_t b;

	if (!uart.rx_count)
		return 0;
	b = uart.rx[uart.rx_head];
	uart.rx_head = (uart.rx_head + 1) % RX_FIFO_SIZE;
	uart.rx_count--;
	return b;
}

size_t serial8250__rx_room(void)
{
	size_t room;

	pthread_mutex_lock(&uart.lock);
	room = RX_FIFO_SIZE - uart.rx_count;
	pthread_mutex_unlock(&uart.lock);
	return room;
}

size_t serial8250__receive(const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&uart.lock);
	/* In loopback mode the line is disconnected from the terminal. */
	if (!(uart.mcr & MCR_LOOP)) {
		while (n < len && uart.rx_count < RX_FIFO_SIZE)
			uart__rx_push(buf[n++]);
		if (uart.rx_count == RX_FIFO_SIZE)
			uart.rx_was_full = true;
		uart__update_irq();
	}
	pthread_mutex_unlock(&uart.lock);
	return n;
}

static void uart__transmit(uint8_t b)
{
	if (uart.mcr & MCR_LOOP) {
		uart__rx_push(b);
		return;
	}
	if (uart.show_output)
		term__write(&b, 1);
}

static uint8_t uart__read(unsigned int reg)
{
	uint8_t v = 0, iir;

	switch (reg) {
	case UART_RX:
		if (uart.lcr & LCR_DLAB)
			return uart.dll;
		v = uart__rx_pop();
		break;
	case UART_IER:
		return (uart.lcr & LCR_DLAB) ? uart.dlm : uart.ier;
	case UART_IIR:
		iir = uart__iir();
		/* Reading IIR acknowledges a THR-empty interrupt. */
		if ((iir & 0x0f) == IIR_THRI)
			uart.thre_pending = false;
		return iir;
	case UART_LCR:
		return uart.lcr;
	case UART_MCR:
		return uart.mcr;
	case UART_LSR:
		return (uart.rx_count ? LSR_DR : 0) | LSR_THRE | LSR_TEMT;
	case UART_MSR:
		if (uart.mcr & MCR_LOOP)
			return ((uart.mcr & MCR_RTS) ? MSR_CTS : 0) |
			       ((uart.mcr & MCR_DTR) ? MSR_DSR : 0) |
			       ((uart.mcr & MCR_OUT1) ? MSR_RI : 0) |
			       ((uart.mcr & MCR_OUT2) ? MSR_DCD : 0);
		return MSR_DCD | MSR_DSR | MSR_CTS;
	case UART_SCR:
		return uart.scr;
	}
	return v;
}

static void uart__write(unsigned int reg, uint8_t v)
{
	switch (reg) {
	case UART_RX:
		if (uart.lcr & LCR_DLAB) {
			uart.dll = v;
			break;
		}
		uart__transmit(v);
		uart.thre_pending = true;
		break;
	case UART_IER:
		if (uart.lcr & LCR_DLAB) {
			uart.dlm = v;
			break;
		}
		/* Enabling the THR-empty interrupt with THR empty raises it. */
		if ((v & IER_THRI) && !(uart.ier & IER_THRI))
			uart.thre_pending = true;
		uart.ier = v & 0x0f;
		break;
	case UART_IIR:		/* FCR */
		uart.fifo_enabled = v & FCR_ENABLE;
		if (v & FCR_CLEAR_RCVR)
			uart.rx_count = 0;
		break;
	case UART_LCR:
		uart.lcr = v;
		break;
	case UART_MCR:
		uart.mcr = v & 0x1f;
		break;
	case UART_SCR:
		uart.scr = v;
		break;
	}
}

static void uart__io(void *opaque, uint16_t port, bool is_write, uint8_t *data, int size)
{
	bool room = false;

	(void)opaque;
	(void)size;
	pthread_mutex_lock(&uart.lock);
	if (is_write)
		uart__write(port - COM1_PORT, *data);
	else
		*data = uart__read(port - COM1_PORT);
	if (port - COM1_PORT != UART_LSR) {
		unsigned int t = uart.trace_pos++ % ARRAY_SIZE(uart.trace);

		uart.trace[t].reg = port - COM1_PORT;
		uart.trace[t].val = *data;
		uart.trace[t].write = is_write;
	}
	if (uart.rx_was_full && uart.rx_count < RX_FIFO_SIZE / 2) {
		uart.rx_was_full = false;
		room = true;
	}
	uart__update_irq();
	pthread_mutex_unlock(&uart.lock);
	if (room && serial8250__on_rx_room)
		serial8250__on_rx_room();
}

static const struct ioport_ops uart__ops = { .name = "8250", .io = uart__io, .bytewise = true };

void serial8250__init(struct vm *vm, bool show_output)
{
	uart.vm = vm;
	uart.show_output = show_output;
	ioport__register(COM1_PORT, 8, &uart__ops, NULL);
}

void serial8250__describe(char *buf, size_t len)
{
	pthread_mutex_lock(&uart.lock);
	int n = snprintf(buf, len, "8250 ier %02x iir %02x lcr %02x mcr %02x rx %u thre_pending %d line %d trace",
		 uart.ier, uart__iir(), uart.lcr, uart.mcr, uart.rx_count, uart.thre_pending,
		 uart.irq_line);
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(uart.trace) && n < (int)len - 12; i++) {
		unsigned int t = (uart.trace_pos + i) % ARRAY_SIZE(uart.trace);

		n += snprintf(buf + n, len - n, " %c%u=%02x", uart.trace[t].write ? 'w' : 'r',
			      uart.trace[t].reg, uart.trace[t].val);
	}
	pthread_mutex_unlock(&uart.lock);
}
