package server

import (
	"sort"
	"strings"

	"github.com/vmstor/vmstor/metrics"
	"github.com/vmstor/vmstor/model"
)

// snapshot is one inventory with the indexes the API needs, built once per
// scan so that a request over 10,000 VMs is a scan of a slice, not a walk of
// the storage graph.
type snapshot struct {
	inv  *model.Inventory
	scan ScanView

	vms      []VMSummary
	vmByID   map[string]int
	luns     []LUNSummary
	lunByID  map[string]int
	resByID  map[string]int
	arrays   []ArraySummary
	arrayIdx map[string]int
	stores   []DatastoreSummary
	// lunUsers are the disks on each LUN; resUsers the disks whose chain
	// passes through each resource.
	lunUsers map[string][]diskRef
	resUsers map[string][]diskRef
	// parents maps a resource or LUN id to the resources directly above it.
	parents map[string][]string
}

type diskRef struct{ vm, disk int }

// capacityKinds are the resources listed as datastores: where disks live.
var capacityKinds = map[model.ResourceKind]bool{
	model.ResFilesystem: true, model.ResNFS: true, model.ResSMB: true,
	model.ResDatastore: true, model.ResPool: true, model.ResVolume: true,
}

// stateRank orders LUN states from best to worst.
func stateRank(s string) int {
	switch s {
	case model.LUNOK:
		return 1
	case model.LUNDegraded:
		return 2
	case model.LUNFailed:
		return 3
	}
	return 0
}

func worse(a, b string) string {
	if stateRank(b) > stateRank(a) {
		return b
	}
	return a
}

func newSnapshot(inv *model.Inventory, scan ScanView) *snapshot {
	s := &snapshot{
		inv: inv, scan: scan,
		vmByID:   make(map[string]int, len(inv.VMs)),
		lunByID:  make(map[string]int, len(inv.LUNs)),
		resByID:  make(map[string]int, len(inv.Resources)),
		arrayIdx: map[string]int{},
		lunUsers: map[string][]diskRef{},
		resUsers: map[string][]diskRef{},
		parents:  map[string][]string{},
	}
	for i, l := range inv.LUNs {
		s.lunByID[l.ID] = i
	}
	for i, r := range inv.Resources {
		s.resByID[r.ID] = i
		for _, b := range r.Below {
			s.parents[b] = append(s.parents[b], r.ID)
		}
		for _, l := range r.LUNs {
			s.parents[l] = append(s.parents[l], r.ID)
		}
	}
	dsByName := map[string][]string{} // datastore name -> resource ids
	for _, r := range inv.Resources {
		if capacityKinds[r.Kind] {
			dsByName[r.Name] = append(dsByName[r.Name], r.ID)
		}
	}

	s.vms = make([]VMSummary, len(inv.VMs))
	for i := range inv.VMs {
		vm := &inv.VMs[i]
		if _, dup := s.vmByID[vm.ID]; !dup {
			s.vmByID[vm.ID] = i
		}
		sum := VMSummary{ID: vm.ID, Name: vm.Name, Host: vm.Host, Cluster: vm.Cluster,
			Platform: string(vm.Platform), State: vm.State, Disks: len(vm.Disks),
			LUNs: []string{}, Arrays: []string{}, Datastores: []string{},
			lname: lower(vm.Name), lkey: lower(vm.Name + "\x00" + vm.ID + "\x00" + vm.Host)}
		for j := range vm.Disks {
			d := &vm.Disks[j]
			sum.CapacityBytes += d.CapacityBytes
			ref := diskRef{i, j}
			seenRes := map[string]bool{}
			addRes := func(id string) {
				if id == "" || seenRes[id] {
					return
				}
				if _, ok := s.resByID[id]; ok {
					seenRes[id] = true
					s.resUsers[id] = append(s.resUsers[id], ref)
				}
			}
			for _, l := range d.Chain {
				addRes(l.ID)
			}
			if d.Anchor != nil {
				addRes(d.Anchor.Resource)
			}
			if d.Datastore != "" {
				sum.Datastores = model.AppendNew(sum.Datastores, d.Datastore)
				for _, id := range dsByName[d.Datastore] {
					if r := inv.Resources[s.resByID[id]]; r.Host == "" || r.Host == vm.Host || r.Kind == model.ResDatastore {
						addRes(id)
					}
				}
			}
			for _, id := range d.LUNs {
				s.lunUsers[id] = appendRef(s.lunUsers[id], ref)
				sum.LUNs = model.AppendNew(sum.LUNs, id)
				if k, ok := s.lunByID[id]; ok {
					l := &inv.LUNs[k]
					sum.Health = worse(sum.Health, l.State)
					if a := metrics.ArrayName(l.Array); a != "" {
						sum.Arrays = model.AppendNew(sum.Arrays, a)
					}
				}
			}
			if d.Error != "" {
				sum.Unresolved++
			}
		}
		s.vms[i] = sum
	}

	s.luns = make([]LUNSummary, len(inv.LUNs))
	for i := range inv.LUNs {
		l := &inv.LUNs[i]
		sum := LUNSummary{ID: l.ID, Vendor: l.Vendor, Product: l.Product, SizeBytes: l.SizeBytes,
			Array: metrics.ArrayName(l.Array), Volume: l.Volume, State: l.State, IOErrors: l.IOErrors,
			Hosts: l.Hosts, Paths: pathCounts(l.Paths)}
		if sum.Hosts == nil {
			sum.Hosts = []string{}
		}
		vms := map[int]bool{}
		for _, r := range s.lunUsers[l.ID] {
			vms[r.vm] = true
		}
		sum.VMs = len(vms)
		s.luns[i] = sum
		if sum.Array == "" {
			continue
		}
		k, ok := s.arrayIdx[sum.Array]
		if !ok {
			k = len(s.arrays)
			s.arrayIdx[sum.Array] = k
			s.arrays = append(s.arrays, ArraySummary{ID: sum.Array, Vendor: l.Array.Vendor, Family: l.Array.Family,
				Model: l.Array.Model, SystemID: l.Array.SystemID, SystemName: l.Array.SystemName, vmSet: map[int]bool{}, states: map[string]int{}})
		}
		a := &s.arrays[k]
		a.LUNs++
		a.SizeBytes += l.SizeBytes
		a.states[l.State]++
		a.Paths.add(sum.Paths)
		a.IOErrors += l.IOErrors
		for vm := range vms {
			a.vmSet[vm] = true
		}
	}
	for i := range s.arrays {
		a := &s.arrays[i]
		a.VMs = len(a.vmSet)
		// An array is failed only when every LUN is; one bad LUN makes it
		// degraded.
		switch {
		case a.states[model.LUNOK] == a.LUNs:
			a.State = model.LUNOK
		case a.states[model.LUNFailed] == a.LUNs:
			a.State = model.LUNFailed
		default:
			a.State = model.LUNDegraded
		}
	}
	sort.Slice(s.arrays, func(i, j int) bool { return s.arrays[i].ID < s.arrays[j].ID })
	for i, a := range s.arrays {
		s.arrayIdx[a.ID] = i
	}

	for _, r := range inv.Resources {
		if !capacityKinds[r.Kind] {
			continue
		}
		ds := DatastoreSummary{ID: r.ID, Name: r.Name, Host: r.Host, Kind: string(r.Kind), Type: r.Type,
			Remote: r.Remote, SizeBytes: r.SizeBytes, FreeBytes: r.FreeBytes}
		if r.FreeBytes != nil && r.SizeBytes > 0 {
			p := 100 * float64(*r.FreeBytes) / float64(r.SizeBytes)
			ds.FreePercent = &p
		}
		vms := map[int]bool{}
		for _, ref := range s.resUsers[r.ID] {
			vms[ref.vm] = true
		}
		ds.VMs = len(vms)
		ds.LUNs = s.lunsBelow(r.ID)
		if ds.LUNs == nil {
			ds.LUNs = []string{}
		}
		s.stores = append(s.stores, ds)
	}
	return s
}

// lunsBelow returns the LUN ids beneath a resource, through every layer.
func (s *snapshot) lunsBelow(id string) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(id string, depth int)
	walk = func(id string, depth int) {
		if seen[id] || depth > 32 { // a cycle in bad input must not hang the server
			return
		}
		seen[id] = true
		k, ok := s.resByID[id]
		if !ok {
			return
		}
		r := &s.inv.Resources[k]
		out = model.AppendNew(out, r.LUNs...)
		for _, b := range r.Below {
			walk(b, depth+1)
		}
	}
	walk(id, 0)
	return out
}

// above returns the resources above a LUN or resource, nearest first.
func (s *snapshot) above(id string) []string {
	var out []string
	seen := map[string]bool{id: true}
	queue := []string{id}
	for len(queue) > 0 && len(out) < 10000 {
		cur := queue[0]
		queue = queue[1:]
		for _, p := range s.parents[cur] {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
				queue = append(queue, p)
			}
		}
	}
	return out
}

func pathCounts(paths []model.Path) PathCounts {
	var c PathCounts
	for _, p := range paths {
		switch p.State {
		case model.PathActive:
			c.Active++
		case model.PathStandby:
			c.Standby++
		case model.PathFailed:
			c.Failed++
		default:
			c.Unknown++
		}
	}
	return c
}

func (c *PathCounts) add(o PathCounts) {
	c.Active += o.Active
	c.Standby += o.Standby
	c.Failed += o.Failed
	c.Unknown += o.Unknown
}

func appendRef(dst []diskRef, r diskRef) []diskRef {
	if n := len(dst); n > 0 && dst[n-1] == r {
		return dst
	}
	return append(dst, r)
}

// contains reports whether s contains sub, ignoring case.
func contains(s, sub string) bool {
	if sub == "" {
		return true
	}
	if len(sub) > len(s) {
		return false
	}
	return strings.Contains(strings.ToLower(s), sub) // sub is lowered by the caller
}
