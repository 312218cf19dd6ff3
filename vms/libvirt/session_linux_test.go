package libvirt

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
	"github.com/google/go-cmp/cmp"

	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/vms/libvirt/libvirtlab"
)

// TestScanSession starts a real per-user (session) libvirtd as user nobody,
// with its own HOME and XDG_RUNTIME_DIR, defines a domain in it, and scans
// qemu:///session: the socket is found from XDG_RUNTIME_DIR.
func TestScanSession(t *testing.T) {
	libvirtlab.Require(t)
	daemon, err := exec.LookPath("libvirtd")
	if err != nil {
		t.Skip("no libvirtd binary")
	}
	home, err := os.MkdirTemp("/var/tmp", "vmstor-session-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	run := filepath.Join(home, "run")
	for _, d := range []string{home, run} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(daemon, "--timeout", "600")
	cmd.Dir = home
	cmd.Env = []string{"HOME=" + home, "XDG_RUNTIME_DIR=" + run, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	log, err := os.Create(filepath.Join(home, "libvirtd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	sock := filepath.Join(run, "libvirt", "libvirt-sock")
	for i := 0; ; i++ {
		if fi, err := os.Stat(sock); err == nil && fi.Mode().Type() == os.ModeSocket {
			break
		}
		if i == 100 {
			b, _ := os.ReadFile(log.Name())
			t.Fatalf("session libvirtd made no socket %s:\n%s", sock, b)
		}
		time.Sleep(100 * time.Millisecond)
	}

	nc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	lv := golibvirt.NewWithDialer(dialers.NewAlreadyConnected(nc))
	if err := lv.ConnectToURI(golibvirt.QEMUSession); err != nil {
		t.Fatal(err)
	}
	defer lv.Disconnect()
	dom, err := lv.DomainDefineXML(libvirtlab.DomainXML("session-vm", `
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='`+home+`/s.qcow2'/><target dev='vda' bus='virtio'/></disk>`))
	if err != nil {
		t.Fatal(err)
	}

	t.Setenv("XDG_RUNTIME_DIR", run)
	src := New("qemu:///session")
	inv, err := src.Scan(context.Background())
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	want := []model.VM{{ID: uuidString(dom.UUID), Name: "session-vm", Host: inv.Hosts[0].Name, Platform: model.PlatformLibvirt, State: "shut off",
		Disks: []model.Disk{{Name: "vda", Kind: model.DiskImage, Device: "disk", Bus: "virtio", Source: home + "/s.qcow2", Format: "qcow2", LUNs: []string{}}}}}
	if diff := cmp.Diff(want, inv.VMs); diff != "" {
		t.Errorf("session VMs (-want +got):\n%s", diff)
	}
}
