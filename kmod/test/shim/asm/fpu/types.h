/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SHIM_ASM_FPU_TYPES_H
#define SHIM_ASM_FPU_TYPES_H
struct fpu_guest { int unused; };
#endif
