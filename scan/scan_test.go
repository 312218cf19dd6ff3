package scan

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vmstor/vmstor/model"
)

type fixed struct {
	name string
	inv  *model.Inventory
	err  error
}

func (f fixed) Name() string { return f.name }
func (f fixed) Scan(context.Context) (*model.Inventory, error) {
	return f.inv, f.err
}

type locator map[string]*model.Anchor

func (l locator) Locate(ctx context.Context, p string) (*model.Anchor, error) {
	if p == "/hang" {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if a, ok := l[p]; ok {
		return a, nil
	}
	return nil, errors.New("no such file")
}

func TestRunJoinsSourcesAndCorrelates(t *testing.T) {
	vms := fixed{name: "libvirt:test", inv: &model.Inventory{VMs: []model.VM{{Name: "b", Host: "h", Disks: []model.Disk{
		{Name: "vda", Kind: model.DiskImage, Source: "/img/b.qcow2"},
		{Name: "vdb", Kind: model.DiskImage, Source: "/missing.img"},
		{Name: "vdc", Kind: model.DiskNetwork, Source: "rbd:pool/img", Network: &model.NetworkTarget{Protocol: "rbd", Name: "pool/img"}},
	}}, {Name: "a", Host: "h"}}}}
	host := fixed{name: "linux:h", inv: &model.Inventory{
		Resources: []model.Resource{
			{ID: "fs:8:1", Kind: model.ResFilesystem, Name: "/img", DevNo: "8:1", Below: []string{"blk:sda1"}},
			{ID: "blk:sda1", Kind: model.ResPartition, Name: "sda1", Below: []string{"blk:sda"}},
			{ID: "blk:sda", Kind: model.ResDisk, Name: "sda", LUNs: []string{"naa.600a098038303845372b4a5232346e35"}},
		},
		LUNs: []model.LUN{{ID: "naa.600a098038303845372b4a5232346e35", Paths: []model.Path{{Device: "sda", State: model.PathActive}}}},
	}}
	broken := fixed{name: "vsphere:https://vc", err: model.ScanError{Message: "connection refused", Hint: "is the URL right?"}}
	loc := locator{"/img/b.qcow2": {Resource: "fs:8:1", Path: "/img/b.qcow2"}}

	inv := Run(context.Background(), Options{Locator: loc, Now: func() time.Time { return time.Unix(0, 0) }}, vms, host, broken)

	if got := []string{inv.VMs[0].Name, inv.VMs[1].Name}; !cmp.Equal(got, []string{"a", "b"}) {
		t.Errorf("VMs not sorted: %v", got)
	}
	d := inv.VMs[1].Disks
	if diff := cmp.Diff([]string{"naa.600a098038303845372b4a5232346e35"}, d[0].LUNs); diff != "" {
		t.Errorf("vda LUNs (-want +got)\n%s", diff)
	}
	if d[1].Error != "locate /missing.img: no such file" {
		t.Errorf("vdb error = %q", d[1].Error)
	}
	if d[2].Error != "" || len(d[2].Chain) != 1 || d[2].Chain[0].Kind != "network" {
		t.Errorf("vdc = %+v", d[2])
	}
	if a := inv.LUNs[0].Array; a == nil || a.Vendor != "NetApp" {
		t.Errorf("array identity not applied: %+v", a)
	}
	want := []model.ScanError{{Source: "vsphere:https://vc", Message: "connection refused", Hint: "is the URL right?"}}
	if diff := cmp.Diff(want, inv.Errors); diff != "" {
		t.Errorf("errors (-want +got)\n%s", diff)
	}
	if diff := cmp.Diff([]string{"libvirt:test", "linux:h", "vsphere:https://vc"}, inv.Sources); diff != "" {
		t.Errorf("sources (-want +got)\n%s", diff)
	}
}

func TestMergeJoinsLUNsSeenByTwoHosts(t *testing.T) {
	inv := &model.Inventory{}
	Merge(inv, &model.Inventory{LUNs: []model.LUN{{ID: "naa.1", Hosts: []string{"esx1"}, Paths: []model.Path{{Host: "esx1", Device: "vmhba1:C0:T0:L1", State: model.PathActive}}}}})
	Merge(inv, &model.Inventory{LUNs: []model.LUN{{ID: "naa.1", Hosts: []string{"esx2"}, IOErrors: 2, Paths: []model.Path{{Host: "esx2", Device: "vmhba1:C0:T0:L1", State: model.PathFailed}}}}})
	if len(inv.LUNs) != 1 {
		t.Fatalf("got %d LUNs, want 1", len(inv.LUNs))
	}
	l := inv.LUNs[0]
	if len(l.Paths) != 2 || l.State != model.LUNDegraded || l.IOErrors != 2 || !cmp.Equal(l.Hosts, []string{"esx1", "esx2"}) {
		t.Errorf("merged LUN = %+v", l)
	}
}

func TestLocateIsBounded(t *testing.T) {
	vms := fixed{name: "x", inv: &model.Inventory{VMs: []model.VM{{Name: "v", Disks: []model.Disk{{Name: "vda", Kind: model.DiskImage, Source: "/hang"}}}}}}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	inv := Run(ctx, Options{Locator: locator{}}, vms)
	if e := inv.VMs[0].Disks[0].Error; e == "" {
		t.Error("a hung locate must end in an error on the disk")
	}
}

func TestLUNState(t *testing.T) {
	p := func(s ...string) []model.Path {
		var out []model.Path
		for _, x := range s {
			out = append(out, model.Path{State: x})
		}
		return out
	}
	tests := []struct {
		paths []model.Path
		want  string
	}{
		{p(model.PathActive, model.PathActive), model.LUNOK},
		{p(model.PathActive, model.PathStandby), model.LUNOK},
		{p(model.PathActive, model.PathFailed), model.LUNDegraded},
		{p(model.PathFailed, model.PathStandby), model.LUNFailed},
		{nil, model.LUNFailed},
	}
	for _, tt := range tests {
		if got := model.LUNState(tt.paths); got != tt.want {
			t.Errorf("LUNState(%v) = %s, want %s", tt.paths, got, tt.want)
		}
	}
}

func TestIsHostPath(t *testing.T) {
	for s, want := range map[string]bool{
		"/var/lib/x.qcow2": true, `C:\VMs\a.vhdx`: true, `\\filer\share\a.vhdx`: true, "c:/x": true,
		"": false, "scsi_host7:0:0:1": false, "rbd:pool/img": false, "1:x": false,
	} {
		if got := isHostPath(s); got != want {
			t.Errorf("isHostPath(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestLocateKeepsPhaseOneErrors(t *testing.T) {
	vms := fixed{name: "x", inv: &model.Inventory{VMs: []model.VM{{Name: "v", Disks: []model.Disk{
		{Name: "sda", Kind: model.DiskPassthrough, Source: "scsi_host7:0:0:1", Error: "SCSI device 7:0:0:1 not found on this host"},
		{Name: "hdc", Kind: model.DiskImage, Device: "cdrom"},
	}}}}}
	inv := Run(context.Background(), Options{Locator: locator{}}, vms)
	d := inv.VMs[0].Disks
	if d[0].Error != "SCSI device 7:0:0:1 not found on this host" {
		t.Errorf("phase 1 error replaced: %q", d[0].Error)
	}
	if d[1].Error != "" {
		t.Errorf("an empty CD-ROM is not an error: %q", d[1].Error)
	}
}
