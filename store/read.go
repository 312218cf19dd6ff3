package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/query"
)

const scanCols = `id, scanned_at, duration_seconds, status, sources, errors, vms, disks, luns, rows_written`

func scanScan(row interface{ Scan(...any) error }) (ScanInfo, error) {
	var si ScanInfo
	var at int64
	var sources, errs string
	if err := row.Scan(&si.ID, &at, &si.DurationSeconds, &si.Status, &sources, &errs, &si.VMs, &si.Disks, &si.LUNs, &si.RowsWritten); err != nil {
		return si, err
	}
	si.Time = time.Unix(0, at).UTC()
	if err := json.Unmarshal([]byte(sources), &si.Sources); err != nil {
		return si, fmt.Errorf("scan %d: sources: %w", si.ID, err)
	}
	if err := json.Unmarshal([]byte(errs), &si.Errors); err != nil {
		return si, fmt.Errorf("scan %d: errors: %w", si.ID, err)
	}
	if len(si.Sources) == 0 {
		si.Sources = nil
	}
	if len(si.Errors) == 0 {
		si.Errors = nil
	}
	return si, nil
}

func (s *Store) scanInfo(ctx context.Context, q querier, id int64) (ScanInfo, error) {
	si, err := scanScan(q.QueryRowContext(ctx, s.rebind(`SELECT `+scanCols+` FROM scans WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return si, fmt.Errorf("scan %d: %w", id, ErrNoScan)
	}
	return si, err
}

// Scans lists the stored scans, newest first; limit <= 0 lists all.
func (s *Store) Scans(ctx context.Context, limit int) ([]ScanInfo, error) {
	q := `SELECT ` + scanCols + ` FROM scans ORDER BY id DESC`
	var args []any
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("store %s: listing scans: %w", s.dsn, err)
	}
	defer rows.Close()
	var out []ScanInfo
	for rows.Next() {
		si, err := scanScan(rows)
		if err != nil {
			return nil, fmt.Errorf("store %s: listing scans: %w", s.dsn, err)
		}
		out = append(out, si)
	}
	return out, rows.Err()
}

// Latest returns the stored state as of the last scan that was applied
// (a failed scan leaves the state as it was; Scans lists it).
func (s *Store) Latest(ctx context.Context) (*model.Inventory, ScanInfo, error) {
	var inv *model.Inventory
	var si ScanInfo
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		si, err = scanScan(tx.QueryRowContext(ctx, `SELECT `+scanCols+` FROM scans WHERE status <> 'failed' ORDER BY id DESC LIMIT 1`))
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNoScans
		}
		if err != nil {
			return err
		}
		o, err := s.objectsWhere(ctx, tx, `to_scan IS NULL`)
		if err != nil {
			return err
		}
		inv = inventoryOf(o, si)
		return nil
	})
	if err != nil {
		return nil, ScanInfo{}, fmt.Errorf("store %s: %w", s.dsn, err)
	}
	return inv, si, nil
}

// Get returns the state as of scan scanID.
func (s *Store) Get(ctx context.Context, scanID int64) (*model.Inventory, error) {
	var inv *model.Inventory
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		si, err := s.scanInfo(ctx, tx, scanID)
		if err != nil {
			return err
		}
		o, err := s.objectsWhere(ctx, tx, `from_scan <= ? AND (to_scan IS NULL OR to_scan > ?)`, scanID, scanID)
		if err != nil {
			return err
		}
		inv = inventoryOf(o, si)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.dsn, err)
	}
	return inv, nil
}

func inventoryOf(o *query.Objects, si ScanInfo) *model.Inventory {
	inv := o.Inventory()
	inv.ScannedAt = si.Time
	inv.DurationSeconds = si.DurationSeconds
	inv.Sources = si.Sources
	inv.Errors = si.Errors
	return inv
}

func (s *Store) objectsWhere(ctx context.Context, q querier, where string, args ...any) (*query.Objects, error) {
	rows, err := q.QueryContext(ctx, s.rebind(`SELECT kind, key, data FROM objects WHERE `+where), args...)
	if err != nil {
		return nil, fmt.Errorf("reading objects: %w", err)
	}
	defer rows.Close()
	// Decoding the JSON is most of the cost of reading a whole state:
	// rows are read here and decoded on every core.
	type raw struct {
		kind, key string
		data      []byte
	}
	workers := min(runtime.GOMAXPROCS(0), 8)
	chans := make([]chan []raw, workers)
	parts := make([]*query.Objects, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		chans[w] = make(chan []raw, 4)
		parts[w] = query.NewObjects()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range chans[w] {
				for _, r := range batch {
					if errs[w] == nil {
						errs[w] = decodeInto(parts[w], r.kind, r.key, r.data)
					}
				}
			}
		}()
	}
	var batch []raw
	next := 0
	send := func() {
		chans[next] <- batch
		next = (next + 1) % workers
		batch = nil
	}
	for rows.Next() {
		var r raw
		if err = rows.Scan(&r.kind, &r.key, &r.data); err != nil {
			break
		}
		batch = append(batch, r)
		if len(batch) == 256 {
			send()
		}
	}
	if err == nil {
		err = rows.Err()
	}
	if len(batch) > 0 {
		send()
	}
	for _, c := range chans {
		close(c)
	}
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("reading objects: %w", err)
	}
	o := parts[0]
	for w, p := range parts {
		if errs[w] != nil {
			return nil, errs[w]
		}
		if w == 0 {
			continue
		}
		maps.Copy(o.Hosts, p.Hosts)
		maps.Copy(o.VMs, p.VMs)
		maps.Copy(o.Disks, p.Disks)
		maps.Copy(o.LUNs, p.LUNs)
		maps.Copy(o.Resources, p.Resources)
	}
	return o, nil
}

// decodeInto adds a stored object to o.
func decodeInto(o *query.Objects, kind, key string, data []byte) error {
	var err error
	switch kind {
	case query.KindHost:
		var v model.Host
		err = json.Unmarshal(data, &v)
		o.Hosts[key] = v
	case query.KindVM:
		var v model.VM
		err = json.Unmarshal(data, &v)
		o.VMs[key] = v
	case query.KindDisk:
		var v query.DiskRec
		err = json.Unmarshal(data, &v)
		o.Disks[key] = v
	case query.KindLUN:
		var v model.LUN
		err = json.Unmarshal(data, &v)
		o.LUNs[key] = v
	case query.KindResource:
		var v model.Resource
		err = json.Unmarshal(data, &v)
		o.Resources[key] = v
	default:
		err = errors.New("unknown kind")
	}
	if err != nil {
		return fmt.Errorf("stored %s %q: %w", kind, key, err)
	}
	return nil
}

// version is one stored version of an object.
type version struct {
	id        int64
	kind, key string
	from      int64
	to        sql.NullInt64
	data      []byte
}

func (v *version) validAt(scan int64) bool {
	return v.from <= scan && (!v.to.Valid || v.to.Int64 > scan)
}

func (s *Store) versions(ctx context.Context, q querier, where string, args ...any) ([]version, error) {
	rows, err := q.QueryContext(ctx, s.rebind(`SELECT o.id, o.kind, o.key, o.from_scan, o.to_scan, o.data FROM `+where), args...)
	if err != nil {
		return nil, fmt.Errorf("reading object versions: %w", err)
	}
	defer rows.Close()
	var out []version
	seen := map[int64]bool{}
	for rows.Next() {
		var v version
		if err := rows.Scan(&v.id, &v.kind, &v.key, &v.from, &v.to, &v.data); err != nil {
			return nil, fmt.Errorf("reading object versions: %w", err)
		}
		if !seen[v.id] {
			seen[v.id] = true
			out = append(out, v)
		}
	}
	return out, rows.Err()
}

// objectsAt picks the versions valid at scan.
func objectsAt(vs []version, scan int64) (*query.Objects, error) {
	o := query.NewObjects()
	for i := range vs {
		if vs[i].validAt(scan) {
			if err := decodeInto(o, vs[i].kind, vs[i].key, vs[i].data); err != nil {
				return nil, err
			}
		}
	}
	return o, nil
}

// Diff lists what changed from scan from to scan to. Only the object
// versions that begin or end between the two scans are read.
func (s *Store) Diff(ctx context.Context, from, to int64) ([]Change, error) {
	var cs []Change
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.scanInfo(ctx, tx, from); err != nil {
			return err
		}
		toInfo, err := s.scanInfo(ctx, tx, to)
		if err != nil {
			return err
		}
		lo, hi := min(from, to), max(from, to)
		vs, err := s.versions(ctx, tx, `objects o WHERE (o.from_scan > ? AND o.from_scan <= ?) OR (o.to_scan > ? AND o.to_scan <= ?)`, lo, hi, lo, hi)
		if err != nil {
			return err
		}
		before, err := objectsAt(vs, from)
		if err != nil {
			return err
		}
		after, err := objectsAt(vs, to)
		if err != nil {
			return err
		}
		cs = query.DiffObjects(before, after)
		for i := range cs {
			cs[i].ScanID, cs[i].Time = to, toInfo.Time
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store %s: diff %d..%d: %w", s.dsn, from, to, err)
	}
	return cs, nil
}

// History lists what changed over the stored scans for one VM (by name or
// id; with its disks) or one LUN (by id, with or without its naa.
// prefix, or serial): the last limit changes (all when limit <= 0), oldest
// first. An object the store never saw gives no changes.
func (s *Store) History(ctx context.Context, object string, limit int) ([]Change, error) {
	qs := query.QueryTerms(object)
	if len(qs) == 0 {
		return nil, fmt.Errorf("history: name a VM or a LUN")
	}
	want := map[string]bool{}
	for _, q := range qs {
		want[q] = true
	}
	var cs []Change
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		hs := dedupHashes(qs)
		found, err := s.versions(ctx, tx, `terms t JOIN objects o ON o.id = t.obj WHERE t.h IN (`+placeholders(len(hs))+`) AND o.kind IN ('vm', 'lun')`, int64sToAny(hs)...)
		if err != nil {
			return err
		}
		vmKeys, lunKeys := map[string]bool{}, map[string]bool{}
		for _, v := range found {
			switch v.kind {
			case query.KindVM:
				var vm model.VM
				if err := json.Unmarshal(v.data, &vm); err != nil {
					return fmt.Errorf("stored vm %q: %w", v.key, err)
				}
				if want[query.Norm(vm.Name)] || want[query.Norm(vm.ID)] {
					vmKeys[v.key] = true
				}
			case query.KindLUN:
				var l model.LUN
				if err := json.Unmarshal(v.data, &l); err != nil {
					return fmt.Errorf("stored lun %q: %w", v.key, err)
				}
				for _, t := range query.LUNTerms(&l) {
					if (t.Via == query.ViaLUN || t.Via == query.ViaSerial) && want[t.Value] {
						lunKeys[v.key] = true
					}
				}
			}
		}
		var all []version
		for _, set := range []struct {
			kind string
			keys map[string]bool
		}{{query.KindVM, vmKeys}, {query.KindLUN, lunKeys}} {
			ks := sortedKeys(set.keys)
			for len(ks) > 0 {
				n := min(len(ks), idBatch)
				var args []any
				for _, k := range ks[:n] {
					args = append(args, k)
				}
				// The partial index's own condition, word for word:
				// SQLite uses a partial index only when the query
				// repeats it.
				vs, err := s.versions(ctx, tx, `objects o WHERE o.kind IN ('vm', 'lun') AND o.kind = '`+set.kind+`' AND o.key IN (`+placeholders(n)+`)`, args...)
				if err != nil {
					return err
				}
				all = append(all, vs...)
				ks = ks[n:]
			}
		}
		// A VM's disks, found through the VM term indexed on each of them.
		var dh []int64
		for k := range vmKeys {
			dh = append(dh, termHash(vmTerm(k)))
		}
		for len(dh) > 0 {
			n := min(len(dh), idBatch)
			vs, err := s.versions(ctx, tx, `terms t JOIN objects o ON o.id = t.obj WHERE t.h IN (`+placeholders(n)+`) AND o.kind = 'disk'`, int64sToAny(dh[:n])...)
			if err != nil {
				return err
			}
			for _, v := range vs {
				var d query.DiskRec
				if err := json.Unmarshal(v.data, &d); err == nil && vmKeys[d.VMKey] {
					all = append(all, v)
				}
			}
			dh = dh[n:]
		}
		cs, err = s.changesOver(ctx, tx, all)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store %s: history of %q: %w", s.dsn, object, err)
	}
	if limit > 0 && len(cs) > limit {
		cs = cs[len(cs)-limit:]
	}
	return cs, nil
}

// changesOver replays versions scan by scan: at each scan where a version
// begins or ends, it diffs the versions valid just before with those valid
// at that scan. Scans that were pruned are skipped: what came before them is
// no longer known.
func (s *Store) changesOver(ctx context.Context, q querier, vs []version) ([]Change, error) {
	points := map[int64]bool{}
	for _, v := range vs {
		points[v.from] = true
		if v.to.Valid {
			points[v.to.Int64] = true
		}
	}
	var scans []int64
	for p := range points {
		scans = append(scans, p)
	}
	sort.Slice(scans, func(i, j int) bool { return scans[i] < scans[j] })
	var out []Change
	for _, e := range scans {
		si, err := s.scanInfo(ctx, q, e)
		if errors.Is(err, ErrNoScan) {
			continue
		}
		if err != nil {
			return nil, err
		}
		before, after := query.NewObjects(), query.NewObjects()
		for i := range vs {
			v := &vs[i]
			if v.from < e && (!v.to.Valid || v.to.Int64 >= e) {
				if err := decodeInto(before, v.kind, v.key, v.data); err != nil {
					return nil, err
				}
			}
			if v.validAt(e) {
				if err := decodeInto(after, v.kind, v.key, v.data); err != nil {
					return nil, err
				}
			}
		}
		cs := query.DiffObjects(before, after)
		for i := range cs {
			cs[i].ScanID, cs[i].Time = e, si.Time
		}
		out = append(out, cs...)
	}
	return out, nil
}

func int64sToAny(xs []int64) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}
