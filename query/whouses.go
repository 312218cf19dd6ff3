package query

import (
	"sort"
	"strings"

	"github.com/vmstor/vmstor/model"
)

// Use is one virtual disk that sits on what a who-uses query named.
type Use struct {
	VM     string `json:"vm"`
	VMID   string `json:"vm_id,omitempty"`
	Host   string `json:"host,omitempty"`
	Disk   string `json:"disk"`
	Source string `json:"source,omitempty"`
	// LUN is the LUN the disk was found through, or else every LUN
	// beneath the disk, comma-separated.
	LUN string `json:"lun,omitempty"`
	// Via says what the query matched: lun, serial, array, datastore,
	// export or device.
	Via string `json:"via"`
	// Match is what the query resolved to: a LUN id, a resource id, or the
	// disk's own datastore, device or export (normalised: lower case).
	Match string `json:"match"`
}

// What a query term matched, in Use.Via.
const (
	ViaLUN       = "lun"
	ViaSerial    = "serial"
	ViaArray     = "array"
	ViaDatastore = "datastore"
	ViaExport    = "export"
	ViaDevice    = "device"
)

// Term is one normalised value an object can be found by, and what kind of
// match it is.
type Term struct {
	Value string
	Via   string
}

// Norm normalises a name for matching: trimmed, lower case, without a
// trailing slash. Matching is case-insensitive because LUN ids and serials
// come in both cases from different tools.
func Norm(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if len(s) > 1 {
		s = strings.TrimRight(s, "/")
		if s == "" {
			s = "/"
		}
	}
	return s
}

// QueryTerms are the normalised forms of a query: the query itself, and for
// /dev/X also X, so "/dev/sdc" and "sdc" find the same device.
func QueryTerms(q string) []string {
	n := Norm(q)
	if n == "" {
		return nil
	}
	out := []string{n}
	if b, ok := strings.CutPrefix(n, "/dev/"); ok && b != "" {
		out = append(out, b)
	}
	return out
}

// idTerms adds a LUN id and, for naa./eui./t10. ids, the id without its
// prefix, as people paste ids from tools that print them bare.
func idTerms(ts []Term, id, via string) []Term {
	n := Norm(id)
	if n == "" {
		return ts
	}
	ts = append(ts, Term{n, via})
	for _, p := range []string{"naa.", "eui.", "t10.", "nvme."} {
		if b, ok := strings.CutPrefix(n, p); ok && b != "" {
			ts = append(ts, Term{b, via})
		}
	}
	return ts
}

// devTerms adds a device name both as given and without /dev/.
func devTerms(ts []Term, dev, via string) []Term {
	n := Norm(dev)
	if n == "" {
		return ts
	}
	ts = append(ts, Term{n, via})
	if b, ok := strings.CutPrefix(n, "/dev/"); ok && b != "" {
		ts = append(ts, Term{b, via})
	}
	return ts
}

func add(ts []Term, v, via string) []Term {
	if n := Norm(v); n != "" {
		ts = append(ts, Term{n, via})
	}
	return ts
}

// LUNTerms are the values a LUN is found by: its id (with and without the
// naa./eui./t10. prefix), serial, array (vendor, family, model, system name
// and id), and the host device of each path.
func LUNTerms(l *model.LUN) []Term {
	ts := idTerms(nil, l.ID, ViaLUN)
	ts = add(ts, l.Serial, ViaSerial)
	if a := l.Array; a != nil {
		ts = add(ts, a.LUNSerial, ViaSerial)
		ts = add(ts, a.Vendor, ViaArray)
		ts = add(ts, a.Family, ViaArray)
		ts = add(ts, a.Model, ViaArray)
		ts = add(ts, a.SystemName, ViaArray)
		ts = add(ts, a.SystemID, ViaArray)
	}
	for _, p := range l.Paths {
		ts = devTerms(ts, p.Device, ViaDevice)
	}
	return ts
}

// ResourceTerms are the values a storage resource is found by: device node
// and aliases (as a device), id, name, UUID and mount points (as a
// datastore), and the remote end and its server (as an export).
func ResourceTerms(r *model.Resource) []Term {
	// Device names first: a block device's resource is often named like
	// its node (loop0), and a query for it asks about a device.
	ts := devTerms(nil, r.Device, ViaDevice)
	for _, a := range r.Aliases {
		ts = devTerms(ts, a, ViaDevice)
	}
	ts = add(ts, r.ID, ViaDatastore)
	ts = add(ts, r.Name, ViaDatastore)
	ts = add(ts, r.UUID, ViaDatastore)
	for _, m := range r.Mountpoints {
		ts = add(ts, m, ViaDatastore)
	}
	ts = add(ts, r.Remote, ViaExport)
	ts = add(ts, RemoteServer(r.Remote), ViaExport)
	return ts
}

// DiskTerms are the values a disk is found by directly, without looking at
// the LUN and resource objects: its datastore, its LUN ids, the ids of the
// layers of its chain (and the names of layers without an id), its anchor, a
// pass-through disk's device and a network disk's servers. A layer's name is
// matched through its resource in the inventory (ResourceTerms), which
// keeps the store's index small.
func DiskTerms(d *model.Disk) []Term {
	ts := add(nil, d.Datastore, ViaDatastore)
	// LUN ids as they are: the bare forms (without naa.) are found
	// through the LUN objects' own terms.
	for _, id := range d.LUNs {
		ts = add(ts, id, ViaLUN)
	}
	if a := d.Anchor; a != nil {
		ts = add(ts, a.LUN, ViaLUN)
		ts = add(ts, a.Resource, ViaDatastore)
	}
	for i := range d.Chain {
		l := &d.Chain[i]
		switch l.Kind {
		case "file", "network", "cycle":
			continue
		case "lun":
			ts = add(ts, l.ID, ViaLUN)
			if l.ID == "" {
				ts = idTerms(ts, l.Name, ViaLUN)
			}
			continue
		}
		via := ViaDatastore
		if l.Kind == string(model.ResNFS) || l.Kind == string(model.ResSMB) {
			via = ViaExport
		}
		ts = add(ts, l.ID, via)
		// A layer with an id is found by its name through its resource;
		// only a layer the inventory has no resource for needs its name.
		if l.ID != "" {
			continue
		}
		if strings.HasPrefix(l.Name, "/dev/") {
			ts = devTerms(ts, l.Name, ViaDevice)
		} else {
			ts = add(ts, l.Name, via)
		}
	}
	if d.Kind == model.DiskPassthrough {
		ts = devTerms(ts, d.Source, ViaDevice)
	}
	if n := d.Network; n != nil {
		for _, h := range n.Hosts {
			ts = add(ts, hostOnly(h), ViaExport)
		}
		ts = add(ts, n.Name, ViaExport)
	}
	return ts
}

// DiskRefs are the LUN and resource ids a disk stands on, normalised: a disk
// is found through a LUN or resource that matched when one of these is its id.
func DiskRefs(d *model.Disk) (luns, resources []string) {
	for _, id := range d.LUNs {
		luns = append(luns, Norm(id))
	}
	if a := d.Anchor; a != nil {
		if a.LUN != "" {
			luns = append(luns, Norm(a.LUN))
		}
		if a.Resource != "" {
			resources = append(resources, Norm(a.Resource))
		}
	}
	for _, l := range d.Chain {
		if l.ID == "" {
			continue
		}
		if l.Kind == "lun" {
			luns = append(luns, Norm(l.ID))
		} else {
			resources = append(resources, Norm(l.ID))
		}
	}
	return luns, resources
}

// RemoteServer is the server of a remote filesystem: "srv" of "srv:/export"
// and of "//srv/share".
func RemoteServer(remote string) string {
	if s, ok := strings.CutPrefix(remote, "//"); ok {
		s, _, _ = strings.Cut(s, "/")
		return s
	}
	if strings.HasPrefix(remote, "[") { // [v6addr]:/export
		if i := strings.Index(remote, "]:"); i > 0 {
			return remote[1:i]
		}
	}
	if i := strings.Index(remote, ":/"); i > 0 {
		return remote[:i]
	}
	return ""
}

// hostOnly strips a port from "host:port" (and the brackets of "[v6]:port").
func hostOnly(h string) string {
	if strings.HasPrefix(h, "[") {
		if i := strings.Index(h, "]"); i > 0 {
			return h[1:i]
		}
	}
	if strings.Count(h, ":") == 1 {
		h, _, _ = strings.Cut(h, ":")
	}
	return h
}

type match struct{ via, id string }

// firstMatch returns the first term of ts found in q.
func firstMatch(ts []Term, q map[string]bool) (Term, bool) {
	for _, t := range ts {
		if q[t.Value] {
			return t, true
		}
	}
	return Term{}, false
}

// WhoUses lists the virtual disks that sit on what q names: a LUN (id, with
// or without its naa. prefix, or serial), an array (vendor, family, model,
// system name or id), a datastore or other resource (name, id, mount point),
// an NFS/SMB export ("server:/path" or the server) or a host device (/dev/sdc,
// sdc, dm-3, /dev/mapper/x). A disk matches through its own fields and
// through every LUN and resource of its storage chain. Matching is exact
// after normalisation (case, surrounding space, trailing slash), never by
// substring: "sd" finds nothing. Uses are ordered by host, VM and disk order.
func WhoUses(inv *model.Inventory, q string) []Use {
	qs := map[string]bool{}
	for _, t := range QueryTerms(q) {
		qs[t] = true
	}
	if len(qs) == 0 {
		return nil
	}
	luns := map[string]match{}
	for i := range inv.LUNs {
		l := &inv.LUNs[i]
		if t, ok := firstMatch(LUNTerms(l), qs); ok {
			luns[Norm(l.ID)] = match{t.Via, l.ID}
		}
	}
	res := map[string]match{}
	for i := range inv.Resources {
		r := &inv.Resources[i]
		if t, ok := firstMatch(ResourceTerms(r), qs); ok {
			if _, seen := res[Norm(r.ID)]; !seen {
				res[Norm(r.ID)] = match{t.Via, r.ID}
			}
		}
	}
	var uses []Use
	for i := range inv.VMs {
		vm := &inv.VMs[i]
		for j := range vm.Disks {
			d := &vm.Disks[j]
			u, ok := useOf(d, qs, luns, res)
			if !ok {
				continue
			}
			u.VM, u.VMID, u.Host, u.Disk, u.Source = vm.Name, vm.ID, vm.Host, d.Name, d.Source
			uses = append(uses, u)
		}
	}
	sort.SliceStable(uses, func(i, j int) bool {
		a, b := &uses[i], &uses[j]
		if a.Host != b.Host {
			return a.Host < b.Host
		}
		if a.VM != b.VM {
			return a.VM < b.VM
		}
		return a.VMID < b.VMID
	})
	return uses
}

// useOf says whether disk d matches, preferring the most specific reason: a
// matched LUN, then a matched resource, then the disk's own fields.
func useOf(d *model.Disk, qs map[string]bool, luns, res map[string]match) (Use, bool) {
	lunRefs, resRefs := DiskRefs(d)
	for _, id := range lunRefs {
		if m, ok := luns[id]; ok {
			return Use{LUN: m.id, Via: m.via, Match: m.id}, true
		}
	}
	all := strings.Join(d.LUNs, ",")
	for _, id := range resRefs {
		if m, ok := res[id]; ok {
			return Use{LUN: all, Via: m.via, Match: m.id}, true
		}
	}
	if t, ok := firstMatch(DiskTerms(d), qs); ok {
		return Use{LUN: all, Via: t.Via, Match: t.Value}, true
	}
	return Use{}, false
}
