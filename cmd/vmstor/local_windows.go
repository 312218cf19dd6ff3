//go:build windows

package main

import (
	winstorage "github.com/vmstor/vmstor/hoststorage/windows"
	"github.com/vmstor/vmstor/scan"
	"github.com/vmstor/vmstor/vms/hyperv"
)

// localStorage is phase 2 on this Windows host: disks, volumes and shares
// from WMI and the IOCTL API. Support bundles of Linux hosts are read with
// the Linux reader.
func localStorage(h HostFlags) (scan.Source, scan.Locator, error) {
	if h.bundle() {
		return linuxStorage(h)
	}
	fs := winstorage.New()
	return fs, fs, nil
}

// defaultHyperV scans this host's Hyper-V when no source is named.
func defaultHyperV() scan.Source { return hyperv.New() }
