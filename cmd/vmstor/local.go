package main

import (
	"github.com/vmstor/vmstor/array"
	"github.com/vmstor/vmstor/hoststorage"
	"github.com/vmstor/vmstor/scan"
)

// linuxStorage reads a Linux host's storage: this host's, or a support
// bundle's copy of /sys and /proc (then no device is opened).
func linuxStorage(h HostFlags) (scan.Source, scan.Locator, error) {
	fs, err := hoststorage.New(hoststorage.Options{
		SysRoot:        h.Sysfs,
		ProcRoot:       h.Procfs,
		QueryDevices:   !h.bundle(),
		InquiryTimeout: h.InquiryTimeout,
		VendorPages:    array.VendorPages,
	})
	if err != nil {
		return nil, nil, err
	}
	return fs, fs, nil
}
