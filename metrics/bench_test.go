package metrics

import (
	"fmt"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vmstor/vmstor/model"
)

// benchInventory has n VMs with two disks each on n/10 LUNs of four paths.
func benchInventory(n int) *model.Inventory {
	inv := &model.Inventory{}
	a := &model.Array{Vendor: "NetApp", Family: "ONTAP", SystemName: "ontap-a"}
	for k := 0; k < n/10; k++ {
		free := uint64(k)
		l := model.LUN{ID: fmt.Sprintf("naa.600a0980%024x", k), SizeBytes: 1 << 40, Array: a, State: model.LUNOK}
		for p := 0; p < 4; p++ {
			l.Paths = append(l.Paths, model.Path{Device: fmt.Sprintf("sd%d", p), State: model.PathActive})
		}
		inv.LUNs = append(inv.LUNs, l)
		inv.Resources = append(inv.Resources, model.Resource{ID: fmt.Sprintf("ds:%d", k), Kind: model.ResDatastore, Name: fmt.Sprintf("ds%d", k), SizeBytes: 1 << 40, FreeBytes: &free})
	}
	for i := 0; i < n; i++ {
		vm := model.VM{ID: fmt.Sprintf("id-%d", i), Name: fmt.Sprintf("vm-%d", i), Host: fmt.Sprintf("h%d", i/25)}
		for d := 0; d < 2; d++ {
			vm.Disks = append(vm.Disks, model.Disk{Name: fmt.Sprintf("disk%d", d), CapacityBytes: 1 << 30,
				Datastore: fmt.Sprintf("ds%d", (2*i+d)%(n/10)), LUNs: []string{inv.LUNs[(2*i+d)%(n/10)].ID}})
		}
		inv.VMs = append(inv.VMs, vm)
	}
	return inv
}

// BenchmarkScrape10k is one /metrics scrape over 10,000 VMs (about 60,000
// series), collection and text encoding.
func BenchmarkScrape10k(b *testing.B) {
	c := New()
	c.Set(State{Inv: benchInventory(10000), LastSuccess: true})
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	req := httptest.NewRequest("GET", "/metrics", nil)
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		io.Copy(io.Discard, w.Body)
	}
}

// BenchmarkScrape10kUncached rebuilds the const metrics on every scrape, as
// a collector without the per-scan cache would: the baseline.
func BenchmarkScrape10kUncached(b *testing.B) {
	c := New()
	inv := benchInventory(10000)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
	req := httptest.NewRequest("GET", "/metrics", nil)
	id := int64(0)
	for b.Loop() {
		id++
		c.Set(State{Inv: inv, ScanID: id, LastSuccess: true})
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		io.Copy(io.Discard, w.Body)
	}
}
