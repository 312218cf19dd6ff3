// Package store keeps the history of scans: every scan is a snapshot with its
// time, sources, duration and errors, but only what changed is written. Each
// object (host, VM, disk, LUN, storage resource) is stored as versions valid
// over a range of scans, [from_scan, to_scan); a re-scan that finds nothing
// new writes one row. The same schema and queries run on embedded SQLite
// (modernc.org/sqlite, one file, WAL) and on PostgreSQL (pgx) for a shared
// central store.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/query"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Change is one difference between two scans; see query.Change.
type Change = query.Change

// ScanInfo describes one stored scan.
type ScanInfo struct {
	ID              int64             `json:"id"`
	Time            time.Time         `json:"time"`
	Sources         []string          `json:"sources"`
	DurationSeconds float64           `json:"duration_seconds"`
	Errors          []model.ScanError `json:"errors,omitempty"`
	// Status is ok (no errors), partial (some part of the scan failed) or
	// failed (nothing was found and errors were reported: the scan is
	// recorded but the stored state is left as it was).
	Status string `json:"status"`
	// VMs, Disks and LUNs count the stored state after this scan.
	VMs   int `json:"vms"`
	Disks int `json:"disks"`
	LUNs  int `json:"luns"`
	// RowsWritten counts the rows the scan inserted or updated: objects,
	// index terms and the scan itself.
	RowsWritten int64 `json:"rows_written"`
}

// Scan statuses.
const (
	StatusOK      = "ok"
	StatusPartial = "partial"
	StatusFailed  = "failed"
)

// Errors callers may test for with errors.Is.
var (
	// ErrNoScans is returned when the store holds no scan yet.
	ErrNoScans = errors.New("the store holds no scan yet")
	// ErrNoScan is returned for a scan id that is not stored (never was,
	// or pruned).
	ErrNoScan = errors.New("no such scan")
)

type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

// Store is an open inventory store. It is safe for concurrent use; writes
// are serialised (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock), so
// several processes may share one store.
type Store struct {
	db      *sql.DB
	dialect dialect
	dsn     string // redacted, for messages
	// now stamps stored_at and is the clock of Prune; tests replace it.
	now func() time.Time
}

// DefaultDSN is the store used when none is given: $VMSTOR_DB, else
// sqlite:$XDG_STATE_HOME/vmstor/vmstor.db, else for root
// sqlite:/var/lib/vmstor/vmstor.db, else sqlite:~/.local/state/vmstor/vmstor.db.
func DefaultDSN() string {
	if v := os.Getenv("VMSTOR_DB"); v != "" {
		return v
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return "sqlite:" + filepath.Join(d, "vmstor", "vmstor.db")
	}
	if runtime.GOOS == "windows" {
		if d, err := os.UserCacheDir(); err == nil { // %LocalAppData%
			return "sqlite:" + filepath.Join(d, "vmstor", "vmstor.db")
		}
	} else if os.Geteuid() == 0 {
		return "sqlite:/var/lib/vmstor/vmstor.db"
	}
	if h, err := os.UserHomeDir(); err == nil {
		return "sqlite:" + filepath.Join(h, ".local", "state", "vmstor", "vmstor.db")
	}
	return "sqlite:vmstor.db"
}

// Redact returns dsn with any password replaced by "xxxxx", for messages.
func Redact(dsn string) string {
	if !isPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	return u.Redacted()
}

func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// SQLitePath returns the file of a "sqlite:PATH" dsn, and false for other
// stores.
func SQLitePath(dsn string) (string, bool) {
	p, ok := strings.CutPrefix(dsn, "sqlite:")
	if !ok {
		return "", false
	}
	p = strings.TrimPrefix(p, "//")
	return p, p != ""
}

// Open opens (creating if needed) the store named by dsn, "sqlite:PATH" or
// "postgres://user@host/db", and applies the schema migrations this version
// knows. A PostgreSQL password is best given by PGPASSWORD or ~/.pgpass
// rather than in the URL.
func Open(ctx context.Context, dsn string) (*Store, error) {
	return open(ctx, dsn, len(migrations))
}

func open(ctx context.Context, dsn string, upTo int) (*Store, error) {
	s := &Store{dsn: Redact(dsn), now: time.Now}
	var err error
	switch {
	case isPostgres(dsn):
		s.dialect = dialectPostgres
		s.db, err = sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", s.dsn, redactErr(err, dsn))
		}
		s.db.SetMaxOpenConns(8)
		s.db.SetMaxIdleConns(4)
	case strings.HasPrefix(dsn, "sqlite:"):
		path, _ := SQLitePath(dsn)
		if path == "" || strings.ContainsAny(path, "?#") {
			return nil, fmt.Errorf("store %q: want sqlite:PATH with a file name without ? or #", dsn)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("store %s: creating its directory: %w", dsn, err)
		}
		// WAL: readers never block the writer. synchronous=NORMAL keeps
		// every committed scan across a crash of the process; after a
		// power loss the last commits may roll back, never corrupt.
		// _txlock=immediate takes the write lock at BEGIN so two writers
		// queue on busy_timeout instead of failing on upgrade.
		s.db, err = sql.Open("sqlite", "file:"+path+
			"?_pragma=page_size(16384)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(30000)"+
			"&_pragma=foreign_keys(1)&_txlock=immediate")
		if err != nil {
			return nil, fmt.Errorf("store %s: %w", dsn, err)
		}
		s.db.SetMaxOpenConns(4)
	default:
		return nil, fmt.Errorf("store %q: unknown kind; want sqlite:PATH or postgres://user@host/db", Redact(dsn))
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.db.PingContext(pctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("store %s: connecting: %w", s.dsn, redactErr(err, dsn))
	}
	if err := s.migrate(ctx, upTo); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("store %s: %w", s.dsn, redactErr(err, dsn))
	}
	return s, nil
}

// redactErr removes a password that a driver error might quote.
func redactErr(err error, dsn string) error {
	if err == nil || !isPostgres(dsn) {
		return err
	}
	u, perr := url.Parse(dsn)
	if perr != nil || u.User == nil {
		return err
	}
	pw, ok := u.User.Password()
	if !ok || pw == "" || !strings.Contains(err.Error(), pw) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// String names the store, without a password.
func (s *Store) String() string { return s.dsn }

// rebind turns ? placeholders into PostgreSQL's $n.
func (s *Store) rebind(q string) string {
	if s.dialect != dialectPostgres {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// placeholders returns "?,?,...,?" with n marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
}

type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// advisoryKey serialises writers on PostgreSQL ("vmstor" in ASCII).
const advisoryKey = 0x766d73746f72

// writeTx runs fn in a transaction that holds the store's write lock.
func (s *Store) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning a write: %w", err)
	}
	if s.dialect == dialectPostgres {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(advisoryKey)); err != nil {
			tx.Rollback()
			return fmt.Errorf("taking the write lock: %w", err)
		}
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

// readTx runs fn in a read-only transaction: one consistent snapshot.
func (s *Store) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == dialectPostgres {
		// Several queries must see the same commits.
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("beginning a read: %w", err)
	}
	defer tx.Rollback()
	return fn(tx)
}
