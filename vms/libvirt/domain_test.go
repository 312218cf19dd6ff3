package libvirt

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vmstor/vmstor/model"
)

// mapVolumes resolves volumes from a map keyed "pool/volume".
type mapVolumes map[string]volume

func (m mapVolumes) resolveVolume(pool, vol string) (volume, error) {
	v, ok := m[pool+"/"+vol]
	if !ok {
		return volume{}, errors.New("Storage volume not found: no storage vol with matching name '" + vol + "'")
	}
	return v, nil
}

func domXML(devices string) string {
	return `<domain type='kvm'><name>web1</name><uuid>6695eb01-f6a4-8304-79aa-97f2502e193f</uuid><devices>` + devices + `</devices></domain>`
}

func TestConvertDomain(t *testing.T) {
	vols := mapVolumes{
		"default/a.qcow2":  {Path: "/var/lib/libvirt/images/a.qcow2", Type: "file", Capacity: 10 << 30},
		"lvm/lv1":          {Path: "/dev/vg0/lv1", Type: "block", Capacity: 1 << 30},
		"ceph/img":         {Path: "rbd/img", Type: "network", Network: &model.NetworkTarget{Protocol: "rbd", Hosts: []string{"mon1:6789"}, Name: "rbd/img"}},
		"iscsi/unit:0:0:1": {Path: "/dev/disk/by-path/ip-10.0.0.1:3260-iscsi-iqn.x-lun-1", Type: "block"},
		"fs/d":             {Path: "/srv/d", Type: "dir"},
	}
	base := func(disks ...model.Disk) model.VM {
		return model.VM{ID: "6695eb01-f6a4-8304-79aa-97f2502e193f", Name: "web1", Host: "h1", Platform: model.PlatformLibvirt, Disks: disks}
	}
	tests := []struct {
		name         string
		xml          string
		want         model.VM
		wantProblems []diskProblem
		wantErr      bool
	}{
		{
			name: "file with backing chain",
			xml: domXML(`<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
				<source file='/img/top.qcow2' index='1'/>
				<backingStore type='file' index='2'><format type='qcow2'/><source file='/img/mid.qcow2'/>
				  <backingStore type='block' index='3'><format type='raw'/><source dev='/dev/vg/base'/><backingStore/></backingStore>
				</backingStore>
				<target dev='vda' bus='virtio'/></disk>`),
			want: base(model.Disk{Name: "vda", Kind: model.DiskImage, Device: "disk", Bus: "virtio", Source: "/img/top.qcow2", Format: "qcow2",
				Backing: []string{"/img/mid.qcow2", "/dev/vg/base"}, LUNs: []string{}}),
		},
		{
			name: "block lun, readonly, default device",
			xml: domXML(`<disk type='block' device='lun'><source dev='/dev/mapper/mpatha'/><target dev='sda' bus='scsi'/><readonly/></disk>
				<disk type='block'><source dev='/dev/sdc'/><target dev='vdb'/></disk>`),
			want: base(
				model.Disk{Name: "sda", Kind: model.DiskPassthrough, Device: "lun", Bus: "scsi", Source: "/dev/mapper/mpatha", ReadOnly: true, LUNs: []string{}},
				model.Disk{Name: "vdb", Kind: model.DiskPassthrough, Device: "disk", Source: "/dev/sdc", LUNs: []string{}}),
		},
		{
			name: "volumes of each type",
			xml: domXML(`<disk type='volume' device='disk'><driver type='qcow2'/><source pool='default' volume='a.qcow2'/><target dev='vda' bus='virtio'/></disk>
				<disk type='volume' device='disk'><source pool='lvm' volume='lv1'/><target dev='vdb' bus='virtio'/></disk>
				<disk type='volume' device='disk'><source pool='ceph' volume='img'/><target dev='vdc' bus='virtio'/></disk>
				<disk type='volume' device='lun'><source pool='iscsi' volume='unit:0:0:1' mode='host'/><target dev='sda' bus='scsi'/></disk>
				<disk type='volume' device='lun'><source pool='iscsi' volume='unit:0:0:1' mode='direct'/><target dev='sdb' bus='scsi'/></disk>
				<disk type='volume' device='disk'><source pool='fs' volume='d'/><target dev='vdd' bus='virtio'/></disk>`),
			want: base(
				model.Disk{Name: "vda", Kind: model.DiskImage, Device: "disk", Bus: "virtio", Source: "/var/lib/libvirt/images/a.qcow2", Format: "qcow2",
					CapacityBytes: 10 << 30, Datastore: "default", LUNs: []string{}},
				model.Disk{Name: "vdb", Kind: model.DiskPassthrough, Device: "disk", Bus: "virtio", Source: "/dev/vg0/lv1", CapacityBytes: 1 << 30, Datastore: "lvm", LUNs: []string{}},
				model.Disk{Name: "vdc", Kind: model.DiskNetwork, Device: "disk", Bus: "virtio", Source: "rbd/img", Datastore: "ceph", LUNs: []string{},
					Network: &model.NetworkTarget{Protocol: "rbd", Hosts: []string{"mon1:6789"}, Name: "rbd/img"}},
				model.Disk{Name: "sda", Kind: model.DiskPassthrough, Device: "lun", Bus: "scsi", Source: "/dev/disk/by-path/ip-10.0.0.1:3260-iscsi-iqn.x-lun-1", Datastore: "iscsi", LUNs: []string{}},
				model.Disk{Name: "sdb", Kind: model.DiskNetwork, Device: "lun", Bus: "scsi", Source: "/dev/disk/by-path/ip-10.0.0.1:3260-iscsi-iqn.x-lun-1", Datastore: "iscsi", LUNs: []string{}},
				model.Disk{Name: "vdd", Kind: model.DiskOther, Device: "disk", Bus: "virtio", Source: "/srv/d", Datastore: "fs", LUNs: []string{}}),
		},
		{
			name: "unresolvable volume",
			xml:  domXML(`<disk type='volume' device='disk'><source pool='default' volume='gone'/><target dev='vda' bus='virtio'/></disk>`),
			want: base(model.Disk{Name: "vda", Kind: model.DiskOther, Device: "disk", Bus: "virtio", Source: "default/gone", Datastore: "default", LUNs: []string{},
				Error: `cannot resolve volume "gone" in pool "default": Storage volume not found: no storage vol with matching name 'gone'`}),
			wantProblems: []diskProblem{{disk: "vda",
				message: `cannot resolve volume "gone" in pool "default": Storage volume not found: no storage vol with matching name 'gone'`,
				hint:    "check the pool is defined and active and holds the volume: virsh pool-list --all; virsh vol-list default (a pool may need `virsh pool-refresh default`)"}},
		},
		{
			name: "network disks",
			xml: domXML(`<disk type='network' device='lun'><source protocol='iscsi' name='iqn.2013-06.com.example:t1/2'><host name='10.0.0.5' port='3260'/></source><target dev='sda' bus='scsi'/></disk>
				<disk type='network'><source protocol='nbd' name='exp'><host transport='unix' socket='/run/nbd.sock'/></source><target dev='vdb' bus='virtio'/></disk>
				<disk type='network'><source protocol='gluster' name='vol/dir/img'><host name='fe80::1' port='24007'/><host name='g2'/></source><target dev='vdc' bus='virtio'/></disk>`),
			want: base(
				model.Disk{Name: "sda", Kind: model.DiskNetwork, Device: "lun", Bus: "scsi", Source: "iscsi://10.0.0.5:3260/iqn.2013-06.com.example:t1/2", LUNs: []string{},
					Network: &model.NetworkTarget{Protocol: "iscsi", Hosts: []string{"10.0.0.5:3260"}, Name: "iqn.2013-06.com.example:t1/2"}},
				model.Disk{Name: "vdb", Kind: model.DiskNetwork, Device: "disk", Bus: "virtio", Source: "nbd://unix:/run/nbd.sock/exp", LUNs: []string{},
					Network: &model.NetworkTarget{Protocol: "nbd", Hosts: []string{"unix:/run/nbd.sock"}, Name: "exp"}},
				model.Disk{Name: "vdc", Kind: model.DiskNetwork, Device: "disk", Bus: "virtio", Source: "gluster://[fe80::1]:24007,g2/vol/dir/img", LUNs: []string{},
					Network: &model.NetworkTarget{Protocol: "gluster", Hosts: []string{"[fe80::1]:24007", "g2"}, Name: "vol/dir/img"}}),
		},
		{
			name: "dir, nvme, empty cdrom, no target",
			xml: domXML(`<disk type='dir' device='floppy'><source dir='/srv/floppy'/><target dev='fda' bus='fdc'/></disk>
				<disk type='nvme' device='disk'><source type='pci' managed='yes' namespace='2'><address domain='0x0000' bus='0x3b' slot='0x00' function='0x0'/></source><target dev='vdx' bus='virtio'/></disk>
				<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/></disk>
				<disk type='file'><source file='/x.img'/></disk>`),
			want: base(
				model.Disk{Name: "fda", Kind: model.DiskOther, Device: "floppy", Bus: "fdc", Source: "/srv/floppy", LUNs: []string{}},
				model.Disk{Name: "vdx", Kind: model.DiskOther, Device: "disk", Bus: "virtio", Source: "nvme 0000:3b:00.0 namespace 2 (PCI pass-through)", LUNs: []string{}},
				model.Disk{Name: "hdc", Kind: model.DiskImage, Device: "cdrom", Bus: "ide", ReadOnly: true, LUNs: []string{}},
				model.Disk{Name: "disk3", Kind: model.DiskImage, Device: "disk", Source: "/x.img", LUNs: []string{}}),
		},
		{
			name: "hostdevs",
			xml: domXML(`<hostdev mode='subsystem' type='pci' managed='yes'><source><address domain='0' bus='1' slot='0' function='0'/></source></hostdev>
				<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host2'/><address bus='0' target='3' unit='7'/></source><readonly/><alias name='hostdev1'/></hostdev>
				<hostdev mode='subsystem' type='scsi'><source protocol='iscsi' name='iqn.2014-08.com.example:t/1'><host name='10.0.0.9' port='3260'/></source></hostdev>
				<hostdev mode='subsystem' type='scsi_host'><source protocol='vhost' wwpn='naa.5123456789abcde0'/></hostdev>`),
			want: base(
				model.Disk{Name: "hostdev1", Kind: model.DiskPassthrough, Device: "lun", Bus: "scsi", Source: "scsi_host2:0:3:7", ReadOnly: true, LUNs: []string{}},
				model.Disk{Name: "hostdev2", Kind: model.DiskNetwork, Device: "lun", Bus: "scsi", Source: "iscsi://10.0.0.9:3260/iqn.2014-08.com.example:t/1", LUNs: []string{},
					Network: &model.NetworkTarget{Protocol: "iscsi", Hosts: []string{"10.0.0.9:3260"}, Name: "iqn.2014-08.com.example:t/1"}}),
		},
		{
			name: "no devices",
			xml:  `<domain type='qemu'><name>empty</name><uuid>00000000-0000-0000-0000-000000000001</uuid></domain>`,
			want: model.VM{ID: "00000000-0000-0000-0000-000000000001", Name: "empty", Host: "h1", Platform: model.PlatformLibvirt, Disks: []model.Disk{}},
		},
		{name: "malformed", xml: `<domain type='qemu'><name>x</name><devices><disk type='file'>`, wantErr: true},
		{name: "not XML", xml: `{"domain": 1}`, wantErr: true},
		{name: "empty", xml: ``, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problems, err := convertDomain(tt.xml, "h1", vols)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("VM (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantProblems, problems, cmp.AllowUnexported(diskProblem{})); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzConvertDomain: any bytes give a VM or an error, never a panic, and a
// VM's disks always have a known kind and a non-nil LUN list.
func FuzzConvertDomain(f *testing.F) {
	f.Add(domXML(`<disk type='file' device='disk'><driver type='qcow2'/><source file='/a'/><backingStore type='file'><source file='/b'/><backingStore/></backingStore><target dev='vda' bus='virtio'/></disk>`))
	f.Add(domXML(`<disk type='network'><source protocol='rbd' name='p/i'><host name='m' port='6789'/></source></disk>`))
	f.Add(domXML(`<disk type='volume'><source pool='default' volume='a.qcow2'/></disk><disk type='volume'><source pool='x' volume='y'/></disk>`))
	f.Add(domXML(`<disk type='nvme'><source type='pci'><address domain='0' bus='1' slot='0' function='0'/></source></disk><disk type='vhostuser'><source type='unix' path='/s'/></disk>`))
	f.Add(domXML(`<hostdev mode='subsystem' type='scsi'><source><adapter name='scsi_host2'/><address bus='0' target='0' unit='1'/></source></hostdev>`))
	f.Add(domXML(`<disk type='bogus'/><disk/><hostdev mode='subsystem' type='scsi'/>`))
	f.Add(`<domain><devices><disk type='file'><backingStore><backingStore><backingStore/></backingStore></backingStore></disk></devices></domain>`)
	f.Add(`<domain`)
	vols := mapVolumes{"default/a.qcow2": {Path: "/a.qcow2", Type: "file"}}
	kinds := map[model.DiskKind]bool{model.DiskImage: true, model.DiskPassthrough: true, model.DiskNetwork: true, model.DiskOther: true}
	f.Fuzz(func(t *testing.T, doc string) {
		vm, _, err := convertDomain(doc, "h", vols)
		if err != nil {
			return
		}
		if vm.Disks == nil || vm.Platform != model.PlatformLibvirt || vm.Host != "h" {
			t.Fatalf("bad VM: %+v", vm)
		}
		for _, d := range vm.Disks {
			if !kinds[d.Kind] || d.LUNs == nil || d.Name == "" {
				t.Fatalf("bad disk: %+v", d)
			}
			if (d.Kind == model.DiskNetwork) != (d.Network != nil) && !strings.HasPrefix(d.Source, "/") {
				t.Fatalf("network kind and target disagree: %+v", d)
			}
		}
	})
}

func TestStateName(t *testing.T) {
	want := []string{"no state", "running", "idle", "paused", "in shutdown", "shut off", "crashed", "pmsuspended", "unknown(8)"}
	for i, w := range want {
		if got := stateName(int32(i)); got != w {
			t.Errorf("stateName(%d) = %q, want %q", i, got, w)
		}
	}
}

func TestHostHCTL(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"scsi_host2:0:0:1", "2:0:0:1", true},
		{"scsi_host12:0:3:255", "12:0:3:255", true},
		{"scsi_host2", "", false},
		{"scsi_hostx:0:0:1", "", false},
		{"/dev/sdb", "", false},
		{"scsi_host2:0:0:1:5", "", false},
	}
	for _, tt := range tests {
		got, ok := hostHCTL(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("hostHCTL(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestAnchorHostdevs runs over a sysfs fixture tree: 2:0:0:1 is sdb (8:16),
// 3:0:0:0 exists but has no block device (a tape), 4:0:0:0 is absent.
func TestAnchorHostdevs(t *testing.T) {
	root := t.TempDir()
	mk := func(path, content string) {
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mk("bus/scsi/devices/2:0:0:1/block/sdb/dev", "8:16\n")
	mk("bus/scsi/devices/3:0:0:0/scsi_tape/st0/dev", "9:0\n")

	vm := model.VM{Host: "kvm1", Disks: []model.Disk{
		{Name: "hostdev0", Kind: model.DiskPassthrough, Source: "scsi_host2:0:0:1"},
		{Name: "hostdev1", Kind: model.DiskPassthrough, Source: "scsi_host3:0:0:0"},
		{Name: "hostdev2", Kind: model.DiskPassthrough, Source: "scsi_host4:0:0:0"},
		{Name: "sda", Kind: model.DiskPassthrough, Source: "/dev/sda"},
		{Name: "vda", Kind: model.DiskImage, Source: "scsi_host2:0:0:1"},
	}}
	anchorHostdevs(root, &vm)
	want := []model.Disk{
		{Name: "hostdev0", Kind: model.DiskPassthrough, Source: "scsi_host2:0:0:1", Anchor: &model.Anchor{DevNo: "8:16", Path: "/dev/sdb", Host: "kvm1"}},
		{Name: "hostdev1", Kind: model.DiskPassthrough, Source: "scsi_host3:0:0:0",
			Error: "SCSI device 3:0:0:0 not found on this host: open " + root + "/bus/scsi/devices/3:0:0:0/block: no such file or directory"},
		{Name: "hostdev2", Kind: model.DiskPassthrough, Source: "scsi_host4:0:0:0",
			Error: "SCSI device 4:0:0:0 not found on this host: open " + root + "/bus/scsi/devices/4:0:0:0/block: no such file or directory"},
		{Name: "sda", Kind: model.DiskPassthrough, Source: "/dev/sda"},
		{Name: "vda", Kind: model.DiskImage, Source: "scsi_host2:0:0:1"},
	}
	if diff := cmp.Diff(want, vm.Disks); diff != "" {
		t.Errorf("disks (-want +got):\n%s", diff)
	}
}
