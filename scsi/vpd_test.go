package scsi

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmstor/vmstor/model"
)

// desc builds one identification descriptor as SPC lays it out.
func desc(proto, codeSet byte, piv bool, assoc, typ byte, v []byte) []byte {
	b1 := assoc<<4 | typ
	if piv {
		b1 |= 0x80
	}
	return append([]byte{proto<<4 | codeSet, b1, 0, byte(len(v))}, v...)
}

// page wraps descriptors in a VPD page header with the true length.
func page(code byte, descs ...[]byte) []byte {
	var body []byte
	for _, d := range descs {
		body = append(body, d...)
	}
	return append([]byte{0, code, byte(len(body) >> 8), byte(len(body))}, body...)
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseVPD83(t *testing.T) {
	naa6 := unhex(t, "600a098038303845372b4a5232346e35") // NetApp, serial 808E7+JR24n5
	naa5 := unhex(t, "5000c500a1b2c3d4")
	tests := []struct {
		name    string
		page    []byte
		want    []model.Designator
		wantErr string
	}{
		{
			name: "netapp iscsi",
			page: page(0x83,
				desc(0, 2, false, 0, 0, []byte("NETAPP  LUN 808E7+JR24n5")),
				desc(0, 1, false, 0, 3, naa6),
				desc(5, 1, true, 1, 4, []byte{0, 0, 0x03, 0xe9}),
				desc(5, 1, true, 1, 5, []byte{0, 0, 0x04, 0x01}),
				desc(5, 3, true, 2, 8, []byte("iqn.1992-08.com.netapp:sn.84165b2e\x00\x00")),
			),
			want: []model.Designator{
				{Association: "lun", Type: "vendor", Value: "NETAPP  LUN 808E7+JR24n5"},
				{Association: "lun", Type: "naa", Value: "600a098038303845372b4a5232346e35"},
				{Association: "target-port", Type: "relative-port", Protocol: "iscsi", Value: "1001"},
				{Association: "target-port", Type: "port-group", Protocol: "iscsi", Value: "1025"},
				{Association: "target-device", Type: "name", Protocol: "iscsi", Value: "iqn.1992-08.com.netapp:sn.84165b2e"},
			},
		},
		{
			name: "qemu scsi-hd with wwn",
			page: page(0x83,
				desc(0, 2, false, 0, 0, []byte("80Jz1?Vy7W4a")),
				desc(0, 1, false, 0, 3, unhex(t, "600a098038303053")),
			),
			want: []model.Designator{
				{Association: "lun", Type: "vendor", Value: "80Jz1?Vy7W4a"},
				{Association: "lun", Type: "naa", Value: "600a098038303053"},
			},
		},
		{
			name: "fc port designators and t10, eui64, uuid, md5, binary vendor",
			page: page(0x83,
				desc(0, 2, false, 0, 1, []byte("ATA     QEMU HARDDISK   QM00001 ")),
				desc(0, 1, false, 0, 2, unhex(t, "0025385b71b0a1b2")),
				desc(0, 1, true, 1, 3, naa5),
				desc(0, 1, false, 0, 0xa, unhex(t, "10 00 3f2504e0 4f89 11d3 9a0c 0305e82c3301")),
				desc(0, 1, false, 0, 7, unhex(t, "00112233445566778899aabbccddeeff")),
				desc(0, 1, false, 0, 0, []byte{0xde, 0xad}),
				desc(0, 1, false, 0, 6, []byte{0, 0, 0, 7}),
			),
			want: []model.Designator{
				{Association: "lun", Type: "t10", Value: "ATA     QEMU HARDDISK   QM00001 "},
				{Association: "lun", Type: "eui64", Value: "0025385b71b0a1b2"},
				{Association: "target-port", Type: "naa", Protocol: "fc", Value: "5000c500a1b2c3d4"},
				{Association: "lun", Type: "uuid", Value: "3f2504e0-4f89-11d3-9a0c-0305e82c3301"},
				{Association: "lun", Type: "md5", Value: "00112233445566778899aabbccddeeff"},
				{Association: "lun", Type: "vendor", Value: "dead"},
				{Association: "lun", Type: "lu-group", Value: "7"},
			},
		},
		{
			name: "piv without port association keeps no protocol; sas",
			page: page(0x83,
				desc(6, 1, true, 0, 3, naa5),
				desc(6, 1, true, 1, 3, naa5),
			),
			want: []model.Designator{
				{Association: "lun", Type: "naa", Value: "5000c500a1b2c3d4"},
				{Association: "target-port", Type: "naa", Protocol: "sas", Value: "5000c500a1b2c3d4"},
			},
		},
		{
			name:    "header claims more than present",
			page:    append([]byte{0, 0x83, 0, 200}, desc(0, 1, false, 0, 3, naa5)...),
			want:    []model.Designator{{Association: "lun", Type: "naa", Value: "5000c500a1b2c3d4"}},
			wantErr: "header says 200 bytes of descriptors at offset 4, only 12 present",
		},
		{
			name: "descriptor overruns the page",
			page: func() []byte {
				p := page(0x83, desc(0, 1, false, 0, 3, naa5), desc(0, 1, false, 0, 3, naa6))
				p[3+12+4] = 40 // second descriptor now claims 40 bytes, 16 remain
				return p
			}(),
			want:    []model.Designator{{Association: "lun", Type: "naa", Value: "5000c500a1b2c3d4"}},
			wantErr: "descriptor at offset 16: length 40 overruns the 16 bytes that remain",
		},
		{
			name:    "trailing partial header",
			page:    append(page(0x83, desc(0, 1, false, 0, 3, naa5)), 0, 0),
			want:    []model.Designator{{Association: "lun", Type: "naa", Value: "5000c500a1b2c3d4"}},
			wantErr: "", // the two bytes lie outside the page length: ignored
		},
		{
			name:    "wrong page code",
			page:    page(0x80),
			wantErr: "byte 1 is page code 0x80, not 0x83",
		},
		{
			name:    "too short for a header",
			page:    []byte{0, 0x83},
			wantErr: "header needs 4 bytes, got 2",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseVPD83(tt.page)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("designators (-want +got):\n%s", diff)
			}
			checkErr(t, err, tt.wantErr)
		})
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Errorf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Errorf("error %q does not contain %q", err, want)
	}
}

func TestParseDesignatorsOffsets(t *testing.T) {
	// Without the page header offsets count from the first descriptor.
	b := append(desc(0, 1, false, 0, 3, unhex(t, "5000c500a1b2c3d4")), 0, 0, 0)
	got, err := ParseDesignators(b)
	if len(got) != 1 {
		t.Fatalf("got %d designators, want 1", len(got))
	}
	checkErr(t, err, "descriptor at offset 12: header needs 4 bytes, 3 remain")
	if !errors.Is(err, ErrShort) {
		t.Errorf("error %v does not wrap ErrShort", err)
	}
}

func TestLUNID(t *testing.T) {
	lun := func(typ, v string) model.Designator { return model.Designator{Association: "lun", Type: typ, Value: v} }
	tests := []struct {
		name string
		ds   []model.Designator
		want string
	}{
		{"none", nil, ""},
		{"vendor only (qemu without wwn)", []model.Designator{lun("vendor", "abc")}, ""},
		{"naa6 beats naa5 and t10", []model.Designator{lun("t10", "X"), lun("naa", "5000c500a1b2c3d4"), lun("naa", "600a098038303845372b4a5232346e35")}, "naa.600a098038303845372b4a5232346e35"},
		{"name beats naa6", []model.Designator{lun("naa", "600a098038303845372b4a5232346e35"), lun("name", "eui.0123456789abcdef")}, "eui.0123456789abcdef"},
		{"eui16 beats naa5", []model.Designator{lun("naa", "5000c500a1b2c3d4"), lun("eui64", "00112233445566778899aabbccddeeff")}, "eui.00112233445566778899aabbccddeeff"},
		{"eui12 beats naa5", []model.Designator{lun("eui64", "001122334455667788990011"), lun("naa", "5000c500a1b2c3d4")}, "eui.001122334455667788990011"},
		{"naa5 beats eui8", []model.Designator{lun("naa", "5000c500a1b2c3d4"), lun("eui64", "0025385b71b0a1b2")}, "naa.5000c500a1b2c3d4"},
		{"naa2 beats eui8", []model.Designator{lun("eui64", "0025385b71b0a1b2"), lun("naa", "2000001b32a1b2c3")}, "naa.2000001b32a1b2c3"},
		{"eui8 beats t10", []model.Designator{lun("t10", "ATA     X"), lun("eui64", "0025385b71b0a1b2")}, "eui.0025385b71b0a1b2"},
		{"t10 alone keeps its spaces", []model.Designator{lun("t10", "ATA     QEMU HARDDISK   QM00001 ")}, "t10.ATA     QEMU HARDDISK   QM00001 "},
		{"port association ignored", []model.Designator{{Association: "target-port", Type: "naa", Value: "600a098038303845372b4a5232346e35"}, lun("naa", "5000c500a1b2c3d4")}, "naa.5000c500a1b2c3d4"},
		{"bad naa length ignored", []model.Designator{lun("naa", "600a0980"), lun("t10", "X")}, "t10.X"},
		{"equal priority: later wins as in the kernel", []model.Designator{lun("naa", "5000000000000001"), lun("naa", "5000000000000002")}, "naa.5000000000000002"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LUNID(tt.ds); got != tt.want {
				t.Errorf("LUNID = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseVPD80(t *testing.T) {
	tests := []struct {
		name, want, wantErr string
		page                []byte
	}{
		{name: "netapp", page: append([]byte{0, 0x80, 0, 12}, "808E7+JR24n5"...), want: "808E7+JR24n5"},
		{name: "padded", page: append([]byte{0, 0x80, 0, 20}, "  WD-WCC4N0123456\x00\x00\x00"...), want: "WD-WCC4N0123456"},
		{name: "lying length", page: append([]byte{0, 0x80, 0, 40}, "ABC"...), want: "ABC", wantErr: "header says 40 bytes of serial at offset 4, only 3 present"},
		{name: "wrong page", page: []byte{0, 0x83, 0, 0}, wantErr: "page code 0x83, not 0x80"},
		{name: "empty", page: nil, wantErr: "header needs 4 bytes, got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseVPD80(tt.page)
			if got != tt.want {
				t.Errorf("serial = %q, want %q", got, tt.want)
			}
			checkErr(t, err, tt.wantErr)
		})
	}
}

func TestParseStdInquiry(t *testing.T) {
	full := make([]byte, 36)
	full[0] = 0x00
	copy(full[8:], "NETAPP  LUN C-Mode      9800")
	tests := []struct {
		name    string
		b       []byte
		want    StdInquiry
		wantErr string
	}{
		{name: "netapp", b: full, want: StdInquiry{PeripheralType: 0, Vendor: "NETAPP", Product: "LUN C-Mode", Revision: "9800"}},
		{name: "array controller, no revision", b: append([]byte{0x0c, 0, 5, 2, 31, 0, 0, 0}, "DGC     RAID 5          "...), want: StdInquiry{PeripheralType: 0xc, Vendor: "DGC", Product: "RAID 5"}, wantErr: "32 bytes, need 36"},
		{name: "empty", wantErr: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStdInquiry(tt.b)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			checkErr(t, err, tt.wantErr)
		})
	}
}

func FuzzParseVPD83(f *testing.F) {
	f.Add(page(0x83, desc(0, 1, false, 0, 3, []byte{0x60, 0x0a, 0x09, 0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})))
	f.Add(page(0x83, desc(5, 3, true, 2, 8, []byte("iqn.x\x00\x00\x00")), desc(0, 1, false, 0, 0xa, make([]byte, 18))))
	f.Add([]byte{0, 0x83, 0xff, 0xff, 0, 3, 0, 200})
	f.Add([]byte{0, 0x83, 0, 4, 0, 4, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		ds, err := ParseVPD83(b)
		if err == nil && len(b) >= 4 {
			// A page that decoded cleanly has descriptors that exactly fill it.
			n := int(b[2])<<8 | int(b[3])
			if n <= len(b)-4 && len(ds) == 0 && n >= 4 {
				t.Errorf("clean decode of %d descriptor bytes gave no designators", n)
			}
		}
		for _, d := range ds {
			if d.Association == "" || d.Type == "" {
				t.Errorf("designator without association or type: %+v", d)
			}
		}
		id := LUNID(ds)
		if id != "" && !strings.HasPrefix(id, "naa.") && !strings.HasPrefix(id, "eui.") && !strings.HasPrefix(id, "t10.") {
			// Only a SCSI name string is used as is.
			found := false
			for _, d := range ds {
				if d.Type == "name" && d.Value == id {
					found = true
				}
			}
			if !found {
				t.Errorf("LUNID %q is no kernel wwid form and no name string", id)
			}
		}
	})
}

func FuzzParseVPD80(f *testing.F) {
	f.Add(append([]byte{0, 0x80, 0, 12}, "808E7+JR24n5"...))
	f.Add([]byte{0, 0x80, 0xff, 0xff, 'a'})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseVPD80(b)
		if err != nil && len(b) >= 2 && b[1] != 0x80 && s != "" {
			t.Errorf("wrong page code decoded a serial %q", s)
		}
		if strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ") {
			t.Errorf("serial %q not trimmed", s)
		}
	})
}

func FuzzParseStdInquiry(f *testing.F) {
	f.Add(append(make([]byte, 8), "NETAPP  LUN C-Mode      9800"...))
	f.Add([]byte{0x1f})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseStdInquiry(b)
		if len(b) >= 36 && err != nil {
			t.Errorf("36+ bytes gave error %v", err)
		}
		if len(s.Vendor) > 8*4 || len(s.Product) > 16*4 || len(s.Revision) > 4*4 {
			t.Errorf("field longer than its (escaped) bytes: %+v", s)
		}
	})
}
