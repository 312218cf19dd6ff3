// Package vsphere maps the VMs of a vCenter or a standalone ESXi host to the
// storage beneath them, remotely and entirely through the vSphere API: the
// VMs and their virtual disks (phase 1), the hosts' LUNs, multipath paths
// and HBAs and the datastores over them (phase 2), and the anchors that let
// correlation join the two (phase 3).
//
// Everything is read with the property collector over one container view
// per object type, paged with RetrievePropertiesEx and
// ContinueRetrievePropertiesEx: the number of round trips grows with
// pages, never with VMs, and nothing is fetched per VM.
package vsphere

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmstor/vmstor/model"
)

// Config says which vCenter or ESXi host to scan and how to log in.
type Config struct {
	// URL is the SDK endpoint, e.g. https://vcenter.example/sdk. As with
	// govc, the scheme defaults to https and the path to /sdk, and a
	// user and password may be given in it.
	URL string
	// Username and Password, when set, take precedence over those in URL
	// (as GOVC_USERNAME/GOVC_PASSWORD do for govc). The CLI fills them
	// from VMSTOR_VSPHERE_USERNAME and VMSTOR_VSPHERE_PASSWORD.
	Username, Password string
	// Insecure skips verification of the server's certificate.
	Insecure bool
	// CAFile is a PEM file of CA certificates to trust in addition to
	// none: when set, only these CAs are trusted (private PKI, VMCA).
	CAFile string
	// PageSize is the number of objects per property-collector page
	// (RetrieveOptions.maxObjects); 0 means DefaultPageSize.
	PageSize int
}

// DefaultPageSize is the page size used when Config.PageSize is 0. A page of
// 1,000 VMs with their device lists is a few MB of XML: large enough that
// round trips stay few, small enough to bound memory.
const DefaultPageSize = 1000

// Timeouts of the network calls: a dead vCenter must not hang a scan.
const (
	dialTimeout    = 15 * time.Second
	requestTimeout = 5 * time.Minute
)

// Source scans one vCenter or ESXi host. It implements scan.Source.
type Source struct {
	cfg  Config
	name string
	// wrap, when set, wraps the HTTP transport (tests count round trips
	// and inject faults with it).
	wrap func(http.RoundTripper) http.RoundTripper
}

// New returns a Source for cfg. Nothing is contacted until Scan.
func New(cfg Config) *Source {
	return &Source{cfg: cfg, name: "vsphere:" + redactURL(cfg.URL)}
}

// Name is "vsphere:" and the URL without credentials.
func (s *Source) Name() string { return s.name }

// redactURL returns raw without its user information, in the form govc
// would use it (https and /sdk added when missing).
func redactURL(raw string) string {
	u, err := soap.ParseURL(raw)
	if err != nil || u == nil {
		// Do not echo an unparsable URL: it may hold a password.
		if i := strings.LastIndex(raw, "@"); i >= 0 {
			return raw[i+1:]
		}
		return raw
	}
	u.User = nil
	return u.String()
}

// Scan connects, logs in, reads everything in a few paged property-collector
// calls and returns the inventory. A non-nil error means nothing could be
// read (unreachable, refused, not vSphere); failures of single objects are
// in the inventory's Errors.
func (s *Source) Scan(ctx context.Context) (*model.Inventory, error) {
	c, userinfo, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	sm := session.NewManager(c)
	if err := s.login(ctx, sm, userinfo); err != nil {
		return nil, err
	}
	defer func() {
		// Free the session on the server; a failure here changes nothing.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = sm.Logout(lctx)
	}()

	data, err := s.collect(ctx, c)
	if err != nil && isNotAuthenticated(err) {
		// The session expired (or was terminated) mid-scan: continuation
		// tokens and views died with it, so log in once more and read
		// again from the start.
		if lerr := s.login(ctx, sm, userinfo); lerr != nil {
			return nil, lerr
		}
		data, err = s.collect(ctx, c)
		if err == nil {
			data.errors = append(data.errors, model.ScanError{
				Source:  s.name,
				Message: "the session expired during the scan; logged in again and read everything again",
			})
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("scan interrupted: %w", ctx.Err())
		}
		return nil, s.fault("read inventory", err)
	}
	return s.build(data), nil
}

// connect builds the SOAP client with the TLS settings and fetches the
// service content (the first round trip, which tells whether the endpoint
// is vSphere at all).
func (s *Source) connect(ctx context.Context) (*vim25.Client, *url.Userinfo, error) {
	if strings.TrimSpace(s.cfg.URL) == "" {
		return nil, nil, model.ScanError{Source: s.name, Message: "no vSphere URL given",
			Hint: "use --vsphere https://vcenter.example/sdk"}
	}
	u, err := soap.ParseURL(s.cfg.URL)
	if err != nil {
		// url.Error quotes the URL, which may hold a password.
		return nil, nil, model.ScanError{Source: s.name, Message: "cannot parse the vSphere URL",
			Hint: "use the form https://[user[:password]@]host[:port]/sdk"}
	}
	user, pass := u.User.Username(), ""
	if p, ok := u.User.Password(); ok {
		pass = p
	}
	if s.cfg.Username != "" {
		user = s.cfg.Username
	}
	if s.cfg.Password != "" {
		pass = s.cfg.Password
	}
	if user == "" || pass == "" {
		return nil, nil, model.ScanError{Source: s.name, Message: "no vSphere user name or password",
			Hint: "set VMSTOR_VSPHERE_USERNAME and VMSTOR_VSPHERE_PASSWORD, or put user:password@ in the URL"}
	}
	u.User = nil

	sc := soap.NewClient(u, s.cfg.Insecure)
	if s.cfg.CAFile != "" && !s.cfg.Insecure {
		if err := sc.SetRootCAs(s.cfg.CAFile); err != nil {
			return nil, nil, model.ScanError{Source: s.name, Object: s.cfg.CAFile,
				Message: fmt.Sprintf("cannot use the CA file: %v", err),
				Hint:    "--ca-file takes a PEM file of one or more CA certificates"}
		}
	}
	t := sc.DefaultTransport()
	// soap.Client dials TLS without a timeout or the context; dial with both.
	tlsConf := t.TLSClientConfig
	t.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := tls.Dialer{NetDialer: &net.Dialer{Timeout: dialTimeout}, Config: tlsConf}
		return d.DialContext(ctx, network, addr)
	}
	t.DialContext = (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext
	t.ResponseHeaderTimeout = requestTimeout
	if s.wrap != nil {
		sc.Client.Transport = s.wrap(sc.Client.Transport)
	}

	c, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return nil, nil, s.connectFault(u, err)
	}
	if c.ServiceContent.PropertyCollector.Value == "" || c.ServiceContent.SessionManager == nil {
		return nil, nil, model.ScanError{Source: s.name,
			Message: "the endpoint answered but is not a vSphere SDK (no property collector or session manager)",
			Hint:    "point --vsphere at https://<vcenter-or-esxi>/sdk"}
	}
	return c, url.UserPassword(user, pass), nil
}

// connectFault turns a failure of the first call into an error that says
// what to do.
func (s *Source) connectFault(u *url.URL, err error) error {
	var cve *tls.CertificateVerificationError
	var hostErr x509.HostnameError
	switch {
	case errors.As(err, &cve) || soap.IsCertificateUntrusted(err):
		msg := fmt.Sprintf("the server certificate of %s is not trusted: %v", u.Host, rootCause(err))
		if cve != nil && len(cve.UnverifiedCertificates) > 0 {
			cert := cve.UnverifiedCertificates[0]
			sum := sha256.Sum256(cert.Raw)
			msg += fmt.Sprintf(" (subject %q, issuer %q, SHA-256 fingerprint %s)",
				cert.Subject.String(), cert.Issuer.String(), colonHex(sum[:]))
		}
		hint := "pass --ca-file with the PEM of the CA that signed it (vCenter: https://" + u.Host +
			"/certs/download.zip), or --insecure to skip verification"
		if errors.As(err, &hostErr) {
			hint = "the certificate is for other names: use the host name it names in the URL, " + hint
		}
		return model.ScanError{Source: s.name, Message: msg, Hint: hint}
	case isNetError(err):
		return model.ScanError{Source: s.name,
			Message: fmt.Sprintf("cannot reach %s: %v", u.Host, rootCause(err)),
			Hint:    "check the host name, port and firewall (vCenter and ESXi serve the API on 443)"}
	default:
		return model.ScanError{Source: s.name,
			Message: fmt.Sprintf("%s did not answer as a vSphere SDK endpoint: %v", u.String(), rootCause(err)),
			Hint:    "point --vsphere at https://<vcenter-or-esxi>/sdk"}
	}
}

func (s *Source) login(ctx context.Context, sm *session.Manager, u *url.Userinfo) error {
	err := sm.Login(ctx, u)
	if err == nil {
		return nil
	}
	if isInvalidLogin(err) {
		return model.ScanError{Source: s.name,
			Message: fmt.Sprintf("login as %q refused: incorrect user name or password", u.Username()),
			Hint:    "check VMSTOR_VSPHERE_USERNAME/VMSTOR_VSPHERE_PASSWORD (or the URL's user); SSO users are user@domain"}
	}
	return s.fault("log in as "+u.Username(), err)
}

// fault wraps a failure of a whole step.
func (s *Source) fault(step string, err error) error {
	if isNetError(err) {
		return model.ScanError{Source: s.name, Message: fmt.Sprintf("%s: %v", step, rootCause(err)),
			Hint: "the connection to vSphere failed; check the network and retry"}
	}
	// scan.Run names the source; the step and the cause say the rest.
	return fmt.Errorf("%s: %w", step, err)
}

func isNetError(err error) bool {
	var ne net.Error
	var oe *net.OpError
	var dnsErr *net.DNSError
	return errors.As(err, &oe) || errors.As(err, &dnsErr) || (errors.As(err, &ne) && ne.Timeout()) ||
		errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded)
}

// rootCause strips url.Error's wrapping (which repeats the URL) from err.
func rootCause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func colonHex(b []byte) string {
	h := strings.ToUpper(hex.EncodeToString(b))
	var sb strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(h[i : i+2])
	}
	return sb.String()
}

// faultOf returns the vSphere fault inside err (a value or a pointer,
// depending on how it was decoded), or nil.
func faultOf(err error) any {
	switch {
	case err == nil:
		return nil
	case soap.IsSoapFault(err):
		return soap.ToSoapFault(err).VimFault()
	case soap.IsVimFault(err):
		return soap.ToVimFault(err)
	}
	if u := errors.Unwrap(err); u != nil {
		return faultOf(u)
	}
	return nil
}

// isNotAuthenticated tells a dead session (expired, terminated) apart from
// other faults.
func isNotAuthenticated(err error) bool {
	switch faultOf(err).(type) {
	case *types.NotAuthenticated, types.NotAuthenticated:
		return true
	}
	return false
}

func isInvalidLogin(err error) bool {
	switch faultOf(err).(type) {
	case *types.InvalidLogin, types.InvalidLogin:
		return true
	}
	return false
}
