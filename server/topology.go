package server

import (
	"fmt"
	"net/url"

	"github.com/vmstor/vmstor/metrics"
	"github.com/vmstor/vmstor/model"
)

// maxGraphNodes bounds a topology picture: an array with thousands of LUNs
// is drawn truncated rather than freezing the browser.
const maxGraphNodes = 600

// Column kinds, left to right.
const (
	colVM = iota
	colDisk
	colLayer // + chain level
)

type graphBuilder struct {
	s       *snapshot
	g       Graph
	nodes   map[string]int
	edges   map[[2]string]bool
	maxCol  int
	paths   bool
	luns    map[string]bool // LUN node ids added, for the right-hand columns
	lunOnly string          // restrict disk chains to this LUN (LUN view)
}

func newGraph(s *snapshot, paths bool) *graphBuilder {
	return &graphBuilder{s: s, nodes: map[string]int{}, edges: map[[2]string]bool{}, paths: paths, luns: map[string]bool{}}
}

func (b *graphBuilder) full() bool { return len(b.g.Nodes) >= maxGraphNodes }

func (b *graphBuilder) node(n Node) string {
	if _, ok := b.nodes[n.ID]; ok {
		return n.ID
	}
	if b.full() {
		b.g.Truncated = true
		return ""
	}
	b.nodes[n.ID] = len(b.g.Nodes)
	b.g.Nodes = append(b.g.Nodes, n)
	if n.Column > b.maxCol && n.Kind != "lun" && n.Kind != "path" && n.Kind != "array" {
		b.maxCol = n.Column
	}
	return n.ID
}

func (b *graphBuilder) edge(from, to, state string) {
	if from == "" || to == "" || b.edges[[2]string{from, to}] {
		return
	}
	b.edges[[2]string{from, to}] = true
	b.g.Edges = append(b.g.Edges, Edge{From: from, To: to, State: state})
}

func (b *graphBuilder) vmNode(i int) string {
	vm := &b.s.inv.VMs[i]
	return b.node(Node{ID: "vm:" + vm.ID, Kind: "vm", Label: vm.Name, Detail: vm.Host, Column: colVM,
		State: b.s.vms[i].Health, Link: "vm/" + url.PathEscape(vm.ID)})
}

// disk adds a disk and its chain down to (but not including) its LUNs, and
// returns the ids of the chain's deepest nodes with the LUN ids under each.
func (b *graphBuilder) disk(ref diskRef) {
	vm := &b.s.inv.VMs[ref.vm]
	d := &vm.Disks[ref.disk]
	vmID := b.vmNode(ref.vm)
	detail := string(d.Kind)
	if d.CapacityBytes > 0 {
		detail += " " + humanBytes(d.CapacityBytes)
	}
	diskID := b.node(Node{ID: "disk:" + vm.ID + "/" + d.Name, Kind: "disk", Label: d.Name, Detail: detail, Column: colDisk})
	b.edge(vmID, diskID, "")
	lunWanted := func(id string) bool { return b.lunOnly == "" || id == b.lunOnly }

	// The chain's layers by level, LUN layers left out (LUNs get their own column).
	byLevel := map[int][]model.Layer{}
	minL, maxL := 1<<30, -1
	for _, l := range d.Chain {
		if l.Kind == "lun" {
			continue
		}
		byLevel[l.Level] = append(byLevel[l.Level], l)
		minL, maxL = min(minL, l.Level), max(maxL, l.Level)
	}
	layerID := func(l model.Layer) string {
		if l.ID != "" {
			return "res:" + l.ID
		}
		return "file:" + vm.ID + "/" + d.Name + "/" + l.Name
	}
	if maxL < 0 {
		for _, id := range d.LUNs {
			if lunWanted(id) {
				b.edge(diskID, b.lun(id), "")
			}
		}
		return
	}
	for _, l := range byLevel[minL] {
		b.edge(diskID, b.layer(l, layerID(l), colLayer+l.Level-minL), "")
	}
	for lvl := minL; lvl <= maxL; lvl++ {
		for _, l := range byLevel[lvl] {
			from := layerID(l)
			var res *model.Resource
			if k, ok := b.s.resByID[l.ID]; ok {
				res = &b.s.inv.Resources[k]
			}
			linked := false
			for _, c := range byLevel[lvl+1] {
				if res == nil || len(res.Below) == 0 || contains1(res.Below, c.ID) {
					b.edge(from, b.layer(c, layerID(c), colLayer+c.Level-minL), "")
					linked = true
				}
			}
			if res != nil {
				for _, id := range res.LUNs {
					if contains1(d.LUNs, id) && lunWanted(id) {
						b.edge(from, b.lun(id), "")
						linked = true
					}
				}
			}
			if !linked && lvl == maxL {
				for _, id := range d.LUNs {
					if lunWanted(id) {
						b.edge(from, b.lun(id), "")
					}
				}
			}
		}
	}
}

func (b *graphBuilder) layer(l model.Layer, id string, col int) string {
	n := Node{ID: id, Kind: l.Kind, Label: l.Name, Detail: l.Kind, Column: col}
	if k, ok := b.s.resByID[l.ID]; ok {
		r := &b.s.inv.Resources[k]
		n.Kind = string(r.Kind)
		n.Detail = string(r.Kind)
		if r.Type != "" {
			n.Detail += " " + r.Type
		}
		if r.FreeBytes != nil && r.SizeBytes > 0 {
			n.Detail += fmt.Sprintf(" %.0f%% free", 100*float64(*r.FreeBytes)/float64(r.SizeBytes))
		}
	}
	return b.node(n)
}

// lun adds a LUN node (its paths and array are added by finish).
func (b *graphBuilder) lun(id string) string {
	n := Node{ID: "lun:" + id, Kind: "lun", Label: id, Link: "lun/" + url.PathEscape(id)}
	if k, ok := b.s.lunByID[id]; ok {
		l := &b.s.inv.LUNs[k]
		n.State = l.State
		n.Detail = humanBytes(l.SizeBytes)
		if l.Volume != "" {
			n.Detail += " " + l.Volume
		}
	}
	got := b.node(n)
	if got != "" {
		b.luns[id] = true
	}
	return got
}

// finish places the LUN, path and array columns right of the deepest layer
// and adds each LUN's paths and array.
func (b *graphBuilder) finish() Graph {
	lunCol := b.maxCol + 1
	if lunCol < colLayer {
		lunCol = colLayer
	}
	pathCol, arrayCol := lunCol+1, lunCol+2
	if !b.paths {
		arrayCol = lunCol + 1
	}
	// Walk in node order so the picture is deterministic.
	for i := 0; i < len(b.g.Nodes); i++ {
		n := b.g.Nodes[i]
		if n.Kind != "lun" {
			continue
		}
		b.g.Nodes[i].Column = lunCol
		k, ok := b.s.lunByID[n.Label]
		if !ok {
			continue
		}
		l := &b.s.inv.LUNs[k]
		arrayID := ""
		if a := metrics.ArrayName(l.Array); a != "" {
			arrayID = b.node(Node{ID: "array:" + a, Kind: "array", Label: a, Detail: l.Array.Vendor + " " + l.Array.Family,
				Column: arrayCol, Link: "array/" + url.PathEscape(a)})
		}
		if !b.paths {
			b.edge(n.ID, arrayID, l.State)
			continue
		}
		for _, p := range l.Paths {
			label := p.Device
			if p.Host != "" {
				label = p.Host + ":" + p.Device
			}
			pid := b.node(Node{ID: "path:" + l.ID + "/" + p.Host + "/" + p.Device, Kind: "path", Label: label,
				Detail: p.Transport + " " + p.State, Column: pathCol, State: p.State})
			b.edge(n.ID, pid, p.State)
			b.edge(pid, arrayID, p.State)
		}
	}
	// Arrays reduce their state from their LUNs in the picture.
	for i, n := range b.g.Nodes {
		if n.Kind == "array" {
			if k, ok := b.s.arrayIdx[n.Label]; ok {
				b.g.Nodes[i].State = b.s.arrays[k].State
			}
		}
	}
	if b.g.Nodes == nil {
		b.g.Nodes = []Node{}
	}
	if b.g.Edges == nil {
		b.g.Edges = []Edge{}
	}
	return b.g
}

// vmGraph is VM -> disks -> layers -> LUNs -> paths -> arrays.
func (s *snapshot) vmGraph(i int) Graph {
	b := newGraph(s, true)
	b.vmNode(i)
	for j := range s.inv.VMs[i].Disks {
		b.disk(diskRef{i, j})
	}
	return b.finish()
}

// lunGraph is every VM disk on the LUN, their chains down to it, its paths
// and array.
func (s *snapshot) lunGraph(id string) Graph {
	b := newGraph(s, true)
	b.lunOnly = id
	for _, ref := range s.lunUsers[id] {
		if b.full() {
			b.g.Truncated = true
			break
		}
		b.disk(ref)
	}
	b.lun(id)
	return b.finish()
}

// arrayGraph is compact: VM -> LUN -> array, without layers and paths, as
// an array can carry thousands of LUNs.
func (s *snapshot) arrayGraph(name string) Graph {
	b := newGraph(s, false)
	for k := range s.inv.LUNs {
		l := &s.inv.LUNs[k]
		if metrics.ArrayName(l.Array) != name {
			continue
		}
		if b.full() {
			b.g.Truncated = true
			break
		}
		lid := b.lun(l.ID)
		for _, ref := range s.lunUsers[l.ID] {
			b.edge(b.vmNode(ref.vm), lid, "")
		}
	}
	b.maxCol = colVM
	return b.finish()
}

func contains1(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func humanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
