package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vmstor/vmstor/metrics"
	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/server/redact"
	"github.com/vmstor/vmstor/store"
)

// Saver is the part of *store.Store the watcher uses.
type Saver interface {
	Save(ctx context.Context, inv *model.Inventory) (store.ScanInfo, error)
	Prune(ctx context.Context, keep time.Duration) (int, error)
	Latest(ctx context.Context) (*model.Inventory, store.ScanInfo, error)
}

// ScanFunc runs one scan. A non-nil error means the scan failed as a whole
// or in part badly enough that its result must not replace the last good
// state (a source was unreachable: its VMs would look deleted); inv then
// still carries what is known about the failure (sources, errors).
type ScanFunc func(ctx context.Context) (*model.Inventory, error)

// Watcher scans every Interval, stores each scan and publishes good ones to
// the server and the metrics.
type Watcher struct {
	Scan    ScanFunc
	Store   Saver
	Server  *Server
	Metrics *metrics.Collector
	// Interval between the starts of two scans.
	Interval time.Duration
	// Timeout bounds one scan; 0 means Interval.
	Timeout time.Duration
	// Retention prunes stored scans older than this after each save; 0
	// keeps everything.
	Retention time.Duration
	Log       *slog.Logger
	Now       func() time.Time

	scans, failures uint64
	lastGood        metrics.State
}

// Run scans at once and then every Interval until ctx is done.
func (w *Watcher) Run(ctx context.Context) error {
	if w.Interval <= 0 {
		return fmt.Errorf("scan interval %v: must be positive", w.Interval)
	}
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	for {
		w.Once(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Once runs one scan, stores it and publishes it when it is good. It
// reports whether the scan was good.
func (w *Watcher) Once(ctx context.Context) bool {
	log := w.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = w.Interval
	}
	start := now()
	sctx, cancel := context.WithTimeout(ctx, timeout)
	inv, scanErr := w.Scan(sctx)
	timedOut := sctx.Err() != nil
	cancel()
	dur := now().Sub(start).Seconds()
	if ctx.Err() != nil {
		// Shutting down: a scan cut short is not a result.
		return false
	}
	w.scans++
	if inv == nil {
		inv = &model.Inventory{Version: model.SchemaVersion, ScannedAt: start.UTC()}
	}
	if inv.ScannedAt.IsZero() {
		inv.ScannedAt = start.UTC()
	}
	if inv.DurationSeconds == 0 {
		inv.DurationSeconds = dur
	}
	if scanErr == nil && timedOut {
		scanErr = fmt.Errorf("scan did not finish within %v", timeout)
	}
	// Credentials never reach the store, the logs, the API or the metrics.
	inv = redact.Inventory(inv)
	errs := inv.Errors
	if scanErr != nil {
		msg := redact.String(scanErr.Error())
		errs = append(errs, model.ScanError{Source: "vmstor serve", Message: msg,
			Hint: "the last good scan is still served; see the errors above for the failing source"})
		// Record the failure in the store's timeline with no objects:
		// the store keeps its state as it was for a scan that found nothing.
		failed := &model.Inventory{Version: inv.Version, ScannedAt: inv.ScannedAt, DurationSeconds: inv.DurationSeconds,
			Sources: inv.Sources, Errors: errs, VMs: []model.VM{}, LUNs: []model.LUN{}}
		if _, err := w.Store.Save(ctx, failed); err != nil {
			log.Error("store failed scan", "err", redact.String(err.Error()))
		}
		w.fail(start, dur, errs)
		log.Error("scan failed; keeping the last good state", "err", msg, "errors", len(errs))
		for _, e := range errs {
			log.Warn("scan error", "source", e.Source, "object", e.Object, "message", e.Message, "hint", e.Hint)
		}
		return false
	}
	info, err := w.Store.Save(ctx, inv)
	if err != nil {
		errs = append(errs, model.ScanError{Source: "vmstor serve", Message: "store scan: " + redact.String(err.Error()),
			Hint: "check the --db database; the last good scan is still served"})
		w.fail(start, dur, errs)
		log.Error("store scan failed; keeping the last good state", "err", redact.String(err.Error()))
		return false
	}
	if info.Status == store.StatusFailed {
		// The store judged it failed (nothing found): it kept its state,
		// and so do we.
		w.fail(start, dur, errs)
		log.Error("scan found nothing and reported errors; keeping the last good state", "errors", len(errs))
		for _, e := range errs {
			log.Warn("scan error", "source", e.Source, "object", e.Object, "message", e.Message, "hint", e.Hint)
		}
		return false
	}
	// A source that failed as a whole (an error naming no object) would
	// make its VMs look deleted: the store carries its objects over from
	// the last scan, so serve the store's state, and count the attempt
	// as failed so that alerts fire.
	pub, pubInfo := inv, info
	whole := sourceFailed(errs)
	if whole {
		if latest, li, err := w.Store.Latest(ctx); err == nil {
			pub, pubInfo = redact.Inventory(latest), li
		} else {
			log.Error("reload state after a failed source", "err", redact.String(err.Error()))
		}
	}
	w.Server.Publish(pub, pubInfo)
	lastOK := start
	if whole {
		lastOK = w.lastGood.LastSuccessTime
	}
	w.lastGood = metrics.State{Inv: pub, ScanID: pubInfo.ID, LastSuccessTime: lastOK}
	if whole {
		w.fail(start, dur, errs)
		log.Error("a source failed as a whole; its objects are kept from the last scan", "scan", info.ID, "errors", len(errs))
	} else {
		w.Server.RecordAttempt(start, true, errs)
		w.set(start, dur, true, errs)
		log.Info("scan stored", "scan", info.ID, "status", info.Status, "vms", len(inv.VMs), "luns", len(inv.LUNs), "errors", len(errs), "seconds", dur)
	}
	for _, e := range errs {
		log.Warn("scan error", "source", e.Source, "object", e.Object, "message", e.Message, "hint", e.Hint)
	}
	if w.Retention > 0 {
		n, err := w.Store.Prune(ctx, w.Retention)
		if err != nil && !errors.Is(err, context.Canceled) {
			log.Error("prune", "err", redact.String(err.Error()))
		} else if n > 0 {
			log.Info("pruned old scans", "scans", n, "older_than", w.Retention)
		}
	}
	return !whole
}

// sourceFailed reports whether a whole source failed: an error that names
// no object (scan.Run reports an unreachable source that way).
func sourceFailed(errs []model.ScanError) bool {
	for _, e := range errs {
		if e.Object == "" {
			return true
		}
	}
	return false
}

func (w *Watcher) fail(start time.Time, dur float64, errs []model.ScanError) {
	w.failures++
	w.Server.RecordAttempt(start, false, errs)
	w.set(start, dur, false, errs)
}

func (w *Watcher) set(start time.Time, dur float64, ok bool, errs []model.ScanError) {
	if w.Metrics == nil {
		return
	}
	st := w.lastGood
	st.LastAttempt, st.LastDuration, st.LastSuccess, st.LastErrors = start, dur, ok, errs
	st.Scans, st.Failures = w.scans, w.failures
	w.Metrics.Set(st)
}

// Seed makes the metrics report inv (loaded from the store at start) until
// the first scan.
func (w *Watcher) Seed(inv *model.Inventory, info store.ScanInfo) {
	if inv == nil {
		return
	}
	w.lastGood = metrics.State{Inv: redact.Inventory(inv), ScanID: info.ID, LastSuccessTime: info.Time}
	if w.Metrics != nil {
		st := w.lastGood
		st.LastSuccess = true
		w.Metrics.Set(st)
	}
}
