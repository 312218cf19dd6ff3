// Package ontap is a small read-only client of the NetApp ONTAP REST API
// (ONTAP 9.6 and later): the cluster, LUNs and NVMe namespaces by serial or
// uuid, and data interfaces. It follows `_links.next` paging and stops on a
// paging loop.
package ontap

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
)

// Client talks to one ONTAP cluster.
type Client struct {
	base     *url.URL
	hc       *http.Client
	user     string
	password string
	// PageSize is max_records per page (0: the server's default).
	PageSize int
	// MaxPages bounds the pages of one listing.
	MaxPages int
	// Batch is how many serials one query carries (the URL must stay
	// below the server's limit).
	Batch int
}

// New returns a client of the cluster at baseURL (https://cluster.example).
// hc carries TLS settings and timeouts.
func New(baseURL string, hc *http.Client, user, password string) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("ONTAP URL %q: %w", baseURL, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("ONTAP URL %q: want https://host[:port]", baseURL)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: u, hc: hc, user: user, password: password, PageSize: 1000, MaxPages: 1000, Batch: 100}, nil
}

// APIError is a non-2xx answer. ONTAP's error body is
// {"error": {"message": ..., "code": ..., "target": ...}}.
type APIError struct {
	URL     string
	Status  int
	Code    string
	Message string
	Target  string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("GET %s: HTTP %d", e.URL, e.Status)
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Code != "" {
		s += " (code " + e.Code + ")"
	}
	return s
}

// ErrPagingLoop is returned when a `next` link leads to a page already read.
var ErrPagingLoop = errors.New("paging loop: next link points to a page already read")

// Cluster is /api/cluster.
type Cluster struct {
	Name    string `json:"name"`
	UUID    string `json:"uuid"`
	Version struct {
		Full string `json:"full"`
	} `json:"version"`
	ManagementInterfaces []struct {
		Name string `json:"name"`
		IP   struct {
			Address string `json:"address"`
		} `json:"ip"`
	} `json:"management_interfaces"`
}

// Ref is ONTAP's {name, uuid} reference.
type Ref struct {
	Name string `json:"name"`
	UUID string `json:"uuid,omitempty"`
}

// Location is where a LUN or namespace lives.
type Location struct {
	Volume Ref `json:"volume"`
	Qtree  struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	} `json:"qtree"`
	Node Ref `json:"node"`
}

// Space is a LUN's or namespace's size and use, in bytes.
type Space struct {
	Size uint64 `json:"size"`
	Used uint64 `json:"used"`
}

// Status is the state of a LUN or namespace.
type Status struct {
	State          string `json:"state"`
	ContainerState string `json:"container_state"`
	Mapped         bool   `json:"mapped"`
}

// LUN is one record of /api/storage/luns.
type LUN struct {
	UUID         string   `json:"uuid"`
	Name         string   `json:"name"` // the LUN path, /vol/<volume>[/<qtree>]/<lun>
	SerialNumber string   `json:"serial_number"`
	SVM          Ref      `json:"svm"`
	Location     Location `json:"location"`
	Space        Space    `json:"space"`
	Status       Status   `json:"status"`
	OSType       string   `json:"os_type"`
	LUNMaps      []struct {
		Igroup            Ref     `json:"igroup"`
		LogicalUnitNumber FlexInt `json:"logical_unit_number"`
	} `json:"lun_maps"`
}

// Namespace is one record of /api/storage/namespaces.
type Namespace struct {
	UUID         string   `json:"uuid"`
	Name         string   `json:"name"` // the namespace path
	SVM          Ref      `json:"svm"`
	Location     Location `json:"location"`
	Space        Space    `json:"space"`
	Status       Status   `json:"status"`
	SubsystemMap struct {
		Subsystem Ref    `json:"subsystem"`
		NSID      string `json:"nsid"`
	} `json:"subsystem_map"`
}

// FlexInt is an integer that some ONTAP releases' examples show as a
// string ("logical_unit_number": "1"); both forms are read.
type FlexInt int

// UnmarshalJSON reads 1 or "1".
func (n *FlexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		return nil
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("integer field: %q: %w", b, err)
	}
	*n = FlexInt(v)
	return nil
}

// Interface is one record of /api/network/ip/interfaces.
type Interface struct {
	Name string `json:"name"`
	IP   struct {
		Address string `json:"address"`
	} `json:"ip"`
	SVM      Ref      `json:"svm"`
	Services []string `json:"services"`
	Enabled  *bool    `json:"enabled"`
}

// Cluster reads the cluster's name, uuid, version and management addresses.
func (c *Client) Cluster(ctx context.Context) (Cluster, error) {
	var cl Cluster
	q := url.Values{"fields": {"name,uuid,version,management_interfaces"}}
	err := c.get(ctx, c.resolve("/api/cluster", q), &cl)
	return cl, err
}

const lunFields = "uuid,name,serial_number,svm.name,svm.uuid,location.volume.name,location.volume.uuid," +
	"location.qtree.id,location.qtree.name,location.node.name,space.size,space.used," +
	"status.state,status.container_state,status.mapped,os_type,lun_maps"

// LUNsBySerial returns the LUNs with any of these serial numbers, in
// batches of c.Batch serials per query ("serial_number=a|b|c").
func (c *Client) LUNsBySerial(ctx context.Context, serials []string) ([]LUN, error) {
	var out []LUN
	for batch := range chunks(serials, c.Batch) {
		q := url.Values{"fields": {lunFields}, "serial_number": {strings.Join(batch, "|")}}
		err := listAll(ctx, c, "/api/storage/luns", q, func(r LUN) { out = append(out, r) })
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

const nsFields = "uuid,name,svm.name,svm.uuid,location.volume.name,location.volume.uuid,location.qtree.id," +
	"location.qtree.name,location.node.name,space.size,space.used,status.state,status.container_state," +
	"status.mapped,subsystem_map"

// NamespacesByUUID returns the NVMe namespaces with any of these uuids.
func (c *Client) NamespacesByUUID(ctx context.Context, uuids []string) ([]Namespace, error) {
	var out []Namespace
	for batch := range chunks(uuids, c.Batch) {
		q := url.Values{"fields": {nsFields}, "uuid": {strings.Join(batch, "|")}}
		err := listAll(ctx, c, "/api/storage/namespaces", q, func(r Namespace) { out = append(out, r) })
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// Node is one record of /api/cluster/nodes.
type Node struct {
	Name         string `json:"name"`
	UUID         string `json:"uuid"`
	Model        string `json:"model"`
	SerialNumber string `json:"serial_number"`
}

// Nodes returns the cluster's nodes with their hardware model.
func (c *Client) Nodes(ctx context.Context) ([]Node, error) {
	var out []Node
	q := url.Values{"fields": {"name,uuid,model,serial_number"}}
	err := listAll(ctx, c, "/api/cluster/nodes", q, func(r Node) { out = append(out, r) })
	return out, err
}

// Interfaces returns the cluster's IP interfaces (LIFs).
func (c *Client) Interfaces(ctx context.Context) ([]Interface, error) {
	var out []Interface
	q := url.Values{"fields": {"name,ip.address,svm.name,svm.uuid,services,enabled"}}
	err := listAll(ctx, c, "/api/network/ip/interfaces", q, func(r Interface) { out = append(out, r) })
	return out, err
}

// DataAddresses returns the addresses of the SVM's interfaces that serve
// block data (iSCSI, NVMe/TCP). Interfaces without a services list (ONTAP
// before 9.6) count as data interfaces when they belong to the SVM.
func DataAddresses(ifs []Interface, svm string) []string {
	var out []string
	for _, i := range ifs {
		if i.SVM.Name != svm || i.IP.Address == "" || (i.Enabled != nil && !*i.Enabled) {
			continue
		}
		ok := len(i.Services) == 0
		for _, s := range i.Services {
			if s == "data_iscsi" || s == "data_nvme_tcp" || s == "data_nvme_fc" || s == "data_fcp" {
				ok = true
			}
		}
		if ok {
			out = append(out, i.IP.Address)
		}
	}
	return out
}

func chunks(s []string, n int) func(func([]string) bool) {
	if n <= 0 {
		n = 100
	}
	return func(yield func([]string) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}

// page is ONTAP's collection envelope.
type page[T any] struct {
	Records    []T `json:"records"`
	NumRecords int `json:"num_records"`
	Links      struct {
		Next *struct {
			Href string `json:"href"`
		} `json:"next"`
	} `json:"_links"`
}

// listAll reads every page of a collection.
func listAll[T any](ctx context.Context, c *Client, path string, q url.Values, each func(T)) error {
	if c.PageSize > 0 {
		q.Set("max_records", strconv.Itoa(c.PageSize))
	}
	next := c.resolve(path, q)
	seen := map[string]bool{}
	for n := 0; next != ""; n++ {
		key := pageKey(next)
		if seen[key] {
			return fmt.Errorf("GET %s: %w", redact(next), ErrPagingLoop)
		}
		if c.MaxPages > 0 && n >= c.MaxPages {
			return fmt.Errorf("GET %s: more than %d pages; stopped", path, c.MaxPages)
		}
		seen[key] = true
		var p page[T]
		if err := c.get(ctx, next, &p); err != nil {
			return err
		}
		for _, r := range p.Records {
			each(r)
		}
		next = ""
		if p.Links.Next != nil && p.Links.Next.Href != "" {
			u, err := c.base.Parse(p.Links.Next.Href)
			if err != nil {
				return fmt.Errorf("GET %s: bad next link %q: %w", path, p.Links.Next.Href, err)
			}
			if u.Host != c.base.Host {
				// Credentials go only to the configured cluster.
				return fmt.Errorf("GET %s: next link %q leaves the cluster", path, p.Links.Next.Href)
			}
			next = u.String()
		}
	}
	return nil
}

// pageKey normalises a page URL (query order, escaping) so a loop is seen
// even when the server spells the link differently.
func pageKey(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return u
	}
	return p.Path + "?" + p.Query().Encode()
}

func (c *Client) resolve(path string, q url.Values) string {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = q.Encode()
	return u.String()
}

// maxBody bounds what one answer may hold (100k LUN records fit).
const maxBody = 256 << 20

func (c *Client) get(ctx context.Context, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	req.SetBasicAuth(c.user, c.password)
	req.Header.Set("Accept", "application/hal+json, application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", redact(u), err)
	}
	defer func() {
		// Drain what the decoder left (a trailing newline) so the
		// connection is reused.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
		resp.Body.Close()
	}()
	body := io.LimitReader(resp.Body, maxBody)
	if resp.StatusCode/100 != 2 {
		e := &APIError{URL: redact(u), Status: resp.StatusCode}
		var eb struct {
			Error struct {
				Message string `json:"message"`
				Code    string `json:"code"`
				Target  string `json:"target"`
			} `json:"error"`
		}
		b, _ := io.ReadAll(io.LimitReader(body, 64<<10))
		if json.Unmarshal(b, &eb) == nil {
			e.Message, e.Code, e.Target = eb.Error.Message, eb.Error.Code, eb.Error.Target
		}
		if e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
		return e
	}
	if err := json.NewDecoder(body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: decode answer: %w", redact(u), err)
	}
	return nil
}

// redact drops the query (long serial lists) from URLs in errors.
func redact(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}
