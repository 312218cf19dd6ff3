package winstorage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-ole/go-ole"
	"github.com/google/go-cmp/cmp"
	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/scsi"
)

func u64(v uint64) *uint64 { return &v }

// hostFacts is a Hyper-V host as WMI and the IOCTLs describe it: the structs
// are what the WMI library fills from Win32_DiskDrive, MSFT_Disk and
// MSFT_SmbConnection; the device data comes from the byte fixtures.
func hostFacts(t *testing.T) Facts {
	t.Helper()
	decode := func(file string) []model.Designator {
		raw, err := DecodeDeviceIDDescriptor(readHex(t, file))
		if err != nil {
			t.Fatal(err)
		}
		ds, err := scsi.ParseDesignators(raw)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	netappDesc, err := DecodeDeviceDescriptor(readHex(t, "devicedesc-netapp.hex"))
	if err != nil {
		t.Fatal(err)
	}
	return Facts{
		Host: "HV01",
		Drives: []Win32DiskDrive{
			{Index: 0, DeviceID: `\\.\PHYSICALDRIVE0`, Model: "DELL PERC H730P Mini SCSI Disk Device", SerialNumber: "00a1b2c3d4", InterfaceType: "SCSI", Size: 479559996928, SCSIPort: 0, SCSIBus: 2, SCSITargetId: 0, SCSILogicalUnit: 0},
			{Index: 2, DeviceID: `\\.\PHYSICALDRIVE2`, Model: "NETAPP LUN C-Mode SCSI Disk Device", SerialNumber: "808E7+JR24n5", InterfaceType: "SCSI", Size: 107372805120, SCSIPort: 3, SCSIBus: 0, SCSITargetId: 0, SCSILogicalUnit: 4},
			{Index: 3, DeviceID: `\\.\PHYSICALDRIVE3`, Model: "NETAPP LUN C-Mode SCSI Disk Device", SerialNumber: "808E7+JR24n5", InterfaceType: "SCSI", Size: 107372805120, SCSIPort: 4, SCSIBus: 0, SCSITargetId: 1, SCSILogicalUnit: 4},
			{Index: 4, DeviceID: `\\.\PHYSICALDRIVE4`, Model: "PURE FlashArray SCSI Disk Device", SerialNumber: "C2B0B8B4A9E54AB800011425", InterfaceType: "SCSI", Size: 1099506078720, SCSIPort: 5, SCSILogicalUnit: 1},
			{Index: 5, DeviceID: `\\.\PHYSICALDRIVE5`, Model: "Msft Virtual Disk SCSI Disk Device", InterfaceType: "SCSI", Size: 10733990400, SCSIPort: 6},
		},
		Disks: []MSFTDisk{
			{Number: 0, UniqueId: "6D0946606F1E2A002C3B4D5E6F708192", UniqueIdFormat: 3, BusType: 8, OperationalStatus: []int32{0xD010}, Size: 479559942144, Manufacturer: "DELL", Model: "PERC H730P Mini", SerialNumber: "00a1b2c3d4", Path: `\\?\scsi#disk&ven_dell&prod_perc_h730p_mini#5&1ec4b07a&0&020000#{53f56307-b6bf-11d0-94f2-00a0c91efb8b}`},
			{Number: 2, UniqueId: "600A098038303845372B4A5232346E35", UniqueIdFormat: 3, BusType: 6, OperationalStatus: []int32{2}, Size: 107374182400},
			{Number: 3, UniqueId: "600A098038303845372B4A5232346E35", UniqueIdFormat: 3, BusType: 6, OperationalStatus: []int32{13}, Size: 107374182400},
			{Number: 4, UniqueId: "624A9370C2B0B8B4A9E54AB800011425", UniqueIdFormat: 3, BusType: 9, OperationalStatus: []int32{2}, IsOffline: true, IsClustered: true, Size: 1099511627776},
			{Number: 5, UniqueId: "{5b2f0a3c-0000-0000-0000-100000000000}", UniqueIdFormat: 0, BusType: 0xE, OperationalStatus: []int32{2}, Size: 10737418240, Manufacturer: "Msft", Model: "Virtual Disk"},
			{Number: 6, BusType: 0x11, OperationalStatus: []int32{2}, Size: 500107862016, Model: "Samsung SSD 970 EVO Plus 500GB", SerialNumber: "0025_3852_91B0_1234."},
		},
		Devices: map[uint32]DeviceInfo{
			0: {Designators: decode("deviceid-vendoronly.hex")},
			2: {Descriptor: &netappDesc, Designators: decode("deviceid-netapp.hex")},
			3: {Descriptor: &netappDesc, Designators: decode("deviceid-netapp.hex")},
			4: {Designators: decode("deviceid-pure.hex")},
			5: {Err: `WMI lists \\.\PHYSICALDRIVE5 but it cannot be opened: Access is denied.`},
		},
		Volumes: []Volume{
			{GUIDPath: `\\?\Volume{0b1c2d3e-0000-0000-0000-100000000000}\`, Mountpoints: []string{`C:\`}, FileSystem: "NTFS", Size: 479000000000, Free: u64(200000000000),
				Extents: []DiskExtent{{0, 1 << 20, 479000000000}}},
			{GUIDPath: `\\?\Volume{7a8b9c0d-0000-0000-0000-200000000000}\`, Mountpoints: []string{`C:\ClusterStorage\Volume1\`}, FileSystem: "CSVFS", Label: "CSV1", Size: 1099000000000, Free: u64(500000000000),
				Extents: []DiskExtent{{4, 1 << 27, 1099000000000}}},
			{GUIDPath: `\\?\Volume{99aa0000-0000-0000-0000-300000000000}\`, Mountpoints: []string{`D:\`, `E:\mnt\data\`}, FileSystem: "ReFS",
				Extents: []DiskExtent{{2, 1 << 20, 1 << 30}, {6, 1 << 20, 1 << 30}, {2, 1 << 31, 1 << 30}}},
			{GUIDPath: `\\?\Volume{dead0000-0000-0000-0000-400000000000}\`, Extents: []DiskExtent{{9, 0, 1 << 20}}, Err: "GetVolumePathNamesForVolumeName: The device is not ready."},
		},
		SMB: []SMBConnection{{"FS01", "VMs", "3.1.1"}, {"fs01", "vms", "3.1.1"}, {"", "IPC$", "3.1.1"}},
	}
}

func TestBuildInventory(t *testing.T) {
	inv := BuildInventory("windows:HV01", hostFacts(t))
	netapp := "naa.600a098038303845372b4a5232346e35"
	pure := "naa.624a9370c2b0b8b4a9e54ab800011425"
	dell := "naa.6d0946606f1e2a002c3b4d5e6f708192"
	wantLUNs := []model.LUN{
		{ID: dell, IDSource: "wwid", Protocol: "scsi", Vendor: "DELL", Product: "PERC H730P Mini", Serial: "00a1b2c3d4", SizeBytes: 479559942144,
			Designators: []model.Designator{{Association: "lun", Type: "vendor", Value: "QEMU HARDDISK   drive-scsi0"}},
			State:       model.LUNOK, Hosts: []string{"HV01"},
			Paths: []model.Path{{Host: "HV01", Device: `\\.\PHYSICALDRIVE0`, HCTL: "0:2:0:0", Transport: "unknown", State: model.PathActive, DeviceState: "Online"}}},
		{ID: netapp, IDSource: "vpd83", Protocol: "scsi", Vendor: "NETAPP", Product: "LUN C-Mode", Revision: "9800", Serial: "808E7+JR24n5", SizeBytes: 107374182400,
			Designators: []model.Designator{
				{Association: "lun", Type: "t10", Value: "NETAPP  LUN C-Mode      808E7+JR24n5"},
				{Association: "lun", Type: "naa", Value: "600a098038303845372b4a5232346e35"},
				{Association: "target-port", Type: "relative-port", Value: "1"},
				{Association: "target-port", Type: "port-group", Value: "1000"},
			},
			State: model.LUNDegraded, Hosts: []string{"HV01"},
			Paths: []model.Path{
				{Host: "HV01", Device: `\\.\PHYSICALDRIVE2`, HCTL: "3:0:0:4", Transport: "fc", State: model.PathActive, DeviceState: "OK"},
				{Host: "HV01", Device: `\\.\PHYSICALDRIVE3`, HCTL: "4:0:1:4", Transport: "fc", State: model.PathFailed, DeviceState: "Lost Communication"},
			}},
		{ID: pure, IDSource: "vpd83", Protocol: "scsi", Vendor: "", Product: "PURE FlashArray SCSI Disk Device", Serial: "C2B0B8B4A9E54AB800011425", SizeBytes: 1099511627776,
			Designators: []model.Designator{
				{Association: "lun", Type: "vendor", Value: "PURE    FlashArray      "},
				{Association: "lun", Type: "naa", Value: "624a9370c2b0b8b4a9e54ab800011425"},
			},
			State: model.LUNOK, Hosts: []string{"HV01"},
			Paths: []model.Path{{Host: "HV01", Device: `\\.\PHYSICALDRIVE4`, HCTL: "5:0:0:1", Transport: "iscsi", State: model.PathActive, DeviceState: "OK, disk offline"}}},
		{ID: "local.HV01.disk5", IDSource: "local", Protocol: "scsi", Vendor: "Msft", Product: "Virtual Disk", SizeBytes: 10737418240,
			State: model.LUNOK, Hosts: []string{"HV01"},
			Paths: []model.Path{{Host: "HV01", Device: `\\.\PHYSICALDRIVE5`, HCTL: "6:0:0:0", Transport: "unknown", State: model.PathActive, DeviceState: "OK"}}},
		{ID: "serial.:Samsung_SSD_970_EVO_Plus_500GB:0025_3852_91B0_1234.", IDSource: "serial", Protocol: "nvme", Product: "Samsung SSD 970 EVO Plus 500GB", Serial: "0025_3852_91B0_1234.", SizeBytes: 500107862016,
			State: model.LUNOK, Hosts: []string{"HV01"},
			Paths: []model.Path{{Host: "HV01", Device: `\\.\PHYSICALDRIVE6`, Transport: "nvme", State: model.PathActive, DeviceState: "OK"}}},
	}
	if diff := cmp.Diff(wantLUNs, inv.LUNs); diff != "" {
		t.Errorf("LUNs (-want +got):\n%s", diff)
	}
	disk := func(n int, size uint64, lun string) model.Resource {
		d := fmt.Sprintf(`\\.\PHYSICALDRIVE%d`, n)
		return model.Resource{ID: fmt.Sprintf("disk:%d", n), Host: "HV01", Kind: model.ResDisk, Name: d, Device: d, SizeBytes: size, LUNs: []string{lun}}
	}
	d0 := disk(0, 479559942144, dell)
	d0.Aliases = []string{`\\?\scsi#disk&ven_dell&prod_perc_h730p_mini#5&1ec4b07a&0&020000#{53f56307-b6bf-11d0-94f2-00a0c91efb8b}`}
	d4 := disk(4, 1099511627776, pure)
	d4.Type = "clustered"
	d5 := disk(5, 10737418240, "local.HV01.disk5")
	d5.Error = `WMI lists \\.\PHYSICALDRIVE5 but it cannot be opened: Access is denied.`
	wantRes := []model.Resource{
		d0, disk(2, 107374182400, netapp), disk(3, 107374182400, netapp), d4, d5,
		disk(6, 500107862016, wantLUNs[4].ID),
		{ID: `vol:\\?\Volume{0b1c2d3e-0000-0000-0000-100000000000}\`, Host: "HV01", Kind: model.ResVolume, Name: `C:\`, Device: `\\?\Volume{0b1c2d3e-0000-0000-0000-100000000000}\`,
			Type: "NTFS", UUID: "{0b1c2d3e-0000-0000-0000-100000000000}", Mountpoints: []string{`C:\`}, SizeBytes: 479000000000, FreeBytes: u64(200000000000), Below: []string{"disk:0"}},
		{ID: `vol:\\?\Volume{7a8b9c0d-0000-0000-0000-200000000000}\`, Host: "HV01", Kind: model.ResVolume, Name: `C:\ClusterStorage\Volume1\`, Device: `\\?\Volume{7a8b9c0d-0000-0000-0000-200000000000}\`,
			Type: "CSVFS", UUID: "{7a8b9c0d-0000-0000-0000-200000000000}", Aliases: []string{"CSV1"}, Mountpoints: []string{`C:\ClusterStorage\Volume1\`}, SizeBytes: 1099000000000, FreeBytes: u64(500000000000), Below: []string{"disk:4"}},
		{ID: `vol:\\?\Volume{99aa0000-0000-0000-0000-300000000000}\`, Host: "HV01", Kind: model.ResVolume, Name: `D:\`, Device: `\\?\Volume{99aa0000-0000-0000-0000-300000000000}\`,
			Type: "ReFS", UUID: "{99aa0000-0000-0000-0000-300000000000}", Mountpoints: []string{`D:\`, `E:\mnt\data\`}, Below: []string{"disk:2", "disk:6"}},
		{ID: `vol:\\?\Volume{dead0000-0000-0000-0000-400000000000}\`, Host: "HV01", Kind: model.ResVolume, Name: `\\?\Volume{dead0000-0000-0000-0000-400000000000}\`, Device: `\\?\Volume{dead0000-0000-0000-0000-400000000000}\`,
			UUID: "{dead0000-0000-0000-0000-400000000000}", Below: []string{"disk:9"}, Error: "GetVolumePathNamesForVolumeName: The device is not ready."},
		{ID: `smb:\\fs01\vms`, Host: "HV01", Kind: model.ResSMB, Name: `\\FS01\VMs`, Remote: "//FS01/VMs", Type: "smb 3.1.1"},
	}
	if diff := cmp.Diff(wantRes, inv.Resources); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	var errs []string
	for _, e := range inv.Errors {
		errs = append(errs, e.Source+" | "+e.Object+" | "+e.Message)
	}
	wantErrs := []string{
		`windows:HV01 | \\.\PHYSICALDRIVE5 | WMI lists \\.\PHYSICALDRIVE5 but it cannot be opened: Access is denied.`,
		`windows:HV01 | \\?\Volume{dead0000-0000-0000-0000-400000000000}\ | volume \\?\Volume{dead0000-0000-0000-0000-400000000000}\ lies on disk 9, which WMI did not list`,
		`windows:HV01 | \\?\Volume{dead0000-0000-0000-0000-400000000000}\ | GetVolumePathNamesForVolumeName: The device is not ready.`,
	}
	if diff := cmp.Diff(wantErrs, errs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestAnchorFor(t *testing.T) {
	vols := hostFacts(t).Volumes
	c := `vol:\\?\Volume{0b1c2d3e-0000-0000-0000-100000000000}\`
	csv := `vol:\\?\Volume{7a8b9c0d-0000-0000-0000-200000000000}\`
	refs := `vol:\\?\Volume{99aa0000-0000-0000-0000-300000000000}\`
	tests := []struct {
		path, wantRes, wantPath string
	}{
		{`C:\Hyper-V\Virtual Hard Disks\web1.vhdx`, c, `C:\Hyper-V\Virtual Hard Disks\web1.vhdx`},
		{`C:\ClusterStorage\Volume1\VMs\db1\db1.vhdx`, csv, `C:\ClusterStorage\Volume1\VMs\db1\db1.vhdx`},
		{`c:\clusterstorage\volume1\x.avhdx`, csv, `c:\clusterstorage\volume1\x.avhdx`},
		{`C:\ClusterStorage\Volume10\x.vhdx`, c, `C:\ClusterStorage\Volume10\x.vhdx`}, // not Volume1
		{`C:\ClusterStorage\Volume1`, csv, `C:\ClusterStorage\Volume1`},
		{`E:\mnt\data\vm\a.vhd`, refs, `E:\mnt\data\vm\a.vhd`},
		{`E:/mnt/data/vm/a.vhd`, refs, `E:\mnt\data\vm\a.vhd`},
		{`\\?\D:\long\path.vhdx`, refs, `D:\long\path.vhdx`},
		{`\\FS01\VMs\web2\web2.vhdx`, `smb:\\fs01\vms`, `\\FS01\VMs\web2\web2.vhdx`},
		{`\\?\UNC\fs01\vms\a.vhdx`, `smb:\\fs01\vms`, `\\fs01\vms\a.vhdx`},
		{`\\.\PHYSICALDRIVE3`, "disk:3", `\\.\PHYSICALDRIVE3`},
		{`\\?\Volume{7a8b9c0d-0000-0000-0000-200000000000}\VMs\x.vhdx`, csv, `\\?\Volume{7a8b9c0d-0000-0000-0000-200000000000}\VMs\x.vhdx`},
	}
	for _, tc := range tests {
		a, err := AnchorFor(tc.path, "HV01", vols)
		if err != nil {
			t.Errorf("AnchorFor(%q): %v", tc.path, err)
			continue
		}
		want := &model.Anchor{Resource: tc.wantRes, Path: tc.wantPath, Host: "HV01"}
		if diff := cmp.Diff(want, a); diff != "" {
			t.Errorf("AnchorFor(%q) (-want +got):\n%s", tc.path, diff)
		}
	}
	for _, bad := range []string{`Z:\x.vhdx`, `\\.\PHYSICALDRIVEx`, `relative\x.vhdx`} {
		if a, err := AnchorFor(bad, "HV01", vols); err == nil {
			t.Errorf("AnchorFor(%q) = %+v, want an error", bad, a)
		}
	}
}

type fakeExcep struct{ code uint32 }

func (f fakeExcep) Error() string { return "exception" }
func (f fakeExcep) SCODE() uint32 { return f.code }

func TestWMIError(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantCode uint32
		wantMsg  string
		wantHint string
	}{
		{"access denied inside DISP_E_EXCEPTION", ole.NewErrorWithSubError(0x80020009, "SWbemServicesEx", fakeExcep{0x80041003}), 0x80041003, "WMI access denied", "Hyper-V Administrators"},
		{"E_ACCESSDENIED", ole.NewError(0x80070005), 0x80070005, "WMI access denied", "elevated"},
		{"no Hyper-V namespace", ole.NewErrorWithSubError(0x80020009, "", fakeExcep{0x8004100E}), 0x8004100E, "WMI query", "Hyper-V role"},
		{"invalid class", fmt.Errorf("query: %w", ole.NewErrorWithSubError(0x80020009, "", fakeExcep{0x80041010})), 0x80041010, "(0x80041010)", "class does not exist"},
		{"timeout", fmt.Errorf("no answer within 15s: %w", context.DeadlineExceeded), 0, "no answer within", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := WMICode(tc.err); got != tc.wantCode {
				t.Errorf("WMICode = %#x, want %#x", got, tc.wantCode)
			}
			se := WMIError("hyperv:HV01", "Msvm_ComputerSystem", `root\virtualization\v2`, tc.err)
			if !strings.Contains(se.Message, tc.wantMsg) || !strings.Contains(se.Hint, tc.wantHint) || (tc.wantHint == "" && se.Hint != "") {
				t.Errorf("got %+v, want message with %q, hint with %q", se, tc.wantMsg, tc.wantHint)
			}
			if se.Object != "Msvm_ComputerSystem" || !strings.Contains(se.Message, `root\virtualization\v2`) {
				t.Errorf("error does not name the class and namespace: %+v", se)
			}
		})
	}
}

func TestWithTimeout(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	_, err := withTimeout(context.Background(), 20*time.Millisecond, func() (int, error) { <-block; return 1, nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hung call: err = %v, want DeadlineExceeded", err)
	}
	v, err := withTimeout(context.Background(), time.Minute, func() (int, error) { return 7, nil })
	if v != 7 || err != nil {
		t.Errorf("quick call = %d, %v", v, err)
	}
}
