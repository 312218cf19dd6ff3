//go:build linux

package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmstor/vmstor/query"
	"github.com/vmstor/vmstor/store"
	"github.com/vmstor/vmstor/vms/libvirt/libvirtlab"
)

// TestE2EWhoUsesLive asks a real libvirtd, over real storage (a qcow2 image
// on ext4 on a loop device, a second loop device passed through), which VM
// disks sit on the filesystem and on each device; then stores that live scan
// and asks the store the same questions.
func TestE2EWhoUsesLive(t *testing.T) {
	lab := libvirtlab.New(t)
	name := lab.Prefix + "-wu"
	lab.Define(libvirtlab.DomainXML(name, `
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='`+lab.Top+`'/><target dev='vda' bus='virtio'/></disk>
    <disk type='block' device='disk'><driver name='qemu' type='raw'/><source dev='`+lab.BlockLoop+`'/><target dev='vdb' bus='virtio'/></disk>`))

	type want struct{ Disk, Via string }
	tests := []struct {
		q    string
		want want
	}{
		{lab.Mount, want{"vda", query.ViaDatastore}},
		{lab.FSLoop, want{"vda", query.ViaDevice}},
		{filepath.Base(lab.BlockLoop), want{"vdb", query.ViaDevice}},
	}
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "live.db")
	for _, tc := range tests {
		code, out, stderr := runCLI(t, "who-uses", "--libvirt", "qemu:///system", "-o", "json", tc.q)
		if code != exitOK && code != exitPartial {
			t.Fatalf("who-uses --libvirt %s: exit %d\n%s", tc.q, code, stderr)
		}
		var uses []query.Use
		if err := json.Unmarshal([]byte(out), &uses); err != nil {
			t.Fatalf("who-uses %s: %v in %q", tc.q, err, out)
		}
		var got []want
		for _, u := range uses {
			if u.VM == name {
				got = append(got, want{u.Disk, u.Via})
			}
		}
		if diff := cmp.Diff([]want{tc.want}, got); diff != "" {
			t.Errorf("who-uses %s for %s (-want +got):\n%s\nall: %+v", tc.q, name, diff, uses)
		}
	}

	// The same scan through the store.
	g := &Globals{ctx: context.Background()}
	f := SourceFlags{Libvirt: []string{"qemu:///system"}, Timeout: 3 * 60e9}
	inv, err := f.Inventory(g)
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Save(context.Background(), inv); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, tc := range tests {
		code, out, stderr := runCLI(t, "who-uses", "--db", dsn, "-o", "json", tc.q)
		if code != exitOK {
			t.Fatalf("who-uses --db %s: exit %d\n%s", tc.q, code, stderr)
		}
		var got []query.Use
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(query.WhoUses(inv, tc.q), got); diff != "" {
			t.Errorf("who-uses %s: store differs from the live scan (-live +store):\n%s", tc.q, diff)
		}
	}
}
