#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# kvmlite benchmarks, side by side with KVM (make bench, make bench-vmx).
#
# Usage:
#   bench/run.sh [svm]     QEMU TCG emulating an AMD EPYC with SVM+NPT, with
#                          -icount shift=0,sleep=off: guest time counts
#                          instructions (1 ns each), so the figures repeat
#                          exactly.  In one boot: kvmlite.ko, the benchmarks
#                          on /dev/kvmlite, rmmod; Debian's kvm-amd, the same
#                          benchmarks on /dev/kvm.
#   bench/run.sh vmx       the same in the Bochs VMX rig (Intel, kvm-intel),
#                          once rig/check.sh has it; until then it says so
#                          and exits 1.
#   HOST=1 bench/run.sh    the same programs directly on this machine (root,
#                          VT-x or AMD-V): kvmlite.ko for the running kernel,
#                          then /dev/kvm (kvm_amd/kvm_intel loaded if needed).
#   bench/run.sh --report FILE.raw NAME
#                          only turn a saved raw result file into the table,
#                          bench/results/NAME.json and NAME.png.
#
# Environment:
#   REPEAT=2           boot the rig this many times and check that every
#                      figure is the same each time (exit 1 if not)
#   BENCH_TIMEOUT=3600 seconds one rig boot may take (host side)
#   KVER=...           Debian kernel to build for and boot (default: newest
#                      6.1 one with headers and image, as rig/check.sh)
#   KVMBENCH_SCALE=N   iteration counts times N (HOST=1: default 20)
#   BENCH_REV=REV      build kvmlite.ko and the client from git revision REV
#                      (git archive into bench/out/src-REV) instead of the
#                      working tree, e.g. BENCH_REV=HEAD while the tree holds
#                      someone's unfinished work
#   BENCH_MODULE=FILE  load this prebuilt kvmlite.ko instead of building one
#   BENCH_OUT=DIR      work files there instead of bench/out
#
# Output: the table on the terminal; bench/results/<rig>.json, <rig>.png
# (bar chart of the kvmlite/KVM ratios) and <rig>.txt (the table); the raw
# figures and the serial log in bench/out/.  Exit status 0 when every
# benchmark produced its figures on both devices (whatever the ratios).

set -uo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$BENCH_DIR/.." && pwd)
OUT=${BENCH_OUT:-$BENCH_DIR/out}
RESULTS="$BENCH_DIR/results"

HOST=${HOST:-0}
REPEAT=${REPEAT:-1}
BENCH_TIMEOUT=${BENCH_TIMEOUT:-3600}
KVER=${KVER:-}

PACKAGES=(qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static
	cpio gnuplot-nox)
VMX_PACKAGES=(bochs bochsbios vgabios isolinux syslinux-common genisoimage)

MARK='@@BENCH@@'

# The metrics, in table order: name|label|unit|target ratio (empty: none).
# Every figure is a cost: lower is better, and ratio = kvmlite / KVM.
METRICS=(
	"cpuid|CPUID exit, handled in the kernel|ns|0.8"
	"pio_out|OUT exit to userspace and back|ns|1.0"
	"pio_in|IN exit to userspace and back|ns|1.0"
	"mmio_write|MMIO write exit to userspace|ns|1.0"
	"mmio_read|MMIO read exit to userspace|ns|1.0"
	"hlt_irq|HLT exit + KVM_INTERRUPT wake-up|ns|1.0"
	"touch_256m|first touch of 256 MiB guest RAM|ms|"
	"memslot_add|memslot add (256 MiB)|us|"
	"memslot_delete|memslot delete (256 MiB)|us|"
	"vm_create_destroy|VM create + destroy|us|"
	"vcpu_create|vCPU create|us|"
	"mem_vm_memcg|kernel memory per VM, memcg|KiB|"
	"mem_vm_sys|kernel memory per VM, system|KiB|"
	"mem_vcpu_memcg|kernel memory per vCPU, memcg|KiB|1.0"
	"mem_vcpu_sys|kernel memory per vCPU, system|KiB|1.0"
	"mem_vcpu_run_memcg|per vCPU after 1st KVM_RUN, memcg|KiB|1.0"
	"mem_vcpu_run_sys|per vCPU after 1st KVM_RUN, system|KiB|1.0"
	"linux_boot|Linux boot, client start to init|ms|1.0"
)

say() { printf '\n==== bench: %s\n' "$*"; }
warn() { printf 'bench: %s\n' "$*" >&2; }
strip_ansi() { sed -u -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[c78]//g'; }

# ------------------------------------------------------ packages and kernel

ensure_packages() {
	local missing=() p try
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	for try in 1 2; do
		apt-get update &&
			apt-get install -y --no-install-recommends "${missing[@]}" && return 0
		warn "apt-get failed (try $try of 2)"
		sleep 5
	done
	return 1
}

# Newest installed Debian 6.1 kernel with headers and image (as rig/check.sh).
find_kver() {
	local d v best=""
	if [ -n "$KVER" ]; then
		[ -d "/lib/modules/$KVER/build" ] && [ -f "/boot/vmlinuz-$KVER" ] && return 0
		warn "KVER=$KVER has no /lib/modules/$KVER/build or /boot/vmlinuz-$KVER"
		return 1
	fi
	for d in /lib/modules/6.1.*-amd64; do
		v=${d#/lib/modules/}
		[ -d "$d/build" ] && [ -f "/boot/vmlinuz-$v" ] || continue
		best=$(printf '%s\n%s\n' "$best" "$v" | sed '/^$/d' | sort -V | tail -n 1)
	done
	[ -n "$best" ] || { warn "no Debian kernel with headers and image found"; return 1; }
	KVER=$best
}

# ------------------------------------------------------------------ builds

KVMLITE_KO=""	# built module, empty if it did not build
CLIENT=""	# userspace-client/build/kvmlite if it built, else empty
BENCH_REV=${BENCH_REV:-}
BENCH_MODULE=${BENCH_MODULE:-}
SRC=$TOP	# where kvmlite.ko and the client are built from

build_all() {
	local kdir=$1 rev
	if [ -n "$BENCH_REV" ]; then
		rev=$(git -C "$TOP" rev-parse --short "$BENCH_REV") ||
			{ warn "BENCH_REV=$BENCH_REV is not a revision"; return 1; }
		SRC="$OUT/src-$rev"
		say "kvmlite.ko and the client from revision $rev (BENCH_REV=$BENCH_REV)"
		rm -rf "$SRC"
		mkdir -p "$SRC"
		git -C "$TOP" archive "$rev" | tar -x -C "$SRC" || return 1
	fi
	if [ -n "$BENCH_MODULE" ]; then
		say "using the prebuilt BENCH_MODULE=$BENCH_MODULE"
		KVMLITE_KO=$BENCH_MODULE
	else
		say "make module KDIR=$kdir${BENCH_REV:+ (in $SRC)}"
	fi
	if [ -n "$BENCH_MODULE" ]; then
		:
	elif make -C "$SRC" -j"$(nproc)" module KDIR="$kdir" >"$OUT/build-module.log" 2>&1; then
		KVMLITE_KO="$SRC/kvmlite.ko"
	else
		warn "kvmlite.ko did not build (bench/out/build-module.log):"
		grep -E 'error:|Error [0-9]' "$OUT/build-module.log" | head -n 20 >&2
	fi
	say "make -C bench"
	make -C "$BENCH_DIR" -j"$(nproc)" 2>&1 | tail -n 5 || true
	if [ ! -x "$BENCH_DIR/build/kvmbench" ] || [ ! -x "$BENCH_DIR/build/bootbench" ]; then
		warn "the benchmark programs did not build"
		return 1
	fi
	say "make -C userspace-client (for the Linux boot benchmark)"
	if [ -f "$SRC/userspace-client/Makefile" ] &&
		make -C "$SRC/userspace-client" -j"$(nproc)" >"$OUT/build-client.log" 2>&1 &&
		[ -x "$SRC/userspace-client/build/kvmlite" ]; then
		CLIENT="$SRC/userspace-client/build/kvmlite"
		echo "client: $CLIENT"
	else
		echo "the kvmlite client does not build (bench/out/build-client.log): linux_boot is n/a"
	fi
}

# guest_initramfs FILE: the busybox initramfs the boot benchmark's guest
# boots; its /init prints the marker bootbench waits for and powers off.
guest_initramfs() {
	local dir="$OUT/boot-guest" l
	rm -rf "$dir"
	mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,dev,proc}
	cp /bin/busybox "$dir/bin/busybox"
	/bin/busybox --list-full | while read -r l; do
		[ -e "$dir/$l" ] || ln -s /bin/busybox "$dir/$l"
	done
	mknod -m 600 "$dir/dev/console" c 5 1 2>/dev/null || true
	cat >"$dir/init" <<-'EOF'
		#!/bin/sh
		# kvmlite boot benchmark guest: the end of init is this marker.
		mount -t devtmpfs devtmpfs /dev 2>/dev/null
		echo KVMLITE-BENCH-BOOTED >/dev/console
		poweroff -f
	EOF
	chmod 755 "$dir/init"
	(cd "$dir" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) |
		gzip -9 >"$1"
}

# ------------------------------------------------------------ initramfs

# resolve_deps, modname_path and copy_module: as in rig/check.sh (which
# cannot be sourced: it runs its main on load).
resolve_deps() {
	local dep="/lib/modules/$KVER/modules.dep" f line d seen=" "
	for f in "$@"; do
		line=$(grep -m1 "^$f:" "$dep") || { warn "$f is not in $dep"; return 1; }
		for d in $(echo "${line#*:}" | tr ' ' '\n' | tac) "$f"; do
			case $seen in *" $d "*) continue ;; esac
			seen="$seen$d "
			echo "$d"
		done
	done
}

modname_path() {
	local want=${1//-/_}
	sed 's/:.*//' "/lib/modules/$KVER/modules.dep" | while read -r p; do
		local b=${p##*/}
		b=${b%%.ko*}
		[ "${b//-/_}" = "$want" ] && { echo "$p"; break; }
	done
}

copy_module() {
	local src=$1 dir=$2 name
	name=${src##*/}
	name=${name%%.ko*}.ko
	case $src in
	*.ko.xz) xz -dc "$src" >"$dir/$name" ;;
	*.ko.zst) zstd -qdc "$src" >"$dir/$name" ;;
	*.ko.gz) gzip -dc "$src" >"$dir/$name" ;;
	*) cp "$src" "$dir/$name" ;;
	esac || return 1
	echo "$name" >>"$dir/order"
}

# The VM's /init: for each device, load its modules, run the benchmarks,
# unload; then power off.  Lines for the host start with $MARK.
write_init() {
	cat >"$1" <<'EOF'
#!/bin/sh
# kvmlite benchmark VM /init, written by bench/run.sh.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
exec </dev/null >/dev/console 2>&1
. /bench/bench.conf
echo

load() {
	[ -s "/bench/mod/$1/order" ] || { echo "$MARK-FAIL $1 no-modules 1"; return 1; }
	for m in $(cat "/bench/mod/$1/order"); do
		insmod "/bench/mod/$1/$m" || { echo "$MARK-FAIL $1 insmod-$m 1"; return 1; }
	done
}
unload() {
	for m in $(sed '1!G;h;$!d' "/bench/mod/$1/order"); do
		name=$(echo "${m%.ko}" | tr - _)
		grep -q "^$name " /proc/modules && rmmod "$name"
	done
}

# bench/profile.sh linux_boot: count the exits of the boot by kind, with
# KVM's kvm_exit tracepoint and kprobes on kvmlite's exit handlers.
T=/sys/kernel/tracing
exitstats_on() {
	mountpoint -q $T || mount -t tracefs tracefs $T
	echo 64 >$T/buffer_size_kb
	if [ "$1" = kvmlite ]; then
		awk '$4 == "[kvmlite]" && $3 ~ /^(svm_exit_[a-z_]+|svm_handle_exit|kvml_npt_map|kvml_emulate_mmio|kvml_vcpu_ioctl_run)$/ && $3 != "svm_exit_handlers" { print $3 }' /proc/kallsyms |
			while read -r f; do echo "p:kvmlite_exits/$f kvmlite:$f" >>$T/kprobe_events; done
		echo 1 >$T/events/kvmlite_exits/enable
	else
		echo 'hist:keys=exit_reason:size=256' >$T/events/kvm/kvm_exit/trigger
		echo 'hist:keys=reason' >$T/events/kvm/kvm_userspace_exit/trigger
		echo 'hist:keys=common_pid' >$T/events/kvm/kvm_page_fault/trigger
	fi
}
exitstats_off() {
	if [ "$1" = kvmlite ]; then
		echo 0 >$T/events/kvmlite_exits/enable
		sed "s/^/$MARK-EXITS kvmlite /" $T/kprobe_profile
		echo >$T/kprobe_events
	else
		for e in kvm_exit kvm_userspace_exit kvm_page_fault; do
			grep -E '^\{|^Totals|Hits' $T/events/kvm/$e/hist | sed "s/^/$MARK-EXITS kvm $e /"
		done
	fi
}

echo "$MARK-VM $(uname -r) cpus $(grep -c ^processor /proc/cpuinfo)"
export KVMBENCH_SCALE KVMBENCH_BOOT_PARAMS KVMBENCH_BOOT_LOG
for dev in $DEVICES; do
	echo "$MARK-STAGE $dev"
	if load "$dev"; then
		i=0
		while [ ! -c "/dev/$dev" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		# shellcheck disable=SC2086
		[ "$BENCHES" = boot ] || /bench/kvmbench "/dev/$dev" $BENCHES
		if [ -x /bench/kvmlite-client ] && { [ -z "$BENCHES" ] || [ "$BENCHES" = boot ]; }; then
			[ -n "$EXITSTATS" ] && exitstats_on "$dev"
			/bench/bootbench "/dev/$dev" /bench/kvmlite-client \
				/bench/vmlinuz /bench/guest.cpio.gz 1200
			[ -n "$EXITSTATS" ] && exitstats_off "$dev"
		fi
		# bench/profile.sh: the kernel's and the modules' functions, to
		# name the addresses (Debian's System.map is a placeholder)
		if [ -n "$PROFILE" ]; then
			grep -E '^[0-9a-f]+ [tTwW] ' /proc/kallsyms | sed "s/^/$MARK-SYM /"
		fi
	fi
	unload "$dev"
done
echo "$MARK-STAGE end"
dmesg | grep -E 'Oops|WARNING:|BUG:|general protection|Kernel panic|kvmlite' | sed "s/^/$MARK-DMESG /"
echo "$MARK-DONE"
i=0
while [ "$i" -lt "${SERIAL_PAD:-0}" ]; do
	echo "# padding ------------------------------------------------------------"
	i=$((i + 1))
done
poweroff -f
EOF
	chmod 755 "$1"
}

# make_initramfs ARCH VENDOR: bench/out/initramfs-ARCH.cpio.
make_initramfs() {
	local arch=$1 vendor=$2 root="$OUT/root-$1" l p d deps=()
	say "initramfs for $arch"
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,bench/mod/kvm,bench/mod/kvmlite}
	mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
	if readelf -l /bin/busybox | grep -q 'program interpreter'; then
		warn "/bin/busybox is not static: install busybox-static"
		return 1
	fi
	cp /bin/busybox "$root/bin/busybox"
	/bin/busybox --list-full | while read -r l; do
		[ -e "$root/$l" ] || ln -s /bin/busybox "$root/$l"
	done
	if [ -n "$KVMLITE_KO" ]; then
		for d in $(modinfo -F depends "$KVMLITE_KO" | tr ',' ' '); do
			deps+=("$(modname_path "$d")")
		done
		if [ ${#deps[@]} -gt 0 ]; then
			for p in $(resolve_deps "${deps[@]}"); do
				copy_module "/lib/modules/$KVER/$p" "$root/bench/mod/kvmlite" || return 1
			done
		fi
		copy_module "$KVMLITE_KO" "$root/bench/mod/kvmlite" || return 1
	fi
	for p in $(resolve_deps "$(modname_path "$vendor")"); do
		copy_module "/lib/modules/$KVER/$p" "$root/bench/mod/kvm" || return 1
	done
	cp "$BENCH_DIR/build/kvmbench" "$BENCH_DIR/build/bootbench" "$root/bench/"
	if [ -n "$CLIENT" ]; then
		cp "$CLIENT" "$root/bench/kvmlite-client"
		cp "/boot/vmlinuz-$KVER" "$root/bench/vmlinuz"
		guest_initramfs "$root/bench/guest.cpio.gz"
	fi
	cat >"$root/bench/bench.conf" <<-EOF
		MARK="$MARK"
		DEVICES="${BENCH_DEVICES:-kvmlite kvm}"
		BENCHES="${BENCHES:-}"
		KVMBENCH_SCALE="${KVMBENCH_SCALE:-1}"
		PROFILE="${PROFILE:-}"
		EXITSTATS="${EXITSTATS:-}"
		KVMBENCH_BOOT_PARAMS="${KVMBENCH_BOOT_PARAMS:-}"
		KVMBENCH_BOOT_LOG="${KVMBENCH_BOOT_LOG:-}"
		SERIAL_PAD="${SERIAL_PAD:-0}"
	EOF
	write_init "$root/init"
	(cd "$root" && find . -print0 | LC_ALL=C sort -z |
		cpio --quiet --null -o -H newc -R 0:0) >"$OUT/initramfs-$arch.cpio" || return 1
}

# ------------------------------------------------------------- the rigs

# boot_svm LOG [QEMU ARGS...]: one QEMU boot; the serial console into LOG.
# The console is a file chardev, not stdio: a pipe that fills up (a slow
# terminal, a busy host) would make QEMU's UART retry on host time and
# drop bytes, and the guest's figures would then depend on the host.
boot_svm() {
	local log=$1 raw="$1.raw" rc pid start=$SECONDS
	shift
	say "booting the SVM rig (QEMU TCG, -icount shift=0,sleep=off)"
	: >"$raw"
	timeout -k 10 "$BENCH_TIMEOUT" qemu-system-x86_64 \
		-M q35 -cpu EPYC,+svm -m 2G -smp 1 \
		-icount shift=0,sleep=off -seed 1 -rtc base=2024-01-01,clock=vm \
		-display none -monitor none -serial "file:$raw" -no-reboot -nic none \
		-kernel "/boot/vmlinuz-$KVER" -initrd "$OUT/initramfs-svm.cpio" \
		-append "console=ttyS0 quiet panic=-1 oops=panic nokaslr norandmaps" \
		"$@" </dev/null >"$OUT/svm-qemu.err" 2>&1 &
	pid=$!
	tail -F -n +1 --pid="$pid" "$raw" 2>/dev/null | strip_ansi |
		grep --line-buffered -E "^$MARK |^$MARK-(STAGE|FAIL|DONE)|^# "
	wait "$pid"
	rc=$?
	strip_ansi <"$raw" >"$log"
	say "the SVM rig ran $((SECONDS - start)) s, status $rc"
	[ "$rc" -eq 0 ] || tail -n 5 "$OUT/svm-qemu.err" >&2
	return "$rc"
}

# vmx_available: the Bochs VMX rig exists in rig/check.sh.
vmx_available() {
	grep -q '^stage_vmx()' "$TOP/rig/check.sh" 2>/dev/null &&
		grep -q 'make_iso' "$TOP/rig/check.sh"
}

# boot_vmx LOG: one Bochs boot (clock: sync=none: repeatable time too),
# set up as rig/check.sh's VMX stage does.
boot_vmx() {
	local log=$1 raw="$OUT/vmx-serial.raw" dir="$OUT/iso-vmx" rc pid start=$SECONDS
	rm -rf "$dir"
	mkdir -p "$dir/isolinux"
	cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 \
		"$dir/isolinux/" || return 1
	cp "/boot/vmlinuz-$KVER" "$dir/vmlinuz" || return 1
	cp "$OUT/initramfs-vmx.cpio" "$dir/initrd" || return 1
	cat >"$dir/isolinux/isolinux.cfg" <<-EOF
		DEFAULT bench
		PROMPT 0
		TIMEOUT 0
		LABEL bench
		  KERNEL /vmlinuz
		  APPEND initrd=/initrd console=ttyS0,115200 quiet panic=-1 oops=panic reboot=t nokaslr norandmaps
	EOF
	genisoimage -quiet -o "$OUT/vmx.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
		-no-emul-boot -boot-load-size 4 -boot-info-table "$dir" || return 1
	cat >"$OUT/vmx-bochsrc" <<-EOF
		cpu: model=corei7_haswell_4770, count=1, ips=200000000, reset_on_triple_fault=0
		megs: 1024
		romimage: file=/usr/share/bochs/BIOS-bochs-latest
		vgaromimage: file=/usr/share/vgabios/vgabios.bin
		ata0-master: type=cdrom, path=$OUT/vmx.iso, status=inserted
		boot: cdrom
		com1: enabled=1, mode=file, dev=$raw
		clock: sync=none, time0=1
		display_library: rfb, options="timeout=0"
		sound: driver=dummy
		log: $OUT/vmx-bochs.log
		panic: action=fatal
		error: action=report
		info: action=ignore
		debug: action=ignore
	EOF
	echo c >"$OUT/vmx-bochs.rc"
	: >"$raw"
	say "booting the VMX rig (Bochs, clock: sync=none)"
	timeout -k 10 "$BENCH_TIMEOUT" bochs -q -f "$OUT/vmx-bochsrc" -rc "$OUT/vmx-bochs.rc" \
		</dev/null >"$OUT/vmx-bochs.err" 2>&1 &
	pid=$!
	# Bochs does not always power off: stop it once the VM said it is done.
	(
		while kill -0 "$pid" 2>/dev/null; do
			sleep 5
			grep -q "^$MARK-DONE" "$raw" 2>/dev/null && { sleep 30; break; }
		done
		kill -TERM "$pid" 2>/dev/null
	) &
	tail -F -n +1 --pid="$pid" "$raw" 2>/dev/null | strip_ansi |
		grep --line-buffered -E "^$MARK |^$MARK-(STAGE|FAIL|DONE)|^# "
	wait "$pid"
	rc=$?
	strip_ansi <"$raw" >"$log"
	say "the VMX rig ran $((SECONDS - start)) s, status $rc"
	grep -q "^$MARK-DONE" "$log"
}

# ----------------------------------------------------------- host mode

# run_host RAW: the benchmarks on this machine's hardware.
run_host() {
	local raw=$1 vendor loaded_kvmlite=0 loaded_kvm=0 dev kernel initrd
	[ "$(id -u)" -eq 0 ] || { warn "HOST=1 needs root (insmod, /dev/kvm*)"; return 1; }
	if grep -qw svm /proc/cpuinfo; then vendor=kvm_amd
	elif grep -qw vmx /proc/cpuinfo; then vendor=kvm_intel
	else warn "this CPU has neither VT-x nor AMD-V"; return 1
	fi
	export KVMBENCH_SCALE=${KVMBENCH_SCALE:-20}
	build_all "/lib/modules/$(uname -r)/build" || return 1
	kernel="/boot/vmlinuz-$(uname -r)"
	initrd="$OUT/guest.cpio.gz"
	[ -n "$CLIENT" ] && guest_initramfs "$initrd"
	: >"$raw"
	for dev in kvmlite kvm; do
		echo "$MARK-STAGE $dev" | tee -a "$raw"
		if [ "$dev" = kvmlite ] && [ ! -c /dev/kvmlite ]; then
			if [ -z "$KVMLITE_KO" ] || ! insmod "$KVMLITE_KO"; then
				echo "$MARK-FAIL kvmlite insmod 1" | tee -a "$raw"
				continue
			fi
			loaded_kvmlite=1
		fi
		if [ "$dev" = kvm ] && [ ! -c /dev/kvm ]; then
			modprobe "$vendor" || { echo "$MARK-FAIL kvm modprobe 1" | tee -a "$raw"; continue; }
			loaded_kvm=1
		fi
		sleep 1
		"$BENCH_DIR/build/kvmbench" "/dev/$dev" | tee -a "$raw"
		if [ -n "$CLIENT" ] && [ -f "$kernel" ]; then
			"$BENCH_DIR/build/bootbench" "/dev/$dev" "$CLIENT" "$kernel" "$initrd" 600 |
				tee -a "$raw"
		fi
		[ "$dev" = kvmlite ] && [ $loaded_kvmlite -eq 1 ] && rmmod kvmlite
	done
	[ $loaded_kvm -eq 1 ] && modprobe -r "$vendor"
	echo "$MARK-STAGE end" >>"$raw"
	return 0
}

# -------------------------------------------------------------- results

# extract LOG RAW: the figures of a serial log as "device metric value
# unit" lines, failures as "device FAIL name why".
extract() {
	awk -v mark="$MARK" '
		{ sub(/\r$/, "") }
		$1 == mark "-VM" { print "info", "kernel", $2; next }
		$1 == mark "-STAGE" { dev = $2; next }
		$1 == mark && dev != "" && NF >= 4 { print dev, $2, $3, $4; next }
		$1 == mark "-FAIL" && dev != "" { print dev, "FAIL", $2, $3 }
	' "$1" >"$2"
}

# report RAW NAME: the table on the terminal and in results/NAME.txt,
# results/NAME.json and results/NAME.png.  Returns 1 if a figure is missing.
report() {
	local raw=$1 name=$2 m defs=""
	mkdir -p "$RESULTS"
	rm -f "$OUT/$name-ratios.dat"
	for m in "${METRICS[@]}"; do defs+="$m"$'\n'; done
	printf '%s' "$defs" | awk -F'|' -v raw="$raw" -v name="$name" \
		-v txt="$RESULTS/$name.txt" -v json="$RESULTS/$name.json" \
		-v dat="$OUT/$name-ratios.dat" -v kernel="${KVER:-$(uname -r)}" \
		-v host="$HOST" '
	BEGIN {
		while ((getline line < raw) > 0) {
			split(line, f, " ")
			if (f[1] == "info") { if (f[2] == "kernel") kernel = f[3]; continue }
			if (f[2] == "FAIL") { failed[f[1] " " f[3]] = f[4]; continue }
			val[f[1] " " f[2]] = f[3]
		}
	}
	{ n++; id[n] = $1; label[n] = $2; unit[n] = $3; target[n] = $4 }
	function fmt(v) {
		if (v == "") return "n/a"
		if (v + 0 >= 100) return sprintf("%.0f", v)
		return sprintf("%.1f", v)
	}
	END {
		hdr = sprintf("%-36s %-4s %10s %10s %7s %7s  %s", "benchmark", "unit", "kvmlite", "KVM", "ratio", "target", "")
		print hdr > txt
		print hdr
		sep = sprintf("%-36s %-4s %10s %10s %7s %7s", "------------------------------------", "----", "----------", "----------", "-------", "-------")
		print sep > txt
		print sep
		printf "{\n  \"rig\": \"%s\",\n  \"kernel\": \"%s\",\n", name, kernel > json
		clock = "CLOCK_MONOTONIC of the emulated host; QEMU -icount shift=0: 1 ns = 1 instruction"
		if (name == "vmx") clock = "CLOCK_MONOTONIC of the emulated host; Bochs ips=200000000, clock sync=none: 1 ns = 0.2 instruction"
		if (host == "1") clock = "CLOCK_MONOTONIC of this host (real time)"
		printf "  \"clock\": \"%s\",\n", clock > json
		printf "  \"ratio\": \"kvmlite / KVM, lower is better\",\n  \"benchmarks\": [\n" > json
		nd = 0; missing = 0
		for (i = 1; i <= n; i++) {
			a = val["kvmlite " id[i]]; b = val["kvm " id[i]]
			if (a == "" || b == "") missing++
			r = (a != "" && b != "" && b + 0 > 0) ? sprintf("%.3f", a / b) : ""
			verdict = ""
			if (r != "" && target[i] != "")
				verdict = (r + 0 <= target[i] + 0) ? "met" : "MISSED"
			line = sprintf("%-36s %-4s %10s %10s %7s %7s  %s", label[i], unit[i], fmt(a), fmt(b),
				(r == "" ? "n/a" : sprintf("%.2f", r)),
				(target[i] == "" ? "-" : "<= " target[i]), verdict)
			print line > txt
			print line
			printf "    {\"name\": \"%s\", \"label\": \"%s\", \"unit\": \"%s\", \"kvmlite\": %s, \"kvm\": %s, \"ratio\": %s, \"target\": %s}%s\n",
				id[i], label[i], unit[i], (a == "" ? "null" : a), (b == "" ? "null" : b),
				(r == "" ? "null" : r), (target[i] == "" ? "null" : target[i]),
				(i < n ? "," : "") > json
			if (r != "") {
				color = (target[i] == "") ? "0x808080" : (verdict == "met" ? "0x2e8b57" : "0xcd3333")
				printf "%d \"%s\" %s %s\n", nd++, id[i], r, color > dat
			}
		}
		printf "  ],\n  \"failures\": [" > json
		k = 0
		for (fk in failed) {
			printf "%s\"%s: %s\"", (k++ ? ", " : ""), fk, failed[fk] > json
			fl = fl "\n  " fk " (" failed[fk] ")"
		}
		printf "]\n}\n" > json
		close(json); close(txt); close(dat)
		if (fl != "") print "failed:" fl
		if (missing) print missing " metric(s) n/a"
		exit (missing ? 1 : 0)
	}'
}

# chart NAME: results/NAME.png from bench/out/NAME-ratios.dat.
chart() {
	local name=$1 dat="$OUT/$1-ratios.dat" png="$RESULTS/$1.png"
	command -v gnuplot >/dev/null || { warn "no gnuplot: no chart"; return 1; }
	[ -s "$dat" ] || { warn "no ratios: no chart"; return 1; }
	gnuplot <<-EOF
		set terminal pngcairo size 1100,600 font "DejaVu Sans,10"
		set output "$png"
		set title "kvmlite / KVM, $name rig (lower is better; green: target met, red: missed, grey: no target)"
		set style fill solid 0.85 border -1
		set boxwidth 0.7
		set logscale y 10
		set yrange [0.0005:20]
		set bmargin 9
		set ylabel "ratio kvmlite / KVM (log scale)"
		set grid ytics
		set xtics rotate by -40 left noenhanced
		set key off
		set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 lc rgb "black"
		set arrow from graph 0, first 0.8 to graph 1, first 0.8 nohead dt 2 lc rgb "black"
		set label "1.0" at graph 1.005, first 1
		set label "0.8" at graph 1.005, first 0.8
		plot "$dat" using 1:3:4:xtic(2) with boxes lc rgb variable, \
		     "$dat" using 1:3:(sprintf("%.2f", \$3)) with labels offset 0,0.7
	EOF
	echo "chart: $png"
}

# ------------------------------------------------------------------- main

main() {
	local arch=${1:-svm} i log raw status=0 first=""

	if [ "$arch" = "--report" ]; then
		[ $# -eq 3 ] || { warn "usage: $0 --report RAW NAME"; exit 2; }
		mkdir -p "$OUT"
		report "$2" "$3"; status=$?
		chart "$3"
		exit $status
	fi
	mkdir -p "$OUT"
	exec 9>"$OUT/.lock"
	flock -n 9 || { warn "another bench run holds $OUT/.lock; waiting"; flock 9; }

	if [ "$HOST" = 1 ]; then
		ensure_packages gnuplot-nox busybox-static cpio || warn "could not install gnuplot-nox busybox-static cpio"
		raw="$OUT/host.raw"
		run_host "$raw" || exit 1
		say "results (this host, $(uname -r); times are real, not instruction counts)"
		report "$raw" host; status=$?
		chart host
		exit $status
	fi

	case $arch in
	svm) ;;
	vmx)
		if ! vmx_available; then
			echo "make bench-vmx: the Bochs VMX rig is not in rig/check.sh yet (no stage_vmx):" >&2
			echo "not available.  make bench runs the SVM rig." >&2
			exit 1
		fi
		PACKAGES+=("${VMX_PACKAGES[@]}")
		;;
	*) warn "unknown rig '$arch' (svm or vmx)"; exit 2 ;;
	esac
	ensure_packages "${PACKAGES[@]}" || { warn "could not install ${PACKAGES[*]}"; exit 1; }
	find_kver || exit 1
	say "kernel $KVER"
	build_all "/lib/modules/$KVER/build" || exit 1
	if [ "$arch" = svm ]; then
		make_initramfs svm kvm-amd || { warn "no initramfs"; exit 1; }
	else
		SERIAL_PAD=120 make_initramfs vmx kvm-intel || { warn "no initramfs"; exit 1; }
	fi

	for i in $(seq 1 "$REPEAT"); do
		log="$OUT/$arch-serial.log"
		[ "$REPEAT" -gt 1 ] && log="$OUT/$arch-serial.$i.log"
		"boot_$arch" "$log" || status=1
		raw="$OUT/$arch.$i.raw"
		extract "$log" "$raw"
		if [ -z "$first" ]; then
			first=$raw
		elif cmp -s "$first" "$raw"; then
			echo "run $i: every figure is the same as in run 1"
		else
			echo "run $i: figures DIFFER from run 1:"
			diff "$first" "$raw"
			status=1
		fi
	done
	cp "$first" "$OUT/$arch.raw"
	grep "^$MARK-DMESG" "$log" | sed "s/^$MARK-DMESG /dmesg: /" | head -n 20
	if [ "$arch" = svm ]; then
		say "results (svm rig, kernel $KVER; 1 ns = 1 instruction under -icount)"
	else
		say "results (vmx rig, kernel $KVER; Bochs at 200 MIPS: 1 ns = 0.2 instruction)"
	fi
	report "$OUT/$arch.raw" "$arch" || status=1
	chart "$arch"
	[ "$REPEAT" -gt 1 ] && [ $status -eq 0 ] && echo "$REPEAT runs gave the same figures"
	exit $status
}

# bench/profile.sh sources this file for its functions.
[ "${BASH_SOURCE[0]}" = "$0" ] && main "$@"
