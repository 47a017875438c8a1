/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvmlite client: the legacy PC devices, one file each in hw/.  Each
 * *__init() registers its port ranges with ioport.c.  Devices are touched by
 * the vCPU thread (port I/O) and by the event loop (timers, input), so each
 * has its own lock; a device may call into the 8259 (pic__set_irq) with its
 * lock held, never the other way round.
 */
#ifndef KVMLITE_CLIENT_HW_DEVICES_H
#define KVMLITE_CLIENT_HW_DEVICES_H

#include "../util.h"

struct vm;

/* hw/serial8250.c: COM1 at 0x3f8, IRQ 4. */
void serial8250__init(struct vm *vm, bool show_output);
/* Bytes from the terminal; returns how many the receiver took. */
size_t serial8250__receive(const uint8_t *buf, size_t len);
/* Room in the receive FIFO. */
size_t serial8250__rx_room(void);
/* Called (from the vCPU thread) when room appears again after being full. */
extern void (*serial8250__on_rx_room)(void);
void serial8250__describe(char *buf, size_t len);

/* hw/pit8254.c: ports 0x40-0x43 and 0x61; channel 0 is IRQ 0. */
void pit8254__init(struct vm *vm);
/* The timerfd the event loop polls for channel 0. */
int pit8254__timer_fd(void);
void pit8254__timer_expired(void);
void pit8254__describe(char *buf, size_t len);

/* hw/rtc.c: CMOS RTC at 0x70/0x71 with the host's time (UTC). */
void rtc__init(struct vm *vm, uint64_t ram_size);

/* hw/i8042.c: keyboard controller at 0x60/0x64: probe, keyboard, reset line. */
void i8042__init(struct vm *vm);
/* Type terminal bytes on the PS/2 keyboard (with --display vga). */
void i8042__type(const uint8_t *buf, size_t len);

/* hw/pci.c: configuration ports 0xcf8/0xcfc (no devices), reset port 0xcf9. */
void pci__init(struct vm *vm);

/* hw/port80.c: the POST/delay port 0x80. */
void port80__init(struct vm *vm);

/* hw/acpi_pm.c: PM1a event/control blocks and the PM timer (see acpi.c). */
#define ACPI_PM_BASE		0x600
#define ACPI_PM1A_EVT_PORT	0x600	/* 4 bytes: status, enable */
#define ACPI_PM1A_CNT_PORT	0x604	/* 2 bytes */
#define ACPI_PM_TMR_PORT	0x608	/* 4 bytes */
#define ACPI_PM_SLP_TYP_S5	5
void acpi_pm__init(struct vm *vm);

/* hw/vga.c: VGA text mode: registers, the terminal renderer and the dump. */
void vga__init(struct vm *vm);
/* Draw the text screen on the terminal if it changed (event loop timer). */
void vga__render(bool force);
/* Leave the terminal as it was before the first vga__render(). */
void vga__render_end(void);
/* Write the text screen to PATH, one line per row; false on error. */
bool vga__dump(const char *path);

#endif
