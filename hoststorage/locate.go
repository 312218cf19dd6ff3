package hoststorage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vmstor/vmstor/model"
)

// Locate anchors path in the host storage graph: a block device is
// "blk:<name>" with its st_rdev; any other file is the filesystem that holds
// it, "fs:<st_dev>". Symlinks are resolved; a hung NFS server costs the
// inquiry timeout, not the caller.
func (fs *FS) Locate(ctx context.Context, path string) (*model.Anchor, error) {
	type res struct {
		real, devno string
		block       bool
	}
	r, err := withTimeout(ctx, fs.opts.InquiryTimeout, func() (res, error) {
		real, err := filepath.EvalSymlinks(path)
		if err != nil {
			return res{}, err
		}
		devno, block, err := statNode(real)
		return res{real, devno, block}, err
	})
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("locate %s: the path does not exist on this host: %w", path, err)
		}
		return nil, fmt.Errorf("locate %s: %w", path, err)
	}
	a := &model.Anchor{DevNo: r.devno, Path: r.real, Host: fs.opts.Hostname}
	if r.block {
		link, err := os.Readlink(filepath.Join(fs.opts.SysRoot, "dev", "block", r.devno))
		if err != nil {
			return nil, fmt.Errorf("locate %s: block device %s is not in %s/dev/block: %w", path, r.devno, fs.opts.SysRoot, err)
		}
		a.Resource = "blk:" + filepath.Base(link)
		return a, nil
	}
	a.Resource = "fs:" + fs.mountFor(r.devno, r.real)
	return a, nil
}

// mountFor returns the mountinfo maj:min for a file: its st_dev when a
// mount has it, else (a btrfs subvolume that is not mounted itself has its
// own anonymous st_dev) the mount with the longest mount point prefix.
func (fs *FS) mountFor(devno, path string) string {
	fs.mu.Lock()
	mounts := fs.mounts
	fs.mu.Unlock()
	if mounts == nil {
		if b, err := os.ReadFile(filepath.Join(fs.opts.ProcRoot, "self", "mountinfo")); err == nil {
			mounts, _ = ParseMountinfo(b)
			fs.mu.Lock()
			fs.mounts = mounts
			fs.mu.Unlock()
		}
	}
	best, bestLen := "", -1
	for _, m := range mounts {
		if m.DevNo() == devno {
			return devno
		}
		if under(path, m.Mountpoint) && len(m.Mountpoint) > bestLen {
			best, bestLen = m.DevNo(), len(m.Mountpoint)
		}
	}
	if best == "" {
		return devno
	}
	return best
}
