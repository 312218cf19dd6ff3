package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/query"
)

// WhoUses lists the virtual disks of the latest state that sit on what q
// names, with the rules of query.WhoUses. The terms index selects the
// candidates in two steps: the LUNs, resources and disks that carry one of
// the query's names, then the disks that stand on one of the LUNs or
// resources found; query.WhoUses then decides on those few objects alone, so
// the answer is the one a live scan of the same state gives.
func (s *Store) WhoUses(ctx context.Context, q string) ([]query.Use, error) {
	qs := query.QueryTerms(q)
	if len(qs) == 0 {
		return nil, nil
	}
	want := map[string]bool{}
	for _, t := range qs {
		want[t] = true
	}
	mini := query.NewObjects()
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		if err := s.currentByTerms(ctx, tx, dedupHashes(qs), "", mini); err != nil {
			return err
		}
		var refs []string
		for _, l := range mini.LUNs {
			if matches(query.LUNTerms(&l), want) {
				refs = append(refs, query.Norm(l.ID))
			}
		}
		for _, r := range mini.Resources {
			if matches(query.ResourceTerms(&r), want) {
				refs = append(refs, query.Norm(r.ID))
			}
		}
		hs := dedupHashes(refs)
		for len(hs) > 0 {
			n := min(len(hs), idBatch)
			if err := s.currentByTerms(ctx, tx, hs[:n], query.KindDisk, mini); err != nil {
				return err
			}
			hs = hs[n:]
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store %s: who-uses %q: %w", s.dsn, q, err)
	}
	for _, d := range mini.Disks {
		if _, ok := mini.VMs[d.VMKey]; !ok {
			mini.VMs[d.VMKey] = model.VM{ID: d.VMID, Name: d.VMName, Host: d.Host}
		}
	}
	return query.WhoUses(mini.Inventory(), q), nil
}

func matches(ts []query.Term, want map[string]bool) bool {
	for _, t := range ts {
		if want[t.Value] {
			return true
		}
	}
	return false
}

// currentByTerms adds to o the current objects indexed under any of hs
// (only of kind, when given; VMs and hosts are not needed and skipped).
func (s *Store) currentByTerms(ctx context.Context, q querier, hs []int64, kind string, o *query.Objects) error {
	if len(hs) == 0 {
		return nil
	}
	stmt := `SELECT o.kind, o.key, o.data FROM terms t JOIN objects o ON o.id = t.obj
		WHERE t.h IN (` + placeholders(len(hs)) + `) AND o.to_scan IS NULL`
	args := int64sToAny(hs)
	if kind != "" {
		stmt += ` AND o.kind = ?`
		args = append(args, kind)
	} else {
		stmt += ` AND o.kind IN ('disk', 'lun', 'res')`
	}
	rows, err := q.QueryContext(ctx, s.rebind(stmt), args...)
	if err != nil {
		return fmt.Errorf("looking up the index: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, key string
		var data []byte
		if err := rows.Scan(&k, &key, &data); err != nil {
			return fmt.Errorf("looking up the index: %w", err)
		}
		if err := decodeInto(o, k, key, data); err != nil {
			return err
		}
	}
	return rows.Err()
}
