package hyperv

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmstor/vmstor/model"
)

const (
	web1   = "4B6C1E64-D2A8-4DA5-8E6C-0C5B1B8B3A57"
	db1    = "9F0E2C4A-1B3D-4E5F-8A7B-6C5D4E3F2A1B"
	snap   = "C3D4E5F6-A7B8-4C9D-8E0F-1A2B3C4D5E6F" // a checkpoint of web1
	plan   = "0A1B2C3D-4E5F-4A6B-9C8D-7E6F5A4B3C2D" // a planned (importing) VM
	nsPath = `\\HV01\root\virtualization\v2:`
)

// rasdPath is the WMI object path of a Msvm_ResourceAllocationSettingData,
// as Parent properties carry it: backslashes in the key value escaped.
func rasdPath(instanceID string) string {
	return nsPath + `Msvm_ResourceAllocationSettingData.InstanceID="` + strings.ReplaceAll(instanceID, `\`, `\\`) + `"`
}

func diskDrivePath(deviceID string) string {
	return nsPath + `Msvm_DiskDrive.CreationClassName="Msvm_DiskDrive",DeviceID="` + strings.ReplaceAll(deviceID, `\`, `\\`) +
		`",SystemCreationClassName="Msvm_ComputerSystem",SystemName="HV01"`
}

func id(vm, dev string) string { return "Microsoft:" + vm + `\` + dev }

// fixture is a Hyper-V host as the WMI library returns the five queries: a
// Generation 1 VM with IDE and SCSI disks, an ISO, a pass-through disk and a
// checkpoint; a Generation 2 VM with two SCSI controllers, a VHDX on an SMB3
// share, an empty DVD drive and two broken references.
func fixture() Results {
	ide0 := id(web1, `83F8638B-8DCA-4152-9EDA-2CA8B33039B4\0`)
	ide1 := id(web1, `83F8638B-8DCA-4152-9EDA-2CA8B33039B4\1`)
	scsiW := id(web1, `D422512F-3A8C-4BF5-9E48-A7B6E1CC4A4F`)
	scsiD0 := id(db1, `5E7C1B3A-0000-4000-8000-00000000A000`)
	scsiD1 := id(db1, `5E7C1B3A-0000-4000-8000-00000000A001`)
	return Results{
		Systems: []ComputerSystem{
			{Name: "HV01", ElementName: "HV01", Description: "Microsoft Hosting Computer System", EnabledState: 2},
			{Name: web1, ElementName: "web1", Description: "Microsoft Virtual Machine", EnabledState: 2},
			{Name: db1, ElementName: "db1", Description: "Microsoft Virtual Machine", EnabledState: 3},
		},
		Settings: []VirtualSystemSettingData{
			{InstanceID: "Microsoft:" + web1, VirtualSystemIdentifier: web1, VirtualSystemType: typeRealized, ElementName: "web1"},
			{InstanceID: "Microsoft:" + db1, VirtualSystemIdentifier: db1, VirtualSystemType: typeRealized, ElementName: "db1"},
			// The query filters on Realized; Join checks again.
			{InstanceID: "Microsoft:" + snap, VirtualSystemIdentifier: web1, VirtualSystemType: "Microsoft:Hyper-V:Snapshot:Realized", ElementName: "web1 - (11/20/2026 - 10:00:00)"},
			{InstanceID: "Microsoft:" + plan, VirtualSystemIdentifier: plan, VirtualSystemType: "Microsoft:Hyper-V:System:Planned"},
		},
		Devices: []ResourceAllocationSettingData{
			{InstanceID: ide0, ResourceType: 5, ResourceSubType: subIDE, Address: "0", ElementName: "IDE Controller 0"},
			{InstanceID: ide1, ResourceType: 5, ResourceSubType: subIDE, Address: "1", ElementName: "IDE Controller 1"},
			{InstanceID: scsiW, ResourceType: 6, ResourceSubType: subSCSI, ElementName: "SCSI Controller"},
			{InstanceID: ide0 + `\0\D`, ResourceType: 17, ResourceSubType: subDiskDrive, Parent: rasdPath(ide0), AddressOnParent: "0", ElementName: "Hard Drive"},
			{InstanceID: ide1 + `\0\D`, ResourceType: 16, ResourceSubType: subDVDDrive, Parent: rasdPath(ide1), AddressOnParent: "0", ElementName: "DVD Drive"},
			{InstanceID: scsiW + `\0\D`, ResourceType: 17, ResourceSubType: subDiskDrive, Parent: rasdPath(scsiW), AddressOnParent: "0", ElementName: "Hard Drive"},
			{InstanceID: scsiW + `\1\D`, ResourceType: 17, ResourceSubType: subPassthru, Parent: rasdPath(scsiW), AddressOnParent: "1", ElementName: "Hard Drive",
				HostResource: []string{diskDrivePath(`Microsoft:F4B3D0A6-5D5B-4A0A-9D7B-1E0C2D3F4A5B\4`)}},
			{InstanceID: scsiW + `\10\D`, ResourceType: 17, ResourceSubType: subDiskDrive, Parent: rasdPath(scsiW), AddressOnParent: "10", ElementName: "Hard Drive"},
			// The checkpoint's own copy of the settings: not the VM's disks.
			{InstanceID: id(snap, `D422512F-3A8C-4BF5-9E48-A7B6E1CC4A4F\0\D`), ResourceType: 17, ResourceSubType: subDiskDrive, Parent: rasdPath(id(snap, `D422512F-3A8C-4BF5-9E48-A7B6E1CC4A4F`)), AddressOnParent: "0"},
			{InstanceID: scsiD0, ResourceType: 6, ResourceSubType: subSCSI, ElementName: "SCSI Controller"},
			{InstanceID: scsiD1, ResourceType: 6, ResourceSubType: subSCSI, ElementName: "SCSI Controller"},
			{InstanceID: scsiD0 + `\0\D`, ResourceType: 17, ResourceSubType: subDiskDrive, Parent: rasdPath(scsiD0), AddressOnParent: "0"},
			{InstanceID: scsiD0 + `\1\D`, ResourceType: 16, ResourceSubType: subDVDDrive, Parent: rasdPath(scsiD0), AddressOnParent: "1"},
			{InstanceID: scsiD1 + `\3\D`, ResourceType: 17, ResourceSubType: subDiskDrive, Parent: rasdPath(scsiD1), AddressOnParent: "3"},
			{InstanceID: scsiD1 + `\4\D`, ResourceType: 17, ResourceSubType: subPassthru, Parent: rasdPath(scsiD1), AddressOnParent: "4",
				HostResource: []string{diskDrivePath(`Microsoft:F4B3D0A6-5D5B-4A0A-9D7B-1E0C2D3F4A5B\99`)}},
			{InstanceID: scsiD1 + `\5\D`, ResourceType: 17, ResourceSubType: subPassthru, Parent: rasdPath(scsiD1), AddressOnParent: "5"},
		},
		Storage: []StorageAllocationSettingData{
			{InstanceID: ide0 + `\0\L`, ResourceType: 31, ResourceSubType: subVHD, Parent: rasdPath(ide0 + `\0\D`), HostResource: []string{`C:\ClusterStorage\Volume1\web1\web1.vhdx`}, EnabledState: 2},
			{InstanceID: ide1 + `\0\L`, ResourceType: 31, ResourceSubType: subISO, Parent: rasdPath(ide1 + `\0\D`), HostResource: []string{`C:\ISO\en_windows_server_2022.iso`}},
			{InstanceID: scsiW + `\0\L`, ResourceType: 31, ResourceSubType: subVHD, Parent: rasdPath(scsiW + `\0\D`), HostResource: []string{`C:\ClusterStorage\Volume1\web1\data_C3D4E5F6.avhdx`}},
			{InstanceID: scsiW + `\10\L`, ResourceType: 31, ResourceSubType: subVHD, Parent: rasdPath(scsiW + `\10\D`), HostResource: []string{`E:\VMs\web1\logs.vhd`}},
			{InstanceID: id(snap, `D422512F-3A8C-4BF5-9E48-A7B6E1CC4A4F\0\0\L`), ResourceType: 31, ResourceSubType: subVHD, HostResource: []string{`C:\ClusterStorage\Volume1\web1\data.vhdx`}},
			{InstanceID: scsiD0 + `\0\L`, ResourceType: 31, ResourceSubType: subVHD, Parent: rasdPath(scsiD0 + `\0\D`), HostResource: []string{`\\FS01\VMs\db1\db1.vhdx`}},
			{InstanceID: scsiD0 + `\1\L`, ResourceType: 31, ResourceSubType: subISO, Parent: rasdPath(scsiD0 + `\1\D`)}, // empty DVD drive
			{InstanceID: scsiD1 + `\3\L`, ResourceType: 31, ResourceSubType: subVHD, Parent: rasdPath(scsiD1 + `\3\D`), HostResource: []string{`D:\db1\data.VHDX`}},
			{InstanceID: scsiD1 + `\7\L`, ResourceType: 31, ResourceSubType: subVHD, Parent: rasdPath(scsiD1 + `\7\D`), HostResource: []string{`D:\db1\orphan.vhdx`}, ElementName: "Hard Disk Image"},
			{InstanceID: id(plan, `X\0\L`), ResourceType: 31, ResourceSubType: subVHD, HostResource: []string{`D:\import\x.vhdx`}},
		},
		Drives: []DiskDrive{
			{DeviceID: `Microsoft:F4B3D0A6-5D5B-4A0A-9D7B-1E0C2D3F4A5B\4`, DriveNumber: 4, ElementName: "Disk 4"},
			{DeviceID: `Microsoft:F4B3D0A6-5D5B-4A0A-9D7B-1E0C2D3F4A5B\5`, DriveNumber: 5, ElementName: "Disk 5"},
		},
	}
}

func TestJoin(t *testing.T) {
	vms, errs := Join("hyperv:HV01", "HV01", fixture())
	orphan := `the drive holding this image (` + rasdPath(id(db1, `5E7C1B3A-0000-4000-8000-00000000A001\7\D`)) + `) is not among the VM's settings`
	missing := `host disk ` + diskDrivePath(`Microsoft:F4B3D0A6-5D5B-4A0A-9D7B-1E0C2D3F4A5B\99`) + ` is not among Msvm_DiskDrive`
	want := []model.VM{
		{ID: strings.ToLower(web1), Name: "web1", Host: "HV01", Platform: model.PlatformHyperV, State: "running", Disks: []model.Disk{
			{Name: "IDE 0:0", Kind: model.DiskImage, Device: "disk", Bus: "ide", Source: `C:\ClusterStorage\Volume1\web1\web1.vhdx`, Format: "vhdx", LUNs: []string{}},
			{Name: "IDE 1:0", Kind: model.DiskImage, Device: "cdrom", Bus: "ide", Source: `C:\ISO\en_windows_server_2022.iso`, Format: "iso", ReadOnly: true, LUNs: []string{}},
			{Name: "SCSI 0:0", Kind: model.DiskImage, Device: "disk", Bus: "scsi", Source: `C:\ClusterStorage\Volume1\web1\data_C3D4E5F6.avhdx`, Format: "vhdx", LUNs: []string{}},
			{Name: "SCSI 0:1", Kind: model.DiskPassthrough, Device: "disk", Bus: "scsi", Source: `\\.\PHYSICALDRIVE4`, LUNs: []string{},
				Anchor: &model.Anchor{Resource: "disk:4", Host: "HV01"}},
			{Name: "SCSI 0:10", Kind: model.DiskImage, Device: "disk", Bus: "scsi", Source: `E:\VMs\web1\logs.vhd`, Format: "vhd", LUNs: []string{}},
		}},
		{ID: strings.ToLower(db1), Name: "db1", Host: "HV01", Platform: model.PlatformHyperV, State: "off", Disks: []model.Disk{
			{Name: "Hard Disk Image", Kind: model.DiskImage, Device: "disk", Source: `D:\db1\orphan.vhdx`, Format: "vhdx", LUNs: []string{}, Error: orphan},
			{Name: "SCSI 0:0", Kind: model.DiskImage, Device: "disk", Bus: "scsi", Source: `\\FS01\VMs\db1\db1.vhdx`, Format: "vhdx", LUNs: []string{}},
			{Name: "SCSI 1:3", Kind: model.DiskImage, Device: "disk", Bus: "scsi", Source: `D:\db1\data.VHDX`, Format: "vhdx", LUNs: []string{}},
			{Name: "SCSI 1:4", Kind: model.DiskOther, Device: "disk", Bus: "scsi", Source: diskDrivePath(`Microsoft:F4B3D0A6-5D5B-4A0A-9D7B-1E0C2D3F4A5B\99`), LUNs: []string{}, Error: missing},
			{Name: "SCSI 1:5", Kind: model.DiskOther, Device: "disk", Bus: "scsi", LUNs: []string{}, Error: "pass-through drive without a host disk (HostResource is empty)"},
		}},
	}
	if diff := cmp.Diff(want, vms); diff != "" {
		t.Errorf("VMs (-want +got):\n%s", diff)
	}
	var got []string
	for _, e := range errs {
		got = append(got, e.Source+" | "+e.Object+" | "+e.Message)
	}
	vmDB := "vm db1 (" + strings.ToLower(db1) + ") "
	wantErrs := []string{
		"hyperv:HV01 | " + vmDB + `D:\db1\orphan.vhdx | ` + orphan,
		"hyperv:HV01 | " + vmDB + "SCSI 1:4 | " + missing,
		"hyperv:HV01 | " + vmDB + "SCSI 1:5 | pass-through drive without a host disk (HostResource is empty)",
	}
	if diff := cmp.Diff(wantErrs, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

// Without the settings query (it failed), disks still join through the
// documented realized InstanceID form; checkpoint disks stay out.
func TestJoinWithoutSettings(t *testing.T) {
	r := fixture()
	r.Settings = nil
	vms, _ := Join("hyperv:HV01", "HV01", r)
	if len(vms) != 2 || len(vms[0].Disks) != 5 || len(vms[1].Disks) != 5 {
		t.Fatalf("got %d VMs with %v disks", len(vms), vms)
	}
	for _, d := range vms[0].Disks {
		if d.Source == `C:\ClusterStorage\Volume1\web1\data.vhdx` {
			t.Errorf("checkpoint disk joined: %+v", d)
		}
	}
}

func TestWMIPathKey(t *testing.T) {
	tests := []struct {
		path, key, want string
		ok              bool
	}{
		{`\\HV01\root\virtualization\v2:Msvm_ResourceAllocationSettingData.InstanceID="Microsoft:4B6C1E64-D2A8-4DA5-8E6C-0C5B1B8B3A57\\83F8638B-8DCA-4152-9EDA-2CA8B33039B4\\0\\0\\D"`,
			"InstanceID", `Microsoft:4B6C1E64-D2A8-4DA5-8E6C-0C5B1B8B3A57\83F8638B-8DCA-4152-9EDA-2CA8B33039B4\0\0\D`, true},
		{`\\hv01.corp.example\root\virtualization\v2:Msvm_DiskDrive.CreationClassName="Msvm_DiskDrive",DeviceID="Microsoft:F4B3\\4",SystemCreationClassName="Msvm_ComputerSystem",SystemName="HV01"`,
			"deviceid", `Microsoft:F4B3\4`, true},
		{`Msvm_DiskDrive.CreationClassName="Msvm_DiskDrive",DeviceID="a\"b.c:d",SystemName="HV01"`, "SystemName", "HV01", true},
		{`Msvm_DiskDrive.CreationClassName="Msvm_DiskDrive",DeviceID="a\"b.c:d"`, "DeviceID", `a"b.c:d`, true},
		{`Win32_DiskDrive.Index=3`, "Index", "3", true},
		{`Msvm_DiskDrive.DeviceID="unterminated`, "DeviceID", "", false},
		{`Msvm_DiskDrive.DeviceID="x"`, "SystemName", "", false},
		{`no keys at all`, "DeviceID", "", false},
		{``, "DeviceID", "", false},
	}
	for _, tc := range tests {
		got, ok := WMIPathKey(tc.path, tc.key)
		if got != tc.want || ok != tc.ok {
			t.Errorf("WMIPathKey(%q, %q) = %q, %v; want %q, %v", tc.path, tc.key, got, ok, tc.want, tc.ok)
		}
	}
}

func TestState(t *testing.T) {
	for in, want := range map[uint16]string{2: "running", 3: "off", 32768: "paused", 32769: "saved", 7: "state 7"} {
		if got := State(in); got != want {
			t.Errorf("State(%d) = %q, want %q", in, got, want)
		}
	}
}

func FuzzWMIPathKey(f *testing.F) {
	f.Add(rasdPath(`Microsoft:A\B\0\D`), "InstanceID")
	f.Add(diskDrivePath(`Microsoft:F\4`), "DeviceID")
	f.Add(`a.b="\`, "b")
	f.Fuzz(func(t *testing.T, p, key string) {
		v, ok := WMIPathKey(p, key)
		if !ok && v != "" {
			t.Fatalf("value %q without ok", v)
		}
		if len(v) > len(p) {
			t.Fatalf("value %q longer than the path", v)
		}
		// A value we escape and wrap comes back unchanged.
		if strings.ContainsAny(key, `=,."\: `) || key == "" {
			return
		}
		path := `\\h\root\ns:Class.` + key + `="` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(p) + `"`
		if got, ok := WMIPathKey(path, key); !ok || got != p {
			t.Fatalf("round trip of %q: got %q, %v", p, got, ok)
		}
	})
}

func FuzzJoin(f *testing.F) {
	f.Add(rasdPath(id(web1, `X\0\D`)), "0", `C:\a.vhdx`)
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, parent, slot, src string) {
		r := fixture()
		r.Storage = append(r.Storage, StorageAllocationSettingData{InstanceID: id(web1, `Z\0\L`), ResourceType: 31, ResourceSubType: subVHD, Parent: parent, HostResource: []string{src}})
		r.Devices = append(r.Devices, ResourceAllocationSettingData{InstanceID: id(web1, `Z\0\D`), ResourceType: 17, ResourceSubType: subPassthru, Parent: parent, AddressOnParent: slot, HostResource: []string{parent}})
		vms, _ := Join("s", "h", r)
		for _, vm := range vms {
			for _, d := range vm.Disks {
				if d.Name == "" && d.Error == "" {
					t.Fatalf("disk without name or error: %+v", d)
				}
				if d.Kind == model.DiskPassthrough && (d.Anchor == nil || !strings.HasPrefix(d.Anchor.Resource, "disk:")) {
					t.Fatalf("pass-through disk without a disk anchor: %+v", d)
				}
			}
		}
	})
}
