package server

import (
	"fmt"
	"time"

	"github.com/vmstor/vmstor/model"
)

// synth builds an inventory of n VMs the shape of a real estate: 25 VMs a
// host, two disks a VM on shared datastores (VMFS on one LUN each) or on a
// filesystem over a multipath map, three arrays, four paths a LUN, every
// 17th LUN degraded with I/O errors and every 97th failed.
func synth(n int) *model.Inventory {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	inv := &model.Inventory{Version: model.SchemaVersion, ScannedAt: t0, DurationSeconds: 2.5,
		Sources: []string{"vsphere:https://vc.example/sdk", "libvirt:qemu:///system"}}
	arrays := []*model.Array{
		{Vendor: "NetApp", Family: "ONTAP", SystemName: "ontap-a", SystemID: "4f5a"},
		{Vendor: "Pure Storage", Family: "FlashArray", SystemName: "pure-b"},
		{Vendor: "Dell EMC", Family: "PowerMax", SystemID: "000197900123"},
	}
	nLUN := max(1, n/10)
	hosts := max(1, n/25)
	for h := 0; h < hosts; h++ {
		plat := model.PlatformVSphere
		if h%4 == 3 {
			plat = model.PlatformLibvirt
		}
		inv.Hosts = append(inv.Hosts, model.Host{Name: fmt.Sprintf("host%03d", h), Platform: plat, State: "connected"})
	}
	for k := 0; k < nLUN; k++ {
		id := fmt.Sprintf("naa.600a0980%024x", k)
		a := arrays[k%len(arrays)]
		host := fmt.Sprintf("host%03d", k%hosts)
		l := model.LUN{ID: id, IDSource: "vpd83", Protocol: "scsi", Vendor: "NETAPP", Product: "LUN C-Mode",
			SizeBytes: uint64(1+k%8) << 40, Array: a, Volume: fmt.Sprintf("vol%d", k), Hosts: []string{host}}
		for p := 0; p < 4; p++ {
			st := model.PathActive
			if p >= 2 {
				st = model.PathStandby
			}
			if k%17 == 5 && p == 0 {
				st = model.PathFailed
			}
			if k%97 == 11 {
				st = model.PathFailed
			}
			var ioe uint64
			if st == model.PathFailed {
				ioe = 3
			}
			l.Paths = append(l.Paths, model.Path{Host: host, Device: fmt.Sprintf("sd%c%c", 'a'+k/26%26, 'a'+byte(p)), HCTL: fmt.Sprintf("%d:0:%d:%d", p, p, k),
				Transport: "fc", Target: fmt.Sprintf("50:0a:09:8%d:00:00:00:%02x", p, k%256), State: st, DeviceState: "running", IOErrors: ioe})
			l.IOErrors += ioe
		}
		l.State = model.LUNState(l.Paths)
		inv.LUNs = append(inv.LUNs, l)
		free := uint64(1+k%8) << 40 / uint64(3+k%40)
		if k%2 == 0 {
			inv.Resources = append(inv.Resources, model.Resource{ID: fmt.Sprintf("ds:datastore-%d", k), Host: host, Kind: model.ResDatastore,
				Name: fmt.Sprintf("ds%04d", k), Type: "VMFS", SizeBytes: l.SizeBytes, FreeBytes: &free, LUNs: []string{id}})
		} else {
			inv.Resources = append(inv.Resources,
				model.Resource{ID: fmt.Sprintf("blk:dm-%d", k), Host: host, Kind: model.ResMultipath, Name: fmt.Sprintf("mpath%d", k),
					Device: fmt.Sprintf("/dev/dm-%d", k), SizeBytes: l.SizeBytes, LUNs: []string{id}},
				model.Resource{ID: fmt.Sprintf("mnt:%d", k), Host: host, Kind: model.ResFilesystem, Name: fmt.Sprintf("/srv/pool%d", k),
					Type: "xfs", Mountpoints: []string{fmt.Sprintf("/srv/pool%d", k)}, SizeBytes: l.SizeBytes, FreeBytes: &free, Below: []string{fmt.Sprintf("blk:dm-%d", k)}})
		}
	}
	for i := 0; i < n; i++ {
		h := (i / 25) % hosts
		vm := model.VM{ID: fmt.Sprintf("4210%04x-0000-0000-0000-%012x", i%65536, i), Name: fmt.Sprintf("vm-%05d", i),
			Host: fmt.Sprintf("host%03d", h), Platform: inv.Hosts[h].Platform, State: "poweredOn"}
		for d := 0; d < 2; d++ {
			k := (i*2 + d) % nLUN
			lun := inv.LUNs[k].ID
			disk := model.Disk{Name: fmt.Sprintf("Hard disk %d", d+1), Kind: model.DiskImage, Device: "disk", Bus: "scsi",
				Format: "vmdk", CapacityBytes: uint64(20+d*80) << 30, LUNs: []string{lun}}
			if k%2 == 0 {
				ds := fmt.Sprintf("ds%04d", k)
				disk.Source = fmt.Sprintf("[%s] %s/%s_%d.vmdk", ds, vm.Name, vm.Name, d)
				disk.Datastore = ds
				disk.Chain = []model.Layer{
					{Level: 0, Kind: "file", Name: disk.Source},
					{Level: 1, Kind: "datastore", Name: ds, ID: fmt.Sprintf("ds:datastore-%d", k)},
					{Level: 2, Kind: "lun", Name: lun, ID: lun},
				}
			} else {
				disk.Format = "qcow2"
				disk.Source = fmt.Sprintf("/srv/pool%d/%s-%d.qcow2", k, vm.Name, d)
				disk.Datastore = fmt.Sprintf("pool%d", k)
				disk.Chain = []model.Layer{
					{Level: 0, Kind: "file", Name: disk.Source},
					{Level: 1, Kind: "filesystem", Name: fmt.Sprintf("/srv/pool%d", k), ID: fmt.Sprintf("mnt:%d", k)},
					{Level: 2, Kind: "multipath", Name: fmt.Sprintf("mpath%d", k), ID: fmt.Sprintf("blk:dm-%d", k)},
					{Level: 3, Kind: "lun", Name: lun, ID: lun},
				}
			}
			vm.Disks = append(vm.Disks, disk)
		}
		inv.VMs = append(inv.VMs, vm)
	}
	return inv
}
