package proxmox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/vmstor/vmstor/model"
)

func img(name, bus, src, format, ds string, size uint64) model.Disk {
	return model.Disk{Name: name, Kind: model.DiskImage, Device: "disk", Bus: bus, Source: src, Format: format, Datastore: ds, CapacityBytes: size, LUNs: []string{}}
}

func blk(name, bus, src, ds string, size uint64) model.Disk {
	return model.Disk{Name: name, Kind: model.DiskPassthrough, Device: "disk", Bus: bus, Source: src, Format: "raw", Datastore: ds, CapacityBytes: size, LUNs: []string{}}
}

func net(name, bus, src, ds string, size uint64, nt *model.NetworkTarget) model.Disk {
	return model.Disk{Name: name, Kind: model.DiskNetwork, Device: "disk", Bus: bus, Source: src, Format: "raw", Datastore: ds, CapacityBytes: size, Network: nt, LUNs: []string{}}
}

const (
	gib = 1 << 30
	mib = 1 << 20
)

// wantVM100 is testdata/node/etc/pve/nodes/pve1/qemu-server/100.conf: every
// disk key on every storage type, resolved as PVE::Storage::path does.
func wantVM100() model.VM {
	cd := img("ide2", "ide", "/var/lib/vz/template/iso/debian-12.5.0-amd64-netinst.iso", "iso", "local", 629*mib)
	cd.Device, cd.ReadOnly = "cdrom", true
	ro := blk("scsi10", "scsi", "/dev/vg_san/vm-100-disk-7", "san-lvm", 20*gib)
	ro.ReadOnly = true
	pt := model.Disk{Name: "sata1", Kind: model.DiskPassthrough, Device: "disk", Bus: "sata", Source: "/dev/disk/by-id/ata-ST4000NM000A-2HZ100_WJG0ABCD", CapacityBytes: 3907018584 << 10, LUNs: []string{}}
	gl := img("virtio0", "virtio", "gluster://192.0.2.60/gv0/images/100/vm-100-disk-10.qcow2", "qcow2", "gluster", 16*gib)
	gl.Kind = model.DiskNetwork
	gl.Network = &model.NetworkTarget{Protocol: "gluster", Hosts: []string{"192.0.2.60", "192.0.2.61"}, Name: "gv0/images/100/vm-100-disk-10.qcow2"}
	unused := blk("unused0", "", "/dev/pve/vm-100-disk-9", "local-lvm", 0)
	return model.VM{
		ID: "100", Name: "web1", Host: "pve1", Cluster: "lab", Platform: model.PlatformProxmox, State: "running",
		Disks: []model.Disk{
			blk("efidisk0", "", "/dev/pve/vm-100-disk-1", "local-lvm", 4*mib),
			img("ide0", "ide", "/mnt/pve/nas/images/100/vm-100-disk-5.vmdk", "vmdk", "nas", gib),
			cd,
			img("sata0", "sata", "/mnt/pve/smb/images/100/vm-100-disk-6.raw", "raw", "smb", 10*gib),
			pt,
			blk("scsi0", "scsi", "/dev/pve/vm-100-disk-0", "local-lvm", 32*gib),
			blk("scsi1", "scsi", "/dev/zvol/tank/vmdata/vm-100-disk-2", "tank", 100*gib),
			blk("scsi2", "scsi", "/dev/disk/by-id/scsi-3600a098038303053453f463045536b49", "san", 200*gib),
			net("scsi3", "scsi", "rbd:vms/vm-100-disk-3", "ceph-ext", 50*gib,
				&model.NetworkTarget{Protocol: "rbd", Hosts: []string{"192.0.2.31", "192.0.2.32", "192.0.2.33"}, Name: "vms/vm-100-disk-3"}),
			net("scsi4", "scsi", "iscsi://192.0.2.22/iqn.2003-01.org.linux-iscsi.zfs:sn.02", "zfs-iscsi", 8*gib,
				&model.NetworkTarget{Protocol: "iscsi", Hosts: []string{"192.0.2.22"}, Name: "iqn.2003-01.org.linux-iscsi.zfs:sn.02 (tank/vm-100-disk-4)"}),
			net("scsi5", "scsi", "iscsi://192.0.2.21:3260/iqn.2003-01.org.linux-iscsi.t1:sn.01/2", "sandirect", 64*gib,
				&model.NetworkTarget{Protocol: "iscsi", Hosts: []string{"192.0.2.21:3260"}, Name: "iqn.2003-01.org.linux-iscsi.t1:sn.01/2"}),
			ro,
			blk("tpmstate0", "", "/dev/pve/vm-100-disk-8", "local-lvm", 4*mib),
			unused,
			gl,
			img("virtio1", "virtio", "/mnt/btrfs/images/100/vm-100-disk-11/disk.raw", "raw", "bt", 2*gib),
			net("virtio2", "virtio", "rbd:rbd/vm-100-disk-12", "ceph", 10*gib,
				&model.NetworkTarget{Protocol: "rbd", Name: "rbd/vm-100-disk-12"}),
			img("virtio3", "virtio", "/var/lib/vz/images/100/vm-100-disk-13.qcow2", "qcow2", "local", 5*gib),
			img("virtio4", "virtio", "/var/lib/images/extra.qcow2", "qcow2", "", gib),
		},
	}
}

func TestScanLocal(t *testing.T) {
	s := NewLocal("testdata/node")
	inv, err := s.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Name(), "proxmox:testdata/node"; got != want {
		t.Errorf("Name() = %q, want %q", got, want)
	}
	wantHosts := []model.Host{
		{Name: "pve1", Platform: model.PlatformProxmox, Cluster: "lab"},
		{Name: "pve2", Platform: model.PlatformProxmox, Cluster: "lab"},
	}
	if diff := cmp.Diff(wantHosts, inv.Hosts); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
	byID := map[string]model.VM{}
	for _, vm := range inv.VMs {
		byID[vm.ID] = vm
	}
	if diff := cmp.Diff(wantVM100(), byID["100"]); diff != "" {
		t.Errorf("vm 100 (-want +got):\n%s", diff)
	}

	// VM 101 holds the bad lines: each is one precise error, the good disks stay.
	vm101 := byID["101"]
	if vm101.State != "stopped" || vm101.Name != "broken" {
		t.Errorf("vm 101 state/name = %q/%q, want stopped/broken (pid file without a process)", vm101.State, vm101.Name)
	}
	type kd struct {
		Name   string
		Kind   model.DiskKind
		Source string
		HasErr bool
	}
	var got101 []kd
	for _, d := range vm101.Disks {
		got101 = append(got101, kd{d.Name, d.Kind, d.Source, d.Error != ""})
	}
	want101 := []kd{
		{"scsi0", model.DiskOther, "nosuchstore:vm-101-disk-0", true},
		{"scsi1", model.DiskOther, "exotic:vm-101-disk-1", true},
		{"scsi2", model.DiskPassthrough, "/dev/pve/vm-101-disk-2", false},
		{"virtio0", model.DiskOther, "backup:vm/101/2024_01_01-00_00_00", true},
	}
	if diff := cmp.Diff(want101, got101); diff != "" {
		t.Errorf("vm 101 disks (-want +got):\n%s", diff)
	}

	vm200 := byID["200"]
	want200 := model.VM{ID: "200", Name: "db1", Host: "pve2", Cluster: "lab", Platform: model.PlatformProxmox,
		Disks: []model.Disk{blk("scsi0", "scsi", "/dev/vg_san/vm-200-disk-0", "san-lvm", 40*gib)}}
	if diff := cmp.Diff(want200, vm200); diff != "" {
		t.Errorf("vm 200 (-want +got):\n%s", diff)
	}
	if len(inv.VMs) != 3 {
		t.Errorf("got %d VMs, want 3 (snapshot and pending sections are not VMs)", len(inv.VMs))
	}

	// Every error names its object and says what is wrong.
	type es struct{ Object, Contains string }
	conf101 := filepath.Join("testdata/node/etc/pve/qemu-server/101.conf")
	vmObj := "vm 101 (broken) on pve1 "
	wantErrs := []es{
		{conf101, "line 2: expected \"key: value\""},
		{conf101, "line 7: option \"cache\" of sata0 is not key=value"},
		{conf101, "line 8: duplicate key name"},
		{conf101, "line 9: ide0 has no volume"},
		{vmObj + "scsi0", "storage \"nosuchstore\": unknown storage id"},
		{vmObj + "scsi1", "unknown storage type"},
		{vmObj + "scsi2", "size \"huge\""},
		{vmObj + "virtio0", "pbs storage holds no VM disks"},
	}
	var gotErrs []es
	for _, e := range inv.Errors {
		if e.Source != "proxmox:testdata/node" || e.Message == "" {
			t.Errorf("error without source or message: %+v", e)
		}
		match := ""
		for _, w := range wantErrs {
			if w.Object == e.Object && strings.Contains(e.Message, w.Contains) {
				match = w.Contains
			}
		}
		gotErrs = append(gotErrs, es{e.Object, match})
	}
	if diff := cmp.Diff(wantErrs, gotErrs, cmpopts.SortSlices(func(a, b es) bool { return a.Object+a.Contains < b.Object+b.Contains })); diff != "" {
		t.Errorf("errors (-want +got):\n%s\nall: %v", diff, inv.Errors)
	}
}

func TestScanLocalNotProxmox(t *testing.T) {
	_, err := NewLocal(t.TempDir()).Scan(context.Background())
	var se model.ScanError
	if err == nil || !strings.Contains(err.Error(), "qemu-server") {
		t.Fatalf("Scan of an empty root: err = %v, want a ScanError naming qemu-server", err)
	}
	if !asScanError(err, &se) || se.Hint == "" {
		t.Errorf("err = %#v, want a ScanError with a hint", err)
	}
}

func TestScanLocalNoStorageCfg(t *testing.T) {
	root := t.TempDir()
	q := filepath.Join(root, "etc/pve/qemu-server")
	if err := os.MkdirAll(q, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/hostname"), []byte("n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := "name: a\nscsi0: local-lvm:vm-1-disk-0,size=1G\nscsi1: /dev/sdb\n"
	if err := os.WriteFile(filepath.Join(q, "1.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	inv, err := NewLocal(root).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.VMs) != 1 || len(inv.VMs[0].Disks) != 2 {
		t.Fatalf("VMs = %+v", inv.VMs)
	}
	if d := inv.VMs[0].Disks[1]; d.Kind != model.DiskPassthrough || d.Source != "/dev/sdb" {
		t.Errorf("absolute path disk = %+v, want passthrough /dev/sdb", d)
	}
	if len(inv.Errors) != 2 || !strings.Contains(inv.Errors[0].Message, "storage definitions") {
		t.Errorf("errors = %v, want one for storage.cfg and one for scsi0", inv.Errors)
	}
	if inv.VMs[0].Host != "n1" {
		t.Errorf("host = %q, want n1 from etc/hostname", inv.VMs[0].Host)
	}
}

// The node is the one the qemu-server symlink points to, even when
// etc/hostname says otherwise (a copied tree, a renamed host).
func TestNodeNameFromSymlink(t *testing.T) {
	root := t.TempDir()
	q := filepath.Join(root, "etc/pve/nodes/pve7/qemu-server")
	if err := os.MkdirAll(q, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("nodes/pve7/qemu-server", filepath.Join(root, "etc/pve/qemu-server")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/hostname"), []byte("laptop\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(q, "7.conf"), []byte("name: seven\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	inv, err := NewLocal(root).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.VMs) != 1 || inv.VMs[0].Host != "pve7" || len(inv.Hosts) != 1 {
		t.Errorf("VMs %+v, hosts %+v: want one VM on pve7, read once", inv.VMs, inv.Hosts)
	}
}

func asScanError(err error, se *model.ScanError) bool {
	s, ok := err.(model.ScanError)
	if ok {
		*se = s
	}
	return ok
}
