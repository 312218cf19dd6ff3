package nvme

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ontapLog builds a 4096-byte page 0xC2 the way nvme-cli's netapp plugin
// reads it: LSP at byte 16, TLVs from byte 32 (type, reserved, LE16 length
// in dwords, value padded with NULs to the dword).
func ontapLog(lsp byte, tlvs ...tlv) []byte {
	b := make([]byte, ONTAPLogSize)
	b[16] = lsp
	off := 32
	for _, t := range tlvs {
		n := (len(t.val) + 4) / 4 * 4 // at least one NUL of padding
		b[off] = t.typ
		binary.LittleEndian.PutUint16(b[off+2:], uint16(n/4))
		copy(b[off+4:], t.val)
		off += 4 + n
	}
	return b
}

type tlv struct {
	typ byte
	val string
}

func TestDecodeONTAPLog(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    ONTAPNamespace
		wantErr error
	}{
		{
			name: "all four tlvs",
			in:   ontapLog(1, tlv{0x11, "svm_nvme"}, tlv{0x12, "vol_db"}, tlv{0x13, "ns_db01"}, tlv{0x14, "/vol/vol_db/qt1/ns_db01"}),
			want: ONTAPNamespace{SVM: "svm_nvme", Volume: "vol_db", Namespace: "ns_db01", Path: "/vol/vol_db/qt1/ns_db01"},
		},
		{
			name: "no path tlv: path built like nvme-cli",
			in:   ontapLog(1, tlv{0x11, "svm1"}, tlv{0x12, "v"}, tlv{0x13, "ns12345"}),
			want: ONTAPNamespace{SVM: "svm1", Volume: "v", Namespace: "ns12345", Path: "/vol/v/ns12345"},
		},
		{
			name: "exact dword length without padding",
			in: func() []byte {
				b := make([]byte, 64)
				b[16] = 0x21 // upper bits are not the LSP
				b[32], b[34] = 0x11, 1
				copy(b[36:], "abcd")
				b[40], b[42] = 0x12, 1
				copy(b[44:], "efgh")
				b[48], b[50] = 0x13, 1
				copy(b[52:], "ijkl")
				return b
			}(),
			want: ONTAPNamespace{SVM: "abcd", Volume: "efgh", Namespace: "ijkl", Path: "/vol/efgh/ijkl"},
		},
		{name: "supported-pages lsp", in: ontapLog(0, tlv{0x11, "svm"}), wantErr: ErrNotNamespaceInfo},
		{name: "wrong first tlv", in: ontapLog(1, tlv{0x12, "vol"}), wantErr: ErrNotNamespaceInfo},
		{name: "missing namespace tlv", in: ontapLog(1, tlv{0x11, "svm"}, tlv{0x12, "vol"}), wantErr: ErrNotNamespaceInfo},
		{name: "short", in: make([]byte, 20), wantErr: ErrNotNamespaceInfo},
		{
			name: "length past the end is clipped",
			in: func() []byte {
				b := ontapLog(1, tlv{0x11, "svm"}, tlv{0x12, "vol"}, tlv{0x13, "ns"})
				binary.LittleEndian.PutUint16(b[32+4+4+4+4+2:], 0xffff)
				return b
			}(),
			want: ONTAPNamespace{SVM: "svm", Volume: "vol", Namespace: "ns", Path: "/vol/vol/ns"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeONTAPLog(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("DecodeONTAPLog error = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DecodeONTAPLog (-want +got):\n%s", diff)
			}
		})
	}
}

func putUCS2(b []byte, off int, s string) {
	for i, c := range []byte(s) {
		b[off+2*i] = 0
		b[off+2*i+1] = c
	}
}

func TestDecodeESeriesLabels(t *testing.T) {
	ctrl := make([]byte, 4096)
	ns := make([]byte, 4096)
	putUCS2(ctrl, 3072+20, "ef600-lab")
	putUCS2(ns, 384, "oradata_1                     ") // blank-padded to 30
	got := DecodeESeriesLabels(ctrl, ns)
	want := ESeriesLabels{Array: "ef600-lab", Volume: "oradata_1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DecodeESeriesLabels (-want +got):\n%s", diff)
	}
	if got := DecodeESeriesLabels(ctrl[:3000], ns[:100]); got != (ESeriesLabels{}) {
		t.Errorf("DecodeESeriesLabels(short) = %+v, want empty", got)
	}
}

func FuzzDecodeONTAPLog(f *testing.F) {
	f.Add(ontapLog(1, tlv{0x11, "svm"}, tlv{0x12, "vol"}, tlv{0x13, "ns"}, tlv{0x14, "/vol/vol/ns"}))
	f.Add(ontapLog(1, tlv{0x11, "svm"})[:40])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		ns, err := DecodeONTAPLog(b)
		if err == nil && ns.SVM == "" {
			t.Errorf("decoded without error but no SVM: %+v", ns)
		}
		DecodeESeriesLabels(b, b)
	})
}
