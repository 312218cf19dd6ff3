//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/vms/libvirt/libvirtlab"
)

// TestE2ELibvirtScan builds the vmstor binary, defines real domains in the
// real libvirtd on real storage (an ext4 filesystem on a loop device holding
// a qcow2 image with a backing file, a second loop device passed through, a
// pool volume, network disks), runs `vmstor scan -o json`, and checks the map
// from each disk down to this machine's LUNs.
func TestE2ELibvirtScan(t *testing.T) {
	lab := libvirtlab.New(t)
	full := lab.Prefix + "-full"
	lab.Define(libvirtlab.DomainXML(full, lab.FullDevices()))
	live := lab.Prefix + "-live"
	lab.Start(lab.Define(libvirtlab.DomainXML(live, `
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='`+lab.Top+`'/><target dev='vda' bus='virtio'/></disk>`)))

	bin := filepath.Join(t.TempDir(), "vmstor")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, "scan", "-o", "json", "--libvirt", "qemu:///system", "--timeout", "3m")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	// 3 is a partial scan: the lab's SCSI hostdev names a device this host
	// does not have, so one error is expected.
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == exitPartial) {
		t.Fatalf("vmstor scan: %v\nstderr:\n%s", err, stderr.String())
	}
	var inv model.Inventory
	if err := json.Unmarshal(stdout.Bytes(), &inv); err != nil {
		t.Fatalf("scan output is not the JSON contract: %v\n%s", err, stdout.String())
	}
	if !slices.Contains(inv.Sources, "libvirt:qemu:///system") {
		t.Errorf("sources %v lack libvirt:qemu:///system", inv.Sources)
	}
	for _, e := range inv.Errors {
		t.Logf("scan error: %+v", e)
	}

	// This machine's root disk: the LUN ids of vda, the bottom of every chain.
	rootLUNs := lunsWithPath(inv.LUNs, "vda")
	if len(rootLUNs) == 0 {
		t.Fatalf("no LUN with a path vda in luns %v", lunIDs(inv.LUNs))
	}
	fsLoop := filepath.Base(lab.FSLoop)
	blockLoop := filepath.Base(lab.BlockLoop)

	vm := findVMNamed(t, inv.VMs, full)
	if vm.State != "shut off" || vm.Platform != model.PlatformLibvirt {
		t.Errorf("%s: state %q platform %q", full, vm.State, vm.Platform)
	}
	disks := map[string]model.Disk{}
	for _, d := range vm.Disks {
		disks[d.Name] = d
	}
	if len(disks) != 10 {
		t.Errorf("%s has %d disks, want 10: %v", full, len(disks), slices.Collect(maps.Keys(disks)))
	}

	// vda: the image on ext4 on loopN, whose file is on the root fs on vda.
	vda := disks["vda"]
	if vda.Kind != model.DiskImage || vda.Source != lab.Top || vda.Error != "" {
		t.Errorf("vda: kind %q source %q error %q", vda.Kind, vda.Source, vda.Error)
	}
	checkChain(t, "vda", vda.Chain, []string{"file", "filesystem", "loop", "filesystem"})
	// file -> the ext4 at lab.Mount -> blk:loopN -> the filesystem holding
	// loopN's file -> ... -> the LUN.
	if len(vda.Chain) > 3 {
		if l := vda.Chain[1]; l.Name != lab.Mount {
			t.Errorf("vda chain layer 1 = %+v, want the ext4 mounted at %s", l, lab.Mount)
		}
		if l := vda.Chain[2]; l.ID != "blk:"+fsLoop {
			t.Errorf("vda chain layer 2 = %+v, want id blk:%s", l, fsLoop)
		}
	}
	checkLUNs(t, "vda", vda, rootLUNs)

	// sda: the pass-through loopM, whose file is on the root fs on vda.
	sda := disks["sda"]
	if sda.Kind != model.DiskPassthrough || sda.Source != lab.BlockLoop || sda.Device != "lun" {
		t.Errorf("sda: kind %q source %q device %q", sda.Kind, sda.Source, sda.Device)
	}
	if len(sda.Chain) == 0 || sda.Chain[0].ID != "blk:"+blockLoop {
		t.Errorf("sda chain starts %+v, want blk:%s", sda.Chain, blockLoop)
	}
	checkChain(t, "sda", sda.Chain, []string{"loop", "filesystem"})
	checkLUNs(t, "sda", sda, rootLUNs)

	// vdb: the pool volume, a file on the root fs.
	vdb := disks["vdb"]
	if vdb.Kind != model.DiskImage || vdb.Source != lab.VolumePath || vdb.Datastore != lab.Pool {
		t.Errorf("vdb: kind %q source %q datastore %q", vdb.Kind, vdb.Source, vdb.Datastore)
	}
	checkLUNs(t, "vdb", vdb, rootLUNs)

	// Network disks report their targets, not host LUNs.
	want := map[string]*model.NetworkTarget{
		"sdb": {Protocol: "iscsi", Hosts: []string{"192.0.2.10:3260"}, Name: "iqn.2013-06.com.example:tgt/1"},
		"vdc": {Protocol: "nbd", Hosts: []string{"192.0.2.11:10809"}, Name: "export1"},
		"vdd": {Protocol: "rbd", Hosts: []string{"192.0.2.21:6789", "192.0.2.22"}, Name: "rbdpool/image1"},
	}
	for name, w := range want {
		d := disks[name]
		if d.Kind != model.DiskNetwork {
			t.Errorf("%s: kind %q, want network", name, d.Kind)
		}
		if diff := cmp.Diff(w, d.Network); diff != "" {
			t.Errorf("%s network target (-want +got):\n%s", name, diff)
		}
	}
	if d := disks["hdc"]; d.Device != "cdrom" || !d.ReadOnly {
		t.Errorf("hdc: %+v, want a read-only cdrom", d)
	}
	if d := disks["hostdev0"]; d.Kind != model.DiskPassthrough || d.Source != "scsi_host7:0:0:1" || d.Error == "" {
		t.Errorf("hostdev0: %+v, want an unresolved pass-through of scsi_host7:0:0:1", d)
	}

	// The running domain: the same image, with its backing file.
	lvm := findVMNamed(t, inv.VMs, live)
	if lvm.State != "running" || len(lvm.Disks) != 1 {
		t.Fatalf("%s: state %q disks %+v", live, lvm.State, lvm.Disks)
	}
	if diff := cmp.Diff([]string{lab.Base}, lvm.Disks[0].Backing); diff != "" {
		t.Errorf("live vda backing (-want +got):\n%s", diff)
	}
	checkLUNs(t, "live vda", lvm.Disks[0], rootLUNs)
}

func findVMNamed(t *testing.T, vms []model.VM, name string) model.VM {
	t.Helper()
	for _, vm := range vms {
		if vm.Name == name {
			return vm
		}
	}
	t.Fatalf("VM %s not in the scan", name)
	return model.VM{}
}

// checkChain checks the chain's layer kinds start with want, in order, and
// end at a LUN.
func checkChain(t *testing.T, disk string, chain []model.Layer, want []string) {
	t.Helper()
	var kinds []string
	for _, l := range chain {
		kinds = append(kinds, l.Kind)
	}
	if len(kinds) < len(want) || !slices.Equal(kinds[:len(want)], want) {
		t.Errorf("%s chain kinds %v, want them to start %v\nchain: %+v", disk, kinds, want, chain)
	}
	if len(kinds) == 0 || kinds[len(kinds)-1] != "lun" {
		t.Errorf("%s chain kinds %v do not end at a lun\nchain: %+v", disk, kinds, chain)
	}
	for i, l := range chain {
		if l.Level != i {
			t.Errorf("%s chain layer %d has level %d", disk, i, l.Level)
		}
	}
}

func checkLUNs(t *testing.T, disk string, d model.Disk, want []string) {
	t.Helper()
	for _, id := range want {
		if !slices.Contains(d.LUNs, id) {
			t.Errorf("%s luns %v lack the root disk's LUN %s (error %q)", disk, d.LUNs, id, d.Error)
		}
	}
}

func lunsWithPath(luns []model.LUN, device string) []string {
	var ids []string
	for _, l := range luns {
		for _, p := range l.Paths {
			if p.Device == device {
				ids = append(ids, l.ID)
				break
			}
		}
	}
	return ids
}

func lunIDs(luns []model.LUN) []string {
	var ids []string
	for _, l := range luns {
		ids = append(ids, l.ID)
	}
	return ids
}
