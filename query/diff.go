package query

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/vmstor/vmstor/model"
)

// Change is one difference between two inventories.
type Change struct {
	// ScanID and Time are the scan in which the change was seen (zero for
	// a diff of two live inventories).
	ScanID int64     `json:"scan_id,omitempty"`
	Time   time.Time `json:"time,omitzero"`
	// Kind is one of the Change* constants.
	Kind string `json:"kind"`
	// Object names what changed: a VM name, "VM/disk", a LUN id, a host, a
	// resource name.
	Object string `json:"object"`
	Detail string `json:"detail,omitempty"`
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
}

// Kinds of change.
const (
	ChangeHostAdded       = "host-added"
	ChangeHostRemoved     = "host-removed"
	ChangeVMAdded         = "vm-added"
	ChangeVMRemoved       = "vm-removed"
	ChangeVMRenamed       = "vm-renamed"
	ChangeVMMoved         = "vm-moved" // to another host
	ChangeVMState         = "vm-state"
	ChangeDiskAdded       = "disk-added"
	ChangeDiskRemoved     = "disk-removed"
	ChangeDiskMoved       = "disk-moved" // to another datastore, LUN or source
	ChangeDiskResized     = "disk-resized"
	ChangeLUNAdded        = "lun-added"
	ChangeLUNRemoved      = "lun-removed"
	ChangeLUNResized      = "lun-resized"
	ChangeLUNState        = "lun-state"
	ChangeArrayChanged    = "array-changed"
	ChangePathLost        = "path-lost"
	ChangePathRestored    = "path-restored"
	ChangePathAdded       = "path-added"
	ChangeResourceAdded   = "resource-added"
	ChangeResourceRemoved = "resource-removed"
	ChangeResourceResized = "resource-resized"
)

// kindRank orders changes for reading: VMs, disks, LUNs, paths, the rest.
var kindRank = map[string]int{
	ChangeVMAdded: 1, ChangeVMRemoved: 2, ChangeVMRenamed: 3, ChangeVMMoved: 4, ChangeVMState: 5,
	ChangeDiskAdded: 10, ChangeDiskRemoved: 11, ChangeDiskMoved: 12, ChangeDiskResized: 13,
	ChangeLUNAdded: 20, ChangeLUNRemoved: 21, ChangeLUNResized: 22, ChangeArrayChanged: 23, ChangeLUNState: 24,
	ChangePathLost: 30, ChangePathRestored: 31, ChangePathAdded: 32,
	ChangeHostAdded: 40, ChangeHostRemoved: 41,
	ChangeResourceAdded: 50, ChangeResourceRemoved: 51, ChangeResourceResized: 52,
}

// Diff lists what changed from before to after.
func Diff(before, after *model.Inventory) []Change {
	return DiffObjects(Flatten(before), Flatten(after))
}

// DiffObjects lists what changed from before to after. An object absent from
// both is unchanged, so callers may pass only the objects that changed (the
// store does); the result is the same as for the whole inventories.
func DiffObjects(before, after *Objects) []Change {
	var cs []Change
	add := func(kind, obj, detail, b, a string) {
		cs = append(cs, Change{Kind: kind, Object: obj, Detail: detail, Before: b, After: a})
	}

	for _, k := range keys(before.Hosts, after.Hosts) {
		_, inB := before.Hosts[k]
		_, inA := after.Hosts[k]
		switch {
		case inB && !inA:
			add(ChangeHostRemoved, k, "", "", "")
		case inA && !inB:
			add(ChangeHostAdded, k, string(after.Hosts[k].Platform), "", "")
		}
	}

	for _, k := range keys(before.VMs, after.VMs) {
		b, inB := before.VMs[k]
		a, inA := after.VMs[k]
		switch {
		case inB && !inA:
			add(ChangeVMRemoved, b.Name, vmDetail(&b), "", "")
		case inA && !inB:
			add(ChangeVMAdded, a.Name, vmDetail(&a), "", "")
		default:
			if b.Name != a.Name {
				add(ChangeVMRenamed, a.Name, "", b.Name, a.Name)
			}
			if b.Host != a.Host {
				add(ChangeVMMoved, a.Name, "host", b.Host, a.Host)
			}
			if b.State != a.State {
				add(ChangeVMState, a.Name, "", b.State, a.State)
			}
		}
	}

	for _, k := range keys(before.Disks, after.Disks) {
		b, inB := before.Disks[k]
		a, inA := after.Disks[k]
		switch {
		case inB && !inA:
			// A removed VM's disks go with it: one change, not one per disk.
			if vmGone(before, after, b.VMKey) {
				continue
			}
			add(ChangeDiskRemoved, diskName(&b), b.Disk.Source, placement(&b.Disk), "")
		case inA && !inB:
			if vmNew(before, after, a.VMKey) {
				continue
			}
			add(ChangeDiskAdded, diskName(&a), a.Disk.Source, "", placement(&a.Disk))
		default:
			bd, ad := &b.Disk, &a.Disk
			if bd.Datastore != ad.Datastore || bd.Source != ad.Source || !sameSet(bd.LUNs, ad.LUNs) {
				add(ChangeDiskMoved, diskName(&a), movedWhat(bd, ad), placement(bd), placement(ad))
			}
			if bd.CapacityBytes != ad.CapacityBytes {
				add(ChangeDiskResized, diskName(&a), "", bytes(bd.CapacityBytes), bytes(ad.CapacityBytes))
			}
		}
	}

	for _, k := range keys(before.LUNs, after.LUNs) {
		b, inB := before.LUNs[k]
		a, inA := after.LUNs[k]
		switch {
		case inB && !inA:
			add(ChangeLUNRemoved, b.ID, lunDetail(&b), "", "")
		case inA && !inB:
			add(ChangeLUNAdded, a.ID, lunDetail(&a), "", "")
		default:
			if b.SizeBytes != a.SizeBytes {
				add(ChangeLUNResized, a.ID, "", bytes(b.SizeBytes), bytes(a.SizeBytes))
			}
			if ba, aa := arrayLabel(b.Array), arrayLabel(a.Array); ba != aa {
				add(ChangeArrayChanged, a.ID, "", ba, aa)
			}
			if b.State != a.State {
				add(ChangeLUNState, a.ID, "", b.State, a.State)
			}
			cs = append(cs, pathChanges(&b, &a)...)
		}
	}

	for _, k := range keys(before.Resources, after.Resources) {
		b, inB := before.Resources[k]
		a, inA := after.Resources[k]
		switch {
		case inB && !inA:
			add(ChangeResourceRemoved, resName(&b), resDetail(&b), "", "")
		case inA && !inB:
			add(ChangeResourceAdded, resName(&a), resDetail(&a), "", "")
		default:
			if b.SizeBytes != a.SizeBytes {
				add(ChangeResourceResized, resName(&a), resDetail(&a), bytes(b.SizeBytes), bytes(a.SizeBytes))
			}
		}
	}

	SortChanges(cs)
	return cs
}

// SortChanges orders changes for reading: by scan, then VMs, disks, LUNs,
// paths, hosts and resources, then by object.
func SortChanges(cs []Change) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := &cs[i], &cs[j]
		if a.ScanID != b.ScanID {
			return a.ScanID < b.ScanID
		}
		if ra, rb := kindRank[a.Kind], kindRank[b.Kind]; ra != rb {
			return ra < rb
		}
		if a.Object != b.Object {
			return a.Object < b.Object
		}
		return a.Detail < b.Detail
	})
}

func keys[V any](a, b map[string]V) []string {
	ks := make([]string, 0, len(a)+len(b))
	for k := range a {
		ks = append(ks, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	return ks
}

func vmGone(before, after *Objects, vm string) bool {
	_, inB := before.VMs[vm]
	_, inA := after.VMs[vm]
	return inB && !inA
}

func vmNew(before, after *Objects, vm string) bool {
	_, inB := before.VMs[vm]
	_, inA := after.VMs[vm]
	return inA && !inB
}

func vmDetail(vm *model.VM) string {
	s := "host " + vm.Host
	if vm.ID != "" {
		s += ", id " + vm.ID
	}
	return s
}

func diskName(d *DiskRec) string { return d.VMName + "/" + d.Disk.Name }

// placement says where a disk is: its datastore and LUNs, else its source.
func placement(d *model.Disk) string {
	var parts []string
	if d.Datastore != "" {
		parts = append(parts, d.Datastore)
	}
	if len(d.LUNs) > 0 {
		parts = append(parts, strings.Join(d.LUNs, ","))
	}
	if len(parts) == 0 {
		return d.Source
	}
	return strings.Join(parts, " ")
}

func movedWhat(b, a *model.Disk) string {
	var w []string
	if b.Datastore != a.Datastore {
		w = append(w, "datastore")
	}
	if !sameSet(b.LUNs, a.LUNs) {
		w = append(w, "lun")
	}
	if b.Source != a.Source {
		w = append(w, "source "+b.Source+" -> "+a.Source)
	}
	return strings.Join(w, ", ")
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := slices.Clone(a), slices.Clone(b)
	sort.Strings(x)
	sort.Strings(y)
	return slices.Equal(x, y)
}

func bytes(n uint64) string { return fmt.Sprintf("%d", n) }

func lunDetail(l *model.LUN) string {
	var parts []string
	if a := arrayLabel(l.Array); a != "" {
		parts = append(parts, a)
	}
	if l.SizeBytes > 0 {
		parts = append(parts, fmt.Sprintf("%d bytes", l.SizeBytes))
	}
	return strings.Join(parts, ", ")
}

// arrayLabel names the array serving a LUN: vendor, family, system.
func arrayLabel(a *model.Array) string {
	if a == nil {
		return ""
	}
	var parts []string
	for _, s := range []string{a.Vendor, a.Family, a.Model, a.SystemName, a.SystemID} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " ")
}

func pathKey(p *model.Path) string {
	if p.Host == "" {
		return p.Device
	}
	return p.Host + ":" + p.Device
}

// pathChanges lists paths that failed or went away, came back, or appeared.
func pathChanges(b, a *model.LUN) []Change {
	bp := map[string]*model.Path{}
	for i := range b.Paths {
		bp[pathKey(&b.Paths[i])] = &b.Paths[i]
	}
	ap := map[string]*model.Path{}
	for i := range a.Paths {
		ap[pathKey(&a.Paths[i])] = &a.Paths[i]
	}
	var cs []Change
	for _, k := range keys(bp, ap) {
		pb, pa := bp[k], ap[k]
		switch {
		case pa == nil:
			cs = append(cs, Change{Kind: ChangePathLost, Object: a.ID, Detail: k + " gone", Before: pb.State})
		case pb == nil:
			cs = append(cs, Change{Kind: ChangePathAdded, Object: a.ID, Detail: k, After: pa.State})
		case pb.State != model.PathFailed && pa.State == model.PathFailed:
			cs = append(cs, Change{Kind: ChangePathLost, Object: a.ID, Detail: k, Before: pb.State, After: pa.State})
		case pb.State == model.PathFailed && pa.State != model.PathFailed:
			cs = append(cs, Change{Kind: ChangePathRestored, Object: a.ID, Detail: k, Before: pb.State, After: pa.State})
		}
	}
	return cs
}

func resName(r *model.Resource) string {
	if r.Name != "" {
		return r.Name
	}
	return r.ID
}

func resDetail(r *model.Resource) string {
	s := string(r.Kind)
	if r.Host != "" {
		s += " on " + r.Host
	}
	return s
}
