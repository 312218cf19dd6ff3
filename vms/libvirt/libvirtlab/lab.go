// Package libvirtlab builds a real storage lab for tests against a real
// libvirtd: an ext4 filesystem on a loop device holding a qcow2 image with a
// backing file, a second loop device to pass through as a block disk, a dir
// storage pool with volumes, and domains that use them all. Everything it
// makes has a unique name and is removed when the test ends.
//
// It needs root (losetup, mkfs.ext4, mount), qemu-img and a running
// libvirtd. Require skips a test when they are missing, or fails it when
// VMSTOR_CI=1 says they must be there.
package libvirtlab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
)

// Socket is the system daemon's read-write socket the lab defines through.
const Socket = "/var/run/libvirt/libvirt-sock"

// Require skips (or under VMSTOR_CI=1 fails) tb unless a real libvirtd, root
// and the storage tools are here.
func Require(tb testing.TB) {
	tb.Helper()
	var missing []string
	if fi, err := os.Stat(Socket); err != nil || fi.Mode().Type() != os.ModeSocket {
		missing = append(missing, "a running libvirtd ("+Socket+"; .ci/setup.d/10-libvirt.sh starts one)")
	}
	if os.Geteuid() != 0 {
		missing = append(missing, "root (for losetup, mkfs.ext4, mount)")
	}
	for _, tool := range []string{"qemu-img", "losetup", "mkfs.ext4", "mount", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "needs " + strings.Join(missing, ", ")
	if os.Getenv("VMSTOR_CI") == "1" {
		tb.Fatal(msg + " (VMSTOR_CI=1: the CI setup must provide them)")
	}
	tb.Skip(msg)
}

// Lab is the storage and the libvirt objects of one test.
type Lab struct {
	// Prefix starts the name of every domain and pool the lab makes.
	Prefix string
	// Dir is the lab's scratch directory, on the root filesystem (not a
	// tmpfs) so the chain beneath a loop device reaches a real disk.
	Dir string
	// FSImage is the file behind FSLoop; FSLoop holds an ext4 filesystem
	// mounted at Mount.
	FSImage, FSLoop, Mount string
	// Base and Top are qcow2 images on Mount; Top's backing file is Base.
	Base, Top string
	// BlockImage is the file behind BlockLoop, the pass-through device.
	BlockImage, BlockLoop string
	// Pool is a dir storage pool in PoolDir with the qcow2 volume Volume at
	// VolumePath.
	Pool, PoolDir, Volume, VolumePath string

	// Conn is a read-write connection for the test to define with.
	Conn *golibvirt.Libvirt
	tb   testing.TB
}

// New builds the lab; everything is torn down by tb.Cleanup.
func New(tb testing.TB) *Lab {
	tb.Helper()
	Require(tb)
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	l := &Lab{Prefix: fmt.Sprintf("vmstor-test-%d-%s", os.Getpid(), hex.EncodeToString(rnd[:])), tb: tb}
	dir, err := os.MkdirTemp("/var/tmp", l.Prefix+"-")
	if err != nil {
		tb.Fatal(err)
	}
	l.Dir = dir
	tb.Cleanup(func() { os.RemoveAll(dir) })
	// QEMU runs as its own user (libvirt-qemu) and must reach the images.
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatal(err)
	}

	l.Conn = Connect(tb)

	// The filesystem on a loop device, holding the images.
	l.FSImage = filepath.Join(dir, "fs.img")
	l.run("truncate", "-s", "64M", l.FSImage)
	l.FSLoop = l.attachLoop(l.FSImage)
	l.run("mkfs.ext4", "-q", "-F", l.FSLoop)
	l.Mount = filepath.Join(dir, "mnt")
	if err := os.Mkdir(l.Mount, 0o755); err != nil {
		tb.Fatal(err)
	}
	l.run("mount", l.FSLoop, l.Mount)
	tb.Cleanup(func() { l.cleanupRun("umount", l.Mount) })
	l.Base = filepath.Join(l.Mount, "base.qcow2")
	l.Top = filepath.Join(l.Mount, "top.qcow2")
	l.run("qemu-img", "create", "-q", "-f", "qcow2", l.Base, "32M")
	l.run("qemu-img", "create", "-q", "-f", "qcow2", "-b", l.Base, "-F", "qcow2", l.Top)

	// The pass-through block device.
	l.BlockImage = filepath.Join(dir, "block.img")
	l.run("truncate", "-s", "16M", l.BlockImage)
	l.BlockLoop = l.attachLoop(l.BlockImage)

	// A dir pool with one volume.
	l.Pool = l.Prefix + "-pool"
	l.PoolDir = filepath.Join(dir, "pool")
	if err := os.Mkdir(l.PoolDir, 0o755); err != nil {
		tb.Fatal(err)
	}
	pool, err := l.Conn.StoragePoolCreateXML(fmt.Sprintf(
		`<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>`, l.Pool, l.PoolDir), 0)
	if err != nil {
		tb.Fatalf("create pool %s: %v", l.Pool, err)
	}
	tb.Cleanup(func() {
		if err := l.Conn.StoragePoolDestroy(pool); err != nil {
			tb.Logf("destroy pool %s: %v", l.Pool, err)
		}
	})
	l.Volume = "vol1.qcow2"
	vol, err := l.Conn.StorageVolCreateXML(pool, fmt.Sprintf(
		`<volume><name>%s</name><capacity unit='MiB'>8</capacity><target><format type='qcow2'/></target></volume>`, l.Volume), 0)
	if err != nil {
		tb.Fatalf("create volume %s: %v", l.Volume, err)
	}
	if l.VolumePath, err = l.Conn.StorageVolGetPath(vol); err != nil {
		tb.Fatal(err)
	}
	return l
}

// Connect opens a read-write connection to the system daemon, closed by
// tb.Cleanup.
func Connect(tb testing.TB) *golibvirt.Libvirt {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", Socket)
	if err != nil {
		tb.Fatalf("dial %s: %v", Socket, err)
	}
	lv := golibvirt.NewWithDialer(dialers.NewAlreadyConnected(nc))
	if err := lv.ConnectToURI(golibvirt.QEMUSystem); err != nil {
		tb.Fatalf("connect %s: %v", Socket, err)
	}
	tb.Cleanup(func() { _ = lv.Disconnect() })
	return lv
}

// Define defines a persistent domain from xml and undefines it (destroying
// it first if it runs) when the test ends.
func (l *Lab) Define(xml string) golibvirt.Domain {
	l.tb.Helper()
	dom, err := l.Conn.DomainDefineXML(xml)
	if err != nil {
		l.tb.Fatalf("define domain: %v\n%s", err, xml)
	}
	l.tb.Cleanup(func() {
		if st, _, err := l.Conn.DomainGetState(dom, 0); err == nil && st != 5 { // 5: shut off
			_ = l.Conn.DomainDestroy(dom)
		}
		// Undefine may find it gone already (a test removed it).
		_ = l.Conn.DomainUndefineFlags(dom, golibvirt.DomainUndefineNvram)
	})
	return dom
}

// Start starts dom under TCG (no /dev/kvm needed).
func (l *Lab) Start(dom golibvirt.Domain) {
	l.tb.Helper()
	if err := l.Conn.DomainCreate(dom); err != nil {
		l.tb.Fatalf("start %s: %v", dom.Name, err)
	}
}

// DomainXML is a minimal 'qemu' (TCG) domain around the given <devices>
// content.
func DomainXML(name, devices string) string {
	return fmt.Sprintf(`<domain type='qemu'>
  <name>%s</name>
  <memory unit='MiB'>32</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
%s
  </devices>
</domain>`, name, devices)
}

// FullDevices is every disk kind vmstor maps, on the lab's storage: vda an
// image with a backing file, sda the pass-through loop device as a LUN, vdb
// the pool volume, sdb an iSCSI LUN, vdc an NBD export, vdd an RBD image, hdc
// an empty CD-ROM, vde an NVMe namespace, vdf a directory, and a SCSI hostdev
// of scsi_host7 0:0:1 (libvirt defines it without the device).
func (l *Lab) FullDevices() string {
	return fmt.Sprintf(`
    <controller type='scsi' model='virtio-scsi'/>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='%s'/><target dev='vda' bus='virtio'/></disk>
    <disk type='block' device='lun'><driver name='qemu' type='raw'/><source dev='%s'/><target dev='sda' bus='scsi'/></disk>
    <disk type='volume' device='disk'><driver name='qemu' type='qcow2'/><source pool='%s' volume='%s'/><target dev='vdb' bus='virtio'/></disk>
    <disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='iscsi' name='iqn.2013-06.com.example:tgt/1'><host name='192.0.2.10' port='3260'/></source><target dev='sdb' bus='scsi'/></disk>
    <disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='nbd' name='export1'><host name='192.0.2.11' port='10809'/></source><target dev='vdc' bus='virtio'/></disk>
    <disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='rbd' name='rbdpool/image1'><host name='192.0.2.21' port='6789'/><host name='192.0.2.22'/></source><target dev='vdd' bus='virtio'/></disk>
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><target dev='hdc' bus='ide'/><readonly/></disk>
    <disk type='nvme' device='disk'><driver name='qemu' type='raw'/><source type='pci' managed='yes' namespace='1'><address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source><target dev='vde' bus='virtio'/></disk>
    <disk type='dir' device='disk'><driver name='qemu' type='fat'/><source dir='%s'/><target dev='vdf' bus='virtio'/><readonly/></disk>
    <hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host7'/><address bus='0' target='0' unit='1'/></source></hostdev>`,
		l.Top, l.BlockLoop, l.Pool, l.Volume, l.Dir)
}

func (l *Lab) attachLoop(file string) string {
	l.tb.Helper()
	dev := strings.TrimSpace(l.run("losetup", "--find", "--show", file))
	l.tb.Cleanup(func() { l.cleanupRun("losetup", "-d", dev) })
	return dev
}

func (l *Lab) run(name string, args ...string) string {
	l.tb.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		l.tb.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func (l *Lab) cleanupRun(name string, args ...string) {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		l.tb.Logf("cleanup: %s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}
