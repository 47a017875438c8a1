/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kvmlite: only what kvmlite adds to the KVM ioctl ABI of <linux/kvm.h>.
 */
#ifndef _UAPI_KVMLITE_H
#define _UAPI_KVMLITE_H

/* The misc device kvmlite registers; it speaks the ioctls of /dev/kvm. */
#define KVMLITE_DEVICE_NAME	"kvmlite"
#define KVMLITE_DEVICE_PATH	"/dev/kvmlite"

/*
 * KVM_CHECK_EXTENSION(KVM_CAP_KVMLITE) returns KVMLITE_ABI_VERSION on
 * kvmlite and 0 on KVM: the way a client tells the two apart.
 */
#define KVM_CAP_KVMLITE		0x4b4c00
#define KVMLITE_ABI_VERSION	1

#endif /* _UAPI_KVMLITE_H */
