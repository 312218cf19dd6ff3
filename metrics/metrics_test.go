package metrics

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/vmstor/vmstor/model"
)

func u64(v uint64) *uint64 { return &v }

// testInventory has one healthy LUN, one degraded LUN with I/O errors, a
// datastore nearly full, a VM with two disks and a duplicated VM.
func testInventory() *model.Inventory {
	ontap := &model.Array{Vendor: "NetApp", Family: "ONTAP", SystemName: "cluster1"}
	return &model.Inventory{
		Version: 1,
		Sources: []string{"vsphere:https://admin:s3cr3t@vc/sdk"},
		Hosts:   []model.Host{{Name: "esx1", Platform: model.PlatformVSphere}},
		VMs: []model.VM{
			{ID: "u1", Name: "db1", Host: "esx1", Platform: model.PlatformVSphere, Disks: []model.Disk{
				{Name: "Hard disk 1", CapacityBytes: 10 << 30, Datastore: "ds1", LUNs: []string{"naa.1"}},
				{Name: "Hard disk 2", CapacityBytes: 20 << 30, Datastore: "ds2", LUNs: []string{"naa.2"}},
			}},
			// A platform bug reporting the same VM twice must not fail the scrape.
			{ID: "u1", Name: "db1", Host: "esx1", Platform: model.PlatformVSphere, Disks: []model.Disk{
				{Name: "Hard disk 1", CapacityBytes: 10 << 30, Datastore: "ds1", LUNs: []string{"naa.1"}},
			}},
		},
		Resources: []model.Resource{
			{ID: "ds:1", Host: "esx1", Kind: model.ResDatastore, Name: "ds1", SizeBytes: 1000, FreeBytes: u64(50)},
			{ID: "ds:2", Host: "esx1", Kind: model.ResDatastore, Name: "ds2", SizeBytes: 1000},
			{ID: "blk:sda1", Host: "esx1", Kind: model.ResPartition, Name: "sda1", SizeBytes: 1000},
		},
		LUNs: []model.LUN{
			{ID: "naa.1", Vendor: "NETAPP", Product: "LUN C-Mode", SizeBytes: 1 << 40, Array: ontap, State: model.LUNOK,
				Paths: []model.Path{{Device: "sda", State: "active"}, {Device: "sdb", State: "standby"}}},
			{ID: "naa.2", Vendor: "NETAPP", Product: "LUN C-Mode", SizeBytes: 2 << 40, Array: ontap, State: model.LUNDegraded, IOErrors: 7,
				Paths: []model.Path{{Device: "sdc", State: "active"}, {Device: "sdd", State: "failed"}, {Device: "sde", State: "weird"}}},
		},
	}
}

func testCollector() *Collector {
	c := New()
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	c.Set(State{Inv: testInventory(), ScanID: 42, LastAttempt: t0, LastDuration: 1.5, LastSuccess: true,
		LastSuccessTime: t0, Scans: 3, Failures: 1,
		LastErrors: []model.ScanError{{Source: "vsphere:https://admin:s3cr3t@vc/sdk", Message: "x"}}})
	return c
}

func TestCollect(t *testing.T) {
	c := testCollector()
	want := `
# HELP vmstor_lun_paths Number of host paths to a LUN by normalised state (active, standby, failed, unknown).
# TYPE vmstor_lun_paths gauge
vmstor_lun_paths{lun="naa.1",state="active"} 1
vmstor_lun_paths{lun="naa.1",state="failed"} 0
vmstor_lun_paths{lun="naa.1",state="standby"} 1
vmstor_lun_paths{lun="naa.1",state="unknown"} 0
vmstor_lun_paths{lun="naa.2",state="active"} 1
vmstor_lun_paths{lun="naa.2",state="failed"} 1
vmstor_lun_paths{lun="naa.2",state="standby"} 0
vmstor_lun_paths{lun="naa.2",state="unknown"} 1
# HELP vmstor_lun_io_errors_total Sum of the I/O error counters of every path to a LUN, as the hosts report them (resets when a host's counter does).
# TYPE vmstor_lun_io_errors_total counter
vmstor_lun_io_errors_total{lun="naa.1"} 0
vmstor_lun_io_errors_total{lun="naa.2"} 7
# HELP vmstor_vm_disk_lun_info A VM disk that sits on a LUN (1). Joins VM, disk, LUN, array and datastore.
# TYPE vmstor_vm_disk_lun_info gauge
vmstor_vm_disk_lun_info{array="cluster1",datastore="ds1",disk="Hard disk 1",host="esx1",lun="naa.1",vm="db1",vm_id="u1"} 1
vmstor_vm_disk_lun_info{array="cluster1",datastore="ds2",disk="Hard disk 2",host="esx1",lun="naa.2",vm="db1",vm_id="u1"} 1
# HELP vmstor_resource_free_bytes Free bytes of a filesystem, datastore, pool or volume, when the platform reports it.
# TYPE vmstor_resource_free_bytes gauge
vmstor_resource_free_bytes{host="esx1",kind="datastore",name="ds1",resource="ds:1"} 50
# HELP vmstor_resource_size_bytes Size of a filesystem, datastore, pool or volume in bytes.
# TYPE vmstor_resource_size_bytes gauge
vmstor_resource_size_bytes{host="esx1",kind="datastore",name="ds1",resource="ds:1"} 1000
vmstor_resource_size_bytes{host="esx1",kind="datastore",name="ds2",resource="ds:2"} 1000
# HELP vmstor_scan_success 1 if the last scan attempt produced a stored inventory, 0 if it failed.
# TYPE vmstor_scan_success gauge
vmstor_scan_success 1
# HELP vmstor_scan_errors Errors the last scan attempt reported, by source.
# TYPE vmstor_scan_errors gauge
vmstor_scan_errors{source="vsphere:https://xxxxx@vc/sdk"} 1
# HELP vmstor_last_successful_scan_timestamp_seconds Start of the last good scan, Unix time.
# TYPE vmstor_last_successful_scan_timestamp_seconds gauge
vmstor_last_successful_scan_timestamp_seconds 1.795608e+09
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want),
		"vmstor_lun_paths", "vmstor_lun_io_errors_total", "vmstor_vm_disk_lun_info",
		"vmstor_resource_free_bytes", "vmstor_resource_size_bytes", "vmstor_scan_success",
		"vmstor_scan_errors", "vmstor_last_successful_scan_timestamp_seconds"); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.CollectAndLint(c); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", err, problems)
	}
}

func TestCollectNoScan(t *testing.T) {
	c := New()
	got, err := expose(c)
	if err != nil {
		t.Fatal(err)
	}
	// Before the first scan only the scan outcome is reported: a fresh
	// exporter must not claim an empty inventory.
	for _, absent := range []string{"vmstor_vm_", "vmstor_lun_", "vmstor_inventory_objects"} {
		if bytes.Contains(got, []byte(absent)) {
			t.Errorf("metric %s before first scan:\n%s", absent, got)
		}
	}
	if !bytes.Contains(got, []byte("vmstor_scan_success 0")) {
		t.Errorf("want vmstor_scan_success 0, got:\n%s", got)
	}
}

func TestNamesMatchExposition(t *testing.T) {
	c := testCollector()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, mf := range mfs {
		got = append(got, mf.GetName())
	}
	want := c.Names()
	// Every declared metric appears for this inventory, and nothing else.
	if diff := cmp.Diff(sortStrings(want), sortStrings(got)); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}

func TestNoSecretInExposition(t *testing.T) {
	got, err := expose(testCollector())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(got, []byte("s3cr3t")) {
		t.Errorf("secret in exposition:\n%s", got)
	}
}

// TestPromtoolCheckMetrics runs the real promtool over the exposition.
func TestPromtoolCheckMetrics(t *testing.T) {
	promtool := Promtool(t)
	got, err := expose(testCollector())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(got)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("promtool check metrics: %v\n%s\nexposition:\n%s", err, out, got)
	}
}

// Promtool returns the path of promtool, or skips the test when it is
// absent (fails under VMSTOR_CI=1).
func Promtool(t testing.TB) string {
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("VMSTOR_CI") == "1" {
			t.Fatalf("promtool not found and VMSTOR_CI=1: install Debian's prometheus package (.ci/setup.d/31-prometheus.sh)")
		}
		t.Skip("promtool not found: apt-get install prometheus to run this test")
	}
	return p
}

func sortStrings(s []string) []string {
	s = append([]string(nil), s...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}

// expose returns the text exposition of every metric of c.
func expose(c prometheus.Collector) ([]byte, error) {
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		return nil, err
	}
	mfs, err := reg.Gather()
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}
