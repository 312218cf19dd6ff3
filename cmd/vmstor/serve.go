package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vmstor/vmstor/metrics"
	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/scan"
	"github.com/vmstor/vmstor/server"
	"github.com/vmstor/vmstor/server/redact"
	"github.com/vmstor/vmstor/store"
)

// ServeCmd scans every --interval, stores each scan and serves the API, the
// web page and /metrics.
type ServeCmd struct {
	SourceFlags
	StoreDBFlag

	Interval  time.Duration `name:"interval" default:"5m" help:"Time between the starts of two scans."`
	Retention time.Duration `name:"retention" default:"2160h" help:"Prune stored scans older than this (default 90 days); 0 keeps every scan."`
	Listen    string        `name:"listen" default:"127.0.0.1:9631" placeholder:"HOST:PORT" help:"Address to serve on (default 127.0.0.1:9631, loopback only). Anything but loopback needs --token-file or --tls-cert/--tls-key/--client-ca."`
	TokenFile string        `name:"token-file" placeholder:"FILE" help:"File whose first line is the bearer token required on /api and /metrics (mode 600; the token never goes on the command line)."`
	TLSCert   string        `name:"tls-cert" placeholder:"FILE" help:"Serve HTTPS with this PEM certificate (chain)."`
	TLSKey    string        `name:"tls-key" placeholder:"FILE" help:"Private key of --tls-cert."`
	ClientCA  string        `name:"client-ca" placeholder:"FILE" help:"Require client certificates signed by this PEM CA."`
}

// Run serves until SIGINT/SIGTERM.
func (c *ServeCmd) Run(g *Globals) error {
	ctx := g.ctx
	log := slog.New(slog.NewTextHandler(g.stderr, nil))
	if c.Interval <= 0 {
		return usageError{fmt.Sprintf("--interval %v: must be positive", c.Interval)}
	}
	if c.Retention < 0 {
		return usageError{fmt.Sprintf("--retention %v: must be 0 (keep all) or positive", c.Retention)}
	}
	lc := server.Listen{Addr: c.Listen, TokenFile: c.TokenFile, TLSCert: c.TLSCert, TLSKey: c.TLSKey, ClientCA: c.ClientCA}
	if err := lc.Check(); err != nil {
		return usageError{err.Error()}
	}
	var token string
	if c.TokenFile != "" {
		t, err := server.ReadToken(c.TokenFile)
		if err != nil {
			return usageError{err.Error()}
		}
		token = t
	}
	tlsCfg, err := lc.TLSConfig()
	if err != nil {
		return usageError{err.Error()}
	}
	srcs, opts, err := c.Sources(g)
	if err != nil {
		return err
	}

	st, err := store.Open(ctx, c.dsn())
	if err != nil {
		return err
	}
	defer st.Close()

	col := metrics.New()
	reg := prometheus.NewRegistry()
	reg.MustRegister(col, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv := server.New(server.Config{
		Store:   st,
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelError)}),
		Token:   token,
		Log:     log,
	})
	timeout := c.Timeout
	if timeout <= 0 || timeout > c.Interval {
		timeout = c.Interval
	}
	w := &server.Watcher{
		Store: st, Server: srv, Metrics: col, Log: log,
		Interval: c.Interval, Timeout: timeout, Retention: c.Retention,
		Scan: func(ctx context.Context) (*model.Inventory, error) {
			return scan.Run(ctx, opts, srcs...), nil
		},
	}
	// Serve the last stored state at once; the first scan replaces it.
	if inv, info, err := st.Latest(ctx); err == nil {
		srv.Publish(inv, info)
		w.Seed(inv, info)
	} else if !errors.Is(err, store.ErrNoScans) {
		log.Warn("could not load the last stored scan", "err", redact.String(err.Error()))
	}

	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w (is another vmstor serve running? choose another --listen)", c.Listen, err)
	}
	scheme := "http"
	if tlsCfg != nil {
		scheme = "https"
	}
	names := make([]string, len(srcs))
	for i, s := range srcs {
		names[i] = redact.String(s.Name())
	}
	log.Info("serving", "url", scheme+"://"+ln.Addr().String()+"/", "sources", names, "interval", c.Interval,
		"db", store.Redact(c.dsn()), "auth", authKind(token, c.ClientCA))

	// Either half failing stops the other; SIGTERM (g.ctx) stops both.
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	go func() { errc <- w.Run(rctx) }()
	go func() { errc <- server.Serve(rctx, ln, srv.Handler(), tlsCfg, log) }()
	var first error
	for range 2 {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
		cancel()
	}
	log.Info("stopped")
	return first
}

func authKind(token, clientCA string) string {
	switch {
	case token != "" && clientCA != "":
		return "bearer token and client certificates"
	case token != "":
		return "bearer token"
	case clientCA != "":
		return "client certificates"
	}
	return "none (loopback only)"
}
