package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vmstor/vmstor/metrics"
	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/query"
	"github.com/vmstor/vmstor/store"
)

// memStore is an in-memory Store and Saver: scans kept whole, diffs by
// query.Diff when it exists, else none.
type memStore struct {
	mu    sync.Mutex
	scans []memScan
}

type memScan struct {
	info store.ScanInfo
	inv  *model.Inventory
}

func (m *memStore) Save(ctx context.Context, inv *model.Inventory) (store.ScanInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	info := store.ScanInfo{ID: int64(len(m.scans) + 1), Time: inv.ScannedAt, Sources: inv.Sources, DurationSeconds: inv.DurationSeconds,
		Errors: inv.Errors, Status: store.StatusOK, VMs: len(inv.VMs), LUNs: len(inv.LUNs)}
	for _, vm := range inv.VMs {
		info.Disks += len(vm.Disks)
	}
	if len(inv.Errors) > 0 {
		info.Status = store.StatusPartial
	}
	if len(inv.Errors) > 0 && len(inv.VMs) == 0 && len(inv.LUNs) == 0 {
		info.Status = store.StatusFailed
	}
	m.scans = append(m.scans, memScan{info, inv})
	return info, nil
}

func (m *memStore) Prune(ctx context.Context, keep time.Duration) (int, error) { return 0, nil }

func (m *memStore) Latest(ctx context.Context) (*model.Inventory, store.ScanInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.scans) - 1; i >= 0; i-- {
		if m.scans[i].info.Status != store.StatusFailed {
			return m.scans[i].inv, m.scans[i].info, nil
		}
	}
	return nil, store.ScanInfo{}, store.ErrNoScans
}

func (m *memStore) Get(ctx context.Context, id int64) (*model.Inventory, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id < 1 || int(id) > len(m.scans) {
		return nil, store.ErrNoScan
	}
	return m.scans[id-1].inv, nil
}

func (m *memStore) Scans(ctx context.Context, limit int) ([]store.ScanInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.ScanInfo
	for i := len(m.scans) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, m.scans[i].info)
	}
	return out, nil
}

func (m *memStore) Diff(ctx context.Context, from, to int64) ([]store.Change, error) {
	a, err := m.Get(ctx, from)
	if err != nil {
		return nil, err
	}
	b, err := m.Get(ctx, to)
	if err != nil {
		return nil, err
	}
	return query.Diff(a, b), nil
}

func (m *memStore) History(ctx context.Context, object string, limit int) ([]store.Change, error) {
	var out []store.Change
	for i := 2; i <= len(m.scans); i++ {
		cs, _ := m.Diff(ctx, int64(i-1), int64(i))
		for _, c := range cs {
			if c.Object == object || strings.HasPrefix(c.Object, object+"/") {
				c.ScanID = int64(i)
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// newTestServer serves inv (saved in a memStore as scan 1) with metrics.
func newTestServer(t testing.TB, inv *model.Inventory, token string) (*Server, *memStore, *httptest.Server) {
	t.Helper()
	ms := &memStore{}
	col := metrics.New()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(col)
	srv := New(Config{Store: ms, Token: token, Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{})})
	w := &Watcher{Scan: func(context.Context) (*model.Inventory, error) { return inv, nil }, Store: ms, Server: srv, Metrics: col, Interval: time.Minute}
	if !w.Once(context.Background()) {
		t.Fatal("first scan failed")
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return srv, ms, ts
}

func get(t testing.TB, ts *httptest.Server, path string, hdr ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func getJSON[T any](t testing.TB, ts *httptest.Server, path string) T {
	t.Helper()
	code, b := get(t, ts, path)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, b)
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, b)
	}
	return v
}

func TestListVMs(t *testing.T) {
	inv := synth(1000)
	_, _, ts := newTestServer(t, inv, "")
	lun := inv.LUNs[4].ID
	tests := []struct {
		query     string
		wantTotal int
		wantFirst string
		wantN     int
		wantNext  int
	}{
		{"", 1000, "vm-00000", 100, 100},
		{"?limit=10&offset=995", 1000, "vm-00995", 5, 0},
		{"?offset=2000", 1000, "", 0, 0},
		{"?host=host001", 25, "vm-00025", 25, 0},
		{"?name=VM-0099", 10, "vm-00990", 10, 0},
		{"?q=vm-00042", 1, "vm-00042", 1, 0},
		// LUN 4 holds disk 0 of VMs 2, 52, 102... (i*2+d)%100 == 4.
		{"?lun=" + url.QueryEscape(lun), 20, "vm-00002", 20, 0},
		{"?array=pure-b&limit=1", 660, "vm-00000", 1, 1},
		{"?health=failed", 20, "vm-00005", 20, 0},
		{"?host=nohost", 0, "", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			p := getJSON[Page[VMSummary]](t, ts, "/api/v1/vms"+tt.query)
			first := ""
			if len(p.Items) > 0 {
				first = p.Items[0].Name
			}
			got := []any{p.Total, first, len(p.Items), p.NextOffset}
			want := []any{tt.wantTotal, tt.wantFirst, tt.wantN, tt.wantNext}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("total, first, n, next (-want +got):\n%s", diff)
			}
		})
	}
}

func TestListVMsFiltersAgreeWithBruteForce(t *testing.T) {
	inv := synth(500)
	_, _, ts := newTestServer(t, inv, "")
	for _, a := range []string{"ontap-a", "pure-b", "000197900123"} {
		want := 0
		for _, vm := range inv.VMs {
			hit := false
			for _, d := range vm.Disks {
				for _, id := range d.LUNs {
					for _, l := range inv.LUNs {
						if l.ID == id && metrics.ArrayName(l.Array) == a {
							hit = true
						}
					}
				}
			}
			if hit {
				want++
			}
		}
		p := getJSON[Page[VMSummary]](t, ts, "/api/v1/vms?limit=1&array="+url.QueryEscape(a))
		if p.Total != want {
			t.Errorf("array %s: total %d, brute force %d", a, p.Total, want)
		}
	}
}

func TestGetVM(t *testing.T) {
	inv := synth(100)
	_, _, ts := newTestServer(t, inv, "")
	vm := inv.VMs[3] // disks on LUN 6 (datastore) and LUN 7 (filesystem over multipath)
	d := getJSON[VMDetail](t, ts, "/api/v1/vms/"+url.PathEscape(vm.ID))
	if diff := cmp.Diff(vm, d.VM); diff != "" {
		t.Errorf("VM (-want +got):\n%s", diff)
	}
	var res, luns []string
	for _, r := range d.Resources {
		res = append(res, r.ID)
	}
	for _, l := range d.LUNs {
		luns = append(luns, l.ID)
	}
	if diff := cmp.Diff([]string{"ds:datastore-6", "mnt:7", "blk:dm-7"}, res); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{inv.LUNs[6].ID, inv.LUNs[7].ID}, luns); diff != "" {
		t.Errorf("LUNs (-want +got):\n%s", diff)
	}
	if code, body := get(t, ts, "/api/v1/vms/nope"); code != http.StatusNotFound || !strings.Contains(string(body), "not found") {
		t.Errorf("unknown VM: %d %s", code, body)
	}
}

func TestTopologyVM(t *testing.T) {
	inv := synth(100)
	_, _, ts := newTestServer(t, inv, "")
	vm := inv.VMs[3]
	g := getJSON[Graph](t, ts, "/api/v1/topology?vm="+url.QueryEscape(vm.ID))
	kinds := map[string]int{}
	cols := map[string]int{}
	for _, n := range g.Nodes {
		kinds[n.Kind]++
		cols[n.Kind] = n.Column
	}
	// 1 VM, 2 disks, 2 files, datastore, filesystem, multipath, 2 LUNs,
	// 8 paths, 2 arrays (LUN 6 on ontap-a, 7 on pure-b).
	want := map[string]int{"vm": 1, "disk": 2, "file": 2, "datastore": 1, "filesystem": 1, "multipath": 1, "lun": 2, "path": 8, "array": 2}
	if diff := cmp.Diff(want, kinds); diff != "" {
		t.Errorf("node kinds (-want +got):\n%s", diff)
	}
	// Columns run VM, disk, file, fs/datastore, multipath, LUN, path, array.
	if !(cols["vm"] < cols["disk"] && cols["disk"] < cols["file"] && cols["file"] < cols["filesystem"] &&
		cols["filesystem"] < cols["multipath"] && cols["multipath"] < cols["lun"] && cols["lun"] < cols["path"] && cols["path"] < cols["array"]) {
		t.Errorf("columns out of order: %v", cols)
	}
	edges := map[string]bool{}
	for _, e := range g.Edges {
		edges[e.From+" -> "+e.To] = true
	}
	l7 := inv.LUNs[7].ID
	for _, e := range []string{
		"vm:" + vm.ID + " -> disk:" + vm.ID + "/Hard disk 2",
		"res:mnt:7 -> res:blk:dm-7",
		"res:blk:dm-7 -> lun:" + l7,
		"res:ds:datastore-6 -> lun:" + inv.LUNs[6].ID,
	} {
		if !edges[e] {
			t.Errorf("missing edge %s in %v", e, g.Edges)
		}
	}
	if edges["res:mnt:7 -> lun:"+l7] {
		t.Errorf("filesystem linked straight to the LUN, skipping the multipath map")
	}
}

func TestLUNBlastRadius(t *testing.T) {
	inv := synth(1000)
	_, _, ts := newTestServer(t, inv, "")
	l := inv.LUNs[5] // degraded: path 0 failed
	d := getJSON[LUNDetail](t, ts, "/api/v1/luns/"+url.PathEscape(l.ID))
	// Brute force: every disk whose LUNs include it.
	var want []string
	for _, vm := range inv.VMs {
		for _, dk := range vm.Disks {
			for _, id := range dk.LUNs {
				if id == l.ID {
					want = append(want, vm.Name+"/"+dk.Name)
				}
			}
		}
	}
	var got []string
	for _, u := range d.Blast.Uses {
		got = append(got, u.VM+"/"+u.Disk)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("blast radius (-want +got):\n%s", diff)
	}
	if d.Summary.State != model.LUNDegraded || d.Summary.Paths != (PathCounts{Active: 1, Standby: 2, Failed: 1}) {
		t.Errorf("summary %+v", d.Summary)
	}
	var above []string
	for _, r := range d.Above {
		above = append(above, r.ID)
	}
	if diff := cmp.Diff([]string{"blk:dm-5", "mnt:5"}, above); diff != "" {
		t.Errorf("above (-want +got):\n%s", diff)
	}
}

func TestArrays(t *testing.T) {
	inv := synth(300)
	_, _, ts := newTestServer(t, inv, "")
	p := getJSON[Page[ArraySummary]](t, ts, "/api/v1/arrays")
	var ids []string
	luns := 0
	for _, a := range p.Items {
		ids = append(ids, a.ID)
		luns += a.LUNs
	}
	if diff := cmp.Diff([]string{"000197900123", "ontap-a", "pure-b"}, ids); diff != "" {
		t.Errorf("arrays (-want +got):\n%s", diff)
	}
	if luns != len(inv.LUNs) {
		t.Errorf("arrays hold %d LUNs, inventory has %d", luns, len(inv.LUNs))
	}
	d := getJSON[ArrayDetail](t, ts, "/api/v1/arrays/pure-b")
	if d.Array.LUNs != len(d.LUNs) || d.Blast.VMs == 0 || d.Blast.VMs != d.Array.VMs {
		t.Errorf("array detail: %d LUNs listed, %+v, blast %d VMs", len(d.LUNs), d.Array, d.Blast.VMs)
	}
	g := getJSON[Graph](t, ts, "/api/v1/topology?array=pure-b")
	if len(g.Nodes) == 0 || g.Truncated {
		t.Errorf("array graph: %d nodes, truncated %v", len(g.Nodes), g.Truncated)
	}
}

func TestDatastores(t *testing.T) {
	inv := synth(100)
	_, _, ts := newTestServer(t, inv, "")
	p := getJSON[Page[DatastoreSummary]](t, ts, "/api/v1/datastores?q=ds0004")
	if len(p.Items) != 1 {
		t.Fatalf("got %d datastores", len(p.Items))
	}
	d := p.Items[0]
	// Datastore of LUN 4: disks i*2+d == 4 (mod 10): VM 2 disk 0, 7 disk 1, ...
	if d.VMs != 20 || d.FreePercent == nil || len(d.LUNs) != 1 || d.LUNs[0] != inv.LUNs[4].ID {
		t.Errorf("datastore %+v", d)
	}
	fs := getJSON[Page[DatastoreSummary]](t, ts, "/api/v1/datastores?kind=filesystem&q=/srv/pool5")
	if len(fs.Items) != 1 || len(fs.Items[0].LUNs) != 1 || fs.Items[0].LUNs[0] != inv.LUNs[5].ID {
		t.Errorf("filesystem LUNs through multipath: %+v", fs.Items)
	}
}

func TestBadRequests(t *testing.T) {
	_, _, ts := newTestServer(t, synth(10), "")
	for _, path := range []string{
		"/api/v1/vms?limit=0", "/api/v1/vms?limit=5000", "/api/v1/vms?offset=-1", "/api/v1/vms?limit=x",
		"/api/v1/topology", "/api/v1/who-uses", "/api/v1/history", "/api/v1/diff?from=x", "/api/v1/scans/abc",
		"/api/v1/vms?scan=zero",
	} {
		if code, body := get(t, ts, path); code != http.StatusBadRequest || !strings.Contains(string(body), `"error"`) {
			t.Errorf("GET %s: %d %s, want 400 with an error", path, code, body)
		}
	}
	for _, path := range []string{"/api/v1/nothing", "/api/v2/vms", "/api/v1/luns/naa.nope", "/api/v1/arrays/x", "/api/v1/scans/99", "/api/v1/vms?scan=99"} {
		if code, _ := get(t, ts, path); code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, code)
		}
	}
}

func TestReadOnly(t *testing.T) {
	_, _, ts := newTestServer(t, synth(10), "")
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"} {
		for _, p := range []string{"/api/v1/vms", "/api/v1/scans/1", "/", "/metrics", "/static/app.js", "/nope"} {
			req, _ := http.NewRequest(m, ts.URL+p, strings.NewReader("{}"))
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: %d Allow=%q, want 405", m, p, resp.StatusCode, resp.Header.Get("Allow"))
			}
		}
	}
	req, _ := http.NewRequest("HEAD", ts.URL+"/api/v1/vms", nil)
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD: %d", resp.StatusCode)
	}
}

func TestToken(t *testing.T) {
	const tok = "0123456789abcdef-token"
	_, _, ts := newTestServer(t, synth(10), tok)
	for _, p := range []string{"/api/v1/vms", "/api/v1/openapi.json", "/metrics", "/api/v1/nothing"} {
		if code, _ := get(t, ts, p); code != http.StatusUnauthorized {
			t.Errorf("GET %s without token: %d, want 401", p, code)
		}
		if code, _ := get(t, ts, p, "Authorization", "Bearer wrong"); code != http.StatusUnauthorized {
			t.Errorf("GET %s with a wrong token: %d, want 401", p, code)
		}
		want := http.StatusOK
		if p == "/api/v1/nothing" {
			want = http.StatusNotFound
		}
		if code, _ := get(t, ts, p, "Authorization", "Bearer "+tok); code != want {
			t.Errorf("GET %s with the token: %d, want %d", p, code, want)
		}
	}
	// The page holds no data and asks for the token itself.
	for _, p := range []string{"/", "/static/app.js", "/static/app.css", "/healthz"} {
		if code, _ := get(t, ts, p); code != http.StatusOK {
			t.Errorf("GET %s: %d", p, code)
		}
	}
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	inv := synth(30)
	srv, _, ts := newTestServer(t, inv, "")
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	code, body := get(t, ts, "/api/v1/openapi.json")
	if code != http.StatusOK {
		t.Fatalf("openapi.json: %d", code)
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q, want 3.x", doc.OpenAPI)
	}
	var documented []string
	for p, ops := range doc.Paths {
		documented = append(documented, p)
		for m := range ops {
			if m != "get" {
				t.Errorf("%s documents %s; the API is read-only", p, m)
			}
		}
	}
	served := srv.Routes()
	sort.Strings(documented)
	sort.Strings(served)
	if diff := cmp.Diff(documented, served); diff != "" {
		t.Errorf("OpenAPI paths vs served routes (-documented +served):\n%s", diff)
	}
	// Every documented path answers 200 with sample ids and parameters,
	// so none is shadowed by the catch-all 404.
	sample := map[string]string{
		"/api/v1/vms/{id}":    "/api/v1/vms/" + url.PathEscape(inv.VMs[0].ID),
		"/api/v1/luns/{id}":   "/api/v1/luns/" + url.PathEscape(inv.LUNs[0].ID),
		"/api/v1/arrays/{id}": "/api/v1/arrays/ontap-a",
		"/api/v1/scans/{id}":  "/api/v1/scans/1",
		"/api/v1/topology":    "/api/v1/topology?vm=" + url.QueryEscape(inv.VMs[0].ID),
		"/api/v1/history":     "/api/v1/history?object=vm-00001",
		"/api/v1/who-uses":    "/api/v1/who-uses?q=ontap-a",
		"/api/v1/diff":        "/api/v1/diff?from=1&to=1",
	}
	for _, p := range documented {
		u := p
		if s, ok := sample[p]; ok {
			u = s
		}
		if code, body := get(t, ts, u); code != http.StatusOK {
			t.Errorf("GET %s (documented %s): %d %s", u, p, code, body)
		}
	}
}

func TestWhoUses(t *testing.T) {
	inv := synth(100)
	_, _, ts := newTestServer(t, inv, "")
	p := getJSON[Page[UseView]](t, ts, "/api/v1/who-uses?q="+url.QueryEscape(inv.LUNs[4].ID))
	want := query.WhoUses(inv, inv.LUNs[4].ID)
	if p.Total != len(want) || p.Total == 0 {
		t.Errorf("who-uses total %d, query.WhoUses %d", p.Total, len(want))
	}
}

func TestScansDiffHistory(t *testing.T) {
	inv := synth(50)
	srv, ms, ts := newTestServer(t, inv, "")
	// Scan 2: one VM gone, one LUN lost a path.
	inv2 := synth(50)
	inv2.VMs = inv2.VMs[1:]
	inv2.LUNs[0].Paths[0].State = model.PathFailed
	inv2.LUNs[0].State = model.LUNState(inv2.LUNs[0].Paths)
	info, _ := ms.Save(context.Background(), inv2)
	srv.Publish(inv2, info)

	sc := getJSON[Page[ScanView]](t, ts, "/api/v1/scans")
	if len(sc.Items) != 2 || sc.Items[0].ID != 2 || sc.Total != 2 {
		t.Fatalf("scans %+v", sc)
	}
	d := getJSON[Diff](t, ts, "/api/v1/diff")
	if d.From != 1 || d.To != 2 || d.Changes.Total == 0 {
		t.Fatalf("diff %+v", d)
	}
	want := query.Diff(inv, inv2)
	if d.Changes.Total != len(want) {
		t.Errorf("diff has %d changes, query.Diff %d", d.Changes.Total, len(want))
	}
	old := getJSON[Page[VMSummary]](t, ts, "/api/v1/vms?scan=1&limit=1")
	cur := getJSON[Page[VMSummary]](t, ts, "/api/v1/vms?limit=1")
	if old.Total != 50 || cur.Total != 49 || old.ScanID != 1 || cur.ScanID != 2 {
		t.Errorf("scan 1: %d VMs (id %d), current: %d (id %d)", old.Total, old.ScanID, cur.Total, cur.ScanID)
	}
}

func TestListenCheck(t *testing.T) {
	tests := []struct {
		l       Listen
		wantErr string
	}{
		{Listen{Addr: "127.0.0.1:9631"}, ""},
		{Listen{Addr: "localhost:9631"}, ""},
		{Listen{Addr: "[::1]:9631"}, ""},
		{Listen{Addr: "127.1.2.3:80"}, ""},
		{Listen{Addr: ":9631"}, "not a loopback"},
		{Listen{Addr: "0.0.0.0:9631"}, "not a loopback"},
		{Listen{Addr: "192.0.2.10:9631"}, "not a loopback"},
		{Listen{Addr: "[::]:9631"}, "not a loopback"},
		{Listen{Addr: "vmstor.example:9631"}, "not a loopback"},
		{Listen{Addr: "0.0.0.0:9631", TokenFile: "/t"}, ""},
		{Listen{Addr: "0.0.0.0:9631", TLSCert: "c", TLSKey: "k", ClientCA: "ca"}, ""},
		{Listen{Addr: "0.0.0.0:9631", TLSCert: "c", TLSKey: "k"}, "not a loopback"},
		{Listen{Addr: "127.0.0.1:9631", TLSCert: "c"}, "go together"},
		{Listen{Addr: "127.0.0.1:9631", ClientCA: "ca"}, "needs --tls-cert"},
		{Listen{Addr: "9631"}, "want host:port"},
	}
	for _, tt := range tests {
		err := tt.l.Check()
		got := ""
		if err != nil {
			got = err.Error()
		}
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && !strings.Contains(got, tt.wantErr) {
			t.Errorf("%+v: %v, want %q", tt.l, err, tt.wantErr)
		}
	}
}

func TestPublishUnderLoad(t *testing.T) {
	// Readers during a publish see one whole scan or the other (run with -race).
	srv, _, ts := newTestServer(t, synth(200), "")
	a, b := synth(200), synth(100)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			inv := a
			if i%2 == 1 {
				inv = b
			}
			srv.Publish(inv, store.ScanInfo{ID: int64(10 + i)})
		}
	}()
	for i := 0; i < 20; i++ {
		p := getJSON[Page[VMSummary]](t, ts, "/api/v1/vms?limit=1")
		if p.Total != 200 && p.Total != 100 {
			t.Errorf("torn read: %d VMs", p.Total)
		}
	}
	wg.Wait()
}

func ExampleIsLoopback() {
	for _, a := range []string{"127.0.0.1:9631", ":9631"} {
		lo, _ := IsLoopback(a)
		fmt.Println(a, lo)
	}
	// Output:
	// 127.0.0.1:9631 true
	// :9631 false
}

// TestIDsWithSlashes: ids are path-escaped in one segment; a Proxmox or
// Hyper-V id with "/", a blank or "?" still reaches its object.
func TestIDsWithSlashes(t *testing.T) {
	inv := synth(3)
	inv.VMs[0].ID = "pool/vm 1?x#y"
	_, _, ts := newTestServer(t, inv, "")
	d := getJSON[VMDetail](t, ts, "/api/v1/vms/"+url.PathEscape(inv.VMs[0].ID))
	if d.VM.ID != inv.VMs[0].ID {
		t.Errorf("got VM %q", d.VM.ID)
	}
	g := getJSON[Graph](t, ts, "/api/v1/topology?vm="+url.QueryEscape(inv.VMs[0].ID))
	if len(g.Nodes) == 0 || g.Nodes[0].Link != "vm/"+url.PathEscape(inv.VMs[0].ID) {
		t.Errorf("topology of the VM: %+v", g.Nodes)
	}
}
