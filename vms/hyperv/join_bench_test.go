package hyperv

import (
	"fmt"
	"strings"
	"testing"
)

// bigHost is a host of n VMs, each with a SCSI controller, four VHDX disks
// and a checkpoint copy of its settings (which Join must skip).
func bigHost(n int) Results {
	var r Results
	for i := 0; i < n; i++ {
		g := fmt.Sprintf("%08X-0000-4000-8000-%012X", i, i)
		sg := fmt.Sprintf("%08X-1111-4000-8000-%012X", i, i)
		r.Systems = append(r.Systems, ComputerSystem{Name: g, ElementName: fmt.Sprintf("vm%d", i), EnabledState: 2})
		r.Settings = append(r.Settings, VirtualSystemSettingData{InstanceID: "Microsoft:" + g, VirtualSystemIdentifier: g, VirtualSystemType: typeRealized})
		for _, key := range []string{g, sg} {
			ctl := id(key, "D422512F-3A8C-4BF5-9E48-A7B6E1CC4A4F")
			r.Devices = append(r.Devices, ResourceAllocationSettingData{InstanceID: ctl, ResourceType: 6, ResourceSubType: subSCSI})
			for slot := 0; slot < 4; slot++ {
				drv := fmt.Sprintf(`%s\%d\D`, ctl, slot)
				r.Devices = append(r.Devices, ResourceAllocationSettingData{InstanceID: drv, ResourceType: 17, ResourceSubType: subDiskDrive, Parent: rasdPath(ctl), AddressOnParent: fmt.Sprint(slot)})
				r.Storage = append(r.Storage, StorageAllocationSettingData{InstanceID: fmt.Sprintf(`%s\%d\L`, ctl, slot), ResourceType: 31, ResourceSubType: subVHD,
					Parent: rasdPath(drv), HostResource: []string{fmt.Sprintf(`C:\ClusterStorage\Volume1\vm%d\disk%d.vhdx`, i, slot)}})
			}
		}
	}
	return r
}

func BenchmarkJoin(b *testing.B) {
	r := bigHost(1000)
	b.ResetTimer()
	for b.Loop() {
		vms, _ := Join("s", "h", r)
		if len(vms) != 1000 || len(vms[999].Disks) != 4 {
			b.Fatal("bad join")
		}
	}
}

// BenchmarkJoinPerVM is the obvious baseline: for each VM, scan every
// settings object for its own (what per-VM queries amount to, without
// their WMI round trips), then resolve each image's drive by scanning.
func BenchmarkJoinPerVM(b *testing.B) {
	r := bigHost(1000)
	b.ResetTimer()
	for b.Loop() {
		total := 0
		for _, cs := range r.Systems {
			prefix := "MICROSOFT:" + strings.ToUpper(cs.Name) + `\`
			for _, s := range r.Storage {
				if !strings.HasPrefix(strings.ToUpper(s.InstanceID), prefix) {
					continue
				}
				want, _ := WMIPathKey(s.Parent, "InstanceID")
				for _, d := range r.Devices {
					if strings.EqualFold(d.InstanceID, want) {
						total++
						break
					}
				}
			}
		}
		if total != 4000 {
			b.Fatalf("baseline joined %d disks", total)
		}
	}
}
