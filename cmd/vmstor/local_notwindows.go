//go:build !windows

package main

import "github.com/vmstor/vmstor/scan"

// localStorage is phase 2 on this host. Off Linux it still reads support
// bundles of Linux hosts.
func localStorage(h HostFlags) (scan.Source, scan.Locator, error) { return linuxStorage(h) }

// defaultHyperV is the Hyper-V source scanned when no source is named: none
// off Windows.
func defaultHyperV() scan.Source { return nil }
