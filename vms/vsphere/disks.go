package vsphere

import (
	"fmt"
	"strings"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmstor/vmstor/model"
)

// disksOf extracts the virtual disks of a VM's device list
// (config.hardware.device), with the bus of each disk's controller.
func disksOf(devices []types.BaseVirtualDevice) []rawDisk {
	bus := map[int32]string{}
	for _, d := range devices {
		dev := d.GetVirtualDevice()
		switch d.(type) {
		case *types.VirtualIDEController:
			bus[dev.Key] = "ide"
		case *types.VirtualAHCIController, *types.VirtualSATAController:
			bus[dev.Key] = "sata"
		case *types.VirtualNVMEController:
			bus[dev.Key] = "nvme"
		case types.BaseVirtualSCSIController:
			bus[dev.Key] = "scsi"
		}
	}
	var out []rawDisk
	for _, d := range devices {
		vd, ok := d.(*types.VirtualDisk)
		if !ok {
			continue
		}
		rd := rawDisk{bus: bus[vd.ControllerKey]}
		if vd.DeviceInfo != nil {
			rd.label = vd.DeviceInfo.GetDescription().Label
		}
		if rd.label == "" {
			rd.label = fmt.Sprintf("disk-%d", vd.Key)
		}
		switch {
		case vd.CapacityInBytes > 0:
			rd.capacity = uint64(vd.CapacityInBytes)
		case vd.CapacityInKB > 0:
			rd.capacity = uint64(vd.CapacityInKB) * 1024
		}
		backingOf(vd.Backing, &rd)
		out = append(out, rd)
	}
	return out
}

// backingOf fills rd from a disk backing. File backings name their file and
// datastore and chain to their parents (the snapshot deltas, nearest
// first); an RDM names its LUN.
func backingOf(b types.BaseVirtualDeviceBackingInfo, rd *rawDisk) {
	file := func(f types.VirtualDeviceFileBackingInfo) {
		rd.file = f.FileName
		if f.Datastore != nil {
			rd.datastore = f.Datastore.Value
		}
		if f.BackingObjectId != nil {
			rd.objectID = *f.BackingObjectId
		}
	}
	rd.kind = model.DiskImage
	switch b := b.(type) {
	case *types.VirtualDiskFlatVer2BackingInfo:
		rd.backing, rd.format = "FlatVer2", "vmdk"
		file(b.VirtualDeviceFileBackingInfo)
		for p := b.Parent; p != nil; p = p.Parent {
			rd.chain = append(rd.chain, p.FileName)
		}
	case *types.VirtualDiskSeSparseBackingInfo:
		rd.backing, rd.format = "SeSparse", "vmdk-sesparse"
		file(b.VirtualDeviceFileBackingInfo)
		for p := b.Parent; p != nil; p = p.Parent {
			rd.chain = append(rd.chain, p.FileName)
		}
	case *types.VirtualDiskSparseVer2BackingInfo:
		rd.backing, rd.format = "SparseVer2", "vmdk-sparse"
		file(b.VirtualDeviceFileBackingInfo)
		for p := b.Parent; p != nil; p = p.Parent {
			rd.chain = append(rd.chain, p.FileName)
		}
	case *types.VirtualDiskFlatVer1BackingInfo:
		rd.backing, rd.format = "FlatVer1", "vmdk"
		file(b.VirtualDeviceFileBackingInfo)
		for p := b.Parent; p != nil; p = p.Parent {
			rd.chain = append(rd.chain, p.FileName)
		}
	case *types.VirtualDiskSparseVer1BackingInfo:
		rd.backing, rd.format = "SparseVer1", "vmdk-sparse"
		file(b.VirtualDeviceFileBackingInfo)
		for p := b.Parent; p != nil; p = p.Parent {
			rd.chain = append(rd.chain, p.FileName)
		}
	case *types.VirtualDiskRawDiskMappingVer1BackingInfo:
		rd.backing = "RawDiskMappingVer1"
		rd.kind = model.DiskPassthrough
		file(b.VirtualDeviceFileBackingInfo)
		rd.lunUUID, rd.deviceName, rd.compat = b.LunUuid, b.DeviceName, b.CompatibilityMode
		// VMware names the mapping files -rdmp.vmdk (physical) and
		// -rdm.vmdk (virtual); the format says which.
		rd.format = "rdm"
		if b.CompatibilityMode == string(types.VirtualDiskCompatibilityModePhysicalMode) {
			rd.format = "rdmp"
		}
		for p := b.Parent; p != nil; p = p.Parent {
			rd.chain = append(rd.chain, p.FileName)
		}
	case *types.VirtualDiskRawDiskVer2BackingInfo:
		rd.backing = "RawDiskVer2"
		rd.kind = model.DiskPassthrough
		rd.file, rd.deviceName = b.DescriptorFileName, b.DeviceName
	case *types.VirtualDiskPartitionedRawDiskVer2BackingInfo:
		rd.backing = "PartitionedRawDiskVer2"
		rd.kind = model.DiskPassthrough
		rd.file, rd.deviceName = b.DescriptorFileName, b.DeviceName
	case *types.VirtualDiskLocalPMemBackingInfo:
		rd.backing, rd.kind = "LocalPMem", model.DiskOther
		file(b.VirtualDeviceFileBackingInfo)
	case nil:
		rd.backing, rd.kind = "none", model.DiskOther
	default:
		rd.backing, rd.kind = strings.TrimPrefix(fmt.Sprintf("%T", b), "*types."), model.DiskOther
		if fb, ok := b.(types.BaseVirtualDeviceFileBackingInfo); ok {
			file(*fb.GetVirtualDeviceFileBackingInfo())
		}
	}
}
