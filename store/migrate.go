package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// migration is one step of the schema. Steps are applied in order, each in
// its own transaction, and recorded in schema_migrations; a store written by
// a newer vmstor (with steps this one does not know) is refused.
type migration struct {
	version int
	// sql is run first; {{PK}}, {{DOUBLE}} and {{WITHOUT_ROWID}} are
	// replaced per dialect.
	sql string
	// fill, when set, migrates the data.
	fill func(ctx context.Context, s *Store, tx *sql.Tx) error
}

var migrations = []migration{
	{version: 1, sql: `
CREATE TABLE scans (
	id {{PK}},
	scanned_at BIGINT NOT NULL,       -- unix nanoseconds, from the inventory
	stored_at BIGINT NOT NULL,        -- unix nanoseconds
	duration_seconds {{DOUBLE}} NOT NULL,
	status TEXT NOT NULL,             -- ok, partial, failed
	sources TEXT NOT NULL,            -- JSON array
	errors TEXT NOT NULL,             -- JSON array of model.ScanError
	vms BIGINT NOT NULL,
	disks BIGINT NOT NULL,
	luns BIGINT NOT NULL,
	rows_written BIGINT NOT NULL
);
CREATE INDEX scans_time ON scans (scanned_at);
-- One row per version of an object, valid for scans from_scan <= s < to_scan
-- (to_scan NULL: still current).
CREATE TABLE objects (
	id {{PK}},
	kind TEXT NOT NULL,               -- host, vm, disk, lun, res
	key TEXT NOT NULL,
	hash BIGINT NOT NULL,             -- FNV-1a of data: detects change
	from_scan BIGINT NOT NULL,
	to_scan BIGINT,
	data TEXT NOT NULL                -- JSON of the object
);
-- Partial indexes: the bulk of the rows (disks; current versions) costs
-- nothing to index at insert. History finds VMs and LUNs by key, disks
-- through the terms index; diffs find versions by where they begin and end.
CREATE INDEX objects_key ON objects (kind, key) WHERE kind IN ('vm', 'lun');
CREATE INDEX objects_from ON objects (from_scan);
CREATE INDEX objects_to ON objects (to_scan) WHERE to_scan IS NOT NULL;
`},
	// The who-uses and history index: the hash of every name an object can
	// be found by (query.LUNTerms, ResourceTerms, DiskTerms, VM names).
	{version: 2, sql: `
CREATE TABLE terms (
	h BIGINT NOT NULL,
	obj BIGINT NOT NULL,
	PRIMARY KEY (h, obj)
){{WITHOUT_ROWID}};
`, fill: fillTerms},
}

func (s *Store) expand(q string) string {
	r := strings.NewReplacer("{{PK}}", "INTEGER PRIMARY KEY", "{{DOUBLE}}", "REAL", "{{WITHOUT_ROWID}}", " WITHOUT ROWID")
	if s.dialect == dialectPostgres {
		r = strings.NewReplacer("{{PK}}", "BIGINT PRIMARY KEY", "{{DOUBLE}}", "DOUBLE PRECISION", "{{WITHOUT_ROWID}}", "")
	}
	return r.Replace(q)
}

// migrate applies the migrations up to version upTo that the store lacks.
func (s *Store) migrate(ctx context.Context, upTo int) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("creating schema_migrations: %w", err)
		}
		var have int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
			return fmt.Errorf("reading the schema version: %w", err)
		}
		if have > len(migrations) {
			return fmt.Errorf("the store has schema version %d, this vmstor knows only up to %d: upgrade vmstor", have, len(migrations))
		}
		for _, m := range migrations[have:upTo] {
			if _, err := tx.ExecContext(ctx, s.expand(m.sql)); err != nil {
				return fmt.Errorf("schema migration %d: %w", m.version, err)
			}
			if m.fill != nil {
				if err := m.fill(ctx, s, tx); err != nil {
					return fmt.Errorf("schema migration %d: %w", m.version, err)
				}
			}
			if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), m.version, s.now().UnixNano()); err != nil {
				return fmt.Errorf("recording schema migration %d: %w", m.version, err)
			}
		}
		return nil
	})
}

// fillTerms indexes every stored object version (migration 2).
func fillTerms(ctx context.Context, s *Store, tx *sql.Tx) error {
	var last int64
	for {
		rows, err := tx.QueryContext(ctx, s.rebind(`SELECT id, kind, key, data FROM objects WHERE id > ? ORDER BY id LIMIT 1000`), last)
		if err != nil {
			return err
		}
		ids, terms, err := termsOfRows(rows)
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			last = ids[len(ids)-1]
		}
		if _, err := s.insertTerms(ctx, tx, terms); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
	}
}

// termsOfRows reads (id, kind, key, data) object rows, closes them, and
// returns the ids and every index term of those objects.
func termsOfRows(rows *sql.Rows) ([]int64, []termRow, error) {
	defer rows.Close()
	var ids []int64
	var terms []termRow
	for rows.Next() {
		var id int64
		var kind, key string
		var data []byte
		if err := rows.Scan(&id, &kind, &key, &data); err != nil {
			return nil, nil, err
		}
		hs, err := termsOfJSON(kind, key, data)
		if err != nil {
			return nil, nil, fmt.Errorf("object %d: %w", id, err)
		}
		ids = append(ids, id)
		for _, h := range hs {
			terms = append(terms, termRow{h, id})
		}
	}
	return ids, terms, rows.Err()
}
