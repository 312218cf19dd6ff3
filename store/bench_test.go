package store

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/vmstor/vmstor/store/storetest"
)

// BenchmarkSave10k stores a first scan of 10,000 VMs (30,000 disks) into an
// empty store.
func BenchmarkSave10k(b *testing.B) {
	for _, be := range []string{"sqlite", "postgres"} {
		b.Run(be, func(b *testing.B) {
			inv := storetest.Generate(storetest.Default(10000), t0)
			var rows int64
			var cpu time.Duration
			for b.Loop() {
				b.StopTimer()
				dsn := sqliteDSN(b)
				if be == "postgres" {
					dsn = pgDSN(b)
				}
				s := openT(b, dsn)
				b.StartTimer()
				c0 := cpuTime()
				si, err := s.Save(context.Background(), inv)
				if err != nil {
					b.Fatal(err)
				}
				cpu += cpuTime() - c0
				rows = si.RowsWritten
				b.StopTimer()
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(rows), "rows/scan")
			// This process only: PostgreSQL's own work is in its server.
			b.ReportMetric(cpu.Seconds()*1e3/float64(b.N), "cpu-ms/op")
		})
	}
}

// BenchmarkRescan10k stores a re-scan of 10,000 VMs over the same state
// (unchanged), and over a state where 1% changed.
func BenchmarkRescan10k(b *testing.B) {
	for _, be := range []string{"sqlite", "postgres"} {
		for _, frac := range []float64{0, 0.01} {
			name := be + "/unchanged"
			if frac > 0 {
				name = be + "/1pct-changed"
			}
			b.Run(name, func(b *testing.B) {
				dsn := sqliteDSN(b)
				if be == "postgres" {
					dsn = pgDSN(b)
				}
				s := openT(b, dsn)
				base := storetest.Generate(storetest.Default(10000), t0)
				if _, err := s.Save(context.Background(), base); err != nil {
					b.Fatal(err)
				}
				var rows int64
				var cpu time.Duration
				i := 0
				for b.Loop() {
					b.StopTimer()
					inv := storetest.Generate(storetest.Default(10000), t0.Add(time.Duration(i+1)*time.Hour))
					if frac > 0 {
						storetest.Mutate(inv, frac, uint64(i), inv.ScannedAt)
					}
					i++
					b.StartTimer()
					c0 := cpuTime()
					si, err := s.Save(context.Background(), inv)
					if err != nil {
						b.Fatal(err)
					}
					cpu += cpuTime() - c0
					rows = si.RowsWritten
				}
				b.ReportMetric(float64(rows), "rows/scan")
				b.ReportMetric(cpu.Seconds()*1e3/float64(b.N), "cpu-ms/op")
			})
		}
	}
}

// BenchmarkSnapshotBaseline is the obvious alternative to storing changes:
// one JSON document per scan. It reports the bytes such a store writes per
// scan, changed or not.
func BenchmarkSnapshotBaseline(b *testing.B) {
	inv := storetest.Generate(storetest.Default(10000), t0)
	var n int
	for b.Loop() {
		data, err := json.Marshal(inv)
		if err != nil {
			b.Fatal(err)
		}
		n = len(data)
	}
	b.ReportMetric(float64(n), "bytes/scan")
}
