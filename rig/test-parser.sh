#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Checks rig/check.sh's log parser on crafted serial logs in rig/testdata/.
# Usage: bash rig/test-parser.sh   (no VM, no build; a few seconds)
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")" || exit 2

bad=0
# expect LOG EXIT "LAST LINE"
expect() {
	local out rc last
	out=$(DEVICES="kvmlite kvm" bash ./check.sh --parse svm "testdata/$1" 2>&1)
	rc=$?
	last=$(tail -n 1 <<<"$out")
	if [ "$rc" != "$2" ] || [ "$last" != "$3" ]; then
		echo "FAIL $1: exit $rc (want $2), last line '$last' (want '$3')"
		printf '    %s\n' "${out//$'\n'/$'\n'    }"
		bad=$((bad + 1))
	else
		echo "ok   $1: $last"
	fi
}

# 3+3 results, 1 SKIP result, 1 skipped program (1..0), SRSO boot noise ignored
expect clean.log 0 "5 passed, 0 failed, 2 skipped"
# + rmmod failure, WARNING and unreferenced object in the kernel log
expect warn.log 1 "5 passed, 3 failed, 2 skipped"
# kvmlite: 1 not ok + 2 missing (alpha), gamma no output = 4;
# kvm: 3 missing + stage unfinished = 4; console: BUG, gpf, panic = 3
expect crash.log 1 "2 passed, 11 failed, 0 skipped"

[ $bad -eq 0 ] && echo "parser: all cases pass"
exit $bad
