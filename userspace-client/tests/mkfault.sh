#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# tests/mkfault.sh OUT: a 2 KiB "kernel" with a valid boot protocol header
# (2.15, 64-bit entry) whose startup_64 is a UD2 with no IDT: #UD, #DF, then
# a triple fault.  The client must end with status 2 and a register dump.
set -eu
img=$1
head -c 2048 /dev/zero >"$img"
put() { printf "$2" | dd of="$img" bs=1 seek=$(($1)) conv=notrunc 2>/dev/null; }
put 0x1f1 '\001'			# setup_sects: 1
put 0x1fe '\125\252'			# boot_flag 0xaa55
put 0x201 '\146'			# header runs to 0x268
put 0x202 'HdrS'
put 0x206 '\017\002'			# version 2.15
put 0x211 '\001'			# loadflags: LOADED_HIGH
put 0x236 '\001\000'			# xloadflags: XLF_KERNEL_64
put 0x258 '\000\000\020\000'		# pref_address 1 MiB
put 0x260 '\000\000\001\000'		# init_size 64 KiB
put 0x600 '\017\013'			# startup_64 (0x400 + 0x200): ud2
