// Package server serves vmstor's read-only HTTP API (/api/v1, described by
// the OpenAPI document at /api/v1/openapi.json), the web page (embedded,
// no CDN) and /metrics, from the last good scan and the store's history.
package server

import (
	"context"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/server/redact"
	"github.com/vmstor/vmstor/store"
)

// Store is the part of *store.Store the server reads.
type Store interface {
	Latest(ctx context.Context) (*model.Inventory, store.ScanInfo, error)
	Get(ctx context.Context, scanID int64) (*model.Inventory, error)
	Scans(ctx context.Context, limit int) ([]store.ScanInfo, error)
	Diff(ctx context.Context, from, to int64) ([]store.Change, error)
	History(ctx context.Context, object string, limit int) ([]store.Change, error)
}

// Config configures a Server.
type Config struct {
	Store Store
	// Metrics serves /metrics; nil leaves it out.
	Metrics http.Handler
	// Token, when set, is required as "Authorization: Bearer <token>" on
	// /api/ and /metrics. The page itself carries no data and stays open.
	Token string
	Log   *slog.Logger
}

// Server is the HTTP side of vmstor serve.
type Server struct {
	cfg     Config
	log     *slog.Logger
	current atomic.Pointer[snapshot]
	status  atomic.Pointer[attempt]
	handler http.Handler
	routes  []string // API patterns, for the OpenAPI test

	oldMu sync.Mutex
	old   *snapshot // one cached older scan, for ?scan=
}

type attempt struct {
	time    time.Time
	success bool
	errors  []model.ScanError
}

//go:embed openapi.json
var openapiJSON []byte

//go:embed web
var webFS embed.FS

// New returns a server with no scan loaded; call Load or Publish.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg, log: cfg.Log}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.current.Store(newSnapshot(&model.Inventory{}, ScanView{}))
	s.handler = s.routesHandler()
	return s
}

// Load serves the store's latest scan; a store with no scan is not an error.
func (s *Server) Load(ctx context.Context) error {
	inv, info, err := s.cfg.Store.Latest(ctx)
	if errors.Is(err, store.ErrNoScans) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load latest scan: %w", err)
	}
	if inv != nil {
		s.Publish(inv, info)
	}
	return nil
}

// Publish serves inv, just stored as info, as the current scan.
func (s *Server) Publish(inv *model.Inventory, info store.ScanInfo) {
	s.current.Store(newSnapshot(redact.Inventory(inv), scanView(info)))
}

// RecordAttempt records the outcome of a scan attempt for /api/v1/status.
func (s *Server) RecordAttempt(t time.Time, success bool, errs []model.ScanError) {
	s.status.Store(&attempt{time: t, success: success, errors: redact.Errors(errs)})
}

// Handler returns the HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Routes returns the API route patterns ("/api/v1/vms/{id}").
func (s *Server) Routes() []string { return append([]string(nil), s.routes...) }

type apiFunc func(w http.ResponseWriter, r *http.Request) (any, error)

func (s *Server) routesHandler() http.Handler {
	mux := http.NewServeMux()
	api := []struct {
		path string
		h    apiFunc
	}{
		{"/status", s.getStatus},
		{"/hosts", s.listHosts},
		{"/vms", s.listVMs},
		{"/vms/{id}", s.getVM},
		{"/luns", s.listLUNs},
		{"/luns/{id}", s.getLUN},
		{"/arrays", s.listArrays},
		{"/arrays/{id}", s.getArray},
		{"/datastores", s.listDatastores},
		{"/topology", s.getTopology},
		{"/scans", s.listScans},
		{"/scans/{id}", s.getScan},
		{"/diff", s.getDiff},
		{"/history", s.getHistory},
		{"/who-uses", s.whoUses},
	}
	for _, a := range api {
		p := "/api/v1" + a.path
		s.routes = append(s.routes, p)
		mux.Handle("GET "+p, s.auth(s.jsonHandler(a.h)))
	}
	s.routes = append(s.routes, "/api/v1/openapi.json")
	mux.Handle("GET /api/v1/openapi.json", s.auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openapiJSON)
	})))
	mux.Handle("GET /api/", s.auth(s.jsonHandler(func(w http.ResponseWriter, r *http.Request) (any, error) {
		return nil, httpError{http.StatusNotFound, "no such API route: " + r.URL.Path + " (see /api/v1/openapi.json)"}
	})))
	if s.cfg.Metrics != nil {
		mux.Handle("GET /metrics", s.auth(s.cfg.Metrics))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	static, err := fs.Sub(webFS, "web")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.FileServerFS(static)
	mux.Handle("GET /static/", http.StripPrefix("/static/", files))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, static, "index.html")
	})
	return readOnly(headers(mux))
}

// readOnly answers every method but GET and HEAD with 405: the API and the
// page never change anything.
func readOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: "read-only API: only GET and HEAD are allowed"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// headers keeps the page from loading anything but its own files and from
// being framed.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("Cache-Control", "no-store")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) auth(h http.Handler) http.Handler {
	if s.cfg.Token == "" {
		return h
	}
	want := []byte("Bearer " + s.cfg.Token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get("Authorization"))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vmstor"`)
			writeJSON(w, http.StatusUnauthorized, errorBody{Error: "missing or wrong bearer token: send Authorization: Bearer <token from --token-file>"})
			return
		}
		h.ServeHTTP(w, r)
	})
}

type errorBody struct {
	Error string `json:"error"`
}

// httpError is an error with an HTTP status.
type httpError struct {
	code int
	msg  string
}

func (e httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) error {
	return httpError{http.StatusNotFound, fmt.Sprintf(format, args...)}
}

func (s *Server) jsonHandler(h apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := h(w, r)
		if err != nil {
			var he httpError
			if errors.As(err, &he) {
				writeJSON(w, he.code, errorBody{Error: he.msg})
				return
			}
			if errors.Is(err, context.Canceled) {
				return
			}
			if errors.Is(err, store.ErrNoScan) {
				writeJSON(w, http.StatusNotFound, errorBody{Error: "no such scan (pruned or never stored): the stored ones are in /api/v1/scans"})
				return
			}
			// Store errors may name a DSN: log them redacted, answer briefly.
			s.log.Error("api request failed", "path", r.URL.Path, "err", redact.String(err.Error()))
			writeJSON(w, http.StatusInternalServerError, errorBody{Error: "internal error: " + redact.String(err.Error())})
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v) // the client went away; nothing to do
}

func scanView(i store.ScanInfo) ScanView {
	v := ScanView{ID: i.ID, Time: i.Time, Sources: i.Sources, DurationSeconds: i.DurationSeconds,
		Errors: redact.Errors(i.Errors), Status: i.Status, VMs: i.VMs, Disks: i.Disks, LUNs: i.LUNs}
	v.Sources = make([]string, len(i.Sources))
	for k, src := range i.Sources {
		v.Sources[k] = redact.String(src)
	}
	if v.Errors == nil {
		v.Errors = []model.ScanError{}
	}
	return v
}

func changeViews(cs []store.Change) []ChangeView {
	out := make([]ChangeView, len(cs))
	for i, c := range cs {
		out[i] = ChangeView{ScanID: c.ScanID, Time: c.Time, Kind: c.Kind, Object: redact.String(c.Object),
			Detail: redact.String(c.Detail), Before: redact.String(c.Before), After: redact.String(c.After)}
	}
	return out
}

// lower is strings.ToLower, named for the filters that use it.
var lower = strings.ToLower
