package proxmox

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// benchAPI serves a cluster of n VMs whose config answers each take latency,
// as a loaded node's pveproxy does.
func benchAPI(b *testing.B, n int, latency time.Duration) *httptest.Server {
	var res []string
	for i := 0; i < n; i++ {
		res = append(res, fmt.Sprintf(`{"id":"qemu/%d","type":"qemu","node":"pve1","vmid":%d,"name":"vm%d","status":"running"}`, 100+i, 100+i, i))
	}
	resources := `{"data":[` + strings.Join(res, ",") + `]}`
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api2/json/cluster/resources":
			_, _ = w.Write([]byte(resources))
		case r.URL.Path == "/api2/json/cluster/status":
			_, _ = w.Write([]byte(`{"data":[{"type":"cluster","name":"lab"}]}`))
		case r.URL.Path == "/api2/json/storage":
			_, _ = w.Write([]byte(apiAnswers["/api2/json/storage"]))
		default:
			time.Sleep(latency)
			_, _ = w.Write([]byte(`{"data":{"name":"x","scsi0":"local-lvm:vm-1-disk-0,size=32G","scsi1":"san:0.0.1.scsi-3600a098038303053453f463045536b49,size=1G"}}`))
		}
	}))
	b.Cleanup(srv.Close)
	return srv
}

func benchRemote(b *testing.B, parallel int) {
	srv := benchAPI(b, 100, 10*time.Millisecond)
	s := NewRemote(Config{URL: srv.URL, Token: testToken, Insecure: true})
	s.parallel = parallel
	for b.Loop() {
		inv, err := s.Scan(context.Background())
		if err != nil || len(inv.VMs) != 100 {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanRemote fetches 100 VM configs (10 ms each), 8 at a time; the baseline
// fetches them one after the other.
func BenchmarkScanRemote(b *testing.B)           { benchRemote(b, 8) }
func BenchmarkScanRemoteSequential(b *testing.B) { benchRemote(b, 1) }

// BenchmarkScanLocal reads the fixture node (3 VMs, 16 storages).
func BenchmarkScanLocal(b *testing.B) {
	s := NewLocal("testdata/node")
	for b.Loop() {
		if _, err := s.Scan(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
