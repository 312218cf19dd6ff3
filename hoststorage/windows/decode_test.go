package winstorage

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/scsi"
)

// readHex reads a testdata/*.hex fixture: hex bytes, '#' starts a comment.
func readHex(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		for _, f := range strings.Fields(line) {
			x, err := hex.DecodeString(f)
			if err != nil {
				t.Fatalf("%s: %q: %v", name, f, err)
			}
			out = append(out, x...)
		}
	}
	return out
}

func TestDecodeDeviceIDDescriptor(t *testing.T) {
	// The VPD 0x83 descriptors, written out from SPC-5 7.7.5: byte 0 code
	// set, byte 1 association<<4 | type, byte 3 length.
	netapp := "02 01 00 24" + hex.EncodeToString([]byte("NETAPP  LUN C-Mode      808E7+JR24n5")) +
		"01 03 00 10 600a098038303845372b4a5232346e35" +
		"01 14 00 04 00000001" +
		"01 15 00 04 000003e8"
	tests := []struct {
		file   string
		want   string
		lunID  string
		wantDs []model.Designator
	}{
		{"deviceid-netapp.hex", netapp, "naa.600a098038303845372b4a5232346e35", []model.Designator{
			{Association: "lun", Type: "t10", Value: "NETAPP  LUN C-Mode      808E7+JR24n5"},
			{Association: "lun", Type: "naa", Value: "600a098038303845372b4a5232346e35"},
			{Association: "target-port", Type: "relative-port", Value: "1"},
			{Association: "target-port", Type: "port-group", Value: "1000"},
		}},
		{"deviceid-pure.hex", "02 00 00 18" + hex.EncodeToString([]byte("PURE    FlashArray      ")) + "01 03 00 10 624a9370c2b0b8b4a9e54ab800011425",
			"naa.624a9370c2b0b8b4a9e54ab800011425", nil},
		{"deviceid-vendoronly.hex", "02 00 00 1b" + hex.EncodeToString([]byte("QEMU HARDDISK   drive-scsi0")), "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			got, err := DecodeDeviceIDDescriptor(readHex(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			want, _ := hex.DecodeString(strings.ReplaceAll(tc.want, " ", ""))
			if !bytes.Equal(got, want) {
				t.Errorf("descriptors:\n got %x\nwant %x", got, want)
			}
			ds, err := scsi.ParseDesignators(got)
			if err != nil {
				t.Fatal(err)
			}
			if id := scsi.LUNID(ds); id != tc.lunID {
				t.Errorf("LUNID = %q, want %q", id, tc.lunID)
			}
			if tc.wantDs != nil {
				if diff := cmp.Diff(tc.wantDs, ds); diff != "" {
					t.Errorf("designators (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestDecodeDeviceIDDescriptorErrors(t *testing.T) {
	good := readHex(t, "deviceid-netapp.hex")
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name    string
		in      []byte
		wantLen int // bytes of descriptors still decoded
		wantErr string
		short   bool
	}{
		{"empty", nil, 0, "header needs 12 bytes", true},
		{"buffer smaller than Size: what arrived is decoded", good[:12+52+32+5], 40 + 20, "Size says 140 bytes, buffer holds 101", true},
		{"Size below header", mod(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], 4); return b }), 0, "smaller than the header", false},
		{"more identifiers than bytes", mod(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[8:], 5); return b }), 40 + 20 + 8 + 8, "STORAGE_IDENTIFIER 4 at offset 120: NextOffset 0 points inside", false},
		{"more identifiers than bytes, chained", mod(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[8:], 5)
			binary.LittleEndian.PutUint16(b[12+52+32+24+10:], 20)
			return b
		}), 40 + 20 + 8 + 8, "STORAGE_IDENTIFIER 5 of 5 at offset 140", true},
		{"IdentifierSize overruns", mod(func(b []byte) []byte { binary.LittleEndian.PutUint16(b[12+52+8:], 300); return b }), 40, "IdentifierSize 300 overruns", true},
		{"NextOffset inside identifier", mod(func(b []byte) []byte { binary.LittleEndian.PutUint16(b[12+10:], 20); return b }), 40, "NextOffset 20 points inside", false},
		{"code set out of range", mod(func(b []byte) []byte { b[12] = 0x40; return b }), 0, "out of the SCSI range", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeDeviceIDDescriptor(tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if errors.Is(err, ErrShort) != tc.short {
				t.Errorf("errors.Is(err, ErrShort) = %v, want %v", !tc.short, tc.short)
			}
			if len(got) != tc.wantLen {
				t.Errorf("decoded %d bytes before the fault, want %d", len(got), tc.wantLen)
			}
		})
	}
}

func TestDecodeDeviceDescriptor(t *testing.T) {
	b := readHex(t, "devicedesc-netapp.hex")
	got, err := DecodeDeviceDescriptor(b)
	if err != nil {
		t.Fatal(err)
	}
	want := DeviceDescriptor{Vendor: "NETAPP", Product: "LUN C-Mode", Revision: "9800", Serial: "808E7+JR24n5", BusType: 6}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// A serial offset past the end is an error naming the field; the rest stays.
	bad := append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(bad[24:], 500)
	got, err = DecodeDeviceDescriptor(bad)
	if err == nil || !strings.Contains(err.Error(), "SerialNumberOffset 500") || got.Vendor != "NETAPP" || got.Serial != "" {
		t.Errorf("bad serial offset: %+v, %v", got, err)
	}
	if _, err := DecodeDeviceDescriptor(b[:20]); !errors.Is(err, ErrShort) {
		t.Errorf("short descriptor: err = %v, want ErrShort", err)
	}
}

func TestDecodeDiskExtents(t *testing.T) {
	b := readHex(t, "extents-spanned.hex")
	got, err := DecodeDiskExtents(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []DiskExtent{{2, 1 << 20, 0x3ff00000}, {3, 1 << 20, 0x1fff00000}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got, err = DecodeDiskExtents(b[:8+24+10])
	if !errors.Is(err, ErrShort) || len(got) != 1 || !strings.Contains(err.Error(), "extent 2 at offset 32") {
		t.Errorf("truncated: %v, %v", got, err)
	}
	if _, err := DecodeDiskExtents(b[:4]); !errors.Is(err, ErrShort) {
		t.Errorf("4 bytes: err = %v", err)
	}
}

func TestPropertyQuery(t *testing.T) {
	want := []byte{2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if got := propertyQuery(storageDeviceIDProperty); !bytes.Equal(got, want) {
		t.Errorf("STORAGE_PROPERTY_QUERY = %x, want %x", got, want)
	}
}

func FuzzDecodeDeviceIDDescriptor(f *testing.F) {
	for _, n := range []string{"deviceid-netapp.hex", "deviceid-pure.hex", "deviceid-vendoronly.hex"} {
		f.Add(readHex(f, n))
	}
	f.Add([]byte{16, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := DecodeDeviceIDDescriptor(b)
		// Whatever it returns must be a well-formed descriptor list.
		ds, perr := scsi.ParseDesignators(out)
		if perr != nil {
			t.Fatalf("decoder output is not a descriptor list: %v (input err %v)", perr, err)
		}
		if len(out) > 0 && len(ds) == 0 {
			t.Fatal("bytes without designators")
		}
	})
}

func FuzzDecodeDeviceDescriptor(f *testing.F) {
	f.Add(readHex(f, "devicedesc-netapp.hex"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, _ := DecodeDeviceDescriptor(b)
		for _, s := range []string{d.Vendor, d.Product, d.Revision, d.Serial} {
			if len(s) > len(b) {
				t.Fatalf("string %q longer than the input", s)
			}
		}
	})
}

func FuzzDecodeDiskExtents(f *testing.F) {
	f.Add(readHex(f, "extents-spanned.hex"))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		ext, err := DecodeDiskExtents(b)
		if 8+24*len(ext) > len(b) && len(ext) > 0 {
			t.Fatalf("%d extents from %d bytes", len(ext), len(b))
		}
		if err == nil && len(b) >= 4 && int(binary.LittleEndian.Uint32(b)) != len(ext) {
			t.Fatalf("no error but %d of %d extents", len(ext), binary.LittleEndian.Uint32(b))
		}
	})
}
