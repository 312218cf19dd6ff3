package ontap_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/vmstor/vmstor/array/ontap"
)

// bodyTransport answers every request with one body and status, in memory.
type bodyTransport struct {
	status int
	body   []byte
}

func (t bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: t.status, Body: io.NopCloser(bytes.NewReader(t.body)), Header: http.Header{}, Request: r}, nil
}

// FuzzAnswers feeds arbitrary answers to every listing: no panic, and a
// listing ends (paging loops and bad links are caught).
func FuzzAnswers(f *testing.F) {
	f.Add(200, []byte(`{"records": [{"serial_number": "808E7+JR24n5", "name": "/vol/v/l", "lun_maps": [{"igroup": {"name": "ig"}}]}], "num_records": 1, "_links": {"next": {"href": "/api/storage/luns?start.uuid=x"}}}`))
	f.Add(200, []byte(`{"records": [], "_links": {"next": {"href": "http://[::1"}}}`))
	f.Add(401, []byte(`{"error": {"message": "not authorized", "code": "6"}}`))
	f.Add(500, []byte(`<html>`))
	f.Add(200, []byte(`{"name": "c", "management_interfaces": [{"ip": {"address": 5}}]}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			status = 200
		}
		c, err := ontap.New("https://cluster.example", &http.Client{Transport: bodyTransport{status, body}}, "u", "p")
		if err != nil {
			t.Fatal(err)
		}
		c.MaxPages = 5
		ctx := context.Background()
		c.Cluster(ctx)
		c.LUNsBySerial(ctx, []string{"808E7+JR24n5"})
		c.NamespacesByUUID(ctx, []string{"u"})
		ifs, _ := c.Interfaces(ctx)
		ontap.DataAddresses(ifs, "svm")
	})
}
