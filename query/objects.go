// Package query answers questions about an inventory: which VMs and disks sit
// on a LUN, array, datastore, export or device (WhoUses), and what changed
// between two inventories (Diff). Its functions are pure: the CLI runs them on
// a live scan, and the store runs the very same functions on the few objects
// its indexes select, so both give the same answers by construction.
package query

import (
	"sort"
	"strconv"

	"github.com/vmstor/vmstor/model"
)

// Kinds of the objects an inventory is split into for storing and diffing.
const (
	KindHost     = "host"
	KindVM       = "vm"
	KindDisk     = "disk"
	KindLUN      = "lun"
	KindResource = "res"
)

// DiskRec is one virtual disk with the identity of its VM, so that a disk can
// be stored, indexed and reported on its own.
type DiskRec struct {
	// VMKey is the key of the VM object the disk belongs to.
	VMKey  string `json:"vm_key"`
	VMID   string `json:"vm_id,omitempty"`
	VMName string `json:"vm_name"`
	Host   string `json:"host,omitempty"`
	// Pos is the disk's position in its VM's disk list.
	Pos  int        `json:"pos"`
	Disk model.Disk `json:"disk"`
}

// Objects is an inventory split into keyed objects: the unit of change.
// A VM is stored without its disks; each disk is its own object.
type Objects struct {
	Hosts     map[string]model.Host
	VMs       map[string]model.VM
	Disks     map[string]DiskRec
	LUNs      map[string]model.LUN
	Resources map[string]model.Resource
}

// NewObjects returns empty Objects.
func NewObjects() *Objects {
	return &Objects{
		Hosts:     map[string]model.Host{},
		VMs:       map[string]model.VM{},
		Disks:     map[string]DiskRec{},
		LUNs:      map[string]model.LUN{},
		Resources: map[string]model.Resource{},
	}
}

// VMKey is the stable identity of a VM across scans: the platform's id, which
// survives renames and migrations between hosts. Proxmox VMIDs are unique
// only within a cluster, so the cluster (or host) is part of the key there.
func VMKey(vm *model.VM) string {
	p := string(vm.Platform)
	if vm.ID == "" {
		return p + ":" + vm.Host + "/" + vm.Name
	}
	if vm.Platform == model.PlatformProxmox {
		c := vm.Cluster
		if c == "" {
			c = vm.Host
		}
		return p + ":" + c + "/" + vm.ID
	}
	return p + ":" + vm.ID
}

// DiskKey is the identity of a disk: its VM and its guest-visible name.
func DiskKey(vmKey, disk string) string { return vmKey + "|" + disk }

// ResourceKey is the identity of a resource: resource ids are unique within
// a host, not across the hosts of one inventory.
func ResourceKey(r *model.Resource) string {
	if r.Host == "" {
		return r.ID
	}
	return r.Host + "|" + r.ID
}

// Flatten splits inv into objects. Two objects with the same key (a
// platform reporting one VM twice) keep both, the second with "#2" appended.
func Flatten(inv *model.Inventory) *Objects {
	o := NewObjects()
	for _, h := range inv.Hosts {
		o.Hosts[unique(o.Hosts, h.Name)] = h
	}
	for i := range inv.VMs {
		vm := inv.VMs[i]
		key := unique(o.VMs, VMKey(&vm))
		disks := vm.Disks
		vm.Disks = nil
		o.VMs[key] = vm
		for j, d := range disks {
			dk := unique(o.Disks, DiskKey(key, d.Name))
			o.Disks[dk] = DiskRec{VMKey: key, VMID: vm.ID, VMName: vm.Name, Host: vm.Host, Pos: j, Disk: d}
		}
	}
	for _, l := range inv.LUNs {
		o.LUNs[unique(o.LUNs, l.ID)] = l
	}
	for i := range inv.Resources {
		r := inv.Resources[i]
		o.Resources[unique(o.Resources, ResourceKey(&r))] = r
	}
	return o
}

func unique[V any](m map[string]V, key string) string {
	if _, dup := m[key]; !dup {
		return key
	}
	for n := 2; ; n++ {
		k := key + "#" + strconv.Itoa(n)
		if _, dup := m[k]; !dup {
			return k
		}
	}
}

// Inventory joins objects back into an inventory (without the scan's own
// fields: time, sources, errors), in the order Sort gives.
func (o *Objects) Inventory() *model.Inventory {
	inv := &model.Inventory{Version: model.SchemaVersion}
	vmAt := make(map[string]int, len(o.VMs))
	for k, vm := range o.VMs {
		vmAt[k] = len(inv.VMs)
		inv.VMs = append(inv.VMs, vm)
	}
	// Disks in their original order within each VM.
	type posDisk struct {
		pos int
		d   model.Disk
	}
	perVM := make(map[int][]posDisk)
	for _, d := range o.Disks {
		i, ok := vmAt[d.VMKey]
		if !ok {
			continue
		}
		perVM[i] = append(perVM[i], posDisk{d.Pos, d.Disk})
	}
	for i, ds := range perVM {
		sort.Slice(ds, func(a, b int) bool {
			if ds[a].pos != ds[b].pos {
				return ds[a].pos < ds[b].pos
			}
			return ds[a].d.Name < ds[b].d.Name
		})
		inv.VMs[i].Disks = make([]model.Disk, len(ds))
		for j, d := range ds {
			inv.VMs[i].Disks[j] = d.d
		}
	}
	for _, h := range o.Hosts {
		inv.Hosts = append(inv.Hosts, h)
	}
	for _, l := range o.LUNs {
		inv.LUNs = append(inv.LUNs, l)
	}
	for _, r := range o.Resources {
		inv.Resources = append(inv.Resources, r)
	}
	Sort(inv)
	return inv
}

// Sort orders an inventory deterministically, the way scan.Sort does: VMs by
// host, name and id; hosts by name; resources by id and host; LUNs by id.
// Disks and paths keep their order.
func Sort(inv *model.Inventory) {
	sort.SliceStable(inv.VMs, func(i, j int) bool {
		a, b := &inv.VMs[i], &inv.VMs[j]
		if a.Host != b.Host {
			return a.Host < b.Host
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.ID < b.ID
	})
	sort.SliceStable(inv.Hosts, func(i, j int) bool { return inv.Hosts[i].Name < inv.Hosts[j].Name })
	sort.SliceStable(inv.Resources, func(i, j int) bool {
		a, b := &inv.Resources[i], &inv.Resources[j]
		if a.ID != b.ID {
			return a.ID < b.ID
		}
		return a.Host < b.Host
	})
	sort.SliceStable(inv.LUNs, func(i, j int) bool { return inv.LUNs[i].ID < inv.LUNs[j].ID })
}
