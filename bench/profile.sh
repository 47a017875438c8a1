#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Where the instructions of one benchmark go, function by function, in the
# SVM rig (a developer tool; make bench does not run it).
#
#   bench/profile.sh BENCHMARK [DEVICE...]     (default: kvmlite kvm)
#   bench/profile.sh linux_boot                 exits of the boot, by kind
#
# For each device it boots the rig twice under QEMU's insnprof plugin
# (bench/insnprof/insnprof.c counts every executed instruction address),
# running only BENCHMARK (a kvmbench name: cpuid, pio_out, pio_in,
# mmio_write, mmio_read, hlt_irq) with KVMBENCH_SCALE=1 and =2 (touch: once,
# then twice; figures per 4 KiB page, the process's exit included).  With icount
# both boots are identical but for the extra iterations, so the difference
# is exactly their cost: bench/insnprof/analyze.py names the addresses
# (/proc/kallsyms, dumped by the VM, and nm of kvmbench) and prints
# instructions and calls per iteration by function, into
# bench/results/profile-BENCHMARK-DEVICE.txt.  Each boot takes a few
# minutes (the plugin slows QEMU down).  Needs gcc and python3.
#
# Environment: BENCH_REV, BENCH_MODULE, BENCH_OUT as bench/run.sh.

# shellcheck source=bench/run.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/run.sh"

# The Linux boot: one rig boot counting the exits by kind on both devices
# (kprobes on kvmlite's handlers, KVM's kvm_exit tracepoint); the boot time
# it prints is perturbed by the counting.
profile_boot() {
	local log="$OUT/profile-linux_boot.log"
	mkdir -p "$OUT" "$RESULTS"
	exec 9>"$OUT/.lock"
	flock -n 9 || { warn "another bench run holds $OUT/.lock; waiting"; flock 9; }
	ensure_packages "${PACKAGES[@]}" || exit 1
	find_kver || exit 1
	build_all "/lib/modules/$KVER/build" || exit 1
	[ -n "$CLIENT" ] || { warn "no client: no boot to count"; exit 1; }
	BENCHES=boot EXITSTATS=1 make_initramfs svm kvm-amd || exit 1
	boot_svm "$log" || exit 1
	{
		echo "exits during the Linux boot benchmark (SVM rig, kernel $KVER${BENCH_REV:+, revision $BENCH_REV})"
		echo "kvmlite: kprobe hits per function (kprobe_profile: event, hits, misses)"
		sed -n "s/^$MARK-EXITS kvmlite //p" "$log"
		echo "KVM: hist of kvm_exit (SVM exit codes), kvm_userspace_exit, kvm_page_fault"
		sed -n "s/^$MARK-EXITS kvm //p" "$log"
		grep "^$MARK linux_boot\|^$MARK-STAGE" "$log"
	} | tee "$RESULTS/profile-linux_boot.txt"
}

profile_main() {
	local bench=${1:-} devices dev scale iters log pcs plugin="$OUT/libinsnprof.so"
	[ -n "$bench" ] || { warn "usage: $0 BENCHMARK [DEVICE...]"; exit 2; }
	shift
	devices=${*:-kvmlite kvm}
	case $bench in
	linux_boot) profile_boot; return ;;
	cpuid) iters=50000 ;;
	pio_out | pio_in | mmio_write | mmio_read | hlt_irq) iters=20000 ;;
	touch) iters=65536 ;;	# per 4 KiB page: one run, then two
	*) warn "profile.sh measures the exit benchmarks and touch only, not '$bench'"; exit 2 ;;
	esac
	mkdir -p "$OUT" "$RESULTS"
	exec 9>"$OUT/.lock"
	flock -n 9 || { warn "another bench run holds $OUT/.lock; waiting"; flock 9; }
	ensure_packages "${PACKAGES[@]}" python3 || exit 1
	find_kver || exit 1
	build_all "/lib/modules/$KVER/build" || exit 1
	CLIENT=""	# no Linux boot benchmark in a profile
	gcc -shared -fPIC -O2 -Wall -o "$plugin" "$BENCH_DIR/insnprof/insnprof.c" || exit 1

	for dev in $devices; do
		for scale in 1 2; do
			log="$OUT/profile-$bench-$dev-$scale.log"
			pcs="$OUT/profile-$bench-$dev-$scale.pcs"
			benches=$bench
			[ "$bench" = touch ] && [ "$scale" = 2 ] && benches="touch touch"
			BENCH_DEVICES=$dev BENCHES=$benches KVMBENCH_SCALE=$scale PROFILE=1 \
				make_initramfs svm kvm-amd || exit 1
			boot_svm "$log" -plugin "$plugin,out=$pcs" || exit 1
			[ -s "$pcs" ] || { warn "no counts in $pcs"; exit 1; }
		done
		python3 "$BENCH_DIR/insnprof/analyze.py" --iters "$iters" \
			--log "$log" \
			--binary "$BENCH_DIR/build/kvmbench" \
			--title "$bench on /dev/$dev (SVM rig, kernel $KVER, ${BENCH_REV:+revision $BENCH_REV, }instructions per iteration)" \
			"$OUT/profile-$bench-$dev-1.pcs" "$OUT/profile-$bench-$dev-2.pcs" |
			tee "$RESULTS/profile-$bench-$dev.txt"
	done
}

profile_main "$@"
