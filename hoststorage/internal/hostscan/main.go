// Command hostscan prints one host storage scan as JSON. It exists to time
// the scan as a whole process next to `lsblk -J -O`
// (docs/benchmarks-hoststorage.md) and to check SG_IO on a real kernel
// (-inquiry); users run `vmstor scan`.
package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/vmstor/vmstor/hoststorage"
	"github.com/vmstor/vmstor/scsi"
)

func main() {
	sys := flag.String("sysfs", "/sys", "sysfs root")
	proc := flag.String("procfs", "/proc", "procfs root")
	dev := flag.String("devfs", "/dev", "dev root")
	query := flag.Bool("query", true, "open devices for INQUIRY and statfs mounts (off for a support bundle)")
	inq := flag.String("inquiry", "", "instead of a scan, send INQUIRY (standard, VPD 0x80, 0x83) to this device and print the decoded answers")
	flag.Parse()
	if *inq != "" {
		os.Exit(inquiry(*inq))
	}
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

func inquiry(dev string) int {
	ctx := context.Background()
	rc := 0
	std, err := scsi.Inquiry(ctx, dev, false, 0, 5*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	s, err := scsi.ParseStdInquiry(std)
	fmt.Printf("std %s\nstd.decoded %+v %v\n", hex.EncodeToString(std), s, err)
	for _, p := range []uint8{0x80, 0x83} {
		b, err := scsi.Inquiry(ctx, dev, true, p, 5*time.Second)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			rc = 1
			continue
		}
		fmt.Printf("vpd%02x %s\n", p, hex.EncodeToString(b))
		if p == 0x80 {
			sn, err := scsi.ParseVPD80(b)
			fmt.Printf("vpd80.serial %q %v\n", sn, err)
		} else {
			ds, err := scsi.ParseVPD83(b)
			fmt.Printf("vpd83.lunid %s %v\n", scsi.LUNID(ds), err)
		}
	}
	return rc
}
