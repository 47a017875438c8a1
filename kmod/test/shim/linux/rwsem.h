/* SPDX-License-Identifier: GPL-2.0 */
#ifndef SHIM_LINUX_RWSEM_H
#define SHIM_LINUX_RWSEM_H
struct rw_semaphore { int unused; };
#endif
