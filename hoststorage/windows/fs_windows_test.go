//go:build windows

package winstorage

import (
	"context"
	"os"
	"strings"
	"testing"
)

// On a Windows machine the volume calls are real: every volume has a GUID
// path, and the test binary's own path locates to one of them, by the
// Windows API and by the pure longest-mount-point rule alike.
func TestLiveVolumesAndLocate(t *testing.T) {
	fs := New()
	ctx := context.Background()
	vols, errs := fs.listVolumes(ctx)
	for _, e := range errs {
		t.Logf("volume enumeration: %v", e)
	}
	if len(vols) == 0 {
		t.Fatal("no volumes enumerated")
	}
	ids := map[string]bool{}
	for _, v := range vols {
		if !strings.HasPrefix(v.GUIDPath, `\\?\Volume{`) || !strings.HasSuffix(v.GUIDPath, `\`) {
			t.Errorf("volume %q is not a GUID path", v.GUIDPath)
		}
		ids[VolumeID(v.GUIDPath)] = true
		t.Logf("%s %v %s extents=%v err=%q", v.GUIDPath, v.Mountpoints, v.FileSystem, v.Extents, v.Err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	a, err := fs.Locate(ctx, exe)
	if err != nil {
		t.Fatalf("Locate(%s): %v", exe, err)
	}
	if !ids[a.Resource] {
		t.Errorf("Locate(%s) = %+v: not one of the enumerated volumes", exe, a)
	}
	b, err := AnchorFor(exe, fs.Host(), vols)
	if err != nil || b.Resource != a.Resource {
		t.Errorf("pure AnchorFor(%s) = %+v, %v; Windows says %s", exe, b, err, a.Resource)
	}
}

// The whole scan runs; a host without the storage WMI classes reports
// errors, never a panic, and every resource is well formed.
func TestLiveScan(t *testing.T) {
	inv, err := New().Scan(context.Background())
	if err != nil {
		t.Skipf("storage WMI classes not available here: %v", err)
	}
	for _, e := range inv.Errors {
		t.Logf("scan error: %v", e)
	}
	for _, r := range inv.Resources {
		if r.ID == "" || r.Kind == "" || r.Host == "" {
			t.Errorf("malformed resource %+v", r)
		}
	}
	for _, l := range inv.LUNs {
		if l.ID == "" || len(l.Paths) == 0 {
			t.Errorf("malformed LUN %+v", l)
		}
		t.Logf("LUN %s (%s) %s %s paths=%d", l.ID, l.IDSource, l.Vendor, l.Product, len(l.Paths))
	}
}
