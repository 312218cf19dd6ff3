package server

import (
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/vmstor/vmstor/metrics"
	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/query"
	"github.com/vmstor/vmstor/server/redact"
	"github.com/vmstor/vmstor/store"
)

// Paging limits.
const (
	defaultLimit = 100
	maxLimit     = 1000
	// maxUses bounds the disk list of a blast radius in one answer.
	maxUses = 1000
)

type paging struct{ limit, offset int }

func pageOf(r *http.Request) (paging, error) {
	p := paging{limit: defaultLimit}
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return p, badRequest("limit=%q: want a whole number from 1 to %d", v, maxLimit)
		}
		p.limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, badRequest("offset=%q: want a whole number from 0", v)
		}
		p.offset = n
	}
	return p, nil
}

// page cuts one page out of all.
func page[T any](all []T, p paging, scanID int64) Page[T] {
	out := Page[T]{ScanID: scanID, Total: len(all), Limit: p.limit, Offset: p.offset, Items: []T{}}
	if p.offset < len(all) {
		end := min(len(all), p.offset+p.limit)
		out.Items = all[p.offset:end]
		if end < len(all) {
			out.NextOffset = end
		}
	}
	return out
}

// snap returns the snapshot a request reads: the current one, or the scan
// named by ?scan=ID.
// snapPage is snap and pageOf together, for the list routes.
func (s *Server) snapPage(r *http.Request) (*snapshot, paging, error) {
	sn, err := s.snap(r)
	if err != nil {
		return nil, paging{}, err
	}
	p, err := pageOf(r)
	return sn, p, err
}

func (s *Server) snap(r *http.Request) (*snapshot, error) {
	cur := s.current.Load()
	v := r.URL.Query().Get("scan")
	if v == "" {
		return cur, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 1 {
		return nil, badRequest("scan=%q: want a scan id from /api/v1/scans", v)
	}
	if id == cur.scan.ID {
		return cur, nil
	}
	s.oldMu.Lock()
	defer s.oldMu.Unlock()
	if s.old != nil && s.old.scan.ID == id {
		return s.old, nil
	}
	inv, err := s.cfg.Store.Get(r.Context(), id)
	if errors.Is(err, store.ErrNoScan) || err == nil && inv == nil {
		return nil, notFound("scan %d not found (see /api/v1/scans)", id)
	}
	if err != nil {
		return nil, err
	}
	sv := ScanView{ID: id, Time: inv.ScannedAt, DurationSeconds: inv.DurationSeconds, Sources: inv.Sources, Errors: inv.Errors}
	s.old = newSnapshot(redact.Inventory(inv), sv)
	return s.old, nil
}

func (s *Server) getStatus(w http.ResponseWriter, r *http.Request) (any, error) {
	sn := s.current.Load()
	st := Status{LastSuccess: true}
	if sn.scan.ID != 0 {
		sc := sn.scan
		st.Scan = &sc
	}
	if a := s.status.Load(); a != nil {
		t := a.time
		st.LastAttempt, st.LastSuccess, st.LastErrors = &t, a.success, a.errors
	}
	c := &st.Counts
	c.Hosts, c.VMs, c.LUNs, c.Arrays, c.Datastores = len(sn.inv.Hosts), len(sn.inv.VMs), len(sn.inv.LUNs), len(sn.arrays), len(sn.stores)
	for _, vm := range sn.vms {
		c.Disks += vm.Disks
	}
	for _, l := range sn.luns {
		switch l.State {
		case model.LUNOK:
			c.LUNStates.OK++
		case model.LUNDegraded:
			c.LUNStates.Degraded++
		case model.LUNFailed:
			c.LUNStates.Failed++
		}
		c.Paths.add(l.Paths)
	}
	return st, nil
}

func (s *Server) listHosts(w http.ResponseWriter, r *http.Request) (any, error) {
	sn, p, err := s.snapPage(r)
	if err != nil {
		return nil, err
	}
	hosts := sn.inv.Hosts
	if hosts == nil {
		hosts = []model.Host{}
	}
	return page(hosts, p, sn.scan.ID), nil
}

// listVMs filters by host (exact), name (substring), lun (id), array (name),
// health and q (substring of name, id or host).
func (s *Server) listVMs(w http.ResponseWriter, r *http.Request) (any, error) {
	sn, p, err := s.snapPage(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	host, name, lun, array, health, text := q.Get("host"), lower(q.Get("name")), q.Get("lun"), q.Get("array"), q.Get("health"), lower(q.Get("q"))
	var onLUN map[int]bool
	if lun != "" {
		onLUN = map[int]bool{}
		for _, ref := range sn.lunUsers[lun] {
			onLUN[ref.vm] = true
		}
	}
	// Count every match but copy only the page: a page of 100 out of
	// 10,000 VMs costs a scan of the summaries, not a copy of them.
	res := Page[VMSummary]{ScanID: sn.scan.ID, Limit: p.limit, Offset: p.offset, Items: []VMSummary{}}
	for i := range sn.vms {
		vm := &sn.vms[i]
		if host != "" && vm.Host != host ||
			onLUN != nil && !onLUN[i] ||
			array != "" && !contains1(vm.Arrays, array) ||
			health != "" && vm.Health != health ||
			name != "" && !strings.Contains(vm.lname, name) ||
			text != "" && !strings.Contains(vm.lkey, text) {
			continue
		}
		if res.Total >= p.offset && res.Total < p.offset+p.limit {
			res.Items = append(res.Items, *vm)
		}
		res.Total++
	}
	if end := p.offset + p.limit; end < res.Total {
		res.NextOffset = end
	}
	return res, nil
}

func (s *Server) getVM(w http.ResponseWriter, r *http.Request) (any, error) {
	sn, err := s.snap(r)
	if err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	i, ok := sn.vmByID[id]
	if !ok {
		return nil, notFound("VM %q not found in scan %d (ids are in /api/v1/vms)", id, sn.scan.ID)
	}
	vm := sn.inv.VMs[i]
	d := VMDetail{ScanID: sn.scan.ID, VM: vm, Summary: sn.vms[i], Resources: []model.Resource{}, LUNs: []model.LUN{}}
	seen := map[string]bool{}
	for _, disk := range vm.Disks {
		for _, l := range disk.Chain {
			if k, ok := sn.resByID[l.ID]; ok && !seen[l.ID] {
				seen[l.ID] = true
				d.Resources = append(d.Resources, sn.inv.Resources[k])
			}
		}
	}
	for _, id := range d.Summary.LUNs {
		if k, ok := sn.lunByID[id]; ok {
			d.LUNs = append(d.LUNs, sn.inv.LUNs[k])
		}
	}
	return d, nil
}

// listLUNs filters by array, host, state and q (substring of id, vendor,
// product, volume).
func (s *Server) listLUNs(w http.ResponseWriter, r *http.Request) (any, error) {
	sn, p, err := s.snapPage(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	array, host, state, text := q.Get("array"), q.Get("host"), q.Get("state"), lower(q.Get("q"))
	out := make([]LUNSummary, 0, min(len(sn.luns), 1024))
	for _, l := range sn.luns {
		if array != "" && l.Array != array ||
			host != "" && !contains1(l.Hosts, host) ||
			state != "" && l.State != state ||
			text != "" && !contains(l.ID, text) && !contains(l.Vendor, text) && !contains(l.Product, text) && !contains(l.Volume, text) {
			continue
		}
		out = append(out, l)
	}
	return page(out, p, sn.scan.ID), nil
}

func (s *Server) getLUN(w http.ResponseWriter, r *http.Request) (any, error) {
	sn, err := s.snap(r)
	if err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	k, ok := sn.lunByID[id]
	if !ok {
		return nil, notFound("LUN %q not found in scan %d (ids are in /api/v1/luns)", id, sn.scan.ID)
	}
	d := LUNDetail{ScanID: sn.scan.ID, LUN: sn.inv.LUNs[k], Summary: sn.luns[k], Above: []model.Resource{}}
	for _, rid := range sn.above(id) {
		d.Above = append(d.Above, sn.inv.Resources[sn.resByID[rid]])
	}
	d.Blast = sn.blast([]string{id})
	return d, nil
}

// blast collects the disks on any of luns.
func (sn *snapshot) blast(luns []string) BlastRadius {
	b := BlastRadius{Hosts: []string{}, Datastores: []string{}, Uses: []DiskUse{}}
	seenDisk := map[diskRef]bool{}
	vms := map[int]bool{}
	for _, id := range luns {
		for _, ref := range sn.lunUsers[id] {
			if seenDisk[ref] {
				continue
			}
			seenDisk[ref] = true
			vms[ref.vm] = true
			vm := &sn.inv.VMs[ref.vm]
			d := &vm.Disks[ref.disk]
			b.Hosts = model.AppendNew(b.Hosts, vm.Host)
			if d.Datastore != "" {
				b.Datastores = model.AppendNew(b.Datastores, d.Datastore)
			}
			if len(b.Uses) < maxUses {
				b.Uses = append(b.Uses, DiskUse{VM: vm.Name, VMID: vm.ID, Host: vm.Host, Disk: d.Name, Source: d.Source, Datastore: d.Datastore, LUNs: d.LUNs})
			} else {
				b.Truncated = true
			}
		}
	}
	b.VMs, b.Disks = len(vms), len(seenDisk)
	sort.Strings(b.Hosts)
	sort.Strings(b.Datastores)
	return b
}

func (s *Server) listArrays(w http.ResponseWriter, r *http.Request) (any, error) {
	sn, p, err := s.snapPage(r)
	if err != nil {
		return nil, err
	}
	return page(sn.arrays, p, sn.scan.ID), nil
}

func (s *Server) getArray(w http.ResponseWriter, r *http.Request) (any, error) {
	sn, err := s.snap(r)
	if err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	k, ok := sn.arrayIdx[id]
	if !ok {
		return nil, notFound("array %q not found in scan %d (ids are in /api/v1/arrays)", id, sn.scan.ID)
	}
	d := ArrayDetail{ScanID: sn.scan.ID, Array: sn.arrays[k], LUNs: []LUNSummary{}}
	var ids []string
	for i, l := range sn.inv.LUNs {
		if metrics.ArrayName(l.Array) == id {
			d.LUNs = append(d.LUNs, sn.luns[i])
			ids = append(ids, l.ID)
		}
	}
	d.Blast = sn.blast(ids)
	return d, nil
}

// listDatastores filters by host, kind and q (substring of name).
func (s *Server) listDatastores(w http.ResponseWriter, r *http.Request) (any, error) {
	sn, p, err := s.snapPage(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	host, kind, text := q.Get("host"), q.Get("kind"), lower(q.Get("q"))
	out := []DatastoreSummary{}
	for _, d := range sn.stores {
		if host != "" && d.Host != host || kind != "" && d.Kind != kind || !contains(d.Name, text) {
			continue
		}
		out = append(out, d)
	}
	return page(out, p, sn.scan.ID), nil
}

// getTopology draws one VM, LUN or array: exactly one of vm=, lun=, array=.
func (s *Server) getTopology(w http.ResponseWriter, r *http.Request) (any, error) {
	sn, err := s.snap(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	switch {
	case q.Get("vm") != "":
		i, ok := sn.vmByID[q.Get("vm")]
		if !ok {
			return nil, notFound("VM %q not found", q.Get("vm"))
		}
		return sn.vmGraph(i), nil
	case q.Get("lun") != "":
		if _, ok := sn.lunByID[q.Get("lun")]; !ok {
			return nil, notFound("LUN %q not found", q.Get("lun"))
		}
		return sn.lunGraph(q.Get("lun")), nil
	case q.Get("array") != "":
		if _, ok := sn.arrayIdx[q.Get("array")]; !ok {
			return nil, notFound("array %q not found", q.Get("array"))
		}
		return sn.arrayGraph(q.Get("array")), nil
	}
	return nil, badRequest("topology needs one of vm=ID, lun=ID or array=ID")
}

func (s *Server) listScans(w http.ResponseWriter, r *http.Request) (any, error) {
	p, err := pageOf(r)
	if err != nil {
		return nil, err
	}
	// The store lists newest first up to a limit: ask one more than the
	// page to know whether there is a next one.
	infos, err := s.cfg.Store.Scans(r.Context(), p.offset+p.limit+1)
	if err != nil {
		return nil, err
	}
	views := make([]ScanView, len(infos))
	for i, in := range infos {
		views[i] = scanView(in)
	}
	out := page(views, p, 0)
	out.Total = -1
	if out.NextOffset == 0 {
		out.Total = len(views)
	}
	return out, nil
}

func (s *Server) getScan(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return nil, badRequest("scan id %q: want a number from /api/v1/scans", r.PathValue("id"))
	}
	inv, err := s.cfg.Store.Get(r.Context(), id)
	if errors.Is(err, store.ErrNoScan) || err == nil && inv == nil {
		return nil, notFound("scan %d not found (see /api/v1/scans)", id)
	}
	if err != nil {
		return nil, err
	}
	return redact.Inventory(inv), nil
}

// getDiff compares two scans; to defaults to the latest, from to the scan
// before to.
func (s *Server) getDiff(w http.ResponseWriter, r *http.Request) (any, error) {
	p, err := pageOf(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	var from, to int64
	for _, f := range []struct {
		name string
		v    *int64
	}{{"from", &from}, {"to", &to}} {
		if v := q.Get(f.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 1 {
				return nil, badRequest("%s=%q: want a scan id from /api/v1/scans", f.name, v)
			}
			*f.v = n
		}
	}
	if from == 0 || to == 0 {
		scans, err := s.cfg.Store.Scans(r.Context(), 1000)
		if err != nil {
			return nil, err
		}
		if to == 0 {
			if len(scans) == 0 {
				return nil, notFound("no scans stored yet")
			}
			to = scans[0].ID
		}
		if from == 0 {
			for _, sc := range scans {
				if sc.ID < to && sc.ID > from {
					from = sc.ID
				}
			}
			if from == 0 {
				return nil, notFound("no scan before scan %d to compare with; pass from=", to)
			}
		}
	}
	changes, err := s.cfg.Store.Diff(r.Context(), from, to)
	if err != nil {
		return nil, err
	}
	return Diff{From: from, To: to, Changes: page(changeViews(changes), p, 0)}, nil
}

func (s *Server) getHistory(w http.ResponseWriter, r *http.Request) (any, error) {
	p, err := pageOf(r)
	if err != nil {
		return nil, err
	}
	obj := r.URL.Query().Get("object")
	if obj == "" {
		return nil, badRequest("history needs object=NAME (a VM name or id, a LUN id, a datastore...)")
	}
	changes, err := s.cfg.Store.History(r.Context(), obj, p.offset+p.limit+1)
	if err != nil {
		return nil, err
	}
	out := page(changeViews(changes), p, 0)
	if out.NextOffset != 0 {
		out.Total = -1
	}
	return out, nil
}

func (s *Server) whoUses(w http.ResponseWriter, r *http.Request) (any, error) {
	sn, p, err := s.snapPage(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query().Get("q")
	if q == "" {
		return nil, badRequest("who-uses needs q=: a LUN id, array, datastore, export, device or path")
	}
	uses := query.WhoUses(sn.inv, q)
	out := make([]UseView, len(uses))
	for i, u := range uses {
		out[i] = UseView{VM: u.VM, VMID: u.VMID, Host: u.Host, Disk: u.Disk, Source: redact.String(u.Source), LUN: u.LUN, Via: u.Via, Match: redact.String(u.Match)}
	}
	return page(out, p, sn.scan.ID), nil
}
