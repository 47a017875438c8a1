// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite client: the ACPI fixed hardware the FADT (acpi.c) points at.
 *
 *   0x600  PM1a_EVT_BLK: status (2 bytes, write 1 to clear), enable (2 bytes)
 *   0x604  PM1a_CNT_BLK: SCI_EN always set; SLP_EN with SLP_TYP 5 (\_S5)
 *          powers the machine off
 *   0x608  PM_TMR_BLK: 32-bit counter at 3.579545 MHz on the host's clock
 *
 * No event ever fires, so the SCI (IRQ 9) stays quiet.
 */
#include <pthread.h>

#include "devices.h"
#include "../ioport.h"
#include "../vm.h"

#define PM_TIMER_HZ	3579545ULL
#define PM1_SCI_EN	0x0001
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_EN	0x2000

static struct {
	pthread_mutex_t lock;
	struct vm *vm;
	uint16_t status, enable, control;
	uint64_t start_ns;
} pm = { .lock = PTHREAD_MUTEX_INITIALIZER };

static uint32_t acpi_pm__timer(void)
{
	uint64_t ns = clock__now_ns() - pm.start_ns;

	return (uint32_t)((ns / 1000000000ULL) * PM_TIMER_HZ +
			  (ns % 1000000000ULL) * PM_TIMER_HZ / 1000000000ULL);
}

static void acpi_pm__control_write(uint16_t v)
{
	pm.control = (v & ~PM1_SLP_EN) | PM1_SCI_EN;
	if ((v & PM1_SLP_EN) && ((v >> PM1_SLP_TYP_SHIFT) & 7) == ACPI_PM_SLP_TYP_S5)
		vm__stop(pm.vm, EXIT_GUEST_DONE, "guest powered off");
}

static void acpi_pm__io(void *opaque, uint16_t port, bool is_write, uint8_t *data, int size)
{
	unsigned int off = port - ACPI_PM_BASE, i;
	uint8_t regs[12];
	uint32_t t;

	(void)opaque;
	if (off + size > sizeof(regs))
		size = sizeof(regs) - off;
	pthread_mutex_lock(&pm.lock);
	t = acpi_pm__timer();
	regs[0] = pm.status;
	regs[1] = pm.status >> 8;
	regs[2] = pm.enable;
	regs[3] = pm.enable >> 8;
	regs[4] = pm.control;
	regs[5] = pm.control >> 8;
	regs[6] = regs[7] = 0;
	regs[8] = t;
	regs[9] = t >> 8;
	regs[10] = t >> 16;
	regs[11] = t >> 24;
	if (!is_write) {
		for (i = 0; i < (unsigned int)size; i++)
			data[i] = regs[off + i];
		goto out;
	}
	for (i = 0; i < (unsigned int)size; i++)
		regs[off + i] = data[i];
	if (off < 2)
		pm.status &= ~(regs[0] | regs[1] << 8);		/* write 1 to clear */
	if (off < 4 && off + size > 2)
		pm.enable = regs[2] | regs[3] << 8;
	if (off < 6 && off + size > 4)
		acpi_pm__control_write(regs[4] | regs[5] << 8);
out:
	pthread_mutex_unlock(&pm.lock);
}

static const struct ioport_ops acpi_pm__ops = { .name = "acpi-pm", .io = acpi_pm__io };

void acpi_pm__init(struct vm *vm)
{
	pm.vm = vm;
	pm.control = PM1_SCI_EN;
	pm.start_ns = clock__now_ns();
	ioport__register(ACPI_PM_BASE, 12, &acpi_pm__ops, NULL);
}
