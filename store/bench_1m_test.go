package store

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/query"
	"github.com/vmstor/vmstor/store/storetest"
)

// The who-uses benchmark runs over a store of 1,000,000 virtual disks
// (250,000 VMs with 4 disks on 10,000 hosts, 80,000 LUNs, 130,000
// resources) holding two scans, the second with 1% changed. The store is
// built on first use and kept: SQLite in $VMSTOR_BENCH_DIR (default
// $TMPDIR/vmstor-bench), PostgreSQL in the schema bench1m of the test
// database. Building takes minutes; the default test run never does it.
var shape1M = storetest.Shape{VMs: 250000, DisksPerVM: 4, VMsPerHost: 25, LUNsPerHost: 8}

const bench1MVersion = "1" // bump when the generator or schema changes

// bench1MLatest is the second scan of the benchmark store.
func bench1MLatest() *model.Inventory {
	inv := storetest.Generate(shape1M, t0.Add(time.Hour))
	storetest.Mutate(inv, 0.01, 1, inv.ScannedAt)
	return inv
}

func bench1MDSN(b *testing.B, backend string) string {
	if backend == "postgres" {
		base := pgBase(b)
		sep := "?"
		for _, c := range base {
			if c == '?' {
				sep = "&"
			}
		}
		return base + sep + "search_path=bench1m_v" + bench1MVersion
	}
	dir := os.Getenv("VMSTOR_BENCH_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "vmstor-bench")
	}
	return "sqlite:" + filepath.Join(dir, "whouses-1m-v"+bench1MVersion+".db")
}

// open1M opens the benchmark store, building it when it holds no scans.
func open1M(b *testing.B, backend string) *Store {
	ctx := context.Background()
	dsn := bench1MDSN(b, backend)
	if backend == "postgres" {
		db := openT(b, pgBase(b))
		if _, err := db.db.Exec("CREATE SCHEMA IF NOT EXISTS bench1m_v" + bench1MVersion); err != nil {
			b.Fatal(err)
		}
	}
	s := openT(b, dsn)
	scans, err := s.Scans(ctx, 0)
	if err != nil {
		b.Fatal(err)
	}
	if len(scans) >= 2 {
		return s
	}
	if len(scans) != 0 {
		b.Fatalf("%s holds %d scan(s): a build was interrupted; delete it", s, len(scans))
	}
	b.Logf("building the 1M-disk store in %s (once)", s)
	for i := range 2 {
		// One at a time: a 1M-disk inventory takes gigabytes.
		inv := storetest.Generate(shape1M, t0.Add(time.Duration(i)*time.Hour))
		if i == 1 {
			storetest.Mutate(inv, 0.01, 1, inv.ScannedAt)
		}
		start := time.Now()
		si, err := s.Save(ctx, inv)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("scan %d: %d VMs, %d disks, %d rows written in %v", si.ID, si.VMs, si.Disks, si.RowsWritten, time.Since(start))
	}
	return s
}

// queries1M is a fixed mix of who-uses queries over the generated estate:
// LUN ids with and without naa., serials, multipath devices, mount points
// and NFS exports, each naming one object.
func queries1M() []string {
	r := rand.New(rand.NewPCG(42, 42))
	hosts := shape1M.VMs / shape1M.VMsPerHost
	luns := hosts * shape1M.LUNsPerHost
	var qs []string
	for i := range 600 {
		n := r.IntN(luns)
		h := r.IntN(hosts)
		switch i % 6 {
		case 0:
			qs = append(qs, storetest.LUNID(n))
		case 1:
			qs = append(qs, storetest.LUNID(n)[4:])
		case 2:
			qs = append(qs, storetest.Serial(n))
		case 3:
			qs = append(qs, "/dev/"+storetest.Device(n))
		case 4:
			qs = append(qs, storetest.Datastore(h, r.IntN(shape1M.LUNsPerHost/2)))
		case 5:
			qs = append(qs, storetest.Export(h))
		}
	}
	return qs
}

func BenchmarkWhoUses1M(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			s := open1M(b, backend)
			qs := queries1M()
			ctx := context.Background()
			var lat []time.Duration
			found := 0
			i := 0
			for b.Loop() {
				q := qs[i%len(qs)]
				i++
				start := time.Now()
				uses, err := s.WhoUses(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
				found += len(uses)
			}
			if found == 0 {
				b.Fatal("no query found anything")
			}
			reportLatency(b, lat)
			b.ReportMetric(float64(found)/float64(len(lat)), "disks/op")
		})
	}
}

// BenchmarkWhoUsesLinear1M is the obvious baseline: the whole inventory in
// memory (already loaded, which the store never needs) and a scan over it.
func BenchmarkWhoUsesLinear1M(b *testing.B) {
	inv := bench1MLatest()
	qs := queries1M()
	var lat []time.Duration
	i := 0
	for b.Loop() {
		start := time.Now()
		_ = query.WhoUses(inv, qs[i%len(qs)])
		lat = append(lat, time.Since(start))
		i++
	}
	reportLatency(b, lat)
}

func reportLatency(b *testing.B, lat []time.Duration) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1e3
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1.0), "max-ms")
}

// TestBench1MQueriesFindUsers guards the benchmark's query mix against the
// generator drifting: every kind of query finds disks on a small estate.
func TestBench1MQueriesFindUsers(t *testing.T) {
	inv := storetest.Generate(storetest.Shape{VMs: 100, DisksPerVM: 4, VMsPerHost: 25, LUNsPerHost: 8}, t0)
	for _, q := range []string{storetest.LUNID(3), storetest.LUNID(3)[4:], storetest.Serial(3), "/dev/" + storetest.Device(3),
		storetest.Datastore(1, 2), storetest.Export(2)} {
		if len(query.WhoUses(inv, q)) == 0 {
			t.Errorf("query %q finds nothing in the generated estate", q)
		}
	}
}
