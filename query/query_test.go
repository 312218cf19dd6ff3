package query

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmstor/vmstor/model"
)

// fixture is a small two-host inventory built by hand the way correlation
// leaves it: an image disk on ext4 over LVM over a multipath map over a
// NetApp LUN, a pass-through disk of a Pure LUN, a disk on an NFS export and
// a vSphere disk on a VMFS datastore.
func fixture() *model.Inventory {
	netapp := "naa.600a098038304437522b4e6a58506b39"
	pure := "naa.624a9370a1b2c3d4e5f6a7b8c9d0e1f2"
	vmfs := "naa.60002ac0000000000000000a00012345"
	return &model.Inventory{
		Version: model.SchemaVersion,
		Hosts:   []model.Host{{Name: "kvm1", Platform: model.PlatformLibvirt}, {Name: "esx1", Platform: model.PlatformVSphere}},
		VMs: []model.VM{
			{ID: "u-web", Name: "web", Host: "kvm1", Platform: model.PlatformLibvirt, State: "running", Disks: []model.Disk{
				{Name: "vda", Kind: model.DiskImage, Source: "/var/lib/libvirt/images/web.qcow2", Datastore: "default",
					LUNs: []string{netapp},
					Chain: []model.Layer{
						{Level: 0, Kind: "file", Name: "/var/lib/libvirt/images/web.qcow2"},
						{Level: 1, Kind: "filesystem", Name: "/var/lib/libvirt/images", ID: "mnt:24"},
						{Level: 2, Kind: "lvm", Name: "vg0-images", ID: "blk:dm-4"},
						{Level: 3, Kind: "multipath", Name: "mpatha", ID: "blk:dm-3"},
						{Level: 4, Kind: "lun", Name: netapp, ID: netapp},
					}},
				{Name: "vdb", Kind: model.DiskPassthrough, Source: "/dev/disk/by-id/dm-uuid-mpath-3624a93", LUNs: []string{pure},
					Chain: []model.Layer{{Level: 0, Kind: "multipath", Name: "mpathb", ID: "blk:dm-5"}, {Level: 1, Kind: "lun", Name: pure, ID: pure}}},
			}},
			{ID: "u-db", Name: "db", Host: "kvm1", Platform: model.PlatformLibvirt, State: "running", Disks: []model.Disk{
				{Name: "vda", Kind: model.DiskImage, Source: "/mnt/nfs/db.raw", LUNs: []string{},
					Chain: []model.Layer{{Level: 0, Kind: "file", Name: "/mnt/nfs/db.raw"}, {Level: 1, Kind: "nfs", Name: "/mnt/nfs", ID: "mnt:31", Detail: "filer1:/vol/db"}}},
				{Name: "sda", Kind: model.DiskPassthrough, Source: "/dev/sdc", LUNs: []string{netapp}},
			}},
			{ID: "4210-aa", Name: "app", Host: "esx1", Platform: model.PlatformVSphere, State: "poweredOn", Disks: []model.Disk{
				{Name: "Hard disk 1", Kind: model.DiskImage, Source: "[ds-gold] app/app.vmdk", Datastore: "ds-gold", LUNs: []string{vmfs},
					Chain: []model.Layer{{Level: 0, Kind: "file", Name: "[ds-gold] app/app.vmdk"}, {Level: 1, Kind: "datastore", Name: "ds-gold", ID: "ds:datastore-12"}, {Level: 2, Kind: "lun", Name: vmfs, ID: vmfs}}},
			}},
		},
		Resources: []model.Resource{
			{ID: "mnt:24", Host: "kvm1", Kind: model.ResFilesystem, Name: "/var/lib/libvirt/images", Device: "/dev/dm-4", Type: "ext4", Mountpoints: []string{"/var/lib/libvirt/images"}, Below: []string{"blk:dm-4"}},
			{ID: "blk:dm-4", Host: "kvm1", Kind: model.ResLVM, Name: "vg0-images", Device: "/dev/dm-4", Aliases: []string{"/dev/mapper/vg0-images", "/dev/vg0/images"}, Below: []string{"blk:dm-3"}},
			{ID: "blk:dm-3", Host: "kvm1", Kind: model.ResMultipath, Name: "mpatha", Device: "/dev/dm-3", Aliases: []string{"/dev/mapper/mpatha"}, LUNs: []string{netapp}},
			{ID: "blk:dm-5", Host: "kvm1", Kind: model.ResMultipath, Name: "mpathb", Device: "/dev/dm-5", Aliases: []string{"/dev/mapper/mpathb"}, LUNs: []string{pure}},
			{ID: "mnt:31", Host: "kvm1", Kind: model.ResNFS, Name: "/mnt/nfs", Remote: "filer1:/vol/db", Mountpoints: []string{"/mnt/nfs"}},
			{ID: "ds:datastore-12", Host: "esx1", Kind: model.ResDatastore, Name: "ds-gold", Type: "VMFS", LUNs: []string{vmfs}},
		},
		LUNs: []model.LUN{
			{ID: netapp, Vendor: "NETAPP", Product: "LUN C-Mode", Serial: "80D7RB+jXPk9", SizeBytes: 100 << 30, State: model.LUNOK,
				Array: &model.Array{Vendor: "NetApp", Family: "ONTAP", SystemName: "cluster1", LUNSerial: "80D7RB+jXPk9"},
				Paths: []model.Path{{Host: "kvm1", Device: "sdc", Transport: "iscsi", State: model.PathActive}, {Host: "kvm1", Device: "sdd", Transport: "iscsi", State: model.PathActive}}},
			{ID: pure, Vendor: "PURE", Serial: "A1B2C3D4E5F6A7B8C9D0E1F2", SizeBytes: 50 << 30, State: model.LUNOK,
				Array: &model.Array{Vendor: "Pure Storage", Family: "FlashArray", SystemName: "pure-x70"},
				Paths: []model.Path{{Host: "kvm1", Device: "sde", Transport: "fc", State: model.PathActive}}},
			{ID: vmfs, Vendor: "3PARdata", Serial: "1234", SizeBytes: 2 << 40, State: model.LUNOK,
				Array: &model.Array{Vendor: "HPE", Family: "3PAR", SystemID: "60002ac"},
				Paths: []model.Path{{Host: "esx1", Device: "vmhba2:C0:T1:L4", Transport: "fc", State: model.PathActive}}},
		},
	}
}

type short struct{ VM, Disk, Via, Match string }

func shorten(us []Use) []short {
	var out []short
	for _, u := range us {
		out = append(out, short{u.VM, u.Disk, u.Via, u.Match})
	}
	return out
}

func TestWhoUses(t *testing.T) {
	netapp := "naa.600a098038304437522b4e6a58506b39"
	pure := "naa.624a9370a1b2c3d4e5f6a7b8c9d0e1f2"
	vmfs := "naa.60002ac0000000000000000a00012345"
	webVda := short{"web", "vda", ViaLUN, netapp}
	dbSda := short{"db", "sda", ViaLUN, netapp}
	tests := []struct {
		q    string
		want []short
	}{
		{netapp, []short{dbSda, webVda}},
		{"NAA.600A098038304437522B4E6A58506B39", []short{dbSda, webVda}},
		{"600a098038304437522b4e6a58506b39", []short{dbSda, webVda}},
		{"80D7RB+jXPk9", []short{{"db", "sda", ViaSerial, netapp}, {"web", "vda", ViaSerial, netapp}}},
		{"a1b2c3d4e5f6a7b8c9d0e1f2", []short{{"web", "vdb", ViaSerial, pure}}},
		{"NetApp", []short{{"db", "sda", ViaArray, netapp}, {"web", "vda", ViaArray, netapp}}},
		{"cluster1", []short{{"db", "sda", ViaArray, netapp}, {"web", "vda", ViaArray, netapp}}},
		{"FlashArray", []short{{"web", "vdb", ViaArray, pure}}},
		{"60002ac", []short{{"app", "Hard disk 1", ViaArray, vmfs}}},
		{"ds-gold", []short{{"app", "Hard disk 1", ViaDatastore, "ds:datastore-12"}}},
		{"ds:datastore-12", []short{{"app", "Hard disk 1", ViaDatastore, "ds:datastore-12"}}},
		{"default", []short{{"web", "vda", ViaDatastore, "default"}}},
		{"/var/lib/libvirt/images/", []short{{"web", "vda", ViaDatastore, "mnt:24"}}},
		{"filer1:/vol/db", []short{{"db", "vda", ViaExport, "mnt:31"}}},
		{"filer1", []short{{"db", "vda", ViaExport, "mnt:31"}}},
		{"/dev/sdc", []short{{"db", "sda", ViaDevice, netapp}, {"web", "vda", ViaDevice, netapp}}},
		{"sdd", []short{{"db", "sda", ViaDevice, netapp}, {"web", "vda", ViaDevice, netapp}}},
		{"dm-3", []short{{"web", "vda", ViaDevice, "blk:dm-3"}}},
		{"/dev/mapper/mpathb", []short{{"web", "vdb", ViaDevice, "blk:dm-5"}}},
		{"mpatha", []short{{"web", "vda", ViaDatastore, "blk:dm-3"}}},
		{"/dev/vg0/images", []short{{"web", "vda", ViaDevice, "blk:dm-4"}}},
		{"vmhba2:C0:T1:L4", []short{{"app", "Hard disk 1", ViaDevice, vmfs}}},
		{"sd", nil},
		{"naa.", nil},
		{"", nil},
		{"   ", nil},
	}
	inv := fixture()
	for _, tc := range tests {
		t.Run(tc.q, func(t *testing.T) {
			got := shorten(WhoUses(inv, tc.q))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("WhoUses(%q) mismatch (-want +got):\n%s", tc.q, diff)
			}
		})
	}
}

func TestWhoUsesFields(t *testing.T) {
	got := WhoUses(fixture(), "mpathb")
	want := []Use{{VM: "web", VMID: "u-web", Host: "kvm1", Disk: "vdb", Source: "/dev/disk/by-id/dm-uuid-mpath-3624a93",
		LUN: "naa.624a9370a1b2c3d4e5f6a7b8c9d0e1f2", Via: ViaDatastore, Match: "blk:dm-5"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestRemoteServer(t *testing.T) {
	for in, want := range map[string]string{
		"filer1:/vol/db":   "filer1",
		"//smb1/share":     "smb1",
		"[fd00::1]:/x":     "fd00::1",
		"10.0.0.5:/export": "10.0.0.5",
		"/local/path":      "",
		"":                 "",
	} {
		if got := RemoteServer(in); got != want {
			t.Errorf("RemoteServer(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFlattenRoundTrip(t *testing.T) {
	inv := fixture()
	Sort(inv)
	got := Flatten(inv).Inventory()
	if diff := cmp.Diff(inv, got); diff != "" {
		t.Errorf("Flatten/Inventory round trip (-want +got):\n%s", diff)
	}
}

func TestFlattenDuplicateKeys(t *testing.T) {
	inv := &model.Inventory{VMs: []model.VM{
		{ID: "x", Name: "a", Platform: model.PlatformLibvirt, Disks: []model.Disk{{Name: "vda"}, {Name: "vda"}}},
		{ID: "x", Name: "b", Platform: model.PlatformLibvirt},
	}}
	o := Flatten(inv)
	var vms, disks []string
	for k := range o.VMs {
		vms = append(vms, k)
	}
	for k := range o.Disks {
		disks = append(disks, k)
	}
	if len(vms) != 2 || len(disks) != 2 {
		t.Fatalf("duplicate keys collapsed: vms %v disks %v", vms, disks)
	}
}

func TestVMKey(t *testing.T) {
	tests := []struct {
		vm   model.VM
		want string
	}{
		{model.VM{ID: "u1", Host: "h", Platform: model.PlatformLibvirt}, "libvirt:u1"},
		{model.VM{ID: "100", Host: "pve1", Cluster: "c1", Platform: model.PlatformProxmox}, "proxmox:c1/100"},
		{model.VM{ID: "100", Host: "pve1", Platform: model.PlatformProxmox}, "proxmox:pve1/100"},
		{model.VM{Name: "n", Host: "h", Platform: model.PlatformHyperV}, "hyperv:h/n"},
	}
	for _, tc := range tests {
		if got := VMKey(&tc.vm); got != tc.want {
			t.Errorf("VMKey(%+v) = %q, want %q", tc.vm, got, tc.want)
		}
	}
}

func TestDiff(t *testing.T) {
	netapp := "naa.600a098038304437522b4e6a58506b39"
	pure := "naa.624a9370a1b2c3d4e5f6a7b8c9d0e1f2"
	before := fixture()
	after := fixture()
	// web's vda moves to the Pure LUN; db is removed; a new VM appears with
	// a disk; app moves host and gets a second disk; the NetApp LUN grows,
	// loses path sdd and changes array name; the Pure LUN's path fails.
	after.VMs[0].Disks[0].LUNs = []string{pure}
	after.VMs[0].Disks[0].Datastore = "fast"
	after.VMs = append(after.VMs[:1], after.VMs[2:]...)
	after.VMs[1].Host = "esx2"
	after.VMs[1].Disks = append(after.VMs[1].Disks, model.Disk{Name: "Hard disk 2", Source: "[ds-gold] app/app_1.vmdk", Datastore: "ds-gold", CapacityBytes: 10})
	after.VMs = append(after.VMs, model.VM{ID: "u-new", Name: "new", Host: "kvm1", Platform: model.PlatformLibvirt, State: "running", Disks: []model.Disk{{Name: "vda"}}})
	after.LUNs[0].SizeBytes = 200 << 30
	after.LUNs[0].Paths = after.LUNs[0].Paths[:1]
	after.LUNs[0].Array = &model.Array{Vendor: "NetApp", Family: "ONTAP", SystemName: "cluster2"}
	after.LUNs[1].Paths[0].State = model.PathFailed
	after.LUNs[1].State = model.LUNFailed
	after.LUNs = append(after.LUNs, model.LUN{ID: "naa.new"})
	after.Hosts = append(after.Hosts, model.Host{Name: "esx2", Platform: model.PlatformVSphere})

	want := []Change{
		{Kind: ChangeVMAdded, Object: "new", Detail: "host kvm1, id u-new"},
		{Kind: ChangeVMRemoved, Object: "db", Detail: "host kvm1, id u-db"},
		{Kind: ChangeVMMoved, Object: "app", Detail: "host", Before: "esx1", After: "esx2"},
		{Kind: ChangeDiskAdded, Object: "app/Hard disk 2", Detail: "[ds-gold] app/app_1.vmdk", After: "ds-gold"},
		{Kind: ChangeDiskMoved, Object: "web/vda", Detail: "datastore, lun", Before: "default " + netapp, After: "fast " + pure},
		{Kind: ChangeLUNAdded, Object: "naa.new"},
		{Kind: ChangeLUNResized, Object: netapp, Before: "107374182400", After: "214748364800"},
		{Kind: ChangeArrayChanged, Object: netapp, Before: "NetApp ONTAP cluster1", After: "NetApp ONTAP cluster2"},
		{Kind: ChangeLUNState, Object: pure, Before: "ok", After: "failed"},
		{Kind: ChangePathLost, Object: netapp, Detail: "kvm1:sdd gone", Before: "active"},
		{Kind: ChangePathLost, Object: pure, Detail: "kvm1:sde", Before: "active", After: "failed"},
		{Kind: ChangeHostAdded, Object: "esx2", Detail: "vsphere"},
	}
	got := Diff(before, after)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Diff mismatch (-want +got):\n%s", diff)
	}
	// And back: the path is restored, the VM comes back.
	back := Diff(after, before)
	kinds := map[string]int{}
	for _, c := range back {
		kinds[c.Kind]++
	}
	for _, k := range []string{ChangeVMAdded, ChangeVMRemoved, ChangePathRestored, ChangePathAdded, ChangeLUNRemoved, ChangeHostRemoved, ChangeDiskRemoved} {
		if kinds[k] != 1 {
			t.Errorf("reverse diff: %d %s changes, want 1; all: %v", kinds[k], k, back)
		}
	}
	if got := Diff(before, fixture()); len(got) != 0 {
		t.Errorf("Diff of equal inventories = %v, want none", got)
	}
}

// TestDiffObjectsPartial checks the property the store relies on: passing
// only the changed objects gives the same changes as the whole inventories.
func TestDiffObjectsPartial(t *testing.T) {
	before, after := fixture(), fixture()
	after.VMs[0].Disks[1].Source = "/dev/sdz"
	after.VMs = after.VMs[1:]
	after.LUNs[2].Paths[0].State = model.PathFailed
	full := Diff(before, after)

	b, a := Flatten(before), Flatten(after)
	pruneSame(b.VMs, a.VMs)
	pruneSame(b.Disks, a.Disks)
	pruneSame(b.LUNs, a.LUNs)
	pruneSame(b.Resources, a.Resources)
	pruneSame(b.Hosts, a.Hosts)
	if len(a.VMs)+len(b.VMs) != 1 {
		t.Fatalf("pruning left %d VMs, want only the removed one", len(a.VMs)+len(b.VMs))
	}
	if diff := cmp.Diff(full, DiffObjects(b, a)); diff != "" {
		t.Errorf("DiffObjects of changed objects differs from Diff (-full +partial):\n%s", diff)
	}
}

func pruneSame[V any](b, a map[string]V) {
	for k, v := range b {
		if w, ok := a[k]; ok && cmp.Equal(v, w) {
			delete(b, k)
			delete(a, k)
		}
	}
}

func FuzzWhoUses(f *testing.F) {
	for _, s := range []string{"naa.600a098038304437522b4e6a58506b39", "/dev/sdc", "filer1:/vol/db", "//", "/dev/", "[", "a:/"} {
		f.Add(s)
	}
	inv := fixture()
	f.Fuzz(func(t *testing.T, q string) {
		for _, u := range WhoUses(inv, q) {
			if u.Via == "" || u.Disk == "" {
				t.Fatalf("WhoUses(%q) returned an incomplete use %+v", q, u)
			}
		}
		_ = RemoteServer(q)
		_ = hostOnly(q)
	})
}
