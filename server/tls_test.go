package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

type pki struct {
	dir                 string
	caCert              *x509.Certificate
	caKey               *ecdsa.PrivateKey
	caPEM               []byte
	certFile, keyFile   string // server
	clientCertificate   tls.Certificate
	strangerCertificate tls.Certificate // signed by another CA
}

func newCert(t *testing.T, tmpl *x509.Certificate, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, []byte, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}

func newPKI(t *testing.T) *pki {
	p := &pki{dir: t.TempDir()}
	now := time.Now()
	ca := func(n int64, name string) *x509.Certificate {
		return &x509.Certificate{SerialNumber: big.NewInt(n), Subject: pkix.Name{CommonName: name}, NotBefore: now.Add(-time.Hour),
			NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	}
	var caPEM []byte
	p.caCert, p.caKey, caPEM, _ = newCert(t, ca(1, "vmstor test CA"), nil, nil)
	p.caPEM = caPEM
	srv := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	_, _, sc, sk := newCert(t, srv, p.caCert, p.caKey)
	p.certFile, p.keyFile = filepath.Join(p.dir, "srv.pem"), filepath.Join(p.dir, "srv.key")
	write := func(path string, b []byte) {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(p.certFile, sc)
	write(p.keyFile, sk)
	write(filepath.Join(p.dir, "ca.pem"), caPEM)
	cli := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "prometheus"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	_, _, cc, ck := newCert(t, cli, p.caCert, p.caKey)
	var err error
	if p.clientCertificate, err = tls.X509KeyPair(cc, ck); err != nil {
		t.Fatal(err)
	}
	otherCA, otherKey, _, _ := newCert(t, ca(4, "other CA"), nil, nil)
	_, _, oc, ok := newCert(t, cli, otherCA, otherKey)
	if p.strangerCertificate, err = tls.X509KeyPair(oc, ok); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestClientCertificates serves over TLS with --client-ca and checks who
// gets in: a client with a certificate from the CA, not one without a
// certificate or with one from another CA.
func TestClientCertificates(t *testing.T) {
	p := newPKI(t)
	l := Listen{Addr: "0.0.0.0:0", TLSCert: p.certFile, TLSKey: p.keyFile, ClientCA: filepath.Join(p.dir, "ca.pem")}
	if err := l.Check(); err != nil {
		t.Fatalf("non-loopback with client certificates refused: %v", err)
	}
	cfg, err := l.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	srv, _, _ := newTestServer(t, synth(10), "")
	ln, err := net.Listen("tcp", "127.0.0.1:0") // tests talk to loopback only
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, srv.Handler(), cfg, discardLog()) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(p.caPEM)
	client := func(certs ...tls.Certificate) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs}}}
	}
	url := "https://" + ln.Addr().String() + "/api/v1/status"
	resp, err := client(p.clientCertificate).Get(url)
	if err != nil {
		t.Fatalf("client with a certificate from the CA: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("with a certificate: %d", resp.StatusCode)
	}
	for name, c := range map[string]*http.Client{"no certificate": client(), "another CA": client(p.strangerCertificate)} {
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			t.Errorf("%s: got in with %d", name, resp.StatusCode)
		}
	}
}

func TestReadToken(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		path    string
		want    string
		wantErr bool
	}{
		{write("ok", "  0123456789abcdefXYZ \nsecond line\n", 0o600), "0123456789abcdefXYZ", false},
		{write("short", "short\n", 0o600), "", true},
		{write("world", "0123456789abcdefXYZ\n", 0o644), "", true},
		{filepath.Join(dir, "missing"), "", true},
	}
	for _, tt := range tests {
		got, err := ReadToken(tt.path)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ReadToken(%s) = %q, %v; want %q, error %v", filepath.Base(tt.path), got, err, tt.want, tt.wantErr)
		}
	}
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
