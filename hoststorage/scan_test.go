package hoststorage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/scsi"
)

func fixtureFS(t *testing.T, root string, query bool) *FS {
	t.Helper()
	fs, err := New(Options{
		SysRoot: filepath.Join(root, "sys"), ProcRoot: filepath.Join(root, "proc"), DevRoot: filepath.Join(root, "dev"),
		Hostname: "kvm1", QueryDevices: query, InquiryTimeout: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if query {
		// Never touch the machine's own devices or mounts from a fixture test.
		fs.inquiry = func(ctx context.Context, dev string, evpd bool, page uint8, timeout time.Duration) ([]byte, error) {
			return nil, fmt.Errorf("inquiry %s: no device in a fixture", dev)
		}
		fs.statfs = func(string) (uint64, uint64, error) { return 0, 0, errors.New("no statfs in a fixture") }
	}
	return fs
}

// resView is the part of a resource these tests check, one line per resource.
type resView struct {
	Kind              model.ResourceKind
	Name, Type, DevNo string
	Below, LUNs       []string
	Extra             string // aliases, mountpoints, remote, backing file, uuid, error
}

func view(rs []model.Resource) map[string]resView {
	out := map[string]resView{}
	for _, r := range rs {
		var extra []string
		add := func(k string, v ...string) {
			if len(v) > 0 && v[0] != "" {
				extra = append(extra, k+"="+strings.Join(v, ","))
			}
		}
		add("aliases", r.Aliases...)
		add("mp", r.Mountpoints...)
		add("remote", r.Remote)
		add("backing", r.BackingFile)
		if !strings.HasPrefix(r.UUID, "LVM-") && !strings.HasPrefix(r.UUID, "CRYPT-") && !strings.HasPrefix(r.UUID, "mpath-") {
			add("uuid", r.UUID)
		}
		add("error", r.Error)
		out[r.ID] = resView{Kind: r.Kind, Name: r.Name, Type: r.Type, DevNo: r.DevNo, Below: r.Below, LUNs: r.LUNs, Extra: strings.Join(extra, " ")}
	}
	return out
}

const (
	netapp = "naa.600a098038303845372b4a5232346e35"
	pure   = "naa.624a93704e5d8a8e2f51400500011c42"
	nvmeID = "eui.6e7c3a1f9b2d4c8e8f0a1b2c3d4e5f60"
)

func TestScanFixture(t *testing.T) {
	root := buildTree(t, "testdata/host1.txt")
	inv, err := fixtureFS(t, root, false).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	wantRes := map[string]resView{
		"blk:dm-0":    {Kind: "multipath", Name: "mpatha", Type: "multipath", DevNo: "253:0", Below: []string{"blk:sdc", "blk:sdd"}, LUNs: []string{netapp}, Extra: "aliases=/dev/mapper/mpatha,/dev/disk/by-id/dm-name-mpatha,/dev/disk/by-id/dm-uuid-mpath-3600a098038303845372b4a5232346e35"},
		"blk:dm-1":    {Kind: "lvm", Name: "vg--vm-images", DevNo: "253:1", Below: []string{"blk:dm-0"}, Extra: "aliases=/dev/mapper/vg--vm-images,/dev/vg-vm/images"},
		"blk:dm-5":    {Kind: "crypt", Name: "luks-root", Type: "crypt", DevNo: "253:5", Below: []string{"blk:vda2"}, Extra: "aliases=/dev/mapper/luks-root"},
		"blk:loop0":   {Kind: "loop", Name: "loop0", DevNo: "7:0", Below: []string{"fs:253:1"}, Extra: "backing=/var/lib/libvirt/images/seed.img"},
		"blk:loop1":   {Kind: "loop", Name: "loop1", DevNo: "7:1"},
		"blk:md0":     {Kind: "md", Name: "md0", Type: "raid1", DevNo: "9:0", Below: []string{"blk:sdi1", "blk:sdj1"}},
		"blk:nvme0n1": {Kind: "disk", Name: "nvme0n1", DevNo: "259:0", LUNs: []string{nvmeID}},
		// Hidden per-controller paths: resources of the head's LUN, no LUN of their own.
		"blk:nvme0c0n1": {Kind: "disk", Name: "nvme0c0n1", DevNo: "259:1", LUNs: []string{nvmeID}},
		"blk:nvme0c1n1": {Kind: "disk", Name: "nvme0c1n1", DevNo: "259:2", LUNs: []string{nvmeID}},
		"blk:nvme2n1":   {Kind: "disk", Name: "nvme2n1", DevNo: "259:3", LUNs: []string{"eui.002538b411b2c3d4"}},
		"blk:sdc":       {Kind: "disk", Name: "sdc", DevNo: "8:32", LUNs: []string{netapp}},
		"blk:sdd":       {Kind: "disk", Name: "sdd", DevNo: "8:48", LUNs: []string{netapp}},
		"blk:sde":       {Kind: "disk", Name: "sde", DevNo: "8:64", LUNs: []string{pure}},
		"blk:sdf":       {Kind: "disk", Name: "sdf", DevNo: "8:80", LUNs: []string{pure}},
		"blk:sdg":       {Kind: "disk", Name: "sdg", DevNo: "8:96", LUNs: []string{"naa.5000c500a1b2c3d4"}, Extra: "aliases=/dev/disk/by-id/wwn-0x5000c500a1b2c3d4"},
		"blk:sdh":       {Kind: "disk", Name: "sdh", DevNo: "8:112", LUNs: []string{"serial.ATA:QEMU_HARDDISK:QM00001"}},
		"blk:sdi":       {Kind: "disk", Name: "sdi", DevNo: "8:128", LUNs: []string{"t10.QEMU    QEMU HARDDISK   raid-a  "}},
		"blk:sdi1":      {Kind: "partition", Name: "sdi1", DevNo: "8:129", Below: []string{"blk:sdi"}},
		"blk:sdj":       {Kind: "disk", Name: "sdj", DevNo: "8:144", LUNs: []string{"t10.QEMU    QEMU HARDDISK   raid-b"}},
		"blk:sdj1":      {Kind: "partition", Name: "sdj1", DevNo: "8:145", Below: []string{"blk:sdj"}},
		"blk:sdk":       {Kind: "disk", Name: "sdk", DevNo: "8:160", LUNs: []string{"naa.5000000000000b01"}},
		"blk:sdl":       {Kind: "disk", Name: "sdl", DevNo: "8:176", LUNs: []string{"naa.5000000000000b02"}},
		"blk:sdm":       {Kind: "disk", Name: "sdm", DevNo: "8:192", LUNs: []string{"local.kvm1.sdm"}},
		"blk:vda":       {Kind: "disk", Name: "vda", DevNo: "254:0", LUNs: []string{"serial.virtio:vm-root-01"}},
		"blk:vda1":      {Kind: "partition", Name: "vda1", DevNo: "254:1", Below: []string{"blk:vda"}},
		"blk:vda2":      {Kind: "partition", Name: "vda2", DevNo: "254:2", Below: []string{"blk:vda"}},
		"blk:zram0":     {Kind: "disk", Name: "zram0", DevNo: "252:0"},
		"fs:0:45":       {Kind: "filesystem", Name: "/srv/btrfs", Type: "btrfs", DevNo: "0:45", Below: []string{"blk:sdk", "blk:sdl"}, Extra: "mp=/srv/btrfs uuid=0b7a3e52-3a5e-4bb0-9d34-6a2a2c1f6f01"},
		"fs:0:52":       {Kind: "nfs", Name: "/var/lib/libvirt/nfs", Type: "nfs4", DevNo: "0:52", Extra: "mp=/var/lib/libvirt/nfs remote=10.0.0.5:/export/vms"},
		"fs:0:53":       {Kind: "smb", Name: "/mnt/vm share", Type: "cifs", DevNo: "0:53", Extra: "mp=/mnt/vm share remote=//filer.example/vmshare"},
		"fs:253:1":      {Kind: "filesystem", Name: "/var/lib/libvirt/images", Type: "ext4", DevNo: "253:1", Below: []string{"blk:dm-1"}, Extra: "mp=/var/lib/libvirt/images,/srv/images"},
		"fs:253:5":      {Kind: "filesystem", Name: "/", Type: "ext4", DevNo: "253:5", Below: []string{"blk:dm-5"}, Extra: "mp=/"},
		"fs:254:1":      {Kind: "filesystem", Name: "/boot", Type: "ext4", DevNo: "254:1", Below: []string{"blk:vda1"}, Extra: "mp=/boot"},
		"fs:9:0":        {Kind: "filesystem", Name: "/data", Type: "xfs", DevNo: "9:0", Below: []string{"blk:md0"}, Extra: "mp=/data"},
	}
	if diff := cmp.Diff(wantRes, view(inv.Resources)); diff != "" {
		t.Errorf("resources (-want +got):\n%s", diff)
	}

	lun := func(id string) model.LUN {
		for _, l := range inv.LUNs {
			if l.ID == id {
				return l
			}
		}
		t.Fatalf("no LUN %s among %d", id, len(inv.LUNs))
		return model.LUN{}
	}
	h := []string{"kvm1"}
	iscsiPath := func(dev, hctl, portal string, ioerr uint64) model.Path {
		return model.Path{Host: "kvm1", Device: dev, HCTL: hctl, Transport: "iscsi", Target: "iqn.1992-08.com.netapp:sn.84165b2e",
			Address: portal, Initiator: "iqn.1993-08.org.debian:01:kvm1", State: "active", DeviceState: "running", IOErrors: ioerr}
	}
	want := []model.LUN{
		{
			ID: netapp, IDSource: "vpd83", Protocol: "scsi", Vendor: "NETAPP", Product: "LUN C-Mode", Revision: "9800",
			Serial: "808E7+JR24n5", SizeBytes: 209715200 * 512, State: "ok", IOErrors: 0x1a, Hosts: h,
			Designators: []model.Designator{
				{Association: "lun", Type: "vendor", Value: "NETAPP  LUN 808E7+JR24n5"},
				{Association: "lun", Type: "naa", Value: "600a098038303845372b4a5232346e35"},
				{Association: "target-port", Type: "relative-port", Protocol: "iscsi", Value: "1001"},
				{Association: "target-port", Type: "port-group", Protocol: "iscsi", Value: "1025"},
				{Association: "target-port", Type: "relative-port", Protocol: "iscsi", Value: "1002"},
				{Association: "target-port", Type: "port-group", Protocol: "iscsi", Value: "1026"},
			},
			Paths: []model.Path{iscsiPath("sdc", "3:0:0:1", "10.0.1.10:3260", 0), iscsiPath("sdd", "4:0:0:1", "10.0.2.10:3260", 0x1a)},
		},
		{
			ID: pure, IDSource: "vpd83", Protocol: "scsi", Vendor: "PURE", Product: "FlashArray", Revision: "8888",
			Serial: "4E5D8A8E2F51400500011C42", SizeBytes: 2147483648 * 512, State: "degraded", IOErrors: 3, Hosts: h,
			Designators: []model.Designator{
				{Association: "lun", Type: "naa", Value: "624a93704e5d8a8e2f51400500011c42"},
				{Association: "target-port", Type: "naa", Protocol: "fc", Value: "524a9370a1b2c301"},
				{Association: "target-port", Type: "naa", Protocol: "fc", Value: "524a9370a1b2c311"},
			},
			Paths: []model.Path{
				{Host: "kvm1", Device: "sde", HCTL: "5:0:1:2", Transport: "fc", Target: "0x524a9370a1b2c301", Address: "0x524a9370a1b2c300", Initiator: "0x21000024ff3a9b10", State: "active", DeviceState: "running"},
				{Host: "kvm1", Device: "sdf", HCTL: "6:0:1:2", Transport: "fc", Target: "0x524a9370a1b2c311", Address: "0x524a9370a1b2c300", Initiator: "0x21000024ff3a9b11", State: "failed", DeviceState: "transport-offline", IOErrors: 3},
			},
		},
		{
			ID: nvmeID, IDSource: "nvme", Protocol: "nvme", Product: "NetApp ONTAP Controller", Revision: "FFFFFFFF",
			Serial: "81Lk2Jz9aXgAAAAAAAAB", SizeBytes: 419430400 * 512, State: "ok", Hosts: h,
			Designators: []model.Designator{
				{Association: "lun", Type: "nguid", Value: "6e7c3a1f9b2d4c8e8f0a1b2c3d4e5f60"},
				{Association: "lun", Type: "uuid", Value: "3f2504e0-4f89-11d3-9a0c-0305e82c3301"},
				{Association: "lun", Type: "nsid", Value: "1"},
			},
			Paths: []model.Path{
				{Host: "kvm1", Device: "nvme0c0n1", Transport: "nvme-tcp", Target: "nqn.1992-08.com.netapp:sn.0a1b2c3d:subsystem.kvm", Address: "traddr=10.0.3.10,trsvcid=4420,src_addr=10.0.3.1", Initiator: "nqn.2014-08.org.nvmexpress:uuid:0f6b7d1c-kvm1", State: "active", DeviceState: "live/optimized"},
				{Host: "kvm1", Device: "nvme0c1n1", Transport: "nvme-tcp", Target: "nqn.1992-08.com.netapp:sn.0a1b2c3d:subsystem.kvm", Address: "traddr=10.0.4.10,trsvcid=4420,src_addr=10.0.4.1", Initiator: "nqn.2014-08.org.nvmexpress:uuid:0f6b7d1c-kvm1", State: "standby", DeviceState: "live/inaccessible"},
			},
		},
		{
			// An all-zero NGUID means "none" and is left out.
			ID: "eui.002538b411b2c3d4", IDSource: "nvme", Protocol: "nvme", Product: "Samsung SSD 980 1TB", Revision: "2B4QFXO7",
			Serial: "S64DNF0R123456", SizeBytes: 1953525168 * 512, State: "ok", Hosts: h,
			Designators: []model.Designator{{Association: "lun", Type: "eui64", Value: "002538b411b2c3d4"}, {Association: "lun", Type: "nsid", Value: "1"}},
			Paths:       []model.Path{{Host: "kvm1", Device: "nvme2n1", Transport: "nvme", Target: "nqn.2014.08.org.nvmexpress:144d144dS64DNF0R123456", State: "active", DeviceState: "live"}},
		},
		{
			ID: "serial.virtio:vm-root-01", IDSource: "serial", Serial: "vm-root-01", SizeBytes: 62914560 * 512, State: "ok", Hosts: h,
			Paths: []model.Path{{Host: "kvm1", Device: "vda", Transport: "virtio", State: "active"}},
		},
		{
			ID: "serial.ATA:QEMU_HARDDISK:QM00001", IDSource: "serial", Protocol: "scsi", Vendor: "ATA", Product: "QEMU HARDDISK", Revision: "2.5+",
			Serial: "QM00001", SizeBytes: 2048 * 512, State: "ok", Hosts: h,
			Paths: []model.Path{{Host: "kvm1", Device: "sdh", HCTL: "0:0:0:0", Transport: "ata", State: "active", DeviceState: "running"}},
		},
		{
			ID: "local.kvm1.sdm", IDSource: "local", Protocol: "scsi", Vendor: "ATA", Product: "QEMU HARDDISK", Revision: "2.5+",
			SizeBytes: 2048 * 512, State: "ok", Hosts: h,
			Paths: []model.Path{{Host: "kvm1", Device: "sdm", HCTL: "0:0:1:0", Transport: "ata", State: "active", DeviceState: "running"}},
		},
		{
			ID: "t10.QEMU    QEMU HARDDISK   raid-a  ", IDSource: "wwid", Protocol: "scsi", Vendor: "QEMU", Product: "QEMU HARDDISK", Revision: "2.5+",
			SizeBytes: 4194304 * 512, State: "ok", Hosts: h,
			Paths: []model.Path{{Host: "kvm1", Device: "sdi", HCTL: "2:0:0:1", Transport: "virtio", State: "active", DeviceState: "running"}},
		},
		{
			ID: "naa.5000c500a1b2c3d4", IDSource: "vpd83", Protocol: "scsi", Vendor: "SEAGATE", Product: "ST1000NM0045", Revision: "N004",
			SizeBytes: 1000000 * 512, State: "ok", Hosts: h,
			Designators: []model.Designator{{Association: "lun", Type: "naa", Value: "5000c500a1b2c3d4"}},
			Paths:       []model.Path{{Host: "kvm1", Device: "sdg", HCTL: "7:0:0:0", Transport: "sas", Target: "0x5000c500a1b2c3d5", State: "active", DeviceState: "running"}},
		},
	}
	for _, w := range want {
		if diff := cmp.Diff(w, lun(w.ID)); diff != "" {
			t.Errorf("LUN %s (-want +got):\n%s", w.ID, diff)
		}
	}
	if len(inv.LUNs) != 12 {
		t.Errorf("%d LUNs, want 12 (one per identity): %v", len(inv.LUNs), lunIDs(inv.LUNs))
	}

	// The one bad input of this fixture: sdg's page 0x83 claims 64 bytes, holds 12.
	if len(inv.Errors) != 1 {
		t.Fatalf("errors: %v, want exactly the one about sdg's VPD page", inv.Errors)
	}
	e := inv.Errors[0]
	if e.Source != "linux:kvm1" || e.Object != "/dev/sdg" || !strings.Contains(e.Message, "vpd_pg83") ||
		!strings.Contains(e.Message, "header says 64 bytes of descriptors at offset 4, only 12 present") || e.Hint == "" {
		t.Errorf("error = %+v, want one naming /dev/sdg, the file, the offset and a hint", e)
	}
}

func lunIDs(ls []model.LUN) []string {
	var ids []string
	for _, l := range ls {
		ids = append(ids, l.ID)
	}
	return ids
}

// TestScanDeviceVanishes removes a path while the scan runs: the scan
// reports it precisely and the rest completes.
func TestScanDeviceVanishes(t *testing.T) {
	root := buildTree(t, "testdata/host1.txt")
	fs := fixtureFS(t, root, false)
	fs.beforeDevice = func(name string) {
		if name == "sde" {
			// Caught while the kernel tears it down: state "cancel",
			// identity files already gone (seen in the SAN lab).
			dev, err := filepath.EvalSymlinks(filepath.Join(root, "sys/block/sde/device"))
			if err != nil {
				t.Error(err)
				return
			}
			os.Remove(filepath.Join(dev, "vpd_pg83"))
			os.Remove(filepath.Join(dev, "vpd_pg80"))
			if err := os.WriteFile(filepath.Join(dev, "state"), []byte("cancel\n"), 0o644); err != nil {
				t.Error(err)
			}
			return
		}
		if name != "sdd" {
			return
		}
		real, err := filepath.EvalSymlinks(filepath.Join(root, "sys/block/sdd"))
		if err != nil {
			t.Error(err)
			return
		}
		// What the kernel does on a device removal: the block
		// directory and the /sys/block link go away.
		if err := os.RemoveAll(real); err != nil {
			t.Error(err)
		}
		if err := os.Remove(filepath.Join(root, "sys/block/sdd")); err != nil {
			t.Error(err)
		}
	}
	inv, err := fs.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for dev, want := range map[string]string{
		"/dev/sdd": "vanished during the scan: " + filepath.Join(root, "sys/block/sdd") + " is gone",
		"/dev/sde": "vanished during the scan: the kernel is removing it (device state cancel)",
	} {
		var got []string
		for _, e := range inv.Errors {
			if e.Object == dev {
				got = append(got, e.Message)
				if e.Hint == "" {
					t.Errorf("%s: no hint", dev)
				}
			}
		}
		if diff := cmp.Diff([]string{want}, got); diff != "" {
			t.Errorf("errors for %s (-want +got):\n%s", dev, diff)
		}
	}
	// The half-read device is not passed off as a LUN of its own.
	for _, l := range inv.LUNs {
		switch l.ID {
		case netapp:
			if len(l.Paths) != 1 || l.Paths[0].Device != "sdc" {
				t.Errorf("netapp LUN paths = %+v, want only sdc", l.Paths)
			}
		case pure:
			if len(l.Paths) != 1 || l.Paths[0].Device != "sdf" {
				t.Errorf("pure LUN paths = %+v, want only sdf", l.Paths)
			}
		}
	}
	if len(inv.LUNs) != 12 {
		t.Errorf("%d LUNs, want all 12 still", len(inv.LUNs))
	}
	for _, r := range inv.Resources {
		if r.ID == "blk:sdd" || r.ID == "blk:sde" {
			t.Errorf("vanished device is still a resource: %+v", r)
		}
	}
}

// TestScanQueriesDevices: with QueryDevices, INQUIRY goes only to devices
// whose page is missing from sysfs, a device that hangs gives a precise
// error, and a hung NFS server's statfs is bounded.
func TestScanQueriesDevices(t *testing.T) {
	root := buildTree(t, "testdata/host1.txt")
	fs := fixtureFS(t, root, true)
	fs.opts.VendorPages = func(vendor, product string) []uint8 {
		if vendor == "NETAPP" {
			return []uint8{0xc0}
		}
		return nil
	}
	naa6 := append([]byte{0, 0x83, 0, 20, 1, 3, 0, 16}, []byte{0x60, 0x0a, 0x09, 0x80, 0x38, 0x30, 0x30, 0x53, 1, 2, 3, 4, 5, 6, 7, 8}...)
	var mu sync.Mutex
	var calls []string
	release := make(chan struct{})
	defer close(release)
	fs.inquiry = func(ctx context.Context, dev string, evpd bool, page uint8, timeout time.Duration) ([]byte, error) {
		mu.Lock()
		calls = append(calls, fmt.Sprintf("%s/%02x", filepath.Base(dev), page))
		mu.Unlock()
		if !evpd || timeout != 200*time.Millisecond || !strings.HasPrefix(dev, filepath.Join(root, "dev")) {
			t.Errorf("inquiry(%s, evpd %v, timeout %v): want a VPD page of a node under DevRoot with the configured timeout", dev, evpd, timeout)
		}
		switch fmt.Sprintf("%s/%02x", filepath.Base(dev), page) {
		case "sdm/83":
			return naa6, nil
		case "sdm/80":
			return append([]byte{0, 0x80, 0, 4}, "S123"...), nil
		case "sdc/c0", "sdd/c0":
			return []byte{0, 0xc0, 0, 2, 0xab, 0xcd}, nil
		case "sdh/83": // a dead path: the real Inquiry returns ErrTimeout after its timeout
			return nil, fmt.Errorf("inquiry vpd page 0x83 %s: no answer in %v: %w (%w)", dev, timeout, scsi.ErrTimeout, context.DeadlineExceeded)
		}
		// What a real device answers for a page it lacks.
		return nil, fmt.Errorf("inquiry vpd page 0x%02x %s: device refused: scsi status 0x02, sense key 0x5 asc 0x24: %w", page, dev, scsi.ErrNotSupported)
	}
	fs.statfs = func(path string) (uint64, uint64, error) {
		if path == "/var/lib/libvirt/nfs" {
			<-release // a hung NFS server
		}
		return 1000, 400, nil
	}
	// sdf's path is transport-offline: without its page in sysfs it must
	// still not be asked (a dead path would only cost a timeout).
	sdf, err := filepath.EvalSymlinks(filepath.Join(root, "sys/block/sdf/device"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(sdf, "vpd_pg83")); err != nil {
		t.Fatal(err)
	}
	inv, err := fs.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(calls)
	// sdc/sdd: only the vendor page (0x80 and 0x83 are in sysfs); sdg has
	// 0x83 but no 0x80; sdh has 0x80 only; sde/sdf have both; sdk lacks
	// 0x80 but its vpd_pg0 says it has no such page.
	wantCalls := []string{"sdc/c0", "sdd/c0", "sdg/80", "sdh/83", "sdi/80", "sdi/83", "sdj/80", "sdj/83", "sdl/80", "sdm/80", "sdm/83"}
	if diff := cmp.Diff(wantCalls, calls); diff != "" {
		t.Errorf("inquiries (-want +got):\n%s", diff)
	}
	var got []string
	for _, l := range inv.LUNs {
		switch {
		case l.ID == "naa.600a0980383030530102030405060708":
			got = append(got, "sdm from SG_IO: "+l.IDSource+" serial "+l.Serial)
		case l.ID == netapp:
			got = append(got, fmt.Sprintf("netapp vendor pages %x", l.VendorVPD))
		}
	}
	wantGot := []string{"netapp vendor pages map[c0:00c00002abcd]", "sdm from SG_IO: vpd83 serial S123"}
	sort.Strings(got)
	if diff := cmp.Diff(wantGot, got); diff != "" {
		t.Errorf("LUNs from device queries (-want +got):\n%s", diff)
	}
	var sdh, nfs bool
	for _, e := range inv.Errors {
		if e.Object == "/dev/sdh" && strings.Contains(e.Message, "timed out") && strings.Contains(e.Hint, "dead or blocked") {
			sdh = true
		}
		if e.Object == "/var/lib/libvirt/nfs" && strings.Contains(e.Message, "statfs: no answer in 200ms") && strings.Contains(e.Hint, "unreachable") {
			nfs = true
		}
	}
	// Pages a device does not support are absent, not errors: only the
	// hang and the lying sdg page of the fixture are reported.
	if !sdh || !nfs || len(inv.Errors) != 3 {
		t.Errorf("errors %+v: want the hung sdh inquiry (%v), the hung NFS statfs (%v) and sdg's short page, nothing else", inv.Errors, sdh, nfs)
	}
	for _, r := range inv.Resources {
		switch {
		case r.ID == "fs:0:52" && r.FreeBytes != nil:
			t.Errorf("hung NFS mount has free bytes %d", *r.FreeBytes)
		case r.ID == "fs:253:1" && (r.FreeBytes == nil || *r.FreeBytes != 400 || r.SizeBytes != 1000):
			t.Errorf("fs:253:1 size %d free %v, want 1000 and 400 from statfs", r.SizeBytes, r.FreeBytes)
		}
	}
}

// TestScanRealHost scans this machine's /sys and /proc and checks facts
// read independently here.
func TestScanRealHost(t *testing.T) {
	if _, err := os.Stat("/sys/block"); err != nil {
		t.Skip("no /sys/block")
	}
	fs, err := New(Options{QueryDevices: false})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := fs.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	res := map[string]model.Resource{}
	for _, r := range inv.Resources {
		res[r.ID] = r
	}
	ents, _ := os.ReadDir("/sys/block")
	for _, e := range ents {
		dev, err := os.ReadFile(filepath.Join("/sys/block", e.Name(), "dev"))
		if err != nil {
			continue // gone since
		}
		r, ok := res["blk:"+e.Name()]
		if !ok {
			t.Errorf("/sys/block/%s has no resource", e.Name())
			continue
		}
		if r.DevNo != strings.TrimSpace(string(dev)) {
			t.Errorf("blk:%s devno %q, /sys/block/%s/dev says %q", e.Name(), r.DevNo, e.Name(), dev)
		}
	}
	if serial, err := os.ReadFile("/sys/block/vda/serial"); err == nil && len(strings.TrimSpace(string(serial))) > 0 {
		id := "serial.virtio:" + strings.TrimSpace(string(serial))
		if got := res["blk:vda"].LUNs; len(got) != 1 || got[0] != id {
			t.Errorf("blk:vda LUNs %v, want [%s]", got, id)
		}
	}
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range inv.Resources {
		if r.Kind == model.ResFilesystem && !strings.Contains(string(mi), " "+r.DevNo+" ") {
			t.Errorf("filesystem %s has a devno not in mountinfo", r.ID)
		}
	}
	for _, e := range inv.Errors {
		t.Logf("scan error on this host: %v", e)
	}
}
