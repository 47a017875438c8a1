#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run the kvmlite selftests against a device:
#
#	run_tests.sh [DEVICE]		(default /dev/kvmlite)
#	TESTS="vcpu_ioctls pio" run_tests.sh /dev/kvm
#
# Each test program prints TAP, preceded here by "# selftest: NAME".  The
# binaries are looked up in build/ beside this script, else beside it.
# POSIX sh: it runs under busybox sh in the test VM.

# One test per line: add yours on a line of its own.
ALL_TESTS="
system_ioctls
vcpu_ioctls
guest_modes
pio
mmio
exits
interrupts
memslots
signals
concurrency
malformed
cpuid_msr
host
"

DEV=${1:-/dev/kvmlite}
HERE=$(dirname "$0")
TESTS=${TESTS:-$ALL_TESTS}

TIMEOUT=
if command -v timeout >/dev/null 2>&1; then
	TIMEOUT="timeout 120"
fi

pass=0
fail=0
skip=0
for t in $TESTS; do
	echo "# selftest: $t"
	bin=$HERE/build/$t
	[ -x "$bin" ] || bin=$HERE/$t
	if [ ! -x "$bin" ]; then
		echo "# $t: no such test program"
		fail=$((fail + 1))
		continue
	fi
	$TIMEOUT "$bin" "$DEV"
	rc=$?
	case $rc in
	0) pass=$((pass + 1)) ;;
	4) skip=$((skip + 1)) ;;
	124) echo "# $t: timed out"; fail=$((fail + 1)) ;;
	*) echo "# $t: exit code $rc"; fail=$((fail + 1)) ;;
	esac
done
echo "selftests: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
