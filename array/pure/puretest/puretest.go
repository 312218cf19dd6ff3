// Package puretest serves a loopback imitation of the Pure Storage
// FlashArray REST API 2.x for tests: /api/api_version, POST login with an
// api-token header answering an x-auth-token, /arrays, /volumes with
// `filter=serial='…' or …`, /network-interfaces, /controllers; item envelopes with
// continuation_token, more_items_remaining and total_item_count, and
// {"errors": [{"context", "message"}]} bodies, as the REST 2.x reference
// documents them.
package puretest

import (
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

//go:embed fixtures/*.json
var fixtures embed.FS

// Fault makes the server misbehave.
type Fault int

const (
	FaultNone   Fault = iota
	FaultStatus       // API calls (not login) answer Status with an error body
	FaultHang         // API calls never answer
	FaultLoop         // the continuation token of /volumes repeats
	FaultExpire       // the session expires after the first API call
)

// Server is a running imitation.
type Server struct {
	*httptest.Server
	Token    string // the valid API token
	Versions []string
	Fault    Fault
	Status   int

	mu       sync.Mutex
	requests []string
	sessions map[string]int // x-auth-token -> calls made
	logins   int
	data     map[string][]json.RawMessage
}

// New starts a server on loopback (TLS when tls is set).
func New(tls bool) *Server {
	s := &Server{
		Token:    "5f4e3d2c-1b0a-9f8e-7d6c-5b4a39281706",
		Versions: []string{"1.17", "1.19", "2.0", "2.2", "2.17", "2.4"},
		sessions: map[string]int{},
		data:     map[string][]json.RawMessage{},
	}
	for _, n := range []string{"volumes", "arrays", "network-interfaces", "controllers"} {
		b, err := fixtures.ReadFile("fixtures/" + n + ".json")
		if err != nil {
			panic(err)
		}
		var rs []json.RawMessage
		if err := json.Unmarshal(b, &rs); err != nil {
			panic(fmt.Sprintf("%s: %v", n, err))
		}
		s.data[n] = rs
	}
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

// Requests returns the requests served so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// Logins counts successful logins.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

func writeErr(w http.ResponseWriter, status int, ctx, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"errors": [{"context": %q, "message": %q}]}`, ctx, msg)
}

var pathRE = regexp.MustCompile(`^/api/(2\.[0-9]+)/([a-z-]+)$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	s.mu.Unlock()
	if r.URL.Path == "/api/api_version" {
		json.NewEncoder(w).Encode(map[string]any{"version": s.Versions})
		return
	}
	m := pathRE.FindStringSubmatch(r.URL.Path)
	if m == nil {
		writeErr(w, http.StatusNotFound, r.URL.Path, "Not found.")
		return
	}
	if m[2] == "login" {
		if r.Method != http.MethodPost {
			writeErr(w, http.StatusMethodNotAllowed, "login", "Method not allowed.")
			return
		}
		if r.Header.Get("api-token") != s.Token {
			writeErr(w, http.StatusUnauthorized, "login", "Invalid API token.")
			return
		}
		b := make([]byte, 16)
		rand.Read(b)
		tok := hex.EncodeToString(b)
		s.mu.Lock()
		s.sessions[tok] = 0
		s.logins++
		s.mu.Unlock()
		w.Header().Set("x-auth-token", tok)
		json.NewEncoder(w).Encode(map[string]any{"items": []map[string]string{{"username": "vmstor"}}})
		return
	}
	s.mu.Lock()
	calls, ok := s.sessions[r.Header.Get("x-auth-token")]
	if ok {
		s.sessions[r.Header.Get("x-auth-token")]++
	}
	s.mu.Unlock()
	if !ok || (s.Fault == FaultExpire && calls >= 1) {
		writeErr(w, http.StatusUnauthorized, "", "Session expired or invalid x-auth-token.")
		return
	}
	switch s.Fault {
	case FaultHang:
		<-r.Context().Done()
		return
	case FaultStatus:
		writeErr(w, s.Status, m[2], "Internal server error.")
		return
	}
	all, ok := s.data[m[2]]
	if !ok {
		writeErr(w, http.StatusNotFound, m[2], "Not found.")
		return
	}
	s.items(w, r, m[2], all)
}

var serialRE = regexp.MustCompile(`serial='([0-9A-Fa-f]+)'`)

func (s *Server) items(w http.ResponseWriter, r *http.Request, coll string, all []json.RawMessage) {
	q := r.URL.Query()
	var recs []json.RawMessage
	want := map[string]bool{}
	if f := q.Get("filter"); f != "" {
		for _, sm := range serialRE.FindAllStringSubmatch(f, -1) {
			want[strings.ToUpper(sm[1])] = true
		}
		if len(want) == 0 {
			writeErr(w, http.StatusBadRequest, "filter", "Invalid filter.")
			return
		}
	}
	for _, rec := range all {
		if len(want) > 0 {
			var v struct {
				Serial string `json:"serial"`
			}
			json.Unmarshal(rec, &v)
			if !want[strings.ToUpper(v.Serial)] {
				continue
			}
		}
		recs = append(recs, rec)
	}
	start := 0
	if t := q.Get("continuation_token"); t != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(t, "ct-"))
		if err != nil || n > len(recs) {
			writeErr(w, http.StatusBadRequest, "continuation_token", "Invalid continuation token.")
			return
		}
		start = n
	}
	n := len(recs) - start
	if l, err := strconv.Atoi(q.Get("limit")); err == nil && l > 0 && l < n {
		n = l
	}
	out := map[string]any{
		"items":                recs[start : start+n],
		"total_item_count":     len(recs),
		"more_items_remaining": start+n < len(recs),
		"continuation_token":   nil,
	}
	if start+n < len(recs) {
		next := start + n
		if s.Fault == FaultLoop && coll == "volumes" {
			next = start // the same token again
		}
		out["continuation_token"] = "ct-" + strconv.Itoa(next)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}
