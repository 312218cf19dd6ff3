package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Prune deletes the scans older than keep, and the object versions no kept
// scan can see, in one transaction. The latest scan and the latest applied
// (not failed) scan are always kept, so the current state survives any
// retention. It returns the number of scans deleted.
func (s *Store) Prune(ctx context.Context, keep time.Duration) (int, error) {
	cutoff := s.now().Add(-keep).UnixNano()
	var n int
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var last, lastApplied sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT MAX(id) FROM scans`).Scan(&last); err != nil {
			return err
		}
		if !last.Valid {
			return nil
		}
		if err := tx.QueryRowContext(ctx, `SELECT MAX(id) FROM scans WHERE status <> 'failed'`).Scan(&lastApplied); err != nil {
			return err
		}
		keepFrom := last.Int64
		if lastApplied.Valid {
			keepFrom = min(keepFrom, lastApplied.Int64)
		}
		res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM scans WHERE scanned_at < ? AND id < ?`), cutoff, keepFrom)
		if err != nil {
			return fmt.Errorf("deleting scans: %w", err)
		}
		d, err := res.RowsAffected()
		if err != nil {
			return err
		}
		n = int(d)
		if n == 0 {
			return nil
		}
		var oldest int64
		if err := tx.QueryRowContext(ctx, `SELECT MIN(id) FROM scans`).Scan(&oldest); err != nil {
			return err
		}
		return s.deleteVersionsBefore(ctx, tx, oldest)
	})
	if err != nil {
		return 0, fmt.Errorf("store %s: pruning: %w", s.dsn, err)
	}
	return n, nil
}

// deleteVersionsBefore deletes the versions that ended at or before scan,
// with their index terms (recomputed from the data: the index has no
// reverse lookup, which keeps it half the size).
func (s *Store) deleteVersionsBefore(ctx context.Context, tx *sql.Tx, scan int64) error {
	for {
		rows, err := tx.QueryContext(ctx, s.rebind(`SELECT id, kind, key, data FROM objects WHERE to_scan IS NOT NULL AND to_scan <= ? ORDER BY id LIMIT 500`), scan)
		if err != nil {
			return fmt.Errorf("finding old versions: %w", err)
		}
		ids, terms, err := termsOfRows(rows)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		for len(terms) > 0 {
			k := min(len(terms), termBatch/2)
			args := make([]any, 0, 2*k)
			for _, t := range terms[:k] {
				args = append(args, t.h, t.obj)
			}
			// The casts type the VALUES for PostgreSQL; SQLite accepts them.
			if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM terms WHERE (h, obj) IN (VALUES `+rowsOf("(CAST(? AS BIGINT), CAST(? AS BIGINT))", k)+`)`), args...); err != nil {
				return fmt.Errorf("deleting old index terms: %w", err)
			}
			terms = terms[k:]
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM objects WHERE id IN (`+placeholders(len(ids))+`)`), int64sToAny(ids)...); err != nil {
			return fmt.Errorf("deleting old versions: %w", err)
		}
	}
}
