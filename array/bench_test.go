package array

import (
	"fmt"
	"testing"

	"github.com/vmstor/vmstor/model"
)

// benchLUNs makes n LUNs spread over arrays: ONTAP LUNs behind 20 iSCSI
// targets, Pure LUNs of 10 arrays (by serial prefix), and LIO LUNs by FC.
func benchLUNs(n int) []model.LUN {
	luns := make([]model.LUN, n)
	for i := range luns {
		switch i % 3 {
		case 0:
			serial := fmt.Sprintf("80%010d", i)
			luns[i] = model.LUN{ID: fmt.Sprintf("naa.600a0980%x", serial), Vendor: "NETAPP", Product: "LUN C-Mode",
				Paths: []model.Path{
					{Device: "sda", Transport: "iscsi", Target: fmt.Sprintf("iqn.1992-08.com.netapp:sn.%04d:vs.1", i%20), Address: "192.0.2.10:3260"},
					{Device: "sdb", Transport: "iscsi", Target: fmt.Sprintf("iqn.1992-08.com.netapp:sn.%04d:vs.1", i%20), Address: "192.0.2.11:3260"},
				}}
		case 1:
			luns[i] = model.LUN{ID: fmt.Sprintf("naa.624a9370%016x%08x", i%10, i), Vendor: "PURE", Product: "FlashArray"}
		default:
			luns[i] = model.LUN{ID: fmt.Sprintf("naa.6001405%025x", i), Vendor: "LIO-ORG",
				Paths: []model.Path{{Device: "sdc", Transport: "fc", Address: fmt.Sprintf("0x5000000000%06x", i%7)}}}
		}
	}
	return luns
}

func BenchmarkIdentify(b *testing.B) {
	src := benchLUNs(3000)
	luns := make([]model.LUN, len(src))
	for b.Loop() {
		copy(luns, src)
		for i := range luns {
			luns[i].Array, luns[i].FactSources = nil, nil
			Identify(&luns[i])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(luns)), "ns/lun")
}

// BenchmarkGroupSystems compares the union-find over shared keys with the
// obvious baseline: compare every pair of LUNs' keys, then walk components.
func BenchmarkGroupSystems(b *testing.B) {
	src := benchLUNs(3000)
	for i := range src {
		Identify(&src[i])
	}
	b.Run("union-find", func(b *testing.B) {
		luns := make([]model.LUN, len(src))
		for b.Loop() {
			copy(luns, src)
			if got := len(GroupSystems(luns)); got != 20+10+7 {
				b.Fatalf("%d systems", got)
			}
		}
	})
	b.Run("pairwise", func(b *testing.B) {
		for b.Loop() {
			if got := pairwiseGroups(src); got != 20+10+7 {
				b.Fatalf("%d systems", got)
			}
		}
	})
}

func pairwiseGroups(luns []model.LUN) int {
	keys := make([][]string, len(luns))
	for i := range luns {
		keys[i] = systemKeys(&luns[i])
	}
	share := func(a, b []string) bool {
		for _, x := range a {
			for _, y := range b {
				if x == y {
					return true
				}
			}
		}
		return false
	}
	seen := make([]bool, len(luns))
	groups := 0
	for i := range luns {
		if seen[i] || len(keys[i]) == 0 {
			continue
		}
		groups++
		stack := []int{i}
		seen[i] = true
		for len(stack) > 0 {
			j := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for k := range luns {
				if !seen[k] && share(keys[j], keys[k]) {
					seen[k] = true
					stack = append(stack, k)
				}
			}
		}
	}
	return groups
}

func TestPairwiseBaselineAgrees(t *testing.T) {
	luns := benchLUNs(300)
	for i := range luns {
		Identify(&luns[i])
	}
	want := pairwiseGroups(luns)
	if got := len(GroupSystems(luns)); got != want {
		t.Errorf("GroupSystems found %d systems, the pairwise baseline %d", got, want)
	}
}
