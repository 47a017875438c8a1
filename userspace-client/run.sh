#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# make run: boot a Linux guest with the kvmlite client on /dev/kvmlite.
#
#  * On a host with AMD-V (SVM + NPT), as root: build kvmlite.ko for the
#    running kernel, load it, and boot the host's own kernel with a bundled
#    busybox initramfs.
#  * Anywhere else: the same inside an emulated AMD host (QEMU TCG, EPYC with
#    SVM), with the terminal connected straight to the nested guest's shell.
#
# With a terminal the guest gives a shell (Ctrl-A x quits, 'poweroff' ends
# it); without one it prints a short demo (uname -a, CPU model, memory) and
# powers off.  The exit status is the client's (0 when the guest powered off).
#
# Environment: RUN_EMULATED=1 forces the emulated host; RUN_MEM=512M guest
# memory; KVER=... the Debian kernel of the emulated host (default: newest
# 6.1); RUN_TIMEOUT=600 seconds the emulated host may run without a terminal.

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/.." && pwd)
OUT="$TOP/rig/out/run"
RUN_MEM=${RUN_MEM:-512M}
RUN_TIMEOUT=${RUN_TIMEOUT:-600}
KVER=${KVER:-}
STATUS_PORT=0xf4	# the emulated host's isa-debug-exit port

say() { printf 'make run: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

interactive=0
[ -t 0 ] && [ -t 1 ] && interactive=1

# ensure_packages PKG...: install what is missing (apt only runs then).
ensure_packages() {
	local missing=() p try
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "missing packages ${missing[*]}: run as root (apt-get)"
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	for try in 1 2; do
		apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" &&
			return 0
		sleep 5
	done
	die "could not install ${missing[*]}"
}

build_client() {
	mkdir -p "$OUT"
	make -s -C "$HERE" || die "the client did not build"
	sh "$HERE/guest/mkinitramfs.sh" "$OUT/guest.cpio.gz" || die "could not build the guest initramfs"
}

# The guest's command line: a shell sized like this terminal, or the demo.
guest_cmdline() {
	local rows cols
	if [ $interactive -eq 1 ]; then
		read -r rows cols < <(stty size 2>/dev/null) || true
		echo "console=ttyS0 quiet${rows:+ kvmlite.rows=$rows kvmlite.cols=$cols}"
	else
		echo "console=ttyS0 quiet kvmlite.mode=demo"
	fi
}

# ------------------------------------------------------------ on hardware

# AMD-V with nested paging (the SVM backend) or VT-x with EPT (the VMX one).
host_has_hw_virt() {
	{ { grep -qw svm /proc/cpuinfo && grep -qw npt /proc/cpuinfo; } ||
	  { grep -qw vmx /proc/cpuinfo && grep -qw ept /proc/cpuinfo; }; } && [ "$(id -u)" -eq 0 ] &&
		[ -f "/boot/vmlinuz-$(uname -r)" ] && [ -z "${RUN_EMULATED:-}" ]
}

run_native() {
	local ver loaded=0 rc
	ver=$(uname -r)
	ensure_packages busybox-static cpio gcc make libc6-dev "linux-headers-$ver"
	build_client
	if ! grep -q '^kvmlite ' /proc/modules; then
		make -s -C "$TOP" module KDIR="/lib/modules/$ver/build" >"$OUT/build-module.log" 2>&1 ||
			{ say "kvmlite.ko did not build for $ver (rig/out/run/build-module.log)"; return 200; }
		insmod "$TOP/kvmlite.ko" || { say "insmod kvmlite.ko failed (see dmesg)"; return 200; }
		loaded=1
	fi
	say "booting $ver with the kvmlite client on /dev/kvmlite"
	"$HERE/build/kvmlite" run -k "/boot/vmlinuz-$ver" -i "$OUT/guest.cpio.gz" -m "$RUN_MEM" \
		-p "$(guest_cmdline)" --dev /dev/kvmlite
	rc=$?
	[ $loaded -eq 1 ] && rmmod kvmlite
	return $rc
}

# ------------------------------------------------------- in an emulated host

find_kver() {
	local d v
	[ -n "$KVER" ] && return 0
	for d in /lib/modules/6.1.*-amd64; do
		v=${d#/lib/modules/}
		[ -d "$d/build" ] && [ -f "/boot/vmlinuz-$v" ] || continue
		KVER=$(printf '%s\n%s\n' "$KVER" "$v" | sed '/^$/d' | sort -V | tail -n 1)
	done
	[ -n "$KVER" ] || die "no Debian 6.1 kernel with headers and image"
}

# The emulated host's /init: load kvmlite, run the client on the console,
# report its status through isa-debug-exit, power off.
write_host_init() {
	cat >"$1" <<'EOF_INIT'
#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
report() {
	printf "\\$(printf %o "$1")" | dd of=/dev/port bs=1 seek=244 2>/dev/null
	poweroff -f
}
cmdline=$(cat /run-cmdline)
for arg in $(cat /proc/cmdline); do
	case $arg in
	kvmlite.rows=*|kvmlite.cols=*) cmdline="$cmdline $arg" ;;
	esac
done
exec </dev/console >/dev/console 2>&1
if ! insmod /kvmlite.ko; then
	echo "make run: insmod kvmlite.ko failed in the emulated host:"
	dmesg | tail -n 5
	report 1
fi
i=0
while [ ! -c /dev/kvmlite ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
/kvmlite run -k /vmlinuz -i /guest.cpio.gz -m "$(cat /run-mem)" -p "$cmdline" --dev /dev/kvmlite
report $?
EOF_INIT
	chmod 755 "$1"
}

run_emulated() {
	local root="$OUT/host-root" rc l qemu_serial
	ensure_packages qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static cpio \
		gcc make libc6-dev
	find_kver
	build_client
	say "building kvmlite.ko for the emulated host ($KVER)"
	make -s -C "$TOP" module KDIR="/lib/modules/$KVER/build" >"$OUT/build-module.log" 2>&1 ||
		die "kvmlite.ko did not build (rig/out/run/build-module.log)"

	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp}
	cp /bin/busybox "$root/bin/busybox"
	/bin/busybox --list-full | while read -r l; do
		[ -e "$root/$l" ] || ln -s /bin/busybox "$root/$l"
	done
	cp "$TOP/kvmlite.ko" "$HERE/build/kvmlite" "$OUT/guest.cpio.gz" "$root/"
	cp "/boot/vmlinuz-$KVER" "$root/vmlinuz"
	guest_cmdline >"$root/run-cmdline"
	echo "$RUN_MEM" >"$root/run-mem"
	write_host_init "$root/init"
	(cd "$root" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) >"$OUT/host.cpio" ||
		die "could not build the emulated host's initramfs"

	local append="console=ttyS0 quiet loglevel=0 panic=-1"
	if [ $interactive -eq 1 ]; then
		local rows cols
		read -r rows cols < <(stty size 2>/dev/null) || true
		append="$append${rows:+ kvmlite.rows=$rows kvmlite.cols=$cols}"
		say "no AMD-V here: booting an emulated AMD host (QEMU TCG), then $KVER in it on"
		say "/dev/kvmlite; the shell comes in about a minute.  Ctrl-A x quits."
		qemu_serial=(-chardev stdio,id=term,signal=off,mux=off -serial chardev:term)
		qemu-system-x86_64 -M q35 -cpu EPYC,+svm -m 2G -smp 2 -display none -monitor none \
			-no-reboot -nic none "${qemu_serial[@]}" \
			-device isa-debug-exit,iobase=$STATUS_PORT,iosize=1 \
			-kernel "/boot/vmlinuz-$KVER" -initrd "$OUT/host.cpio" -append "$append" \
			2>"$OUT/qemu.err"
		rc=$?
	else
		say "no AMD-V here: booting an emulated AMD host (QEMU TCG), then $KVER in it"
		say "on /dev/kvmlite with the demo (about a minute)"
		timeout -k 10 "$RUN_TIMEOUT" qemu-system-x86_64 -M q35 -cpu EPYC,+svm -m 2G -smp 2 \
			-nographic -no-reboot -nic none \
			-device isa-debug-exit,iobase=$STATUS_PORT,iosize=1 \
			-kernel "/boot/vmlinuz-$KVER" -initrd "$OUT/host.cpio" -append "$append" \
			</dev/null 2>"$OUT/qemu.err" | sed -u -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g'
		rc=${PIPESTATUS[0]}
	fi
	# isa-debug-exit: QEMU exits with (value << 1) | 1
	if [ $((rc & 1)) -eq 1 ] && [ "$rc" -lt 256 ]; then
		return $((rc >> 1))
	fi
	say "the emulated host ended without the client's status (QEMU status $rc, rig/out/run/qemu.err)"
	return 1
}

if host_has_hw_virt; then
	run_native
	rc=$?
	[ $rc -ne 200 ] && exit $rc
	say "falling back to the emulated host"
fi
run_emulated
