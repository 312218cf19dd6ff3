package hoststorage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vmstor/vmstor/model"
)

// Filesystems kept although their st_dev has major 0 (no block device):
// network and multi-device filesystems, where VM images live. Every other
// major-0 filesystem (proc, sysfs, cgroup, tmpfs, devtmpfs, overlay,
// mqueue...) is pseudo or memory-backed and is skipped.
var keepNoDev = map[string]model.ResourceKind{
	"nfs": model.ResNFS, "nfs4": model.ResNFS,
	"cifs": model.ResSMB, "smb3": model.ResSMB, "smbfs": model.ResSMB,
	"btrfs": model.ResFilesystem, "zfs": model.ResFilesystem, "bcachefs": model.ResFilesystem,
	"ceph": model.ResFilesystem, "fuse.glusterfs": model.ResFilesystem, "glusterfs": model.ResFilesystem,
	"lustre": model.ResFilesystem, "gpfs": model.ResFilesystem, "virtiofs": model.ResFilesystem,
	"9p": model.ResFilesystem, "fuse.sshfs": model.ResFilesystem,
}

// remoteTypes have a source that names the server.
var remoteTypes = map[string]bool{"nfs": true, "nfs4": true, "cifs": true, "smb3": true, "smbfs": true,
	"ceph": true, "fuse.glusterfs": true, "glusterfs": true, "fuse.sshfs": true, "lustre": true}

// readMounts reads <ProcRoot>/self/mountinfo (or 1/mountinfo in a bundle
// that has no self).
func (s *scanner) readMounts() []Mount {
	var data []byte
	var err error
	var path string
	for _, p := range []string{"self/mountinfo", "1/mountinfo"} {
		path = filepath.Join(s.fs.opts.ProcRoot, p)
		data, err = os.ReadFile(path) // seq_file: read to EOF, short reads are not the end
		if !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		s.report(path, "without mountinfo no filesystem is reported; check --procfs", "%v", err)
		return nil
	}
	mounts, errs := ParseMountinfo(data)
	for _, e := range errs {
		s.report(path, "the line is skipped; the other mounts are reported", "%v", e)
	}
	s.fs.mu.Lock()
	s.fs.mounts = mounts
	s.fs.mu.Unlock()
	return mounts
}

// filesystems builds one fs:<maj:min> resource per mounted filesystem and
// sets the Below of loop devices to the filesystem holding their file.
func (s *scanner) filesystems(idx blockIndex, blocks []model.Resource) []model.Resource {
	mounts := s.readMounts()
	btrfs := s.btrfsDevices()
	host := s.fs.opts.Hostname
	byID := map[string]*model.Resource{}
	var order []string
	for _, m := range mounts {
		kind, keep := keepNoDev[m.FSType]
		if m.Major != 0 {
			keep = true
			if kind == "" {
				kind = model.ResFilesystem
			}
		}
		if !keep {
			continue
		}
		id := "fs:" + m.DevNo()
		r := byID[id]
		if r != nil {
			r.Mountpoints = appendNew(r.Mountpoints, m.Mountpoint)
			continue
		}
		r = &model.Resource{ID: id, Host: host, Kind: kind, Name: m.Mountpoint, DevNo: m.DevNo(),
			Type: m.FSType, Mountpoints: []string{m.Mountpoint}}
		byID[id] = r
		order = append(order, id)
		if remoteTypes[m.FSType] {
			r.Remote = m.Source
			continue
		}
		if name := idx.devno[m.DevNo()]; name != "" && m.Major != 0 {
			r.Below = []string{"blk:" + name}
			continue
		}
		src := idx.alias[m.Source] // /dev/sdb, /dev/mapper/x, /dev/vg/lv, by-* links
		if m.FSType == "btrfs" {
			for uuid, devsOf := range btrfs {
				if src != "" && contains(devsOf, src) {
					r.UUID = uuid
					for _, d := range devsOf {
						r.Below = append(r.Below, "blk:"+d)
					}
				}
			}
			if r.Below != nil {
				continue
			}
		}
		if src != "" {
			r.Below = []string{"blk:" + src}
		} else if m.Major != 0 {
			r.Error = fmt.Sprintf("source %s (device %s) is not in %s/block", m.Source, m.DevNo(), s.fs.opts.SysRoot)
		}
	}
	out := make([]model.Resource, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	if s.fs.opts.QueryDevices {
		s.statfsAll(out)
	}
	s.loopBelow(blocks, out)
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func appendNew(l []string, s string) []string {
	if contains(l, s) {
		return l
	}
	return append(l, s)
}

// btrfsDevices reads /sys/fs/btrfs/<uuid>/devices/: uuid -> block names.
func (s *scanner) btrfsDevices() map[string][]string {
	root := filepath.Join(s.fs.opts.SysRoot, "fs", "btrfs")
	out := map[string][]string{}
	for _, u := range listNames(root) {
		if devs := listNames(filepath.Join(root, u, "devices")); len(devs) > 0 {
			sort.Strings(devs)
			out[u] = devs
		}
	}
	return out
}

// statfsAll fills size and free space, in parallel and each bounded by the
// timeout: a hung NFS server costs one timeout, not the scan.
func (s *scanner) statfsAll(fss []model.Resource) {
	sem := make(chan struct{}, s.fs.opts.Parallel)
	var wg sync.WaitGroup
	for i := range fss {
		r := &fss[i]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			st, err := withTimeout(s.ctx, s.fs.opts.InquiryTimeout, func() (statResult, error) {
				sz, fr, err := s.fs.statfs(r.Mountpoints[0])
				return statResult{sz, fr}, err
			})
			if err != nil {
				hint := ""
				if errors.Is(err, context.DeadlineExceeded) && (r.Kind == model.ResNFS || r.Kind == model.ResSMB) {
					hint = "the file server may be unreachable; size and free space are left out"
				}
				s.report(r.Mountpoints[0], hint, "statfs: %v", err)
				return
			}
			r.SizeBytes = st.size
			r.FreeBytes = &st.free
		}()
	}
	wg.Wait()
}

type statResult struct{ size, free uint64 }

// withTimeout runs f in a goroutine and stops waiting after d: a stat on
// a hung NFS mount blocks in the kernel and cannot be cancelled.
func withTimeout[T any](ctx context.Context, d time.Duration, f func() (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	type res struct {
		v   T
		err error
	}
	ch := make(chan res, 1)
	go func() {
		v, err := f()
		ch <- res{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, fmt.Errorf("no answer in %v: %w", d, ctx.Err())
	}
}

// loopBelow points each loop device at the filesystem holding its backing
// file: by stat when live, else by the longest mount point prefix.
func (s *scanner) loopBelow(blocks, fss []model.Resource) {
	for i := range blocks {
		r := &blocks[i]
		if r.Kind != model.ResLoop || r.BackingFile == "" {
			continue
		}
		file := r.BackingFile
		if f, ok := strings.CutSuffix(file, " (deleted)"); ok {
			r.Error = "backing file " + f + " was deleted while the loop device holds it"
			file = f
		}
		if s.fs.opts.QueryDevices {
			dev, err := withTimeout(s.ctx, s.fs.opts.InquiryTimeout, func() (string, error) { return statDev(file) })
			if err == nil {
				r.Below = []string{"fs:" + dev}
				continue
			}
			if !errors.Is(err, fs.ErrNotExist) {
				s.report(r.Device, "", "stat backing file %s: %v", file, err)
			}
		}
		if id := longestPrefix(fss, file); id != "" {
			r.Below = []string{id}
		}
	}
}

// longestPrefix finds the filesystem whose mount point is the longest
// prefix of path.
func longestPrefix(fss []model.Resource, path string) string {
	best, bestLen := "", -1
	for _, r := range fss {
		for _, mp := range r.Mountpoints {
			if under(path, mp) && len(mp) > bestLen {
				best, bestLen = r.ID, len(mp)
			}
		}
	}
	return best
}

func under(path, dir string) bool {
	if dir == "/" {
		return strings.HasPrefix(path, "/")
	}
	return path == dir || strings.HasPrefix(path, dir+"/")
}
