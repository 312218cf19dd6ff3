package vsphere

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmstor/vmstor/model"
)

func TestLunID(t *testing.T) {
	tests := []struct{ canonical, host, wantID, wantSrc string }{
		{"naa.600A098038303053453F463045726B", "esx1", "naa.600a098038303053453f463045726b", "vpd83"},
		{"eui.0025385B71B0A8E7", "esx1", "eui.0025385b71b0a8e7", "vpd83"},
		{"t10.ATA_____Samsung_SSD", "esx1", "t10.ATA_____Samsung_SSD", "vpd83"},
		{"mpx.vmhba0:C0:T0:L0", "esx1", "mpx.vmhba0:C0:T0:L0@esx1", "local"},
		{"  ", "esx1", "", ""},
	}
	for _, tt := range tests {
		id, src := lunID(tt.canonical, tt.host)
		if id != tt.wantID || src != tt.wantSrc {
			t.Errorf("lunID(%q) = %q, %q; want %q, %q", tt.canonical, id, src, tt.wantID, tt.wantSrc)
		}
	}
}

func TestNaaFromVML(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		// VMware KB 2078730's example.
		{"vml.02000000006000eb3952315fbe000000000000001b695343534944", "naa.6000eb3952315fbe000000000000001b"},
		// LUN 261 in the ESXi 7 form (KB 379673), as a device path.
		{"/vmfs/devices/disks/vml.02000501006000eb3952315fbe0000000000000041695343534944", "naa.6000eb3952315fbe0000000000000041"},
		// ScsiLun.uuid form (no prefix), 8-byte NAA 5.
		{"02000000005000c5001d4f7e8b535433303030", "naa.5000c5001d4f7e8b"},
		{"vml.0100000000202020", ""},                  // serial-number form: no NAA
		{"vml.0200000000", ""},                        // truncated
		{"vml.02000000006000eb39", ""},                // truncated NAA 6
		{"vml.0200000000zz00eb3952315fbe0000000", ""}, // not hex
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := naaFromVML(tt.in)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("naaFromVML(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

func FuzzNaaFromVML(f *testing.F) {
	for _, s := range []string{"vml.02000000006000eb3952315fbe000000000000001b695343534944",
		"02000000005000c5001d4f7e8b535433303030", "vml.02", "/vmfs/devices/disks/vml.0200"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := naaFromVML(s)
		if !ok {
			if id != "" {
				t.Fatalf("naaFromVML(%q) = %q but not ok", s, id)
			}
			return
		}
		hexPart := strings.TrimPrefix(id, "naa.")
		if len(hexPart) != 16 && len(hexPart) != 32 || strings.ToLower(hexPart) != hexPart {
			t.Fatalf("naaFromVML(%q) = %q: not an 8- or 16-byte lowercase NAA", s, id)
		}
		if !strings.Contains(strings.ToLower(s), hexPart) {
			t.Fatalf("naaFromVML(%q) = %q: id not taken from the input", s, id)
		}
	})
}

func TestRuntimeHCTL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"vmhba2:C0:T1:L4", "2:0:1:4"},
		{"vmhba65:C1:T0:L12", "65:1:0:12"},
		{"vmhba2:C0:T1", ""},
		{"fc.20000024ff3dc5f3:21000024ff3dc5f3-fc.500a098:500a098-naa.600a", ""},
		{"vmhba:C0:T1:L4", ""},
		{"vmhba2:CX:T1:L4", ""},
	}
	for _, tt := range tests {
		got, ok := runtimeHCTL(tt.in)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("runtimeHCTL(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

func FuzzRuntimeHCTL(f *testing.F) {
	f.Add("vmhba2:C0:T1:L4")
	f.Add("vmhba:C:T:L")
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := runtimeHCTL(s)
		if ok && (strings.Count(got, ":") != 3 || strings.Trim(got, "0123456789:") != "") {
			t.Fatalf("runtimeHCTL(%q) = %q", s, got)
		}
	})
}

func TestPathState(t *testing.T) {
	for raw, want := range map[string]string{
		"active": model.PathActive, "standby": model.PathStandby, "dead": model.PathFailed,
		"disabled": model.PathFailed, "unknown": model.PathUnknown, "": model.PathUnknown, "Active": model.PathActive,
	} {
		if got := pathState(raw); got != want {
			t.Errorf("pathState(%q) = %q, want %q", raw, got, want)
		}
	}
}

// TestDatastoreResource covers the datastore kinds vcsim cannot serve:
// vSAN and vVol (with block and NFS protocol endpoints).
func TestDatastoreResource(t *testing.T) {
	free := uint64(100)
	tests := []struct {
		name string
		ds   rawDatastore
		want model.Resource
	}{
		{"vsan", rawDatastore{ref: "datastore-9", name: "vsanDatastore",
			summary: &types.DatastoreSummary{Type: "vsan", Capacity: 1000, FreeSpace: 100, Accessible: true, Url: "ds:///vmfs/volumes/vsan:52a1/"},
			info:    &types.VsanDatastoreInfo{MembershipUuid: "52a1"}},
			model.Resource{ID: "ds:datastore-9", Kind: model.ResDatastore, Name: "vsanDatastore", Type: "vsan", UUID: "52a1",
				Mountpoints: []string{"ds:///vmfs/volumes/vsan:52a1/"}, SizeBytes: 1000, FreeBytes: &free}},
		{"vvol", rawDatastore{ref: "datastore-10", name: "vvol-pure",
			summary: &types.DatastoreSummary{Type: "VVOL", Capacity: 1000, FreeSpace: 100, Accessible: true},
			info: &types.VvolDatastoreInfo{VvolDS: &types.HostVvolVolume{ScId: "vvol:3b8d4c2a1f5e6d70",
				StorageArray: []types.VASAStorageArray{{Name: "pure-fa-01", VendorId: "PURE", ModelId: "FlashArray"}},
				HostPE: []types.VVolHostPE{{ProtocolEndpoint: []types.HostProtocolEndpoint{
					{PeType: "block", DeviceId: "naa.624A9370ABCDEF0123456789ABCDEF01"},
					{PeType: "nas", NfsServer: "10.0.0.9", NfsDir: "/pe"},
				}}}}}},
			model.Resource{ID: "ds:datastore-10", Kind: model.ResDatastore, Name: "vvol-pure", Type: "VVOL", UUID: "vvol:3b8d4c2a1f5e6d70",
				Aliases: []string{"array:pure-fa-01 PURE FlashArray"}, Remote: "10.0.0.9:/pe",
				LUNs: []string{"naa.624a9370abcdef0123456789abcdef01"}, SizeBytes: 1000, FreeBytes: &free}},
		{"inaccessible nfs", rawDatastore{ref: "datastore-11", name: "nfs-gone",
			summary: &types.DatastoreSummary{Type: "NFS", Accessible: false},
			info:    &types.NasDatastoreInfo{Nas: &types.HostNasVolume{RemoteHost: "filer", RemotePath: "/vol/a"}}},
			model.Resource{ID: "ds:datastore-11", Kind: model.ResNFS, Name: "nfs-gone", Type: "NFS", Remote: "filer:/vol/a",
				Error: "the datastore is not accessible"}},
	}
	for _, tt := range tests {
		g := newGraph()
		got := datastoreResource(tt.ds, g)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

// TestDiskKinds covers backings vcsim cannot create: vVol and vSAN objects
// (Kind other), an RDM whose LUN no host reports any more, a disk without
// a datastore.
func TestDiskKinds(t *testing.T) {
	g := newGraph()
	g.hostName["host-1"] = "esx1"
	datastoreResource(rawDatastore{ref: "ds-vvol", name: "vvol1", summary: &types.DatastoreSummary{Type: "VVOL", Accessible: true},
		info: &types.VvolDatastoreInfo{VvolDS: &types.HostVvolVolume{ScId: "sc"}}}, g)
	datastoreResource(rawDatastore{ref: "ds-vsan", name: "vsanDatastore", summary: &types.DatastoreSummary{Type: "vsan", Accessible: true},
		info: &types.VsanDatastoreInfo{}}, g)
	obj := "rfc4122.6f1c"
	dev := []types.BaseVirtualDevice{
		&types.ParaVirtualSCSIController{VirtualSCSIController: types.VirtualSCSIController{VirtualController: types.VirtualController{VirtualDevice: types.VirtualDevice{Key: 1000}}}},
		&types.VirtualNVMEController{VirtualController: types.VirtualController{VirtualDevice: types.VirtualDevice{Key: 31000}}},
		vdisk(1000, "Hard disk 1", &types.VirtualDiskFlatVer2BackingInfo{VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{
			FileName: "[vvol1] rfc4122.1/vm.vmdk", Datastore: &types.ManagedObjectReference{Type: "Datastore", Value: "ds-vvol"}, BackingObjectId: &obj}}),
		vdisk(31000, "Hard disk 2", &types.VirtualDiskFlatVer2BackingInfo{VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{
			FileName: "[vsanDatastore] 5f2a/vm.vmdk"}}), // no datastore ref: taken from the path
		vdisk(1000, "Hard disk 3", &types.VirtualDiskRawDiskMappingVer1BackingInfo{LunUuid: "02000000006000eb3952315fbe000000000000001b695343534944",
			CompatibilityMode: "physicalMode", VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: "[vvol1] vm/rdm.vmdk"}}),
		vdisk(1000, "Hard disk 4", &types.VirtualDiskFlatVer2BackingInfo{VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{
			FileName: "[gone] vm/vm.vmdk"}}),
		vdisk(1000, "Hard disk 5", &types.VirtualDiskFlatVer2BackingInfo{VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{
			FileName: "[hidden] vm/vm.vmdk", Datastore: &types.ManagedObjectReference{Type: "Datastore", Value: "ds-hidden"}, BackingObjectId: &obj}}),
	}
	var got []model.Disk
	for _, rd := range disksOf(dev) {
		got = append(got, g.disk(rd, "host-1"))
	}
	want := []model.Disk{
		{Name: "Hard disk 1", Kind: model.DiskOther, Device: "disk", Bus: "scsi", Source: "[vvol1] rfc4122.1/vm.vmdk", Format: "vmdk",
			Datastore: "vvol1", Anchor: &model.Anchor{Resource: "ds:ds-vvol"}, LUNs: []string{}},
		{Name: "Hard disk 2", Kind: model.DiskOther, Device: "disk", Bus: "nvme", Source: "[vsanDatastore] 5f2a/vm.vmdk", Format: "vmdk",
			Datastore: "vsanDatastore", Anchor: &model.Anchor{Resource: "ds:ds-vsan"}, LUNs: []string{}},
		{Name: "Hard disk 3", Kind: model.DiskPassthrough, Device: "lun", Bus: "scsi", Source: "[vvol1] vm/rdm.vmdk", Format: "rdmp",
			Datastore: "vvol1", Anchor: &model.Anchor{LUN: "naa.6000eb3952315fbe000000000000001b", Host: "esx1"},
			Error: "the mapped LUN naa.6000eb3952315fbe000000000000001b is not seen by any host",
			LUNs:  []string{}, ActivePaths: new(int)},
		{Name: "Hard disk 4", Kind: model.DiskImage, Device: "disk", Bus: "scsi", Source: "[gone] vm/vm.vmdk", Format: "vmdk",
			Error: `the disk's datastore is unknown (FlatVer2 backing, file "[gone] vm/vm.vmdk")`, LUNs: []string{}},
		// A datastore the user may not read: the backing object id alone
		// says vSAN or vVol.
		{Name: "Hard disk 5", Kind: model.DiskOther, Device: "disk", Bus: "scsi", Source: "[hidden] vm/vm.vmdk", Format: "vmdk",
			Datastore: "ds-hidden", Anchor: &model.Anchor{Resource: "ds:ds-hidden"}, LUNs: []string{}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("disks (-want +got):\n%s", diff)
	}
}

func vdisk(controller int32, label string, b types.BaseVirtualDeviceBackingInfo) *types.VirtualDisk {
	return &types.VirtualDisk{VirtualDevice: types.VirtualDevice{ControllerKey: controller,
		DeviceInfo: &types.Description{Label: label}, Backing: b}}
}

// TestMissingProperty: a VM whose config cannot be read (a MissingSet in
// the property collector's answer) is still listed, with a precise error,
// and the other VMs are complete.
func TestMissingProperty(t *testing.T) {
	d := &collected{clusters: map[string]string{}}
	d.add(&types.ObjectContent{Obj: types.ManagedObjectReference{Type: "HostSystem", Value: "host-1"},
		PropSet: []types.DynamicProperty{{Name: "name", Val: "esx1"}, {Name: "runtime.connectionState", Val: types.HostSystemConnectionStateConnected}}})
	d.add(&types.ObjectContent{Obj: types.ManagedObjectReference{Type: "VirtualMachine", Value: "vm-7"},
		PropSet: []types.DynamicProperty{{Name: "name", Val: "broken"}, {Name: "runtime.host", Val: types.ManagedObjectReference{Type: "HostSystem", Value: "host-1"}}},
		MissingSet: []types.MissingProperty{{Path: "config.hardware.device", Fault: types.LocalizedMethodFault{
			Fault: &types.NoPermission{PrivilegeId: "System.Read"}, LocalizedMessage: "Permission to perform this operation was denied."}}}})
	d.add(&types.ObjectContent{Obj: types.ManagedObjectReference{Type: "VirtualMachine", Value: "vm-8"},
		PropSet: []types.DynamicProperty{{Name: "name", Val: "fine"}, {Name: "config.instanceUuid", Val: "5003-aa"},
			{Name: "runtime.host", Val: types.ManagedObjectReference{Type: "HostSystem", Value: "host-1"}},
			{Name: "runtime.powerState", Val: types.VirtualMachinePowerStatePoweredOn},
			{Name: "config.hardware.device", Val: types.ArrayOfVirtualDevice{VirtualDevice: []types.BaseVirtualDevice{
				vdisk(0, "Hard disk 1", &types.VirtualDiskFlatVer2BackingInfo{VirtualDeviceFileBackingInfo: types.VirtualDeviceFileBackingInfo{FileName: "[x] a.vmdk"}}),
			}}}}})
	inv := New(Config{URL: "https://vc.example/sdk"}).build(d)
	wantErr := []model.ScanError{{Source: "vsphere:https://vc.example/sdk", Object: "vm broken",
		Message: "property config.hardware.device could not be read: NoPermission: Permission to perform this operation was denied.",
		Hint:    "grant the scanning role the read-only privileges listed in docs/vsphere.md on this object"}}
	if diff := cmp.Diff(wantErr, inv.Errors); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if len(inv.VMs) != 2 {
		t.Fatalf("got %d VMs, want 2", len(inv.VMs))
	}
	if b := inv.VMs[0]; b.Name != "broken" || b.ID != "vm-7" || b.Host != "esx1" || len(b.Disks) != 0 {
		t.Errorf("broken VM = %+v, want listed by moref on esx1 without disks", b)
	}
	if f := inv.VMs[1]; f.Name != "fine" || f.ID != "5003-aa" || f.State != "poweredOn" || len(f.Disks) != 1 {
		t.Errorf("fine VM = %+v, want complete", f)
	}
}
