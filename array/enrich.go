package array

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vmstor/vmstor/array/ontap"
	"github.com/vmstor/vmstor/array/pure"
	"github.com/vmstor/vmstor/model"
)

// Enricher asks the configured arrays' APIs about the LUNs of an
// inventory: one batched query per cluster or array per scan.
type Enricher struct {
	cfg *Config
	// newONTAP and newPure build clients; tests keep the defaults, which
	// honour the endpoint's TLS settings and timeout.
	newONTAP func(ep *Endpoint, hc *http.Client) (*ontap.Client, error)
	newPure  func(ep *Endpoint, hc *http.Client) (*pure.Client, error)
}

// NewEnricher returns an enricher for cfg (nil: one that does nothing).
func NewEnricher(cfg *Config) *Enricher {
	if cfg == nil {
		cfg = &Config{}
	}
	return &Enricher{
		cfg: cfg,
		newONTAP: func(ep *Endpoint, hc *http.Client) (*ontap.Client, error) {
			c, err := ontap.New(ep.URL, hc, ep.Username, ep.secret)
			if err == nil && ep.PageSize > 0 {
				c.PageSize = ep.PageSize
			}
			return c, err
		},
		newPure: func(ep *Endpoint, hc *http.Client) (*pure.Client, error) {
			c, err := pure.New(ep.URL, hc, ep.secret)
			if err == nil && ep.PageSize > 0 {
				c.Limit = ep.PageSize
			}
			return c, err
		},
	}
}

// ontapResult is what one cluster said.
type ontapResult struct {
	ep         *Endpoint
	cluster    ontap.Cluster
	luns       []ontap.LUN
	namespaces []ontap.Namespace
	ifs        []ontap.Interface
	nodes      []ontap.Node
	err        error
}

type pureResult struct {
	ep      *Endpoint
	array   pure.Array
	volumes []pure.Volume
	ifs     []pure.NetworkInterface
	ctrls   []pure.Controller
	err     error
}

// Enrich identifies every LUN (Identify), resolves the NetApp
// ONTAP and Pure LUNs through the configured APIs, all endpoints at once,
// and groups the LUNs by system (GroupSystems). With no endpoints it
// makes no network call. An endpoint that fails is reported in inv.Errors; the rest still apply.
func (e *Enricher) Enrich(ctx context.Context, inv *model.Inventory) {
	for i := range inv.LUNs {
		Identify(&inv.LUNs[i])
	}
	serials, uuids, pureSerials := e.wanted(inv)
	var wg sync.WaitGroup
	ores := make([]ontapResult, len(e.cfg.ONTAP))
	if len(serials)+len(uuids) > 0 {
		for i := range e.cfg.ONTAP {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ores[i] = e.queryONTAP(ctx, &e.cfg.ONTAP[i], serials, uuids)
			}()
		}
	}
	pres := make([]pureResult, len(e.cfg.Pure))
	if len(pureSerials) > 0 {
		for i := range e.cfg.Pure {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pres[i] = e.queryPure(ctx, &e.cfg.Pure[i], pureSerials)
			}()
		}
	}
	wg.Wait()

	for _, r := range ores {
		if r.ep == nil {
			continue
		}
		if r.err != nil {
			inv.Errors = append(inv.Errors, endpointError("ontap", r.ep, r.err, time.Duration(e.cfg.Timeout)))
		}
	}
	for _, r := range pres {
		if r.ep == nil {
			continue
		}
		if r.err != nil {
			inv.Errors = append(inv.Errors, endpointError("pure", r.ep, r.err, time.Duration(e.cfg.Timeout)))
		}
	}
	applyONTAP(inv, ores)
	applyPure(inv, pres)
	GroupSystems(inv.LUNs)
}

// wanted collects what to ask: ONTAP LUN serials, ONTAP namespace uuids and
// Pure volume serials.
func (e *Enricher) wanted(inv *model.Inventory) (serials, uuids, pureSerials []string) {
	seen := map[string]bool{}
	add := func(dst *[]string, s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			*dst = append(*dst, s)
		}
	}
	for i := range inv.LUNs {
		l := &inv.LUNs[i]
		if l.Array == nil {
			continue
		}
		switch {
		case l.Array.Vendor == "NetApp" && l.Array.Family == FamilyONTAP:
			if l.Protocol == "nvme" {
				add(&uuids, nvmeUUID(l))
			} else {
				add(&serials, l.Array.LUNSerial)
			}
		case l.Array.Vendor == "Pure Storage":
			add(&pureSerials, strings.ToUpper(l.Array.LUNSerial))
		}
	}
	sort.Strings(serials)
	sort.Strings(uuids)
	sort.Strings(pureSerials)
	return serials, uuids, pureSerials
}

// nvmeUUID is a namespace's UUID (NVMe identify namespace descriptor),
// which ONTAP reports as the namespace uuid.
func nvmeUUID(l *model.LUN) string {
	if s, ok := strings.CutPrefix(l.ID, "uuid."); ok {
		return strings.ToLower(s)
	}
	for _, d := range l.Designators {
		if d.Type == "uuid" && d.Association == "lun" {
			return strings.ToLower(d.Value)
		}
	}
	return ""
}

func (e *Enricher) queryONTAP(ctx context.Context, ep *Endpoint, serials, uuids []string) ontapResult {
	r := ontapResult{ep: ep}
	c, err := e.newONTAP(ep, ep.httpClient(time.Duration(e.cfg.Timeout)))
	if err != nil {
		r.err = err
		return r
	}
	if r.cluster, r.err = c.Cluster(ctx); r.err != nil {
		return r
	}
	// A listing that fails part way is dropped whole: a paging loop or a
	// cut-off answer says nothing reliable about what was not read.
	if len(serials) > 0 {
		if r.luns, r.err = c.LUNsBySerial(ctx, serials); r.err != nil {
			r.luns = nil
			return r
		}
	}
	if len(uuids) > 0 {
		if r.namespaces, r.err = c.NamespacesByUUID(ctx, uuids); r.err != nil {
			r.luns, r.namespaces = nil, nil
			return r
		}
	}
	if len(r.luns)+len(r.namespaces) > 0 {
		// Addresses and models are a nicety: without them the rest
		// still applies (the error is still reported).
		var err1, err2 error
		r.ifs, err1 = c.Interfaces(ctx)
		r.nodes, err2 = c.Nodes(ctx)
		r.err = errors.Join(err1, err2)
	}
	return r
}

func (e *Enricher) queryPure(ctx context.Context, ep *Endpoint, serials []string) pureResult {
	r := pureResult{ep: ep}
	c, err := e.newPure(ep, ep.httpClient(time.Duration(e.cfg.Timeout)))
	if err != nil {
		r.err = err
		return r
	}
	if r.array, r.err = c.Array(ctx); r.err != nil {
		return r
	}
	if r.volumes, r.err = c.VolumesBySerial(ctx, serials); r.err != nil {
		r.volumes = nil
		return r
	}
	if len(r.volumes) > 0 {
		var err1, err2 error
		r.ifs, err1 = c.NetworkInterfaces(ctx)
		r.ctrls, err2 = c.Controllers(ctx)
		r.err = errors.Join(err1, err2)
	}
	return r
}

// ontapHit is one API record matching a LUN.
type ontapHit struct {
	res  *ontapResult
	lun  *ontap.LUN
	ns   *ontap.Namespace
	svmU string
}

func applyONTAP(inv *model.Inventory, res []ontapResult) {
	bySerial := map[string][]ontapHit{}
	byUUID := map[string][]ontapHit{}
	for i := range res {
		r := &res[i]
		for j := range r.luns {
			l := &r.luns[j]
			bySerial[l.SerialNumber] = append(bySerial[l.SerialNumber], ontapHit{res: r, lun: l, svmU: l.SVM.UUID})
		}
		for j := range r.namespaces {
			n := &r.namespaces[j]
			u := strings.ToLower(n.UUID)
			byUUID[u] = append(byUUID[u], ontapHit{res: r, ns: n, svmU: n.SVM.UUID})
		}
	}
	for i := range inv.LUNs {
		l := &inv.LUNs[i]
		if l.Array == nil || l.Array.Vendor != "NetApp" || l.Array.Family != FamilyONTAP {
			continue
		}
		var hits []ontapHit
		if l.Protocol == "nvme" {
			hits = byUUID[nvmeUUID(l)]
		} else if l.Array.LUNSerial != "" {
			hits = bySerial[l.Array.LUNSerial]
		}
		if len(hits) == 0 {
			continue
		}
		h, ok := pickHit(l, hits)
		if !ok {
			var names []string
			for _, h := range hits {
				names = append(names, h.res.ep.Name)
			}
			inv.Errors = append(inv.Errors, model.ScanError{
				Source:  "array:ontap",
				Object:  l.ID,
				Message: fmt.Sprintf("serial %s is on several clusters (%s) and the paths do not say which", l.Array.LUNSerial, strings.Join(names, ", ")),
				Hint:    "list only the clusters this host uses in the --arrays file",
			})
			continue
		}
		applyONTAPHit(l, h)
	}
}

// pickHit chooses among records from several clusters the one whose SVM
// uuid appears in the LUN's target names (ONTAP IQNs and NQNs carry
// "sn.<svm uuid without dashes>").
func pickHit(l *model.LUN, hits []ontapHit) (ontapHit, bool) {
	if len(hits) == 1 {
		return hits[0], true
	}
	var found []ontapHit
	for _, h := range hits {
		u := strings.ReplaceAll(strings.ToLower(h.svmU), "-", "")
		if u == "" {
			continue
		}
		for _, p := range l.Paths {
			if strings.Contains(strings.ToLower(p.Target), "sn."+u) {
				found = append(found, h)
				break
			}
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return ontapHit{}, false
}

func applyONTAPHit(l *model.LUN, h ontapHit) {
	cl := h.res.cluster
	setArray(l, FactVendor, "NetApp", SourceAPI)
	setArray(l, FactFamily, FamilyONTAP, SourceAPI)
	setArray(l, FactSystemName, cl.Name, SourceAPI)
	if cl.UUID != "" {
		setArray(l, FactSystemID, "ontap:"+cl.UUID, SourceAPI)
	}
	var (
		svm, path, state, containerState, node, qtree string
		loc                                           ontap.Location
		space                                         ontap.Space
	)
	if h.lun != nil {
		svm, path, loc, space = h.lun.SVM.Name, h.lun.Name, h.lun.Location, h.lun.Space
		state, containerState = h.lun.Status.State, h.lun.Status.ContainerState
		setArray(l, FactLUNSerial, h.lun.SerialNumber, SourceAPI)
		var maps []string
		for _, m := range h.lun.LUNMaps {
			maps = append(maps, m.Igroup.Name+":"+strconv.Itoa(int(m.LogicalUnitNumber)))
		}
		sort.Strings(maps)
		setFact(l, "igroups", strings.Join(maps, ","), SourceAPI)
		setFact(l, "os_type", h.lun.OSType, SourceAPI)
	} else {
		svm, path, loc, space = h.ns.SVM.Name, h.ns.Name, h.ns.Location, h.ns.Space
		state, containerState = h.ns.Status.State, h.ns.Status.ContainerState
		setFact(l, "subsystem", h.ns.SubsystemMap.Subsystem.Name, SourceAPI)
	}
	node, qtree = loc.Node.Name, loc.Qtree.Name
	for _, n := range h.res.nodes {
		if n.Name == node {
			// The model of the node that owns the LUN (nodes of one
			// cluster may differ during a head swap).
			setArray(l, FactModel, n.Model, SourceAPI)
		}
	}
	// "NetApp Release 9.14.1: Mon Jan 01 …": the release without the date.
	rel, _, _ := strings.Cut(cl.Version.Full, ":")
	setFact(l, "os_version", strings.TrimSpace(rel), SourceAPI)
	setFact(l, "svm", svm, SourceAPI)
	setFact(l, "qtree", qtree, SourceAPI)
	setFact(l, "node", node, SourceAPI)
	setFact(l, "state", state, SourceAPI)
	setFact(l, "container_state", containerState, SourceAPI)
	setLUNString(l, FactVolume, loc.Volume.Name, SourceAPI)
	setLUNString(l, FactLUNPath, path, SourceAPI)
	setUsed(l, space.Used)
	if l.SizeBytes == 0 && space.Size > 0 {
		l.SizeBytes = space.Size
		record(l, FactSizeBytes, SourceAPI)
	}
	addrs := ontap.DataAddresses(h.res.ifs, svm)
	if len(addrs) == 0 && len(l.Array.Addresses) == 0 {
		// No data LIF known and no path address: the cluster management
		// address at least reaches the system.
		for _, m := range cl.ManagementInterfaces {
			if m.IP.Address != "" {
				addrs = append(addrs, m.IP.Address)
			}
		}
	}
	sort.Strings(addrs)
	setAddresses(l, addrs, SourceAPI)
}

func setUsed(l *model.LUN, used uint64) {
	if used == 0 && l.UsedBytes != 0 {
		return
	}
	if !canSet(l, FactUsedBytes, l.UsedBytes == 0, SourceAPI) {
		return
	}
	l.UsedBytes = used
	record(l, FactUsedBytes, SourceAPI)
}

func applyPure(inv *model.Inventory, res []pureResult) {
	bySerial := map[string][]*pureResult{}
	vol := map[*pureResult]map[string]*pure.Volume{}
	for i := range res {
		r := &res[i]
		vol[r] = map[string]*pure.Volume{}
		for j := range r.volumes {
			v := &r.volumes[j]
			s := strings.ToUpper(v.Serial)
			bySerial[s] = append(bySerial[s], r)
			vol[r][s] = v
		}
	}
	for i := range inv.LUNs {
		l := &inv.LUNs[i]
		if l.Array == nil || l.Array.Vendor != "Pure Storage" || l.Array.LUNSerial == "" {
			continue
		}
		s := strings.ToUpper(l.Array.LUNSerial)
		rs := bySerial[s]
		if len(rs) == 0 {
			continue
		}
		if len(rs) > 1 {
			inv.Errors = append(inv.Errors, model.ScanError{Source: "array:pure", Object: l.ID,
				Message: fmt.Sprintf("serial %s is on several arrays", s)})
			continue
		}
		r := rs[0]
		v := vol[r][s]
		setArray(l, FactVendor, "Pure Storage", SourceAPI)
		setArray(l, FactFamily, FamilyFlashArray, SourceAPI)
		setArray(l, FactSystemName, r.array.Name, SourceAPI)
		if r.array.ID != "" {
			setArray(l, FactSystemID, "pure-array:"+r.array.ID, SourceAPI)
		}
		setArray(l, FactModel, pure.Model(r.ctrls), SourceAPI)
		setFact(l, "os_version", strings.TrimSpace(r.array.OS+" "+r.array.Version), SourceAPI)
		setLUNString(l, FactVolume, v.Name, SourceAPI)
		setUsed(l, v.Space.Virtual)
		if l.SizeBytes == 0 && v.Provisioned > 0 {
			l.SizeBytes = v.Provisioned
			record(l, FactSizeBytes, SourceAPI)
		}
		if v.Pod != nil {
			setFact(l, "pod", v.Pod.Name, SourceAPI)
		}
		if v.VolumeGroup != nil {
			setFact(l, "volume_group", v.VolumeGroup.Name, SourceAPI)
		}
		if v.Destroyed {
			setFact(l, "state", "destroyed", SourceAPI)
		}
		addrs := pure.DataAddresses(r.ifs)
		sort.Strings(addrs)
		setAddresses(l, addrs, SourceAPI)
	}
}

// endpointError turns an endpoint failure into a ScanError with a hint
// that says what to do.
func endpointError(kind string, ep *Endpoint, err error, timeout time.Duration) model.ScanError {
	se := model.ScanError{Source: "array:" + kind + ":" + ep.Name, Object: ep.URL, Message: err.Error()}
	var (
		oe  *ontap.APIError
		pe  *pure.APIError
		ue  x509.UnknownAuthorityError
		he  x509.HostnameError
		ne  net.Error
		sts int
	)
	switch {
	case errors.As(err, &oe):
		sts = oe.Status
	case errors.As(err, &pe):
		sts = pe.Status
	}
	switch {
	case sts == http.StatusUnauthorized || sts == http.StatusForbidden:
		if kind == "ontap" {
			se.Hint = "check the username and password_env/password_file of this cluster in the --arrays file, and that the user's role may read storage and network objects"
		} else {
			se.Hint = "check api_token_env/api_token_file of this array in the --arrays file"
		}
	case sts >= 500:
		se.Hint = "the array's API failed; retry later or check the array's management service"
	case errors.Is(err, ontap.ErrPagingLoop) || errors.Is(err, pure.ErrPagingLoop):
		se.Hint = "the API returned a paging link back to a page already read; the results so far are not used"
	case errors.As(err, &ue) || errors.As(err, &he):
		se.Hint = "the certificate is not trusted for this name: set ca_file to the CA that signed it"
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		se.Hint = fmt.Sprintf("no answer within %s: check the URL and the network, or raise \"timeout\"", timeout)
	}
	return se
}
