// Package storetest builds large synthetic inventories for the store's tests
// and benchmarks, shaped like a correlated KVM estate: hosts with multipath
// LUNs from a few arrays, filesystems on some LUNs holding image disks, the
// others passed through to VMs, and NFS exports.
package storetest

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/query"
)

// Shape sizes a generated inventory.
type Shape struct {
	VMs         int
	DisksPerVM  int // at least 1
	VMsPerHost  int
	LUNsPerHost int // at least 2
}

// Default is the shape of the benchmarks: 3 disks a VM, 25 VMs and 8 LUNs a
// host.
func Default(vms int) Shape {
	return Shape{VMs: vms, DisksPerVM: 3, VMsPerHost: 25, LUNsPerHost: 8}
}

var arrays = []model.Array{
	{Vendor: "NetApp", Family: "ONTAP", SystemName: "cluster1", SystemID: "600a0980"},
	{Vendor: "Pure Storage", Family: "FlashArray", SystemName: "pure-x70", SystemID: "624a9370"},
	{Vendor: "HPE", Family: "3PAR", SystemName: "3par-a", SystemID: "60002ac"},
}

// LUNID is the id of the n-th generated LUN.
func LUNID(n int) string { return fmt.Sprintf("naa.%s%024x", arrays[n%len(arrays)].SystemID, n) }

// Serial is the serial of the n-th generated LUN.
func Serial(n int) string { return fmt.Sprintf("SN%010d", n) }

// Host is the name of the n-th host.
func Host(n int) string { return fmt.Sprintf("kvm%05d", n) }

// Datastore is the mount point of the j-th filesystem of host h.
func Datastore(h, j int) string { return fmt.Sprintf("/srv/%s/ds%d", Host(h), j) }

// Device is the multipath device of the n-th LUN.
func Device(n int) string { return fmt.Sprintf("dm-%d", n) }

// Generate builds an inventory of the given shape, the same for the same
// shape and time.
func Generate(s Shape, at time.Time) *model.Inventory {
	if s.DisksPerVM < 1 {
		s.DisksPerVM = 1
	}
	if s.LUNsPerHost < 2 {
		s.LUNsPerHost = 2
	}
	if s.VMsPerHost < 1 {
		s.VMsPerHost = 1
	}
	hosts := (s.VMs + s.VMsPerHost - 1) / s.VMsPerHost
	inv := &model.Inventory{Version: model.SchemaVersion, ScannedAt: at.UTC(), DurationSeconds: 1.5,
		Sources: []string{"libvirt:qemu:///system", "linux:/"}}
	fsPerHost := s.LUNsPerHost / 2
	for h := range hosts {
		host := Host(h)
		inv.Hosts = append(inv.Hosts, model.Host{Name: host, Platform: model.PlatformLibvirt, State: "connected"})
		for j := range s.LUNsPerHost {
			n := h*s.LUNsPerHost + j
			a := arrays[n%len(arrays)]
			id := LUNID(n)
			dm := Device(n)
			inv.LUNs = append(inv.LUNs, model.LUN{
				ID: id, IDSource: "vpd83", Protocol: "scsi", Vendor: a.Vendor, Product: a.Family,
				Serial: Serial(n), SizeBytes: uint64(100+n%7) << 30, Array: &a, State: model.LUNOK, Hosts: []string{host},
				Paths: []model.Path{
					{Host: host, Device: fmt.Sprintf("sd%d", 2*n), HCTL: fmt.Sprintf("%d:0:0:%d", 2+j%2, j), Transport: "iscsi", State: model.PathActive},
					{Host: host, Device: fmt.Sprintf("sd%d", 2*n+1), HCTL: fmt.Sprintf("%d:0:1:%d", 2+j%2, j), Transport: "iscsi", State: model.PathActive},
				},
			})
			inv.Resources = append(inv.Resources, model.Resource{
				ID: "blk:" + dm, Host: host, Kind: model.ResMultipath, Name: fmt.Sprintf("mpath%d", n),
				Device: "/dev/" + dm, Aliases: []string{fmt.Sprintf("/dev/mapper/mpath%d", n)}, Type: "multipath", LUNs: []string{id},
			})
			if j < fsPerHost {
				free := uint64(40) << 30
				inv.Resources = append(inv.Resources, model.Resource{
					ID: fmt.Sprintf("mnt:%d", n), Host: host, Kind: model.ResFilesystem, Name: Datastore(h, j),
					Device: "/dev/" + dm, Type: "xfs", Mountpoints: []string{Datastore(h, j)}, SizeBytes: 100 << 30, FreeBytes: &free,
					Below: []string{"blk:" + dm},
				})
			}
		}
	}
	for h := range hosts {
		inv.Resources = append(inv.Resources, model.Resource{
			ID: fmt.Sprintf("mnt:nfs%d", h), Host: Host(h), Kind: model.ResNFS, Name: "/mnt/nfs", Type: "nfs4",
			Remote: Export(h), Mountpoints: []string{"/mnt/nfs"},
		})
	}
	for v := range s.VMs {
		h := v / s.VMsPerHost
		host := Host(h)
		vm := model.VM{ID: fmt.Sprintf("%08x-0000-4000-8000-%012x", v, v), Name: fmt.Sprintf("vm%06d", v), Host: host,
			Platform: model.PlatformLibvirt, State: "running"}
		for d := range s.DisksPerVM {
			vm.Disks = append(vm.Disks, disk(s, h, v, d))
		}
		inv.VMs = append(inv.VMs, vm)
	}
	query.Sort(inv)
	return inv
}

// Export is the NFS export mounted on host h; four filers share the hosts.
func Export(h int) string { return fmt.Sprintf("filer%d:/vol/h%d", h%4, h) }

func disk(s Shape, h, v, d int) model.Disk {
	fsPerHost := s.LUNsPerHost / 2
	name := fmt.Sprintf("vd%c", 'a'+rune(d%26))
	if d == 3 {
		// The fourth disk is an image on the host's NFS mount.
		src := fmt.Sprintf("/mnt/nfs/vm%06d.raw", v)
		return model.Disk{Name: name, Kind: model.DiskImage, Device: "disk", Bus: "virtio", Source: src, Format: "raw",
			CapacityBytes: 10 << 30, LUNs: []string{},
			Chain: []model.Layer{
				{Level: 0, Kind: "file", Name: src, Detail: "raw"},
				{Level: 1, Kind: string(model.ResNFS), Name: "/mnt/nfs", ID: fmt.Sprintf("mnt:nfs%d", h), Detail: Export(h)},
			}}
	}
	if d%3 == 2 {
		// A pass-through disk on one of the host's LUNs without a filesystem.
		n := h*s.LUNsPerHost + fsPerHost + (v+d)%(s.LUNsPerHost-fsPerHost)
		id := LUNID(n)
		return model.Disk{Name: name, Kind: model.DiskPassthrough, Device: "lun", Bus: "scsi",
			Source: "/dev/mapper/mpath" + fmt.Sprint(n), LUNs: []string{id}, CapacityBytes: 100 << 30,
			Anchor: &model.Anchor{DevNo: fmt.Sprintf("253:%d", n), Host: Host(h)},
			Chain: []model.Layer{
				{Level: 0, Kind: string(model.ResMultipath), Name: fmt.Sprintf("mpath%d", n), ID: "blk:" + Device(n)},
				{Level: 1, Kind: "lun", Name: id, ID: id},
			}}
	}
	j := (v + d) % fsPerHost
	n := h*s.LUNsPerHost + j
	id := LUNID(n)
	src := fmt.Sprintf("%s/vm%06d-%s.qcow2", Datastore(h, j), v, name)
	return model.Disk{Name: name, Kind: model.DiskImage, Device: "disk", Bus: "virtio", Source: src, Format: "qcow2",
		CapacityBytes: 20 << 30, Datastore: fmt.Sprintf("ds%d", j), LUNs: []string{id},
		Anchor: &model.Anchor{DevNo: fmt.Sprintf("253:%d", n), Path: src, Host: Host(h)},
		Chain: []model.Layer{
			{Level: 0, Kind: "file", Name: src, Detail: "qcow2"},
			{Level: 1, Kind: string(model.ResFilesystem), Name: Datastore(h, j), ID: fmt.Sprintf("mnt:%d", n), Detail: "xfs"},
			{Level: 2, Kind: string(model.ResMultipath), Name: fmt.Sprintf("mpath%d", n), ID: "blk:" + Device(n)},
			{Level: 3, Kind: "lun", Name: id, ID: id},
		}}
}

// Mutate changes about frac of inv in place, the way a day in an estate
// does: some VMs are removed and others created, some disks move to another
// LUN of their host, some LUNs grow, some paths fail. The same seed gives the
// same changes.
func Mutate(inv *model.Inventory, frac float64, seed uint64, at time.Time) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	inv.ScannedAt = at.UTC()
	pick := func() bool { return r.Float64() < frac }
	kept := inv.VMs[:0]
	for _, vm := range inv.VMs {
		if pick() {
			continue // removed
		}
		for i := range vm.Disks {
			if pick() && len(vm.Disks[i].LUNs) > 0 {
				d := &vm.Disks[i]
				if d.Datastore != "" {
					d.Datastore += "-moved"
				}
				d.LUNs = []string{d.LUNs[0] + "0"}
			}
		}
		if pick() {
			vm.State = "shut off"
		}
		kept = append(kept, vm)
	}
	inv.VMs = kept
	for i := range inv.LUNs {
		l := &inv.LUNs[i]
		if pick() {
			l.SizeBytes += 10 << 30
		}
		if pick() && len(l.Paths) > 0 {
			l.Paths[0].State = model.PathFailed
			l.State = model.LUNState(l.Paths)
		}
	}
	added := int(float64(len(inv.VMs))*frac) + 1
	for k := range added {
		vm := model.VM{ID: fmt.Sprintf("new-%d-%d", seed, k), Name: fmt.Sprintf("new%d-%d", seed, k),
			Host: Host(0), Platform: model.PlatformLibvirt, State: "running",
			Disks: []model.Disk{{Name: "vda", Kind: model.DiskImage, Source: fmt.Sprintf("/srv/new/%d-%d.qcow2", seed, k), LUNs: []string{LUNID(0)}}}}
		inv.VMs = append(inv.VMs, vm)
	}
	query.Sort(inv)
}

// DiskCount counts the virtual disks of inv.
func DiskCount(inv *model.Inventory) int {
	n := 0
	for _, vm := range inv.VMs {
		n += len(vm.Disks)
	}
	return n
}
