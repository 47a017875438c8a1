// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite client: VGA in 80x25 colour text mode, as a BIOS leaves it.
 * The text buffer is ordinary guest RAM at 0xb8000 (32 KiB); the registers
 * (0x3c0-0x3cf, 0x3d4/0x3d5, 0x3da; the monochrome 0x3b4/0x3b5/0x3ba too)
 * keep what is written so that Linux's vgacon reads back its own settings.
 * What matters for the picture is the CRTC start address (vgacon scrolls
 * by moving it) and the cursor location.
 *
 * --display vga draws the screen on the terminal with ANSI colours when it
 * changed (the event loop calls vga__render() a few times a second);
 * --vga-dump FILE writes the final screen as text at exit.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "devices.h"
#include "../ioport.h"
#include "../term.h"
#include "../vm.h"

#define VGA_TEXT_ADDR	0xb8000ULL
#define VGA_TEXT_SIZE	0x8000
#define VGA_COLS	80
#define VGA_ROWS	25
#define CRTC_CURSOR_START 0x0a
#define CRTC_START_HI	0x0c
#define CRTC_START_LO	0x0d
#define CRTC_CURSOR_HI	0x0e
#define CRTC_CURSOR_LO	0x0f

static struct {
	pthread_mutex_t lock;
	struct vm *vm;
	uint8_t crtc_index, crtc[64];
	uint8_t seq_index, seq[8];
	uint8_t gc_index, gc[16];
	uint8_t attr_index, attr[32];
	bool attr_data_next;	/* attribute controller flip-flop */
	uint8_t misc;
	uint8_t dac_write_index, dac_read_index, dac_state;
	uint8_t status_toggle;
	/* renderer */
	bool rendering;
	uint16_t shown[VGA_ROWS][VGA_COLS];
	uint16_t shown_cursor;
	bool shown_valid;
} vga = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void vga__io(void *opaque, uint16_t port, bool is_write, uint8_t *data, int size)
{
	uint8_t v = *data;

	(void)opaque;
	(void)size;
	pthread_mutex_lock(&vga.lock);
	if (!is_write)
		*data = 0xff;
	switch (port) {
	case 0x3b4: case 0x3d4:
		if (is_write)
			vga.crtc_index = v & 0x3f;
		else
			*data = vga.crtc_index;
		break;
	case 0x3b5: case 0x3d5:
		if (is_write)
			vga.crtc[vga.crtc_index] = v;
		else
			*data = vga.crtc[vga.crtc_index];
		break;
	case 0x3ba: case 0x3da:		/* input status 1: retrace bits toggle */
		if (!is_write) {
			vga.attr_data_next = false;
			vga.status_toggle ^= 0x09;
			*data = vga.status_toggle;
		}
		break;
	case 0x3c0:
		if (!is_write) {
			*data = vga.attr_index;
		} else if (!vga.attr_data_next) {
			vga.attr_index = v & 0x3f;
			vga.attr_data_next = true;
		} else {
			vga.attr[vga.attr_index & 0x1f] = v;
			vga.attr_data_next = false;
		}
		break;
	case 0x3c1:
		if (!is_write)
			*data = vga.attr[vga.attr_index & 0x1f];
		break;
	case 0x3c2:
		if (is_write)
			vga.misc = v;
		break;
	case 0x3cc:
		if (!is_write)
			*data = vga.misc;
		break;
	case 0x3c4:
		if (is_write)
			vga.seq_index = v & 7;
		else
			*data = vga.seq_index;
		break;
	case 0x3c5:
		if (is_write)
			vga.seq[vga.seq_index] = v;
		else
			*data = vga.seq[vga.seq_index];
		break;
	case 0x3c7:
		if (is_write) {
			vga.dac_read_index = v;
			vga.dac_state = 0;
		} else {
			*data = 0;	/* DAC in write mode */
		}
		break;
	case 0x3c8:
		if (is_write) {
			vga.dac_write_index = v;
			vga.dac_state = 0;
		} else {
			*data = vga.dac_write_index;
		}
		break;
	case 0x3c9:			/* palette data: not kept, reads 0 */
		if (!is_write)
			*data = 0;
		if (++vga.dac_state == 3) {
			vga.dac_state = 0;
			if (is_write)
				vga.dac_write_index++;
			else
				vga.dac_read_index++;
		}
		break;
	case 0x3ce:
		if (is_write)
			vga.gc_index = v & 0x0f;
		else
			*data = vga.gc_index;
		break;
	case 0x3cf:
		if (is_write)
			vga.gc[vga.gc_index] = v;
		else
			*data = vga.gc[vga.gc_index];
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&vga.lock);
}

/* The visible screen (char | attribute << 8 per cell) and the cursor offset. */
static void vga__snapshot(uint16_t cells[VGA_ROWS][VGA_COLS], unsigned int *cursor)
{
	const uint8_t *text = vm__gpa_to_hva(vga.vm, VGA_TEXT_ADDR, VGA_TEXT_SIZE);
	unsigned int start, r, c;

	pthread_mutex_lock(&vga.lock);
	start = (vga.crtc[CRTC_START_HI] << 8 | vga.crtc[CRTC_START_LO]);
	*cursor = (vga.crtc[CRTC_CURSOR_HI] << 8 | vga.crtc[CRTC_CURSOR_LO]);
	if (vga.crtc[CRTC_CURSOR_START] & 0x20)
		*cursor = 0xffff;	/* cursor off */
	else
		*cursor -= start;
	pthread_mutex_unlock(&vga.lock);
	for (r = 0; r < VGA_ROWS; r++)
		for (c = 0; c < VGA_COLS; c++) {
			unsigned int off = ((start + r * VGA_COLS + c) * 2) % VGA_TEXT_SIZE;

			cells[r][c] = text[off] | text[off + 1] << 8;
		}
}

/* Code page 437 to Unicode, for 0x80-0xff and the control-code glyphs. */
static const uint16_t cp437_high[128] = {
	0x00c7, 0x00fc, 0x00e9, 0x00e2, 0x00e4, 0x00e0, 0x00e5, 0x00e7,
	0x00ea, 0x00eb, 0x00e8, 0x00ef, 0x00ee, 0x00ec, 0x00c4, 0x00c5,
	0x00c9, 0x00e6, 0x00c6, 0x00f4, 0x00f6, 0x00f2, 0x00fb, 0x00f9,
	0x00ff, 0x00d6, 0x00dc, 0x00a2, 0x00a3, 0x00a5, 0x20a7, 0x0192,
	0x00e1, 0x00ed, 0x00f3, 0x00fa, 0x00f1, 0x00d1, 0x00aa, 0x00ba,
	0x00bf, 0x2310, 0x00ac, 0x00bd, 0x00bc, 0x00a1, 0x00ab, 0x00bb,
	0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556,
	0x2555, 0x2563, 0x2551, 0x2557, 0x255d, 0x255c, 0x255b, 0x2510,
	0x2514, 0x2534, 0x252c, 0x251c, 0x2500, 0x253c, 0x255e, 0x255f,
	0x255a, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256c, 0x2567,
	0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256b,
	0x256a, 0x2518, 0x250c, 0x2588, 0x2584, 0x258c, 0x2590, 0x2580,
	0x03b1, 0x00df, 0x0393, 0x03c0, 0x03a3, 0x03c3, 0x00b5, 0x03c4,
	0x03a6, 0x0398, 0x03a9, 0x03b4, 0x221e, 0x03c6, 0x03b5, 0x2229,
	0x2261, 0x00b1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00f7, 0x2248,
	0x00b0, 0x2219, 0x00b7, 0x221a, 0x207f, 0x00b2, 0x25a0, 0x00a0,
};

/* Code page 437's glyphs for 0x00-0x1f and 0x7f. */
static const uint16_t cp437_low[32] = {
	0x0020, 0x263a, 0x263b, 0x2665, 0x2666, 0x2663, 0x2660, 0x2022,
	0x25d8, 0x25cb, 0x25d9, 0x2642, 0x2640, 0x266a, 0x266b, 0x263c,
	0x25ba, 0x25c4, 0x2195, 0x203c, 0x00b6, 0x00a7, 0x25ac, 0x21a8,
	0x2191, 0x2193, 0x2192, 0x2190, 0x221f, 0x2194, 0x25b2, 0x25bc,
};

/* One cell's character as UTF-8 into OUT; returns its length. */
static int vga__utf8(uint8_t ch, char *out)
{
	uint16_t u;

	if (ch >= 0x20 && ch < 0x7f) {
		out[0] = ch;
		return 1;
	}
	if (ch < 0x20)
		u = cp437_low[ch];
	else if (ch == 0x7f)
		u = 0x2302;
	else
		u = cp437_high[ch - 0x80];
	if (u < 0x80) {
		out[0] = u;
		return 1;
	}
	if (u < 0x800) {
		out[0] = 0xc0 | (u >> 6);
		out[1] = 0x80 | (u & 0x3f);
		return 2;
	}
	out[0] = 0xe0 | (u >> 12);
	out[1] = 0x80 | ((u >> 6) & 0x3f);
	out[2] = 0x80 | (u & 0x3f);
	return 3;
}

void vga__render(bool force)
{
	/* VGA colour index to ANSI colour number */
	static const uint8_t ansi[8] = { 0, 4, 2, 6, 1, 5, 3, 7 };
	uint16_t cells[VGA_ROWS][VGA_COLS];
	static char buf[VGA_ROWS * VGA_COLS * 24 + 256];
	unsigned int cursor, r, c;
	int n = 0, last_attr = -1;

	vga__snapshot(cells, &cursor);
	if (!force && vga.shown_valid && cursor == vga.shown_cursor &&
	    !memcmp(cells, vga.shown, sizeof(cells)))
		return;
	memcpy(vga.shown, cells, sizeof(cells));
	vga.shown_cursor = cursor;
	vga.shown_valid = true;
	if (!vga.rendering) {
		vga.rendering = true;
		n += sprintf(buf + n, "\033[?1049h");	/* alternate screen */
	}
	n += sprintf(buf + n, "\033[?25l\033[H");
	for (r = 0; r < VGA_ROWS; r++) {
		for (c = 0; c < VGA_COLS; c++) {
			uint8_t ch = cells[r][c] & 0xff, attr = cells[r][c] >> 8;

			if (attr != last_attr) {
				n += sprintf(buf + n, "\033[0;%s3%u;4%um",
					     (attr & 0x08) ? "1;" : "", ansi[attr & 7],
					     ansi[(attr >> 4) & 7]);
				last_attr = attr;
			}
			n += vga__utf8(ch, buf + n);
		}
		n += sprintf(buf + n, "\033[0m\033[K%s", r + 1 < VGA_ROWS ? "\r\n" : "");
		last_attr = -1;
	}
	if (cursor < VGA_ROWS * VGA_COLS)
		n += sprintf(buf + n, "\033[%u;%uH\033[?25h", cursor / VGA_COLS + 1,
			     cursor % VGA_COLS + 1);
	term__write(buf, n);
}

void vga__render_end(void)
{
	static const char restore[] = "\033[0m\033[?25h\033[?1049l";

	if (!vga.rendering)
		return;
	vga.rendering = false;
	term__write(restore, sizeof(restore) - 1);
}

bool vga__dump(const char *path)
{
	uint16_t cells[VGA_ROWS][VGA_COLS];
	unsigned int cursor, r, c;
	FILE *f = fopen(path, "w");

	if (!f)
		return false;
	vga__snapshot(cells, &cursor);
	for (r = 0; r < VGA_ROWS; r++) {
		char line[VGA_COLS * 3 + 1];
		int n = 0, end = 0;

		for (c = 0; c < VGA_COLS; c++) {
			n += vga__utf8(cells[r][c] & 0xff, line + n);
			if ((cells[r][c] & 0xff) != ' ' && (cells[r][c] & 0xff) != 0)
				end = n;
		}
		fprintf(f, "%.*s\n", end, line);
	}
	return fclose(f) == 0;
}

static const struct ioport_ops vga__ops = { .name = "vga", .io = vga__io, .bytewise = true };

void vga__init(struct vm *vm)
{
	uint16_t *text = vm__gpa_to_hva(vm, VGA_TEXT_ADDR, VGA_TEXT_SIZE);
	unsigned int i;

	vga.vm = vm;
	vga.misc = 0x67;		/* colour, I/O at 0x3dx */
	vga.crtc[CRTC_CURSOR_START] = 0x0d;
	vga.crtc[0x0b] = 0x0e;
	vga.crtc[0x09] = 0x0f;		/* 16 scan lines per character */
	for (i = 0; i < VGA_TEXT_SIZE / 2; i++)
		text[i] = 0x0720;	/* blank, light grey on black */
	ioport__register(0x3b4, 2, &vga__ops, NULL);
	ioport__register(0x3ba, 1, &vga__ops, NULL);
	ioport__register(0x3c0, 16, &vga__ops, NULL);
	ioport__register(0x3d4, 2, &vga__ops, NULL);
	ioport__register(0x3da, 1, &vga__ops, NULL);
}
