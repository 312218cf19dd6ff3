package proxmox

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vmstor/vmstor/model"
)

const testToken = "root@pam!vmstor=3b9e0c2a-6a41-4bd0-9e0f-5d7c1a2b3c4d"

// Answers shaped as the Proxmox VE API viewer documents them: every answer
// is {"data": ...}; numbers where the schema says integer.
var apiAnswers = map[string]string{
	"/api2/json/cluster/resources?type=vm": `{"data":[
		{"id":"qemu/100","type":"qemu","node":"pve1","vmid":100,"name":"web1","status":"running","maxdisk":34359738368,"maxmem":8589934592,"uptime":3600,"template":0},
		{"id":"lxc/300","type":"lxc","node":"pve1","vmid":300,"name":"ct1","status":"running"},
		{"id":"qemu/101","type":"qemu","node":"pve2","vmid":101,"name":"db1","status":"stopped","template":0},
		{"id":"qemu/102","type":"qemu","node":"pve3","vmid":102,"name":"flaky","status":"running","template":0}]}`,
	"/api2/json/cluster/status": `{"data":[
		{"type":"cluster","id":"cluster","name":"lab","nodes":2,"quorate":1,"version":4},
		{"type":"node","id":"node/pve1","name":"pve1","ip":"192.0.2.11","local":1,"nodeid":1,"online":1,"level":""},
		{"type":"node","id":"node/pve2","name":"pve2","ip":"192.0.2.12","local":0,"nodeid":2,"online":0,"level":""}]}`,
	"/api2/json/storage": `{"data":[
		{"storage":"local","type":"dir","path":"/var/lib/vz","content":"iso,vztmpl,backup","digest":"5f2c"},
		{"storage":"local-lvm","type":"lvmthin","thinpool":"data","vgname":"pve","content":"rootdir,images","digest":"5f2c"},
		{"storage":"san","type":"iscsi","portal":"192.0.2.20","target":"iqn.1992-08.com.netapp:sn.1234:vs.5","content":"images","shared":1,"digest":"5f2c"},
		{"storage":"ceph","type":"rbd","pool":"vms","krbd":0,"monhost":"192.0.2.31","content":"images","shared":1,"digest":"5f2c"}]}`,
	"/api2/json/nodes/pve1/qemu/100/config?current=1": `{"data":{
		"name":"web1","cores":4,"memory":"8192","digest":"a1b2","scsihw":"virtio-scsi-single",
		"scsi0":"local-lvm:vm-100-disk-0,iothread=1,size=32G",
		"scsi1":"san:0.0.3.scsi-3600a098038303053453f463045536b49,size=200G",
		"virtio0":"ceph:vm-100-disk-1,size=10G",
		"ide2":"local:iso/debian.iso,media=cdrom,size=600M",
		"ide3":"none,media=cdrom",
		"unused0":"nowhere:vm-100-disk-9"}}`,
	"/api2/json/nodes/pve2/qemu/101/config?current=1": `{"data":{"name":"db1","sata0":"local:101/vm-101-disk-0.qcow2,size=8G"}}`,
}

// fakeAPI serves apiAnswers over TLS and checks the token. Paths in fail
// answer with that status; paths in slow wait for release.
type fakeAPI struct {
	srv     *httptest.Server
	fail    map[string]int
	slow    map[string]bool
	release chan struct{}
	hits    atomic.Int32
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{fail: map[string]int{}, slow: map[string]bool{}, release: make(chan struct{})}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		key := r.URL.Path
		if r.URL.RawQuery != "" {
			key += "?" + r.URL.RawQuery
		}
		if r.Header.Get("Authorization") != "PVEAPIToken="+testToken {
			w.WriteHeader(http.StatusUnauthorized) // pveproxy: "401 No ticket"
			return
		}
		if f.slow[key] {
			select {
			case <-f.release:
			case <-r.Context().Done():
			}
		}
		if st := f.fail[key]; st != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(st)
			_, _ = w.Write([]byte(`{"data":null}`))
			return
		}
		body, ok := apiAnswers[key]
		if !ok {
			w.WriteHeader(http.StatusNotImplemented)
			_, _ = w.Write([]byte(`{"data":null,"message":"Method '` + key + `' not implemented"}`))
			return
		}
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		_, _ = w.Write([]byte(body))
	}))
	// The untrusted-certificate case makes the server log a failed
	// handshake; that is the expected outcome, not test output.
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	f.srv.StartTLS()
	t.Cleanup(func() {
		select {
		case <-f.release:
		default:
			close(f.release)
		}
		f.srv.Close()
	})
	return f
}

func (f *fakeAPI) caFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "pve-root-ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestScanRemote(t *testing.T) {
	api := newFakeAPI(t)
	api.fail["/api2/json/nodes/pve3/qemu/102/config?current=1"] = http.StatusInternalServerError
	s := NewRemote(Config{URL: api.srv.URL, Token: testToken, CAFile: api.caFile(t), Timeout: 5 * time.Second})
	if got, want := s.Name(), "proxmox:"+api.srv.URL; got != want {
		t.Errorf("Name() = %q, want %q", got, want)
	}
	inv, err := s.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wantHosts := []model.Host{
		{Name: "pve1", Platform: model.PlatformProxmox, Cluster: "lab", State: "online"},
		{Name: "pve2", Platform: model.PlatformProxmox, Cluster: "lab", State: "offline"},
		{Name: "pve3", Platform: model.PlatformProxmox, Cluster: "lab"},
	}
	if diff := cmp.Diff(wantHosts, inv.Hosts); diff != "" {
		t.Errorf("hosts (-want +got):\n%s", diff)
	}
	cd := img("ide2", "ide", "/var/lib/vz/template/iso/debian.iso", "iso", "local", 600*mib)
	cd.Device, cd.ReadOnly = "cdrom", true
	iscsi := blk("scsi1", "scsi", "/dev/disk/by-id/scsi-3600a098038303053453f463045536b49", "san", 200*gib)
	iscsi.Anchor = &model.Anchor{LUN: "naa.600a098038303053453f463045536b49", Host: "pve1"}
	unused := model.Disk{Name: "unused0", Kind: model.DiskOther, Device: "disk", Source: "nowhere:vm-100-disk-9", Datastore: "nowhere", LUNs: []string{},
		Error: `volume "nowhere:vm-100-disk-9": storage "nowhere": unknown storage id`}
	wantVMs := []model.VM{
		{ID: "100", Name: "web1", Host: "pve1", Cluster: "lab", Platform: model.PlatformProxmox, State: "running", Disks: []model.Disk{
			cd,
			blk("scsi0", "scsi", "/dev/pve/vm-100-disk-0", "local-lvm", 32*gib),
			iscsi,
			unused,
			net("virtio0", "virtio", "rbd:vms/vm-100-disk-1", "ceph", 10*gib, &model.NetworkTarget{Protocol: "rbd", Hosts: []string{"192.0.2.31"}, Name: "vms/vm-100-disk-1"}),
		}},
		{ID: "101", Name: "db1", Host: "pve2", Cluster: "lab", Platform: model.PlatformProxmox, State: "stopped", Disks: []model.Disk{
			img("sata0", "sata", "/var/lib/vz/images/101/vm-101-disk-0.qcow2", "qcow2", "local", 8*gib),
		}},
	}
	if diff := cmp.Diff(wantVMs, inv.VMs); diff != "" {
		t.Errorf("VMs (-want +got):\n%s", diff)
	}
	var errs []string
	for _, e := range inv.Errors {
		errs = append(errs, e.Object+": "+e.Message+" | "+e.Hint)
	}
	wantErrs := []string{
		"vm 100 (web1) on pve1 unused0: " + unused.Error + " | " + resolveHint(ErrUnknownStorage),
		"vm 102 (flaky) on pve3: GET /nodes/pve3/qemu/102/config?current=1: HTTP 500: {\"data\":null} | the Proxmox API failed: check pveproxy/pvedaemon on the node (journalctl -u pveproxy)",
	}
	if diff := cmp.Diff(wantErrs, errs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestScanRemoteFailures(t *testing.T) {
	api := newFakeAPI(t)
	ca := api.caFile(t)
	api.slow["/api2/json/cluster/resources?type=vm"] = true
	tests := []struct {
		name     string
		cfg      Config
		wantMsg  string
		wantHint string
	}{
		{"wrong token", Config{URL: api.srv.URL, Token: "root@pam!vmstor=wrong", CAFile: ca}, "HTTP 401", "token was refused"},
		{"malformed token", Config{URL: api.srv.URL, Token: "secret-without-user", CAFile: ca}, `not "user@realm!tokenid=secret"`, ""},
		{"no token", Config{URL: api.srv.URL, CAFile: ca}, "no API token", TokenEnv},
		{"untrusted certificate", Config{URL: api.srv.URL, Token: testToken}, "certificate", "--ca-file"},
		{"slow answer", Config{URL: api.srv.URL, Token: testToken, CAFile: ca, Timeout: 200 * time.Millisecond}, "Client.Timeout", "did not answer in time"},
		{"not a URL", Config{URL: "pve1:8006", Token: testToken}, "is not https://host:8006", ""},
		{"plain HTTP", Config{URL: "http://pve1:8006", Token: testToken}, "is not https://host:8006", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			inv, err := NewRemote(tc.cfg).Scan(context.Background())
			if inv != nil || err == nil {
				t.Fatalf("Scan = %v, %v; want a source error", inv, err)
			}
			var se model.ScanError
			if !errors.As(err, &se) {
				t.Fatalf("err = %#v, want a model.ScanError", err)
			}
			if !strings.Contains(se.Message, tc.wantMsg) || !strings.Contains(se.Hint, tc.wantHint) || se.Source == "" {
				t.Errorf("err = %+v, want message with %q and hint with %q", se, tc.wantMsg, tc.wantHint)
			}
			if strings.Contains(err.Error(), "3b9e0c2a") || strings.Contains(err.Error(), "=wrong") {
				t.Errorf("error leaks the token secret: %v", err)
			}
		})
	}
	// The same server with verification off answers (the slow path aside).
	delete(api.slow, "/api2/json/cluster/resources?type=vm")
	if _, err := NewRemote(Config{URL: api.srv.URL + "/api2/json", Token: testToken, Insecure: true}).Scan(context.Background()); err != nil {
		t.Errorf("Insecure scan: %v", err)
	}
}

func TestLoadToken(t *testing.T) {
	t.Setenv(TokenEnv, " "+testToken+"\n")
	if got, err := LoadToken(""); err != nil || got != testToken {
		t.Errorf("LoadToken from env = %q, %v", got, err)
	}
	p := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(p, []byte("u@pve!t=s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadToken(p); err != nil || got != "u@pve!t=s" {
		t.Errorf("LoadToken(file) = %q, %v", got, err)
	}
	t.Setenv(TokenEnv, "")
	if _, err := LoadToken(""); err == nil || !strings.Contains(err.Error(), TokenEnv) {
		t.Errorf("LoadToken without token: %v", err)
	}
	if _, err := LoadToken(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("LoadToken(missing file) succeeded")
	}
}
