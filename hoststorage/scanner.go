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

	"github.com/vmstor/vmstor/model"
)

// scanner is the state of one Scan.
type scanner struct {
	fs  *FS
	ctx context.Context

	iscsi, fc, sas onceCache[transportInfo]
	fchost         onceCache[string]
	nvmeCtrl       onceCache[nvmePath]

	mu        sync.Mutex
	errs      []model.ScanError
	resources []model.Resource
	luns      []model.LUN
	lunOf     map[string]string // block name -> LUN id
}

func (s *scanner) report(object, hint, format string, args ...any) {
	e := model.Errorf(s.fs.src, object, format, args...)
	e.Hint = hint
	s.mu.Lock()
	s.errs = append(s.errs, e)
	s.mu.Unlock()
}

// text reads an attribute shared by many devices (transport classes,
// controllers); a real read error is reported, absence is not.
func (s *scanner) text(dir, name string) string {
	p := filepath.Join(dir, name)
	v, err := readText(p)
	if err != nil {
		s.report(p, "", "%v", err)
	}
	return v
}

func (s *scanner) run() error {
	blockDir := filepath.Join(s.fs.opts.SysRoot, "block")
	names := listNames(blockDir)
	if names == nil {
		if _, err := os.Stat(blockDir); err != nil {
			return fmt.Errorf("list block devices in %s: %w", blockDir, err)
		}
	}
	sort.Strings(names)

	// Read every device with a bounded number of workers: sysfs reads
	// are cheap, but a device query may wait up to the inquiry timeout.
	devs := make([]*blockDev, len(names))
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(s.fs.opts.Parallel, max(len(names), 1)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if s.fs.beforeDevice != nil {
					s.fs.beforeDevice(names[i])
				}
				devs[i] = s.readBlock(names[i])
			}
		}()
	}
	for i := range names {
		work <- i
	}
	close(work)
	wg.Wait()
	if err := s.ctx.Err(); err != nil {
		return fmt.Errorf("scan of %s interrupted: %w", blockDir, err)
	}

	for _, d := range devs {
		obj := "/dev/" + d.name
		if d.vanished {
			why := d.vanishedWhy
			if why == "" {
				why = filepath.Join(blockDir, d.name) + " is gone"
			}
			s.report(obj, "the device was removed (or a path went away) during the scan; scan again to see the current state",
				"vanished during the scan: %s", why)
			continue
		}
		for _, e := range d.errs {
			s.report(obj, "", "%v", e)
		}
		for _, e := range d.queryErrs {
			s.report(obj, e.hint, "%v", e.err)
		}
	}
	s.buildLUNs(devs)
	s.buildResources(devs)
	return nil
}

// byDevno and byAlias find block resources for mount sources.
type blockIndex struct {
	devno map[string]string // "8:1" -> "sda1"
	alias map[string]string // "/dev/mapper/vg-lv", "/dev/sda1" -> "dm-3", "sda1"
}

func (s *scanner) buildResources(devs []*blockDev) {
	host := s.fs.opts.Hostname
	idx := blockIndex{devno: map[string]string{}, alias: map[string]string{}}
	links := s.diskLinks()
	var out []model.Resource
	for _, d := range devs {
		if d.vanished {
			continue
		}
		r := model.Resource{
			ID: "blk:" + d.name, Host: host, Kind: model.ResDisk, Name: d.name,
			Device: "/dev/" + d.name, DevNo: d.devno, SizeBytes: d.size,
		}
		for _, sl := range d.slaves {
			r.Below = append(r.Below, "blk:"+sl)
		}
		switch {
		case d.dmName != "" || d.dmUUID != "":
			r.Name, r.UUID = d.dmName, d.dmUUID
			r.Aliases = append(r.Aliases, "/dev/mapper/"+d.dmName)
			switch u := d.dmUUID; {
			case strings.HasPrefix(u, "mpath-"):
				r.Kind, r.Type = model.ResMultipath, "multipath"
				r.LUNs = s.lunsBelow(d)
			case strings.HasPrefix(u, "LVM-"):
				r.Kind = model.ResLVM
				if vg, lv, ok := splitLVMName(d.dmName); ok {
					r.Aliases = append(r.Aliases, "/dev/"+vg+"/"+lv)
				}
			case strings.HasPrefix(u, "CRYPT-"):
				r.Kind, r.Type = model.ResCrypt, "crypt"
			case isKpartx(u):
				r.Kind = model.ResPartition
			default:
				r.Kind = model.ResDM
			}
		case d.mdLevel != "" || strings.HasPrefix(d.name, "md"):
			r.Kind, r.Type = model.ResMD, d.mdLevel
			if n := d.mdDegraded; n != "" && n != "0" {
				r.Error = fmt.Sprintf("degraded: %s member(s) missing (md/array_state %s)", n, d.mdState)
			}
		case strings.HasPrefix(d.name, "loop"):
			r.Kind = model.ResLoop
			r.BackingFile = d.loopBacking
		default:
			name := d.name
			if reNVMePath.MatchString(name) {
				name = nvmeHead(name)
			}
			if id := s.lunOf[name]; id != "" {
				r.LUNs = []string{id}
			}
		}
		r.Aliases = append(r.Aliases, links[d.name]...)
		out = append(out, r)
		for _, p := range d.parts {
			pr := model.Resource{
				ID: "blk:" + p.name, Host: host, Kind: model.ResPartition, Name: p.name,
				Device: "/dev/" + p.name, DevNo: p.devno, SizeBytes: p.size,
				Below: []string{r.ID}, Aliases: links[p.name],
			}
			for _, e := range p.errs {
				s.report("/dev/"+p.name, "", "%v", e)
			}
			out = append(out, pr)
		}
	}
	for _, r := range out {
		name := strings.TrimPrefix(r.ID, "blk:")
		idx.devno[r.DevNo] = name
		idx.alias[r.Device] = name
		for _, a := range r.Aliases {
			idx.alias[a] = name
		}
	}
	out = append(out, s.filesystems(idx, out)...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	s.resources = out
}

// lunsBelow lists the LUNs of a multipath map's paths, or the map's own
// wwid when none of its paths was read.
func (s *scanner) lunsBelow(d *blockDev) []string {
	var ids []string
	seen := map[string]bool{}
	for _, sl := range d.slaves {
		if id := s.lunOf[sl]; id != "" && !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		if id := mpathID(d.dmUUID); id != "" {
			ids = []string{id}
		}
	}
	return ids
}

// nvmeHead names the multipath head of a per-controller path: nvme0c1n2 -> nvme0n2.
func nvmeHead(path string) string {
	c := strings.IndexByte(path[4:], 'c') + 4
	n := strings.LastIndexByte(path, 'n')
	return path[:c] + path[n:]
}

// isKpartx says whether a dm uuid is a kpartx partition map ("part1-mpath-...").
func isKpartx(u string) bool {
	p, _, ok := strings.Cut(u, "-")
	return ok && strings.HasPrefix(p, "part") && len(p) > 4 && strings.Trim(p[4:], "0123456789") == ""
}

// splitLVMName splits a dm name "vg--x-lv--y" into "vg-x" and "lv-y"
// (LVM doubles the hyphens inside names and joins with a single one).
func splitLVMName(n string) (vg, lv string, ok bool) {
	for i := 0; i < len(n); i++ {
		if n[i] != '-' {
			continue
		}
		if i+1 < len(n) && n[i+1] == '-' {
			i++
			continue
		}
		return strings.ReplaceAll(n[:i], "--", "-"), strings.ReplaceAll(n[i+1:], "--", "-"), i > 0 && i+1 < len(n)
	}
	return "", "", false
}

// diskLinks reads the udev links under <DevRoot>/disk/by-* when they exist
// (hosts without udev have none): block name -> link paths.
func (s *scanner) diskLinks() map[string][]string {
	out := map[string][]string{}
	root := filepath.Join(s.fs.opts.DevRoot, "disk")
	for _, sub := range listNames(root) {
		if !strings.HasPrefix(sub, "by-") {
			continue
		}
		dir := filepath.Join(root, sub)
		for _, n := range listNames(dir) {
			t, err := os.Readlink(filepath.Join(dir, n))
			if err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					s.report(filepath.Join(dir, n), "", "%v", err)
				}
				continue
			}
			b := filepath.Base(t)
			out[b] = append(out[b], filepath.Join("/dev/disk", sub, n))
		}
	}
	for _, l := range out {
		sort.Strings(l)
	}
	return out
}
