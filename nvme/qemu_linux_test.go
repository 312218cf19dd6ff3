//go:build linux

package nvme_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vmstor/vmstor/lab"
)

// TestAdminPassthroughUnderQEMU boots Debian's kernel under QEMU with an
// emulated NVMe controller and runs the real NVME_IOCTL_ADMIN_CMD path:
// identify controller and namespace, the SMART log page, and the ONTAP page
// 0xC2, which QEMU's controller must refuse with an NVMe status rather
// than an ioctl error. It uses the SAN lab's kernel cache
// (lab/build.sh).
func TestAdminPassthroughUnderQEMU(t *testing.T) {
	if testing.Short() {
		t.Skip("QEMU boot skipped in -short mode")
	}
	skip := func(why string) {
		if os.Getenv("VMSTOR_CI") == "1" {
			t.Fatalf("NVMe QEMU test cannot run in CI: %s", why)
		}
		t.Skipf("NVMe QEMU test skipped: %s (run .ci/setup.d/40-lab.sh as root, or lab/build.sh)", why)
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		skip("qemu-system-x86_64 not found")
	}
	cache := os.Getenv("VMSTOR_LAB_CACHE")
	if cache == "" {
		cache = lab.DefaultCache
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	k, err := lab.Prepare(ctx, "../lab", cache)
	if err != nil {
		skip(err.Error())
	}
	modDir := filepath.Join(k.Dir, "root/lib/modules", k.Version, "kernel")
	// Load order from modules.dep.
	mods := []string{
		"crypto/crct10dif_common.ko", "lib/crc-t10dif.ko", "lib/crc64.ko", "lib/crc64-rocksoft.ko",
		"block/t10-pi.ko", "drivers/nvme/host/nvme-core.ko", "drivers/nvme/host/nvme.ko",
	}
	dir := t.TempDir()
	initBin := filepath.Join(dir, "init")
	build := exec.CommandContext(ctx, "go", "build", "-o", initBin, "./testdata/guestinit")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build guest init: %v\n%s", err, out)
	}
	bin, err := os.ReadFile(initBin)
	if err != nil {
		t.Fatal(err)
	}
	files := []lab.File{{Path: "/init", Mode: 0o755, Data: bin}}
	var names []string
	for _, m := range mods {
		b, err := os.ReadFile(filepath.Join(modDir, m))
		if err != nil {
			skip("kernel module missing from the lab cache: " + err.Error())
		}
		n := filepath.Base(m)
		names = append(names, n)
		files = append(files, lab.File{Path: "/" + n, Mode: 0o644, Data: b})
	}
	initrd, err := lab.Overlay(files)
	if err != nil {
		t.Fatal(err)
	}
	initrdPath := filepath.Join(dir, "initrd")
	if err := os.WriteFile(initrdPath, initrd, 0o644); err != nil {
		t.Fatal(err)
	}
	console := filepath.Join(dir, "console.log")
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64",
		"-machine", "q35,accel=tcg", "-cpu", "max", "-smp", "1", "-m", "512",
		"-display", "none", "-monitor", "none", "-no-reboot", "-nodefaults",
		"-serial", "file:"+console,
		"-kernel", k.Vmlinuz, "-initrd", initrdPath,
		"-append", "console=ttyS0 panic=-1 quiet loglevel=3 VMSTOR_MODULES="+strings.Join(names, ","),
		"-blockdev", "driver=null-co,node-name=n1,size=1073741824,read-zeroes=on",
		"-device", "nvme,serial=vmstor-nvme-1,drive=n1",
	)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	runErr := cmd.Run()
	out, _ := os.ReadFile(console)
	got := map[string]string{}
	done := false
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "VMSTOR-DONE" {
			done = true
		}
		if kv, ok := strings.CutPrefix(line, "VMSTOR "); ok {
			k, v, _ := strings.Cut(kv, "=")
			got[k] = v
		}
	}
	if !done || runErr != nil {
		t.Fatalf("guest did not finish (qemu: %v %s); console:\n%s", runErr, stderr.String(), out)
	}
	want := map[string]string{
		"nsid":         "1",
		"serial":       "vmstor-nvme-1",
		"model":        "QEMU NVMe Ctrl",
		"nsze":         "2097152", // 1 GiB of 512-byte blocks
		"smart_temp_k": got["smart_temp_k"],
		// QEMU refuses an unknown log page with Do Not Retry (0x4000) +
		// generic status 0x02, Invalid Field in Command; the point is that
		// it arrives as an NVMe status, not as an ioctl error.
		"ontap_status": "0x4002",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("guest results (-want +got):\n%s\nconsole:\n%s", diff, out)
	}
	if got["smart_temp_k"] == "" || got["smart_temp_k"] == "0" {
		t.Errorf("SMART log page came back empty: temperature %q", got["smart_temp_k"])
	}
}
