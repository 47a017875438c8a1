#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Build the busybox initramfs the kvmlite client boots as its guest:
#	guest/mkinitramfs.sh OUT.cpio.gz
# Needs the static busybox of busybox-static at /bin/busybox, and cpio.
set -eu
out=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if readelf -l /bin/busybox 2>/dev/null | grep -q 'program interpreter'; then
	echo "mkinitramfs: /bin/busybox is not static (install busybox-static)" >&2
	exit 1
fi
mkdir -p "$tmp/bin" "$tmp/sbin" "$tmp/usr/bin" "$tmp/usr/sbin" "$tmp/proc" \
	"$tmp/sys" "$tmp/dev" "$tmp/tmp" "$tmp/etc" "$tmp/root"
cp /bin/busybox "$tmp/bin/busybox"
for applet in $(/bin/busybox --list-full); do
	[ -e "$tmp/$applet" ] || ln -s /bin/busybox "$tmp/$applet"
done
cp "$here/init" "$tmp/init"
chmod 755 "$tmp/init"
echo "root:x:0:0:root:/root:/bin/sh" >"$tmp/etc/passwd"
(cd "$tmp" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -9 >"$out.tmp"
mv "$out.tmp" "$out"
