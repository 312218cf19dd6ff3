//go:build !unix

package vsphere

import "time"

func cpuTime() time.Duration { return 0 }

func procCPUTime(int) time.Duration { return 0 }
