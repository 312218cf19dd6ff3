package libvirt

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/vmstor/vmstor/model"
)

// anchorHostdevs anchors the SCSI <hostdev> pass-through disks of a local VM
// in the host's block devices: scsi_host2 bus 0 target 0 unit 1 is the SCSI
// device 2:0:0:1, whose block device (sdX) sysfs names. A device that is not
// present (or has no block device, like a tape) is left unanchored with the
// reason in Disk.Error.
func anchorHostdevs(sysRoot string, vm *model.VM) {
	for i := range vm.Disks {
		d := &vm.Disks[i]
		if d.Kind != model.DiskPassthrough || d.Anchor != nil || !strings.HasPrefix(d.Source, "scsi_host") {
			continue
		}
		hctl, ok := hostHCTL(d.Source)
		if !ok {
			continue
		}
		a, err := scsiBlockAnchor(sysRoot, hctl)
		if err != nil {
			d.Error = "SCSI device " + hctl + " not found on this host: " + err.Error()
			continue
		}
		a.Host = vm.Host
		d.Anchor = a
	}
}

// scsiBlockAnchor finds the block device of SCSI device hctl:
// /sys/bus/scsi/devices/H:C:T:L/block/<sdX> and its /sys/class/block/<sdX>/dev.
func scsiBlockAnchor(sysRoot, hctl string) (*model.Anchor, error) {
	dir := filepath.Join(sysRoot, "bus", "scsi", "devices", hctl, "block")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	// A SCSI device has at most one block device.
	if len(ents) == 0 {
		return nil, &os.PathError{Op: "find block device", Path: dir, Err: os.ErrNotExist}
	}
	name := ents[0].Name()
	dev, err := os.ReadFile(filepath.Join(dir, name, "dev"))
	if err != nil {
		return nil, err
	}
	return &model.Anchor{DevNo: strings.TrimSpace(string(dev)), Path: "/dev/" + name}, nil
}
