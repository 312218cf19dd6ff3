// Command hostscan prints one host storage scan as JSON. It exists to time
// the scan as a whole process next to `lsblk -J -O` (docs/benchmarks-hoststorage.md);
// users run `vmstor scan`.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/vmstor/vmstor/hoststorage"
)

func main() {
	sys := flag.String("sysfs", "/sys", "sysfs root")
	proc := flag.String("procfs", "/proc", "procfs root")
	dev := flag.String("devfs", "/dev", "dev root")
	query := flag.Bool("query", true, "open devices for INQUIRY and statfs mounts (off for a support bundle)")
	flag.Parse()
	fs, err := hoststorage.New(hoststorage.Options{SysRoot: *sys, ProcRoot: *proc, DevRoot: *dev, QueryDevices: *query})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	inv, err := fs.Scan(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	e := json.NewEncoder(os.Stdout)
	e.SetIndent("", "  ")
	if err := e.Encode(inv); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
