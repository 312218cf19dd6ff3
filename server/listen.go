package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// DefaultListen is loopback only: the inventory is a map of the storage
// estate and is not for the whole network by default.
const DefaultListen = "127.0.0.1:9631"

// Listen says how to serve.
type Listen struct {
	Addr string
	// TokenFile holds the bearer token (first line, trimmed).
	TokenFile string
	// TLSCert and TLSKey serve HTTPS; ClientCA requires client
	// certificates signed by it.
	TLSCert, TLSKey, ClientCA string
}

// IsLoopback reports whether addr ("host:port") listens on loopback only.
// An empty host (":9631") listens on every address.
func IsLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, fmt.Errorf("listen address %q: %w (want host:port, e.g. %s)", addr, err, DefaultListen)
	}
	if host == "" {
		return false, nil
	}
	if strings.EqualFold(host, "localhost") {
		return true, nil
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	if ip == nil {
		// A name may resolve anywhere; treat it as exposed.
		return false, nil
	}
	return ip.IsLoopback(), nil
}

// Check validates the options: a non-loopback address needs a bearer token
// or TLS client certificates; TLS needs both cert and key.
func (l Listen) Check() error {
	if (l.TLSCert == "") != (l.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if l.ClientCA != "" && l.TLSCert == "" {
		return errors.New("--client-ca needs --tls-cert and --tls-key (client certificates are checked by TLS)")
	}
	lo, err := IsLoopback(l.Addr)
	if err != nil {
		return err
	}
	if !lo && l.TokenFile == "" && l.ClientCA == "" {
		return fmt.Errorf("--listen %s is not a loopback address: it needs --token-file (bearer token) or --tls-cert/--tls-key/--client-ca (client certificates), or listen on %s", l.Addr, DefaultListen)
	}
	return nil
}

// ReadToken reads the bearer token from path. The file must not be readable
// by others than its owner's group, and the token must not be empty.
func ReadToken(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	if st.Mode().Perm()&0o004 != 0 {
		return "", fmt.Errorf("token file %s is readable by everyone (mode %v): chmod 600 it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	tok, _, _ := strings.Cut(string(b), "\n")
	tok = strings.TrimSpace(tok)
	if len(tok) < 16 {
		return "", fmt.Errorf("token file %s: the token on its first line must be at least 16 characters", path)
	}
	return tok, nil
}

// TLSConfig builds the server's TLS configuration, nil without --tls-cert.
func (l Listen) TLSConfig() (*tls.Config, error) {
	if l.TLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(l.TLSCert, l.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("load --tls-cert %s / --tls-key %s: %w", l.TLSCert, l.TLSKey, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if l.ClientCA != "" {
		pem, err := os.ReadFile(l.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("read --client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--client-ca %s: no PEM certificate in it", l.ClientCA)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// Serve serves h on ln until ctx is done, then shuts down gracefully
// (in-flight requests get up to 10 s).
func Serve(ctx context.Context, ln net.Listener, h http.Handler, tlsCfg *tls.Config, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		TLSConfig:         tlsCfg,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
