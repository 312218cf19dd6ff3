package hoststorage

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmstor/vmstor/model"
)

func TestParseMountinfo(t *testing.T) {
	in := `26 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
29 21 0:45 /@vms /srv/btrfs rw,relatime shared:8 master:2 - btrfs /dev/sdk rw,subvol=/@vms
31 21 0:53 / /mnt/vm\040share\011tab rw - cifs //filer/vm\134share rw
bad line
32 21 x:1 / /x rw - ext4 /dev/x rw
33 21 0:1 / /y rw master:1 ext4 /dev/y rw
34 21 0:60 / /z rw - autofs systemd-1
`
	got, errs := ParseMountinfo([]byte(in))
	want := []Mount{
		{ID: 26, Parent: 1, Major: 254, Minor: 0, Root: "/", Mountpoint: "/", Options: "rw,relatime", FSType: "ext4", Source: "/dev/vda", SuperOpts: "rw,discard"},
		{ID: 29, Parent: 21, Major: 0, Minor: 45, Root: "/@vms", Mountpoint: "/srv/btrfs", Options: "rw,relatime", FSType: "btrfs", Source: "/dev/sdk", SuperOpts: "rw,subvol=/@vms"},
		{ID: 31, Parent: 21, Major: 0, Minor: 53, Root: "/", Mountpoint: "/mnt/vm share\ttab", Options: "rw", FSType: "cifs", Source: `//filer/vm\share`, SuperOpts: "rw"},
		{ID: 34, Parent: 21, Major: 0, Minor: 60, Root: "/", Mountpoint: "/z", Options: "rw", FSType: "autofs", Source: "systemd-1"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mounts (-want +got):\n%s", diff)
	}
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	wantErrs := []string{
		`mountinfo line 4: want at least 10 fields with a "-" separator after the optional fields, got "bad line"`,
		`mountinfo line 5: major:minor "x:1" is not two numbers`,
		`mountinfo line 6: want at least 10 fields with a "-" separator after the optional fields, got "33 21 0:1 / /y rw master:1 ext4 /dev/y rw"`,
	}
	if diff := cmp.Diff(wantErrs, msgs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add([]byte("26 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"))
	f.Add([]byte("31 21 0:53 / /mnt/vm\\040share rw shared:1 - cifs //filer/s rw\n"))
	f.Add([]byte("1 2 3:4 a b c - - - -\n\\\\\\"))
	f.Add([]byte("x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ms, errs := ParseMountinfo(b)
		lines := 0
		for _, l := range strings.Split(string(b), "\n") {
			if strings.TrimSpace(l) != "" {
				lines++
			}
		}
		if len(ms)+len(errs) != lines {
			t.Errorf("%d mounts + %d errors for %d lines", len(ms), len(errs), lines)
		}
		for _, m := range ms {
			if m.FSType == "" || m.Source == "" && !strings.Contains(string(b), " - ") {
				t.Errorf("mount without type/source: %+v", m)
			}
		}
	})
}

func TestHelpers(t *testing.T) {
	lvm := [][4]string{
		{"vg--vm-images", "vg-vm", "images", "true"},
		{"data-lv--a--b", "data", "lv-a-b", "true"},
		{"novg", "", "", "false"},
		{"-x", "", "x", "false"},
	}
	for _, c := range lvm {
		vg, lv, ok := splitLVMName(c[0])
		if vg != c[1] || lv != c[2] || (ok != (c[3] == "true")) {
			t.Errorf("splitLVMName(%q) = %q %q %v, want %q %q %s", c[0], vg, lv, ok, c[1], c[2], c[3])
		}
	}
	for in, want := range map[string]string{
		"mpath-3600a098038303845372b4a5232346e35": "naa.600a098038303845372b4a5232346e35",
		"mpath-36005076ABCD":                      "naa.6005076abcd",
		"mpath-2002538b471b0a1b2":                 "eui.002538b471b0a1b2",
		"mpath-1ATA_QEMU":                         "t10.ATA_QEMU",
		"mpath-8iqn.x":                            "iqn.x",
		"mpath-Zfoo":                              "mpath.Zfoo",
		"LVM-abc":                                 "",
	} {
		if got := mpathID(in); got != want {
			t.Errorf("mpathID(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]bool{"part1-mpath-3600a": true, "part12-mpath-x": true, "part-x": false, "partx-y": false, "mpath-3": false} {
		if got := isKpartx(in); got != want {
			t.Errorf("isKpartx(%q) = %v", in, got)
		}
	}
	up, down := transportInfo{ok: true}, transportInfo{ok: false}
	for _, c := range []struct {
		state, access string
		t             transportInfo
		want          string
	}{
		{"running", "", up, model.PathActive},
		{"running", "active/non-optimized", up, model.PathActive},
		{"running", "standby", up, model.PathStandby},
		{"running", "unavailable", up, model.PathStandby},
		{"running", "transitioning", up, model.PathUnknown},
		{"running", "", down, model.PathFailed},
		{"offline", "", up, model.PathFailed},
		{"transport-offline", "", up, model.PathFailed},
		{"blocked", "", up, model.PathUnknown},
		{"blocked", "", down, model.PathFailed}, // iSCSI target down (seen in the SAN lab)
		{"", "", up, model.PathUnknown},
	} {
		if got := scsiPathState(&scsiDev{state: c.state, accessState: c.access, t: c.t}); got != c.want {
			t.Errorf("scsiPathState(%s, %s, ok=%v) = %s, want %s", c.state, c.access, c.t.ok, got, c.want)
		}
	}
	for _, c := range [][3]string{
		{"live", "", "active"}, {"live", "optimized", "active"}, {"live", "non-optimized", "active"},
		{"live", "inaccessible", "standby"}, {"live", "persistent-loss", "failed"},
		{"connecting", "", "unknown"}, {"resetting", "optimized", "unknown"}, {"dead", "", "failed"},
	} {
		if got := nvmePathState(nvmePath{state: c[0], anaState: c[1]}); got != c[2] {
			t.Errorf("nvmePathState(%s, %s) = %s, want %s", c[0], c[1], got, c[2])
		}
	}
}

// TestScanMultipathFallback: paths with no identity of their own take the
// multipath map's wwid; a kpartx map on top is a partition.
func TestScanMultipathFallback(t *testing.T) {
	root := buildTreeText(t, `
iscsi session1 host=3 target=iqn.2003-01.org.linux-iscsi.t:lio initiator=iqn.i portal=10.0.0.9 port=3260 state=LOGGED_IN
iscsi session2 host=4 target=iqn.2003-01.org.linux-iscsi.t:lio initiator=iqn.i portal=10.0.0.9 port=3261 state=FAILED
scsi sda hctl=3:0:0:0 devno=8:0 size=100 transport=iscsi session=session1 vendor=LIO-ORG model=disk0 state=running
scsi sdb hctl=4:0:0:0 devno=8:16 size=100 transport=iscsi session=session2 vendor=LIO-ORG model=disk0 state=running
dm dm-0 devno=253:0 size=100 dmname=36001405abcdef uuid=mpath-36001405abcdef slaves=sda,sdb
dm dm-1 devno=253:1 size=90 dmname=36001405abcdef-part1 uuid=part1-mpath-36001405abcdef slaves=dm-0
dm dm-2 devno=253:2 size=90 dmname=thin uuid= slaves=dm-1
`)
	inv, err := fixtureFS(t, root, false).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.LUNs) != 1 {
		t.Fatalf("LUNs %v, want one", lunIDs(inv.LUNs))
	}
	l := inv.LUNs[0]
	got := []string{l.ID, l.IDSource, l.State, l.Paths[0].State, l.Paths[1].State, l.Paths[1].Address}
	want := []string{"naa.6001405abcdef", "wwid", "degraded", "active", "failed", "10.0.0.9:3261"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LUN id, source, state, path states (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]resView{
		"blk:sda":  {Kind: "disk", Name: "sda", DevNo: "8:0", LUNs: []string{"naa.6001405abcdef"}},
		"blk:sdb":  {Kind: "disk", Name: "sdb", DevNo: "8:16", LUNs: []string{"naa.6001405abcdef"}},
		"blk:dm-0": {Kind: "multipath", Type: "multipath", Name: "36001405abcdef", DevNo: "253:0", Below: []string{"blk:sda", "blk:sdb"}, LUNs: []string{"naa.6001405abcdef"}, Extra: "aliases=/dev/mapper/36001405abcdef"},
		"blk:dm-1": {Kind: "partition", Name: "36001405abcdef-part1", DevNo: "253:1", Below: []string{"blk:dm-0"}, Extra: "aliases=/dev/mapper/36001405abcdef-part1 uuid=part1-mpath-36001405abcdef"},
		"blk:dm-2": {Kind: "dm", Name: "thin", DevNo: "253:2", Below: []string{"blk:dm-1"}, Extra: "aliases=/dev/mapper/thin"},
	}, view(inv.Resources)); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}
}

func TestNVMeHead(t *testing.T) {
	for in, want := range map[string]string{"nvme0c1n2": "nvme0n2", "nvme12c3n45": "nvme12n45"} {
		if got := nvmeHead(in); got != want {
			t.Errorf("nvmeHead(%s) = %s, want %s", in, got, want)
		}
	}
}
