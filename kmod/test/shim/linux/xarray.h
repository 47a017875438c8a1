/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SHIM_LINUX_XARRAY_H
#define SHIM_LINUX_XARRAY_H
struct xarray { int unused; };
#endif
