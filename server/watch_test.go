package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vmstor/vmstor/metrics"
	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/store"
)

const secret = "s3cr3t-Pa55"

// secretSource is what a user might type: credentials in the URL.
var secretSource = "vsphere:https://admin:" + secret + "@vc.example/sdk?password=" + secret

// TestWatcherWithRealStore runs the serve loop over the real SQLite store:
// good scan, a scan with a source down, a scan that fails outright, a good
// scan again; checks what is served, stored and exported after each, and that
// the secret in the source URL appears nowhere.
func TestWatcherWithRealStore(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testWatcher(t, "sqlite:"+filepath.Join(t.TempDir(), "vmstor.db")) })
	t.Run("postgres", func(t *testing.T) { testWatcher(t, pgDSN(t)) })
}

// pgDSN is a fresh schema on the PostgreSQL that .ci/setup.d/20-postgres.sh
// starts (VMSTOR_TEST_POSTGRES, password in PGPASSFILE), dropped afterwards.
func pgDSN(t *testing.T) string {
	base := os.Getenv("VMSTOR_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("VMSTOR_CI") == "1" {
			t.Fatal("VMSTOR_TEST_POSTGRES is not set: .ci/setup.d/20-postgres.sh should have exported it")
		}
		t.Skip("no PostgreSQL: set VMSTOR_TEST_POSTGRES (see .ci/setup.d/20-postgres.sh)")
	}
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	schema := "srv_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		db.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		db.Exec("DROP SCHEMA " + schema + " CASCADE")
		db.Close()
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

func testWatcher(t *testing.T, dsn string) {
	ctx := context.Background()
	st, err := store.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	col := metrics.New()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(col)
	srv := New(Config{Store: st, Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), Log: log})
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()

	full := synth(50)
	full.Sources = []string{secretSource, "libvirt:qemu:///system"}
	var next func() (*model.Inventory, error)
	w := &Watcher{Store: st, Server: srv, Metrics: col, Interval: time.Hour, Retention: 24 * time.Hour, Log: log,
		Scan: func(context.Context) (*model.Inventory, error) { return next() }}

	type seen struct {
		Good       bool
		VMs        int
		ScanID     int64
		Success    bool
		MetricsOK  string
		LastStatus string
	}
	check := func(step string, want seen, good bool) {
		t.Helper()
		s := getJSON[Status](t, ts, "/api/v1/status")
		vms := getJSON[Page[VMSummary]](t, ts, "/api/v1/vms?limit=1")
		scans := getJSON[Page[ScanView]](t, ts, "/api/v1/scans?limit=1")
		_, m := get(t, ts, "/metrics")
		ok := ""
		for _, line := range strings.Split(string(m), "\n") {
			if strings.HasPrefix(line, "vmstor_scan_success ") {
				ok = strings.TrimPrefix(line, "vmstor_scan_success ")
			}
		}
		got := seen{Good: good, VMs: vms.Total, ScanID: vms.ScanID, Success: s.LastSuccess, MetricsOK: ok, LastStatus: scans.Items[0].Status}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", step, diff)
		}
	}

	next = func() (*model.Inventory, error) { return full, nil }
	good := w.Once(ctx)
	check("good scan", seen{true, 50, 1, true, "1", store.StatusOK}, good)

	// The vSphere source is down: only the libvirt half comes back, with a
	// source error. The vSphere VMs must not vanish.
	next = func() (*model.Inventory, error) {
		half := synth(50)
		half.Sources = full.Sources
		half.VMs = half.VMs[:20]
		half.Errors = []model.ScanError{{Source: secretSource, Message: "dial https://admin:" + secret + "@vc.example/sdk: connection refused"}}
		return half, nil
	}
	good = w.Once(ctx)
	check("source down", seen{false, 50, 2, false, "0", store.StatusPartial}, good)

	// The scan fails outright.
	next = func() (*model.Inventory, error) {
		return nil, errors.New("login to https://admin:" + secret + "@vc.example/sdk refused")
	}
	good = w.Once(ctx)
	check("scan failed", seen{false, 50, 2, false, "0", store.StatusFailed}, good)

	// Good again, one VM fewer.
	next = func() (*model.Inventory, error) {
		inv := synth(50)
		inv.Sources = full.Sources
		inv.VMs = inv.VMs[1:]
		return inv, nil
	}
	good = w.Once(ctx)
	check("good again", seen{true, 49, 4, true, "1", store.StatusOK}, good)

	d := getJSON[Diff](t, ts, "/api/v1/diff?from=1&to=4")
	if d.Changes.Total != 1 || d.Changes.Items[0].Kind != "vm-removed" {
		t.Errorf("diff 1..4: %+v", d.Changes)
	}

	// A restarted server loads the last good state from the store.
	srv2 := New(Config{Store: st})
	if err := srv2.Load(ctx); err != nil {
		t.Fatal(err)
	}
	ts2 := httptest.NewServer(srv2.Handler())
	defer ts2.Close()
	if p := getJSON[Page[VMSummary]](t, ts2, "/api/v1/vms?limit=1"); p.Total != 49 || p.ScanID != 4 {
		t.Errorf("after restart: %d VMs from scan %d, want 49 from 4", p.Total, p.ScanID)
	}

	noSecret(t, ts, logs.String())
}

// noSecret fetches every route, the page and /metrics and fails if the
// secret appears in any of them or in the logs.
func noSecret(t *testing.T, ts *httptest.Server, logs string) {
	t.Helper()
	if strings.Contains(logs, secret) {
		t.Errorf("secret in logs:\n%s", logs)
	}
	vm := getJSON[Page[VMSummary]](t, ts, "/api/v1/vms?limit=1").Items[0]
	lun := getJSON[Page[LUNSummary]](t, ts, "/api/v1/luns?limit=1").Items[0]
	paths := []string{"/", "/static/app.js", "/static/app.css", "/metrics", "/api/v1/openapi.json",
		"/api/v1/status", "/api/v1/hosts", "/api/v1/vms", "/api/v1/vms/" + vm.ID, "/api/v1/luns", "/api/v1/luns/" + lun.ID,
		"/api/v1/arrays", "/api/v1/arrays/ontap-a", "/api/v1/datastores", "/api/v1/topology?vm=" + vm.ID,
		"/api/v1/scans", "/api/v1/diff?from=1&to=2", "/api/v1/history?object=" + vm.Name, "/api/v1/who-uses?q=ontap-a"}
	scans := getJSON[Page[ScanView]](t, ts, "/api/v1/scans?limit=1000")
	for _, s := range scans.Items {
		paths = append(paths, "/api/v1/scans/"+itoa(s.ID), "/api/v1/vms?limit=1&scan="+itoa(s.ID))
	}
	for _, p := range paths {
		code, body := get(t, ts, p)
		if code != http.StatusOK {
			t.Errorf("GET %s: %d %s", p, code, body)
		}
		if bytes.Contains(body, []byte(secret)) {
			t.Errorf("GET %s: secret in the answer", p)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestWatcherRunStops checks the loop scans at once, then each interval, and
// returns when its context is cancelled (SIGTERM in vmstor serve).
func TestWatcherRunStops(t *testing.T) {
	ms := &memStore{}
	srv := New(Config{Store: ms})
	var mu sync.Mutex
	n := 0
	scanned := make(chan struct{}, 100)
	w := &Watcher{Store: ms, Server: srv, Interval: 10 * time.Millisecond,
		Scan: func(ctx context.Context) (*model.Inventory, error) {
			mu.Lock()
			n++
			mu.Unlock()
			scanned <- struct{}{}
			return synth(5), nil
		}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	for i := 0; i < 3; i++ {
		<-scanned
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	// The third scan may be cut short by the cancel: it is then not stored.
	scans, _ := ms.Scans(context.Background(), 100)
	mu.Lock()
	defer mu.Unlock()
	if n < 3 || len(scans) < 2 || len(scans) > n {
		t.Errorf("%d scans run, %d stored; want at least 3 run and 2 stored", n, len(scans))
	}
}
