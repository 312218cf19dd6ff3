package vsphere

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmware/govmomi/simulator"

	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/vms/vsphere/simlab"
)

// The lab these tests scan: 3 hosts (the last disconnected), 12 VMs.
var labTopo = simlab.Topology{Hosts: 3, VMs: 12, DisksPerVM: 2, Disconnected: 1}

func startLab(t testing.TB, topo simlab.Topology) *simlab.Lab {
	t.Helper()
	lab, err := simlab.Start(context.Background(), topo)
	if err != nil {
		t.Fatalf("simlab.Start: %v", err)
	}
	t.Cleanup(lab.Close)
	return lab
}

func labConfig(lab *simlab.Lab) Config {
	return Config{URL: lab.URL, Username: lab.Username, Password: lab.Password, CAFile: lab.CAFile}
}

// soapCounter counts SOAP calls per method name, through the real transport.
type soapCounter struct {
	mu     sync.Mutex
	calls  map[string]int
	before func(method string) // runs before the call is sent
	next   http.RoundTripper
}

func (c *soapCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	method := "?"
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		method = soapMethod(b)
	}
	c.mu.Lock()
	if c.calls == nil {
		c.calls = map[string]int{}
	}
	c.calls[method]++
	before := c.before
	c.mu.Unlock()
	if before != nil {
		before(method)
	}
	return c.next.RoundTrip(req)
}

func (c *soapCounter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.calls {
		n += v
	}
	return n
}

// soapMethod returns the element name inside <Body>.
func soapMethod(b []byte) string {
	i := bytes.Index(b, []byte("Body>"))
	if i < 0 {
		return "?"
	}
	rest := b[i+5:]
	j := bytes.IndexByte(rest, '<')
	if j < 0 {
		return "?"
	}
	rest = rest[j+1:]
	k := bytes.IndexAny(rest, " >/")
	if k < 0 {
		return "?"
	}
	name := string(rest[:k])
	if _, after, ok := strings.Cut(name, ":"); ok {
		name = after
	}
	return name
}

func scanWith(t testing.TB, cfg Config, counter *soapCounter) (*model.Inventory, error) {
	t.Helper()
	s := New(cfg)
	if counter != nil {
		s.wrap = func(rt http.RoundTripper) http.RoundTripper { counter.next = rt; return counter }
	}
	return s.Scan(context.Background())
}

// lunSummary is what the test checks of each LUN.
type lunSummary struct {
	ID, Vendor, Product, Serial string
	Size                        uint64
	Hosts                       []string
	Active, Standby, Failed     int
	State                       string
}

func TestScanLab(t *testing.T) {
	lab := startLab(t, labTopo)
	inv, err := scanWith(t, labConfig(lab), nil)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	hostName := func(i int) string { return fmt.Sprintf("DC0_C0_H%d", i) }

	// Hosts: the last one disconnected, so stale, with one error saying so.
	var wantHosts []model.Host
	for i := range labTopo.Hosts {
		h := model.Host{Name: hostName(i), Platform: model.PlatformVSphere, Cluster: "DC0_C0", State: "connected"}
		if i == labTopo.Hosts-1 {
			h.State, h.Stale = "disconnected", true
		}
		wantHosts = append(wantHosts, h)
	}
	if diff := cmp.Diff(wantHosts, inv.Hosts); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
	if len(inv.Errors) != 1 || inv.Errors[0].Object != "host "+hostName(2) || !strings.Contains(inv.Errors[0].Message, "disconnected") {
		t.Errorf("errors = %+v, want one about the disconnected host %s", inv.Errors, hostName(2))
	}

	// Array LUNs, with the dead paths the lab documents: host 1 lost FC
	// fabric B (vmhba3), host 2 lost Pure's second iSCSI portal.
	var want []lunSummary
	for _, l := range lab.LUNs {
		s := lunSummary{ID: l.ID, Vendor: l.Vendor, Product: l.Model, Serial: l.Serial, Size: l.Size}
		for _, h := range l.Visible {
			s.Hosts = append(s.Hosts, hostName(h))
			if l.Vendor == "NETAPP" {
				if h == 1 {
					s.Active, s.Standby, s.Failed = s.Active+1, s.Standby+1, s.Failed+2
				} else {
					s.Active, s.Standby = s.Active+2, s.Standby+2
				}
			} else if h == 2 {
				s.Active, s.Failed = s.Active+1, s.Failed+1
			} else {
				s.Active += 2
			}
		}
		s.State = model.LUNOK
		if s.Failed > 0 {
			s.State = model.LUNDegraded
		}
		want = append(want, s)
	}
	sort.Slice(want, func(i, j int) bool { return want[i].ID < want[j].ID })
	var got []lunSummary
	for _, l := range inv.LUNs {
		if !strings.HasPrefix(l.ID, "naa.") {
			continue // the hosts' local boot disk and CD-ROM
		}
		s := lunSummary{ID: l.ID, Vendor: l.Vendor, Product: l.Product, Serial: l.Serial, Size: l.SizeBytes, Hosts: l.Hosts, State: l.State}
		for _, p := range l.Paths {
			switch p.State {
			case model.PathActive:
				s.Active++
			case model.PathStandby:
				s.Standby++
			case model.PathFailed:
				s.Failed++
			}
		}
		got = append(got, s)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LUNs (-want +got):\n%s", diff)
	}
	for _, l := range inv.LUNs {
		if strings.HasPrefix(l.ID, "mpx.") && l.IDSource != "local" {
			t.Errorf("LUN %s: id source %q, want local (path-based names are per host)", l.ID, l.IDSource)
		}
	}

	// One FC path and one iSCSI path in full.
	netapp, pure := lab.LUNs[0], lab.LUNs[1]
	wantFC := model.Path{Host: hostName(1), Device: fmt.Sprintf("vmhba3:C0:T0:L%d", netapp.Number), HCTL: fmt.Sprintf("3:0:0:%d", netapp.Number),
		Transport: "fc", Target: "0x2003d039ea000001", Address: "0x2000d039ea000000", Initiator: "0x2100f4e9d4000101",
		State: model.PathFailed, DeviceState: "dead"}
	wantISCSI := model.Path{Host: hostName(0), Device: fmt.Sprintf("vmhba65:C1:T0:L%d", pure.Number), HCTL: fmt.Sprintf("65:1:0:%d", pure.Number),
		Transport: "iscsi", Target: "iqn.2010-06.com.purestorage:flasharray.3b8d4c2a1f5e6d70", Address: "10.30.0.12:3260",
		Initiator: "iqn.1998-01.com.vmware:esx01-5f3c1000", State: model.PathActive, DeviceState: "active"}
	for _, w := range []model.Path{wantFC, wantISCSI} {
		if diff := cmp.Diff(w, findPath(inv, w.Host, w.Device)); diff != "" {
			t.Errorf("path %s %s (-want +got):\n%s", w.Host, w.Device, diff)
		}
	}

	// Datastores: VMFS on one and on two extents, NFS 3 and 4.1.
	type dsSummary struct {
		Kind         model.ResourceKind
		Type, Remote string
		LUNs         []string
		Aliases      []string
	}
	wantDS := map[string]dsSummary{
		"vmfs-ontap-01":  {Kind: model.ResDatastore, Type: "VMFS", LUNs: []string{lab.LUNs[0].ID}},
		"vmfs-pure-01":   {Kind: model.ResDatastore, Type: "VMFS", LUNs: []string{lab.LUNs[1].ID}},
		"vmfs-span-01":   {Kind: model.ResDatastore, Type: "VMFS", LUNs: []string{lab.LUNs[2].ID, lab.LUNs[3].ID}},
		"nfs-ontap-01":   {Kind: model.ResNFS, Type: "NFS", Remote: "10.20.0.50:/vol/vmstore01"},
		"nfs41-ontap-02": {Kind: model.ResNFS, Type: "NFS41", Remote: "10.20.0.51:/vol/vmstore02", Aliases: []string{"10.20.1.51:/vol/vmstore02"}},
	}
	gotDS := map[string]dsSummary{}
	dsID := map[string]string{}
	for _, r := range inv.Resources {
		gotDS[r.Name] = dsSummary{Kind: r.Kind, Type: r.Type, Remote: r.Remote, LUNs: r.LUNs, Aliases: r.Aliases}
		dsID[r.Name] = r.ID
		if !strings.HasPrefix(r.ID, "ds:datastore-") || r.SizeBytes == 0 || r.FreeBytes == nil {
			t.Errorf("datastore %s: id %q size %d free %v: want ds:<moref>, size and free space", r.Name, r.ID, r.SizeBytes, r.FreeBytes)
		}
	}
	if diff := cmp.Diff(wantDS, gotDS); diff != "" {
		t.Errorf("datastores (-want +got):\n%s", diff)
	}

	// VMs: placed round-robin, with the lab's disks.
	if len(inv.VMs) != labTopo.VMs {
		t.Fatalf("got %d VMs, want %d", len(inv.VMs), labTopo.VMs)
	}
	vms := map[string]model.VM{}
	for _, vm := range inv.VMs {
		vms[vm.Name] = vm
		var i int
		if _, err := fmt.Sscanf(vm.Name, "app%d", &i); err != nil {
			t.Fatalf("unexpected VM %q", vm.Name)
		}
		i--
		wantDisks := labTopo.DisksPerVM
		if i%10 == 1 || i%10 == 2 {
			wantDisks++
		}
		if vm.Host != hostName(i%labTopo.Hosts) || vm.Cluster != "DC0_C0" || len(vm.Disks) != wantDisks || vm.ID == "" || vm.Platform != model.PlatformVSphere {
			t.Errorf("VM %s: host %s cluster %s id %q, %d disks; want host %s, %d disks", vm.Name, vm.Host, vm.Cluster, vm.ID, len(vm.Disks), hostName(i%labTopo.Hosts), wantDisks)
		}
	}
	one := 1
	intp := func(n int) *int { return &n }
	allHosts := []string{hostName(0), hostName(1), hostName(2)}
	tests := []struct {
		vm, disk string
		want     model.Disk
	}{
		{"app0001", "Hard disk 1", model.Disk{ // two snapshots over the base disk
			Name: "Hard disk 1", Kind: model.DiskImage, Device: "disk", Bus: "scsi", Format: "vmdk",
			Source:        "[vmfs-ontap-01] app0001/app0001-000002.vmdk",
			Backing:       []string{"[vmfs-ontap-01] app0001/app0001-000001.vmdk", "[vmfs-ontap-01] app0001/app0001.vmdk"},
			CapacityBytes: 40 << 30, Datastore: "vmfs-ontap-01", Anchor: &model.Anchor{Resource: dsID["vmfs-ontap-01"]},
			LUNs: []string{}, ActivePaths: intp(2), LUNHosts: allHosts,
		}},
		{"app0002", "Hard disk 2", model.Disk{ // linked clone (SE sparse) on the spanned VMFS, host 1 lost fabric B
			Name: "Hard disk 2", Kind: model.DiskImage, Device: "disk", Bus: "scsi", Format: "vmdk-sesparse",
			Source:        "[vmfs-span-01] app0002/app0002_1-sesparse.vmdk",
			Backing:       []string{"[vmfs-span-01] golden/golden.vmdk"},
			CapacityBytes: 60 << 30, Datastore: "vmfs-span-01", Anchor: &model.Anchor{Resource: dsID["vmfs-span-01"]},
			LUNs: []string{}, ActivePaths: &one, LUNHosts: allHosts,
		}},
		{"app0002", "Hard disk 3", model.Disk{ // physical RDM, lunUuid in the vml. form
			Name: "Hard disk 3", Kind: model.DiskPassthrough, Device: "lun", Bus: "scsi", Format: "rdmp",
			Source:        "[vmfs-ontap-01] app0002/app0002_rdm-rdmp.vmdk",
			CapacityBytes: lab.LUNs[4].Size, Datastore: "vmfs-ontap-01",
			Anchor: &model.Anchor{LUN: lab.LUNs[4].ID, Path: "/vmfs/devices/disks/vml." + lab.LUNs[4].UUID, Host: hostName(1)},
			LUNs:   []string{}, ActivePaths: &one, LUNHosts: allHosts,
		}},
		{"app0003", "Hard disk 3", model.Disk{ // virtual RDM to a LUN the VM's host does not see
			Name: "Hard disk 3", Kind: model.DiskPassthrough, Device: "disk", Bus: "scsi", Format: "rdm",
			Source:        "[vmfs-ontap-01] app0003/app0003_rdm-rdm.vmdk",
			CapacityBytes: lab.LUNs[5].Size, Datastore: "vmfs-ontap-01",
			Anchor: &model.Anchor{LUN: lab.LUNs[5].ID, Path: "/vmfs/devices/disks/vml." + lab.LUNs[5].UUID, Host: hostName(2)},
			LUNs:   []string{}, ActivePaths: intp(0), LUNHosts: []string{hostName(0), hostName(1)},
		}},
		{"app0004", "Hard disk 1", model.Disk{ // NFS: no LUN beneath
			Name: "Hard disk 1", Kind: model.DiskImage, Device: "disk", Bus: "scsi", Format: "vmdk",
			Source: "[nfs-ontap-01] app0004/app0004.vmdk", CapacityBytes: 40 << 30, Datastore: "nfs-ontap-01",
			Anchor: &model.Anchor{Resource: dsID["nfs-ontap-01"]}, LUNs: []string{},
		}},
		{"app0004", "Hard disk 2", model.Disk{ // sparse
			Name: "Hard disk 2", Kind: model.DiskImage, Device: "disk", Bus: "scsi", Format: "vmdk-sparse",
			Source: "[nfs41-ontap-02] app0004/app0004_1.vmdk", CapacityBytes: 60 << 30, Datastore: "nfs41-ontap-02",
			Anchor: &model.Anchor{Resource: dsID["nfs41-ontap-02"]}, LUNs: []string{},
		}},
	}
	for _, tt := range tests {
		vm, ok := vms[tt.vm]
		if !ok {
			t.Errorf("VM %s missing", tt.vm)
			continue
		}
		var got *model.Disk
		for i := range vm.Disks {
			if vm.Disks[i].Name == tt.disk {
				got = &vm.Disks[i]
			}
		}
		if got == nil {
			t.Errorf("%s: no %s", tt.vm, tt.disk)
			continue
		}
		if diff := cmp.Diff(tt.want, *got); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", tt.vm, tt.disk, diff)
		}
	}
}

func findPath(inv *model.Inventory, host, device string) model.Path {
	for _, l := range inv.LUNs {
		for _, p := range l.Paths {
			if p.Host == host && p.Device == device {
				return p
			}
		}
	}
	return model.Path{}
}

// TestScanRoundTrips checks that the number of SOAP calls depends on the
// number of pages, not on the number of VMs.
func TestScanRoundTrips(t *testing.T) {
	calls := func(vms, page int) map[string]int {
		lab := startLab(t, simlab.Topology{Hosts: 2, VMs: vms, DisksPerVM: 1})
		cfg := labConfig(lab)
		cfg.PageSize = page
		c := &soapCounter{}
		inv, err := scanWith(t, cfg, c)
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		if len(inv.VMs) != vms {
			t.Fatalf("got %d VMs, want %d", len(inv.VMs), vms)
		}
		return c.calls
	}
	// 2 hosts + 5 datastores + 1 cluster + N VMs objects.
	small, large := calls(4, 1000), calls(40, 1000)
	if diff := cmp.Diff(small, large); diff != "" {
		t.Errorf("SOAP calls grew with the VMs (-4 VMs +40 VMs):\n%s", diff)
	}
	want := map[string]int{"RetrieveServiceContent": 1, "Login": 1, "CreateContainerView": 4, "RetrievePropertiesEx": 1, "Logout": 1}
	if diff := cmp.Diff(want, large); diff != "" {
		t.Errorf("SOAP calls (-want +got):\n%s", diff)
	}
	// Paged: 48 objects in pages of 10 = 1 + 4 continuations.
	paged := calls(40, 10)
	if paged["RetrievePropertiesEx"] != 1 || paged["ContinueRetrievePropertiesEx"] != 4 {
		t.Errorf("pages of 10 over 48 objects: %v, want 1 RetrievePropertiesEx and 4 ContinueRetrievePropertiesEx", paged)
	}
}

// TestScanSessionExpires ends the session between two pages: the scan logs
// in again once and still returns everything.
func TestScanSessionExpires(t *testing.T) {
	lab := startLab(t, simlab.Topology{Hosts: 2, VMs: 10, DisksPerVM: 1})
	cfg := labConfig(lab)
	cfg.PageSize = 5
	var once atomic.Bool
	c := &soapCounter{}
	c.before = func(method string) {
		if method == "ContinueRetrievePropertiesEx" && once.CompareAndSwap(false, true) {
			if err := lab.TerminateSessions(context.Background()); err != nil {
				t.Errorf("TerminateSessions: %v", err)
			}
		}
	}
	inv, err := scanWith(t, cfg, c)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if len(inv.VMs) != 10 {
		t.Errorf("got %d VMs after re-login, want 10", len(inv.VMs))
	}
	if c.calls["Login"] != 2 {
		t.Errorf("Login called %d times, want 2", c.calls["Login"])
	}
	found := false
	for _, e := range inv.Errors {
		if strings.Contains(e.Message, "session expired") {
			found = true
		}
	}
	if !found {
		t.Errorf("errors %+v: want one saying the session expired", inv.Errors)
	}
}

func TestScanFaults(t *testing.T) {
	lab := startLab(t, simlab.Topology{Hosts: 1, VMs: 2, DisksPerVM: 1})
	notVSphere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>404 page not found</html>", http.StatusNotFound)
	}))
	t.Cleanup(notVSphere.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	tests := []struct {
		name     string
		cfg      Config
		wantMsg  string // in the error message
		wantHint string // in the hint
	}{
		{"wrong password", Config{URL: lab.URL, Username: lab.Username, Password: "wrong-secret", CAFile: lab.CAFile},
			"incorrect user name or password", "VMSTOR_VSPHERE_PASSWORD"},
		{"untrusted certificate", Config{URL: lab.URL, Username: lab.Username, Password: lab.Password},
			"SHA-256 fingerprint", "--insecure"},
		{"unreachable", Config{URL: closedURL + "/sdk", Username: "u", Password: "wrong-secret"},
			"cannot reach", "firewall"},
		{"not vSphere", Config{URL: notVSphere.URL + "/sdk", Username: "u", Password: "wrong-secret"},
			"did not answer as a vSphere SDK endpoint", "/sdk"},
		{"no credentials", Config{URL: lab.URL, CAFile: lab.CAFile},
			"no vSphere user name or password", "VMSTOR_VSPHERE_USERNAME"},
		{"bad CA file", Config{URL: lab.URL, Username: "u", Password: "wrong-secret", CAFile: "/nonexistent/ca.pem"},
			"cannot use the CA file", "PEM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := scanWith(t, tt.cfg, nil)
			if err == nil {
				t.Fatalf("Scan succeeded (%d VMs), want an error", len(inv.VMs))
			}
			var se model.ScanError
			if !asScanError(err, &se) {
				t.Fatalf("error %T %q is not a model.ScanError", err, err)
			}
			if !strings.Contains(se.Message, tt.wantMsg) || !strings.Contains(se.Hint, tt.wantHint) {
				t.Errorf("error = %q (hint %q), want message with %q and hint with %q", se.Message, se.Hint, tt.wantMsg, tt.wantHint)
			}
			if strings.Contains(err.Error(), "wrong-secret") || strings.Contains(err.Error(), lab.Password) {
				t.Errorf("the error shows the password: %q", err)
			}
		})
	}

	// Trusting the lab's CA or opting out both work.
	for _, cfg := range []Config{
		{URL: lab.URL, Username: lab.Username, Password: lab.Password, CAFile: lab.CAFile},
		{URL: lab.URL, Username: lab.Username, Password: lab.Password, Insecure: true},
	} {
		if _, err := scanWith(t, cfg, nil); err != nil {
			t.Errorf("Scan(insecure=%v, ca=%q): %v", cfg.Insecure, cfg.CAFile, err)
		}
	}
}

func asScanError(err error, se *model.ScanError) bool {
	for e := err; e != nil; {
		if s, ok := e.(model.ScanError); ok {
			*se = s
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}

func TestName(t *testing.T) {
	tests := []struct{ url, want string }{
		{"https://admin:s3cret@vc.example/sdk", "vsphere:https://vc.example/sdk"},
		{"vc.example", "vsphere:https://vc.example/sdk"},
		{"https://esx01.example:8443", "vsphere:https://esx01.example:8443/sdk"},
		{"::bad:s3cret@x", "vsphere:https://x/sdk"},
		{"https://u:s3cret@h%zz/sdk", "vsphere:h%zz/sdk"}, // unparsable: cut at the @
	}
	for _, tt := range tests {
		if got := New(Config{URL: tt.url, Password: "pw"}).Name(); got != tt.want {
			t.Errorf("Name(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

// TestScanStandaloneESXi scans vcsim's ESXi model (no vCenter, no cluster):
// the same code path works against a host's own /sdk.
func TestScanStandaloneESXi(t *testing.T) {
	m := simulator.ESX()
	if err := m.Create(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Remove)
	m.Service.TLS = new(tls.Config)
	srv := m.Service.NewServer()
	t.Cleanup(srv.Close)
	u := *srv.URL
	u.User = nil
	inv, err := scanWith(t, Config{URL: u.String(), Username: "root", Password: "esx-pass", Insecure: true}, nil)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if len(inv.Hosts) != 1 || inv.Hosts[0].Cluster != "" || inv.Hosts[0].Stale {
		t.Errorf("hosts = %+v, want one standalone connected host", inv.Hosts)
	}
	if len(inv.VMs) != 2 || len(inv.Resources) != 1 || len(inv.Errors) != 0 {
		t.Fatalf("got %d VMs, %d datastores, errors %v; want 2, 1, none", len(inv.VMs), len(inv.Resources), inv.Errors)
	}
	for _, vm := range inv.VMs {
		if vm.Host != inv.Hosts[0].Name || len(vm.Disks) != 1 || vm.Disks[0].Anchor == nil || vm.Disks[0].Anchor.Resource != inv.Resources[0].ID {
			t.Errorf("VM %+v: want on %s with one disk anchored on %s", vm, inv.Hosts[0].Name, inv.Resources[0].ID)
		}
	}
}
