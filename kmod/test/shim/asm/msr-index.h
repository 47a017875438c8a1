/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SHIM_ASM_MSR_INDEX_H
#define SHIM_ASM_MSR_INDEX_H
#define EFER_SCE	(1 << 0)
#define EFER_LME	(1 << 8)
#define EFER_LMA	(1 << 10)
#define EFER_NX		(1 << 11)
#endif
