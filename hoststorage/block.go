package hoststorage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// blockDev is what sysfs says about one entry of /sys/block (and its
// partitions). Each attribute is read once, here.
type blockDev struct {
	name    string
	sysPath string // /sys/devices/... with symlinks resolved
	devno   string // /sys/block/<name>/dev
	size    uint64 // /sys/block/<name>/size * 512
	parent  string // partitions: the whole disk
	parts   []*blockDev
	slaves  []string // /sys/block/<name>/slaves/*

	dmName, dmUUID      string // dm/name, dm/uuid
	mdLevel, mdDegraded string // md/level, md/degraded
	mdState             string // md/array_state
	loopBacking         string // loop/backing_file
	serial              string // serial (virtio-blk)
	physical            bool   // has a device link: a disk with hardware (or a virtual device of the hypervisor) beneath
	scsi                *scsiDev
	nvme                *nvmeNS
	vanished            bool
	vanishedWhy         string  // how it went: gone from sysfs, or being removed
	errs                []error // what could not be read; the device is still reported
	queryErrs           []errWithHint
	vendorVPD           map[uint8][]byte
	deviceDir           string // resolved device link, for transport detection
}

type errWithHint struct {
	err  error
	hint string
}

var (
	reHCTL     = regexp.MustCompile(`^\d+:\d+:\d+:\d+$`)
	reNVMePath = regexp.MustCompile(`^nvme\d+c\d+n\d+$`) // a hidden per-controller path of a multipath namespace
)

// readBlock reads /sys/block/<name>. A device that disappears while being
// read is marked vanished, not an error of the whole scan.
func (s *scanner) readBlock(name string) *blockDev {
	d := &blockDev{name: name}
	base := filepath.Join(s.fs.opts.SysRoot, "block", name)
	real, err := resolveLink(base)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			d.vanished = true
			return d
		}
		d.errs = append(d.errs, err)
		real = base
	}
	d.sysPath = real
	entries, err := os.ReadDir(real)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			d.vanished = true
			return d
		}
		d.errs = append(d.errs, fmt.Errorf("list %s: %w", real, err))
	}
	has := make(map[string]bool, len(entries))
	for _, e := range entries {
		has[e.Name()] = true
	}
	d.devno, err = readText(filepath.Join(real, "dev"))
	if err == nil && d.devno == "" {
		if _, serr := os.Stat(base); errors.Is(serr, fs.ErrNotExist) {
			d.vanished = true
			return d
		}
	}
	d.note(err)
	sz, err := readText(filepath.Join(real, "size"))
	d.note(err)
	d.size = sectors(sz)

	if has["dm"] {
		d.dmName, err = readText(filepath.Join(real, "dm", "name"))
		d.note(err)
		d.dmUUID, err = readText(filepath.Join(real, "dm", "uuid"))
		d.note(err)
	}
	if has["md"] {
		d.mdLevel, err = readText(filepath.Join(real, "md", "level"))
		d.note(err)
		d.mdDegraded, err = readText(filepath.Join(real, "md", "degraded"))
		d.note(err)
		d.mdState, err = readText(filepath.Join(real, "md", "array_state"))
		d.note(err)
	}
	if has["loop"] {
		d.loopBacking, err = readText(filepath.Join(real, "loop", "backing_file"))
		d.note(err)
	}
	if has["serial"] {
		d.serial, err = readText(filepath.Join(real, "serial"))
		d.note(err)
	}
	if has["slaves"] {
		d.slaves = listNames(filepath.Join(real, "slaves"))
	}
	for _, e := range entries {
		// Partitions are subdirectories named after the disk (sda1,
		// nvme0n1p1, mmcblk0p1) with their own dev file.
		n := e.Name()
		if !e.IsDir() || n == name || !strings.HasPrefix(n, name) {
			continue
		}
		p := &blockDev{name: n, parent: name, sysPath: filepath.Join(real, n)}
		p.devno, err = readText(filepath.Join(p.sysPath, "dev"))
		p.note(err)
		if p.devno == "" {
			continue
		}
		sz, err := readText(filepath.Join(p.sysPath, "size"))
		p.note(err)
		p.size = sectors(sz)
		d.parts = append(d.parts, p)
	}
	if has["device"] {
		d.physical = true
		dev, err := resolveLink(filepath.Join(real, "device"))
		if err != nil {
			d.note(err)
			return d
		}
		d.deviceDir = dev
		switch {
		case reHCTL.MatchString(filepath.Base(dev)):
			d.scsi = s.readSCSI(d, dev)
			switch d.scsi.state {
			case "cancel", "del", "deleted":
				// Being torn down: its attributes disappear as we
				// read them, so what was read is no identity.
				d.vanished = true
				d.vanishedWhy = "the kernel is removing it (device state " + d.scsi.state + ")"
				return d
			}
		case reNVMePath.MatchString(name):
			// A per-controller path of a multipath namespace: its
			// controller is read as a path of the head (nvmeXnY).
		case strings.HasPrefix(name, "nvme"):
			d.nvme = s.readNVMe(d, real, dev)
		}
	} else if strings.HasPrefix(name, "nvme") && has["nsid"] {
		// A native-multipath head without a device link on some kernels.
		d.physical = true
		d.nvme = s.readNVMe(d, real, filepath.Dir(real))
	}
	// Gone while we read it: what was read may be half of it.
	if _, err := os.Lstat(base); errors.Is(err, fs.ErrNotExist) {
		d.vanished = true
	}
	return d
}

func (d *blockDev) note(err error) {
	if err != nil {
		d.errs = append(d.errs, err)
	}
}

// listNames lists a directory's entry names; a missing directory is empty.
func listNames(dir string) []string {
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Name()
	}
	return out
}
