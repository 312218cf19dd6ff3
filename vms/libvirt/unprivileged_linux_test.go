package libvirt

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/vms/libvirt/libvirtlab"
)

// helperResult is what the unprivileged helper reports for one URI.
type helperResult struct {
	URI   string           `json:"uri"`
	VMs   int              `json:"vms"`
	Error *model.ScanError `json:"error,omitempty"`
	Other string           `json:"other,omitempty"`
}

// TestScanUnprivileged runs scans as user nobody, a user with no libvirt
// privilege: against a socket in a root-only directory (the kernel says
// EACCES) and against the real daemon (which lets it read, or refuses it
// through polkit). Each failure must say which privilege is needed.
func TestScanUnprivileged(t *testing.T) {
	libvirtlab.Require(t)
	dir, err := os.MkdirTemp("/var/tmp", "vmstor-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The test binary, where nobody can run it.
	bin := filepath.Join(dir, "libvirt.test")
	copyFile(t, os.Args[0], bin, 0o755)
	// A listening socket nobody cannot reach.
	private := filepath.Join(dir, "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(private, "libvirt-sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	cmd := exec.Command(bin, "-test.run", "^TestUnprivilegedHelper$", "-test.v")
	cmd.Env = append(os.Environ(), "VMSTOR_LIBVIRT_HELPER=1", "VMSTOR_HELPER_SOCK="+sock)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper as nobody: %v\n%s", err, out)
	}
	results := map[string]helperResult{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "RESULT ")
		if !ok {
			continue
		}
		var r helperResult
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		results[r.URI] = r
	}

	denied := results["qemu:///system?socket="+sock]
	if denied.Error == nil || !strings.HasPrefix(denied.Error.Message, "permission denied opening libvirt socket "+sock) {
		t.Errorf("root-only socket: want a permission-denied error naming %s, got %+v\n%s", sock, denied, out)
	} else {
		for _, w := range []string{"root", "libvirt group", "libvirt-sock-ro"} {
			if !strings.Contains(denied.Error.Hint, w) {
				t.Errorf("permission hint %q does not mention %q", denied.Error.Hint, w)
			}
		}
	}

	sys, ok := results["qemu:///system"]
	switch {
	case !ok:
		t.Errorf("no result for qemu:///system\n%s", out)
	case sys.Other != "":
		t.Errorf("qemu:///system as nobody: not a ScanError: %s", sys.Other)
	case sys.Error != nil:
		// Refused (polkit without D-Bus on this host, or a policy).
		t.Logf("qemu:///system as nobody: %+v", *sys.Error)
		if !strings.Contains(sys.Error.Hint, "root") || !strings.Contains(sys.Error.Hint, "libvirt group") {
			t.Errorf("refusal hint does not say which privilege is needed: %+v", *sys.Error)
		}
	default:
		t.Logf("qemu:///system as nobody: read %d VMs (read-only access allowed)", sys.VMs)
	}
}

// TestUnprivilegedHelper is run by TestScanUnprivileged as user nobody.
func TestUnprivilegedHelper(t *testing.T) {
	if os.Getenv("VMSTOR_LIBVIRT_HELPER") != "1" {
		t.Skip("helper process for TestScanUnprivileged")
	}
	for _, uri := range []string{"qemu:///system?socket=" + os.Getenv("VMSTOR_HELPER_SOCK"), "qemu:///system"} {
		r := helperResult{URI: uri}
		inv, err := New(uri).Scan(context.Background())
		if se, ok := err.(model.ScanError); ok {
			r.Error = &se
		} else if err != nil {
			r.Other = fmt.Sprintf("%T %v", err, err)
		}
		if inv != nil {
			r.VMs = len(inv.VMs)
		}
		b, _ := json.Marshal(r)
		fmt.Printf("RESULT %s\n", b)
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
