package main

import (
	"encoding/json"
	"testing"

	"github.com/vmstor/vmstor/model"
)

// TestDemoMapsTheSimulatedDatacenter runs the README's first command end to
// end: simulator, SOAP scan, array identity, correlation, JSON.
func TestDemoMapsTheSimulatedDatacenter(t *testing.T) {
	code, out, stderr := runCLI(t, "demo", "-o", "json", "--vms", "8", "--hosts", "2")
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	var inv model.Inventory
	if err := json.Unmarshal([]byte(out), &inv); err != nil {
		t.Fatalf("output is not the JSON document: %v", err)
	}
	if len(inv.VMs) != 8 || len(inv.Hosts) != 2 {
		t.Fatalf("got %d VMs on %d hosts, want 8 on 2", len(inv.VMs), len(inv.Hosts))
	}
	luns := lunIndex(inv.LUNs)
	vendors := map[string]bool{}
	degraded := false
	for _, l := range inv.LUNs {
		if l.Array != nil {
			vendors[l.Array.Vendor] = true
		}
		degraded = degraded || l.State == model.LUNDegraded
	}
	if !vendors["NetApp"] || !vendors["Pure Storage"] {
		t.Errorf("array vendors %v, want NetApp and Pure Storage", vendors)
	}
	if !degraded {
		t.Error("the lab has dead paths: some LUN must be degraded")
	}
	onLUN := 0
	for _, vm := range inv.VMs {
		for _, d := range vm.Disks {
			if d.Error != "" {
				t.Errorf("%s %s: %s", vm.Name, d.Name, d.Error)
			}
			for _, id := range d.LUNs {
				if luns[id] == nil {
					t.Errorf("%s %s: LUN %s is not in the luns list", vm.Name, d.Name, id)
				}
			}
			if len(d.LUNs) > 0 {
				onLUN++
			}
		}
	}
	if onLUN == 0 {
		t.Error("no disk was mapped down to a LUN")
	}
}
