// Package pure is a small read-only client of the Pure Storage FlashArray
// REST API 2.x: API version negotiation, login with an API token, the
// array, volumes by serial, and network interfaces. It follows
// continuation tokens and stops on a paging loop.
package pure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// Client talks to one FlashArray.
type Client struct {
	base  *url.URL
	hc    *http.Client
	token string // API token (secret)
	// Limit is items per page.
	Limit int
	// MaxPages bounds the pages of one listing.
	MaxPages int
	// Batch is how many serials one filter carries.
	Batch int

	mu      sync.Mutex
	version string // negotiated, e.g. "2.17"
	session string // x-auth-token
}

// New returns a client of the array at baseURL (https://array.example).
func New(baseURL string, hc *http.Client, apiToken string) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("FlashArray URL %q: %w", baseURL, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("FlashArray URL %q: want https://host[:port]", baseURL)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: u, hc: hc, token: apiToken, Limit: 500, MaxPages: 1000, Batch: 50}, nil
}

// APIError is a non-2xx answer; Pure's error body is
// {"errors": [{"context": ..., "message": ...}]}.
type APIError struct {
	Method, URL string
	Status      int
	Message     string
	Context     string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%s %s: HTTP %d", e.Method, e.URL, e.Status)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Context != "" {
		s += " (" + e.Context + ")"
	}
	return s
}

// ErrPagingLoop is returned when a continuation token repeats.
var ErrPagingLoop = errors.New("paging loop: continuation token already seen")

// Ref is Pure's {id, name} reference.
type Ref struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
}

// Array is one item of /arrays.
type Array struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	OS      string `json:"os"`
	Version string `json:"version"`
}

// Volume is one item of /volumes.
type Volume struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Serial      string `json:"serial"`
	Provisioned uint64 `json:"provisioned"`
	Destroyed   bool   `json:"destroyed"`
	Space       struct {
		// Virtual is the logically written data the volume references.
		Virtual       uint64 `json:"virtual"`
		TotalPhysical uint64 `json:"total_physical"`
		Unique        uint64 `json:"unique"`
	} `json:"space"`
	Pod         *Ref `json:"pod"`
	VolumeGroup *Ref `json:"volume_group"`
}

// Controller is one item of /controllers.
type Controller struct {
	Name    string `json:"name"`
	Mode    string `json:"mode"` // primary, secondary
	Model   string `json:"model"`
	Status  string `json:"status"`
	Type    string `json:"type"`
	Version string `json:"version"`
}

// Controllers lists the array's controllers.
func (c *Client) Controllers(ctx context.Context) ([]Controller, error) {
	var out []Controller
	err := listAll(ctx, c, "/controllers", url.Values{}, func(x Controller) { out = append(out, x) })
	return out, err
}

// Model returns the model of the primary array controller.
func Model(cs []Controller) string {
	for _, c := range cs {
		if c.Mode == "primary" && c.Model != "" {
			return c.Model
		}
	}
	for _, c := range cs {
		if c.Type == "array_controller" && c.Model != "" {
			return c.Model
		}
	}
	return ""
}

// NetworkInterface is one item of /network-interfaces.
type NetworkInterface struct {
	Name     string   `json:"name"`
	Enabled  bool     `json:"enabled"`
	Services []string `json:"services"`
	Eth      *struct {
		Address string `json:"address"`
	} `json:"eth"`
}

// Array reads the array's identity.
func (c *Client) Array(ctx context.Context) (Array, error) {
	var out []Array
	err := listAll(ctx, c, "/arrays", url.Values{}, func(a Array) { out = append(out, a) })
	if err != nil {
		return Array{}, err
	}
	if len(out) == 0 {
		return Array{}, fmt.Errorf("GET %s/arrays: no array in the answer", c.base.Host)
	}
	return out[0], nil
}

// VolumesBySerial returns the volumes with any of these serials.
func (c *Client) VolumesBySerial(ctx context.Context, serials []string) ([]Volume, error) {
	var out []Volume
	for i := 0; i < len(serials); i += max(c.Batch, 1) {
		batch := serials[i:min(i+max(c.Batch, 1), len(serials))]
		var f []string
		for _, s := range batch {
			// Serials are hex; anything else cannot be a Pure serial and
			// must not reach the filter expression.
			if !isHex(s) {
				continue
			}
			f = append(f, "serial='"+s+"'")
		}
		if len(f) == 0 {
			continue
		}
		q := url.Values{"filter": {strings.Join(f, " or ")}}
		if err := listAll(ctx, c, "/volumes", q, func(v Volume) { out = append(out, v) }); err != nil {
			return out, err
		}
	}
	return out, nil
}

// NetworkInterfaces lists the array's network interfaces.
func (c *Client) NetworkInterfaces(ctx context.Context) ([]NetworkInterface, error) {
	var out []NetworkInterface
	err := listAll(ctx, c, "/network-interfaces", url.Values{}, func(n NetworkInterface) { out = append(out, n) })
	return out, err
}

// DataAddresses returns the addresses of enabled interfaces serving iSCSI
// or NVMe/TCP.
func DataAddresses(ifs []NetworkInterface) []string {
	var out []string
	for _, n := range ifs {
		if !n.Enabled || n.Eth == nil || n.Eth.Address == "" {
			continue
		}
		for _, s := range n.Services {
			if s == "iscsi" || s == "nvme-tcp" || s == "nvme-roce" {
				out = append(out, n.Eth.Address)
				break
			}
		}
	}
	return out
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return s != ""
}

type page[T any] struct {
	Items             []T    `json:"items"`
	ContinuationToken string `json:"continuation_token"`
	MoreItems         bool   `json:"more_items_remaining"`
}

func listAll[T any](ctx context.Context, c *Client, path string, q url.Values, each func(T)) error {
	if c.Limit > 0 {
		q.Set("limit", strconv.Itoa(c.Limit))
	}
	seen := map[string]bool{}
	for n := 0; ; n++ {
		if c.MaxPages > 0 && n >= c.MaxPages {
			return fmt.Errorf("GET %s: more than %d pages; stopped", path, c.MaxPages)
		}
		var p page[T]
		if err := c.get(ctx, path, q, &p); err != nil {
			return err
		}
		for _, it := range p.Items {
			each(it)
		}
		if p.ContinuationToken == "" {
			return nil
		}
		if seen[p.ContinuationToken] {
			return fmt.Errorf("GET %s: %w", path, ErrPagingLoop)
		}
		seen[p.ContinuationToken] = true
		q.Set("continuation_token", p.ContinuationToken)
	}
}

// get runs one GET under the negotiated version, logging in first and
// once more when the session has expired (401).
func (c *Client) get(ctx context.Context, path string, q url.Values, v any) error {
	for attempt := 0; ; attempt++ {
		ver, session, err := c.login(ctx, attempt > 0)
		if err != nil {
			return err
		}
		u := c.url("/api/"+ver+path, q)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return fmt.Errorf("GET %s: %w", path, err)
		}
		req.Header.Set("x-auth-token", session)
		req.Header.Set("Accept", "application/json")
		err = c.do(req, v)
		var ae *APIError
		if attempt == 0 && errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
			continue // session expired: log in again, once
		}
		return err
	}
}

// login negotiates the API version and opens a session, once per client
// (again when force is set).
func (c *Client) login(ctx context.Context, force bool) (string, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.session != "" && !force {
		return c.version, c.session, nil
	}
	if c.version == "" {
		var vs struct {
			Version []string `json:"version"`
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url("/api/api_version", nil), nil)
		if err != nil {
			return "", "", err
		}
		if err := c.do(req, &vs); err != nil {
			return "", "", err
		}
		c.version = newest2x(vs.Version)
		if c.version == "" {
			return "", "", fmt.Errorf("GET %s/api/api_version: no REST 2.x version offered (got %v): Purity 5.2 or later is needed", c.base.Host, vs.Version)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url("/api/"+c.version+"/login", nil), nil)
	if err != nil {
		return "", "", err
	}
	req.Header.Set("api-token", c.token)
	resp, err := c.hc.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("POST %s/api/%s/login: %w", c.base.Host, c.version, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return "", "", apiError(resp)
	}
	c.session = resp.Header.Get("x-auth-token")
	if c.session == "" {
		return "", "", fmt.Errorf("POST %s/api/%s/login: no x-auth-token in the answer", c.base.Host, c.version)
	}
	return c.version, c.session, nil
}

// newest2x picks the highest 2.x version.
func newest2x(vs []string) string {
	best, bestMinor := "", -1
	for _, v := range vs {
		minor, ok := strings.CutPrefix(v, "2.")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(minor)
		if err == nil && n > bestMinor {
			best, bestMinor = v, n
		}
	}
	return best
}

func (c *Client) url(path string, q url.Values) string {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	if q != nil {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

const maxBody = 256 << 20

func (c *Client) do(req *http.Request, v any) error {
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s%s: %w", req.Method, req.URL.Host, req.URL.Path, err)
	}
	defer func() {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // reuse the connection
		resp.Body.Close()
	}()
	if resp.StatusCode/100 != 2 {
		return apiError(resp)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(v); err != nil {
		return fmt.Errorf("%s %s%s: decode answer: %w", req.Method, req.URL.Host, req.URL.Path, err)
	}
	return nil
}

func apiError(resp *http.Response) error {
	e := &APIError{Method: resp.Request.Method, URL: resp.Request.URL.Host + resp.Request.URL.Path, Status: resp.StatusCode}
	var eb struct {
		Errors []struct {
			Context string `json:"context"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(b, &eb) == nil && len(eb.Errors) > 0 {
		e.Message, e.Context = eb.Errors[0].Message, eb.Errors[0].Context
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}
