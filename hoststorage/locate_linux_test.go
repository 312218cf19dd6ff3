package hoststorage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmstor/vmstor/model"
	"golang.org/x/sys/unix"
)

// TestLocate anchors real paths of this machine, checked against stat(2).
func TestLocate(t *testing.T) {
	fs, err := New(Options{Hostname: "here"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	file := filepath.Join(dir, "disk.img")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.img")
	if err := os.Symlink("disk.img", link); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(file, &st); err != nil {
		t.Fatal(err)
	}
	devno := fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev))
	realFile, _ := filepath.EvalSymlinks(file)
	a, err := fs.Locate(ctx, link)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&model.Anchor{Resource: "fs:" + devno, DevNo: devno, Path: realFile, Host: "here"}, a); diff != "" {
		t.Errorf("Locate(file) (-want +got):\n%s", diff)
	}

	_, err = fs.Locate(ctx, filepath.Join(dir, "missing.img"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "does not exist on this host") {
		t.Errorf("Locate(missing) error = %v, want one saying the path does not exist", err)
	}

	// A block device: its st_rdev and the /sys/dev/block name.
	ents, _ := os.ReadDir("/sys/block")
	for _, e := range ents {
		node := "/dev/" + e.Name()
		if err := unix.Stat(node, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFBLK {
			continue
		}
		rdev := fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		a, err := fs.Locate(ctx, node)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&model.Anchor{Resource: "blk:" + e.Name(), DevNo: rdev, Path: node, Host: "here"}, a); diff != "" {
			t.Errorf("Locate(%s) (-want +got):\n%s", node, diff)
		}
		return
	}
	t.Log("no block device node in /dev: block Locate not exercised")
}
