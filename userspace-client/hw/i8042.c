// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite client: the i8042 keyboard controller (data 0x60, status/command
 * 0x64) with a PS/2 keyboard and no mouse port.  Enough for Linux's probe
 * (self tests, command byte, keyboard ID, LEDs, scan code set) and for its
 * reset line: command 0xfe (pulse output line 0), or bit 0 cleared through
 * command 0xd1, reboots the machine.  With --display vga the terminal's
 * input is typed on the keyboard as scan codes of set 1 (the controller's
 * translation is always on); IRQ 1 signals each byte.
 */
#include <pthread.h>
#include <string.h>

#include "devices.h"
#include "../ioport.h"
#include "../irq.h"
#include "../vm.h"

#define KBD_IRQ		1
#define OUT_QUEUE_SIZE	256

#define STATUS_OBF	0x01
#define STATUS_SYS	0x04
#define STATUS_CMD	0x08	/* last write was to 0x64 */
#define STATUS_UNLOCKED	0x10

#define CTR_KBD_INT	0x01
#define CTR_SYS		0x04
#define CTR_KBD_DIS	0x10
#define CTR_AUX_DIS	0x20
#define CTR_XLATE	0x40

/* Keyboard commands and answers */
#define KBD_ACK		0xfa
#define KBD_RESEND	0xfe
#define KBD_BAT_OK	0xaa

static struct {
	pthread_mutex_t lock;
	struct vm *vm;
	uint8_t ctr;		/* controller command byte */
	uint8_t status_cmd;
	uint8_t pending_cmd;	/* controller command waiting for its data byte */
	uint8_t kbd_pending;	/* keyboard command waiting for its parameter */
	bool kbd_enabled;	/* keyboard scanning (F4/F5) */
	uint8_t out[OUT_QUEUE_SIZE];
	unsigned int out_head, out_count;
	bool obf;		/* a byte sits in the output buffer */
	uint8_t obuf;
	bool irq_line;
} kbc = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void kbc__update(void)
{
	bool level;

	if (!kbc.obf && kbc.out_count) {
		kbc.obuf = kbc.out[kbc.out_head];
		kbc.out_head = (kbc.out_head + 1) % OUT_QUEUE_SIZE;
		kbc.out_count--;
		kbc.obf = true;
	}
	level = kbc.obf && (kbc.ctr & CTR_KBD_INT);
	if (level != kbc.irq_line) {
		kbc.irq_line = level;
		pic__set_irq(KBD_IRQ, level);
	}
}

static void kbc__queue(uint8_t b)
{
	if (kbc.out_count == OUT_QUEUE_SIZE)
		return;
	kbc.out[(kbc.out_head + kbc.out_count) % OUT_QUEUE_SIZE] = b;
	kbc.out_count++;
}

static void kbc__reset_machine(void)
{
	vm__stop(kbc.vm, EXIT_GUEST_DONE, "guest rebooted");
}

/* A byte for the keyboard itself (written to 0x60 with no command pending). */
static void kbd__write(uint8_t v)
{
	uint8_t cmd = kbc.kbd_pending;

	if (cmd) {
		kbc.kbd_pending = 0;
		switch (cmd) {
		case 0xf0:	/* scan code set: 0 asks which */
			kbc__queue(KBD_ACK);
			if (v == 0)
				kbc__queue((kbc.ctr & CTR_XLATE) ? 0x41 : 0x02);
			return;
		default:	/* 0xed LEDs, 0xf3 typematic */
			kbc__queue(KBD_ACK);
			return;
		}
	}
	switch (v) {
	case 0xed:	/* set LEDs */
	case 0xf0:	/* scan code set */
	case 0xf3:	/* typematic rate */
		kbc.kbd_pending = v;
		kbc__queue(KBD_ACK);
		break;
	case 0xee:	/* echo */
		kbc__queue(0xee);
		break;
	case 0xf2:	/* identify: MF2 keyboard, as translated */
		kbc__queue(KBD_ACK);
		kbc__queue(0xab);
		kbc__queue((kbc.ctr & CTR_XLATE) ? 0x41 : 0x83);
		break;
	case 0xf4:	/* enable */
		kbc.kbd_enabled = true;
		kbc__queue(KBD_ACK);
		break;
	case 0xf5:	/* disable, defaults */
		kbc.kbd_enabled = false;
		kbc__queue(KBD_ACK);
		break;
	case 0xf6:	/* defaults */
	case 0xf7: case 0xf8: case 0xf9: case 0xfa:
	case 0xfb: case 0xfc: case 0xfd:
		kbc__queue(KBD_ACK);
		break;
	case 0xff:	/* reset */
		kbc.kbd_enabled = true;
		kbc__queue(KBD_ACK);
		kbc__queue(KBD_BAT_OK);
		break;
	default:
		kbc__queue(KBD_RESEND);
		break;
	}
}

static void kbc__data_write(uint8_t v)
{
	uint8_t cmd = kbc.pending_cmd;

	kbc.pending_cmd = 0;
	switch (cmd) {
	case 0x60:	/* write command byte */
		kbc.ctr = v;
		break;
	case 0xd1:	/* write output port: bit 0 low is the reset line */
		if (!(v & 1))
			kbc__reset_machine();
		break;
	case 0xd2:	/* write keyboard output buffer */
		kbc__queue(v);
		break;
	case 0xd3:	/* write mouse output buffer: there is no mouse port */
	case 0xd4:	/* write to mouse */
		break;
	default:
		kbd__write(v);
		break;
	}
}

static void kbc__command(uint8_t v)
{
	switch (v) {
	case 0x20:	/* read command byte */
		kbc__queue(kbc.ctr);
		break;
	case 0x60: case 0xd1: case 0xd2: case 0xd3: case 0xd4:
		kbc.pending_cmd = v;
		break;
	case 0xa7:	/* disable mouse port */
	case 0xa8:	/* enable mouse port: there is none */
		break;
	case 0xa9:	/* test mouse port: "clock line stuck high", i.e. none */
		kbc__queue(0x02);
		break;
	case 0xaa:	/* self test */
		kbc__queue(0x55);
		break;
	case 0xab:	/* test keyboard port */
		kbc__queue(0x00);
		break;
	case 0xad:	/* disable keyboard */
		kbc.ctr |= CTR_KBD_DIS;
		break;
	case 0xae:	/* enable keyboard */
		kbc.ctr &= ~CTR_KBD_DIS;
		break;
	case 0xc0:	/* read input port */
		kbc__queue(0x80);
		break;
	case 0xd0:	/* read output port: reset line high, A20 on */
		kbc__queue(0x03 | (kbc.obf ? 0x10 : 0));
		break;
	case 0xfe:	/* pulse output line 0: reset */
		kbc__reset_machine();
		break;
	default:	/* 0xf0-0xff pulses of other lines, the rest: ignored */
		break;
	}
}

static void kbc__io(void *opaque, uint16_t port, bool is_write, uint8_t *data, int size)
{
	(void)opaque;
	(void)size;
	pthread_mutex_lock(&kbc.lock);
	if (port == 0x64) {
		if (is_write) {
			kbc.status_cmd = STATUS_CMD;
			kbc__command(*data);
		} else {
			*data = (kbc.obf ? STATUS_OBF : 0) | STATUS_SYS | STATUS_UNLOCKED |
				kbc.status_cmd;
		}
	} else if (is_write) {
		kbc.status_cmd = 0;
		kbc__data_write(*data);
	} else {
		*data = kbc.obuf;
		kbc.obf = false;
		/*
		 * The output buffer empties: IRQ 1 drops before the next byte
		 * raises it again, so that the (edge-triggered) 8259 sees it.
		 */
		if (kbc.irq_line) {
			kbc.irq_line = false;
			pic__set_irq(KBD_IRQ, false);
		}
	}
	kbc__update();
	pthread_mutex_unlock(&kbc.lock);
}

/* Set 1 make codes of the US layout for ASCII; 0x80 in the table: with shift. */
#define SH 0x80
static const uint8_t kbd__ascii_scancode[128] = {
	['1'] = 0x02, ['2'] = 0x03, ['3'] = 0x04, ['4'] = 0x05, ['5'] = 0x06,
	['6'] = 0x07, ['7'] = 0x08, ['8'] = 0x09, ['9'] = 0x0a, ['0'] = 0x0b,
	['-'] = 0x0c, ['='] = 0x0d, ['\b'] = 0x0e, [0x7f] = 0x0e, ['\t'] = 0x0f,
	['q'] = 0x10, ['w'] = 0x11, ['e'] = 0x12, ['r'] = 0x13, ['t'] = 0x14,
	['y'] = 0x15, ['u'] = 0x16, ['i'] = 0x17, ['o'] = 0x18, ['p'] = 0x19,
	['['] = 0x1a, [']'] = 0x1b, ['\r'] = 0x1c, ['\n'] = 0x1c,
	['a'] = 0x1e, ['s'] = 0x1f, ['d'] = 0x20, ['f'] = 0x21, ['g'] = 0x22,
	['h'] = 0x23, ['j'] = 0x24, ['k'] = 0x25, ['l'] = 0x26, [';'] = 0x27,
	['\''] = 0x28, ['`'] = 0x29, ['\\'] = 0x2b, ['z'] = 0x2c, ['x'] = 0x2d,
	['c'] = 0x2e, ['v'] = 0x2f, ['b'] = 0x30, ['n'] = 0x31, ['m'] = 0x32,
	[','] = 0x33, ['.'] = 0x34, ['/'] = 0x35, [' '] = 0x39, [0x1b] = 0x01,
	['!'] = SH | 0x02, ['@'] = SH | 0x03, ['#'] = SH | 0x04, ['$'] = SH | 0x05,
	['%'] = SH | 0x06, ['^'] = SH | 0x07, ['&'] = SH | 0x08, ['*'] = SH | 0x09,
	['('] = SH | 0x0a, [')'] = SH | 0x0b, ['_'] = SH | 0x0c, ['+'] = SH | 0x0d,
	['{'] = SH | 0x1a, ['}'] = SH | 0x1b, [':'] = SH | 0x27, ['"'] = SH | 0x28,
	['~'] = SH | 0x29, ['|'] = SH | 0x2b, ['<'] = SH | 0x33, ['>'] = SH | 0x34,
	['?'] = SH | 0x35,
};
#undef SH
#define SC_LSHIFT	0x2a
#define SC_LCTRL	0x1d
#define SC_BREAK	0x80

static void kbd__key(uint8_t code, uint8_t modifier)
{
	if (modifier)
		kbc__queue(modifier);
	kbc__queue(code);
	kbc__queue(code | SC_BREAK);
	if (modifier)
		kbc__queue(modifier | SC_BREAK);
}

void i8042__type(const uint8_t *buf, size_t len)
{
	size_t i;

	pthread_mutex_lock(&kbc.lock);
	for (i = 0; i < len && kbc.out_count + 4 <= OUT_QUEUE_SIZE; i++) {
		uint8_t c = buf[i] & 0x7f, sc;

		/* ESC [ A..D: the arrow keys (extended codes) */
		if (c == 0x1b && i + 2 < len && buf[i + 1] == '[' &&
		    buf[i + 2] >= 'A' && buf[i + 2] <= 'D') {
			static const uint8_t arrows[] = { 0x48, 0x50, 0x4d, 0x4b };

			sc = arrows[buf[i + 2] - 'A'];
			kbc__queue(0xe0);
			kbc__queue(sc);
			kbc__queue(0xe0);
			kbc__queue(sc | SC_BREAK);
			i += 2;
			continue;
		}
		if (c >= 'A' && c <= 'Z') {
			kbd__key(kbd__ascii_scancode[c - 'A' + 'a'], SC_LSHIFT);
			continue;
		}
		if (c >= 1 && c <= 26 && !kbd__ascii_scancode[c]) {
			kbd__key(kbd__ascii_scancode[c - 1 + 'a'], SC_LCTRL);
			continue;
		}
		sc = kbd__ascii_scancode[c];
		if (!sc)
			continue;
		kbd__key(sc & 0x7f, (sc & 0x80) ? SC_LSHIFT : 0);
	}
	if (kbc.kbd_enabled && !(kbc.ctr & CTR_KBD_DIS))
		kbc__update();
	pthread_mutex_unlock(&kbc.lock);
}

static const struct ioport_ops kbc__ops = { .name = "i8042", .io = kbc__io, .bytewise = true };

void i8042__init(struct vm *vm)
{
	kbc.vm = vm;
	kbc.ctr = CTR_KBD_INT | CTR_SYS | CTR_AUX_DIS | CTR_XLATE;
	kbc.kbd_enabled = true;
	ioport__register(0x60, 1, &kbc__ops, NULL);
	ioport__register(0x64, 1, &kbc__ops, NULL);
}
