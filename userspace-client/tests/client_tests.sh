#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kvmlite client tests, run in the rig's test VM (busybox sh) against a device:
#	client_tests.sh /dev/kvmlite [DIR]
# DIR (default: this script's directory) holds kvmlite, vmlinuz (the guest
# kernel), guest.cpio.gz (guest/mkinitramfs.sh) and fault.img
# (tests/mkfault.sh).  Prints TAP after "# selftest: kvmlite_client".
#
# Boot tests wait for the guest with BOOT_TIMEOUT (default 150 s); once a
# boot failed, later boots are not tried (they fail at once, saying so).

DEV=${1:-/dev/kvmlite}
DIR=${2:-$(cd "$(dirname "$0")" && pwd)}
BOOT_TIMEOUT=${BOOT_TIMEOUT:-150}
KVMLITE="$DIR/kvmlite"
KERNEL="$DIR/vmlinuz"
INITRD="$DIR/guest.cpio.gz"
T=/tmp/kvmlite-client-tests
rm -rf "$T"
mkdir -p "$T"

NTESTS=24
n=0
failed=0
booting_works=1
echo "# selftest: kvmlite_client"
echo "1..$NTESTS"

ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
# check COND-STATUS NAME: ok when COND-STATUS is 0
check() { if [ "$1" -eq 0 ]; then ok "$2"; else not_ok "$2"; fi; }
diag() { sed 's/^/# /' "$@"; }
now_cs() { # host uptime in centiseconds
	read -r up _ </proc/uptime
	echo "${up%.*}${up#*.}"
}

# wait_for FILE PATTERN SECONDS [PID]: until FILE has PATTERN (a fixed
# string); fails at the timeout or when PID ended first.  Patterns must not
# occur in the command that was typed (the guest echoes it).
wait_for() { _wait_grep -F "$@"; }
# wait_for_re: the same with an extended regular expression
wait_for_re() { _wait_grep -E "$@"; }
_wait_grep() {
	_end=$(( $(now_cs) + $4 * 100 ))
	while [ "$(now_cs)" -lt "$_end" ]; do
		grep -q "$1" -- "$3" "$2" 2>/dev/null && return 0
		if [ -n "${5:-}" ] && ! kill -0 "$5" 2>/dev/null; then
			grep -q "$1" -- "$3" "$2" 2>/dev/null
			return
		fi
		sleep 0.05
	done
	return 1
}

# wait_exit PID SECONDS: the client's exit status (124 if it had to be killed)
wait_exit() {
	_end=$(( $(now_cs) + $2 * 100 ))
	while kill -0 "$1" 2>/dev/null && [ "$(now_cs)" -lt "$_end" ]; do
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then
		# Hung: a state dump (SIGUSR2), then a clean stop (SIGTERM writes
		# the VGA dump), and only then SIGKILL.
		kill -USR2 "$1" 2>/dev/null
		sleep 1
		kill -TERM "$1" 2>/dev/null
		_end=$(( $(now_cs) + 1000 ))
		while kill -0 "$1" 2>/dev/null && [ "$(now_cs)" -lt "$_end" ]; do
			sleep 0.1
		done
		kill -KILL "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		return 124
	fi
	wait "$1"
}

# start NAME ARGS...: the client in the background, stdin from the fifo
# $T/NAME.in, output (both streams) in $T/NAME.out; sets $pid.
start() {
	_name=$1
	shift
	rm -f "$T/$_name.in"
	mkfifo "$T/$_name.in"
	"$KVMLITE" run --dev "$DEV" "$@" <"$T/$_name.in" >"$T/$_name.out" 2>&1 &
	pid=$!
	exec 3>"$T/$_name.in"	# keeps the client's stdin open
}
send() { printf '%s\n' "$*" >&3; }
finish() { exec 3>&-; }

# skip_boot COUNT WHAT: a boot test not tried because booting already failed
skip_boot() {
	_i=0
	while [ $_i -lt "$1" ]; do
		not_ok "$2 (not tried: the guest did not boot in an earlier test)"
		_i=$((_i + 1))
	done
}

echo "# device $DEV, guest kernel $(basename "$(readlink -f "$KERNEL")"), $(uname -r)"

# ------------------------------------------------ 1-8: serial console boot
if [ -c "$DEV" ]; then
	t0=$(now_cs)
	start serial -k "$KERNEL" -i "$INITRD" -p "console=ttyS0 quiet" -m 256M
	if wait_for "$T/serial.out" KVMLITE-GUEST-READY "$BOOT_TIMEOUT" "$pid" &&
	   wait_for "$T/serial.out" "guest:/# " 30 "$pid"; then
		t1=$(now_cs)
		sleep 1
		ok "boot: Linux reaches the guest shell on the serial console ($(( (t1 - t0) / 100 )).$(( (t1 - t0) % 100 / 10 )) s)"
		echo "# boot time on $DEV: $(( (t1 - t0) / 100 )).$(( (t1 - t0) % 100 / 10 )) s to the shell"
	else
		not_ok "boot: Linux reaches the guest shell on the serial console"
		booting_works=0
	fi
else
	not_ok "boot: $DEV does not exist"
	booting_works=0
fi
if [ $booting_works -eq 1 ]; then
	grep -q "kvmlite guest $(uname -r)" "$T/serial.out"
	check $? "console: the guest's init banner names the kernel $(uname -r)"
	send 'echo answer-$((6*7))'
	wait_for "$T/serial.out" "answer-42" 30 "$pid"
	check $? "stdin: a command typed on the client's stdin runs (answer-42)"
	send 'echo mem-$(sed -n "s/^MemTotal: *\([0-9]*\).*/\1/p" /proc/meminfo)-kB'
	wait_for_re "$T/serial.out" "^mem-[0-9]+-kB" 30 "$pid"
	mem=$(sed -n 's/^mem-\([0-9]*\)-kB.*/\1/p' "$T/serial.out" | tail -n 1)
	[ -n "$mem" ] && [ "$mem" -gt 150000 ] && [ "$mem" -lt 262144 ]
	check $? "stdin: the guest sees the memory of -m 256M (MemTotal ${mem:-?} kB)"
	send 'echo rtc-$(date -u +%Y)'
	wait_for "$T/serial.out" "rtc-$(date -u +%Y)" 30 "$pid"
	check $? "rtc: the guest's clock starts at the host's date ($(date -u +%Y))"
	# Guest time keeps real time: "sleep 5" in the guest, timed on the host
	# by when its lines arrive.  The host's own scheduling delays the
	# lines now and then, so a busy host gets three tries.
	took=""
	for try in 1 2 3; do
		send "echo sleep-$try-\$((1+1))-begin; sleep 5; echo sleep-$try-\$((1+2))-end"
		wait_for "$T/serial.out" "sleep-$try-2-begin" 30 "$pid"
		s0=$(now_cs)
		wait_for "$T/serial.out" "sleep-$try-3-end" 30 "$pid"
		s1=$(now_cs)
		d=$((s1 - s0))
		took="$took $((d / 100)).$((d % 100 / 10))"
		[ "$d" -ge 475 ] && [ "$d" -le 525 ] && break
	done
	[ "$d" -ge 475 ] && [ "$d" -le 525 ]
	check $? "time: sleep 5 in the guest takes 5 s +-5% of host time (took${took} s)"
	send 'poweroff'
	wait_exit "$pid" 60
	rc=$?
	finish
	[ $rc -eq 0 ]
	check $? "poweroff: busybox poweroff ends the client with status 0 (status $rc)"
	grep -q "kvmlite: guest powered off" "$T/serial.out"
	check $? "poweroff: the client says 'guest powered off'"
	[ $rc -eq 0 ] || diag "$T/serial.out"
else
	kill -KILL "$pid" 2>/dev/null
	finish
	[ -f "$T/serial.out" ] && tail -n 40 "$T/serial.out" | diag
	skip_boot 7 "serial console boot"
fi

# ---------------------------------------------------------- 9-10: reboot
if [ $booting_works -eq 1 ]; then
	start reboot -k "$KERNEL" -i "$INITRD" -p "console=ttyS0 quiet"
	if wait_for "$T/reboot.out" "guest:/# " "$BOOT_TIMEOUT" "$pid"; then
		sleep 1
		send 'reboot'
		wait_exit "$pid" 60
		rc=$?
	else
		kill -KILL "$pid" 2>/dev/null
		rc=125
	fi
	finish
	[ $rc -eq 0 ]
	check $? "reboot: busybox reboot ends the client with status 0 (status $rc)"
	grep -q "kvmlite: guest rebooted" "$T/reboot.out"
	check $? "reboot: the client says 'guest rebooted'"
	[ $rc -eq 0 ] || tail -n 30 "$T/reboot.out" | diag
else
	skip_boot 2 "reboot"
fi

# ------------------------------------------------ 11-12: VGA text console
if [ $booting_works -eq 1 ]; then
	"$KVMLITE" run --dev "$DEV" -k "$KERNEL" -i "$INITRD" \
		-p "console=tty0 kvmlite.mode=vga" --vga-dump "$T/vga.txt" \
		</dev/null >"$T/vga.out" 2>&1 &
	pid=$!
	wait_exit "$pid" "$BOOT_TIMEOUT"
	rc=$?
	[ $rc -eq 0 ] && grep -q "guest powered off" "$T/vga.out"
	check $? "vga: a console=tty0 boot powers off (status $rc)"
	grep -q "KVMLITE-VGA-MARKER $(uname -r)" "$T/vga.txt" 2>/dev/null
	check $? "vga: --vga-dump shows the guest's text screen with its marker"
	[ -f "$T/vga.txt" ] && diag "$T/vga.txt"
	[ $rc -eq 0 ] || tail -n 40 "$T/vga.out" | diag
else
	skip_boot 2 "vga"
fi

# ---------------------------------------- 13-14: PS/2 keyboard + --display vga
if [ $booting_works -eq 1 ]; then
	start kbd -k "$KERNEL" -i "$INITRD" -p "console=tty0 quiet" --display vga \
		--vga-dump "$T/kbd.txt"
	if wait_for "$T/kbd.out" "guest:/# " "$BOOT_TIMEOUT" "$pid"; then
		sleep 1
		send 'echo kbd-$((6*7))'
		wait_for "$T/kbd.out" "kbd-42" 30 "$pid"
		r1=$?
		send 'poweroff -f'
		wait_exit "$pid" 60
		rc=$?
	else
		kill -KILL "$pid" 2>/dev/null
		r1=1 rc=125
	fi
	finish
	[ $r1 -eq 0 ] && grep -q "kbd-42" "$T/kbd.txt" 2>/dev/null
	check $? "keyboard: typing on stdin with --display vga reaches the shell on tty0 (kbd-42)"
	[ $rc -eq 0 ]
	check $? "keyboard: poweroff typed on the PS/2 keyboard ends the client (status $rc)"
	[ -f "$T/kbd.txt" ] && diag "$T/kbd.txt"
else
	skip_boot 2 "keyboard"
fi

# ------------------------------------------------------- 15: SIGTERM
if [ -c "$DEV" ]; then
	start sigterm -k "$KERNEL" -i "$INITRD" -p "console=ttyS0"
	sleep 3
	kill -TERM "$pid"
	wait_exit "$pid" 10
	rc=$?
	finish
	[ $rc -eq 143 ] && grep -q "kvmlite: terminated by" "$T/sigterm.out"
	check $? "signal: SIGTERM during boot ends the client at once (status $rc, 143 expected)"
else
	not_ok "signal: $DEV does not exist"
fi

# -------------------------------------------------- 16: triple fault
"$KVMLITE" run --dev "$DEV" -k "$DIR/fault.img" </dev/null >"$T/fault.out" 2>&1 &
wait_exit $! 30
rc=$?
[ $rc -eq 2 ] && grep -q "triple fault" "$T/fault.out" && grep -q " rip " "$T/fault.out"
check $? "crash: a triple fault ends the client with status 2 and a register dump (status $rc)"
diag "$T/fault.out"

# ------------------------------------------ 17-24: bad input, one line, status 1
# bad_input NAME ARGS...: the client fails at once with status 1 and one line
bad_input() {
	_name=$1
	shift
	"$KVMLITE" "$@" </dev/null >"$T/bad.out" 2>&1 &
	wait_exit $! 30
	_rc=$?
	_lines=$(wc -l <"$T/bad.out")
	[ $_rc -eq 1 ] && [ "$_lines" -eq 1 ] && grep -q "^kvmlite: " "$T/bad.out"
	check $? "bad input: $_name: status 1 (got $_rc) and one line: $(head -n 1 "$T/bad.out")"
}
echo "not a kernel" >"$T/notakernel"
bad_input "missing kernel" run --dev "$DEV" -k "$T/no-such-kernel"
bad_input "not a bzImage" run --dev "$DEV" -k "$T/notakernel"
bad_input "kernel too large for -m 16M" run --dev "$DEV" -k "$KERNEL" -m 16M
bad_input "missing initrd" run --dev "$DEV" -k "$KERNEL" -i "$T/no-such-initrd"
bad_input "missing device" run --dev /dev/no-such-kvm -k "$KERNEL"
bad_input "not a KVM device (/dev/null)" run --dev /dev/null -k "$KERNEL"
bad_input "bad memory size" run --dev "$DEV" -k "$KERNEL" -m lots
bad_input "-c 2 (no APIC for SMP)" run --dev "$DEV" -k "$KERNEL" -c 2

[ $n -eq $NTESTS ] || echo "# client_tests.sh: ran $n tests, planned $NTESTS"
[ $failed -eq 0 ]
