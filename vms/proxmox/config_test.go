package proxmox

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmstor/vmstor/model"
)

func TestParseVMConfig(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Drive
		wantErr []string
	}{
		{
			name: "every disk key, in key order",
			in: "ide0: a:1/x.raw\nsata5: a:1/y.raw\nscsi30: a:1/z.raw\nscsi2: b:v2\nvirtio15: /dev/sdc\n" +
				"efidisk0: b:e,efitype=4m\ntpmstate0: b:t,version=v2.0\nunused12: b:u\n",
			want: []Drive{
				{Key: "efidisk0", Volume: "b:e", Opts: map[string]string{"efitype": "4m"}},
				{Key: "ide0", Bus: "ide", Volume: "a:1/x.raw", Opts: map[string]string{}},
				{Key: "sata5", Bus: "sata", Volume: "a:1/y.raw", Opts: map[string]string{}},
				{Key: "scsi2", Bus: "scsi", Volume: "b:v2", Opts: map[string]string{}},
				{Key: "scsi30", Bus: "scsi", Volume: "a:1/z.raw", Opts: map[string]string{}},
				{Key: "tpmstate0", Volume: "b:t", Opts: map[string]string{"version": "v2.0"}},
				{Key: "unused12", Volume: "b:u", Opts: map[string]string{}},
				{Key: "virtio15", Bus: "virtio", Volume: "/dev/sdc", Opts: map[string]string{}},
			},
		},
		{
			name: "out-of-range and look-alike keys are options, not disks",
			in:   "ide4: a:1/x.raw\nsata6: a:1/x.raw\nscsi31: a:1/x.raw\nvirtio16: a:1/x.raw\nscsihw: virtio-scsi-pci\nscsi01: a:1/x.raw\nefidisk1: a:b\nide: x\n",
		},
		{
			name: "snapshot section ends the current config",
			in:   "scsi0: a:v0,size=1G\n[snap1]\nscsi1: a:v1\n[PENDING]\nscsi2: a:v2\n",
			want: []Drive{{Key: "scsi0", Bus: "scsi", Volume: "a:v0", Opts: map[string]string{"size": "1G"}}},
		},
		{
			name: "file= form, description comments, CRLF",
			in:   "#desc: scsi9: a:b\r\nscsi0: file=a:v0,cache=none\r\n",
			want: []Drive{{Key: "scsi0", Bus: "scsi", Volume: "a:v0", Opts: map[string]string{"cache": "none"}}},
		},
		{
			name:    "malformed lines",
			in:      "garbage\n: empty key\nscsi0: a:v0,x\nscsi1: file=a:b,file=a:c\nscsi2: ,size=1G\nscsi3: a:v3\nscsi3: a:v4\nbad key: v\n",
			want:    []Drive{{Key: "scsi3", Bus: "scsi", Volume: "a:v3", Opts: map[string]string{}}},
			wantErr: []string{"line 1: expected", "line 2: expected", "line 3: option \"x\"", "line 4: scsi1 names two volumes", "line 5: scsi2 has no volume", "line 7: duplicate key scsi3", "line 8: expected"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, errs := ParseVMConfig(strings.NewReader(tc.in))
			if diff := cmp.Diff(tc.want, cfg.Drives); diff != "" {
				t.Errorf("drives (-want +got):\n%s", diff)
			}
			var got []string
			for _, e := range errs {
				got = append(got, e.Error())
			}
			if len(got) != len(tc.wantErr) {
				t.Fatalf("errors = %q, want %d matching %q", got, len(tc.wantErr), tc.wantErr)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.wantErr[i]) {
					t.Errorf("error %d = %q, want prefix %q", i, got[i], tc.wantErr[i])
				}
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		err  bool
	}{
		{"32G", 32 << 30, false}, {"4M", 4 << 20, false}, {"1536", 1536, false}, {"0.5T", 1 << 39, false},
		{"3907018584K", 3907018584 << 10, false}, {"", 0, true}, {"G", 0, true}, {"huge", 0, true},
		{"-1G", 0, true}, {"1e3", 0, true}, {"NaN", 0, true}, {"Inf", 0, true}, {"99999999999T", 0, true},
	}
	for _, tc := range tests {
		got, err := ParseSize(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, err=%v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseStorageConfig(t *testing.T) {
	in := "dir: local\n\tpath /var/lib/vz\n\tcontent iso\n\n# comment\nlvm: v\n    vgname vg0\n\tshared\n" +
		"\tstray\nno header line\n\tpath /x\nnfs local\nzfspool: local\n\tpool p\n"
	got, errs := ParseStorageConfig(strings.NewReader(in))
	want := map[string]Storage{
		"local": {ID: "local", Type: "dir", Props: map[string]string{"path": "/var/lib/vz", "content": "iso"}},
		"v":     {ID: "v", Type: "lvm", Props: map[string]string{"vgname": "vg0", "shared": "1", "stray": "1"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("storages (-want +got):\n%s", diff)
	}
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	wantMsgs := []string{
		`line 10: expected a section header "<type>: <storage id>": "no header line"`,
		`line 11: property outside a storage section: "\tpath /x"`,
		`line 12: expected a section header "<type>: <storage id>": "nfs local"`,
		`line 13: storage id local defined twice (the first one is kept): "zfspool: local"`,
		`line 14: property outside a storage section: "\tpool p"`,
	}
	if diff := cmp.Diff(wantMsgs, msgs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
}

func TestResolve(t *testing.T) {
	b, err := os.ReadFile("testdata/node/etc/pve/storage.cfg")
	if err != nil {
		t.Fatal(err)
	}
	st, errs := ParseStorageConfig(strings.NewReader(string(b)))
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	tests := []struct {
		vol     string
		want    Resolved
		wantErr error
	}{
		{"local:100/vm-100-disk-0.qcow2", Resolved{Kind: model.DiskImage, Source: "/var/lib/vz/images/100/vm-100-disk-0.qcow2", Format: "qcow2"}, nil},
		{"local:900/base-900-disk-0.qcow2/100/vm-100-disk-0.qcow2", Resolved{Kind: model.DiskImage, Source: "/var/lib/vz/images/100/vm-100-disk-0.qcow2", Format: "qcow2",
			Backing: []string{"/var/lib/vz/images/900/base-900-disk-0.qcow2"}}, nil},
		{"nas:900/base-900-disk-0.qcow2/100/vm-100-disk-0.qcow2", Resolved{Kind: model.DiskImage, Source: "/mnt/pve/nas/images/100/vm-100-disk-0.qcow2", Format: "qcow2",
			Backing: []string{"/mnt/pve/nas/images/900/base-900-disk-0.qcow2"}}, nil},
		{"local:iso/x.iso", Resolved{Kind: model.DiskImage, Source: "/var/lib/vz/template/iso/x.iso", Format: "iso"}, nil},
		{"local:snippets/ci.yaml", Resolved{Kind: model.DiskImage, Source: "/var/lib/vz/snippets/ci.yaml"}, nil},
		{"nas:100/a.raw", Resolved{Kind: model.DiskImage, Source: "/mnt/pve/nas/images/100/a.raw", Format: "raw"}, nil},
		{"cephfs:iso/y.iso", Resolved{Kind: model.DiskImage, Source: "/mnt/pve/cephfs/template/iso/y.iso", Format: "iso"}, nil},
		{"bt:100/vm-100-disk-1.qcow2", Resolved{Kind: model.DiskImage, Source: "/mnt/btrfs/images/100/vm-100-disk-1.qcow2", Format: "qcow2"}, nil},
		{"local-lvm:base-900-disk-0/vm-100-disk-0", Resolved{Kind: model.DiskPassthrough, Source: "/dev/pve/vm-100-disk-0", Format: "raw"}, nil},
		{"tank:vm-1-disk-0", Resolved{Kind: model.DiskPassthrough, Source: "/dev/zvol/tank/vmdata/vm-1-disk-0", Format: "raw"}, nil},
		{"san:0.0.1.wwn-0x600A098038303053453F463045536B49", Resolved{Kind: model.DiskPassthrough, Source: "/dev/disk/by-id/wwn-0x600A098038303053453F463045536B49", Format: "raw", LUN: "naa.600a098038303053453f463045536b49"}, nil},
		{"san:0.0.2.scsi-SATA_disk1", Resolved{Kind: model.DiskPassthrough, Source: "/dev/disk/by-id/scsi-SATA_disk1", Format: "raw"}, nil},
		{"local:vm-1-disk-0", Resolved{}, ErrBadVolume},
		{"local:iso/a/b.iso", Resolved{}, ErrBadVolume},
		{"local-lvm:a/b/c", Resolved{}, ErrBadVolume},
		{"san:vm-1-disk-0", Resolved{}, ErrBadVolume},
		{"sandirect:2", Resolved{}, ErrBadVolume},
		{"backup:vm/1/x", Resolved{}, ErrBadVolume},
		{"nope:vm-1-disk-0", Resolved{}, ErrUnknownStorage},
		{"exotic:vm-1-disk-0", Resolved{}, ErrUnknownType},
		{"vm-1-disk-0", Resolved{}, ErrBadVolume},
		{":x", Resolved{}, ErrBadVolume},
		{"cdrom", Resolved{Kind: model.DiskPassthrough, Source: "/dev/cdrom"}, nil},
		{"/srv/a.img", Resolved{Kind: model.DiskImage, Source: "/srv/a.img", Format: "raw"}, nil},
	}
	for _, tc := range tests {
		got, err := Resolve(st, tc.vol)
		if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
			t.Errorf("Resolve(%q) error = %v, want %v", tc.vol, err, tc.wantErr)
			continue
		}
		if err != nil && !strings.Contains(err.Error(), tc.vol) {
			t.Errorf("Resolve(%q) error %q does not name the volume", tc.vol, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Resolve(%q) (-want +got):\n%s", tc.vol, diff)
		}
	}
	// A storage without the property its type needs is an error, not a bad path.
	bad := map[string]Storage{"l": {ID: "l", Type: "lvm", Props: map[string]string{}}, "z": {ID: "z", Type: "zfspool", Props: map[string]string{}}}
	for _, v := range []string{"l:vm-1-disk-0", "z:vm-1-disk-0"} {
		if _, err := Resolve(bad, v); err == nil {
			t.Errorf("Resolve(%q) without vgname/pool succeeded", v)
		}
	}
}

func FuzzParseVMConfig(f *testing.F) {
	for _, p := range []string{"testdata/node/etc/pve/nodes/pve1/qemu-server/100.conf", "testdata/node/etc/pve/nodes/pve1/qemu-server/101.conf"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("scsi0: file=a:b,file=c:d\n")
	f.Add("unused99999999999999999999: a:b\n")
	f.Add("scsi0: ,,,=,\n[x\n")
	b, _ := os.ReadFile("testdata/node/etc/pve/storage.cfg")
	st, _ := ParseStorageConfig(strings.NewReader(string(b)))
	f.Fuzz(func(t *testing.T, in string) {
		cfg, errs := ParseVMConfig(strings.NewReader(in))
		for _, e := range errs {
			if e == nil || e.Error() == "" {
				t.Fatal("empty error")
			}
		}
		vm, _ := buildVM("f", vmInfo{VMID: "1", Node: "n"}, cfg, st)
		for _, d := range cfg.Drives {
			if d.Volume == "" {
				t.Fatalf("drive %s without volume accepted", d.Key)
			}
			if _, ok := splitDiskKey(d.Key); !ok {
				t.Fatalf("non-disk key %q parsed as a drive", d.Key)
			}
		}
		for _, d := range vm.Disks {
			if d.Kind == "" || d.Name == "" {
				t.Fatalf("disk without kind or name: %+v", d)
			}
			if d.Kind == model.DiskOther && d.Error == "" {
				t.Fatalf("unresolved disk without error: %+v", d)
			}
		}
	})
}

func FuzzParseStorageConfig(f *testing.F) {
	b, err := os.ReadFile("testdata/node/etc/pve/storage.cfg")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(b), "s:vm-1-disk-0")
	f.Add("rbd: s\n\tmonhost ;;,\n", "s:base-1-disk-0/vm-2-disk-0")
	f.Add("iscsi: s\n", "s:0.0.0.scsi-3600a0980")
	f.Fuzz(func(t *testing.T, cfg, vol string) {
		st, _ := ParseStorageConfig(strings.NewReader(cfg))
		for id, s := range st {
			if id == "" || s.ID != id || s.Type == "" {
				t.Fatalf("storage %q parsed as %+v", id, s)
			}
		}
		r, err := Resolve(st, vol)
		if err == nil && r.Source == "" {
			t.Fatalf("Resolve(%q) gave no source and no error", vol)
		}
		if err == nil && r.Kind == model.DiskNetwork && r.Network == nil {
			t.Fatalf("network disk without target: %+v", r)
		}
	})
}
