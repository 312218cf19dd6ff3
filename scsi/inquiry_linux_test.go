package scsi

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"
)

// TestSGIOHdrLayout checks the struct against include/scsi/sg.h on 64-bit Linux.
func TestSGIOHdrLayout(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("offsets below are for 64-bit Linux")
	}
	var h sgIOHdr
	got := map[string]uintptr{
		"size":            unsafe.Sizeof(h),
		"interface_id":    unsafe.Offsetof(h.interfaceID),
		"dxfer_direction": unsafe.Offsetof(h.dxferDirection),
		"cmd_len":         unsafe.Offsetof(h.cmdLen),
		"mx_sb_len":       unsafe.Offsetof(h.mxSbLen),
		"iovec_count":     unsafe.Offsetof(h.iovecCount),
		"dxfer_len":       unsafe.Offsetof(h.dxferLen),
		"dxferp":          unsafe.Offsetof(h.dxferp),
		"cmdp":            unsafe.Offsetof(h.cmdp),
		"sbp":             unsafe.Offsetof(h.sbp),
		"timeout":         unsafe.Offsetof(h.timeout),
		"flags":           unsafe.Offsetof(h.flags),
		"pack_id":         unsafe.Offsetof(h.packID),
		"usr_ptr":         unsafe.Offsetof(h.usrPtr),
		"status":          unsafe.Offsetof(h.status),
		"masked_status":   unsafe.Offsetof(h.maskedStatus),
		"msg_status":      unsafe.Offsetof(h.msgStatus),
		"sb_len_wr":       unsafe.Offsetof(h.sbLenWr),
		"host_status":     unsafe.Offsetof(h.hostStatus),
		"driver_status":   unsafe.Offsetof(h.driverStatus),
		"resid":           unsafe.Offsetof(h.resid),
		"duration":        unsafe.Offsetof(h.duration),
		"info":            unsafe.Offsetof(h.info),
	}
	want := map[string]uintptr{
		"size": 88, "interface_id": 0, "dxfer_direction": 4, "cmd_len": 8, "mx_sb_len": 9,
		"iovec_count": 10, "dxfer_len": 12, "dxferp": 16, "cmdp": 24, "sbp": 32, "timeout": 40,
		"flags": 44, "pack_id": 48, "usr_ptr": 56, "status": 64, "masked_status": 65,
		"msg_status": 66, "sb_len_wr": 67, "host_status": 68, "driver_status": 70, "resid": 72,
		"duration": 76, "info": 80,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sg_io_hdr layout (-want +got):\n%s", diff)
	}
}

// fakeDevice answers INQUIRY like a device would, from the CDB it is sent.
type fakeDevice struct {
	mu      sync.Mutex // a timed-out call's goroutine may still run
	std     []byte
	pages   map[byte][]byte
	cdbs    [][]byte
	opened  string
	closed  bool
	block   chan struct{} // when set, ioctl waits on it
	refuse  bool
	openErr error
}

func (d *fakeDevice) ops() sgOps {
	return sgOps{
		open: func(p string) (int, error) {
			d.mu.Lock()
			defer d.mu.Unlock()
			d.opened = p
			return 3, d.openErr
		},
		ioctl: func(fd int, h *sgIOHdr) error {
			if d.block != nil {
				<-d.block
			}
			d.mu.Lock()
			defer d.mu.Unlock()
			cdb := unsafe.Slice((*byte)(h.cmdp), h.cmdLen)
			d.cdbs = append(d.cdbs, append([]byte(nil), cdb...))
			if d.refuse {
				h.status = 0x02 // CHECK CONDITION
				sense := unsafe.Slice((*byte)(h.sbp), h.mxSbLen)
				sense[0], sense[2], sense[12] = 0x70, 0x05, 0x24 // ILLEGAL REQUEST, INVALID FIELD IN CDB
				h.sbLenWr = 18
				return nil
			}
			data := d.std
			if cdb[1]&1 != 0 {
				data = d.pages[cdb[2]]
			}
			alloc := int(binary.BigEndian.Uint16(cdb[3:5]))
			buf := unsafe.Slice((*byte)(h.dxferp), h.dxferLen)
			n := copy(buf[:alloc], data)
			h.resid = int32(int(h.dxferLen) - n)
			return nil
		},
		close: func(int) error { d.mu.Lock(); d.closed = true; d.mu.Unlock(); return nil },
	}
}

func TestInquiry(t *testing.T) {
	std := append(make([]byte, 8), "NETAPP  LUN C-Mode      9800"...)
	std[4] = 31 // additional length: 36 bytes in all
	big := make([]byte, 4+300)
	big[1], big[2], big[3] = 0x83, 0x01, 0x2c // 300 bytes of descriptors
	for i := 4; i < len(big); i += 12 {
		copy(big[i:], []byte{0x01, 0x03, 0, 8, 0x50, 0, 0, 0, 0, 0, 0, byte(i)})
	}
	d := &fakeDevice{std: std, pages: map[byte][]byte{0x80: append([]byte{0, 0x80, 0, 3}, "abc"...), 0x83: big}}

	got, err := inquiry(context.Background(), d.ops(), "sdc", false, 0, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(std, got); diff != "" {
		t.Errorf("standard inquiry (-want +got):\n%s", diff)
	}
	if d.opened != "/dev/sdc" || !d.closed {
		t.Errorf("opened %q closed %v, want /dev/sdc opened and closed", d.opened, d.closed)
	}
	if diff := cmp.Diff([]byte{0x12, 0, 0, 0, 0xff, 0}, d.cdbs[0]); diff != "" {
		t.Errorf("CDB (-want +got):\n%s", diff)
	}

	d.cdbs = nil
	got, err = inquiry(context.Background(), d.ops(), "/dev/sdc", true, 0x83, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(big, got); diff != "" {
		t.Errorf("long page 0x83 (-want +got):\n%s", diff)
	}
	// 255 bytes first, then the size the page header announced.
	want := [][]byte{{0x12, 1, 0x83, 0, 0xff, 0}, {0x12, 1, 0x83, 0x01, 0x30, 0}}
	if diff := cmp.Diff(want, d.cdbs); diff != "" {
		t.Errorf("CDBs (-want +got):\n%s", diff)
	}
}

// TestInquiryPadded: a device that fills the whole allocation (QEMU does,
// seen in the SAN lab) gives the page as long as its header says.
func TestInquiryPadded(t *testing.T) {
	std := append(append([]byte{0, 0, 5, 0x12, 31, 0, 0, 0x12}, "NETAPP  LUN C-Mode      2.5+"...), make([]byte, 200)...)
	p83 := append([]byte{0, 0x83, 0, 12, 1, 3, 0, 8, 0x60, 0x0a, 0x09, 0x80, 0x38, 0x30, 0x30, 0x53}, make([]byte, 239)...)
	d := &fakeDevice{std: std, pages: map[byte][]byte{0x83: p83}}
	got, err := inquiry(context.Background(), d.ops(), "sdb", false, 0, time.Second)
	if err != nil || len(got) != 36 {
		t.Errorf("standard inquiry: %d bytes, %v; want 36 (5 + additional length 31)", len(got), err)
	}
	got, err = inquiry(context.Background(), d.ops(), "sdb", true, 0x83, time.Second)
	if err != nil || len(got) != 16 {
		t.Errorf("page 0x83: %d bytes, %v; want 16 (4 + page length 12)", len(got), err)
	}
}

func TestInquiryRefused(t *testing.T) {
	d := &fakeDevice{refuse: true}
	_, err := inquiry(context.Background(), d.ops(), "sdx", true, 0xc0, time.Second)
	if err == nil || !strings.Contains(err.Error(), "inquiry vpd page 0xc0 /dev/sdx: device refused: scsi status 0x02") ||
		!strings.Contains(err.Error(), "sense key 0x5 asc 0x24") || !errors.Is(err, ErrNotSupported) {
		t.Errorf("error = %v, want a refusal naming page, device and sense, wrapping ErrNotSupported", err)
	}
	d = &fakeDevice{openErr: syscall.ENOENT}
	_, err = inquiry(context.Background(), d.ops(), "sdgone", false, 0, time.Second)
	if !errors.Is(err, syscall.ENOENT) || !strings.Contains(err.Error(), "open read-only") {
		t.Errorf("error = %v, want a wrapped ENOENT from open", err)
	}
}

// TestInquiryTimeout: a device whose ioctl never returns must not hold the caller.
func TestInquiryTimeout(t *testing.T) {
	d := &fakeDevice{block: make(chan struct{})}
	defer close(d.block)
	done := make(chan error, 1)
	go func() {
		_, err := inquiry(context.Background(), d.ops(), "sdhung", true, 0x83, 50*time.Millisecond)
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error = %v, want ErrTimeout wrapping DeadlineExceeded", err)
		}
		if !strings.Contains(err.Error(), "/dev/sdhung") {
			t.Errorf("error %q does not name the device", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("inquiry on a hung device did not return")
	}
	// A cancelled context ends the wait as well.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := inquiry(ctx, d.ops(), "sdhung", false, 0, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}

// TestInquiryRealDevice runs against whatever SCSI disk the machine has (the SAN lab's guest).
func TestInquiryRealDevice(t *testing.T) {
	_, err := Inquiry(context.Background(), "/dev/sda", true, 0x83, 5*time.Second)
	if err != nil {
		t.Skipf("no SCSI device /dev/sda here: %v", err)
	}
	b, _ := Inquiry(context.Background(), "/dev/sda", true, 0x83, 5*time.Second)
	if _, err := ParseVPD83(b); err != nil {
		t.Errorf("page 0x83 from /dev/sda: %v", err)
	}
}

// TestInquiryNonSCSIDevice sends a real SG_IO to this machine's non-SCSI
// block devices (loop, zram): the kernel must refuse it quickly with an
// errno, through the real open and ioctl path.
func TestInquiryNonSCSIDevice(t *testing.T) {
	tried := 0
	for _, dev := range []string{"/dev/loop0", "/dev/zram0"} {
		if _, err := os.Stat(dev); err != nil {
			continue
		}
		tried++
		_, err := Inquiry(context.Background(), dev, true, 0x83, 2*time.Second)
		if err == nil {
			t.Errorf("%s answered an INQUIRY; it is no SCSI device", dev)
			continue
		}
		if errors.Is(err, ErrTimeout) || !(errors.Is(err, syscall.ENOTTY) || errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.ENXIO)) {
			t.Errorf("%s: %v, want a prompt ENOTTY/EINVAL/EPERM/ENXIO", dev, err)
		}
		if !strings.Contains(err.Error(), dev) {
			t.Errorf("error %q does not name %s", err, dev)
		}
	}
	if tried == 0 {
		t.Skip("no /dev/loop0 or /dev/zram0 here")
	}
}
