package scsi

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sgIO is the SG_IO ioctl request (include/scsi/sg.h).
const sgIO = 0x2285

// sgIOHdr mirrors struct sg_io_hdr from include/scsi/sg.h; x/sys/unix does
// not define it. Go lays it out as C does: 88 bytes on 64-bit Linux (a test
// checks each offset). Pointers are unsafe.Pointer so the garbage collector
// keeps the buffers alive while the header is.
type sgIOHdr struct {
	interfaceID    int32          // 'S'
	dxferDirection int32          // SG_DXFER_FROM_DEV = -3
	cmdLen         uint8          // CDB length
	mxSbLen        uint8          // sense buffer size
	iovecCount     uint16         // 0: dxferp is a plain buffer
	dxferLen       uint32         // data buffer size
	dxferp         unsafe.Pointer // data buffer
	cmdp           unsafe.Pointer // CDB
	sbp            unsafe.Pointer // sense buffer
	timeout        uint32         // milliseconds, enforced by the kernel once the command is queued
	flags          uint32
	packID         int32
	usrPtr         unsafe.Pointer
	status         uint8 // SCSI status
	maskedStatus   uint8
	msgStatus      uint8
	sbLenWr        uint8 // sense bytes written
	hostStatus     uint16
	driverStatus   uint16
	resid          int32 // dxferLen minus bytes actually transferred
	duration       uint32
	info           uint32
}

const (
	sgDxferFromDev = -3
	sgInfoOKMask   = 0x1
	driverSense    = 0x08 // DRIVER_SENSE in driverStatus: sense data is valid, not a failure by itself
)

// sgOps are the system calls Inquiry makes; tests replace them to make a
// device hang or fail without a real device.
type sgOps struct {
	open  func(path string) (int, error)
	ioctl func(fd int, hdr *sgIOHdr) error
	close func(fd int) error
}

var defaultOps = sgOps{
	// Read-only and non-blocking: discovery never writes, and O_NONBLOCK
	// keeps the open itself from waiting on a removable or reserved device.
	open: func(path string) (int, error) {
		return unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	},
	ioctl: func(fd int, hdr *sgIOHdr) error {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), sgIO, uintptr(unsafe.Pointer(hdr)))
		runtime.KeepAlive(hdr)
		if e != 0 {
			return e
		}
		return nil
	},
	close: unix.Close,
}

// Inquiry sends one INQUIRY to device ("sdc" or "/dev/sdc") through SG_IO
// and returns the data the device sent: standard INQUIRY data when evpd is
// false, else VPD page page. The device is opened O_RDONLY|O_NONBLOCK and
// only INQUIRY is sent. The call returns within timeout (or when ctx ends)
// even if the device never answers: the kernel aborts the command after
// timeout, and a goroutine left behind in a stuck open or ioctl closes its
// descriptor when the kernel lets it go.
func Inquiry(ctx context.Context, device string, evpd bool, page uint8, timeout time.Duration) ([]byte, error) {
	return inquiry(ctx, defaultOps, device, evpd, page, timeout)
}

func inquiry(ctx context.Context, ops sgOps, device string, evpd bool, page uint8, timeout time.Duration) ([]byte, error) {
	path := device
	if !filepath.IsAbs(path) {
		path = "/dev/" + device
	}
	what := "standard inquiry"
	if evpd {
		what = fmt.Sprintf("inquiry vpd page 0x%02x", page)
	}
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1) // buffered: a late answer must not block the goroutine
	go func() {
		b, err := inquirySync(ops, path, evpd, page, timeout)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("%s %s: %w", what, path, r.err)
		}
		return r.b, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%s %s: no answer in %v: %w (%w)", what, path, timeout, ErrTimeout, ctx.Err())
	}
}

func inquirySync(ops sgOps, path string, evpd bool, page uint8, timeout time.Duration) ([]byte, error) {
	fd, err := ops.open(path)
	if err != nil {
		return nil, fmt.Errorf("open read-only: %w", err)
	}
	defer ops.close(fd)

	// 255 bytes first: some old devices reject larger allocation lengths.
	// A VPD page whose header announces more is asked again at its size.
	b, err := sgInquiry(ops, fd, evpd, page, 255, timeout)
	if err != nil {
		return nil, err
	}
	if !evpd {
		// Byte 4 is the additional length; QEMU and others pad the
		// transfer with zeroes up to the allocation length.
		if len(b) >= 5 && 5+int(b[4]) < len(b) {
			b = b[:5+int(b[4])]
		}
		return b, nil
	}
	if len(b) < 4 {
		return b, nil
	}
	need := 4 + int(binary.BigEndian.Uint16(b[2:4]))
	if need > len(b) && len(b) == 255 {
		if b, err = sgInquiry(ops, fd, evpd, page, min(need, 0xfffc), timeout); err != nil {
			return nil, err
		}
	}
	if need < len(b) {
		b = b[:need]
	}
	return b, nil
}

func sgInquiry(ops sgOps, fd int, evpd bool, page uint8, alloc int, timeout time.Duration) ([]byte, error) {
	cdb := make([]byte, 6)
	cdb[0] = 0x12 // INQUIRY
	if evpd {
		cdb[1] = 1
		cdb[2] = page
	}
	binary.BigEndian.PutUint16(cdb[3:5], uint16(alloc))
	buf := make([]byte, alloc)
	sense := make([]byte, 32)
	hdr := &sgIOHdr{
		interfaceID:    'S',
		dxferDirection: sgDxferFromDev,
		cmdLen:         uint8(len(cdb)),
		mxSbLen:        uint8(len(sense)),
		dxferLen:       uint32(alloc),
		dxferp:         unsafe.Pointer(&buf[0]),
		cmdp:           unsafe.Pointer(&cdb[0]),
		sbp:            unsafe.Pointer(&sense[0]),
		timeout:        uint32(timeout.Milliseconds()),
	}
	err := ops.ioctl(fd, hdr)
	runtime.KeepAlive(buf)
	runtime.KeepAlive(cdb)
	runtime.KeepAlive(sense)
	if err != nil {
		return nil, fmt.Errorf("SG_IO: %w", err)
	}
	if hdr.info&sgInfoOKMask != 0 || hdr.status != 0 || hdr.hostStatus != 0 || hdr.driverStatus&^driverSense != 0 {
		msg := fmt.Sprintf("device refused: scsi status 0x%02x, host status 0x%x, driver status 0x%x", hdr.status, hdr.hostStatus, hdr.driverStatus)
		if n := int(hdr.sbLenWr); n >= 14 && n <= len(sense) {
			msg += fmt.Sprintf(", sense key 0x%x asc 0x%02x ascq 0x%02x", senseKey(sense), asc(sense), ascq(sense))
			if hdr.status == 0x02 && senseKey(sense) == 0x5 {
				return nil, fmt.Errorf("%s: %w", msg, ErrNotSupported)
			}
		}
		return nil, fmt.Errorf("%s", msg)
	}
	n := alloc - int(hdr.resid)
	if n < 0 || n > alloc {
		n = alloc
	}
	return buf[:n], nil
}

// Sense data: fixed format (0x70/0x71) or descriptor format (0x72/0x73).
func senseKey(s []byte) byte {
	if s[0]&0x7f >= 0x72 {
		return s[1] & 0xf
	}
	return s[2] & 0xf
}
func asc(s []byte) byte {
	if s[0]&0x7f >= 0x72 {
		return s[2]
	}
	return s[12]
}
func ascq(s []byte) byte {
	if s[0]&0x7f >= 0x72 {
		return s[3]
	}
	return s[13]
}
