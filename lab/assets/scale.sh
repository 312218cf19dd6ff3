# scale.sh: the benchmark bed, sourced by /init (section, note).
#
# QEMU gives 64 LUNs on each of 4 virtio-scsi HBAs (256 paths). One
# dm-multipath map per LUN is made with dmsetup, as multipathd would. Then
# vmstor storage and lsblk -J -O run alternately under labtime, which reports
# wall time and peak RSS per run.

RUNS=${RUNS:-5}
for a in $(cat /proc/cmdline); do
	case $a in lab.runs=*) RUNS=${a#lab.runs=} ;; esac
done

setup_mpath() (
	set -e
	for d in /sys/block/sd*; do
		echo "$(cat "$d/device/wwid") $(cat "$d/dev") $(cat "$d/size")"
	done | sort | awk '
		function flush() {
			if (id == "") return
			hex = substr(id, 5)
			printf "%smpath-%s,mpath-3%s,,,0 %s multipath 0 0 1 1 round-robin 0 %d 1%s", sep, hex, hex, size, n, paths
			sep = ";"
		}
		$1 != id { flush(); id = $1; size = $3; n = 0; paths = "" }
		{ n++; paths = paths " " $2 " 1000" }
		END { flush() }' >/tmp/maps
	# One dmsetup for all maps (--concise): 64 separate runs of a dynamic
	# binary cost half a minute under TCG.
	dmsetup --noudevsync create --concise "$(cat /tmp/maps)"
	dmsetup mknodes
	echo "maps=$(dmsetup ls --target multipath | wc -l)"
)

bench() {
	i=0
	while [ $i -lt "$RUNS" ]; do
		i=$((i + 1))
		labtime -name lsblk -first $i -- lsblk -J -O || return 1
		labtime -name vmstor -first $i -- vmstor storage -o json || return 1
	done
}

section setup-mpath setup_mpath
# One run of each first: the correctness check, and a warm page cache for
# both tools' binaries and libraries.
section storage vmstor storage -o json
section lsblk lsblk -J -O
section bench bench
