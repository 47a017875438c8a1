// SPDX-License-Identifier: GPL-2.0
/*
 * kvmlite client: the MC146818 CMOS RTC (index 0x70, data 0x71).  The clock
 * registers read the host's time in UTC, in BCD or binary and 24 or 12 hour
 * form as register B asks; a guest that sets the clock moves an offset kept
 * here, not the host's clock.  No update-in-progress window, no periodic,
 * alarm or update interrupts (IRQ 8 never fires).  The rest of the 128 bytes
 * is CMOS memory, with the memory-size bytes a BIOS would leave.
 */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "devices.h"
#include "../ioport.h"
#include "../vm.h"

#define RTC_SECONDS	0x00
#define RTC_MINUTES	0x02
#define RTC_HOURS	0x04
#define RTC_DAY_OF_WEEK	0x06
#define RTC_DAY		0x07
#define RTC_MONTH	0x08
#define RTC_YEAR	0x09
#define RTC_REG_A	0x0a
#define RTC_REG_B	0x0b
#define RTC_REG_C	0x0c
#define RTC_REG_D	0x0d
#define RTC_CENTURY	0x32
#define REG_B_24H	0x02
#define REG_B_BINARY	0x04
#define REG_B_SET	0x80

static struct {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t cmos[128];
	time_t offset;		/* guest time - host time, from guest writes */
} rtc = { .lock = PTHREAD_MUTEX_INITIALIZER };

static uint8_t rtc__encode(int v)
{
	if (rtc.cmos[RTC_REG_B] & REG_B_BINARY)
		return v;
	return (v / 10) << 4 | (v % 10);
}

static int rtc__decode(uint8_t v)
{
	if (rtc.cmos[RTC_REG_B] & REG_B_BINARY)
		return v;
	return (v >> 4) * 10 + (v & 0xf);
}

static uint8_t rtc__hours(int h)
{
	uint8_t pm = 0;

	if (rtc.cmos[RTC_REG_B] & REG_B_24H)
		return rtc__encode(h);
	if (h >= 12)
		pm = 0x80;
	h %= 12;
	return rtc__encode(h ? h : 12) | pm;
}

static uint8_t rtc__read_clock(uint8_t reg)
{
	time_t now = time(NULL) + rtc.offset;
	struct tm tm;

	gmtime_r(&now, &tm);
	switch (reg) {
	case RTC_SECONDS:
		return rtc__encode(tm.tm_sec);
	case RTC_MINUTES:
		return rtc__encode(tm.tm_min);
	case RTC_HOURS:
		return rtc__hours(tm.tm_hour);
	case RTC_DAY_OF_WEEK:
		return rtc__encode(tm.tm_wday + 1);
	case RTC_DAY:
		return rtc__encode(tm.tm_mday);
	case RTC_MONTH:
		return rtc__encode(tm.tm_mon + 1);
	case RTC_YEAR:
		return rtc__encode(tm.tm_year % 100);
	default:		/* RTC_CENTURY */
		return rtc__encode((tm.tm_year + 1900) / 100);
	}
}

/* The guest wrote a clock register: move the offset by the difference. */
static void rtc__write_clock(uint8_t reg, uint8_t v)
{
	time_t now = time(NULL) + rtc.offset, then;
	struct tm tm;
	int hour;

	gmtime_r(&now, &tm);
	switch (reg) {
	case RTC_SECONDS:
		tm.tm_sec = rtc__decode(v);
		break;
	case RTC_MINUTES:
		tm.tm_min = rtc__decode(v);
		break;
	case RTC_HOURS:
		hour = rtc__decode(v & 0x7f);
		if (!(rtc.cmos[RTC_REG_B] & REG_B_24H))
			hour = hour % 12 + ((v & 0x80) ? 12 : 0);
		tm.tm_hour = hour;
		break;
	case RTC_DAY:
		tm.tm_mday = rtc__decode(v);
		break;
	case RTC_MONTH:
		tm.tm_mon = rtc__decode(v) - 1;
		break;
	case RTC_YEAR:
		tm.tm_year = (tm.tm_year + 1900) / 100 * 100 + rtc__decode(v) - 1900;
		break;
	case RTC_CENTURY:
		tm.tm_year = rtc__decode(v) * 100 + tm.tm_year % 100 - 1900;
		break;
	default:		/* day of week follows the date */
		return;
	}
	then = timegm(&tm);
	if (then != (time_t)-1)
		rtc.offset += then - now;
}

static bool rtc__is_clock(uint8_t reg)
{
	return reg == RTC_SECONDS || reg == RTC_MINUTES || reg == RTC_HOURS ||
	       reg == RTC_DAY_OF_WEEK || reg == RTC_DAY || reg == RTC_MONTH ||
	       reg == RTC_YEAR || reg == RTC_CENTURY;
}

static void rtc__io(void *opaque, uint16_t port, bool is_write, uint8_t *data, int size)
{
	(void)opaque;
	(void)size;
	pthread_mutex_lock(&rtc.lock);
	if (port == 0x70) {
		if (is_write)
			rtc.index = *data & 0x7f;	/* bit 7: NMI mask, no NMIs here */
		else
			*data = 0xff;
		goto out;
	}
	if (is_write) {
		if (rtc__is_clock(rtc.index))
			rtc__write_clock(rtc.index, *data);
		else if (rtc.index == RTC_REG_A)
			rtc.cmos[RTC_REG_A] = *data & 0x7f;	/* UIP is read-only */
		else if (rtc.index != RTC_REG_C && rtc.index != RTC_REG_D)
			rtc.cmos[rtc.index] = *data;
		goto out;
	}
	if (rtc__is_clock(rtc.index))
		*data = rtc__read_clock(rtc.index);
	else if (rtc.index == RTC_REG_C)
		*data = 0;		/* no interrupt flags */
	else
		*data = rtc.cmos[rtc.index];
out:
	pthread_mutex_unlock(&rtc.lock);
}

static const struct ioport_ops rtc__ops = { .name = "rtc", .io = rtc__io, .bytewise = true };

void rtc__init(struct vm *vm, uint64_t ram_size)
{
	uint64_t ext_k, above16m;

	(void)vm;
	memset(rtc.cmos, 0, sizeof(rtc.cmos));
	rtc.cmos[RTC_REG_A] = 0x26;		/* 32.768 kHz, 1024 Hz rate */
	rtc.cmos[RTC_REG_B] = REG_B_24H;	/* BCD, 24 hour */
	rtc.cmos[RTC_REG_D] = 0x80;		/* battery good */
	/* Base, extended (1-64 MiB) and above-16 MiB memory sizes, as a BIOS sets them. */
	rtc.cmos[0x15] = 640 & 0xff;
	rtc.cmos[0x16] = 640 >> 8;
	ext_k = ram_size > MiB ? (ram_size - MiB) / KiB : 0;
	if (ext_k > 0xfc00)
		ext_k = 0xfc00;
	rtc.cmos[0x17] = rtc.cmos[0x30] = ext_k & 0xff;
	rtc.cmos[0x18] = rtc.cmos[0x31] = ext_k >> 8;
	above16m = ram_size > 16 * MiB ? (ram_size - 16 * MiB) / (64 * KiB) : 0;
	if (above16m > 0xffff)
		above16m = 0xffff;
	rtc.cmos[0x34] = above16m & 0xff;
	rtc.cmos[0x35] = above16m >> 8;
	ioport__register(0x70, 2, &rtc__ops, NULL);
}
