#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# kvmlite test rig: builds kvmlite.ko and the selftests, boots an emulated
# host that has hardware virtualization, and runs the selftests there against
# /dev/kvmlite and, as the reference, against the real KVM (/dev/kvm).
#
# Usage:
#   rig/check.sh            run every stage: svm, then vmx
#   rig/check.sh svm        only the SVM stage: QEMU TCG, AMD EPYC with SVM+NPT
#   rig/check.sh vmx        only the VMX stage: Bochs, Intel Haswell with
#                           VMX, EPT, VPID and unrestricted guest
#   rig/check.sh --parse svm LOG
#                           only re-read a saved serial log (no build, no VM)
#
# Environment:
#   TESTS="a b"         run only these selftests (passed to run_tests.sh)
#   DEVICES="kvmlite"   device stages to run inside the VM: any of kvmlite kvm
#                       (default: "kvmlite kvm", always in that order)
#   TEST_TIMEOUT=180    seconds one selftest program may run in the VM
#   RIG_TIMEOUT=900     seconds one whole VM run may take (host side)
#   VMX_TIMEOUT=1800    the same for the VMX stage (default: RIG_TIMEOUT when
#                       that is given, else 1800: Bochs is slow)
#   KVER=...            Debian kernel to build for and boot (default: newest
#                       /lib/modules/6.1.*-amd64 with build/ and /boot/vmlinuz-*)
#   RIG_SELFTESTS=DIR   take build/ and run_tests.sh from DIR instead of
#                       building selftests/ (for testing the rig itself)
#   RIG_MODULE=FILE     load this prebuilt kvmlite.ko instead of building one
#   CLIENT_TESTS=1      run the kvmlite client tests (userspace-client/tests) in
#                       the SVM stage (default: 1 when TESTS is empty, else 0)
#   VMX_CPUS=2          CPUs of the Bochs VM (each one slows Bochs down)
#
# Output: build logs and per stage a streamed serial console, then a summary:
#   one line per stage "svm/kvmlite: P passed, F failed, S skipped", the
#   failures, and as the very last line "P passed, F failed, S skipped".
#   Exit status 0 only when nothing failed.
# Files (all under rig/out/, gitignored): initramfs-<stage>.cpio, the guest
#   root it was made from (root-<stage>/), <stage>-serial.log (console),
#   <stage>-qemu.err (QEMU's own messages), build-*.log.

set -uo pipefail

RIG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$RIG_DIR/.." && pwd)
OUT="$RIG_DIR/out"

TESTS=${TESTS:-}
DEVICES=${DEVICES:-kvmlite kvm}
TEST_TIMEOUT=${TEST_TIMEOUT:-180}
# The VMX stage's limit: VMX_TIMEOUT, else RIG_TIMEOUT when given, else
# 1800 s.  Its VM ran 473 s on a loaded 2-core machine, 741 s on a busier one.
VMX_TIMEOUT=${VMX_TIMEOUT:-${RIG_TIMEOUT:-1800}}
RIG_TIMEOUT=${RIG_TIMEOUT:-900}
RIG_SELFTESTS=${RIG_SELFTESTS:-}
RIG_MODULE=${RIG_MODULE:-}
CLIENT_TESTS=${CLIENT_TESTS:-$([ -z "${TESTS:-}" ] && echo 1 || echo 0)}
CLIENT_DIR=""   # the client, its guest initramfs and tests, empty if none

PACKAGES=(qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static cpio)
# Added to PACKAGES when the VMX stage runs.
VMX_PACKAGES=(bochs bochsbios vgabios isolinux syslinux-common genisoimage)
VMX_CPUS=${VMX_CPUS:-2}

# Guest console lines that start with this are the rig's own markers, printed
# by the VM's /init (see write_init).
MARK='@@RIG@@'

# Kernel log lines that make a run fail, as one extended regex.
KERNEL_PROBLEMS='Oops|WARNING:|BUG:|kernel BUG at|general protection fault|Kernel panic|possible circular locking|INFO: task .* blocked|unreferenced object|detected stall|UBSAN:'

# Kernel log lines that match KERNEL_PROBLEMS but are known to be harmless.
KERNEL_NOISE='Speculative Return Stack Overflow: WARNING: See'

# Results, added up by every stage.
TOTAL_PASS=0
TOTAL_FAIL=0
TOTAL_SKIP=0
SUMMARY=()      # lines printed in the summary, in order

KVER=${KVER:-}
KVMLITE_KO=""   # path of a freshly built kvmlite.ko, empty if it did not build
SELFTESTS_SRC="" # directory holding build/ and run_tests.sh, empty if none

# ---------------------------------------------------------------- helpers

say() { printf '\n==== rig: %s\n' "$*"; }
warn() { printf 'rig: %s\n' "$*" >&2; }

# Drop the terminal control sequences (screen clear, reset, no-wrap) that the
# firmware sends to the serial console: they would garble a developer's
# terminal.
strip_ansi() { sed -u -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[c78]//g'; }

# rig_failure MSG: a failure that is not a test result (build, crash, ...).
rig_failure() {
	TOTAL_FAIL=$((TOTAL_FAIL + 1))
	SUMMARY+=("FAILED: $1")
}

# ------------------------------------------------------ packages and kernel

# Install what is missing; apt only runs when something is.
ensure_packages() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	local try
	for try in 1 2; do
		apt-get update &&
			apt-get install -y --no-install-recommends "${missing[@]}" && return 0
		warn "apt-get failed (try $try of 2)"
		sleep 5
	done
	return 1
}

# Newest installed Debian 6.1 kernel that has both headers and an image
# (never the running kernel: the build machine may run anything).
find_kver() {
	local d v best=""
	if [ -n "$KVER" ]; then
		[ -d "/lib/modules/$KVER/build" ] && [ -f "/boot/vmlinuz-$KVER" ] && return 0
		warn "KVER=$KVER has no /lib/modules/$KVER/build or /boot/vmlinuz-$KVER"
		return 1
	fi
	for d in /lib/modules/6.1.*-amd64; do
		v=${d#/lib/modules/}
		[ -d "$d/build" ] || continue
		[ -f "/boot/vmlinuz-$v" ] || continue
		best=$(printf '%s\n%s\n' "$best" "$v" | sed '/^$/d' | sort -V | tail -n 1)
	done
	[ -n "$best" ] || { warn "no Debian kernel with headers and image found"; return 1; }
	KVER=$best
}

# ------------------------------------------------------------------ builds

# Build kvmlite.ko for KVER; KVMLITE_KO is set only if it built for KVER.
build_module() {
	local log="$OUT/build-module.log" vermagic
	if [ -n "$RIG_MODULE" ]; then
		say "using the prebuilt RIG_MODULE=$RIG_MODULE"
		cp "$RIG_MODULE" "$OUT/kvmlite.ko" || { rig_failure "build: no $RIG_MODULE"; return 1; }
		KVMLITE_KO="$OUT/kvmlite.ko"
		return 0
	fi
	say "make module KDIR=/lib/modules/$KVER/build"
	if ! make -C "$TOP" -j"$(nproc)" module KDIR="/lib/modules/$KVER/build" 2>&1 | tee "$log"; then
		echo "---- kvmlite.ko did not build; errors:"
		grep -E 'error:|Error [0-9]' "$log" | head -n 40
		rig_failure "build: kvmlite.ko did not build (rig/out/build-module.log)"
		return 1
	fi
	vermagic=$(modinfo -F vermagic "$TOP/kvmlite.ko" 2>/dev/null)
	if [ "${vermagic%% *}" != "$KVER" ]; then
		rig_failure "build: kvmlite.ko is for '${vermagic%% *}', not $KVER"
		return 1
	fi
	KVMLITE_KO="$TOP/kvmlite.ko"
}

# Build the selftests (or take RIG_SELFTESTS); SELFTESTS_SRC is set on success.
build_selftests() {
	local log="$OUT/build-selftests.log"
	if [ -n "$RIG_SELFTESTS" ]; then
		say "using selftests from RIG_SELFTESTS=$RIG_SELFTESTS"
		SELFTESTS_SRC=$RIG_SELFTESTS
	else
		say "make selftests"
		if ! make -C "$TOP" -j"$(nproc)" selftests 2>&1 | tee "$log"; then
			rig_failure "build: selftests did not build (rig/out/build-selftests.log)"
			# Whatever did build still runs.
		fi
		SELFTESTS_SRC="$TOP/selftests"
	fi
	if [ ! -f "$SELFTESTS_SRC/run_tests.sh" ] || [ ! -d "$SELFTESTS_SRC/build" ]; then
		warn "no $SELFTESTS_SRC/run_tests.sh or build/: the VM runs no selftests"
		SELFTESTS_SRC=""
	fi
}

# Build the kvmlite client (userspace-client/), the busybox initramfs it boots
# and its tests into rig/out/client/; CLIENT_DIR is set on success.
build_client() {
	local log="$OUT/build-client.log" dir="$OUT/client"
	[ "$CLIENT_TESTS" = 1 ] || return 0
	say "make -C userspace-client"
	rm -rf "$dir"
	mkdir -p "$dir"
	if ! { make -C "$TOP/userspace-client" &&
		cp "$TOP/userspace-client/build/kvmlite" "$TOP/userspace-client/tests/client_tests.sh" "$dir/" &&
		sh "$TOP/userspace-client/guest/mkinitramfs.sh" "$dir/guest.cpio.gz" &&
		sh "$TOP/userspace-client/tests/mkfault.sh" "$dir/fault.img"; } >"$log" 2>&1; then
		cat "$log"
		rig_failure "build: the kvmlite client did not build (rig/out/build-client.log)"
		return 1
	fi
	CLIENT_DIR=$dir
}

# -------------------------------------------------------------- initramfs

# resolve_deps FILE...: the modules.dep paths (relative to /lib/modules/KVER)
# that the given modules need, in load order, each once. FILE is a path as in
# modules.dep; its dependencies come first.
resolve_deps() {
	local dep="/lib/modules/$KVER/modules.dep" f line d seen=" "
	for f in "$@"; do
		line=$(grep -m1 "^$f:" "$dep") || { warn "$f is not in $dep"; return 1; }
		# modules.dep lists the deepest dependency last: load it first.
		for d in $(echo "${line#*:}" | tr ' ' '\n' | tac) "$f"; do
			case $seen in *" $d "*) continue ;; esac
			seen="$seen$d "
			echo "$d"
		done
	done
}

# modname_path NAME: the modules.dep path of module NAME (- and _ alike).
modname_path() {
	local want=${1//-/_}
	sed 's/:.*//' "/lib/modules/$KVER/modules.dep" | while read -r p; do
		local b=${p##*/}
		b=${b%%.ko*}
		[ "${b//-/_}" = "$want" ] && { echo "$p"; break; }
	done
}

# copy_module SRC DIR: put SRC (.ko, or compressed) into DIR as a plain .ko and
# append its file name to DIR/order (the load order).
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

# add_selftests ROOT: /selftests/run_tests.sh and /selftests/build/ in ROOT.
# Every ELF program in build/ is replaced by a small wrapper that runs the real
# one (moved to /selftests/.real/) under a timeout and reports its exit status.
add_selftests() {
	local root=$1 f name
	[ -n "$SELFTESTS_SRC" ] || return 0
	mkdir -p "$root/selftests/.real"
	cp "$SELFTESTS_SRC/run_tests.sh" "$root/selftests/"
	cp -a "$SELFTESTS_SRC/build" "$root/selftests/"
	for f in "$root"/selftests/build/*; do
		[ -f "$f" ] || continue
		[ -x "$f" ] || continue
		[ "$(head -c 4 "$f" | tr -d '\177')" = "ELF" ] || continue
		name=${f##*/}
		if readelf -l "$f" 2>/dev/null | grep -q 'program interpreter'; then
			warn "selftests/build/$name is dynamically linked: it cannot run in the VM"
		fi
		mv "$f" "$root/selftests/.real/$name"
		# The wrapper passes a TERM (say from run_tests.sh's own timeout) on
		# to the program, so that no test outlives its wrapper.
		cat >"$f" <<-EOF
			#!/bin/sh
			# rig wrapper: at most ${TEST_TIMEOUT}s, then TERM (KILL 10s later)
			read t0 idle </proc/uptime
			/bin/busybox timeout -k 10 $TEST_TIMEOUT /selftests/.real/$name "\$@" &
			pid=\$!
			trap 'kill -TERM \$pid 2>/dev/null' TERM INT HUP
			while :; do
				wait \$pid
				rc=\$?
				kill -0 \$pid 2>/dev/null || break
			done
			read t1 idle </proc/uptime
			echo "# rig: $name ran from uptime \$t0 to \$t1"
			echo "$MARK exit $name \$rc"
			exit \$rc
		EOF
		chmod 755 "$f"
	done
}

# write_init FILE: the VM's /init (busybox ash). It reads /rig/rig.conf.
write_init() {
	cat >"$1" <<'EOF'
#!/bin/sh
# kvmlite test VM /init, written by rig/check.sh. Runs one device stage per
# entry of $DEVICES, then dumps the kernel log and powers off.
# shellcheck disable=SC1091,SC2013
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
exec </dev/null >/dev/console 2>&1
. /rig/rig.conf
echo  # the console's first line can carry terminal control codes

# mark WORDS: a marker line for the host, and the same into the kernel log so
# kernel messages can be attributed to a stage.
mark() {
	echo "$MARK $*"
	echo "rig: $*" >/dev/kmsg
}
# fail MSG: a rig-level failure, as a TAP result the host counts.
fail() { echo "not ok - rig: $*"; }

# Load /rig/mod/$1/order; stops at the first failure.
load_modules() {
	[ -s "/rig/mod/$1/order" ] || { fail "no modules for $1: $(cat "/rig/mod/$1/why")"; return 1; }
	for m in $(cat "/rig/mod/$1/order"); do
		insmod "/rig/mod/$1/$m" || { fail "insmod $m failed"; return 1; }
		echo "# rig: insmod $m"
	done
}

# Unload what load_modules loaded, last first; a failure is a test failure.
unload_modules() {
	[ -s "/rig/mod/$1/order" ] || return 0
	for m in $(sed '1!G;h;$!d' "/rig/mod/$1/order"); do
		name=$(echo "${m%.ko}" | tr - _)
		grep -q "^$name " /proc/modules || continue
		if rmmod "$name"; then
			echo "# rig: rmmod $name"
		else
			fail "rmmod $name failed"
		fi
	done
}

# run_stage DEV: modules in, selftests against /dev/DEV, modules out.
run_stage() {
	dev=$1
	mark stage-begin "$ARCH/$dev"
	# KVM's stage has kvmlite loaded next to it (no VM of its own), so
	# tests can check that the two refuse to share the hardware.
	if [ "$dev" = kvm ] && [ -s /rig/mod/kvmlite/order ]; then
		load_modules kvmlite
	fi
	if load_modules "$dev"; then
		i=0
		while [ ! -c "/dev/$dev" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		if [ ! -c "/dev/$dev" ]; then
			fail "/dev/$dev did not appear"
		elif [ ! -f /selftests/run_tests.sh ]; then
			fail "no selftests in the initramfs (did they build?)"
		else
			echo "# rig: selftests/run_tests.sh /dev/$dev${TESTS:+ (TESTS=$TESTS)}"
			(
				cd /selftests || exit 1
				[ -n "$TESTS" ] && export TESTS
				sh ./run_tests.sh "/dev/$dev"
				echo "$MARK runner-exit $?"
			)
		fi
		# The kvmlite client boots Linux on the device (SVM stage only).
		if [ -c "/dev/$dev" ] && [ -f /client/client_tests.sh ]; then
			timeout -k 10 900 sh /client/client_tests.sh "/dev/$dev" /client
			echo "$MARK exit kvmlite_client $?"
		fi
	fi
	unload_modules "$dev"
	[ "$dev" = kvm ] && unload_modules kvmlite
	mark stage-end "$ARCH/$dev"
}

echo "$HUNG_TASK_SECS" >/proc/sys/kernel/hung_task_timeout_secs 2>/dev/null
mark vm-up "$ARCH" "$(uname -r)"
for dev in $DEVICES; do
	echo
	echo "################ stage $ARCH/$dev ################"
	run_stage "$dev"
done
echo "# rig: kernel taint flags: $(cat /proc/sys/kernel/tainted)"
mark dmesg-begin
dmesg
mark dmesg-end
mark "done"
# Bochs drops what the serial port has not sent yet at power-off: push the
# last lines out with SERIAL_PAD lines of padding.
i=0
while [ "$i" -lt "${SERIAL_PAD:-0}" ]; do
	echo "# rig: padding ------------------------------------------------------------"
	i=$((i + 1))
done
poweroff -f
EOF
	chmod 755 "$1"
}

# make_initramfs ARCH VENDOR_MODULE: build rig/out/initramfs-ARCH.cpio with
# busybox, the modules for each device stage, the selftests and /init.
# VENDOR_MODULE is kvm-amd or kvm-intel (the /dev/kvm stage).
make_initramfs() {
	local arch=$1 vendor=$2 root="$OUT/root-$1" l p f
	say "initramfs for $arch"
	rm -rf "$root"
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,rig/mod/kvm,rig/mod/kvmlite}
	mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true

	# busybox (the static one from busybox-static) and its applet links
	if readelf -l /bin/busybox | grep -q 'program interpreter'; then
		warn "/bin/busybox is not static: install busybox-static"
		return 1
	fi
	cp /bin/busybox "$root/bin/busybox"
	/bin/busybox --list-full | while read -r l; do
		[ -e "$root/$l" ] || ln -s /bin/busybox "$root/$l"
	done

	# Why a stage would have no modules, for its "not ok" line.
	echo "kvmlite.ko did not build" >"$root/rig/mod/kvmlite/why"
	echo "Debian's KVM modules not found" >"$root/rig/mod/kvm/why"

	# kvmlite.ko after whatever it depends on (normally nothing)
	if [ -n "$KVMLITE_KO" ]; then
		local deps=() d
		for d in $(modinfo -F depends "$KVMLITE_KO" | tr ',' ' '); do
			deps+=("$(modname_path "$d")")
		done
		if [ ${#deps[@]} -gt 0 ]; then
			for p in $(resolve_deps "${deps[@]}"); do
				copy_module "/lib/modules/$KVER/$p" "$root/rig/mod/kvmlite" || return 1
			done
		fi
		copy_module "$KVMLITE_KO" "$root/rig/mod/kvmlite" || return 1
	fi

	# the reference: Debian's KVM and what it needs
	for p in $(resolve_deps "$(modname_path "$vendor")"); do
		copy_module "/lib/modules/$KVER/$p" "$root/rig/mod/kvm" || return 1
	done
	echo "kvmlite modules: $(tr '\n' ' ' <"$root/rig/mod/kvmlite/order" 2>/dev/null)"
	echo "kvm modules:     $(tr '\n' ' ' <"$root/rig/mod/kvm/order")"

	add_selftests "$root"
	if [ -n "$CLIENT_DIR" ] && [ "$arch" = svm ]; then
		cp -a "$CLIENT_DIR" "$root/client" && cp "/boot/vmlinuz-$KVER" "$root/client/vmlinuz" ||
			return 1
	fi

	cat >"$root/rig/rig.conf" <<-EOF
		ARCH="$arch"
		MARK="$MARK"
		DEVICES="$DEVICES"
		TESTS="$TESTS"
		HUNG_TASK_SECS=60
		SERIAL_PAD="${SERIAL_PAD:-0}"
	EOF
	write_init "$root/init"

	f="$OUT/initramfs-$arch.cpio"
	(cd "$root" && find . -print0 | LC_ALL=C sort -z |
		cpio --quiet --null -o -H newc -R 0:0) >"$f" || return 1
	echo "$f: $(du -h "$f" | cut -f1)"
}

# -------------------------------------------------------------- log parser

# is_problem LINE: does this kernel log line make the run fail?
is_problem() {
	[[ $1 =~ $KERNEL_PROBLEMS ]] && ! [[ $1 =~ $KERNEL_NOISE ]]
}

# parse_log ARCH LOG: count the TAP results of each device stage of LOG, check
# the kernel log in it, and add everything to the totals and the summary.
#
# Counting: "ok" = pass, "ok ... # SKIP" = skip, "not ok" = fail (unindented
# lines only; '#' lines are diagnostics). Per selftest program (the lines after
# "# selftest: NAME"): results missing from its plan "1..N" are failures, and a
# program that printed no plan and no result, or was killed (timeout, crash),
# counts one failure if nothing else did. A stage without its end marker, or
# with no result at all, fails too.
parse_log() {
	local arch=$1 log=$2 line stage="" prog="" want
	local -A pass=() fail=() skip=() began=() ended=()
	local -a notes=() problems=()
	local plan="" results=0 rc="" in_dmesg=0 dmesg_done=0 vm_done=0 kstage="boot"

	# Close the current program block: turn missing results into failures.
	end_prog() {
		[ -n "$stage" ] && [ -n "$prog" ] || return 0
		local extra=0 why=""
		if [ -n "$plan" ] && [ "$plan" -gt "$results" ]; then
			extra=$((plan - results))
			why="$extra of $plan results missing"
		fi
		if [ -n "$rc" ] && [ "$rc" -ge 128 ]; then
			why="${why:+$why, }killed by signal $((rc - 128))"
			if [ "$rc" -eq 143 ] || [ "$rc" -eq 137 ]; then
				why="$why (timed out?)"
			fi
		fi
		if [ -z "$plan" ] && [ "$results" -eq 0 ]; then
			why="${why:+$why, }no TAP output"
		fi
		[ -n "$why" ] && [ "$extra" -eq 0 ] && extra=1
		if [ "$extra" -gt 0 ]; then
			fail[$stage]=$((fail[$stage] + extra))
			notes+=("$stage: $prog: $why")
		fi
		prog="" plan="" results=0 rc=""
	}

	while IFS= read -r line || [ -n "$line" ]; do
		line=${line//$'\r'/}
		# a marker may follow terminal control codes on its line
		[[ $line == ?*"$MARK "* ]] && line="$MARK ${line#*"$MARK "}"
		# the kernel log dump: problems, attributed to the stage they came in
		if [ $in_dmesg -eq 1 ]; then
			if [ "$line" = "$MARK dmesg-end" ]; then
				in_dmesg=0 dmesg_done=1
			elif [[ $line =~ rig:\ stage-begin\ ([^ ]+) ]]; then
				kstage=${BASH_REMATCH[1]}
			elif [[ $line =~ rig:\ stage-end\ ([^ ]+) ]]; then
				kstage="between stages"
			elif is_problem "$line"; then
				problems+=("[$kstage] $line")
			fi
			continue
		fi
		case $line in
		"$MARK stage-begin "*)
			end_prog
			stage=${line#"$MARK stage-begin "}
			began[$stage]=1 pass[$stage]=0 fail[$stage]=0 skip[$stage]=0
			;;
		"$MARK stage-end "*)
			end_prog
			ended[${line#"$MARK stage-end "}]=1
			stage=""
			;;
		"$MARK exit "*) rc=${line##* } ;;
		"$MARK runner-exit "*) end_prog ;;
		"$MARK dmesg-begin") in_dmesg=1 ;;
		"$MARK done") vm_done=1 ;;
		"# selftest: "*)
			end_prog
			prog=${line#"# selftest: "}
			;;
		esac
		[ -n "$stage" ] || continue
		if [[ $line =~ ^1\.\.([0-9]+) ]] && [ -z "$plan" ]; then
			plan=${BASH_REMATCH[1]}
			# "1..0 # SKIP why": the whole program skipped
			if [ "$plan" -eq 0 ] && [[ $line =~ \#[[:space:]]*[Ss][Kk][Ii][Pp] ]]; then
				skip[$stage]=$((skip[$stage] + 1))
			fi
		elif [[ $line =~ ^not\ ok([[:space:]]|$) ]]; then
			fail[$stage]=$((fail[$stage] + 1))
			results=$((results + 1))
			notes+=("$stage: ${prog:+$prog: }$line")
		elif [[ $line =~ ^ok([[:space:]]|$) ]]; then
			results=$((results + 1))
			if [[ $line =~ \#[[:space:]]*[Ss][Kk][Ii][Pp] ]]; then
				skip[$stage]=$((skip[$stage] + 1))
			else
				pass[$stage]=$((pass[$stage] + 1))
			fi
		fi
	done <"$log"
	end_prog

	# Stages that were asked for but crashed, hung or never started.
	for dev in $DEVICES; do
		want="$arch/$dev"
		if [ -z "${began[$want]:-}" ]; then
			began[$want]=1 pass[$want]=0 fail[$want]=1 skip[$want]=0
			notes+=("$want: stage never started (VM crashed or timed out before it)")
		elif [ -z "${ended[$want]:-}" ]; then
			fail[$want]=$((fail[$want] + 1))
			notes+=("$want: stage did not finish (guest crash, panic or timeout)")
		elif [ $((pass[$want] + fail[$want] + skip[$want])) -eq 0 ]; then
			fail[$want]=1
			notes+=("$want: no test results at all")
		fi
		SUMMARY+=("$want: ${pass[$want]} passed, ${fail[$want]} failed, ${skip[$want]} skipped")
		TOTAL_PASS=$((TOTAL_PASS + pass[$want]))
		TOTAL_FAIL=$((TOTAL_FAIL + fail[$want]))
		TOTAL_SKIP=$((TOTAL_SKIP + skip[$want]))
	done

	# Kernel problems: from the dmesg dump, or, when the VM died before it
	# finished, from everything the console showed.
	if [ $dmesg_done -eq 0 ]; then
		while IFS= read -r line; do
			line=${line//$'\r'/}
			is_problem "$line" && problems+=("[console] $line")
		done <"$log"
	fi
	[ $vm_done -eq 1 ] || notes+=("$arch: the VM did not reach its end (see rig/out/$arch-serial.log)")
	SUMMARY+=("$arch/kernel-log: ${#problems[@]} problems")
	if [ ${#problems[@]} -gt 0 ]; then
		TOTAL_FAIL=$((TOTAL_FAIL + ${#problems[@]}))
		for line in "${problems[@]}"; do SUMMARY+=("    $line"); done
	fi
	if [ ${#notes[@]} -gt 0 ]; then
		SUMMARY+=("$arch failures:")
		for line in "${notes[@]:0:60}"; do SUMMARY+=("    $line"); done
		[ ${#notes[@]} -le 60 ] || SUMMARY+=("    ... $((${#notes[@]} - 60)) more in rig/out/$arch-serial.log")
	fi
}

# ------------------------------------------------------------------ stages

# stage_svm: QEMU TCG emulating an AMD host with SVM and NPT; the reference is
# kvm-amd.
stage_svm() {
	local log="$OUT/svm-serial.log" err="$OUT/svm-qemu.err" rc start
	make_initramfs svm kvm-amd || { rig_failure "svm: could not build the initramfs"; return; }
	say "booting the SVM test VM (QEMU TCG, timeout ${RIG_TIMEOUT}s)"
	start=$SECONDS
	timeout --foreground -k 10 "$RIG_TIMEOUT" qemu-system-x86_64 \
		-M q35 -accel tcg,thread=single -cpu EPYC,+svm -m 2G -smp 2 \
		-nographic -no-reboot -nic none \
		-kernel "/boot/vmlinuz-$KVER" -initrd "$OUT/initramfs-svm.cpio" \
		-append "console=ttyS0 quiet panic=-1 oops=panic log_buf_len=4M" \
		</dev/null 2>"$err" | strip_ansi | tee "$log"
	rc=${PIPESTATUS[0]}
	echo
	say "SVM VM ended after $((SECONDS - start))s, status $rc"
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		rig_failure "svm: the VM was killed after ${RIG_TIMEOUT}s (RIG_TIMEOUT)"
	elif [ "$rc" -ne 0 ]; then
		rig_failure "svm: QEMU failed with status $rc (rig/out/svm-qemu.err)"
		tail -n 20 "$err"
	fi
	parse_log svm "$log"
}

# make_iso DIR ISO: an ISOLINUX CD in ISO booting the kernel with the VMX
# initramfs (Bochs has no direct kernel boot).  The kernel reboots by triple
# fault, which stops Bochs (reset_on_triple_fault=0), so a panic ends the run.
make_iso() {
	local dir=$1 iso=$2
	rm -rf "$dir"
	mkdir -p "$dir/isolinux"
	cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 \
		"$dir/isolinux/" || return 1
	cp "/boot/vmlinuz-$KVER" "$dir/vmlinuz" || return 1
	cp "$OUT/initramfs-vmx.cpio" "$dir/initrd" || return 1
	cat >"$dir/isolinux/isolinux.cfg" <<-EOF
		DEFAULT rig
		PROMPT 0
		TIMEOUT 0
		LABEL rig
		  KERNEL /vmlinuz
		  APPEND initrd=/initrd console=ttyS0,115200 quiet panic=-1 oops=panic reboot=t log_buf_len=4M
	EOF
	genisoimage -quiet -o "$iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
		-no-emul-boot -boot-load-size 4 -boot-info-table "$dir"
}

# bochs_watchdog PID RAW: stop Bochs when the guest is done but did not power
# off, or when it boots a second time (a reboot that was not a triple fault).
bochs_watchdog() {
	local pid=$1 raw=$2
	while kill -0 "$pid" 2>/dev/null; do
		sleep 5
		if grep -q "^$MARK done" "$raw" 2>/dev/null; then
			sleep 60
			break
		fi
		[ "$(grep -c "^$MARK vm-up" "$raw" 2>/dev/null)" -gt 1 ] && break
	done
	kill -TERM "$pid" 2>/dev/null
}

# stage_vmx: Bochs emulating an Intel Skylake-X with VMX, EPT, VPID and
# unrestricted guest; the reference is kvm-intel.
stage_vmx() {
	local log="$OUT/vmx-serial.log" raw="$OUT/vmx-serial.raw"
	local err="$OUT/vmx-bochs.err" rc start pid wd
	SERIAL_PAD=120 make_initramfs vmx kvm-intel ||
		{ rig_failure "vmx: could not build the initramfs"; return; }
	make_iso "$OUT/iso-vmx" "$OUT/vmx.iso" ||
		{ rig_failure "vmx: could not build the boot CD"; return; }
	cat >"$OUT/vmx-bochsrc" <<-EOF
		cpu: model=corei7_haswell_4770, count=$VMX_CPUS, ips=200000000, reset_on_triple_fault=0
		megs: 2048
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
	# Debian's Bochs has its debugger built in: "c" starts the machine.
	echo c >"$OUT/vmx-bochs.rc"
	: >"$raw"
	say "booting the VMX test VM (Bochs, $VMX_CPUS CPUs, timeout ${VMX_TIMEOUT}s)"
	start=$SECONDS
	timeout -k 10 "$VMX_TIMEOUT" bochs -q -f "$OUT/vmx-bochsrc" -rc "$OUT/vmx-bochs.rc" \
		</dev/null >"$err" 2>&1 &
	pid=$!
	trap 'kill -TERM "$pid" 2>/dev/null' INT TERM
	bochs_watchdog "$pid" "$raw" &
	wd=$!
	tail -F -n +1 --pid="$pid" "$raw" 2>/dev/null | strip_ansi | tee "$log"
	wait "$pid"
	rc=$?
	trap - INT TERM
	kill "$wd" 2>/dev/null
	wait "$wd" 2>/dev/null
	strip_ansi <"$raw" >"$log"
	echo
	say "VMX VM ended after $((SECONDS - start))s, status $rc"
	# Bochs reports the guest's ACPI power-off as a panic: status 1.
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		rig_failure "vmx: the VM was killed after ${VMX_TIMEOUT}s (VMX_TIMEOUT)"
	elif [ "$rc" -ne 0 ] && ! grep -q 'ACPI control: soft power off' "$err"; then
		rig_failure "vmx: Bochs failed with status $rc (rig/out/vmx-bochs.err)"
		grep -v '^ALSA' "$err" | tail -n 20
	fi
	parse_log vmx "$log"
}

# The host-side unit tests (the MMIO emulator and page walker, built for
# userspace from the kernel sources): their TAP results count like the
# selftests' do.
run_unit_tests() {
	local log="$OUT/unit-tests.log" pass fail
	say "unit tests (make -C kmod/test run)"
	make -C "$TOP/kmod/test" run >"$log" 2>&1
	pass=$(grep -c '^ok ' "$log")
	fail=$(grep -c '^not ok ' "$log")
	if [ $((pass + fail)) -eq 0 ]; then
		rig_failure "host/unit: the unit tests did not run (see $log)"
		return
	fi
	grep '^not ok ' "$log" | sed 's/^/    host\/unit: /'
	TOTAL_PASS=$((TOTAL_PASS + pass))
	TOTAL_FAIL=$((TOTAL_FAIL + fail))
	SUMMARY+=("host/unit: $pass passed, $fail failed")
}

print_summary() {
	local l
	echo
	echo "==== rig summary (kernel $KVER${TESTS:+, TESTS=$TESTS}, DEVICES=$DEVICES, ${SECONDS}s)"
	for l in "${SUMMARY[@]}"; do echo "$l"; done
	echo "$TOTAL_PASS passed, $TOTAL_FAIL failed, $TOTAL_SKIP skipped"
}

# ------------------------------------------------------------------- main

main() {
	local stages=() s d

	if [ "${1:-}" = "--parse" ]; then
		[ $# -eq 3 ] || { warn "usage: $0 --parse ARCH LOG"; exit 2; }
		KVER=${KVER:-unknown}
		parse_log "$2" "$3"
		print_summary
		[ "$TOTAL_FAIL" -eq 0 ]
		exit
	fi

	case ${1:-all} in
	all) stages=(svm vmx) ;;
	svm) stages=(svm) ;;
	vmx) stages=(vmx) ;;
	*) warn "unknown stage '$1' (known: svm vmx)"; exit 2 ;;
	esac
	case " ${stages[*]} " in *" vmx "*) PACKAGES+=("${VMX_PACKAGES[@]}") ;; esac
	# DEVICES: kvmlite always before kvm, whatever order it was given in.
	for d in $DEVICES; do
		case $d in kvm | kvmlite) ;; *) warn "DEVICES: unknown device '$d'"; exit 2 ;; esac
	done
	d=$DEVICES DEVICES=""
	case " $d " in *" kvmlite "*) DEVICES="kvmlite" ;; esac
	case " $d " in *" kvm "*) DEVICES="${DEVICES:+$DEVICES }kvm" ;; esac
	[ -n "$DEVICES" ] || { warn "DEVICES: none of kvmlite kvm"; exit 2; }
	[[ $TESTS =~ ^[A-Za-z0-9_.\ -]*$ ]] || { warn "TESTS: only names, spaces"; exit 2; }

	mkdir -p "$OUT"
	# One rig run at a time in this checkout.
	exec 9>"$OUT/.lock"
	flock -n 9 || { warn "another rig run holds $OUT/.lock; waiting"; flock 9; }

	ensure_packages || { warn "could not install ${PACKAGES[*]}"; exit 1; }
	find_kver || exit 1
	say "kernel $KVER"

	case " $DEVICES " in *" kvmlite "*) build_module ;; esac
	build_selftests
	build_client
	run_unit_tests

	for s in "${stages[@]}"; do
		"stage_$s"
	done

	print_summary
	[ "$TOTAL_FAIL" -eq 0 ]
}

main "$@"
