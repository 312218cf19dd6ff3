// Package correlate is phase 3: it joins each virtual disk to the storage
// resources and LUNs beneath it. It is pure: it reads only the inventory that
// phases 1 and 2 produced, so it runs the same on a live host, a support
// bundle, a vSphere inventory or a stored scan.
package correlate

import (
	"fmt"
	"path"
	"strings"

	"github.com/vmstor/vmstor/model"
)

// Graph indexes an inventory's resources and LUNs for walking down from any
// anchor. Walks below a resource are memoised: many disks share the same
// filesystem, so each stack is walked once however many disks sit on it.
type Graph struct {
	res     map[string]*model.Resource
	luns    map[string]*model.LUN
	byDevNo map[string][]string // "maj:min" -> resource ids, filesystems first
	byName  map[string]string   // device paths, aliases, names -> resource id
	memo    map[string]*walk
}

// walk is the memoised result of walking down from one resource.
type walk struct {
	chain []model.Layer // levels relative to the resource (0)
	luns  []string
}

// NewGraph indexes inv. The inventory must not change while the graph is used.
func NewGraph(inv *model.Inventory) *Graph {
	g := &Graph{
		res:     make(map[string]*model.Resource, len(inv.Resources)),
		luns:    make(map[string]*model.LUN, len(inv.LUNs)),
		byDevNo: make(map[string][]string),
		byName:  make(map[string]string),
		memo:    make(map[string]*walk),
	}
	for i := range inv.LUNs {
		g.luns[inv.LUNs[i].ID] = &inv.LUNs[i]
	}
	for i := range inv.Resources {
		r := &inv.Resources[i]
		g.res[r.ID] = r
		if r.DevNo != "" {
			if isFilesystem(r.Kind) {
				g.byDevNo[r.DevNo] = append([]string{r.ID}, g.byDevNo[r.DevNo]...)
			} else {
				g.byDevNo[r.DevNo] = append(g.byDevNo[r.DevNo], r.ID)
			}
		}
		// Names a user may type for a device: /dev/sdc, sdc, /dev/mapper/x.
		// Filesystems are found by mount point instead (see LocateByName).
		if !isFilesystem(r.Kind) {
			for _, n := range append([]string{r.Device, r.Name}, r.Aliases...) {
				if n == "" {
					continue
				}
				if _, taken := g.byName[n]; !taken {
					g.byName[n] = r.ID
				}
			}
			if r.Device != "" {
				if _, taken := g.byName[path.Base(r.Device)]; !taken {
					g.byName[path.Base(r.Device)] = r.ID
				}
			}
		}
	}
	return g
}

func isFilesystem(k model.ResourceKind) bool {
	return k == model.ResFilesystem || k == model.ResNFS || k == model.ResSMB
}

// Correlate fills every disk's LUNs, Chain and, when it cannot be resolved,
// Error. Disks already carrying an Error from an earlier step keep it.
func Correlate(inv *model.Inventory) {
	g := NewGraph(inv)
	for i := range inv.VMs {
		for j := range inv.VMs[i].Disks {
			g.Disk(&inv.VMs[i].Disks[j])
		}
	}
}

// Disk resolves one virtual disk in place.
func (g *Graph) Disk(d *model.Disk) {
	d.LUNs, d.Chain = []string{}, nil
	if d.Kind == model.DiskNetwork {
		d.Chain = []model.Layer{networkLayer(d)}
		return
	}
	if d.Anchor == nil {
		// An empty drive or a device that is not host storage (a PCI
		// function, a vVol) has nothing beneath it to find.
		if d.Error == "" && d.Source != "" && d.Kind != model.DiskOther {
			d.Error = fmt.Sprintf("not located: no host storage anchor for %q", d.Source)
		}
		return
	}
	var head []model.Layer
	if d.Kind == model.DiskImage || (d.Anchor.Resource != "" && isFilesystem(g.kindOf(d.Anchor.Resource))) {
		name := d.Anchor.Path
		if name == "" {
			name = d.Source
		}
		head = []model.Layer{{Level: 0, Kind: "file", Name: name, Detail: d.Format}}
	}
	chain, luns, err := g.Resolve(*d.Anchor)
	if err != nil {
		d.Error = err.Error()
		return
	}
	d.Chain = append(head, shift(chain, len(head))...)
	if luns != nil {
		// Disks on one stack share the memoised slice; the full slice
		// expression makes an append by a caller copy instead of clobber.
		d.LUNs = luns[:len(luns):len(luns)]
	}
	if len(luns) == 0 && !endsOnNetwork(chain) && d.Error == "" {
		d.Error = fmt.Sprintf("no LUN beneath %s", chain[len(chain)-1].Name)
	}
}

func (g *Graph) kindOf(id string) model.ResourceKind {
	if r := g.res[id]; r != nil {
		return r.Kind
	}
	return ""
}

func endsOnNetwork(chain []model.Layer) bool {
	for _, l := range chain {
		if l.Kind == string(model.ResNFS) || l.Kind == string(model.ResSMB) {
			return true
		}
	}
	return false
}

func networkLayer(d *model.Disk) model.Layer {
	l := model.Layer{Kind: "network", Name: d.Source}
	if n := d.Network; n != nil {
		l.Detail = n.Protocol
		if len(n.Hosts) > 0 {
			l.Detail += " via " + strings.Join(n.Hosts, ",")
		}
		if l.Name == "" {
			l.Name = n.Name
		}
	}
	return l
}

func shift(chain []model.Layer, by int) []model.Layer {
	out := make([]model.Layer, len(chain))
	for i, l := range chain {
		l.Level += by
		out[i] = l
	}
	return out
}

// Resolve walks down from an anchor and returns every layer (level 0 is the
// anchor's own resource or LUN) and the ids of every LUN beneath, in walk order.
func (g *Graph) Resolve(a model.Anchor) ([]model.Layer, []string, error) {
	switch {
	case a.LUN != "":
		l := g.lunLayer(a.LUN, 0)
		return []model.Layer{l}, []string{a.LUN}, nil
	case a.Resource != "":
		if g.res[a.Resource] == nil {
			return nil, nil, fmt.Errorf("storage resource %s not found in the host storage scan", a.Resource)
		}
		w := g.walk(a.Resource)
		return w.chain, w.luns, nil
	case a.DevNo != "":
		ids := g.byDevNo[a.DevNo]
		if len(ids) == 0 {
			return nil, nil, fmt.Errorf("device %s (of %s) not found in the host storage scan", a.DevNo, a.Path)
		}
		w := g.walk(ids[0])
		return w.chain, w.luns, nil
	}
	return nil, nil, fmt.Errorf("empty anchor")
}

// walk returns the memoised walk below resource id.
func (g *Graph) walk(id string) *walk {
	if w, ok := g.memo[id]; ok {
		return w
	}
	// A placeholder guards against cycles in malformed input.
	g.memo[id] = &walk{chain: []model.Layer{{Kind: "cycle", Name: id}}}
	w := &walk{}
	r := g.res[id]
	if r == nil {
		w.chain = []model.Layer{{Kind: "unknown", Name: id, ID: id, Detail: "not found in host storage"}}
		g.memo[id] = w
		return w
	}
	w.chain = append(w.chain, resourceLayer(r))
	seenLUN := map[string]bool{}
	seenLayer := map[string]bool{id: true}
	addLUN := func(l string) {
		if !seenLUN[l] {
			seenLUN[l] = true
			w.luns = append(w.luns, l)
		}
	}
	for _, b := range r.Below {
		sub := g.walk(b)
		for _, l := range sub.chain {
			// A layer reached twice (two partitions of one disk under
			// one md array) is listed once.
			key := l.ID + "\x00" + l.Kind + "\x00" + l.Name
			if seenLayer[key] {
				continue
			}
			seenLayer[key] = true
			l.Level++
			w.chain = append(w.chain, l)
		}
		for _, l := range sub.luns {
			addLUN(l)
		}
	}
	for _, l := range r.LUNs {
		if seenLUN[l] {
			continue
		}
		addLUN(l)
		w.chain = append(w.chain, g.lunLayer(l, 1))
	}
	g.memo[id] = w
	return w
}

func resourceLayer(r *model.Resource) model.Layer {
	l := model.Layer{Kind: string(r.Kind), Name: r.Name, ID: r.ID}
	if l.Name == "" {
		l.Name = r.Device
	}
	var detail []string
	if r.Type != "" {
		detail = append(detail, r.Type)
	}
	if r.Remote != "" {
		detail = append(detail, r.Remote)
	}
	if len(r.Mountpoints) > 0 && r.Mountpoints[0] != l.Name {
		detail = append(detail, "on "+strings.Join(r.Mountpoints, ","))
	}
	if r.Device != "" && r.Device != l.Name {
		detail = append(detail, r.Device)
	}
	if r.BackingFile != "" {
		detail = append(detail, "backing "+r.BackingFile)
	}
	l.Detail = strings.Join(detail, " ")
	return l
}

func (g *Graph) lunLayer(id string, level int) model.Layer {
	l := model.Layer{Level: level, Kind: "lun", Name: id, ID: id}
	lun := g.luns[id]
	if lun == nil {
		l.Detail = "not seen by the scanned hosts"
		return l
	}
	var detail []string
	if v := strings.TrimSpace(lun.Vendor + " " + lun.Product); v != "" {
		detail = append(detail, v)
	}
	if a := lun.Array; a != nil && a.LUNSerial != "" {
		detail = append(detail, "serial "+a.LUNSerial)
	} else if lun.Serial != "" {
		detail = append(detail, "serial "+lun.Serial)
	}
	active := 0
	for _, p := range lun.Paths {
		if p.State == model.PathActive {
			active++
		}
	}
	detail = append(detail, fmt.Sprintf("%d/%d paths active", active, len(lun.Paths)))
	l.Detail = strings.Join(detail, ", ")
	return l
}

// LocateByName anchors a device name or path using only the inventory, for
// support bundles where nothing can be stat'ed: a device (/dev/sdc, sdc,
// /dev/mapper/x, a by-id alias) by its names, anything else by the longest
// mount point that contains it.
func (g *Graph) LocateByName(p string) (*model.Anchor, error) {
	if id, ok := g.byName[p]; ok {
		return &model.Anchor{Resource: id, Path: p}, nil
	}
	clean := path.Clean(p)
	best, bestLen := "", -1
	for id, r := range g.res {
		if !isFilesystem(r.Kind) {
			continue
		}
		for _, m := range r.Mountpoints {
			if (clean == m || strings.HasPrefix(clean, strings.TrimSuffix(m, "/")+"/")) && len(m) > bestLen {
				best, bestLen = id, len(m)
			}
		}
	}
	if best == "" {
		return nil, fmt.Errorf("%s: no device of that name and no filesystem containing it in the host storage scan", p)
	}
	return &model.Anchor{Resource: best, Path: clean}, nil
}
