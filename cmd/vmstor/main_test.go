package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/output"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestExitStatusForBadUsage(t *testing.T) {
	tests := [][]string{
		{"scan", "-o", "yaml"},
		{"no-such-command"},
		{"which"},
		{"scan", "--vsphere", "::not a url"},
	}
	for _, args := range tests {
		code, _, stderr := runCLI(t, args...)
		if code != exitUsage {
			t.Errorf("vmstor %s: exit %d, want %d (stderr %q)", strings.Join(args, " "), code, exitUsage, stderr)
		}
		if stderr == "" {
			t.Errorf("vmstor %s: no message on stderr", strings.Join(args, " "))
		}
	}
}

func TestHelpExitsZero(t *testing.T) {
	code, out, _ := runCLI(t, "--help")
	if code != exitOK || !strings.Contains(out, "scan") || !strings.Contains(out, "which") {
		t.Errorf("--help: exit %d, output %q", code, out)
	}
}

func TestVSphereCredentialsNeverFromFlags(t *testing.T) {
	t.Setenv("VMSTOR_VSPHERE_USERNAME", "envuser")
	t.Setenv("VMSTOR_VSPHERE_PASSWORD", "envpass")
	cfg, err := vsphereConfig("https://vc.example", &SourceFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Username != "envuser" || cfg.Password != "envpass" || cfg.URL != "https://vc.example/sdk" {
		t.Errorf("config from env: %+v", cfg)
	}
	cfg, err = vsphereConfig("https://u:p%40ss@vc.example/sdk", &SourceFlags{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Username != "u" || cfg.Password != "p@ss" || strings.Contains(cfg.URL, "p@ss") {
		t.Errorf("config from URL: user %q password %q url %q", cfg.Username, cfg.Password, cfg.URL)
	}
	_, err = vsphereConfig("https://u:secret@", &SourceFlags{})
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("bad URL error must not echo the password: %v", err)
	}
}

func TestPrintInventoryTableAndPartial(t *testing.T) {
	inv := &model.Inventory{
		VMs: []model.VM{{Name: "web1", Host: "kvm1", Disks: []model.Disk{
			{Name: "vda", Kind: model.DiskImage, Source: "/img/web1.qcow2", LUNs: []string{"naa.600a098038303845372b4a5232346e35"},
				Chain: []model.Layer{{Kind: "file", Name: "/img/web1.qcow2"}, {Level: 1, Kind: "filesystem", Name: "/img"}, {Level: 2, Kind: "multipath", Name: "mpatha"},
					{Level: 3, Kind: "disk", Name: "/dev/sda"}, {Level: 4, Kind: "lun", Name: "naa.600a098038303845372b4a5232346e35"}}},
			{Name: "vdb", Kind: model.DiskImage, Source: "/gone.img", LUNs: []string{}, Error: "locate /gone.img: no such file"},
		}}},
		LUNs: []model.LUN{{ID: "naa.600a098038303845372b4a5232346e35", State: model.LUNDegraded,
			Array: &model.Array{Vendor: "NetApp", Family: "ONTAP", SystemName: "cluster1"}, Volume: "vol1", LUNPath: "/vol/vol1/lun0",
			Paths: []model.Path{{Device: "sda", State: model.PathActive}, {Device: "sdb", State: model.PathFailed}}}},
		Errors: []model.ScanError{{Source: "linux:kvm1", Object: "sdq", Message: "INQUIRY timed out after 5s"}},
	}
	var out, errb bytes.Buffer
	g := &Globals{Output: output.Table, stdout: &out, stderr: &errb}
	err := printInventory(g, inv)
	if _, ok := err.(partialError); !ok {
		t.Fatalf("err = %v, want partialError", err)
	}
	for _, want := range []string{"filesystem /img > multipath mpatha", "cluster1:/vol/vol1/lun0", "1/2 degraded", "error: locate /gone.img: no such file"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(errb.String(), "sdq: INQUIRY timed out") {
		t.Errorf("stderr lacks the scan error: %q", errb.String())
	}
}

func TestSize(t *testing.T) {
	for in, want := range map[uint64]string{0: "", 512: "512 B", 1536: "1.5 KiB", 10 << 30: "10.0 GiB", 3 << 40: "3.0 TiB"} {
		if got := size(in); got != want {
			t.Errorf("size(%d) = %q, want %q", in, got, want)
		}
	}
}
