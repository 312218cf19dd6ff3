//go:build unix

package vsphere

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user + system) this process has used: the
// scanner's side only, since the benchmarks' simulator runs in a child.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
