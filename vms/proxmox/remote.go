package proxmox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vmstor/vmstor/model"
)

// Config says how to reach the Proxmox REST API.
type Config struct {
	// URL is "https://host:8006" (the /api2/json prefix is added when absent).
	URL string
	// Token is an API token "user@realm!tokenid=secret" (see LoadToken).
	Token string
	// Insecure skips TLS verification (a node's self-signed certificate).
	Insecure bool
	// CAFile is a PEM file of CAs to trust instead of the system's
	// (/etc/pve/pve-root-ca.pem of the cluster).
	CAFile string
	// Timeout bounds each request; 0 means 30s.
	Timeout time.Duration
}

// TokenEnv is the environment variable LoadToken reads.
const TokenEnv = "VMSTOR_PROXMOX_TOKEN"

// LoadToken returns the API token from file when file is set, else from
// $VMSTOR_PROXMOX_TOKEN. Tokens never go on the command line (ps shows argv).
func LoadToken(file string) (string, error) {
	var tok string
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read Proxmox token file: %w", err)
		}
		tok = strings.TrimSpace(string(b))
	} else {
		tok = strings.TrimSpace(os.Getenv(TokenEnv))
	}
	if tok == "" {
		return "", fmt.Errorf("no Proxmox API token: set %s or give a token file", TokenEnv)
	}
	if err := checkToken(tok); err != nil {
		return "", err
	}
	return tok, nil
}

func checkToken(tok string) error {
	user, rest, ok1 := strings.Cut(tok, "!")
	id, secret, ok2 := strings.Cut(rest, "=")
	if !ok1 || !ok2 || !strings.Contains(user, "@") || id == "" || secret == "" {
		// Do not echo the token: it is a secret.
		return errors.New(`the Proxmox API token is not "user@realm!tokenid=secret"`)
	}
	return nil
}

// NewRemote reads VMs, their configs and the storage definitions from the
// Proxmox REST API. Disks map to storage ids and host paths; the host
// storage beneath comes from each node's own vmstor scan.
func NewRemote(cfg Config) *Source {
	c := cfg
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	return &Source{remote: &c}
}

// maxParallel bounds concurrent config requests (one per VM): enough to hide
// latency, few enough not to load pveproxy.
const maxParallel = 8

// apiClient is a minimal client of /api2/json.
type apiClient struct {
	base  string
	token string
	hc    *http.Client
}

func newAPIClient(cfg *Config) (*apiClient, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" || u.Scheme != "https" {
		// pveproxy speaks only HTTPS; plain HTTP would send the token in clear.
		return nil, fmt.Errorf("the Proxmox URL %q is not https://host:8006", cfg.URL)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/api2/json"
	}
	if cfg.Token == "" {
		return nil, model.ScanError{Message: "no API token", Hint: "set " + TokenEnv + "=user@realm!tokenid=secret"}
	}
	if err := checkToken(cfg.Token); err != nil {
		return nil, err
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA file %s holds no PEM certificate", cfg.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	tlsCfg.InsecureSkipVerify = cfg.Insecure
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	tr.Proxy = nil // API tokens must not pass through an unasked-for proxy
	// Keep a connection per parallel request: the default of 2 idle
	// connections would cost a TLS handshake for most config requests.
	tr.MaxIdleConnsPerHost = maxParallel
	return &apiClient{
		base:  strings.TrimRight(u.String(), "/"),
		token: cfg.Token,
		hc:    &http.Client{Transport: tr, Timeout: cfg.Timeout},
	}, nil
}

// HTTPError is a non-2xx answer.
type HTTPError struct {
	Path   string
	Status int
	Body   string
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("GET %s: HTTP %d: %s", e.Path, e.Status, e.Body)
}

// get fetches path and decodes the "data" member of the answer into dst.
func (c *apiClient) get(ctx context.Context, path string, dst any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	req.Header.Set("Authorization", "PVEAPIToken="+c.token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is in our own message
		}
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("GET %s: read answer: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		msg := strings.TrimSpace(string(body))
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		if msg == "" {
			msg = resp.Status
		}
		return &HTTPError{Path: path, Status: resp.StatusCode, Body: msg}
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return fmt.Errorf("GET %s: answer is not JSON: %w", path, err)
	}
	if len(env.Data) == 0 || string(env.Data) == "null" {
		return fmt.Errorf("GET %s: answer has no data", path)
	}
	if err := json.Unmarshal(env.Data, dst); err != nil {
		return fmt.Errorf("GET %s: decode data: %w", path, err)
	}
	return nil
}

func apiHint(err error) string {
	var he *HTTPError
	if errors.As(err, &he) {
		switch {
		case he.Status == http.StatusUnauthorized:
			return "the API token was refused: check " + TokenEnv + " (user@realm!tokenid=secret) and that the token is not expired"
		case he.Status == http.StatusForbidden:
			return "the token lacks privileges: grant VM.Audit and Datastore.Audit on / (PVEAuditor role)"
		case he.Status >= 500:
			return "the Proxmox API failed: check pveproxy/pvedaemon on the node (journalctl -u pveproxy)"
		}
	}
	var ce *tls.CertificateVerificationError
	if errors.As(err, &ce) {
		return "the node's certificate is not trusted: give --ca-file /etc/pve/pve-root-ca.pem (copied from a node) or --insecure"
	}
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout") {
		return "the API did not answer in time: check the node's load and the network, or raise the timeout"
	}
	return ""
}

// clusterResource is one element of GET /cluster/resources?type=vm.
type clusterResource struct {
	ID       string `json:"id"`
	Type     string `json:"type"` // qemu or lxc
	Node     string `json:"node"`
	VMID     int    `json:"vmid"`
	Name     string `json:"name"`
	Status   string `json:"status"`
	Template int    `json:"template"`
}

// clusterStatus is one element of GET /cluster/status.
type clusterStatus struct {
	Type   string `json:"type"` // cluster or node
	Name   string `json:"name"`
	Online int    `json:"online"`
}

func (s *Source) scanRemote(ctx context.Context) (*model.Inventory, error) {
	src := s.Name()
	c, err := newAPIClient(s.remote)
	if err != nil {
		var se model.ScanError
		if errors.As(err, &se) {
			se.Source = src
			return nil, se
		}
		return nil, model.ScanError{Source: src, Message: err.Error()}
	}
	fail := func(err error) error {
		return model.ScanError{Source: src, Message: err.Error(), Hint: apiHint(err)}
	}
	var resources []clusterResource
	if err := c.get(ctx, "/cluster/resources?type=vm", &resources); err != nil {
		return nil, fail(err)
	}
	inv := &model.Inventory{Version: model.SchemaVersion}

	cluster := ""
	var status []clusterStatus
	if err := c.get(ctx, "/cluster/status", &status); err != nil {
		inv.Errors = append(inv.Errors, model.ScanError{Source: src, Object: "cluster status", Message: err.Error(), Hint: apiHint(err)})
	}
	for _, st := range status {
		if st.Type == "cluster" {
			cluster = st.Name
		}
	}
	seen := map[string]bool{}
	for _, st := range status {
		if st.Type == "node" {
			state := "offline"
			if st.Online == 1 {
				state = "online"
			}
			inv.Hosts = append(inv.Hosts, model.Host{Name: st.Name, Platform: model.PlatformProxmox, Cluster: cluster, State: state})
			seen[st.Name] = true
		}
	}

	storages := map[string]Storage{}
	var raw []map[string]any
	if err := c.get(ctx, "/storage", &raw); err != nil {
		inv.Errors = append(inv.Errors, model.ScanError{Source: src, Object: "storage definitions", Message: err.Error(),
			Hint: "disks on storage ids cannot be resolved; " + apiHint(err)})
	}
	for _, m := range raw {
		st, err := storageFromMap(m)
		if err != nil {
			inv.Errors = append(inv.Errors, model.ScanError{Source: src, Object: "storage definitions", Message: err.Error()})
			continue
		}
		storages[st.ID] = st
	}

	var vms []clusterResource
	for _, r := range resources {
		if r.Type != "qemu" { // containers have no virtual disks of this kind
			continue
		}
		vms = append(vms, r)
		if !seen[r.Node] {
			seen[r.Node] = true
			inv.Hosts = append(inv.Hosts, model.Host{Name: r.Node, Platform: model.PlatformProxmox, Cluster: cluster})
		}
	}
	sort.Slice(vms, func(i, j int) bool { return vms[i].VMID < vms[j].VMID })

	type result struct {
		vm   *model.VM
		errs []model.ScanError
	}
	results := make([]result, len(vms))
	par := s.parallel
	if par <= 0 || par > maxParallel {
		par = maxParallel
	}
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, r := range vms {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			vmid := fmt.Sprint(r.VMID)
			object := fmt.Sprintf("vm %s (%s) on %s", vmid, r.Name, r.Node)
			var m map[string]any
			// current=1: the running configuration, not pending changes.
			p := "/nodes/" + url.PathEscape(r.Node) + "/qemu/" + vmid + "/config?current=1"
			if err := c.get(ctx, p, &m); err != nil {
				results[i].errs = []model.ScanError{{Source: src, Object: object, Message: err.Error(), Hint: apiHint(err)}}
				return
			}
			cfg, perrs := configFromMap(m)
			errs := configErrors(src, object, perrs)
			vm, verrs := buildVM(src, vmInfo{VMID: vmid, Node: r.Node, Cluster: cluster, State: r.Status, Remote: true}, cfg, storages)
			if vm.Name == "VM "+vmid && r.Name != "" {
				vm.Name = r.Name
			}
			results[i] = result{vm: &vm, errs: append(errs, verrs...)}
		}()
	}
	wg.Wait()
	for _, r := range results {
		if r.vm != nil {
			inv.VMs = append(inv.VMs, *r.vm)
		}
		inv.Errors = append(inv.Errors, r.errs...)
	}
	return inv, nil
}
