# Installs and starts a real libvirtd for vms/libvirt and the libvirt end-to-end
# test. Sourced by .ci/run (bash, set -euo pipefail, as root, apt_install
# defined). Idempotent. There is no systemd here: the daemons are started by
# hand. The machine may have no /dev/kvm: the tests define 'qemu' (TCG) domains.

apt_install libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils e2fsprogs procps

# Without udev /dev/kvm is root:root 0600 and libvirt re-probes QEMU on every
# define (16-48 s each); the kvm group fixes that.
if [ -e /dev/kvm ]; then
	chown root:kvm /dev/kvm
	chmod 0660 /dev/kvm
fi

libvirt_running() { # libvirt_running NAME PIDFILE: started by us or by anyone
	{ [ -s "$2" ] && kill -0 "$(cat "$2")" 2>/dev/null; } || pgrep -x "$1" >/dev/null
}

mkdir -p /run/libvirt
libvirt_running virtlogd /run/virtlogd.pid || virtlogd -d -p /run/virtlogd.pid
libvirt_running libvirtd /run/libvirtd.pid || libvirtd -d -p /run/libvirtd.pid

# Wait for the socket, then make the first connection here: it probes QEMU's
# capabilities (~12 s, cached afterwards) so no test pays for it.
for _ in $(seq 1 60); do
	[ -S /run/libvirt/libvirt-sock ] && break
	sleep 0.5
done
if [ ! -S /run/libvirt/libvirt-sock ]; then
	echo "10-libvirt.sh: libvirtd did not create /run/libvirt/libvirt-sock" >&2
	return 1 2>/dev/null || exit 1
fi
timeout 120 virsh -c qemu:///system hostname >/dev/null
