package pure_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/vmstor/vmstor/array/pure"
)

// fuzzTransport answers the version and login requests properly and every
// API call with the fuzzed body and status.
type fuzzTransport struct {
	status int
	body   []byte
}

func (t fuzzTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp := &http.Response{StatusCode: t.status, Header: http.Header{}, Request: r, Body: io.NopCloser(bytes.NewReader(t.body))}
	switch {
	case r.URL.Path == "/api/api_version":
		resp.StatusCode, resp.Body = 200, io.NopCloser(strings.NewReader(`{"version": ["2.4"]}`))
	case strings.HasSuffix(r.URL.Path, "/login"):
		resp.StatusCode, resp.Body = 200, io.NopCloser(strings.NewReader(`{}`))
		resp.Header.Set("x-auth-token", "t")
	}
	return resp, nil
}

func FuzzAnswers(f *testing.F) {
	f.Add(200, []byte(`{"items": [{"name": "v", "serial": "F4252922ADE248CF000113E6", "space": {"virtual": 1}, "pod": {"name": null}}], "continuation_token": "a", "more_items_remaining": true}`))
	f.Add(200, []byte(`{"items": [{"name": "ct0.eth2", "enabled": true, "services": ["iscsi"], "eth": null}]}`))
	f.Add(401, []byte(`{"errors": [{"context": "x", "message": "Invalid"}]}`))
	f.Add(503, []byte(``))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			status = 200
		}
		c, err := pure.New("https://array.example", &http.Client{Transport: fuzzTransport{status, body}}, "tok")
		if err != nil {
			t.Fatal(err)
		}
		c.MaxPages = 5
		ctx := context.Background()
		c.Array(ctx)
		c.VolumesBySerial(ctx, []string{"F4252922ADE248CF000113E6"})
		ifs, _ := c.NetworkInterfaces(ctx)
		pure.DataAddresses(ifs)
	})
}
