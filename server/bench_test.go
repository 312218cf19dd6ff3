package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/vmstor/vmstor/store"
)

var (
	benchOnce sync.Once
	benchSrv  *Server
	benchInv  = synth(10000)
)

func benchServer(b *testing.B) *Server {
	benchOnce.Do(func() {
		benchSrv = New(Config{Store: &memStore{}})
		benchSrv.Publish(benchInv, store.ScanInfo{ID: 1})
	})
	return benchSrv
}

func serve(b *testing.B, h http.Handler, path string) {
	req := httptest.NewRequest("GET", path, nil)
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
	}
}

// BenchmarkListVMs is GET /api/v1/vms?limit=100 over 10,000 VMs from the
// per-scan index.
func BenchmarkListVMs(b *testing.B) { serve(b, benchServer(b).Handler(), "/api/v1/vms?limit=100") }

// BenchmarkListVMsNoIndex is the obvious baseline: derive the VM rows from
// the inventory on every request, then page.
func BenchmarkListVMsNoIndex(b *testing.B) {
	for b.Loop() {
		sn := newSnapshot(benchInv, ScanView{ID: 1})
		p := page(sn.vms, paging{limit: 100}, 1)
		if err := json.NewEncoder(io.Discard).Encode(p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListVMsUnpaged is the other baseline: answer with all 10,000 VMs
// as the model has them, as an unpaged API would.
func BenchmarkListVMsUnpaged(b *testing.B) {
	for b.Loop() {
		if err := json.NewEncoder(io.Discard).Encode(benchInv.VMs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkListVMsByLUN(b *testing.B) {
	serve(b, benchServer(b).Handler(), "/api/v1/vms?limit=100&lun="+url.QueryEscape(benchInv.LUNs[7].ID))
}

func BenchmarkListVMsSearch(b *testing.B) {
	serve(b, benchServer(b).Handler(), "/api/v1/vms?limit=100&q=vm-0999")
}

func BenchmarkLUNDetail(b *testing.B) {
	serve(b, benchServer(b).Handler(), "/api/v1/luns/"+url.PathEscape(benchInv.LUNs[7].ID))
}

func BenchmarkTopologyVM(b *testing.B) {
	serve(b, benchServer(b).Handler(), "/api/v1/topology?vm="+url.QueryEscape(benchInv.VMs[3].ID))
}

func BenchmarkTopologyArray(b *testing.B) {
	serve(b, benchServer(b).Handler(), "/api/v1/topology?array=pure-b")
}

// BenchmarkPublish is the cost per scan of indexing 10,000 VMs (with the
// redaction copy).
func BenchmarkPublish(b *testing.B) {
	s := New(Config{Store: &memStore{}})
	for b.Loop() {
		s.Publish(benchInv, store.ScanInfo{ID: 1})
	}
}

// BenchmarkHTTPListVMs is the same request over a loopback connection.
func BenchmarkHTTPListVMs(b *testing.B) {
	ts := httptest.NewServer(benchServer(b).Handler())
	defer ts.Close()
	c := ts.Client()
	for b.Loop() {
		resp, err := c.Get(ts.URL + "/api/v1/vms?limit=100")
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
