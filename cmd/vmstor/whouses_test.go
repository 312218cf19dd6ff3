package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/query"
	"github.com/vmstor/vmstor/store"
	"github.com/vmstor/vmstor/store/storetest"
)

// storeWithScans writes two scans into a SQLite store and returns its DSN
// and the inventories.
func storeWithScans(t *testing.T) (string, *storetestInvs) {
	t.Helper()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "v.db")
	s, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	shape := storetest.Shape{VMs: 40, DisksPerVM: 4, VMsPerHost: 10, LUNsPerHost: 6}
	a := storetest.Generate(shape, at)
	b := storetest.Generate(shape, at.Add(time.Hour))
	storetest.Mutate(b, 0.1, 7, b.ScannedAt)
	for _, inv := range []*model.Inventory{a, b} {
		if _, err := s.Save(context.Background(), inv); err != nil {
			t.Fatal(err)
		}
	}
	return dsn, &storetestInvs{a, b}
}

type storetestInvs struct{ first, last *model.Inventory }

func TestWhoUsesFromStore(t *testing.T) {
	dsn, invs := storeWithScans(t)
	for _, q := range []string{invs.last.LUNs[3].ID, storetest.Serial(2), "dm-5", storetest.Export(1), "filer1", "NetApp"} {
		code, out, stderr := runCLI(t, "who-uses", "--db", dsn, "-o", "json", q)
		if code != exitOK {
			t.Fatalf("who-uses %q: exit %d, stderr %s", q, code, stderr)
		}
		var got []query.Use
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("who-uses %q: %v in %q", q, err, out)
		}
		want := query.WhoUses(invs.last, q)
		if len(want) == 0 {
			t.Fatalf("who-uses %q: the test inventory has no user", q)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("who-uses %q (-want +got):\n%s", q, diff)
		}
	}
	// Nothing found: an empty result, exit 0.
	code, out, _ := runCLI(t, "who-uses", "--db", dsn, "-o", "json", "naa.6000000000000000")
	if code != exitOK || strings.TrimSpace(out) != "[]" {
		t.Errorf("who-uses of an unknown LUN: exit %d, output %q; want 0 and []", code, out)
	}
	code, out, _ = runCLI(t, "who-uses", "--db", dsn, storetest.LUNID(1))
	if code != exitOK || !strings.HasPrefix(out, "VM ") || strings.Count(out, "\n") < 2 {
		t.Errorf("who-uses table: exit %d, output %q", code, out)
	}
}

func TestHistoryAndDiffFromStore(t *testing.T) {
	dsn, invs := storeWithScans(t)
	code, out, stderr := runCLI(t, "diff", "--db", dsn, "-o", "json")
	if code != exitOK {
		t.Fatalf("diff: exit %d, stderr %s", code, stderr)
	}
	var got []query.Change
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	want := query.Diff(invs.first, invs.last)
	for i := range want {
		want[i].ScanID, want[i].Time = 2, invs.last.ScannedAt
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("diff (-want +got):\n%s", diff)
	}
	for _, args := range [][]string{{"diff", "2"}, {"diff", "1", "2"}} {
		code, out2, _ := runCLI(t, append(args, "--db", dsn, "-o", "json")...)
		if code != exitOK || out2 != out {
			t.Errorf("vmstor %v: exit %d, output differs from the default diff", args, code)
		}
	}
	if code, _, stderr := runCLI(t, "diff", "1", "--db", dsn); code != exitError || !strings.Contains(stderr, "oldest") {
		t.Errorf("diff of the oldest scan: exit %d, stderr %q", code, stderr)
	}

	code, out, _ = runCLI(t, "history", "--db", dsn, "-o", "csv")
	if code != exitOK || strings.Count(out, "\n") != 3 || !strings.HasPrefix(out, "SCAN,TIME,STATUS") {
		t.Errorf("history (scans): exit %d, output %q", code, out)
	}
	removed := ""
	for _, c := range want {
		if c.Kind == query.ChangeVMRemoved {
			removed = c.Object
		}
	}
	if removed == "" {
		t.Fatal("the mutation removed no VM")
	}
	code, out, _ = runCLI(t, "history", "--db", dsn, "-o", "json", removed)
	var hist []query.Change
	if err := json.Unmarshal([]byte(out), &hist); err != nil || code != exitOK {
		t.Fatalf("history %s: exit %d, %v", removed, code, err)
	}
	if len(hist) != 2 || hist[0].Kind != query.ChangeVMAdded || hist[1].Kind != query.ChangeVMRemoved {
		t.Errorf("history %s = %+v, want added then removed", removed, hist)
	}
}

func TestStoreCommandErrors(t *testing.T) {
	missing := "sqlite:" + filepath.Join(t.TempDir(), "none.db")
	for _, args := range [][]string{
		{"who-uses", "--db", missing, "x"},
		{"history", "--db", missing},
		{"diff", "--db", missing},
		{"who-uses", "--db", "postgres://vmstor:hunter2-secret@127.0.0.1:1/vmstor?connect_timeout=2", "x"},
	} {
		code, _, stderr := runCLI(t, args...)
		if code != exitError {
			t.Errorf("vmstor %v: exit %d, want %d", args, code, exitError)
		}
		if stderr == "" || strings.Contains(stderr, "hunter2-secret") {
			t.Errorf("vmstor %v: stderr %q (empty, or shows the password)", args, stderr)
		}
	}
}
