package pure_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vmstor/vmstor/array/pure"
	"github.com/vmstor/vmstor/array/pure/puretest"
)

func newClient(t *testing.T, s *puretest.Server, token string) *pure.Client {
	t.Helper()
	hc := s.Client()
	hc.Timeout = 5 * time.Second
	c, err := pure.New(s.URL, hc, token)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestVolumesBySerialPaging(t *testing.T) {
	s := puretest.New(true)
	defer s.Close()
	c := newClient(t, s, s.Token)
	c.Limit = 1
	vols, err := c.VolumesBySerial(context.Background(), []string{
		"F4252922ADE248CF000113E6", "f4252922ade248cf000113e7", "F4252922ADE248CF000113E8", "000000000000000000000000",
		"bad'serial", // not hex: never reaches the filter
	})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Name, Serial string
		Virtual      uint64
		Destroyed    bool
	}
	var got []row
	for _, v := range vols {
		got = append(got, row{v.Name, v.Serial, v.Space.Virtual, v.Destroyed})
	}
	want := []row{
		{"vmfs-prod-01", "F4252922ADE248CF000113E6", 2143289344000, false},
		{"pod1::oradata", "F4252922ADE248CF000113E7", 110000000000, false},
		{"vg-k8s/pvc-1234", "F4252922ADE248CF000113E8", 0, true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("VolumesBySerial (-want +got):\n%s", diff)
	}
	reqs := s.Requests()
	// api_version, login, then three pages of one item.
	if len(reqs) != 5 || !strings.HasPrefix(reqs[1], "POST /api/2.17/login") {
		t.Errorf("requests = %q", reqs)
	}
	if strings.Contains(strings.Join(reqs, "\n"), "bad") {
		t.Errorf("a non-hex serial reached the filter: %q", reqs)
	}
}

func TestArrayAndInterfaces(t *testing.T) {
	s := puretest.New(false)
	defer s.Close()
	c := newClient(t, s, s.Token)
	ctx := context.Background()
	a, err := c.Array(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pure.Array{ID: "7e1c4a3b-2d5f-4e6a-9b8c-1d2e3f4a5b6c", Name: "pure01", OS: "Purity//FA", Version: "6.5.3"}, a); diff != "" {
		t.Errorf("Array (-want +got):\n%s", diff)
	}
	ifs, err := c.NetworkInterfaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"192.0.2.31", "192.0.2.32"}, pure.DataAddresses(ifs)); diff != "" {
		t.Errorf("DataAddresses (-want +got):\n%s", diff)
	}
	cs, err := c.Controllers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := pure.Model(cs); got != "FA-X70R3" {
		t.Errorf("Model = %q, want FA-X70R3", got)
	}
	if s.Logins() != 1 {
		t.Errorf("logged in %d times, want once per client", s.Logins())
	}
}

func TestSessionExpiry(t *testing.T) {
	s := puretest.New(false)
	defer s.Close()
	s.Fault = puretest.FaultExpire
	c := newClient(t, s, s.Token)
	ctx := context.Background()
	if _, err := c.Array(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.NetworkInterfaces(ctx); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if s.Logins() != 2 {
		t.Errorf("logins = %d, want 2 (one renewal)", s.Logins())
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name       string
		fault      puretest.Fault
		status     int
		token      string
		versions   []string
		wantStatus int
		wantMsg    string
		wantErr    error
	}{
		{name: "bad token", token: "nope", wantStatus: 401, wantMsg: "Invalid API token."},
		{name: "503", fault: puretest.FaultStatus, status: 503, wantStatus: 503, wantMsg: "Internal server error."},
		{name: "paging loop", fault: puretest.FaultLoop, wantErr: pure.ErrPagingLoop},
		{name: "no 2.x", versions: []string{"1.17", "1.19"}, wantMsg: "no REST 2.x version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := puretest.New(false)
			defer s.Close()
			s.Fault, s.Status = tt.fault, tt.status
			if tt.versions != nil {
				s.Versions = tt.versions
			}
			tok := s.Token
			if tt.token != "" {
				tok = tt.token
			}
			c := newClient(t, s, tok)
			c.Limit = 1
			_, err := c.VolumesBySerial(context.Background(), []string{"F4252922ADE248CF000113E6", "F4252922ADE248CF000113E7"})
			if err == nil {
				t.Fatal("no error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if tt.wantStatus != 0 {
				var ae *pure.APIError
				if !errors.As(err, &ae) || ae.Status != tt.wantStatus {
					t.Fatalf("err = %v, want APIError %d", err, tt.wantStatus)
				}
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %v, want it to say %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), s.Token) {
				t.Errorf("error carries the token: %v", err)
			}
		})
	}
}

func TestSlowAnswer(t *testing.T) {
	s := puretest.New(false)
	defer s.Close()
	s.Fault = puretest.FaultHang
	c, err := pure.New(s.URL, &http.Client{Timeout: 100 * time.Millisecond}, s.Token)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Array(context.Background())
	var ne interface{ Timeout() bool }
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a timeout", err)
	}
}
