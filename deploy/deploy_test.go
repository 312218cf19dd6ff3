package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/vmstor/vmstor/metrics"
	"github.com/vmstor/vmstor/model"
)

const (
	rulesFile     = "prometheus/vmstor-rules.yml"
	rulesTestFile = "prometheus/vmstor-rules_test.yml"
	dashboardFile = "grafana/vmstor-dashboard.json"
)

func promtool(t *testing.T) string {
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("VMSTOR_CI") == "1" {
			t.Fatal("promtool not found and VMSTOR_CI=1: .ci/setup.d/31-prometheus.sh installs Debian's prometheus")
		}
		t.Skip("promtool not found: apt-get install prometheus to run this test")
	}
	return p
}

func runPromtool(t *testing.T, dir string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, promtool(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func TestPromtoolCheckRules(t *testing.T) {
	runPromtool(t, ".", "check", "rules", rulesFile)
}

func TestPromtoolTestRules(t *testing.T) {
	runPromtool(t, "prometheus", "test", "rules", filepath.Base(rulesTestFile))
}

// metricRE finds vmstor metric names in PromQL.
var metricRE = regexp.MustCompile(`\bvmstor_[a-z_]+\b`)

func knownMetrics() map[string]bool {
	known := map[string]bool{}
	for _, n := range metrics.New().Names() {
		known[n] = true
	}
	return known
}

// TestRulesUseExportedMetrics guards against a renamed metric silently
// disabling an alert or a panel.
func TestRulesUseExportedMetrics(t *testing.T) {
	known := knownMetrics()
	for _, f := range []string{rulesFile, dashboardFile} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		used := metricRE.FindAllString(string(b), -1)
		if len(used) == 0 {
			t.Errorf("%s uses no vmstor metric", f)
		}
		for _, m := range used {
			if !known[m] {
				t.Errorf("%s uses %s, which vmstor does not export", f, m)
			}
		}
	}
}

type dashboard struct {
	Title  string `json:"title"`
	UID    string `json:"uid"`
	Panels []struct {
		ID      int    `json:"id"`
		Title   string `json:"title"`
		Type    string `json:"type"`
		GridPos struct {
			X, Y, W, H int
		} `json:"gridPos"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

// TestDashboard parses the Grafana dashboard and checks every query is valid
// PromQL by handing them to promtool as recording rules.
func TestDashboard(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.UID == "" || d.Title == "" || len(d.Panels) < 6 {
		t.Fatalf("dashboard %q uid %q has %d panels", d.Title, d.UID, len(d.Panels))
	}
	ids := map[int]bool{}
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	n := 0
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W == 0 || p.GridPos.H == 0 || len(p.Targets) == 0 {
			t.Errorf("panel %q: no size or no query", p.Title)
		}
		for _, tg := range p.Targets {
			// Grafana's variables, as Grafana would expand them.
			e := strings.NewReplacer(`$__rate_interval`, `5m`, `$instance`, `.*`).Replace(tg.Expr)
			js, _ := json.Marshal(e)
			n++
			fmt.Fprintf(&rules, "      - record: dashboard:panel%d\n        expr: %s\n", n, js)
		}
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dash.yml"), []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, dir, "check", "rules", "dash.yml")
}

// scenario is a small estate over time: healthy for 10 minutes, then LUN
// naa.a loses its standby path and reports I/O errors, then from minute 30
// the scans fail (the last good inventory is still exported).
func scenario(minute int) metrics.State {
	free := uint64(50) // 5% of 1000: under the 10% threshold all along
	paths := []model.Path{{Host: "esx1", Device: "sda", State: model.PathActive}, {Host: "esx1", Device: "sdb", State: model.PathStandby}}
	var ioerr uint64
	if minute >= 10 {
		paths[1].State = model.PathFailed
		paths[1].IOErrors = 4
		ioerr = 4
	}
	ontap := &model.Array{Vendor: "NetApp", Family: "ONTAP", SystemName: "ontap-a"}
	inv := &model.Inventory{
		VMs: []model.VM{{ID: "u1", Name: "db1", Host: "esx1", Platform: model.PlatformVSphere, Disks: []model.Disk{
			{Name: "Hard disk 1", CapacityBytes: 1 << 30, Datastore: "ds1", LUNs: []string{"naa.a"}}}}},
		Resources: []model.Resource{{ID: "ds:1", Host: "esx1", Kind: model.ResDatastore, Name: "ds1", SizeBytes: 1000, FreeBytes: &free, LUNs: []string{"naa.a"}}},
		LUNs: []model.LUN{
			{ID: "naa.a", Array: ontap, SizeBytes: 1 << 40, Paths: paths, State: model.LUNState(paths), IOErrors: ioerr},
			// Healthy and unused: never alerts.
			{ID: "naa.b", Array: ontap, SizeBytes: 1 << 40, State: model.LUNOK, Paths: []model.Path{{Device: "sdc", State: model.PathActive}, {Device: "sdd", State: model.PathActive}}},
		},
	}
	start := time.Unix(0, 0).Add(time.Duration(minute) * time.Minute)
	st := metrics.State{Inv: inv, ScanID: int64(minute + 1), LastAttempt: start, LastDuration: 2, LastSuccess: true,
		LastSuccessTime: start, Scans: uint64(minute + 1)}
	if minute >= 30 {
		st.LastSuccess = false
		st.LastSuccessTime = time.Unix(0, 0).Add(29 * time.Minute)
		st.Failures = uint64(minute - 29)
		st.LastErrors = []model.ScanError{{Source: "vsphere:https://vc/sdk", Message: "connection refused"}}
	}
	return st
}

// TestRulesOnExporterOutput runs the alert rules over series that vmstor's
// real collector produced for the scenario, minute by minute: the alerts
// see exactly the names and labels the exporter emits.
func TestRulesOnExporterOutput(t *testing.T) {
	pt := promtool(t)
	const minutes = 60
	series := map[string][]string{} // series text -> value per minute
	for m := 0; m < minutes; m++ {
		c := metrics.New()
		c.Set(scenario(m))
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			for _, mt := range mf.Metric {
				key := seriesText(mf.GetName(), mt.Label)
				if series[key] == nil {
					series[key] = make([]string, minutes)
					for i := range series[key] {
						series[key][i] = "_"
					}
				}
				series[key][m] = strconv.FormatFloat(value(mf, mt), 'g', -1, 64)
			}
		}
	}
	keys := make([]string, 0, len(series))
	for k := range series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var y strings.Builder
	y.WriteString("rule_files:\n  - vmstor-rules.yml\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n")
	for _, k := range keys {
		js, _ := json.Marshal(k)
		fmt.Fprintf(&y, "      - series: %s\n        values: %q\n", js, strings.Join(series[k], " "))
	}
	y.WriteString(`    alert_rule_test:
      - {eval_time: 9m, alertname: VMStorLUNLostRedundancy, exp_alerts: []}
      - eval_time: 16m
        alertname: VMStorLUNLostRedundancy
        exp_alerts:
          - exp_labels: {severity: critical, lun: naa.a, array: ontap-a}
            exp_annotations:
              summary: "LUN naa.a on ontap-a lost path redundancy"
              description: "1 VM disk(s) sit on LUN naa.a (array ontap-a), which has at most one working path left and at least one failed path. See /api/v1/luns/naa.a for the blast radius."
      - {eval_time: 9m, alertname: VMStorLUNIOErrors, exp_alerts: []}
      - eval_time: 12m
        alertname: VMStorLUNIOErrors
        exp_alerts:
          - exp_labels: {severity: warning, lun: naa.a, instance: "vmstor:9631", job: vmstor}
            exp_annotations:
              summary: "LUN naa.a reports I/O errors"
              description: "The paths to LUN naa.a reported 4 new I/O error(s) in the last 30 minutes."
      - eval_time: 16m
        alertname: VMStorDatastoreLowSpace
        exp_alerts:
          - exp_labels: {severity: warning, host: esx1, resource: "ds:1", kind: datastore, name: ds1, instance: "vmstor:9631", job: vmstor}
            exp_annotations:
              summary: "datastore ds1 on esx1 is 5.0% free"
              description: "datastore ds1 (ds:1) on esx1 has less than 10% free space; VM disks on it may stop on a full write."
      - {eval_time: 40m, alertname: VMStorScansFailing, exp_alerts: []}
      - eval_time: 46m
        alertname: VMStorScansFailing
        exp_alerts:
          - exp_labels: {severity: warning, instance: "vmstor:9631", job: vmstor}
            exp_annotations:
              summary: "vmstor scans are failing on vmstor:9631"
              description: "vmstor's scans have failed for 15 minutes; it serves the last good scan. The errors are in /api/v1/status and in vmstor_scan_errors."
`)
	dir := t.TempDir()
	rules, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "vmstor-rules.yml"), rules, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "exporter_test.yml"), []byte(y.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, pt, "test", "rules", "exporter_test.yml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules on exporter output: %v\n%s", err, out)
	}
}

// seriesText is name{labels} with the labels a scrape adds.
func seriesText(name string, labels []*dto.LabelPair) string {
	parts := []string{`instance="vmstor:9631"`, `job="vmstor"`}
	for _, l := range labels {
		parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	sort.Strings(parts)
	return name + "{" + strings.Join(parts, ",") + "}"
}

func value(mf *dto.MetricFamily, m *dto.Metric) float64 {
	switch mf.GetType() {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	default:
		return m.GetGauge().GetValue()
	}
}
