package libvirt

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/scan"
)

// silentServer listens on a UNIX socket, accepts, and never answers: a hung
// daemon.
func silentServer(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "silent-sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return sock
}

// staleSocket is a socket file no one listens on (a daemon that died).
func staleSocket(t *testing.T) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "stale-sock")
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: sock}); err != nil {
		t.Fatal(err)
	}
	syscall.Close(fd) // bound, never listened: connect is refused
	return sock
}

// TestConnectErrors dials real sockets that fail in the ways a host's can,
// and checks each error says what failed and what to do.
func TestConnectErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name      string
		uri       string
		wantMsg   []string
		wantHint  []string
		needsRoot bool
	}{
		{
			name:     "socket missing",
			uri:      "qemu:///system?socket=" + filepath.Join(dir, "none"),
			wantMsg:  []string{"no libvirt socket found", filepath.Join(dir, "none")},
			wantHint: []string{"is libvirtd running?"},
		},
		{
			name:     "connection refused",
			uri:      "qemu:///system?socket=" + staleSocket(t),
			wantMsg:  []string{"connection refused", "stale-sock"},
			wantHint: []string{"no daemon listens", "is libvirtd running?"},
		},
		{
			name:     "not a URI",
			uri:      "::nonsense",
			wantMsg:  []string{"invalid libvirt URI"},
			wantHint: []string{"qemu:///system"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := New(tt.uri)
			inv, err := src.Scan(context.Background())
			if inv != nil {
				t.Errorf("want no inventory, got %+v", inv)
			}
			se, ok := err.(model.ScanError)
			if !ok {
				t.Fatalf("want a model.ScanError, got %T %v", err, err)
			}
			if se.Source != "libvirt:"+tt.uri {
				t.Errorf("source %q, want %q", se.Source, "libvirt:"+tt.uri)
			}
			for _, w := range tt.wantMsg {
				if !strings.Contains(se.Message, w) {
					t.Errorf("message %q does not contain %q", se.Message, w)
				}
			}
			for _, w := range tt.wantHint {
				if !strings.Contains(se.Hint, w) {
					t.Errorf("hint %q does not contain %q", se.Hint, w)
				}
			}
		})
	}
}

// TestConnectErrorRanking: of several sockets tried, the error reported is
// the one a user can act on.
func TestConnectErrorRanking(t *testing.T) {
	s := New("")
	perm := &net.OpError{Op: "dial", Net: "unix", Err: &os.SyscallError{Syscall: "connect", Err: syscall.EACCES}}
	refused := &net.OpError{Op: "dial", Net: "unix", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	missing := &net.OpError{Op: "dial", Net: "unix", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ENOENT}}
	tests := []struct {
		name     string
		failures []dialFailure
		want     string
	}{
		{"all missing", []dialFailure{{"/a", missing}, {"/b", missing}}, "no libvirt socket found (tried /a, /b)"},
		{"refused beats missing", []dialFailure{{"/a", missing}, {"/b", refused}}, "connection refused on libvirt socket /b"},
		{"permission beats refused", []dialFailure{{"/a", refused}, {"/b", perm}, {"/c", missing}}, "permission denied opening libvirt socket /b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			se := s.connectError(tt.failures).(model.ScanError)
			if !strings.HasPrefix(se.Message, tt.want) {
				t.Errorf("message %q, want prefix %q", se.Message, tt.want)
			}
			if se.Hint == "" {
				t.Error("no hint")
			}
		})
	}
	se := s.connectError([]dialFailure{{"/a", perm}}).(model.ScanError)
	for _, w := range []string{"root", "libvirt group", "libvirt-sock-ro"} {
		if !strings.Contains(se.Hint, w) {
			t.Errorf("permission hint %q does not name %q", se.Hint, w)
		}
	}
}

func TestSocketsFor(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", "/run/user/1000")
	t.Setenv("HOME", "/home/u")
	tests := []struct {
		uri  string
		want []string
	}{
		{"qemu:///system", []string{"/var/run/libvirt/libvirt-sock", "/var/run/libvirt/virtqemud-sock", "/var/run/libvirt/libvirt-sock-ro", "/var/run/libvirt/virtqemud-sock-ro"}},
		{"qemu:///session", []string{"/run/user/1000/libvirt/libvirt-sock", "/run/user/1000/libvirt/virtqemud-sock"}},
		{"qemu:///system?socket=/x/y", []string{"/x/y"}},
		{"test:///default", []string{"/var/run/libvirt/libvirt-sock", "/var/run/libvirt/virtqemud-sock", "/var/run/libvirt/libvirt-sock-ro", "/var/run/libvirt/virtqemud-sock-ro"}},
		{"qemu+unix:///system?socket=/x/y", []string{"/x/y"}},
	}
	for _, tt := range tests {
		u := mustParse(t, tt.uri)
		got := socketsFor(u)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.uri, diff)
		}
	}
	if diff := cmp.Diff([]string{"/home/u/.cache/libvirt/libvirt-sock", "/home/u/.cache/libvirt/virtqemud-sock"}, sessionSockets("", "/home/u")); diff != "" {
		t.Errorf("session without XDG_RUNTIME_DIR (-want +got):\n%s", diff)
	}
}

func TestName(t *testing.T) {
	if got := New("").Name(); got != "libvirt:qemu:///system" {
		t.Errorf("New(\"\").Name() = %q", got)
	}
	if got := New("qemu:///session").Name(); got != "libvirt:qemu:///session" {
		t.Errorf("Name() = %q", got)
	}
}

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

var _ scan.Source = (*Source)(nil)
