#!/usr/bin/env bash
# build.sh: prepare the SAN lab's kernel and base initramfs.
#
#   lab/build.sh [CACHE_DIR]     (default /var/cache/vmstor-lab)
#
# Picks the newest Debian linux-image-6.1.0-N-amd64 that apt knows, downloads it
# (apt-get download: never installed), extracts it with dpkg-deb -x, and builds
# CACHE_DIR/<kver>/base-<stamp>.cpio.gz: busybox-static, the kernel modules
# the lab needs with their dependencies (modules.dep from depmod -b), and the
# host's dmsetup, lvm, iscsid, iscsiadm and lsblk with their shared libraries
# (found with ldd). The stamp hashes this script and the guest /init, so an
# edit rebuilds; an unchanged tree reuses the cache. vmstor itself is not in
# the base: the Go harness appends it as a second cpio archive at every run.
#
# Prints the kernel directory (CACHE_DIR/<kver>) on its last line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${1:-${VMSTOR_LAB_CACHE:-/var/cache/vmstor-lab}}
mkdir -p "$cache/dl"

need() { command -v "$1" >/dev/null || { echo "build.sh: $1 not found: install $2 (or run .ci/setup.d/40-lab.sh)" >&2; exit 2; }; }
need busybox busybox-static
need depmod kmod
need dmsetup dmsetup
need lvm lvm2
need iscsid open-iscsi
need iscsiadm open-iscsi
need lsblk util-linux
need dpkg-deb dpkg
[ -x /bin/busybox ] && file_bb=/bin/busybox || file_bb=$(command -v busybox)

# The kernel: the newest 6.1 image apt knows. Reuse a cached one when apt
# cannot answer (offline machine with a warm cache).
find_pkg() { apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null | awk '{print $1}' | sort -V | tail -1 || true; }
pkg=$(find_pkg)
if [ -z "$pkg" ] && ! ls -d "$cache"/6.1.0-*-amd64 >/dev/null 2>&1; then
	apt-get update -qq >&2 || true
	pkg=$(find_pkg)
fi
if [ -z "$pkg" ]; then
	kver=$(ls -1 "$cache" | grep -E '^6\.1\.0-[0-9]+-amd64$' | sort -V | tail -1 || true)
	[ -n "$kver" ] || { echo "build.sh: apt-cache knows no linux-image-6.1.0-*-amd64 and the cache is empty: run apt-get update" >&2; exit 2; }
else
	kver=${pkg#linux-image-}
fi
kdir=$cache/$kver
if [ ! -s "$kdir/vmlinuz" ]; then
	if ! ls "$cache/dl/$pkg"_*.deb >/dev/null 2>&1; then
		(cd "$cache/dl" && apt-get download "$pkg" 2>&1 | grep -v 'unsandboxed' >&2 || true)
	fi
	deb=$(ls -1 "$cache/dl/$pkg"_*.deb | sort -V | tail -1)
	rm -rf "$kdir.tmp" && mkdir -p "$kdir.tmp"
	dpkg-deb -x "$deb" "$kdir.tmp/root"
	cp "$kdir.tmp/root/boot/vmlinuz-$kver" "$kdir.tmp/vmlinuz"
	depmod -b "$kdir.tmp/root" "$kver"
	rm -rf "$kdir" && mv "$kdir.tmp" "$kdir"
fi

stamp=$(cat "$0" "$here/assets/init" | sha256sum | cut -c1-12)
base=$kdir/base-$stamp.cpio.gz
if [ -s "$base" ]; then
	echo "$kdir"
	exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
r=$work/root
mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,lib,lib64,etc,proc,sys,dev,run,tmp,mnt,var/lock,lab}
cp "$file_bb" "$r/bin/busybox"
for a in $("$r/bin/busybox" --list); do
	[ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
done
# The kernel's request_module() runs /sbin/modprobe (crypto-crc32c for
# iSCSI digests, target_core_* backends).
ln -s ../bin/busybox "$r/sbin/modprobe"

# Modules: the closure of what the guest loads, laid out as in the package so
# depmod -b can index it and busybox modprobe can load it by name.
mods=(virtio_pci virtio_scsi virtio_console sd_mod sg
	dm_mod dm_multipath dm_round_robin dm_crypt xts
	ext4 loop
	iscsi_tcp configfs target_core_mod iscsi_target_mod target_core_file target_core_iblock)
for m in "${mods[@]}"; do
	modprobe -d "$kdir/root" -S "$kver" --show-depends "$m" | awk '$1=="insmod"{print $2}'
done | sort -u | while read -r ko; do
	rel=${ko#"$kdir/root/"}
	mkdir -p "$r/$(dirname "$rel")"
	cp "$ko" "$r/$rel"
done
for f in modules.order modules.builtin modules.builtin.modinfo; do
	[ -e "$kdir/root/lib/modules/$kver/$f" ] && cp "$kdir/root/lib/modules/$kver/$f" "$r/lib/modules/$kver/"
done
depmod -b "$r" "$kver"

# Host tools with their shared libraries.
copy_bin() { # copy_bin PATH: the binary and every library ldd names
	local b=$1
	mkdir -p "$r$(dirname "$b")"
	cp -L "$b" "$r$b"
	ldd "$b" 2>/dev/null | awk '/=>/ {print $3} /^\t\/lib64/ {print $1}' | while read -r lib; do
		[ -n "$lib" ] && [ -e "$lib" ] || continue
		mkdir -p "$r$(dirname "$lib")"
		cp -Ln "$lib" "$r$lib"
	done
}
for b in $(command -v dmsetup lvm iscsid iscsiadm lsblk); do copy_bin "$b"; done
# Debian's /lib is a symlink to usr/lib on merged-/usr hosts: mirror both views.
for d in lib lib64; do
	if [ -d "$r/usr/$d" ]; then cp -a "$r/usr/$d/." "$r/$d/"; fi
done
for l in vgcreate pvcreate lvcreate vgchange vgs lvs pvs; do ln -sf lvm "$r$(dirname "$(command -v lvm)")/$l"; done

# Configuration: LVM without udev or lvmetad, open-iscsi with short timeouts
# so a dead target fails fast instead of queueing I/O for two minutes.
mkdir -p "$r/etc/lvm" "$r/etc/iscsi" "$r/run/lock/iscsi" "$r/var/lib/iscsi" "$r/run/lvm"
cat >"$r/etc/lvm/lvm.conf" <<'EOF'
devices {
	filter = [ "a|^/dev/mapper/|", "a|^/dev/dm-|", "r|.*|" ]
	obtain_device_list_from_udev = 0
	use_devicesfile = 0
	multipath_component_detection = 1
}
activation {
	udev_sync = 0
	udev_rules = 0
	monitoring = 0
}
global {
	use_lvmpolld = 0
	locking_dir = "/run/lock/lvm"
}
EOF
echo "InitiatorName=iqn.2005-03.org.open-iscsi:vmstor-lab-guest" >"$r/etc/iscsi/initiatorname.iscsi"
cat >"$r/etc/iscsi/iscsid.conf" <<'EOF'
node.startup = manual
node.session.timeo.replacement_timeout = 5
node.conn[0].timeo.login_timeout = 5
node.conn[0].timeo.logout_timeout = 5
node.conn[0].timeo.noop_out_interval = 2
node.conn[0].timeo.noop_out_timeout = 2
node.session.initial_login_retry_max = 2
EOF
echo "root:x:0:0:root:/root:/bin/sh" >"$r/etc/passwd"
echo "root:x:0:" >"$r/etc/group"

cp "$here/assets/init" "$r/init"
chmod 755 "$r/init"

(cd "$r" && find . | cpio -o -H newc --quiet | gzip -1) >"$base.tmp"
mv "$base.tmp" "$base"
# Keep only the current base for this kernel.
find "$kdir" -maxdepth 1 -name 'base-*.cpio.gz' ! -name "base-$stamp.cpio.gz" -delete
echo "$kdir"
