package simlab

import (
	"context"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"

	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/soap"
)

// TestMakeLUNs checks the ids follow the arrays' conventions, which the
// array package decodes: NetApp NAA 600a0980 + hex of the 12-character
// serial, Pure NAA 624a9370 + the 24-hex volume serial.
func TestMakeLUNs(t *testing.T) {
	luns := makeLUNs(Topology{Hosts: 3, LUNs: 8})
	if len(luns) != 8 {
		t.Fatalf("got %d LUNs, want 8", len(luns))
	}
	seen := map[string]bool{}
	for i, l := range luns {
		if seen[l.ID] {
			t.Errorf("LUN %d: duplicate id %s", i, l.ID)
		}
		seen[l.ID] = true
		switch l.Vendor {
		case "NETAPP":
			if len(l.Serial) != 12 || l.ID != "naa.600a0980"+hex.EncodeToString([]byte(l.Serial)) {
				t.Errorf("NetApp LUN %d: id %s serial %q", i, l.ID, l.Serial)
			}
		case "PURE":
			if len(l.Serial) != 24 || l.ID != "naa.624a9370"+strings.ToLower(l.Serial) {
				t.Errorf("Pure LUN %d: id %s serial %q", i, l.ID, l.Serial)
			}
		default:
			t.Errorf("LUN %d: vendor %q", i, l.Vendor)
		}
		// The VML id carries the NAA id after 5 bytes of header.
		if !strings.HasPrefix(l.UUID, "02") || l.UUID[10:10+32] != strings.TrimPrefix(l.ID, "naa.") {
			t.Errorf("LUN %d: uuid %s does not carry %s", i, l.UUID, l.ID)
		}
		wantHosts := 3
		if i == 5 {
			wantHosts = 2
		}
		if len(l.Visible) != wantHosts {
			t.Errorf("LUN %d visible on %v, want %d hosts", i, l.Visible, wantHosts)
		}
	}
}

// TestStartCredentials: the lab refuses a wrong password and accepts its own.
func TestStartCredentials(t *testing.T) {
	ctx := context.Background()
	lab, err := Start(ctx, Topology{Hosts: 1, VMs: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer lab.Close()
	login := func(pass string) error {
		u, _ := soap.ParseURL(lab.URL)
		sc := soap.NewClient(u, false)
		if err := sc.SetRootCAs(lab.CAFile); err != nil {
			return err
		}
		c, err := vim25.NewClient(ctx, sc)
		if err != nil {
			return err
		}
		return session.NewManager(c).Login(ctx, url.UserPassword(lab.Username, pass))
	}
	if err := login("not-the-password"); err == nil {
		t.Error("login with a wrong password succeeded")
	}
	if err := login(lab.Password); err != nil {
		t.Errorf("login with the lab's password: %v", err)
	}
}
