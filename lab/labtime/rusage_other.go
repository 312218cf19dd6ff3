//go:build !linux

package main

import "os"

// maxRSS is not measured off Linux (the lab guest is Linux).
func maxRSS(*os.ProcessState) int64 { return 0 }
