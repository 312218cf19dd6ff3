package ontap_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vmstor/vmstor/array/ontap"
	"github.com/vmstor/vmstor/array/ontap/ontaptest"
)

func newClient(t *testing.T, s *ontaptest.Server, user, pass string) *ontap.Client {
	t.Helper()
	hc := s.Client()
	hc.Timeout = 5 * time.Second
	c, err := ontap.New(s.URL, hc, user, pass)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLUNsBySerialPaging(t *testing.T) {
	s := ontaptest.New(true)
	defer s.Close()
	c := newClient(t, s, s.User, s.Password)
	c.PageSize = 1 // every record on its own page: paging must follow _links.next
	serials := []string{"808E7+JR24n5", "80Jz1?Vy7W4a", "wf0Iq/N4uc$3", "notthere0000"}
	luns, err := c.LUNsBySerial(context.Background(), serials)
	if err != nil {
		t.Fatalf("LUNsBySerial: %v", err)
	}
	type row struct{ Serial, Path, SVM, Volume, Qtree, State string }
	var got []row
	for _, l := range luns {
		got = append(got, row{l.SerialNumber, l.Name, l.SVM.Name, l.Location.Volume.Name, l.Location.Qtree.Name, l.Status.State})
	}
	want := []row{
		{"808E7+JR24n5", "/vol/vol_db/qt_ora/lun_data01", "svm_iscsi", "vol_db", "qt_ora", "online"},
		{"80Jz1?Vy7W4a", "/vol/vol_vm/lun_ds1", "svm_iscsi", "vol_vm", "", "online"},
		{"wf0Iq/N4uc$3", "/vol/vol_fc/lun$/x", "svm_fc", "vol_fc", "", "offline"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LUNsBySerial (-want +got):\n%s", diff)
	}
	if luns[0].Space.Used != 53687091200 || len(luns[0].LUNMaps) != 2 || luns[0].LUNMaps[0].Igroup.Name != "ig_esx" {
		t.Errorf("first LUN space/maps = %+v %+v", luns[0].Space, luns[0].LUNMaps)
	}
	reqs := s.Requests()
	if len(reqs) != 3 {
		t.Errorf("want 3 pages for 3 records at max_records=1, got %d requests: %q", len(reqs), reqs)
	}
	// The serials travel URL-encoded: + / ? $ must survive.
	if !strings.Contains(reqs[0], "serial_number=808E7%2BJR24n5%7C80Jz1%3FVy7W4a%7Cwf0Iq%2FN4uc%243%7Cnotthere0000") {
		t.Errorf("first request does not carry the encoded serials: %s", reqs[0])
	}
}

func TestBatches(t *testing.T) {
	s := ontaptest.New(false)
	defer s.Close()
	c := newClient(t, s, s.User, s.Password)
	c.Batch = 2
	luns, err := c.LUNsBySerial(context.Background(), []string{"808E7+JR24n5", "x", "wf0Iq/N4uc$3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(luns) != 2 || len(s.Requests()) != 2 {
		t.Errorf("got %d LUNs in %d requests, want 2 in 2 batches", len(luns), len(s.Requests()))
	}
}

func TestClusterNamespacesInterfaces(t *testing.T) {
	s := ontaptest.New(true)
	defer s.Close()
	c := newClient(t, s, s.User, s.Password)
	ctx := context.Background()
	cl, err := c.Cluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cl.Name != "cluster1" || cl.UUID != "1cd8a442-86d1-11e0-ae1c-123478563412" || cl.ManagementInterfaces[0].IP.Address != "192.0.2.5" {
		t.Errorf("Cluster = %+v", cl)
	}
	nss, err := c.NamespacesByUUID(ctx, []string{"3be1e4b4-7fba-4a3d-9c1e-00a098006b5b"})
	if err != nil {
		t.Fatal(err)
	}
	if len(nss) != 1 || nss[0].Name != "/vol/vol_nvme/ns_db01" || nss[0].SubsystemMap.Subsystem.Name != "ss_kvm" || nss[0].Space.Used != 4294967296 {
		t.Errorf("NamespacesByUUID = %+v", nss)
	}
	ifs, err := c.Interfaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := ontap.DataAddresses(ifs, "svm_iscsi")
	if diff := cmp.Diff([]string{"192.0.2.11", "192.0.2.10"}, got); diff != "" {
		t.Errorf("DataAddresses (-want +got):\n%s", diff)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name       string
		fault      ontaptest.Fault
		status     int
		pass       string
		wantStatus int
		wantMsg    string
		wantErr    error
	}{
		{name: "bad password", pass: "wrong", wantStatus: 401, wantMsg: "not authorized for that command"},
		{name: "html 401", fault: ontaptest.FaultHTMLAuth, wantStatus: 401, wantMsg: "Unauthorized"},
		{name: "503", fault: ontaptest.FaultStatus, status: 503, wantStatus: 503, wantMsg: "Internal error"},
		{name: "500", fault: ontaptest.FaultStatus, status: 500, wantStatus: 500, wantMsg: "Internal error"},
		{name: "paging loop", fault: ontaptest.FaultLoop, wantErr: ontap.ErrPagingLoop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := ontaptest.New(false)
			defer s.Close()
			s.Fault, s.Status = tt.fault, tt.status
			pass := s.Password
			if tt.pass != "" {
				pass = tt.pass
			}
			c := newClient(t, s, s.User, pass)
			c.PageSize = 1
			_, err := c.LUNsBySerial(context.Background(), []string{"808E7+JR24n5", "80Jz1?Vy7W4a"})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if n := len(s.Requests()); n != 1 {
					t.Errorf("paging loop: %d requests, want 1 (the loop is seen before re-reading)", n)
				}
				return
			}
			var ae *ontap.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want an APIError", err)
			}
			if ae.Status != tt.wantStatus || !strings.Contains(ae.Message, tt.wantMsg) {
				t.Errorf("APIError = %+v, want status %d and message with %q", ae, tt.wantStatus, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "808E7") {
				t.Errorf("error carries the query: %v", err)
			}
		})
	}
}

func TestSlowAnswer(t *testing.T) {
	s := ontaptest.New(false)
	defer s.Close()
	s.Fault = ontaptest.FaultHang
	hc := &http.Client{Timeout: 100 * time.Millisecond}
	c, err := ontap.New(s.URL, hc, s.User, s.Password)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Cluster(context.Background())
	var ne interface{ Timeout() bool }
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

func TestNewRejectsBadURL(t *testing.T) {
	for _, u := range []string{"cluster1", "ftp://x", "https://", "://"} {
		if _, err := ontap.New(u, nil, "u", "p"); err == nil {
			t.Errorf("New(%q) = nil error", u)
		}
	}
}

func TestNextLinkMustStayOnCluster(t *testing.T) {
	// A next link to another host would send the credentials there.
	other := ontaptest.New(false)
	defer other.Close()
	s := ontaptest.New(false)
	defer s.Close()
	s.NextBase = other.URL
	c := newClient(t, s, s.User, s.Password)
	c.PageSize = 1
	_, err := c.LUNsBySerial(context.Background(), []string{"808E7+JR24n5", "80Jz1?Vy7W4a"})
	if err == nil || !strings.Contains(err.Error(), "leaves the cluster") {
		t.Errorf("err = %v, want a refusal to follow the link", err)
	}
	if n := len(other.Requests()); n != 0 {
		t.Errorf("the other host got %d requests", n)
	}
	// An absolute link to the same host is followed.
	s.NextBase = s.URL
	luns, err := c.LUNsBySerial(context.Background(), []string{"808E7+JR24n5", "80Jz1?Vy7W4a"})
	if err != nil || len(luns) != 2 {
		t.Errorf("same-host absolute links: %d LUNs, err %v", len(luns), err)
	}
}
