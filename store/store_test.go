package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/query"
	"github.com/vmstor/vmstor/store/storetest"
)

var t0 = time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)

// pgBase is the test server's URL (from .ci/setup.d/20-postgres.sh), or "".
func pgBase(t testing.TB) string {
	u := os.Getenv("VMSTOR_TEST_POSTGRES")
	if u == "" {
		if os.Getenv("VMSTOR_CI") == "1" {
			t.Fatal("VMSTOR_TEST_POSTGRES is not set: .ci/setup.d/20-postgres.sh should have started PostgreSQL and exported it")
		}
		t.Skip("no PostgreSQL: set VMSTOR_TEST_POSTGRES=postgres://... (see .ci/setup.d/20-postgres.sh)")
	}
	return u
}

// pgDSN returns a DSN on a fresh schema of the test server, dropped at the
// end of the test, so tests (and packages) never see each other's data.
func pgDSN(t testing.TB) string {
	base := pgBase(t)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		db.Close()
		t.Fatalf("creating schema on %s: %v", Redact(base), err)
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

func sqliteDSN(t testing.TB) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "vmstor.db")
}

// backends runs fn on SQLite and on PostgreSQL.
func backends(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, sqliteDSN(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, pgDSN(t)) })
}

func openT(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func save(t testing.TB, s *Store, inv *model.Inventory) ScanInfo {
	t.Helper()
	si, err := s.Save(context.Background(), inv)
	if err != nil {
		t.Fatal(err)
	}
	return si
}

var invOpts = cmp.Options{cmpopts.EquateEmpty()}

func small() *model.Inventory {
	return storetest.Generate(storetest.Shape{VMs: 60, DisksPerVM: 4, VMsPerHost: 20, LUNsPerHost: 6}, t0)
}

func TestSaveGet(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openT(t, dsn)
		if _, _, err := s.Latest(ctx); !errors.Is(err, ErrNoScans) {
			t.Fatalf("Latest of an empty store: err = %v, want ErrNoScans", err)
		}
		inv := small()
		inv.Errors = []model.ScanError{{Source: "linux:/", Object: "/dev/sdq", Message: "INQUIRY timed out", Hint: "check the path"}}
		si := save(t, s, inv)
		if si.ID != 1 || si.Status != StatusPartial || si.VMs != 60 || si.Disks != 240 || si.LUNs != len(inv.LUNs) {
			t.Errorf("ScanInfo = %+v", si)
		}
		got, err := s.Get(ctx, si.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(inv, got, invOpts); diff != "" {
			t.Errorf("Get(%d) differs from what was saved (-want +got):\n%s", si.ID, diff)
		}
		latest, lsi, err := s.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(inv, latest, invOpts); diff != "" {
			t.Errorf("Latest differs (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(si, lsi, invOpts); diff != "" {
			t.Errorf("Latest ScanInfo differs (-want +got):\n%s", diff)
		}
		scans, err := s.Scans(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]ScanInfo{si}, scans, invOpts); diff != "" {
			t.Errorf("Scans differs (-want +got):\n%s", diff)
		}
		if _, err := s.Get(ctx, 99); !errors.Is(err, ErrNoScan) {
			t.Errorf("Get(99): err = %v, want ErrNoScan", err)
		}
	})
}

func count(t testing.TB, s *Store, q string) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSaveUnchanged: a re-scan that finds the same state writes one row.
func TestSaveUnchanged(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		s := openT(t, dsn)
		inv := small()
		first := save(t, s, inv)
		objects := count(t, s, "SELECT COUNT(*) FROM objects")
		terms := count(t, s, "SELECT COUNT(*) FROM terms")
		if first.RowsWritten != int64(1+objects+terms) {
			t.Errorf("first scan RowsWritten = %d, want 1 + %d objects + %d terms", first.RowsWritten, objects, terms)
		}
		inv.ScannedAt = t0.Add(time.Hour)
		second := save(t, s, inv)
		if second.RowsWritten != 1 {
			t.Errorf("unchanged re-scan RowsWritten = %d, want 1", second.RowsWritten)
		}
		if n := count(t, s, "SELECT COUNT(*) FROM objects"); n != objects {
			t.Errorf("objects after an unchanged re-scan = %d, want %d", n, objects)
		}
		// One VM changes state: its VM row is replaced, nothing else.
		inv.VMs[3].State = "paused"
		third := save(t, s, inv)
		if third.RowsWritten != 1+1+1+2 { // scan, closed VM version, new VM version, its 2 terms (name, id)
			t.Errorf("one-VM change RowsWritten = %d, want 5", third.RowsWritten)
		}
	})
}

// history builds a sequence of inventories, each a mutation of the last.
func history(n int) []*model.Inventory {
	var invs []*model.Inventory
	inv := small()
	for i := range n {
		if i > 0 {
			inv = cloneInv(inv)
			storetest.Mutate(inv, 0.08, uint64(i), t0.Add(time.Duration(i)*time.Hour))
		}
		invs = append(invs, inv)
	}
	return invs
}

func cloneInv(inv *model.Inventory) *model.Inventory {
	// A deep copy through the store's own flattening would hide bugs;
	// copy by hand.
	c := *inv
	c.VMs = make([]model.VM, len(inv.VMs))
	for i, vm := range inv.VMs {
		vm.Disks = append([]model.Disk(nil), vm.Disks...)
		for j := range vm.Disks {
			vm.Disks[j].LUNs = append([]string(nil), vm.Disks[j].LUNs...)
		}
		c.VMs[i] = vm
	}
	c.LUNs = make([]model.LUN, len(inv.LUNs))
	for i, l := range inv.LUNs {
		l.Paths = append([]model.Path(nil), l.Paths...)
		c.LUNs[i] = l
	}
	return &c
}

// TestDiffAgainstQuery checks every stored state and the store's diffs
// against the query package's diff of the inventories themselves.
func TestDiffAgainstQuery(t *testing.T) {
	invs := history(5)
	backends(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openT(t, dsn)
		var ids []int64
		for _, inv := range invs {
			ids = append(ids, save(t, s, inv).ID)
		}
		for i, inv := range invs {
			got, err := s.Get(ctx, ids[i])
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(inv, got, invOpts); diff != "" {
				t.Errorf("Get(%d) (-want +got):\n%s", ids[i], diff)
			}
		}
		pairs := [][2]int{{0, 1}, {1, 2}, {3, 4}, {0, 4}, {4, 0}, {2, 2}}
		for _, p := range pairs {
			want := query.Diff(invs[p[0]], invs[p[1]])
			for i := range want {
				want[i].ScanID, want[i].Time = ids[p[1]], invs[p[1]].ScannedAt
			}
			got, err := s.Diff(ctx, ids[p[0]], ids[p[1]])
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, invOpts); diff != "" {
				t.Errorf("Diff(%d, %d) (-query +store):\n%s", ids[p[0]], ids[p[1]], diff)
			}
			if p[0] != p[1] && len(got) == 0 {
				t.Errorf("Diff(%d, %d) found no change; the mutation makes some", ids[p[0]], ids[p[1]])
			}
		}
		if _, err := s.Diff(ctx, 1, 77); !errors.Is(err, ErrNoScan) {
			t.Errorf("Diff to a missing scan: err = %v, want ErrNoScan", err)
		}
	})
}

func TestHistory(t *testing.T) {
	invs := history(5)
	// A VM that changes state, has a disk moved, then is removed.
	vm := &invs[0].VMs[7]
	name := vm.Name
	for i := 1; i < len(invs); i++ {
		for j := range invs[i].VMs {
			if invs[i].VMs[j].Name != name {
				continue
			}
			switch i {
			case 1:
				invs[i].VMs[j].State = "shut off"
			case 2:
				invs[i].VMs[j].Disks[0].Datastore = "elsewhere"
			case 3:
				invs[i].VMs = append(invs[i].VMs[:j], invs[i].VMs[j+1:]...)
			}
			break
		}
	}
	lun := invs[0].LUNs[2].ID
	backends(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openT(t, dsn)
		var ids []int64
		for _, inv := range invs {
			ids = append(ids, save(t, s, inv).ID)
		}
		// The expected history, from the query package's diffs.
		var wantVM, wantLUN []Change
		for i := range invs {
			var before *model.Inventory = &model.Inventory{}
			if i > 0 {
				before = invs[i-1]
			}
			for _, c := range query.Diff(before, invs[i]) {
				c.ScanID, c.Time = ids[i], invs[i].ScannedAt
				if c.Object == name || strings.HasPrefix(c.Object, name+"/") {
					wantVM = append(wantVM, c)
				}
				if c.Object == lun {
					wantLUN = append(wantLUN, c)
				}
			}
		}
		if len(wantVM) < 4 {
			t.Fatalf("test history too thin: %v", wantVM)
		}
		for _, q := range []string{name, strings.ToUpper(name), invs[0].VMs[7].ID} {
			got, err := s.History(ctx, q, 0)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantVM, got, invOpts); diff != "" {
				t.Errorf("History(%q) (-want +got):\n%s", q, diff)
			}
		}
		got, err := s.History(ctx, strings.TrimPrefix(lun, "naa."), 0)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantLUN, got, invOpts); diff != "" {
			t.Errorf("History(LUN) (-want +got):\n%s", diff)
		}
		got, err = s.History(ctx, name, 2)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantVM[len(wantVM)-2:], got, invOpts); diff != "" {
			t.Errorf("History(limit 2) (-want +got):\n%s", diff)
		}
		if got, err := s.History(ctx, "no-such-vm", 0); err != nil || len(got) != 0 {
			t.Errorf("History(no-such-vm) = %v, %v; want nothing", got, err)
		}
	})
}

func whoUsesQueries(inv *model.Inventory) []string {
	pt := ""
	for _, vm := range inv.VMs {
		if len(vm.Disks) > 2 {
			pt = vm.Disks[2].Source // a pass-through device
			break
		}
	}
	return []string{
		inv.LUNs[0].ID, strings.ToUpper(strings.TrimPrefix(inv.LUNs[5].ID, "naa.")), storetest.Serial(3),
		"dm-4", "/dev/dm-4", "/dev/mapper/mpath2", "sd6", "/dev/sd7",
		storetest.Datastore(1, 0), "mnt:1", "ds1", storetest.Export(2), "filer1", "pure-x70", "HPE",
		pt, "nothing-here", "sd",
	}
}

// TestWhoUsesAgainstQuery checks the store's indexed who-uses against the
// query package run over the whole inventory.
func TestWhoUsesAgainstQuery(t *testing.T) {
	invs := history(3)
	last := invs[len(invs)-1]
	backends(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openT(t, dsn)
		for _, inv := range invs {
			save(t, s, inv)
		}
		for _, q := range whoUsesQueries(last) {
			want := query.WhoUses(last, q)
			got, err := s.WhoUses(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, invOpts); diff != "" {
				t.Errorf("WhoUses(%q) (-query +store):\n%s", q, diff)
			}
			if q != "nothing-here" && q != "sd" && len(got) == 0 {
				t.Errorf("WhoUses(%q) found nothing; the generated inventory has users", q)
			}
		}
	})
}

// TestFailedScans: a scan that found nothing does not replace the state; a
// scan where a whole source failed does not report its objects removed.
func TestFailedScans(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openT(t, dsn)
		inv := small()
		good := save(t, s, inv)
		failed := save(t, s, &model.Inventory{ScannedAt: t0.Add(time.Hour), Sources: []string{"libvirt:qemu:///system"},
			Errors: []model.ScanError{{Source: "libvirt:qemu:///system", Message: "connection refused"}}})
		if failed.Status != StatusFailed || failed.VMs != len(inv.VMs) {
			t.Errorf("failed scan info = %+v, want status failed and the kept %d VMs", failed, len(inv.VMs))
		}
		got, si, err := s.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if si.ID != good.ID {
			t.Errorf("Latest is scan %d, want the last good one %d", si.ID, good.ID)
		}
		if diff := cmp.Diff(inv, got, invOpts); diff != "" {
			t.Errorf("state after a failed scan (-want +got):\n%s", diff)
		}
		// Half the VMs missing because their source failed: kept.
		part := cloneInv(inv)
		part.ScannedAt = t0.Add(2 * time.Hour)
		part.VMs = part.VMs[:len(part.VMs)/2]
		part.VMs[0].State = "paused"
		part.Errors = []model.ScanError{{Source: "libvirt:qemu+ssh://kvm2/system", Message: "unreachable"}}
		psi := save(t, s, part)
		if psi.Status != StatusPartial || psi.VMs != len(inv.VMs) {
			t.Errorf("partial scan info = %+v, want partial with %d VMs", psi, len(inv.VMs))
		}
		cs, err := s.Diff(ctx, good.ID, psi.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []Change{{ScanID: psi.ID, Time: part.ScannedAt, Kind: query.ChangeVMState, Object: inv.VMs[0].Name, Before: "running", After: "paused"}}
		if diff := cmp.Diff(want, cs); diff != "" {
			t.Errorf("diff across a partial scan (-want +got):\n%s", diff)
		}
		scans, err := s.Scans(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(scans) != 3 || scans[1].Status != StatusFailed || scans[1].Errors[0].Message != "connection refused" {
			t.Errorf("Scans = %+v", scans)
		}
	})
}

// TestSaveCancelled: a save that fails part-way leaves no trace.
func TestSaveCancelled(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		s := openT(t, dsn)
		save(t, s, small())
		objects := count(t, s, "SELECT COUNT(*) FROM objects")
		big := storetest.Generate(storetest.Default(3000), t0.Add(time.Hour))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		if _, err := s.Save(ctx, big); err == nil {
			t.Skip("the save finished within 30 ms; nothing to cancel on this machine")
		}
		if n := count(t, s, "SELECT COUNT(*) FROM scans"); n != 1 {
			t.Errorf("scans after a cancelled save = %d, want 1", n)
		}
		if n := count(t, s, "SELECT COUNT(*) FROM objects"); n != objects {
			t.Errorf("objects after a cancelled save = %d, want %d", n, objects)
		}
	})
}

func TestPrune(t *testing.T) {
	invs := history(5)
	for i, inv := range invs {
		inv.ScannedAt = t0.Add(time.Duration(i) * 24 * time.Hour)
	}
	backends(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		s := openT(t, dsn)
		var ids []int64
		for _, inv := range invs {
			ids = append(ids, save(t, s, inv).ID)
		}
		before := count(t, s, "SELECT COUNT(*) FROM objects")
		s.now = func() time.Time { return invs[4].ScannedAt }
		n, err := s.Prune(ctx, 60*time.Hour) // keeps scans 3, 4, 5
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Errorf("Prune deleted %d scans, want 2", n)
		}
		if after := count(t, s, "SELECT COUNT(*) FROM objects"); after >= before {
			t.Errorf("objects after prune = %d, not fewer than %d", after, before)
		}
		for i := 2; i < 5; i++ {
			got, err := s.Get(ctx, ids[i])
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(invs[i], got, invOpts); diff != "" {
				t.Errorf("Get(%d) after prune (-want +got):\n%s", ids[i], diff)
			}
		}
		if _, err := s.Get(ctx, ids[0]); !errors.Is(err, ErrNoScan) {
			t.Errorf("Get of a pruned scan: err = %v, want ErrNoScan", err)
		}
		// Every remaining index term belongs to a remaining version.
		if n := count(t, s, "SELECT COUNT(*) FROM terms WHERE obj NOT IN (SELECT id FROM objects)"); n != 0 {
			t.Errorf("%d index terms left for deleted versions", n)
		}
		if want, got := termCount(t, s), count(t, s, "SELECT COUNT(*) FROM terms"); got != want {
			t.Errorf("terms = %d, want %d (recomputed from the kept versions)", got, want)
		}
		for _, q := range whoUsesQueries(invs[4]) {
			got, err := s.WhoUses(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(query.WhoUses(invs[4], q), got, invOpts); diff != "" {
				t.Errorf("WhoUses(%q) after prune (-query +store):\n%s", q, diff)
			}
		}
		// Everything older than the last scan: the last one stays.
		if n, err := s.Prune(ctx, 0); err != nil || n != 2 {
			t.Errorf("Prune(0) = %d, %v; want 2 scans deleted", n, err)
		}
		if _, si, err := s.Latest(ctx); err != nil || si.ID != ids[4] {
			t.Errorf("Latest after Prune(0) = scan %d, %v; want %d", si.ID, err, ids[4])
		}
	})
}

func termCount(t testing.TB, s *Store) int {
	rows, err := s.db.Query("SELECT id, kind, key, data FROM objects")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id int64
		var kind, key string
		var data []byte
		if err := rows.Scan(&id, &kind, &key, &data); err != nil {
			t.Fatal(err)
		}
		hs, err := termsOfJSON(kind, key, data)
		if err != nil {
			t.Fatal(err)
		}
		n += len(hs)
	}
	return n
}

// TestMigrations: a store at schema 1 with data is brought to the current
// schema (the index is rebuilt from the stored objects); a store from a
// newer vmstor is refused.
func TestMigrations(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		ctx := context.Background()
		inv := small()
		s := openT(t, dsn)
		save(t, s, inv)
		terms := count(t, s, "SELECT COUNT(*) FROM terms")
		// Back to schema 1, as a store written before the index existed.
		if _, err := s.db.Exec("DROP TABLE terms"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.Exec("DELETE FROM schema_migrations WHERE version = 2"); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s = openT(t, dsn)
		if n := count(t, s, "SELECT COUNT(*) FROM terms"); n != terms {
			t.Errorf("terms after migration 2 = %d, want %d", n, terms)
		}
		if n := count(t, s, "SELECT MAX(version) FROM schema_migrations"); n != len(migrations) {
			t.Errorf("schema version = %d, want %d", n, len(migrations))
		}
		q := inv.LUNs[4].ID
		got, err := s.WhoUses(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(query.WhoUses(inv, q), got, invOpts); diff != "" {
			t.Errorf("WhoUses after migration (-want +got):\n%s", diff)
		}
		s.Close()
		s = openT(t, dsn) // idempotent
		if _, err := s.db.Exec("INSERT INTO schema_migrations (version, applied_at) VALUES (99, 0)"); err != nil {
			t.Fatal(err)
		}
		s.Close()
		_, err = Open(ctx, dsn)
		if err == nil || !strings.Contains(err.Error(), "schema version 99") {
			t.Errorf("Open of a newer store: err = %v, want a schema version error", err)
		}
	})
}

// TestConcurrentWriters: two processes' worth of stores on one file queue
// on the write lock and both scans land.
func TestConcurrentWriters(t *testing.T) {
	backends(t, func(t *testing.T, dsn string) {
		a, b := openT(t, dsn), openT(t, dsn)
		errs := make(chan error, 2)
		for i, s := range []*Store{a, b} {
			go func() {
				inv := small()
				inv.VMs[0].State = "state" + string(rune('a'+i))
				for range 3 {
					if _, err := s.Save(context.Background(), inv); err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		if n := count(t, a, "SELECT COUNT(*) FROM scans"); n != 6 {
			t.Errorf("scans = %d, want 6", n)
		}
		if n := count(t, a, "SELECT COUNT(*) FROM objects WHERE to_scan IS NULL AND kind = 'vm'"); n != 60 {
			t.Errorf("current VMs = %d, want 60", n)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, dsn := range []string{"mysql://x", "sqlite:", "sqlite:/tmp/a?b.db", "/tmp/x.db"} {
		if _, err := Open(ctx, dsn); err == nil {
			t.Errorf("Open(%q) succeeded, want an error", dsn)
		}
	}
	// The password must not appear in any message.
	_, err := Open(ctx, "postgres://vmstor:s3cr3t-pw@127.0.0.1:1/vmstor?connect_timeout=2")
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	if strings.Contains(err.Error(), "s3cr3t-pw") {
		t.Errorf("error shows the password: %v", err)
	}
	if got := Redact("postgres://vmstor:s3cr3t-pw@db.example/vmstor"); strings.Contains(got, "s3cr3t-pw") {
		t.Errorf("Redact = %q", got)
	}
}

func TestDefaultDSN(t *testing.T) {
	t.Setenv("VMSTOR_DB", "")
	t.Setenv("XDG_STATE_HOME", "/state")
	if got, want := DefaultDSN(), "sqlite:/state/vmstor/vmstor.db"; got != want {
		t.Errorf("DefaultDSN() = %q, want %q", got, want)
	}
	t.Setenv("VMSTOR_DB", "postgres://db/vmstor")
	if got := DefaultDSN(); got != "postgres://db/vmstor" {
		t.Errorf("DefaultDSN() with VMSTOR_DB = %q", got)
	}
}

// TestSaveZeroTime: a scan without a time is stamped when it is stored.
func TestSaveZeroTime(t *testing.T) {
	s := openT(t, sqliteDSN(t))
	now := time.Date(2026, 11, 3, 4, 5, 6, 7, time.UTC)
	s.now = func() time.Time { return now }
	inv := small()
	inv.ScannedAt = time.Time{}
	si := save(t, s, inv)
	if !si.Time.Equal(now) {
		t.Errorf("ScanInfo.Time = %v, want %v", si.Time, now)
	}
	_, got, err := s.Latest(context.Background())
	if err != nil || !got.Time.Equal(now) {
		t.Errorf("Latest time = %v, %v; want %v", got.Time, err, now)
	}
}
