# 40-lab.sh: the SAN lab (lab/, docs/lab.md). Sourced by .ci/run (bash,
# set -euo pipefail, root, apt_install available). Idempotent.
#
# Installs the Debian packages whose binaries go into the guest's initramfs
# (busybox-static, kmod, lvm2, dmsetup, open-iscsi, util-linux's lsblk),
# QEMU for the TCG guest, e2fsprogs for the LUN images; then lab/build.sh
# downloads the newest linux-image-6.1.0-*-amd64 (apt-get download, never
# installed) and builds the base initramfs into /var/cache/vmstor-lab, keyed
# by kernel version and a hash of the builder: a warm machine does nothing.
# open-iscsi's and lvm2's maintainer scripts only enable systemd units; no
# daemon is started on the host.
apt_install busybox-static cpio kmod qemu-system-x86 lvm2 dmsetup open-iscsi util-linux e2fsprogs xz-utils
lab_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../lab" && pwd)
bash "$lab_dir/build.sh" "${VMSTOR_LAB_CACHE:-/var/cache/vmstor-lab}" >/dev/null
