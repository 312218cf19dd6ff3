package redact

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmstor/vmstor/model"
)

func TestString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"libvirt:qemu:///system", "libvirt:qemu:///system"},
		{"vsphere:https://admin:s3cr3t@vc.example/sdk", "vsphere:https://xxxxx@vc.example/sdk"},
		{"vsphere:https://user%40corp:p%3Ass@vc/sdk", "vsphere:https://xxxxx@vc/sdk"},
		{"qemu+ssh://root@kvm1/system", "qemu+ssh://xxxxx@kvm1/system"},
		{"https://vc/sdk?user=a&password=hunter2&x=1", "https://vc/sdk?user=a&password=xxxxx&x=1"},
		{"https://a/b?TOKEN=abc#frag", "https://a/b?TOKEN=xxxxx#frag"},
		{"rbd:pool/img:id=admin:key=AQBxyz==:conf=/etc/ceph.conf", "rbd:pool/img:id=admin:key=xxxxx:conf=/etc/ceph.conf"},
		{"dial https://u:p@vc/sdk: connection refused", "dial https://xxxxx@vc/sdk: connection refused"},
		{"/var/lib/libvirt/images/a@b.qcow2", "/var/lib/libvirt/images/a@b.qcow2"},
		{"iqn.2001-05.com.example:tgt/1", "iqn.2001-05.com.example:tgt/1"},
	}
	for _, tt := range tests {
		if got := String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestInventory(t *testing.T) {
	const secret = "s3cr3t"
	in := &model.Inventory{
		Sources: []string{"vsphere:https://admin:" + secret + "@vc/sdk"},
		Errors:  []model.ScanError{{Source: "vsphere:https://admin:" + secret + "@vc/sdk", Message: "login https://admin:" + secret + "@vc/sdk failed"}},
		VMs: []model.VM{{ID: "1", Name: "vm1", Disks: []model.Disk{{
			Name: "vda", Source: "rbd:pool/img:key=" + secret, Backing: []string{"https://u:" + secret + "@h/x"},
			Network: &model.NetworkTarget{Protocol: "rbd", Name: "pool/img:key=" + secret},
			Anchor:  &model.Anchor{Path: "https://u:" + secret + "@h/x"},
			Chain:   []model.Layer{{Name: "https://u:" + secret + "@h/x"}},
		}}}},
		Resources: []model.Resource{{ID: "r", Remote: "https://u:" + secret + "@h/x"}},
		LUNs:      []model.LUN{{ID: "l", Paths: []model.Path{{Address: "https://u:" + secret + "@h/x"}}}},
	}
	var before, after strings.Builder
	if err := jsonEncode(&before, in); err != nil {
		t.Fatal(err)
	}
	out := Inventory(in)
	if err := jsonEncode(&after, in); err != nil {
		t.Fatal(err)
	}
	// The input may be shared with readers: it must not change at all.
	if diff := cmp.Diff(before.String(), after.String()); diff != "" {
		t.Errorf("input modified (-before +after):\n%s", diff)
	}
	var b strings.Builder
	if err := jsonEncode(&b, out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), secret) {
		t.Errorf("secret left in %s", b.String())
	}
	if diff := cmp.Diff([]string{"vsphere:https://xxxxx@vc/sdk"}, out.Sources); diff != "" {
		t.Errorf("Sources (-want +got):\n%s", diff)
	}
}
