package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"runtime"
	"sort"
	"sync"

	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/query"
)

// obj is one object of a scan, encoded for storing.
type obj struct {
	kind, key string
	hash      int64
	data      []byte
	terms     []int64
}

type kindKey struct{ kind, key string }

// encode splits inv into objects in a fixed order (kind, key). The JSON and
// the index terms are computed on every core: for a large scan they cost as
// much as the inserts.
func encode(inv *model.Inventory) ([]obj, error) {
	o := query.Flatten(inv)
	type item struct {
		kind, key string
		v         any
		terms     func() []string
	}
	items := make([]item, 0, len(o.Hosts)+len(o.VMs)+len(o.Disks)+len(o.LUNs)+len(o.Resources))
	for _, k := range sortedKeys(o.Hosts) {
		items = append(items, item{query.KindHost, k, o.Hosts[k], func() []string { return nil }})
	}
	for _, k := range sortedKeys(o.VMs) {
		vm := o.VMs[k]
		items = append(items, item{query.KindVM, k, &vm, func() []string { return vmTerms(k, &vm) }})
	}
	for _, k := range sortedKeys(o.Disks) {
		d := o.Disks[k]
		items = append(items, item{query.KindDisk, k, &d, func() []string { return diskTerms(&d) }})
	}
	for _, k := range sortedKeys(o.LUNs) {
		l := o.LUNs[k]
		items = append(items, item{query.KindLUN, k, &l, func() []string { return lunTerms(&l) }})
	}
	for _, k := range sortedKeys(o.Resources) {
		r := o.Resources[k]
		items = append(items, item{query.KindResource, k, &r, func() []string { return resTerms(&r) }})
	}
	out := make([]obj, len(items))
	workers := min(runtime.GOMAXPROCS(0), 8)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(items); i += workers {
				it := &items[i]
				data, err := json.Marshal(it.v)
				if err != nil {
					errs[w] = fmt.Errorf("encoding %s %q: %w", it.kind, it.key, err)
					return
				}
				h := fnv.New64a()
				h.Write(data)
				out[i] = obj{kind: it.kind, key: it.key, hash: int64(h.Sum64()), data: data, terms: dedupHashes(it.terms())}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// status classifies a scan. A scan that found nothing and reported errors
// failed: storing it as the new state would report every VM removed.
func status(inv *model.Inventory) string {
	switch {
	case len(inv.Errors) == 0:
		return StatusOK
	case len(inv.VMs) == 0 && len(inv.LUNs) == 0 && len(inv.Resources) == 0:
		return StatusFailed
	default:
		return StatusPartial
	}
}

// sourceFailed reports whether a whole source failed (an error with no
// object): what it would have reported is missing, not gone.
func sourceFailed(inv *model.Inventory) bool {
	for _, e := range inv.Errors {
		if e.Object == "" {
			return true
		}
	}
	return false
}

// Save stores inv as a new scan, in one transaction: either the whole scan is
// stored or nothing is. Only objects that are new or changed since the stored
// state are written; objects that are gone are closed. Two kinds of failed
// scans never replace what is stored: a scan that found nothing and reported
// errors is recorded (status failed) without touching the state, and when a
// whole source failed (an error without an object) objects missing from the
// scan are kept as they were rather than reported removed.
func (s *Store) Save(ctx context.Context, inv *model.Inventory) (ScanInfo, error) {
	if inv == nil {
		return ScanInfo{}, errors.New("store: Save of a nil inventory")
	}
	objs, err := encode(inv)
	if err != nil {
		return ScanInfo{}, err
	}
	at := inv.ScannedAt.UTC()
	if at.IsZero() {
		// A scan without a time is stamped when stored (and the zero
		// time has no Unix nanoseconds).
		at = s.now().UTC()
	}
	info := ScanInfo{
		Time: at, Sources: inv.Sources, DurationSeconds: inv.DurationSeconds,
		Errors: inv.Errors, Status: status(inv),
	}
	sources, err := json.Marshal(nonNil(inv.Sources))
	if err != nil {
		return ScanInfo{}, err
	}
	errs, err := json.Marshal(nonNil(inv.Errors))
	if err != nil {
		return ScanInfo{}, err
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM scans`).Scan(&info.ID); err != nil {
			return fmt.Errorf("allocating a scan id: %w", err)
		}
		cur, err := s.current(ctx, tx)
		if err != nil {
			return err
		}
		var inserts []*obj
		var closes []int64
		counts := map[string]int{}
		if info.Status == StatusFailed {
			for k := range cur {
				counts[k.kind]++
			}
		} else {
			seen := make(map[kindKey]bool, len(objs))
			for i := range objs {
				o := &objs[i]
				k := kindKey{o.kind, o.key}
				seen[k] = true
				counts[o.kind]++
				c, ok := cur[k]
				if ok && c.hash == o.hash {
					continue
				}
				if ok {
					closes = append(closes, c.id)
				}
				inserts = append(inserts, o)
			}
			carry := sourceFailed(inv)
			for k, c := range cur {
				if seen[k] {
					continue
				}
				if carry {
					counts[k.kind]++
					continue
				}
				closes = append(closes, c.id)
			}
		}
		sort.Slice(closes, func(i, j int) bool { return closes[i] < closes[j] })
		info.VMs, info.Disks, info.LUNs = counts[query.KindVM], counts[query.KindDisk], counts[query.KindLUN]
		nterms := 0
		for _, o := range inserts {
			nterms += len(o.terms)
		}
		info.RowsWritten = int64(1 + len(closes) + len(inserts) + nterms)

		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO scans
			(id, scanned_at, stored_at, duration_seconds, status, sources, errors, vms, disks, luns, rows_written)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			info.ID, at.UnixNano(), s.now().UnixNano(), inv.DurationSeconds, info.Status,
			string(sources), string(errs), info.VMs, info.Disks, info.LUNs, info.RowsWritten); err != nil {
			return fmt.Errorf("storing scan %d: %w", info.ID, err)
		}
		if err := s.closeVersions(ctx, tx, closes, info.ID); err != nil {
			return err
		}
		return s.insertObjects(ctx, tx, inserts, info.ID)
	})
	if err != nil {
		return ScanInfo{}, fmt.Errorf("store %s: saving scan: %w", s.dsn, err)
	}
	return info, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

type curRow struct{ id, hash int64 }

// current loads the id and hash of every current object version.
func (s *Store) current(ctx context.Context, tx *sql.Tx) (map[kindKey]curRow, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, kind, key, hash FROM objects WHERE to_scan IS NULL`)
	if err != nil {
		return nil, fmt.Errorf("reading the stored state: %w", err)
	}
	defer rows.Close()
	cur := map[kindKey]curRow{}
	for rows.Next() {
		var k kindKey
		var c curRow
		if err := rows.Scan(&c.id, &k.kind, &k.key, &c.hash); err != nil {
			return nil, fmt.Errorf("reading the stored state: %w", err)
		}
		cur[k] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the stored state: %w", err)
	}
	return cur, nil
}

// Batch sizes: a multi-row INSERT amortises the per-statement cost while
// staying under both engines' limits on bound parameters.
const (
	objBatch  = 200
	termBatch = 1000
	idBatch   = 500
)

func (s *Store) closeVersions(ctx context.Context, tx *sql.Tx, ids []int64, scan int64) error {
	for len(ids) > 0 {
		n := min(len(ids), idBatch)
		args := make([]any, 0, n+1)
		args = append(args, scan)
		for _, id := range ids[:n] {
			args = append(args, id)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE objects SET to_scan = ? WHERE id IN (`+placeholders(n)+`)`), args...); err != nil {
			return fmt.Errorf("closing changed objects: %w", err)
		}
		ids = ids[n:]
	}
	return nil
}

func (s *Store) insertObjects(ctx context.Context, tx *sql.Tx, objs []*obj, scan int64) error {
	if len(objs) == 0 {
		return nil
	}
	var next int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM objects`).Scan(&next); err != nil {
		return fmt.Errorf("allocating object ids: %w", err)
	}
	var terms []termRow
	b := s.newBatcher(tx, `INSERT INTO objects (id, kind, key, hash, from_scan, data) VALUES `, "(?,?,?,?,?,?)", objBatch)
	defer b.close()
	for len(objs) > 0 {
		n := min(len(objs), objBatch)
		args := make([]any, 0, n*6)
		for _, o := range objs[:n] {
			args = append(args, next, o.kind, o.key, o.hash, scan, string(o.data))
			for _, h := range o.terms {
				terms = append(terms, termRow{h, next})
			}
			next++
		}
		if err := b.exec(ctx, n, args); err != nil {
			return fmt.Errorf("storing objects: %w", err)
		}
		objs = objs[n:]
	}
	_, err := s.insertTerms(ctx, tx, terms)
	return err
}

func (s *Store) insertTerms(ctx context.Context, tx *sql.Tx, terms []termRow) (int, error) {
	// In key order, each batch touches neighbouring index pages.
	sort.Slice(terms, func(i, j int) bool {
		if terms[i].h != terms[j].h {
			return terms[i].h < terms[j].h
		}
		return terms[i].obj < terms[j].obj
	})
	b := s.newBatcher(tx, `INSERT INTO terms (h, obj) VALUES `, "(?,?)", termBatch)
	defer b.close()
	total := 0
	for len(terms) > 0 {
		n := min(len(terms), termBatch)
		args := make([]any, 0, 2*n)
		for _, t := range terms[:n] {
			args = append(args, t.h, t.obj)
		}
		if err := b.exec(ctx, n, args); err != nil {
			return total, fmt.Errorf("indexing objects: %w", err)
		}
		total += n
		terms = terms[n:]
	}
	return total, nil
}

// batcher runs multi-row INSERTs, preparing the full-size statement once:
// parsing a statement of a thousand tuples costs as much as running it.
type batcher struct {
	s           *Store
	tx          *sql.Tx
	head, tuple string
	size        int
	full        *sql.Stmt
}

func (s *Store) newBatcher(tx *sql.Tx, head, tuple string, size int) *batcher {
	return &batcher{s: s, tx: tx, head: head, tuple: tuple, size: size}
}

func (b *batcher) exec(ctx context.Context, n int, args []any) error {
	if n != b.size {
		_, err := b.tx.ExecContext(ctx, b.s.rebind(b.head+rowsOf(b.tuple, n)), args...)
		return err
	}
	if b.full == nil {
		st, err := b.tx.PrepareContext(ctx, b.s.rebind(b.head+rowsOf(b.tuple, n)))
		if err != nil {
			return err
		}
		b.full = st
	}
	_, err := b.full.ExecContext(ctx, args...)
	return err
}

func (b *batcher) close() {
	if b.full != nil {
		b.full.Close()
	}
}

// rowsOf repeats a VALUES tuple n times.
func rowsOf(tuple string, n int) string {
	b := make([]byte, 0, n*(len(tuple)+1))
	for i := 0; i < n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, tuple...)
	}
	return string(b)
}
