package ontap_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vmstor/vmstor/array/ontap"
	"github.com/vmstor/vmstor/array/ontap/ontaptest"
)

// BenchmarkLUNsBySerial resolves 1000 LUNs against the loopback imitation:
// batched (what Enrich does: 100 serials per query, pages of 1000) against
// the obvious baseline of one query per LUN, with no added latency and
// with 2ms per request standing for a LAN round trip plus the cluster's
// own work (loopback has neither).
func BenchmarkLUNsBySerial(b *testing.B) {
	for _, lat := range []time.Duration{0, 2 * time.Millisecond} {
		s := ontaptest.New(false)
		serials := s.AddLUNs(1000)
		s.Latency = lat
		c, err := ontap.New(s.URL, s.Client(), s.User, s.Password)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		run := func(b *testing.B, batch int) {
			c.Batch = batch
			before := len(s.Requests())
			for b.Loop() {
				n := 0
				for i := 0; i < len(serials); i += batch {
					luns, err := c.LUNsBySerial(ctx, serials[i:min(i+batch, len(serials))])
					if err != nil {
						b.Fatal(err)
					}
					n += len(luns)
				}
				if n != len(serials) {
					b.Fatalf("%d LUNs", n)
				}
			}
			b.ReportMetric(float64(len(s.Requests())-before)/float64(b.N), "requests/op")
		}
		b.Run(fmt.Sprintf("latency=%s/batched", lat), func(b *testing.B) { run(b, 100) })
		b.Run(fmt.Sprintf("latency=%s/per-lun", lat), func(b *testing.B) { run(b, 1) })
		s.Close()
	}
}
