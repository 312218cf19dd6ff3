// Package nvme reads vendor data from NVMe namespaces that is not in sysfs:
// the NetApp ONTAP namespace-info log page (0xC2) and the E-Series labels in
// the vendor-specific part of the identify data. Decoders are pure; the
// reader (Linux only) issues read-only admin commands through the kernel's
// NVMe admin pass-through ioctl.
package nvme

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ONTAP log page 0xC2, as read by nvme-cli's netapp plugin
// (plugins/netapp/netapp-nvme.c).
const (
	ONTAPLogID   = 0xc2
	ONTAPLogSize = 4096
	// ONTAPLSPNamespaceInfo is the log-specific parameter that selects
	// the namespace-information variant of the page.
	ONTAPLSPNamespaceInfo = 0x1

	tlvVserver   = 0x11
	tlvVolume    = 0x12
	tlvNamespace = 0x13
	tlvPath      = 0x14
)

// ErrNotNamespaceInfo is returned for a 0xC2 page that is not the
// namespace-info variant (another LSP, or not an ONTAP page at all).
var ErrNotNamespaceInfo = errors.New("not an ONTAP namespace-info log page")

// ONTAPNamespace is what ONTAP tells the host about a namespace.
type ONTAPNamespace struct {
	SVM       string // TLV 0x11 (vserver name)
	Volume    string // TLV 0x12
	Namespace string // TLV 0x13 (namespace name)
	// Path is TLV 0x14, or "/vol/<volume>/<namespace>" when the array is
	// too old to send it (what nvme-cli does too).
	Path string
}

// DecodeONTAPLog decodes ONTAP log page 0xC2 (namespace-info LSP). Layout:
// byte 16 bits 0-3 the LSP; from byte 32 TLVs of 1 byte type, 1 reserved, a
// little-endian 16-bit length in 4-byte units, then the value; the values
// are printable ASCII ending at the first byte outside '!'..'~'.
func DecodeONTAPLog(b []byte) (ONTAPNamespace, error) {
	var ns ONTAPNamespace
	if len(b) < 36 {
		return ns, fmt.Errorf("ONTAP log page 0xc2 of %d bytes: %w", len(b), ErrNotNamespaceInfo)
	}
	if lsp := b[16] & 0x0f; lsp != ONTAPLSPNamespaceInfo {
		return ns, fmt.Errorf("ONTAP log page 0xc2 with LSP %d: %w", lsp, ErrNotNamespaceInfo)
	}
	want := []struct {
		typ      byte
		dst      *string
		optional bool
	}{
		{tlvVserver, &ns.SVM, false},
		{tlvVolume, &ns.Volume, false},
		{tlvNamespace, &ns.Namespace, false},
		{tlvPath, &ns.Path, true},
	}
	off := 32
	for _, w := range want {
		if off+4 > len(b) || b[off] != w.typ {
			if w.optional {
				break
			}
			got := -1
			if off < len(b) {
				got = int(b[off])
			}
			return ns, fmt.Errorf("ONTAP log page 0xc2: want TLV 0x%02x at byte %d, found 0x%02x: %w", w.typ, off, got, ErrNotNamespaceInfo)
		}
		n := int(binary.LittleEndian.Uint16(b[off+2:])) * 4
		v := b[off+4 : off+4+min(n, len(b)-off-4)]
		*w.dst = printable(v)
		off += 4 + n
	}
	if ns.SVM == "" {
		return ns, fmt.Errorf("ONTAP log page 0xc2: empty vserver name: %w", ErrNotNamespaceInfo)
	}
	if ns.Path == "" && ns.Volume != "" && ns.Namespace != "" {
		ns.Path = "/vol/" + ns.Volume + "/" + ns.Namespace
	}
	return ns, nil
}

func printable(b []byte) string {
	for i, c := range b {
		if c < '!' || c > '~' {
			return string(b[:i])
		}
	}
	return string(b)
}

// Offsets of the E-Series labels in identify data, as nvme-cli's netapp
// plugin reads them: the array label at byte 20 of the controller's
// vendor-specific area (identify controller byte 3072), the volume label at
// the start of the namespace's vendor-specific area (identify namespace
// byte 384); both 30 UCS-2 characters of which the low byte is kept.
const (
	idCtrlVS       = 3072
	idNSVS         = 384
	eseriesLabelCh = 30
)

// ESeriesLabels are the E-Series array and volume labels.
type ESeriesLabels struct {
	Array  string
	Volume string
}

// DecodeESeriesLabels decodes the labels from identify controller and
// identify namespace data (4096 bytes each; shorter data yields empty labels).
func DecodeESeriesLabels(idCtrl, idNS []byte) ESeriesLabels {
	return ESeriesLabels{
		Array:  ucs2Label(idCtrl, idCtrlVS+20),
		Volume: ucs2Label(idNS, idNSVS),
	}
}

func ucs2Label(b []byte, off int) string {
	if off+2*eseriesLabelCh > len(b) {
		return ""
	}
	s := make([]byte, 0, eseriesLabelCh)
	for i := range eseriesLabelCh {
		c := b[off+2*i+1]
		if c == 0 {
			break
		}
		s = append(s, c)
	}
	// Trailing blanks pad the fixed field.
	for len(s) > 0 && s[len(s)-1] == ' ' {
		s = s[:len(s)-1]
	}
	return string(s)
}
