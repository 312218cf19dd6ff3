package array

import (
	"context"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmstor/vmstor/array/ontap/ontaptest"
	"github.com/vmstor/vmstor/array/pure/puretest"
	"github.com/vmstor/vmstor/model"
)

// writeCA writes a TLS test server's certificate as a PEM file.
func writeCA(t *testing.T, dir, name string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

func writeSecret(t *testing.T, dir, name, val string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(val+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

func inventory() *model.Inventory {
	return &model.Inventory{LUNs: []model.LUN{
		{ID: "naa.600a098038303845372b4a5232346e35", Protocol: "scsi", Vendor: "NETAPP", Product: "LUN C-Mode", Paths: []model.Path{
			{Device: "sdc", Transport: "iscsi", Target: "iqn.1992-08.com.netapp:sn.4d2ab1c29a6b11ee8c900242ac120002:vs.3", Address: "192.0.2.10:3260", State: "active"},
		}},
		// QEMU-style 8-byte id: the serial comes from VPD 0x80.
		{ID: "naa.600a098038303053", Protocol: "scsi", Vendor: "NETAPP", Product: "LUN C-Mode", Serial: "80Jz1?Vy7W4a", Paths: []model.Path{
			{Device: "sdd", Transport: "iscsi", Target: "iqn.1992-08.com.netapp:sn.4d2ab1c29a6b11ee8c900242ac120002:vs.3", Address: "192.0.2.11:3260", State: "active"},
		}},
		// Not on the cluster: only the id and the transport speak.
		{ID: "naa.600a0980383030536e6f746865726530", Protocol: "scsi", Vendor: "NETAPP", Product: "LUN C-Mode", Paths: []model.Path{
			{Device: "sde", Transport: "iscsi", Target: "iqn.1992-08.com.netapp:sn.4d2ab1c29a6b11ee8c900242ac120002:vs.3", Address: "192.0.2.11:3260", State: "active"},
		}},
		{ID: "uuid.3be1e4b4-7fba-4a3d-9c1e-00a098006b5b", Protocol: "nvme", Product: "NetApp ONTAP Controller", Paths: []model.Path{
			{Device: "nvme0n1", Transport: "nvme-tcp", Target: "nqn.1992-08.com.netapp:sn.6f4cd3e49a6b11ee8c900242ac120002:subsystem.ss_kvm", Address: "traddr=192.0.2.21,trsvcid=4420", State: "active"},
		}},
		{ID: "naa.624a9370f4252922ade248cf000113e6", Protocol: "scsi", Vendor: "PURE", Product: "FlashArray", Paths: []model.Path{
			{Device: "sdf", Transport: "iscsi", Target: "iqn.2010-06.com.purestorage:flasharray.3b8d4c2a1f5e6d70", Address: "192.0.2.31:3260", State: "active"},
		}},
		{ID: "naa.624a9370f4252922ade248cf000113e7", Protocol: "scsi", Vendor: "PURE", Product: "FlashArray"},
		{ID: "naa.6001405abcdef0123456789abcdef012", Protocol: "scsi", Vendor: "LIO-ORG", Product: "disk1"},
	}}
}

type lunView struct {
	ID, Volume, LUNPath string
	Used, Size          uint64
	Array               *model.Array
	Facts               map[string]string
	Sources             map[string]string
}

func view(inv *model.Inventory) []lunView {
	var out []lunView
	for _, l := range inv.LUNs {
		out = append(out, lunView{l.ID, l.Volume, l.LUNPath, l.UsedBytes, l.SizeBytes, l.Array, l.ArrayFacts, l.FactSources})
	}
	return out
}

func TestEnrich(t *testing.T) {
	on := ontaptest.New(true)
	defer on.Close()
	pu := puretest.New(true)
	defer pu.Close()
	down := ontaptest.New(false)
	defer down.Close()
	down.Fault, down.Status = ontaptest.FaultStatus, 503

	dir := t.TempDir()
	cfgText := fmt.Sprintf(`{
  "timeout": "5s",
  "ontap": [
    {"name": "cluster1", "url": %q, "ca_file": %q, "username": "vmstor", "password_env": "VMSTOR_TEST_ONTAP_PW"},
    {"name": "cluster2", "url": %q, "username": "vmstor", "password_file": %q}
  ],
  "pure": [
    {"name": "pure01", "url": %q, "ca_file": %q, "api_token_file": %q}
  ]
}`, on.URL, writeCA(t, dir, "ontap-ca.pem", on.Certificate().Raw), down.URL, writeSecret(t, dir, "c2.pw", "x"),
		pu.URL, writeCA(t, dir, "pure-ca.pem", pu.Certificate().Raw), writeSecret(t, dir, "pure.token", pu.Token))
	cfgPath := filepath.Join(dir, "arrays.json")
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VMSTOR_TEST_ONTAP_PW", on.Password)
	cfg, err := LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	inv := inventory()
	NewEnricher(cfg).Enrich(context.Background(), inv)

	cluster := "ontap:1cd8a442-86d1-11e0-ae1c-123478563412"
	want := []lunView{
		{
			ID: "naa.600a098038303845372b4a5232346e35", Volume: "vol_db", LUNPath: "/vol/vol_db/qt_ora/lun_data01",
			Used: 53687091200, Size: 107374182400,
			Array: &model.Array{Vendor: "NetApp", Family: "ONTAP", Model: "AFF-A400", LUNSerial: "808E7+JR24n5", SystemID: cluster,
				SystemName: "cluster1", Addresses: []string{"192.0.2.10", "192.0.2.11"}},
			Facts: map[string]string{"svm": "svm_iscsi", "qtree": "qt_ora", "node": "cluster1-01", "state": "online",
				"container_state": "online", "igroups": "ig_esx:3,ig_kvm:0", "os_type": "linux", "os_version": "NetApp Release 9.14.1"},
			Sources: map[string]string{
				FactVendor: SourceAPI, FactFamily: SourceAPI, FactModel: SourceAPI, "os_version": SourceAPI, FactLUNSerial: SourceAPI, FactSystemID: SourceAPI,
				FactSystemName: SourceAPI, FactAddresses: SourceAPI, FactVolume: SourceAPI, FactLUNPath: SourceAPI,
				FactUsedBytes: SourceAPI, FactSizeBytes: SourceAPI, "svm": SourceAPI, "qtree": SourceAPI, "node": SourceAPI,
				"state": SourceAPI, "container_state": SourceAPI, "igroups": SourceAPI, "os_type": SourceAPI,
			},
		},
		{
			ID: "naa.600a098038303053", Volume: "vol_vm", LUNPath: "/vol/vol_vm/lun_ds1", Used: 0, Size: 2199023255552,
			Array: &model.Array{Vendor: "NetApp", Family: "ONTAP", Model: "AFF-A400", LUNSerial: "80Jz1?Vy7W4a", SystemID: cluster,
				SystemName: "cluster1", Addresses: []string{"192.0.2.10", "192.0.2.11"}},
			Facts: map[string]string{"svm": "svm_iscsi", "node": "cluster1-02", "state": "online",
				"container_state": "online", "os_type": "vmware", "os_version": "NetApp Release 9.14.1"},
			Sources: map[string]string{
				FactVendor: SourceAPI, FactFamily: SourceAPI, FactModel: SourceAPI, "os_version": SourceAPI, FactLUNSerial: SourceAPI, FactSystemID: SourceAPI,
				FactSystemName: SourceAPI, FactAddresses: SourceAPI, FactVolume: SourceAPI, FactLUNPath: SourceAPI,
				FactUsedBytes: SourceAPI, FactSizeBytes: SourceAPI, "svm": SourceAPI, "node": SourceAPI,
				"state": SourceAPI, "container_state": SourceAPI, "os_type": SourceAPI,
			},
		},
		{
			// Not found by the API; the shared iSCSI target puts it on
			// cluster1, and grouping says so.
			ID: "naa.600a0980383030536e6f746865726530",
			Array: &model.Array{Vendor: "NetApp", Family: "ONTAP", LUNSerial: "800Snothere0", SystemID: cluster,
				SystemName: "cluster1", Addresses: []string{"192.0.2.11"}},
			Sources: map[string]string{FactVendor: SourceID, FactFamily: SourceID, FactLUNSerial: SourceID,
				FactSystemID: SourceGroup, FactSystemName: SourceGroup, FactAddresses: SourceTransport},
		},
		{
			ID: "uuid.3be1e4b4-7fba-4a3d-9c1e-00a098006b5b", Volume: "vol_nvme", LUNPath: "/vol/vol_nvme/ns_db01",
			Used: 4294967296, Size: 21474836480,
			Array: &model.Array{Vendor: "NetApp", Family: "ONTAP", Model: "AFF-A400", SystemID: cluster, SystemName: "cluster1",
				Addresses: []string{"192.0.2.21"}},
			Facts: map[string]string{"svm": "svm_nvme", "node": "cluster1-02", "state": "online",
				"container_state": "online", "subsystem": "ss_kvm", "os_version": "NetApp Release 9.14.1"},
			Sources: map[string]string{
				FactVendor: SourceAPI, FactFamily: SourceAPI, FactModel: SourceAPI, "os_version": SourceAPI, FactSystemID: SourceAPI,
				FactSystemName: SourceAPI, FactAddresses: SourceAPI, FactVolume: SourceAPI, FactLUNPath: SourceAPI,
				FactUsedBytes: SourceAPI, FactSizeBytes: SourceAPI, "svm": SourceAPI, "node": SourceAPI,
				"state": SourceAPI, "container_state": SourceAPI, "subsystem": SourceAPI,
			},
		},
		{
			ID: "naa.624a9370f4252922ade248cf000113e6", Volume: "vmfs-prod-01", Used: 2143289344000, Size: 5497558138880,
			Array: &model.Array{Vendor: "Pure Storage", Family: "FlashArray", Model: "FA-X70R3",
				LUNSerial: "F4252922ADE248CF000113E6", SystemID: "pure-array:7e1c4a3b-2d5f-4e6a-9b8c-1d2e3f4a5b6c",
				SystemName: "pure01", Addresses: []string{"192.0.2.31", "192.0.2.32"}},
			Facts: map[string]string{"os_version": "Purity//FA 6.5.3"},
			Sources: map[string]string{
				FactVendor: SourceAPI, FactFamily: SourceAPI, FactModel: SourceAPI, "os_version": SourceAPI, FactLUNSerial: SourceID,
				FactSystemID: SourceAPI, FactSystemName: SourceAPI, FactAddresses: SourceAPI, FactVolume: SourceAPI,
				FactUsedBytes: SourceAPI, FactSizeBytes: SourceAPI,
			},
		},
		{
			ID: "naa.624a9370f4252922ade248cf000113e7", Volume: "pod1::oradata", Used: 110000000000, Size: 1099511627776,
			Array: &model.Array{Vendor: "Pure Storage", Family: "FlashArray", Model: "FA-X70R3",
				LUNSerial: "F4252922ADE248CF000113E7", SystemID: "pure-array:7e1c4a3b-2d5f-4e6a-9b8c-1d2e3f4a5b6c",
				SystemName: "pure01", Addresses: []string{"192.0.2.31", "192.0.2.32"}},
			Facts: map[string]string{"pod": "pod1", "os_version": "Purity//FA 6.5.3"},
			Sources: map[string]string{
				FactVendor: SourceAPI, FactFamily: SourceAPI, FactModel: SourceAPI, "os_version": SourceAPI, FactLUNSerial: SourceID,
				FactSystemID: SourceAPI, FactSystemName: SourceAPI, FactAddresses: SourceAPI, FactVolume: SourceAPI,
				FactUsedBytes: SourceAPI, FactSizeBytes: SourceAPI, "pod": SourceAPI,
			},
		},
		{ID: "naa.6001405abcdef0123456789abcdef012"},
	}
	if diff := cmp.Diff(want, view(inv)); diff != "" {
		t.Errorf("Enrich (-want +got):\n%s", diff)
	}

	// The failing cluster is reported, with a hint; nothing else is.
	if len(inv.Errors) != 1 {
		t.Fatalf("errors = %+v, want one for cluster2", inv.Errors)
	}
	e := inv.Errors[0]
	if e.Source != "array:ontap:cluster2" || !strings.Contains(e.Message, "HTTP 503") || e.Hint == "" {
		t.Errorf("error = %+v", e)
	}
	// One batched LUN query per cluster per scan.
	var lunQueries int
	for _, r := range on.Requests() {
		if strings.HasPrefix(r, "GET /api/storage/luns?") {
			lunQueries++
		}
	}
	if lunQueries != 1 {
		t.Errorf("%d LUN queries to cluster1, want 1: %q", lunQueries, on.Requests())
	}
}

func TestEnrichFailures(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(s *ontaptest.Server)
		timeout  string
		wantMsg  string
		wantHint string
	}{
		{name: "401", setup: func(s *ontaptest.Server) { s.Password = "changed" }, wantMsg: "HTTP 401", wantHint: "password"},
		{name: "paging loop", setup: func(s *ontaptest.Server) { s.Fault = ontaptest.FaultLoop }, wantMsg: "paging loop", wantHint: "paging link"},
		{name: "slow", setup: func(s *ontaptest.Server) { s.Fault = ontaptest.FaultHang }, timeout: "200ms", wantMsg: "Client.Timeout", wantHint: "no answer within 200ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ontaptest.New(false)
			defer s.Close()
			pw := s.Password
			tt.setup(s)
			to := tt.timeout
			if to == "" {
				to = "5s"
			}
			cfg, err := ParseConfig([]byte(fmt.Sprintf(`{"timeout": %q, "ontap": [{"url": %q, "username": "vmstor", "password_env": "PW", "page_size": 1}]}`, to, s.URL)),
				t.TempDir(), func(string) string { return pw })
			if err != nil {
				t.Fatal(err)
			}
			e := NewEnricher(cfg)
			inv := inventory()
			e.Enrich(context.Background(), inv)
			if len(inv.Errors) != 1 {
				t.Fatalf("errors = %+v", inv.Errors)
			}
			got := inv.Errors[0]
			if !strings.Contains(got.Message, tt.wantMsg) || !strings.Contains(got.Hint, tt.wantHint) {
				t.Errorf("error = %+v, want message with %q and hint with %q", got, tt.wantMsg, tt.wantHint)
			}
			if strings.Contains(got.Error(), pw) {
				t.Errorf("error carries the password: %v", got)
			}
			// The scan still has its device facts.
			if inv.LUNs[0].Array == nil || inv.LUNs[0].Array.LUNSerial != "808E7+JR24n5" || inv.LUNs[0].Volume != "" {
				t.Errorf("LUN after failed enrichment = %+v", inv.LUNs[0])
			}
		})
	}
}

func TestEnrichWithoutConfigMakesNoCalls(t *testing.T) {
	inv := inventory()
	NewEnricher(nil).Enrich(context.Background(), inv)
	if len(inv.Errors) != 0 {
		t.Errorf("errors = %+v", inv.Errors)
	}
	if got := inv.LUNs[4].Array.SystemID; got != "pure:F4252922ADE248CF" {
		t.Errorf("Pure system id without API = %q", got)
	}
	// Both Pure LUNs share the array prefix of their serials: one system.
	if a, b := inv.LUNs[4].Array.SystemID, inv.LUNs[5].Array.SystemID; a != b {
		t.Errorf("Pure LUNs of one array on systems %q and %q", a, b)
	}
}

func TestParseConfig(t *testing.T) {
	dir := t.TempDir()
	writeSecret(t, dir, "ok.pw", "pw")
	if err := os.WriteFile(filepath.Join(dir, "open.pw"), []byte("pw"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == "SET" {
			return "value"
		}
		return ""
	}
	tests := []struct {
		name, in, wantErr string
	}{
		{"ok env", `{"ontap": [{"url": "https://c1", "username": "u", "password_env": "SET"}]}`, ""},
		{"ok file", `{"ontap": [{"url": "https://c1", "username": "u", "password_file": "ok.pw"}], "timeout": "1m"}`, ""},
		{"literal password", `{"ontap": [{"url": "https://c1", "username": "u", "password": "hunter2"}]}`, `"password" is not read`},
		{"literal token", `{"pure": [{"url": "https://p1", "api_token": "t"}]}`, `"api_token" is not read`},
		{"unset env", `{"ontap": [{"url": "https://c1", "username": "u", "password_env": "UNSET"}]}`, "UNSET (password_env) is empty or unset"},
		{"world-readable file", `{"ontap": [{"url": "https://c1", "username": "u", "password_file": "open.pw"}]}`, "readable by everyone"},
		{"missing file", `{"pure": [{"url": "https://p1", "api_token_file": "nope"}]}`, "no such file"},
		{"no creds", `{"pure": [{"url": "https://p1"}]}`, "no credentials"},
		{"both", `{"pure": [{"url": "https://p1", "api_token_env": "SET", "api_token_file": "ok.pw"}]}`, "not both"},
		{"no user", `{"ontap": [{"url": "https://c1", "password_env": "SET"}]}`, "username is missing"},
		{"bad url", `{"ontap": [{"url": "c1.example.com", "username": "u", "password_env": "SET"}]}`, "want https://host"},
		{"typo", `{"ontap": [{"url": "https://c1", "user": "u", "password_env": "SET"}]}`, `unknown field "user"`},
		{"bad timeout", `{"timeout": "soon"}`, "invalid duration"},
		{"bad ca", `{"ontap": [{"url": "https://c1", "username": "u", "password_env": "SET", "ca_file": "ok.pw"}]}`, "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseConfig([]byte(tt.in), dir, env)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ParseConfig: %v", err)
				}
				if len(c.ONTAP) != 1 || c.ONTAP[0].secret == "" || c.ONTAP[0].Name != "c1" || c.Timeout == 0 {
					t.Errorf("config = %+v", c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseConfig error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestTLSVerified(t *testing.T) {
	// Without ca_file the test server's self-signed certificate is refused.
	s := ontaptest.New(true)
	defer s.Close()
	cfg, err := ParseConfig([]byte(fmt.Sprintf(`{"ontap": [{"url": %q, "username": "vmstor", "password_env": "PW"}]}`, s.URL)),
		t.TempDir(), func(string) string { return s.Password })
	if err != nil {
		t.Fatal(err)
	}
	inv := inventory()
	NewEnricher(cfg).Enrich(context.Background(), inv)
	if len(inv.Errors) != 1 || !strings.Contains(inv.Errors[0].Hint, "ca_file") {
		t.Fatalf("errors = %+v, want a certificate error with a ca_file hint", inv.Errors)
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests reached the server over an untrusted connection", n)
	}
}

func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"timeout": "5s", "ontap": [{"url": "https://c1", "username": "u", "password_env": "E"}], "pure": [{"url": "https://p", "api_token_env": "E"}]}`))
	f.Add([]byte(`{"ontap": [{"password": "x"}]}`))
	f.Add([]byte(`{"timeout": 5}`))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseConfig(b, dir, func(string) string { return "secret" })
		if err == nil && c.Timeout <= 0 {
			t.Errorf("accepted config with timeout %v", c.Timeout)
		}
	})
}
