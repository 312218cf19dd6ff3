package array

import (
	"sort"

	"github.com/vmstor/vmstor/model"
)

// System is one storage system and the LUNs it serves.
type System struct {
	// ID is the best system id among the members (an API id over a
	// VPD serial over an id prefix over a target name).
	ID        string   `json:"id"`
	Vendor    string   `json:"vendor,omitempty"`
	Family    string   `json:"family,omitempty"`
	Name      string   `json:"name,omitempty"`
	Addresses []string `json:"addresses,omitempty"`
	// Keys are every fact that tied LUNs together: system ids, id
	// prefixes, iSCSI target IQNs, NVMe subsystem NQNs, FC target WWNNs.
	Keys []string `json:"keys"`
	LUNs []string `json:"luns"`
}

// GroupSystems groups LUNs by storage system: two LUNs are on one system
// when they share any key (a system id, an id prefix shared by the LUNs of
// one array, a target name). Then it gives every member the best member's
// system id and, where missing, name and addresses (source "group"). LUNs with
// no key are left out. Systems come sorted by ID.
func GroupSystems(luns []model.LUN) []System {
	parent := make([]int, len(luns))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	owner := map[string]int{}
	keys := make([][]string, len(luns))
	for i := range luns {
		keys[i] = systemKeys(&luns[i])
		for _, k := range keys[i] {
			if j, ok := owner[k]; ok {
				parent[find(i)] = find(j)
			} else {
				owner[k] = i
			}
		}
	}
	members := map[int][]int{}
	var roots []int
	for i := range luns {
		if len(keys[i]) == 0 {
			continue
		}
		r := find(i)
		if _, ok := members[r]; !ok {
			roots = append(roots, r)
		}
		members[r] = append(members[r], i)
	}
	out := make([]System, 0, len(roots))
	for _, r := range roots {
		m := members[r]
		best := m[0]
		for _, i := range m[1:] {
			if betterSystem(&luns[i], &luns[best]) {
				best = i
			}
		}
		b := luns[best].Array
		s := System{}
		if b != nil {
			s.ID, s.Vendor, s.Family, s.Name = b.SystemID, b.Vendor, b.Family, b.SystemName
			s.Addresses = append([]string(nil), b.Addresses...)
		}
		seenKey := map[string]bool{}
		for _, i := range m {
			l := &luns[i]
			s.LUNs = append(s.LUNs, l.ID)
			for _, k := range keys[i] {
				if !seenKey[k] {
					seenKey[k] = true
					s.Keys = append(s.Keys, k)
				}
			}
			if s.Name == "" && l.Array != nil && l.Array.SystemName != "" {
				s.Name = l.Array.SystemName
			}
		}
		if s.ID == "" {
			sort.Strings(s.Keys)
			s.ID = s.Keys[0]
		}
		sort.Strings(s.Keys)
		sort.Strings(s.LUNs)
		for _, i := range m {
			l := &luns[i]
			setArray(l, FactSystemID, s.ID, SourceGroup)
			setArray(l, FactSystemName, s.Name, SourceGroup)
			if l.Array != nil && len(l.Array.Addresses) == 0 {
				setAddresses(l, s.Addresses, SourceGroup)
			}
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// betterSystem reports whether a's system facts beat b's: a better source
// of the system id, then a system name, then the smaller id.
func betterSystem(a, b *model.LUN) bool {
	ra, rb := sysRank(a), sysRank(b)
	if ra != rb {
		return ra > rb
	}
	na, nb := a.Array != nil && a.Array.SystemName != "", b.Array != nil && b.Array.SystemName != ""
	if na != nb {
		return na
	}
	return a.Array != nil && b.Array != nil && a.Array.SystemID < b.Array.SystemID
}

func sysRank(l *model.LUN) int {
	if l.Array == nil || l.Array.SystemID == "" {
		return -1
	}
	return rank(l.FactSources[FactSystemID])
}

// systemKeys are the facts that tie l to its system.
func systemKeys(l *model.LUN) []string {
	var ks []string
	if l.Array != nil && l.Array.SystemID != "" {
		ks = model.AppendNew(ks, l.Array.SystemID)
	}
	if d := decodeID(l.ID); d.systemID != "" {
		ks = model.AppendNew(ks, d.systemID)
	}
	for _, p := range l.Paths {
		if id, _ := transportFacts(p); id != "" {
			ks = model.AppendNew(ks, id)
		}
	}
	return ks
}
