package server

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/vmstor/vmstor/store"
)

var (
	fuzzOnce sync.Once
	fuzzSrv  *Server
)

// FuzzAPI sends arbitrary paths and queries: the API answers 200, 400 or 404
// with JSON, never 500 and never a panic.
func FuzzAPI(f *testing.F) {
	for _, s := range []string{"/api/v1/vms?limit=5&offset=3&q=vm", "/api/v1/vms/%00", "/api/v1/topology?vm=x&lun=y",
		"/api/v1/luns?state=failed&limit=1000", "/api/v1/vms?scan=1", "/api/v1/diff?from=1&to=1", "/api/v1/arrays/pure-b",
		"/api/v1/who-uses?q=/dev/sda", "/api/v1/vms?offset=99999999999999999999", "/api/v1/history?object=vm-00001&limit=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		fuzzOnce.Do(func() {
			ms := &memStore{}
			inv := synth(100)
			info, _ := ms.Save(t.Context(), inv)
			fuzzSrv = New(Config{Store: ms})
			fuzzSrv.Publish(inv, store.ScanInfo{ID: info.ID})
		})
		req, err := http.NewRequest("GET", "http://vmstor"+target, nil)
		if err != nil || req.URL.Path == "" || req.URL.Path[0] != '/' {
			return
		}
		w := httptest.NewRecorder()
		fuzzSrv.Handler().ServeHTTP(w, req)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusNotFound, http.StatusMovedPermanently, http.StatusTemporaryRedirect:
		default:
			t.Errorf("GET %s: %d %s", target, w.Code, w.Body)
		}
	})
}
