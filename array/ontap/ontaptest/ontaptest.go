// Package ontaptest serves a loopback imitation of the ONTAP REST API for
// tests: /api/cluster, /api/storage/luns, /api/storage/namespaces and
// /api/network/ip/interfaces and /api/cluster/nodes, with records and envelopes shaped as the
// ONTAP REST API reference documents them (HAL `_links`, `num_records`,
// `records`, `{"error": {...}}` bodies), basic authentication, `|` queries,
// max_records paging through `_links.next`, and injectable failures. One
// LUN map gives logical_unit_number as a string, as the example responses
// of some ONTAP releases' reference do.
package ontaptest

import (
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed fixtures/*.json
var fixtures embed.FS

// Fault makes the server misbehave.
type Fault int

const (
	FaultNone     Fault = iota
	FaultStatus         // answer every request with Status and an ONTAP error body
	FaultHang           // never answer (until the client gives up)
	FaultLoop           // the `next` link of the LUN listing points back to its first page
	FaultHTMLAuth       // a 401 with an HTML body, as a proxy in front might send
)

// Server is a running imitation.
type Server struct {
	*httptest.Server
	User, Password string
	Fault          Fault
	Status         int
	// Latency is added to every answer, to stand for the network and the
	// cluster's own work per request (loopback has neither).
	Latency time.Duration
	// NextBase, when set, makes `next` links absolute URLs on this base
	// (e.g. another server) instead of relative ones.
	NextBase string

	mu       sync.Mutex
	requests []string // method, path and query of each request
	luns     *collection
	nss      *collection
	ifs      *collection
	nodes    *collection
	cluster  json.RawMessage
}

// collection is a list of records indexed by the field queries filter on,
// so a query's cost does not grow with the records (as on a cluster).
type collection struct {
	recs  []json.RawMessage
	key   string
	byVal map[string][]int
}

func newCollection(recs []json.RawMessage, key string) *collection {
	c := &collection{key: key, byVal: map[string][]int{}}
	c.add(recs...)
	return c
}

func (c *collection) add(recs ...json.RawMessage) {
	for _, r := range recs {
		if c.key != "" {
			var m map[string]any
			if err := json.Unmarshal(r, &m); err != nil {
				panic(err)
			}
			v, _ := m[c.key].(string)
			c.byVal[v] = append(c.byVal[v], len(c.recs))
		}
		c.recs = append(c.recs, r)
	}
}

// AddLUNs adds n LUN records like the first fixture one (call it before
// any request), with serials
// "synth" + a 7-digit number and their own uuids, and returns the serials.
func (s *Server) AddLUNs(n int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var tmpl map[string]any
	json.Unmarshal(s.luns.recs[0], &tmpl)
	serials := make([]string, n)
	for i := range n {
		serials[i] = fmt.Sprintf("synth%07d", len(s.luns.recs)+i)
		tmpl["serial_number"] = serials[i]
		tmpl["uuid"] = fmt.Sprintf("00000000-0000-4000-8000-%012d", len(s.luns.recs)+i)
		tmpl["name"] = "/vol/vol_synth/" + serials[i]
		b, _ := json.Marshal(tmpl)
		s.luns.add(b)
	}
	return serials
}

// New starts a server on loopback (TLS when tls is set).
func New(tls bool) *Server {
	s := &Server{User: "vmstor", Password: "s3cr3t"}
	s.luns = newCollection(load("fixtures/luns.json"), "serial_number")
	s.nss = newCollection(load("fixtures/namespaces.json"), "uuid")
	s.ifs = newCollection(load("fixtures/interfaces.json"), "")
	s.nodes = newCollection(load("fixtures/nodes.json"), "")
	b, _ := fixtures.ReadFile("fixtures/cluster.json")
	s.cluster = b
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	// Tests provoke failed handshakes on purpose; keep them off the log.
	s.Server.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tls {
		s.StartTLS()
	} else {
		s.Start()
	}
	return s
}

func load(name string) []json.RawMessage {
	b, err := fixtures.ReadFile(name)
	if err != nil {
		panic(err)
	}
	var rs []json.RawMessage
	if err := json.Unmarshal(b, &rs); err != nil {
		panic(fmt.Sprintf("%s: %v", name, err))
	}
	return rs
}

// Requests returns the requests served so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/hal+json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error": {"message": %q, "code": %q}}`, msg, code)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	s.mu.Unlock()
	if s.Latency > 0 {
		time.Sleep(s.Latency)
	}
	switch s.Fault {
	case FaultHang:
		<-r.Context().Done()
		return
	case FaultStatus:
		writeError(w, s.Status, "13", "Internal error. Wait a few minutes, then try the command again.")
		return
	case FaultHTMLAuth:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, "<html><body><h1>401 Unauthorized</h1></body></html>")
		return
	}
	u, p, ok := r.BasicAuth()
	if !ok || u != s.User || p != s.Password {
		w.Header().Set("WWW-Authenticate", `Basic realm="ONTAP"`)
		writeError(w, http.StatusUnauthorized, "6", "not authorized for that command")
		return
	}
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "3", "method not allowed")
		return
	}
	q := r.URL.Query()
	switch r.URL.Path {
	case "/api/cluster":
		w.Header().Set("Content-Type", "application/hal+json")
		w.Write(s.cluster)
	case "/api/storage/luns":
		s.list(w, r, s.luns, q)
	case "/api/storage/namespaces":
		s.list(w, r, s.nss, q)
	case "/api/network/ip/interfaces":
		s.list(w, r, s.ifs, q)
	case "/api/cluster/nodes":
		s.list(w, r, s.nodes, q)
	default:
		writeError(w, http.StatusNotFound, "4", "API not found")
	}
}

// list serves a collection filtered by one field (ONTAP query syntax
// a|b|c), max_records per page, continuing at start.index.
func (s *Server) list(w http.ResponseWriter, r *http.Request, c *collection, q url.Values) {
	var recs []json.RawMessage
	want := map[string]bool{}
	field := c.key
	if field != "" && q.Has(field) {
		for _, v := range strings.Split(q.Get(field), "|") {
			want[v] = true
		}
	}
	if len(want) > 0 {
		var at []int
		for v := range want {
			at = append(at, c.byVal[v]...)
		}
		sort.Ints(at) // the collection's order
		for _, i := range at {
			recs = append(recs, c.recs[i])
		}
	} else {
		recs = c.recs
	}
	start, _ := strconv.Atoi(q.Get("start.index"))
	n := len(recs) - start
	if mr, err := strconv.Atoi(q.Get("max_records")); err == nil && mr > 0 && mr < n {
		n = mr
	}
	if start > len(recs) || n < 0 {
		writeError(w, http.StatusBadRequest, "2", "invalid start.index")
		return
	}
	page := recs[start : start+n]
	self := r.URL.Path + "?" + r.URL.RawQuery
	out := map[string]any{
		"records":     page,
		"num_records": len(page),
		"_links":      map[string]any{"self": map[string]string{"href": self}},
	}
	nq := url.Values{}
	for k, v := range q {
		nq[k] = v
	}
	switch {
	case s.Fault == FaultLoop && r.URL.Path == "/api/storage/luns" && start+n < len(recs):
		// Point back at the first page, spelled differently (parameters
		// in another order).
		nq.Del("start.index")
		out["_links"].(map[string]any)["next"] = map[string]string{"href": r.URL.Path + "?" + reorder(nq)}
	case start+n < len(recs):
		nq.Set("start.index", strconv.Itoa(start+n))
		out["_links"].(map[string]any)["next"] = map[string]string{"href": s.NextBase + r.URL.Path + "?" + nq.Encode()}
	}
	w.Header().Set("Content-Type", "application/hal+json")
	json.NewEncoder(w).Encode(out)
}

// reorder encodes q with its keys in reverse order.
func reorder(q url.Values) string {
	enc := strings.Split(q.Encode(), "&")
	for i, j := 0, len(enc)-1; i < j; i, j = i+1, j-1 {
		enc[i], enc[j] = enc[j], enc[i]
	}
	return strings.Join(enc, "&")
}
