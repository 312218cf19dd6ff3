package libvirt

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/vmstor/vmstor/vms/libvirt/libvirtlab"
)

// BenchmarkScan scans a real libvirtd holding 40 lab domains (three disks
// each: an image, a pool volume, an iSCSI LUN) four ways: Scan as shipped
// (4 domains at a time, all states in one call), Scan one domain at a time,
// Scan asking each domain's state on its own, and the obvious baseline,
// `virsh list` then `virsh dumpxml` per domain. Other domains on
// the daemon are scanned too; the ratio is what matters.
//
//	go test -run XXX -bench Scan -benchtime 10x ./vms/libvirt/
func BenchmarkScan(b *testing.B) {
	lab := libvirtlab.New(b)
	const n = 40
	for i := range n {
		lab.Define(libvirtlab.DomainXML(fmt.Sprintf("%s-b%02d", lab.Prefix, i), `
    <controller type='scsi' model='virtio-scsi'/>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='`+lab.Top+`'/><target dev='vda' bus='virtio'/></disk>
    <disk type='volume' device='disk'><driver name='qemu' type='qcow2'/><source pool='`+lab.Pool+`' volume='`+lab.Volume+`'/><target dev='vdb' bus='virtio'/></disk>
    <disk type='network' device='disk'><driver name='qemu' type='raw'/><source protocol='iscsi' name='iqn.2013-06.com.example:tgt/`+fmt.Sprint(i)+`'><host name='192.0.2.10' port='3260'/></source><target dev='sda' bus='scsi'/></disk>`))
	}
	variants := []struct {
		name           string
		conc           int
		statePerDomain bool
	}{
		{"vmstor-concurrency-4", 4, false},
		{"vmstor-concurrency-1", 1, false},
		{"vmstor-concurrency-4-state-per-domain", 4, true},
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			src := New("")
			src.Concurrency = v.conc
			src.statePerDomain = v.statePerDomain
			for b.Loop() {
				inv, err := src.Scan(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				if len(inv.VMs) < n {
					b.Fatalf("%d VMs", len(inv.VMs))
				}
			}
		})
	}
	b.Run("baseline-virsh-dumpxml", func(b *testing.B) {
		if _, err := exec.LookPath("virsh"); err != nil {
			b.Skip("no virsh")
		}
		for b.Loop() {
			out, err := exec.Command("virsh", "-c", "qemu:///system", "list", "--all", "--name").Output()
			if err != nil {
				b.Fatal(err)
			}
			names := strings.Fields(string(out))
			if len(names) < n {
				b.Fatalf("%d domains", len(names))
			}
			for _, name := range names {
				if _, err := exec.Command("virsh", "-c", "qemu:///system", "dumpxml", name).Output(); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// BenchmarkConvertDomain is the XML-to-model step alone, for a domain with
// a backing chain, a volume and a network disk.
func BenchmarkConvertDomain(b *testing.B) {
	doc := domXML(`<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/img/top.qcow2' index='1'/>
		<backingStore type='file' index='2'><format type='qcow2'/><source file='/img/base.qcow2'/><backingStore/></backingStore>
		<target dev='vda' bus='virtio'/></disk>
		<disk type='volume' device='disk'><driver type='qcow2'/><source pool='default' volume='a.qcow2'/><target dev='vdb' bus='virtio'/></disk>
		<disk type='network' device='lun'><source protocol='iscsi' name='iqn.2013-06.com.example:t1/2'><host name='10.0.0.5' port='3260'/></source><target dev='sda' bus='scsi'/></disk>`)
	vols := mapVolumes{"default/a.qcow2": {Path: "/var/lib/libvirt/images/a.qcow2", Type: "file"}}
	for b.Loop() {
		if _, _, err := convertDomain(doc, "h", vols); err != nil {
			b.Fatal(err)
		}
	}
}
