package libvirt

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/vms/libvirt/libvirtlab"
)

// findVM returns the VM named name, failing the test when it is missing.
func findVM(t *testing.T, inv *model.Inventory, name string) model.VM {
	t.Helper()
	for _, vm := range inv.VMs {
		if vm.Name == name {
			return vm
		}
	}
	t.Fatalf("VM %s not in the scan; got %d VMs", name, len(inv.VMs))
	return model.VM{}
}

// labErrors are the inventory errors about the lab's own objects (other
// tests may run domains of their own on the same daemon).
func labErrors(inv *model.Inventory, prefix string) []model.ScanError {
	var out []model.ScanError
	for _, e := range inv.Errors {
		if strings.Contains(e.Object, prefix) {
			out = append(out, e)
		}
	}
	return out
}

// TestScanRealLibvirt defines domains with every disk kind on real storage in
// the real libvirtd, starts one under TCG, and checks what Scan returns.
func TestScanRealLibvirt(t *testing.T) {
	lab := libvirtlab.New(t)
	full := lab.Define(libvirtlab.DomainXML(lab.Prefix+"-full", lab.FullDevices()))
	live := lab.Define(libvirtlab.DomainXML(lab.Prefix+"-live", `
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='`+lab.Top+`'/><target dev='vda' bus='virtio'/></disk>`))
	lab.Start(live)
	lab.Define(libvirtlab.DomainXML(lab.Prefix+"-badvol", `
    <disk type='volume' device='disk'><driver name='qemu' type='raw'/><source pool='`+lab.Pool+`' volume='no-such-volume'/><target dev='vda' bus='virtio'/></disk>
    <disk type='volume' device='disk'><driver name='qemu' type='raw'/><source pool='`+lab.Prefix+`-no-such-pool' volume='v'/><target dev='vdb' bus='virtio'/></disk>`))

	src := New("")
	inv, err := src.Scan(context.Background())
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	lvHost, err := lab.Conn.ConnectGetHostname()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]model.Host{{Name: lvHost, Platform: model.PlatformLibvirt, State: "connected"}}, inv.Hosts); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
	if lvHost != host {
		t.Logf("libvirt host name %q differs from os.Hostname %q", lvHost, host)
	}

	vmFull := findVM(t, inv, lab.Prefix+"-full")
	wantFull := model.VM{
		ID: uuidString(full.UUID), Name: lab.Prefix + "-full", Host: lvHost, Platform: model.PlatformLibvirt, State: "shut off",
		Disks: []model.Disk{
			{Name: "vda", Kind: model.DiskImage, Device: "disk", Bus: "virtio", Source: lab.Top, Format: "qcow2"},
			{Name: "vdb", Kind: model.DiskImage, Device: "disk", Bus: "virtio", Source: lab.VolumePath, Format: "qcow2",
				CapacityBytes: 8 << 20, Datastore: lab.Pool},
			{Name: "vdc", Kind: model.DiskNetwork, Device: "disk", Bus: "virtio", Source: "nbd://192.0.2.11:10809/export1", Format: "raw",
				Network: &model.NetworkTarget{Protocol: "nbd", Hosts: []string{"192.0.2.11:10809"}, Name: "export1"}},
			{Name: "vdd", Kind: model.DiskNetwork, Device: "disk", Bus: "virtio", Source: "rbd://192.0.2.21:6789,192.0.2.22/rbdpool/image1", Format: "raw",
				Network: &model.NetworkTarget{Protocol: "rbd", Hosts: []string{"192.0.2.21:6789", "192.0.2.22"}, Name: "rbdpool/image1"}},
			{Name: "vde", Kind: model.DiskOther, Device: "disk", Bus: "virtio", Source: "nvme 0000:01:00.0 namespace 1 (PCI pass-through)", Format: "raw"},
			{Name: "vdf", Kind: model.DiskOther, Device: "disk", Bus: "virtio", Source: lab.Dir, Format: "fat", ReadOnly: true},
			{Name: "sda", Kind: model.DiskPassthrough, Device: "lun", Bus: "scsi", Source: lab.BlockLoop, Format: "raw"},
			{Name: "sdb", Kind: model.DiskNetwork, Device: "disk", Bus: "scsi", Source: "iscsi://192.0.2.10:3260/iqn.2013-06.com.example:tgt/1", Format: "raw",
				Network: &model.NetworkTarget{Protocol: "iscsi", Hosts: []string{"192.0.2.10:3260"}, Name: "iqn.2013-06.com.example:tgt/1"}},
			{Name: "hdc", Kind: model.DiskImage, Device: "cdrom", Bus: "ide", Format: "raw", ReadOnly: true},
			{Name: "hostdev0", Kind: model.DiskPassthrough, Device: "lun", Bus: "scsi", Source: "scsi_host7:0:0:1",
				Error: "SCSI device 7:0:0:1 not found on this host: open /sys/bus/scsi/devices/7:0:0:1/block: no such file or directory"},
		},
	}
	// libvirt orders disks by bus (virtio, scsi, ide); the order is its own.
	sortDisks := cmpopts.SortSlices(func(a, b model.Disk) bool { return a.Name < b.Name })
	if diff := cmp.Diff(wantFull, vmFull, sortDisks, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("full domain (-want +got):\n%s", diff)
	}

	vmLive := findVM(t, inv, lab.Prefix+"-live")
	wantLive := model.VM{
		ID: uuidString(live.UUID), Name: lab.Prefix + "-live", Host: lvHost, Platform: model.PlatformLibvirt, State: "running",
		Disks: []model.Disk{
			// A running domain's live XML carries the backing chain.
			{Name: "vda", Kind: model.DiskImage, Device: "disk", Bus: "virtio", Source: lab.Top, Format: "qcow2", Backing: []string{lab.Base}},
		},
	}
	if diff := cmp.Diff(wantLive, vmLive, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("live domain (-want +got):\n%s", diff)
	}

	vmBad := findVM(t, inv, lab.Prefix+"-badvol")
	if len(vmBad.Disks) != 2 {
		t.Fatalf("badvol disks: %+v", vmBad.Disks)
	}
	for _, d := range vmBad.Disks {
		if d.Kind != model.DiskOther || d.Error == "" || !strings.Contains(d.Source, "/") {
			t.Errorf("unresolvable volume disk %s: got kind %q source %q error %q; want kind other, pool/volume source and an error", d.Name, d.Kind, d.Source, d.Error)
		}
	}
	errs := labErrors(inv, lab.Prefix)
	if len(errs) != 2 {
		t.Fatalf("want 2 errors (the two unresolvable volumes), got %d: %+v", len(errs), errs)
	}
	for _, e := range errs {
		if e.Source != "libvirt:qemu:///system" || !strings.Contains(e.Object, lab.Prefix+"-badvol") || e.Hint == "" {
			t.Errorf("volume error not precise: %+v", e)
		}
	}
	if !strings.Contains(errs[0].Message+errs[1].Message, "no-such-volume") || !strings.Contains(errs[0].Message+errs[1].Message, "no-such-pool") {
		t.Errorf("volume errors do not name the volume and pool: %+v", errs)
	}
}

// vanishingRPC undefines one domain right after the listing, as another
// admin might.
type vanishingRPC struct {
	rpc
	victim string
	admin  *golibvirt.Libvirt
}

func (v vanishingRPC) ConnectListAllDomains(n int32, f golibvirt.ConnectListAllDomainsFlags) ([]golibvirt.Domain, uint32, error) {
	doms, ret, err := v.rpc.ConnectListAllDomains(n, f)
	for _, d := range doms {
		if d.Name == v.victim {
			if err := v.admin.DomainUndefine(d); err != nil {
				return nil, 0, err
			}
		}
	}
	return doms, ret, err
}

// countingRPC counts per-domain state calls.
type countingRPC struct {
	rpc
	states atomic.Int32
}

func (c *countingRPC) DomainGetState(d golibvirt.Domain, f uint32) (int32, int32, error) {
	c.states.Add(1)
	return c.rpc.DomainGetState(d, f)
}

// TestScanDomainDisappears: a domain undefined between the listing and its
// XML is one precise error; the other domains are still scanned.
func TestScanDomainDisappears(t *testing.T) {
	lab := libvirtlab.New(t)
	victim := lab.Prefix + "-victim"
	lab.Define(libvirtlab.DomainXML(victim, ""))
	lab.Define(libvirtlab.DomainXML(lab.Prefix+"-stays", `
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='`+lab.Top+`'/><target dev='vda' bus='virtio'/></disk>`))

	src := New("")
	src.wrap = func(r rpc) rpc { return vanishingRPC{rpc: r, victim: victim, admin: lab.Conn} }
	inv, err := src.Scan(context.Background())
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	findVM(t, inv, lab.Prefix+"-stays")
	for _, vm := range inv.VMs {
		if vm.Name == victim {
			t.Errorf("vanished domain %s still in the inventory", victim)
		}
	}
	errs := labErrors(inv, lab.Prefix)
	if len(errs) != 1 {
		t.Fatalf("want one error, got %+v", errs)
	}
	e := errs[0]
	if !strings.Contains(e.Object, victim) || !strings.Contains(e.Message, "disappeared") || e.Hint == "" {
		t.Errorf("error not precise: %+v", e)
	}
}

// TestScanReadOnlySocket scans through the read-only socket alone.
func TestScanReadOnlySocket(t *testing.T) {
	lab := libvirtlab.New(t)
	lab.Define(libvirtlab.DomainXML(lab.Prefix+"-ro", `
    <disk type='volume' device='disk'><driver name='qemu' type='qcow2'/><source pool='`+lab.Pool+`' volume='`+lab.Volume+`'/><target dev='vda' bus='virtio'/></disk>`))
	src := New("qemu:///system?socket=/var/run/libvirt/libvirt-sock-ro")
	counter := &countingRPC{}
	src.wrap = func(r rpc) rpc { counter.rpc = r; return counter }
	inv, err := src.Scan(context.Background())
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	vm := findVM(t, inv, lab.Prefix+"-ro")
	if vm.State != "shut off" {
		t.Errorf("state %q, want shut off", vm.State)
	}
	// The states came in one ConnectGetAllDomainStats, allowed read-only.
	if n := counter.states.Load(); n != 0 {
		t.Errorf("%d DomainGetState calls, want 0", n)
	}
	want := []model.Disk{{Name: "vda", Kind: model.DiskImage, Device: "disk", Bus: "virtio", Source: lab.VolumePath,
		Format: "qcow2", CapacityBytes: 8 << 20, Datastore: lab.Pool, LUNs: []string{}}}
	if diff := cmp.Diff(want, vm.Disks); diff != "" {
		t.Errorf("disks over the read-only socket (-want +got):\n%s", diff)
	}
}

// TestScanTimeout: a daemon that accepts and never answers ends in a clear
// error when the context ends, not a hang.
func TestScanTimeout(t *testing.T) {
	sock := silentServer(t)
	src := New("qemu:///system?socket=" + sock)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := src.Scan(ctx)
	se, ok := err.(model.ScanError)
	if !ok {
		t.Fatalf("want a model.ScanError, got %T %v", err, err)
	}
	if !strings.Contains(se.Message, sock) || !strings.Contains(se.Message, "deadline") || se.Hint == "" {
		t.Errorf("timeout error not precise: %+v", se)
	}
}

// TestScanTestDriver scans libvirt's test driver, which the monolithic
// libvirtd serves in-process: its one domain "test" runs, with no disks.
func TestScanTestDriver(t *testing.T) {
	libvirtlab.Require(t)
	inv, err := New("test:///default").Scan(context.Background())
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	want := []model.VM{{Name: "test", Platform: model.PlatformLibvirt, State: "running",
		Disks: []model.Disk{{Name: "vda", Kind: model.DiskImage, Device: "disk", Bus: "virtio", Source: "/guest/diskimage1", LUNs: []string{}}}}}
	ignore := cmpopts.IgnoreFields(model.VM{}, "ID", "Host")
	if diff := cmp.Diff(want, inv.VMs, ignore); diff != "" {
		t.Errorf("test driver VMs (-want +got):\n%s", diff)
	}
	if len(inv.VMs) == 1 && len(inv.VMs[0].ID) != 36 {
		t.Errorf("ID %q is not a UUID", inv.VMs[0].ID)
	}
}

// garbledRPC returns a cut-off XML document for one domain, as a broken
// daemon or proxy might.
type garbledRPC struct {
	rpc
	victim string
}

func (g garbledRPC) DomainGetXMLDesc(d golibvirt.Domain, f golibvirt.DomainXMLFlags) (string, error) {
	doc, err := g.rpc.DomainGetXMLDesc(d, f)
	if d.Name == g.victim && err == nil {
		doc = doc[:len(doc)/2]
	}
	return doc, err
}

// TestScanMalformedXML: a domain whose XML does not parse is kept with no
// disks and one precise error; the other domains are scanned in full.
func TestScanMalformedXML(t *testing.T) {
	lab := libvirtlab.New(t)
	victim := lab.Prefix + "-garbled"
	dom := lab.Define(libvirtlab.DomainXML(victim, `
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='`+lab.Top+`'/><target dev='vda' bus='virtio'/></disk>`))
	lab.Define(libvirtlab.DomainXML(lab.Prefix+"-fine", `
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='`+lab.Top+`'/><target dev='vda' bus='virtio'/></disk>`))

	src := New("")
	src.wrap = func(r rpc) rpc { return garbledRPC{rpc: r, victim: victim} }
	inv, err := src.Scan(context.Background())
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if fine := findVM(t, inv, lab.Prefix+"-fine"); len(fine.Disks) != 1 || fine.Disks[0].Source != lab.Top {
		t.Errorf("the other domain was not scanned in full: %+v", fine)
	}
	got := findVM(t, inv, victim)
	want := model.VM{ID: uuidString(dom.UUID), Name: victim, Host: inv.Hosts[0].Name, Platform: model.PlatformLibvirt, State: "shut off", Disks: []model.Disk{}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("garbled domain (-want +got):\n%s", diff)
	}
	errs := labErrors(inv, lab.Prefix)
	if len(errs) != 1 {
		t.Fatalf("want one error, got %+v", errs)
	}
	if e := errs[0]; !strings.Contains(e.Object, victim) || !strings.HasPrefix(e.Message, "malformed domain XML") || !strings.Contains(e.Hint, "virsh dumpxml "+victim) {
		t.Errorf("error not precise: %+v", e)
	}
}

// cancellingRPC ends the scan's context right after the listing, as a
// deadline passing mid-scan would.
type cancellingRPC struct {
	rpc
	cancel context.CancelFunc
}

func (c cancellingRPC) ConnectListAllDomains(n int32, f golibvirt.ConnectListAllDomainsFlags) ([]golibvirt.Domain, uint32, error) {
	doms, ret, err := c.rpc.ConnectListAllDomains(n, f)
	c.cancel()
	return doms, ret, err
}

// TestScanInterrupted: when the context ends mid-scan the connection is
// closed, pending calls end, and the scan reports one error for the whole
// scan rather than one per domain.
func TestScanInterrupted(t *testing.T) {
	lab := libvirtlab.New(t)
	for i := range 3 {
		lab.Define(libvirtlab.DomainXML(fmt.Sprintf("%s-i%d", lab.Prefix, i), ""))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := New("")
	src.wrap = func(r rpc) rpc { return cancellingRPC{rpc: r, cancel: cancel} }
	inv, err := src.Scan(ctx)
	se, ok := err.(model.ScanError)
	if !ok {
		t.Fatalf("want a model.ScanError, got %T %v", err, err)
	}
	if !strings.HasPrefix(se.Message, "scan interrupted (context canceled): ") || !strings.Contains(se.Message, "domains not read") || se.Hint == "" {
		t.Errorf("interruption error not precise: %+v", se)
	}
	if inv != nil {
		if errs := labErrors(inv, lab.Prefix); len(errs) != 0 {
			t.Errorf("want no per-domain errors, got %+v", errs)
		}
	}
}
