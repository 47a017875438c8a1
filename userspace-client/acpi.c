// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite client: the smallest ACPI tables that let an unmodified Linux
 * power the machine off.  The FADT points at the PM1a event and control
 * blocks and the PM timer of hw/acpi_pm.c; the DSDT holds nothing but the
 * \_S5 sleep type, which Linux writes with SLP_EN to PM1a_CNT to power off.
 * There is no MADT (no local APIC, no IOAPIC): Linux runs on the 8259.
 *
 *   RSDP (ACPI 1.0) -> RSDT -> FADT (revision 3) -> FACS, DSDT
 */
#include <string.h>

#include "boot.h"
#include "hw/devices.h"

#define ACPI_OEM_ID		"KVMLTE"
#define ACPI_OEM_TABLE_ID	"KVMLITE "
#define ACPI_SCI_IRQ		9

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

struct acpi_gas {		/* Generic Address Structure */
	uint8_t space_id;	/* 1: system I/O */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum;
	char oem_id[6];
	uint8_t revision;	/* 0: ACPI 1.0, RSDT only */
	uint32_t rsdt_address;
} __attribute__((packed));

struct acpi_rsdt {
	struct acpi_header h;
	uint32_t entry[1];
} __attribute__((packed));

struct acpi_fadt {
	struct acpi_header h;
	uint32_t facs;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint8_t reserved2[3];
	uint64_t x_facs;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
} __attribute__((packed));

struct acpi_facs {
	char signature[4];
	uint32_t length;
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version;
	uint8_t reserved[3];
	uint32_t ospm_flags;
	uint8_t reserved2[24];
} __attribute__((packed));

#define FADT_WBINVD		(1U << 0)
#define FADT_PROC_C1		(1U << 2)
#define FADT_PWR_BUTTON		(1U << 4)	/* no fixed power button */
#define FADT_SLP_BUTTON		(1U << 5)	/* no fixed sleep button */
#define FADT_TMR_VAL_EXT	(1U << 8)	/* 32-bit PM timer */
#define BOOT_ARCH_LEGACY_DEVICES (1U << 0)
#define BOOT_ARCH_8042		(1U << 1)

/*
 * DSDT body: Name (_S5, Package (4) { 5, 5, 0, 0 }).  SLP_TYP 5 is what
 * hw/acpi_pm.c takes as "power off".
 */
static const uint8_t acpi__dsdt_aml[] = {
	0x08, '_', 'S', '5', '_',		/* NameOp "_S5_" */
	0x12, 0x08, 0x04,			/* PackageOp, PkgLength 8, 4 elements */
	0x0a, ACPI_PM_SLP_TYP_S5,		/* BytePrefix 5: SLP_TYPa */
	0x0a, ACPI_PM_SLP_TYP_S5,		/* BytePrefix 5: SLP_TYPb */
	0x00, 0x00,				/* Zero, Zero */
};

static uint8_t acpi__checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

static void acpi__header(struct acpi_header *h, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, "KVML", 4);
	h->creator_revision = 1;
	h->checksum = 0;
	h->checksum = acpi__checksum(h, len);
}

static struct acpi_gas acpi__gas_io(uint16_t port, uint8_t bits)
{
	return (struct acpi_gas){ .space_id = 1, .bit_width = bits, .address = port };
}

uint64_t acpi__build_tables(struct vm *vm, uint64_t gpa, uint64_t size)
{
	const uint64_t rsdp_at = gpa, rsdt_at = gpa + 0x40, fadt_at = gpa + 0x80,
		       facs_at = gpa + 0x180, dsdt_at = gpa + 0x200;
	uint8_t *base = vm__gpa_to_hva(vm, gpa, size);
	struct acpi_rsdp *rsdp = (void *)(base + (rsdp_at - gpa));
	struct acpi_rsdt *rsdt = (void *)(base + (rsdt_at - gpa));
	struct acpi_fadt *fadt = (void *)(base + (fadt_at - gpa));
	struct acpi_facs *facs = (void *)(base + (facs_at - gpa));
	struct acpi_header *dsdt = (void *)(base + (dsdt_at - gpa));

	_Static_assert(sizeof(struct acpi_fadt) == 244, "FADT revision 3 is 244 bytes");
	_Static_assert(sizeof(struct acpi_facs) == 64, "FACS is 64 bytes");
	memset(base, 0, size);

	memcpy(facs->signature, "FACS", 4);
	facs->length = sizeof(*facs);
	facs->version = 1;

	memcpy((uint8_t *)(dsdt + 1), acpi__dsdt_aml, sizeof(acpi__dsdt_aml));
	acpi__header(dsdt, "DSDT", sizeof(*dsdt) + sizeof(acpi__dsdt_aml), 2);

	fadt->facs = (uint32_t)facs_at;
	fadt->dsdt = (uint32_t)dsdt_at;
	fadt->x_facs = facs_at;
	fadt->x_dsdt = dsdt_at;
	fadt->sci_int = ACPI_SCI_IRQ;
	fadt->smi_cmd = 0;		/* always in ACPI mode */
	fadt->pm1a_evt_blk = ACPI_PM1A_EVT_PORT;
	fadt->pm1a_cnt_blk = ACPI_PM1A_CNT_PORT;
	fadt->pm_tmr_blk = ACPI_PM_TMR_PORT;
	fadt->pm1_evt_len = 4;
	fadt->pm1_cnt_len = 2;
	fadt->pm_tmr_len = 4;
	fadt->x_pm1a_evt_blk = acpi__gas_io(ACPI_PM1A_EVT_PORT, 32);
	fadt->x_pm1a_cnt_blk = acpi__gas_io(ACPI_PM1A_CNT_PORT, 16);
	fadt->x_pm_tmr_blk = acpi__gas_io(ACPI_PM_TMR_PORT, 32);
	fadt->p_lvl2_lat = 101;		/* no C2 */
	fadt->p_lvl3_lat = 1001;	/* no C3 */
	fadt->century = 0x32;		/* CMOS century register (hw/rtc.c) */
	fadt->iapc_boot_arch = BOOT_ARCH_LEGACY_DEVICES | BOOT_ARCH_8042;
	fadt->flags = FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON | FADT_SLP_BUTTON |
		      FADT_TMR_VAL_EXT;
	acpi__header(&fadt->h, "FACP", sizeof(*fadt), 3);

	rsdt->entry[0] = (uint32_t)fadt_at;
	acpi__header(&rsdt->h, "RSDT", sizeof(*rsdt), 1);

	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, ACPI_OEM_ID, 6);
	rsdp->revision = 0;
	rsdp->rsdt_address = (uint32_t)rsdt_at;
	rsdp->checksum = acpi__checksum(rsdp, sizeof(*rsdp));
	return rsdp_at;
}
