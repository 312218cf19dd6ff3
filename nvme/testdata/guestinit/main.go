//go:build linux

// guestinit is PID 1 of the NVMe pass-through test guest (see
// qemu_linux_test.go): it loads the NVMe driver, runs the package's
// read-only admin commands against QEMU's emulated controller and prints
// the results on the console, then powers the guest off.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/vmstor/vmstor/nvme"
	"golang.org/x/sys/unix"
)

func say(format string, args ...any) { fmt.Printf("VMSTOR "+format+"\n", args...) }

func main() {
	defer func() {
		fmt.Println("VMSTOR-DONE")
		unix.Sync()
		unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	}()
	os.MkdirAll("/dev", 0o755)
	os.MkdirAll("/sys", 0o755)
	if err := unix.Mount("devtmpfs", "/dev", "devtmpfs", 0, ""); err != nil {
		say("error=mount-dev:%v", err)
		return
	}
	unix.Mount("sysfs", "/sys", "sysfs", 0, "")
	for _, m := range strings.Split(os.Getenv("VMSTOR_MODULES"), ",") {
		if m == "" {
			continue
		}
		f, err := os.Open("/" + m)
		if err != nil {
			say("error=open-module:%v", err)
			return
		}
		if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil && !errors.Is(err, unix.EEXIST) {
			say("error=load-%s:%v", m, err)
			return
		}
		f.Close()
	}
	dev := "/dev/nvme0n1"
	for i := 0; i < 200; i++ {
		if _, err := os.Stat(dev); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, err := nvme.Open(dev)
	if err != nil {
		say("error=open:%v", err)
		return
	}
	defer d.Close()
	say("nsid=%d", d.NSID())
	ctrl, err := d.Identify(ctx, 1)
	if err != nil {
		say("error=identify-ctrl:%v", err)
		return
	}
	say("serial=%s", strings.TrimSpace(string(ctrl[4:24])))
	say("model=%s", strings.TrimSpace(string(ctrl[24:64])))
	ns, err := d.Identify(ctx, 0)
	if err != nil {
		say("error=identify-ns:%v", err)
		return
	}
	say("nsze=%d", binary.LittleEndian.Uint64(ns[0:8]))
	// SMART / health log (0x02, 512 bytes): a standard page every
	// controller has, to prove the get-log-page encoding.
	smart, err := d.GetLogPage(ctx, 0x02, 0, 512)
	if err != nil {
		say("error=smart:%v", err)
		return
	}
	// Composite temperature (bytes 1-2, kelvin) is never 0 on QEMU.
	say("smart_temp_k=%d", binary.LittleEndian.Uint16(smart[1:3]))
	_, err = nvme.ReadONTAP(ctx, dev)
	var se *nvme.StatusError
	switch {
	case errors.As(err, &se):
		say("ontap_status=0x%03x", se.Status)
	case err != nil:
		say("ontap_err=%v", err)
	default:
		say("ontap_err=none")
	}
}
