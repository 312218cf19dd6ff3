//go:build linux

package nvme

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// adminCmd is struct nvme_admin_cmd (= nvme_passthru_cmd) of
// <linux/nvme_ioctl.h>: 72 bytes.
type adminCmd struct {
	opcode      uint8
	flags       uint8
	rsvd1       uint16
	nsid        uint32
	cdw2        uint32
	cdw3        uint32
	metadata    uint64
	addr        uint64
	metadataLen uint32
	dataLen     uint32
	cdw10       uint32
	cdw11       uint32
	cdw12       uint32
	cdw13       uint32
	cdw14       uint32
	cdw15       uint32
	timeoutMS   uint32
	result      uint32
}

const (
	// _IOWR('N', 0x41, struct nvme_admin_cmd)
	ioctlAdminCmd = 0xc0484e41
	// _IO('N', 0x40): the namespace id of a namespace device
	ioctlID = 0x4e40

	opGetLogPage = 0x02
	opIdentify   = 0x06

	// defaultTimeout bounds one admin command when ctx has no deadline.
	defaultTimeout = 5 * time.Second
)

var _ [72]byte = [unsafe.Sizeof(adminCmd{})]byte{}

// Device is an NVMe namespace block device opened read-only.
type Device struct {
	f    *os.File
	nsid uint32
}

// Open opens a namespace device (/dev/nvme0n1) read-only and learns its
// namespace id. Admin commands through a read-only descriptor need
// CAP_SYS_ADMIN; the kernel refuses them otherwise.
func Open(path string) (*Device, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	nsid, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), ioctlID, 0)
	if errno != 0 {
		f.Close()
		return nil, fmt.Errorf("%s: NVME_IOCTL_ID: %w", path, errno)
	}
	return &Device{f: f, nsid: uint32(nsid)}, nil
}

// Close closes the device.
func (d *Device) Close() error { return d.f.Close() }

// NSID is the namespace id.
func (d *Device) NSID() uint32 { return d.nsid }

// GetLogPage reads n bytes (a multiple of 4) of log page lid with
// log-specific parameter lsp for this namespace.
func (d *Device) GetLogPage(ctx context.Context, lid, lsp uint8, n int) ([]byte, error) {
	if n <= 0 || n%4 != 0 {
		return nil, fmt.Errorf("%s: log page length %d is not a positive multiple of 4", d.f.Name(), n)
	}
	numd := uint32(n/4 - 1)
	cmd := adminCmd{
		opcode: opGetLogPage,
		nsid:   d.nsid,
		cdw10:  uint32(lid) | uint32(lsp&0x7f)<<8 | (numd&0xffff)<<16,
		cdw11:  numd >> 16,
	}
	buf, err := d.admin(ctx, &cmd, n)
	if err != nil {
		return nil, fmt.Errorf("%s: get log page 0x%02x lsp %d: %w", d.f.Name(), lid, lsp, err)
	}
	return buf, nil
}

// Identify reads identify data structure cns (0 namespace, 1 controller).
func (d *Device) Identify(ctx context.Context, cns uint8) ([]byte, error) {
	cmd := adminCmd{opcode: opIdentify, cdw10: uint32(cns)}
	if cns == 0 {
		cmd.nsid = d.nsid
	}
	buf, err := d.admin(ctx, &cmd, 4096)
	if err != nil {
		return nil, fmt.Errorf("%s: identify cns %d: %w", d.f.Name(), cns, err)
	}
	return buf, nil
}

// admin issues one data-in admin command. The kernel enforces timeoutMS;
// ctx's deadline sets it.
func (d *Device) admin(ctx context.Context, cmd *adminCmd, n int) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	timeout := defaultTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	buf := make([]byte, n)
	cmd.addr = uint64(uintptr(unsafe.Pointer(&buf[0])))
	cmd.dataLen = uint32(n)
	cmd.timeoutMS = uint32(timeout / time.Millisecond)
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, d.f.Fd(), ioctlAdminCmd, uintptr(unsafe.Pointer(cmd)))
	runtime.KeepAlive(buf)
	runtime.KeepAlive(cmd)
	if errno != 0 {
		return nil, errno
	}
	if r != 0 {
		// A positive return is the NVMe completion status: the device
		// refused the command (e.g. an unsupported log page).
		return nil, &StatusError{Status: uint16(r)}
	}
	return buf, nil
}
