package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the server's log writes and the
// test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServe runs `vmstor serve` over the Proxmox fixture node with a real
// SQLite store on a loopback port, reads the API and /metrics, then stops it
// as SIGTERM would and checks it exits 0.
func TestServe(t *testing.T) {
	root, err := filepath.Abs("../../vms/proxmox/testdata/node")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); err != nil {
		t.Skipf("Proxmox fixture missing: %v", err)
	}
	db := filepath.Join(t.TempDir(), "serve.db")
	tokenFile := filepath.Join(t.TempDir(), "token")
	const token = "serve-test-token-0123456789"
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--proxmox-root", root, "--no-host-storage", "--db", "sqlite:" + db,
			"--listen", "127.0.0.1:0", "--interval", "1h", "--token-file", tokenFile}, &stdout, &stderr)
	}()

	urlRE := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)/`)
	var base string
	deadline := time.Now().Add(30 * time.Second)
	for base == "" && time.Now().Before(deadline) {
		if m := urlRE.FindStringSubmatch(stderr.String()); m != nil {
			base = m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	if base == "" {
		t.Fatalf("no serving line in the log:\n%s", stderr.String())
	}
	get := func(path string) (int, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// Wait for the first scan to be served.
	var vms struct {
		Total  int   `json:"total"`
		ScanID int64 `json:"scan_id"`
	}
	for time.Now().Before(deadline) {
		code, body := get("/api/v1/vms?limit=1")
		if code == http.StatusOK {
			if err := json.Unmarshal([]byte(body), &vms); err != nil {
				t.Fatal(err)
			}
			if vms.ScanID > 0 {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if vms.ScanID != 1 || vms.Total != 3 {
		t.Errorf("served scan %d with %d VMs, want scan 1 with the fixture's 3", vms.ScanID, vms.Total)
	}
	if code, body := get("/metrics"); code != http.StatusOK || !strings.Contains(body, "vmstor_scan_success 1") ||
		!strings.Contains(body, `vmstor_inventory_objects{kind="vm"} 3`) {
		t.Errorf("/metrics: %d\n%s", code, body)
	}
	resp, err := http.Get(base + "/api/v1/vms")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", resp.StatusCode)
	}

	cancel() // what SIGTERM does through main's signal.NotifyContext
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("serve exited %d, want 0; log:\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop after its context was cancelled")
	}
	if strings.Contains(stderr.String(), token) {
		t.Errorf("token in the log")
	}
}

func TestServeRefusesOpenListenWithoutAuth(t *testing.T) {
	tests := [][]string{
		{"serve", "--listen", "0.0.0.0:9631", "--no-host-storage", "--proxmox-root", "/nonexistent"},
		{"serve", "--listen", ":9631", "--no-host-storage", "--proxmox-root", "/nonexistent"},
		{"serve", "--interval", "0s", "--no-host-storage", "--proxmox-root", "/nonexistent"},
		{"serve", "--tls-cert", "c.pem", "--no-host-storage", "--proxmox-root", "/nonexistent"},
	}
	for _, args := range tests {
		code, _, stderr := runCLI(t, args...)
		if code != exitUsage || stderr == "" {
			t.Errorf("vmstor %s: exit %d (stderr %q), want %d with a message", strings.Join(args, " "), code, stderr, exitUsage)
		}
	}
}
