package correlate

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmstor/vmstor/model"
)

// stack is a KVM host: an ext4 filesystem on an LV spread over two multipath
// maps, each with two paths to a NetApp LUN; an NFS mount; a passthrough
// multipath map; and a loop device whose backing file sits on the ext4.
func stack() *model.Inventory {
	return &model.Inventory{
		Resources: []model.Resource{
			{ID: "blk:sda", Kind: model.ResDisk, Device: "/dev/sda", LUNs: []string{"naa.600a0980a"}},
			{ID: "blk:sdb", Kind: model.ResDisk, Device: "/dev/sdb", LUNs: []string{"naa.600a0980a"}},
			{ID: "blk:sdc", Kind: model.ResDisk, Device: "/dev/sdc", LUNs: []string{"naa.600a0980b"}},
			{ID: "blk:sdd", Kind: model.ResDisk, Device: "/dev/sdd", LUNs: []string{"naa.600a0980b"}},
			{ID: "blk:dm-0", Kind: model.ResMultipath, Name: "mpatha", Device: "/dev/dm-0", DevNo: "253:0", Aliases: []string{"/dev/mapper/mpatha"}, Below: []string{"blk:sda", "blk:sdb"}},
			{ID: "blk:dm-1", Kind: model.ResMultipath, Name: "mpathb", Device: "/dev/dm-1", DevNo: "253:1", Aliases: []string{"/dev/mapper/mpathb"}, Below: []string{"blk:sdc", "blk:sdd"}},
			{ID: "blk:dm-2", Kind: model.ResLVM, Name: "vg-images", Device: "/dev/dm-2", DevNo: "253:2", Below: []string{"blk:dm-0", "blk:dm-1"}},
			{ID: "fs:253:2", Kind: model.ResFilesystem, Name: "/var/lib/libvirt/images", Type: "ext4", DevNo: "253:2", Mountpoints: []string{"/var/lib/libvirt/images"}, Below: []string{"blk:dm-2"}},
			{ID: "fs:0:52", Kind: model.ResNFS, Name: "/mnt/nfs", Type: "nfs4", DevNo: "0:52", Remote: "filer1:/vol/vms", Mountpoints: []string{"/mnt/nfs"}},
			{ID: "blk:sde", Kind: model.ResDisk, Device: "/dev/sde", LUNs: []string{"naa.624a9370c"}},
			{ID: "blk:dm-3", Kind: model.ResMultipath, Name: "mpathc", Device: "/dev/dm-3", DevNo: "253:3", Aliases: []string{"/dev/mapper/mpathc"}, Below: []string{"blk:sde"}},
			{ID: "blk:loop0", Kind: model.ResLoop, Device: "/dev/loop0", DevNo: "7:0", BackingFile: "/var/lib/libvirt/images/disk.raw", Below: []string{"fs:253:2"}},
		},
		LUNs: []model.LUN{
			{ID: "naa.600a0980a", Vendor: "NETAPP", Product: "LUN C-Mode", Paths: []model.Path{{Device: "sda", State: model.PathActive}, {Device: "sdb", State: model.PathFailed}}},
			{ID: "naa.600a0980b", Vendor: "NETAPP", Product: "LUN C-Mode", Paths: []model.Path{{Device: "sdc", State: model.PathActive}, {Device: "sdd", State: model.PathActive}}},
			{ID: "naa.624a9370c", Vendor: "PURE", Product: "FlashArray", Paths: []model.Path{{Device: "sde", State: model.PathActive}}},
		},
	}
}

func TestDisk(t *testing.T) {
	fsChain := []model.Layer{
		{Level: 0, Kind: "file", Name: "/var/lib/libvirt/images/a.qcow2", Detail: "qcow2"},
		{Level: 1, Kind: "filesystem", Name: "/var/lib/libvirt/images", ID: "fs:253:2", Detail: "ext4"},
		{Level: 2, Kind: "lvm", Name: "vg-images", ID: "blk:dm-2", Detail: "/dev/dm-2"},
		{Level: 3, Kind: "multipath", Name: "mpatha", ID: "blk:dm-0", Detail: "/dev/dm-0"},
		{Level: 4, Kind: "disk", Name: "/dev/sda", ID: "blk:sda"},
		{Level: 5, Kind: "lun", Name: "naa.600a0980a", ID: "naa.600a0980a", Detail: "NETAPP LUN C-Mode, 1/2 paths active"},
		{Level: 4, Kind: "disk", Name: "/dev/sdb", ID: "blk:sdb"},
		{Level: 3, Kind: "multipath", Name: "mpathb", ID: "blk:dm-1", Detail: "/dev/dm-1"},
		{Level: 4, Kind: "disk", Name: "/dev/sdc", ID: "blk:sdc"},
		{Level: 5, Kind: "lun", Name: "naa.600a0980b", ID: "naa.600a0980b", Detail: "NETAPP LUN C-Mode, 2/2 paths active"},
		{Level: 4, Kind: "disk", Name: "/dev/sdd", ID: "blk:sdd"},
	}
	tests := []struct {
		name string
		disk model.Disk
		want model.Disk
	}{{
		name: "image on LVM over two multipath LUNs gives both LUNs",
		disk: model.Disk{Kind: model.DiskImage, Source: "/images/a.qcow2", Format: "qcow2",
			Anchor: &model.Anchor{Resource: "fs:253:2", Path: "/var/lib/libvirt/images/a.qcow2"}},
		want: model.Disk{LUNs: []string{"naa.600a0980a", "naa.600a0980b"}, Chain: fsChain},
	}, {
		name: "image anchored by device number alone finds the filesystem, not the LV",
		disk: model.Disk{Kind: model.DiskImage, Source: "/var/lib/libvirt/images/a.qcow2", Format: "qcow2",
			Anchor: &model.Anchor{DevNo: "253:2", Path: "/var/lib/libvirt/images/a.qcow2"}},
		want: model.Disk{LUNs: []string{"naa.600a0980a", "naa.600a0980b"}, Chain: fsChain},
	}, {
		name: "passthrough multipath map",
		disk: model.Disk{Kind: model.DiskPassthrough, Source: "/dev/mapper/mpathc", Anchor: &model.Anchor{Resource: "blk:dm-3"}},
		want: model.Disk{LUNs: []string{"naa.624a9370c"}, Chain: []model.Layer{
			{Level: 0, Kind: "multipath", Name: "mpathc", ID: "blk:dm-3", Detail: "/dev/dm-3"},
			{Level: 1, Kind: "disk", Name: "/dev/sde", ID: "blk:sde"},
			{Level: 2, Kind: "lun", Name: "naa.624a9370c", ID: "naa.624a9370c", Detail: "PURE FlashArray, 1/1 paths active"},
		}},
	}, {
		name: "passthrough loop device goes through its backing file's filesystem",
		disk: model.Disk{Kind: model.DiskPassthrough, Source: "/dev/loop0", Anchor: &model.Anchor{Resource: "blk:loop0"}},
		want: model.Disk{LUNs: []string{"naa.600a0980a", "naa.600a0980b"}, Chain: append(
			[]model.Layer{{Level: 0, Kind: "loop", Name: "/dev/loop0", ID: "blk:loop0", Detail: "backing /var/lib/libvirt/images/disk.raw"}},
			shift(fsChain[1:], 0)...)},
	}, {
		name: "image on NFS ends on the export without error",
		disk: model.Disk{Kind: model.DiskImage, Source: "/mnt/nfs/b.img", Anchor: &model.Anchor{DevNo: "0:52", Path: "/mnt/nfs/b.img"}},
		want: model.Disk{LUNs: []string{}, Chain: []model.Layer{
			{Level: 0, Kind: "file", Name: "/mnt/nfs/b.img"},
			{Level: 1, Kind: "nfs", Name: "/mnt/nfs", ID: "fs:0:52", Detail: "nfs4 filer1:/vol/vms"},
		}},
	}, {
		name: "RDM names its LUN directly",
		disk: model.Disk{Kind: model.DiskPassthrough, Source: "vml.0200", Anchor: &model.Anchor{LUN: "naa.624a9370c"}},
		want: model.Disk{LUNs: []string{"naa.624a9370c"}, Chain: []model.Layer{
			{Level: 0, Kind: "lun", Name: "naa.624a9370c", ID: "naa.624a9370c", Detail: "PURE FlashArray, 1/1 paths active"},
		}},
	}, {
		name: "network disk reports its target",
		disk: model.Disk{Kind: model.DiskNetwork, Source: "iscsi://10.0.0.9:3260/iqn.2000-01.com.x:t/1",
			Network: &model.NetworkTarget{Protocol: "iscsi", Hosts: []string{"10.0.0.9:3260"}, Name: "iqn.2000-01.com.x:t/1"}},
		want: model.Disk{LUNs: []string{}, Chain: []model.Layer{
			{Kind: "network", Name: "iscsi://10.0.0.9:3260/iqn.2000-01.com.x:t/1", Detail: "iscsi via 10.0.0.9:3260"},
		}},
	}, {
		name: "unlocated disk says why",
		disk: model.Disk{Kind: model.DiskImage, Source: "/gone.img"},
		want: model.Disk{LUNs: []string{}, Error: `not located: no host storage anchor for "/gone.img"`},
	}, {
		name: "locate error is kept",
		disk: model.Disk{Kind: model.DiskImage, Source: "/gone.img", Error: "locate /gone.img: no such file"},
		want: model.Disk{LUNs: []string{}, Error: "locate /gone.img: no such file"},
	}, {
		name: "anchor on a device the host scan does not know",
		disk: model.Disk{Kind: model.DiskPassthrough, Source: "/dev/sdz", Anchor: &model.Anchor{DevNo: "8:208", Path: "/dev/sdz"}},
		want: model.Disk{LUNs: []string{}, Error: "device 8:208 (of /dev/sdz) not found in the host storage scan"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGraph(stack())
			d := tt.disk
			g.Disk(&d)
			got := model.Disk{LUNs: d.LUNs, Chain: d.Chain, Error: d.Error}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestCycleTerminates(t *testing.T) {
	inv := &model.Inventory{Resources: []model.Resource{
		{ID: "a", Kind: model.ResDM, Below: []string{"b"}},
		{ID: "b", Kind: model.ResDM, Below: []string{"a", "missing"}},
	}}
	chain, luns, err := NewGraph(inv).Resolve(model.Anchor{Resource: "a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(luns) != 0 {
		t.Errorf("luns = %v, want none", luns)
	}
	kinds := map[string]bool{}
	for _, l := range chain {
		kinds[l.Kind] = true
	}
	if !kinds["cycle"] || !kinds["unknown"] {
		t.Errorf("chain %v should mark the cycle and the missing resource", chain)
	}
}

func TestLocateByName(t *testing.T) {
	g := NewGraph(stack())
	tests := []struct{ in, want string }{
		{"/dev/mapper/mpathc", "blk:dm-3"},
		{"dm-3", "blk:dm-3"},
		{"/dev/sde", "blk:sde"},
		{"/var/lib/libvirt/images/x/y.qcow2", "fs:253:2"},
		{"/var/lib/libvirt/images", "fs:253:2"},
		{"/mnt/nfs/../nfs/z", "fs:0:52"},
	}
	for _, tt := range tests {
		a, err := g.LocateByName(tt.in)
		if err != nil {
			t.Errorf("LocateByName(%q): %v", tt.in, err)
			continue
		}
		if a.Resource != tt.want {
			t.Errorf("LocateByName(%q) = %s, want %s", tt.in, a.Resource, tt.want)
		}
	}
	if _, err := g.LocateByName("/var/lib/libvirt/imagesX/a"); err == nil {
		t.Error("a path beside a mount point must not match it")
	}
}

func TestCorrelateFillsEveryDisk(t *testing.T) {
	inv := stack()
	inv.VMs = []model.VM{{Name: "vm1", Disks: []model.Disk{
		{Name: "vda", Kind: model.DiskImage, Source: "/var/lib/libvirt/images/a.qcow2", Anchor: &model.Anchor{Resource: "fs:253:2"}},
		{Name: "vdb", Kind: model.DiskPassthrough, Source: "/dev/mapper/mpathc", Anchor: &model.Anchor{Resource: "blk:dm-3"}},
	}}}
	Correlate(inv)
	got := [][]string{inv.VMs[0].Disks[0].LUNs, inv.VMs[0].Disks[1].LUNs}
	want := [][]string{{"naa.600a0980a", "naa.600a0980b"}, {"naa.624a9370c"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

// bigInventory builds nVMs VMs with disksPerVM image disks each, spread over
// nFS filesystems, each on an LV over two multipath maps of two paths each,
// over nLUN LUNs.
func bigInventory(nVMs, disksPerVM, nLUN int) *model.Inventory {
	inv := &model.Inventory{}
	nMP := nLUN
	for i := 0; i < nLUN; i++ {
		id := fmt.Sprintf("naa.600a0980%024x", i)
		inv.LUNs = append(inv.LUNs, model.LUN{ID: id, Paths: []model.Path{{Device: "a", State: model.PathActive}, {Device: "b", State: model.PathActive}}})
		for p := 0; p < 2; p++ {
			inv.Resources = append(inv.Resources, model.Resource{ID: fmt.Sprintf("blk:sd%d_%d", i, p), Kind: model.ResDisk, LUNs: []string{id}})
		}
		inv.Resources = append(inv.Resources, model.Resource{ID: fmt.Sprintf("blk:mp%d", i), Kind: model.ResMultipath,
			Below: []string{fmt.Sprintf("blk:sd%d_0", i), fmt.Sprintf("blk:sd%d_1", i)}})
	}
	nFS := nMP / 2
	for f := 0; f < nFS; f++ {
		inv.Resources = append(inv.Resources,
			model.Resource{ID: fmt.Sprintf("blk:lv%d", f), Kind: model.ResLVM, Below: []string{fmt.Sprintf("blk:mp%d", 2*f), fmt.Sprintf("blk:mp%d", 2*f+1)}},
			model.Resource{ID: fmt.Sprintf("fs:%d", f), Kind: model.ResFilesystem, Type: "xfs", Mountpoints: []string{fmt.Sprintf("/srv/%d", f)}, Below: []string{fmt.Sprintf("blk:lv%d", f)}})
	}
	for v := 0; v < nVMs; v++ {
		vm := model.VM{Name: fmt.Sprintf("vm%d", v)}
		for d := 0; d < disksPerVM; d++ {
			fs := (v*disksPerVM + d) % nFS
			vm.Disks = append(vm.Disks, model.Disk{Kind: model.DiskImage, Source: fmt.Sprintf("/srv/%d/vm%d-%d.qcow2", fs, v, d),
				Anchor: &model.Anchor{Resource: fmt.Sprintf("fs:%d", fs)}})
		}
		inv.VMs = append(inv.VMs, vm)
	}
	return inv
}

func TestBigInventoryResolvesEveryDisk(t *testing.T) {
	inv := bigInventory(200, 10, 100)
	Correlate(inv)
	for _, vm := range inv.VMs {
		for _, d := range vm.Disks {
			if len(d.LUNs) != 2 || d.Error != "" || len(d.Chain) != 11 {
				t.Fatalf("%s %s: luns %v chain %d error %q", vm.Name, d.Source, d.LUNs, len(d.Chain), d.Error)
			}
		}
	}
}

// BenchmarkCorrelate is the figure: up to 100,000 virtual disks over
// 10,000 LUNs through file -> filesystem -> LV -> multipath -> paths -> LUN.
// The sizes show that time and memory grow linearly with the input.
func BenchmarkCorrelate(b *testing.B) {
	for _, vms := range []int{2500, 5000, 10000} {
		b.Run(fmt.Sprintf("disks=%d/luns=%d", vms*10, vms), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				inv := bigInventory(vms, 10, vms)
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				b.StartTimer()
				Correlate(inv)
				b.StopTimer()
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/1e6, "MB-alloc/op")
			}
		})
	}
}
