package hyperv

import (
	"context"
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
	winstorage "github.com/vmstor/vmstor/hoststorage/windows"
	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/scan"
	"github.com/vmstor/vmstor/scsi"
)

// fixed is a scan.Source that returns a prepared inventory.
type fixed struct {
	name string
	inv  *model.Inventory
}

func (f fixed) Name() string                                   { return f.name }
func (f fixed) Scan(context.Context) (*model.Inventory, error) { return f.inv, nil }

// pureLocator anchors like winstorage.FS.Locate does when Windows cannot
// answer: by the longest mount point of the scanned volumes.
type pureLocator struct{ vols []winstorage.Volume }

func (l pureLocator) Locate(_ context.Context, p string) (*model.Anchor, error) {
	return winstorage.AnchorFor(p, "HV01", l.vols)
}

// naaIDDescriptor is a STORAGE_DEVICE_ID_DESCRIPTOR with one binary NAA
// identifier associated with the LUN.
func naaIDDescriptor(naa []byte) []byte {
	b := make([]byte, 12+16+len(naa))
	binary.LittleEndian.PutUint32(b[0:], 16)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)))
	binary.LittleEndian.PutUint32(b[8:], 1)
	e := b[12:]
	binary.LittleEndian.PutUint32(e[0:], 1) // binary
	binary.LittleEndian.PutUint32(e[4:], 3) // NAA
	binary.LittleEndian.PutUint16(e[8:], uint16(len(naa)))
	copy(e[16:], naa)
	return b
}

// TestPipeline runs phase 1 (Join), phase 2 (BuildInventory over decoded
// IOCTL buffers) and the real scan.Run with correlation: the VHDX on the CSV
// and the pass-through disk end on their NetApp LUNs, the SMB disk on the share.
func TestPipeline(t *testing.T) {
	vms, errs := Join("hyperv:HV01", "HV01", fixture())
	hv := &model.Inventory{VMs: vms, Errors: errs}

	csvLUN := []byte{0x60, 0x0a, 0x09, 0x80, 0x38, 0x30, 0x38, 0x45, 0x37, 0x2b, 0x4a, 0x52, 0x32, 0x34, 0x6e, 0x35}
	ptLUN := []byte{0x60, 0x0a, 0x09, 0x80, 0x38, 0x30, 0x38, 0x45, 0x37, 0x2b, 0x4a, 0x52, 0x32, 0x34, 0x6e, 0x36}
	devices := map[uint32]winstorage.DeviceInfo{}
	for n, naa := range map[uint32][]byte{2: csvLUN, 4: ptLUN} {
		raw, err := winstorage.DecodeDeviceIDDescriptor(naaIDDescriptor(naa))
		if err != nil {
			t.Fatal(err)
		}
		ds, err := scsi.ParseDesignators(raw)
		if err != nil {
			t.Fatal(err)
		}
		devices[n] = winstorage.DeviceInfo{Designators: ds}
	}
	vols := []winstorage.Volume{
		{GUIDPath: `\\?\Volume{11111111-0000-0000-0000-000000000001}\`, Mountpoints: []string{`C:\`}, FileSystem: "NTFS", Extents: []winstorage.DiskExtent{{DiskNumber: 0}}},
		{GUIDPath: `\\?\Volume{22222222-0000-0000-0000-000000000002}\`, Mountpoints: []string{`C:\ClusterStorage\Volume1\`}, FileSystem: "CSVFS", Extents: []winstorage.DiskExtent{{DiskNumber: 2}}},
	}
	host := winstorage.BuildInventory("windows:HV01", winstorage.Facts{
		Host:    "HV01",
		Disks:   []winstorage.MSFTDisk{{Number: 0, SerialNumber: "BOOT1", Model: "PERC"}, {Number: 2, BusType: 6}, {Number: 4, BusType: 9}},
		Devices: devices,
		Volumes: vols,
		SMB:     []winstorage.SMBConnection{{ServerName: "FS01", ShareName: "VMs", Dialect: "3.1.1"}},
	})

	inv := scan.Run(context.Background(), scan.Options{Locator: pureLocator{vols}, LocalHost: "HV01"},
		fixed{"hyperv:HV01", hv}, fixed{"windows:HV01", host})

	got := map[string][]string{}
	for _, vm := range inv.VMs {
		for _, d := range vm.Disks {
			got[vm.Name+" "+d.Name] = d.LUNs
		}
	}
	want := map[string][]string{
		"web1 IDE 0:0":        {"naa.600a098038303845372b4a5232346e35"}, // VHDX on the CSV
		"web1 SCSI 0:0":       {"naa.600a098038303845372b4a5232346e35"}, // AVHDX on the CSV
		"web1 SCSI 0:1":       {"naa.600a098038303845372b4a5232346e36"}, // pass-through disk 4
		"web1 IDE 1:0":        {"serial.:PERC:BOOT1"},                   // ISO on C:
		"web1 SCSI 0:10":      {},                                       // E: is not a volume of this host
		"db1 SCSI 0:0":        {},                                       // on the SMB share: no LUN beneath
		"db1 SCSI 1:3":        {},                                       // D: is not a volume of this host
		"db1 SCSI 1:4":        {},
		"db1 SCSI 1:5":        {},
		"db1 Hard Disk Image": {},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("disk LUNs (-want +got):\n%s", diff)
	}
	for _, vm := range inv.VMs {
		for _, d := range vm.Disks {
			if d.Name == "SCSI 0:0" && vm.Name == "db1" {
				if d.Anchor == nil || d.Anchor.Resource != `smb:\\fs01\vms` || d.Error != "" {
					t.Errorf("SMB disk: anchor %+v, error %q", d.Anchor, d.Error)
				}
			}
			if d.Name == "IDE 0:0" && vm.Name == "web1" {
				t.Logf("%s %s chain: %+v", vm.Name, d.Name, d.Chain)
			}
			if d.Name == "IDE 0:0" && vm.Name == "web1" && len(d.Chain) != 4 {
				t.Errorf("CSV disk chain = %+v, want file, volume, disk, LUN", d.Chain)
			}
		}
	}
}
