//go:build windows

package hyperv

import (
	"context"
	"errors"
	"testing"

	"github.com/vmstor/vmstor/model"
)

// On a Windows machine the WMI queries are real. Without Hyper-V the source
// fails as a whole with a precise error naming the class; with it, every VM
// and disk is well formed.
func TestLiveScan(t *testing.T) {
	inv, err := New().Scan(context.Background())
	if err != nil {
		var se model.ScanError
		if !errors.As(err, &se) || se.Object != "Msvm_ComputerSystem" || se.Message == "" {
			t.Fatalf("Scan error is not a precise ScanError: %#v", err)
		}
		t.Skipf("no Hyper-V here: %v", err)
	}
	for _, e := range inv.Errors {
		t.Logf("scan error: %v", e)
	}
	for _, vm := range inv.VMs {
		if !isGUID(vm.ID) || vm.Platform != model.PlatformHyperV {
			t.Errorf("malformed VM %+v", vm)
		}
		for _, d := range vm.Disks {
			if d.Name == "" || d.Kind == "" {
				t.Errorf("malformed disk %+v of %s", d, vm.Name)
			}
			t.Logf("%s %s %s %s %d %v", vm.Name, d.Name, d.Kind, d.Source, d.CapacityBytes, d.Backing)
		}
	}
}
