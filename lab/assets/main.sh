# main.sh: the SAN lab's main scenario, sourced by /init (section, note).
#
# LUNs from QEMU (see lab_test.go): NetApp ONTAP on two paths (MBR partition
# with ext4 holding vm1.img), Pure FlashArray on two paths (LVM), HPE 3PAR on
# one path (dm-crypt), a LUN without NAA id (linear map), Hitachi "victims"
# for the removal fault. Then an in-guest LIO iSCSI target on loopback.

IQN=iqn.2003-01.org.linux-iscsi.vmstor-lab:target1
T=/sys/kernel/config/target
TPG=$T/iscsi/$IQN/tpgt_1

by_wwid() {
	for d in /sys/block/sd*; do
		if [ "$(cat "$d/device/wwid" 2>/dev/null)" = "$1" ]; then echo "${d##*/}"; fi
	done
}
by_vendor() {
	for d in /sys/block/sd*; do
		v=$(cat "$d/device/vendor" 2>/dev/null)
		if [ "${v%% *}" = "$1" ]; then echo "${d##*/}"; fi
	done
}
devno() { cat "/sys/block/$1/dev"; }
sectors() { cat "/sys/block/$1/size"; }
# dm: dmsetup without udev (none runs here); mknodes makes /dev/mapper/*.
dm() { dmsetup --noudevsync "$@" && dmsetup mknodes; }
dmdevno() { dmsetup info -c --noheadings -o major,minor --separator : "$1"; }

setup_dm() (
	set -e
	set -- $(by_wwid naa.600a098038303053)
	NA1=$1 NA2=$2
	set -- $(by_wwid naa.624a9370c0ffee01)
	PU1=$1 PU2=$2
	HP=$(by_wwid naa.60002ac0000004d2)
	NO=$(by_vendor ACME)
	echo "netapp=$NA1,$NA2 pure=$PU1,$PU2 3par=$HP nonaa=$NO"

	# NetApp: multipath map, its partition map (what kpartx makes), ext4.
	dm create mpatha -u mpath-3600a098038303053 --table "0 $(sectors "$NA1") multipath 0 0 1 1 round-robin 0 2 1 $(devno "$NA1") 1000 $(devno "$NA2") 1000"
	p=/sys/block/$NA1/${NA1}1
	dm create mpatha1 -u part1-mpath-3600a098038303053 --table "0 $(cat "$p/size") linear $(dmdevno mpatha) $(cat "$p/start")"
	mkdir -p /vmstore
	mount -t ext4 /dev/mapper/mpatha1 /vmstore

	# Pure: multipath map, LVM volume group, a filesystem LV and a raw LV.
	dm create mpathb -u mpath-3624a9370c0ffee01 --table "0 $(sectors "$PU1") multipath 0 0 1 1 round-robin 0 2 1 $(devno "$PU1") 1000 $(devno "$PU2") 1000"
	lvm pvcreate -q /dev/mapper/mpathb
	lvm vgcreate -q vglab /dev/mapper/mpathb
	lvm lvcreate -q -Zn -L 24M -n vmfs vglab
	lvm lvcreate -q -Zn -L 8M -n rawdisk vglab
	lvm vgmknodes -q vglab
	mke2fs -q /dev/vglab/vmfs
	mkdir -p /vmlvm
	mount -t ext4 /dev/vglab/vmfs /vmlvm
	dd if=/dev/zero of=/vmlvm/vm2.img bs=64k count=16 2>/dev/null

	# 3PAR: plain dm-crypt (the key is a lab constant, not a secret).
	dm create crypt3par -u CRYPT-PLAIN-crypt3par --table "0 $(sectors "$HP") crypt aes-xts-plain64 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f 0 $(devno "$HP") 0"

	# The LUN with no NAA id: a linear map over half of it.
	dm create lin-nonaa --table "0 $(($(sectors "$NO") / 2)) linear $(devno "$NO") 0"
	dmsetup table
)

setup_iscsi() (
	set -e
	modprobe target_core_mod
	modprobe iscsi_target_mod
	modprobe iscsi_tcp
	modprobe crc32c-intel || modprobe crc32c_generic
	B=$T/core/rd_mcp_0/lab0
	mkdir -p "$B"
	echo rd_pages=8192 >"$B/control"
	echo 5a1ebeef-0000-4c0f-9e7a-00000000a001 >"$B/wwn/vpd_unit_serial"
	echo lab0 >"$B/wwn/product_id"
	echo 1 >"$B/enable"
	mkdir -p "$TPG/lun/lun_0"
	ln -s "$B" "$TPG/lun/lun_0/lab0"
	mkdir "$TPG/np/127.0.0.1:3260"
	echo 0 >"$TPG/attrib/authentication"
	echo 1 >"$TPG/attrib/generate_node_acls"
	echo 1 >"$TPG/attrib/cache_dynamic_acls"
	echo 0 >"$TPG/attrib/demo_mode_write_protect"
	echo 1 >"$TPG/enable"
	ip link set lo up
	iscsid
	sleep 1
	iscsiadm -m discovery -t sendtargets -p 127.0.0.1:3260
	iscsiadm -m node -T "$IQN" -p 127.0.0.1:3260 --login
	i=0
	while [ -z "$(by_vendor LIO-ORG)" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	echo "iscsi=$(by_vendor LIO-ORG)"
)

section setup-dm setup_dm
section setup-iscsi setup_iscsi
section lsblk lsblk -J -O
section wwid sh -c 'for d in /sys/block/sd*; do echo "${d##*/} $(cat $d/device/wwid) $(cat $d/device/vendor)"; done'
section mounts cat /proc/self/mountinfo
section sysfs-attrs sh -c 'set -- /sys/block/sd*; ls $1/device/; for f in $1/device/vpd_pg*; do echo "$f: $(od -An -tx1 $f | head -2 | tr -d "\n")"; done'

section storage vmstor storage -o json
clean_ms=$_ms
section which-vm1 vmstor which /vmstore/vm1.img -o json
section which-vm2 vmstor which /vmlvm/vm2.img -o json
section which-rawdisk vmstor which /dev/vglab/rawdisk -o json
section which-crypt vmstor which /dev/mapper/crypt3par -o json
section which-nonaa vmstor which /dev/mapper/lin-nonaa -o json

# Fault 1: one path of the NetApp LUN goes offline; the other remains.
set -- $(by_wwid naa.600a098038303053)
note "offline $2"
echo offline >"/sys/block/$2/device/state"
section storage-offline vmstor storage -o json
echo running >"/sys/block/$2/device/state"

# Fault 2: devices deleted while a scan runs. The deletions are spread over
# the first third of the time the clean scan took, so they land mid-scan.
victims=$(by_vendor HITACHI)
note "victims $(echo $victims)"
n=$(echo $victims | wc -w)
step_us=$((clean_ms * 1000 / (3 * n)))
note "delete-step-us $step_us"
scan_delete() {
	vmstor storage -o json &
	pid=$!
	for v in $victims; do
		usleep "$step_us"
		echo 1 >"/sys/block/$v/device/delete" && echo "deleted $v" >&2
	done
	wait $pid
}
section storage-delete scan_delete

# Fault 3: the iSCSI target stops answering. Disabling the TPG drops the
# session; the initiator keeps retrying and the device is blocked until the
# replacement timeout (20 s here) makes it transport-offline. The scan runs
# inside that window under a 15 s guard, so a hang shows as rc=124.
iscsiadm -m node -T "$IQN" -p 127.0.0.1:3260 -o update -n node.session.timeo.replacement_timeout -v 20 >/dev/null 2>&1
for s in /sys/class/iscsi_session/session*; do echo 20 >"$s/recovery_tmo"; done 2>/dev/null
echo 0 >"$TPG/enable"
sleep 3
section iscsi-state sh -c 'for f in /sys/class/iscsi_session/*/state /sys/class/iscsi_connection/*/state /sys/block/sd*/device/state; do echo "$f $(cat $f)"; done'
section storage-iscsi-down timeout 15 vmstor storage -o json
