// Package hoststorage reads a Linux host's storage from sysfs and procfs:
// every block device and the layers above it (partitions, device-mapper,
// md, loop), every mounted filesystem, and the LUNs beneath them with their
// identity from the devices themselves (SCSI VPD pages, NVMe identify data
// the kernel exposes) and every path to each. It implements scan.Source and
// scan.Locator.
//
// Discovery is read-only: it reads sysfs and procfs; only with
// Options.QueryDevices does it open a device, O_RDONLY|O_NONBLOCK, to send a
// SCSI INQUIRY for a VPD page sysfs does not have, with a timeout.
package hoststorage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/scsi"
)

// Options configure an FS.
type Options struct {
	SysRoot, ProcRoot, DevRoot string // default "/sys", "/proc", "/dev"
	Hostname                   string // default os.Hostname()
	// QueryDevices allows opening devices (SG_IO INQUIRY for VPD pages
	// sysfs lacks) and statfs of mount points. False for a support bundle
	// (--sysfs/--procfs): then nothing outside the roots is touched.
	QueryDevices   bool
	InquiryTimeout time.Duration // default 5s; also bounds each statfs
	Parallel       int           // bound on concurrent device reads and queries, default 8
	// VendorPages, when set, names vendor VPD pages to read for a LUN
	// into model.LUN.VendorVPD (the array package decodes them).
	VendorPages func(vendor, product string) []uint8
}

// FS reads one host's storage under its roots.
type FS struct {
	opts Options
	src  string // ScanError source: "linux:<hostname>"

	// inquiry and statfs are the device and filesystem queries; tests
	// replace them (a device that lies or hangs, a hung NFS server).
	inquiry func(ctx context.Context, device string, evpd bool, page uint8, timeout time.Duration) ([]byte, error)
	statfs  func(path string) (size, free uint64, err error)
	// beforeDevice, when set, runs after /sys/block is listed and before a
	// device is read: tests make a device vanish mid-scan with it.
	beforeDevice func(name string)

	mu     sync.Mutex
	mounts []Mount // last parsed mountinfo, for Locate
}

// New returns an FS over the given roots.
func New(opts Options) (*FS, error) {
	if opts.SysRoot == "" {
		opts.SysRoot = "/sys"
	}
	if opts.ProcRoot == "" {
		opts.ProcRoot = "/proc"
	}
	if opts.DevRoot == "" {
		opts.DevRoot = "/dev"
	}
	if opts.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("hoststorage: hostname: %w (set Options.Hostname)", err)
		}
		opts.Hostname = h
	}
	if opts.InquiryTimeout <= 0 {
		opts.InquiryTimeout = 5 * time.Second
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 8
	}
	if st, err := os.Stat(filepath.Join(opts.SysRoot, "block")); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("hoststorage: %s is not a sysfs root (no block/ directory): %w", opts.SysRoot, errors.Join(err, os.ErrNotExist))
	}
	return &FS{
		opts:    opts,
		src:     "linux:" + opts.Hostname,
		inquiry: scsi.Inquiry,
		statfs:  statfs,
	}, nil
}

// Name is "linux:<hostname>".
func (fs *FS) Name() string { return fs.src }

// Scan reads every block device, LUN and mounted filesystem. Failures of
// single objects are in the inventory's Errors; the error return is for a
// host that cannot be read at all.
func (fs *FS) Scan(ctx context.Context) (*model.Inventory, error) {
	start := time.Now()
	s := &scanner{fs: fs, ctx: ctx}
	if err := s.run(); err != nil {
		return nil, err
	}
	inv := &model.Inventory{
		Version:         model.SchemaVersion,
		ScannedAt:       start.UTC(),
		Sources:         []string{fs.src},
		Resources:       s.resources,
		LUNs:            s.luns,
		Errors:          s.errs,
		DurationSeconds: time.Since(start).Seconds(),
	}
	if inv.LUNs == nil {
		inv.LUNs = []model.LUN{}
	}
	if inv.VMs == nil {
		inv.VMs = []model.VM{}
	}
	return inv, nil
}
