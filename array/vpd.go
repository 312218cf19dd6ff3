package array

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/vmstor/vmstor/model"
)

// ErrShortPage is returned for a vendor VPD page too short for its layout.
var ErrShortPage = errors.New("vendor VPD page too short")

// ThreePARPage is HPE 3PAR/Primera VPD page 0xC0 (volume information), as
// laid out in sg3_utils' sg_vpd_vendor.c (decode_vpd_c0_hp3par).
type ThreePARPage struct {
	Revision   int    // byte 4
	VolumeType string // byte 5 bits 0-1: tpvv, snap, base
	// The rest is present from page revision 4 on.
	VVID       uint64 // bytes 28-35
	DomainID   uint32 // bytes 36-39
	VolumeName string // length at 40, string at 44
	DomainName string // each further string follows the previous one: length, string
	UserCPG    string
	SnapCPG    string
}

// DecodeThreePAR decodes HPE 3PAR page 0xC0.
func DecodeThreePAR(b []byte) (ThreePARPage, error) {
	var p ThreePARPage
	if len(b) < 24 || b[1] != 0xc0 {
		return p, fmt.Errorf("3PAR page 0xc0 (%d bytes): %w", len(b), ErrShortPage)
	}
	p.Revision = int(b[4])
	switch {
	case b[5]&0x01 != 0:
		p.VolumeType = "tpvv"
	case b[5]&0x02 != 0:
		p.VolumeType = "snap"
	default:
		p.VolumeType = "base"
	}
	if p.Revision <= 3 {
		return p, nil
	}
	if len(b) < 44 {
		return p, fmt.Errorf("3PAR page 0xc0 revision %d (%d bytes): %w", p.Revision, len(b), ErrShortPage)
	}
	p.VVID = binary.BigEndian.Uint64(b[28:])
	p.DomainID = binary.BigEndian.Uint32(b[36:])
	off := 44
	for _, dst := range []*string{&p.VolumeName, &p.DomainName, &p.UserCPG, &p.SnapCPG} {
		n := int(binary.BigEndian.Uint32(b[off-4:]))
		if n < 0 || n > len(b)-off {
			return p, fmt.Errorf("3PAR page 0xc0: string at byte %d of length %d overruns the %d-byte page: %w", off, n, len(b), ErrShortPage)
		}
		*dst = cString(b[off : off+n])
		off += n + 4
		if off > len(b) {
			break // the last string may end the page
		}
	}
	return p, nil
}

// EMCPage is Dell EMC (CLARiiON/VNX/Unity, vendor "DGC") VPD page 0xC0,
// the unit path report, as laid out in sg_vpd_vendor.c (decode_upr_vpd_c0_emc).
type EMCPage struct {
	LUNState     int    // byte 4: 0 unbound, 1 bound not owned by this SP, 2 owned
	DefaultOwner string // byte 5: SP A or SP B
	Port         int    // byte 7
	SP           string // byte 8: the SP this path connects to
	LUNWWN       string // bytes 10-25, hex
	SPAddress    string // IPv4 at 44-47 (mode 2) or IPv6 at 32-47 (mode 3)
	ArraySerial  string // length at 49, string at 50
}

// DecodeEMC decodes Dell EMC page 0xC0 (page revision 0 only).
func DecodeEMC(b []byte) (EMCPage, error) {
	var p EMCPage
	if len(b) < 50 || b[1] != 0xc0 {
		return p, fmt.Errorf("EMC page 0xc0 (%d bytes): %w", len(b), ErrShortPage)
	}
	if b[9] != 0 {
		return p, fmt.Errorf("EMC page 0xc0: unsupported page revision %d", b[9])
	}
	sp := func(c byte) string {
		switch c {
		case 0:
			return "SP A"
		case 1:
			return "SP B"
		}
		return "SP " + strconv.Itoa(int(c))
	}
	p.LUNState = int(b[4])
	p.DefaultOwner = sp(b[5])
	p.Port = int(b[7])
	p.SP = sp(b[8])
	p.LUNWWN = hex.EncodeToString(b[10:26])
	switch (b[6] >> 4) & 0x3 {
	case 2:
		p.SPAddress = netip.AddrFrom4([4]byte(b[44:48])).String()
	case 3:
		p.SPAddress = netip.AddrFrom16([16]byte(b[32:48])).String()
	}
	n := int(b[49])
	if 50+n > len(b) {
		return p, fmt.Errorf("EMC page 0xc0: array serial of length %d overruns the %d-byte page: %w", n, len(b), ErrShortPage)
	}
	p.ArraySerial = strings.TrimSpace(cString(b[50 : 50+n]))
	return p, nil
}

// RDACPage is NetApp E-Series (RDAC) VPD page 0xC8, extended device
// identification, as laid out in sg_vpd_vendor.c (decode_rdac_vpd_c8).
type RDACPage struct {
	VolumeID    string // length at 11, bytes from 12, hex
	VolumeLabel string // length at 28, UTF-16BE from 29
	ArrayID     string // length at 89, bytes from 90, hex
	ArrayLabel  string // length at 106, UTF-16BE from 107
}

// DecodeRDAC decodes E-Series page 0xC8.
func DecodeRDAC(b []byte) (RDACPage, error) {
	var p RDACPage
	if len(b) < 0xab || b[1] != 0xc8 {
		return p, fmt.Errorf("RDAC page 0xc8 (%d bytes): %w", len(b), ErrShortPage)
	}
	if string(b[4:7]) != "edi" {
		return p, fmt.Errorf("RDAC page 0xc8: page identifier %q, want \"edid\"", b[4:8])
	}
	p.VolumeID = hex.EncodeToString(b[12 : 12+min(int(b[11]), 16)])
	p.VolumeLabel = utf16Label(b[29:89], int(b[28]))
	p.ArrayID = hex.EncodeToString(b[90 : 90+min(int(b[89]), 16)])
	p.ArrayLabel = utf16Label(b[107:167], int(b[106]))
	return p, nil
}

// utf16Label reads n-1 characters of a UTF-16BE label the way sg3_utils
// does (the count includes a terminator), keeping the low byte of each.
func utf16Label(b []byte, n int) string {
	n = min(n-1, len(b)/2)
	var s []byte
	for i := 0; i < n; i++ {
		c := b[2*i+1]
		if c == 0 {
			break
		}
		s = append(s, c)
	}
	return strings.TrimSpace(string(s))
}

// cString returns b up to its first NUL.
func cString(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// decodeVendorPage decodes one vendor VPD page read from l's device. The
// page number alone is ambiguous (0xC0 is a different page for every
// vendor), so the vendor string picks the decoder.
func decodeVendorPage(l *model.LUN, page uint8, b []byte) {
	v := strings.ToUpper(strings.TrimSpace(l.Vendor))
	switch {
	case page == 0xc0 && v == "3PARDATA":
		p, err := DecodeThreePAR(b)
		if err != nil {
			return
		}
		setArray(l, FactVendor, "HPE", SourceVPD)
		setArray(l, FactFamily, "3PAR/Primera", SourceVPD)
		setLUNString(l, FactVolume, p.VolumeName, SourceVPD)
		setFact(l, "volume_type", p.VolumeType, SourceVPD)
		if p.Revision > 3 {
			setFact(l, "vv_id", strconv.FormatUint(p.VVID, 10), SourceVPD)
			setFact(l, "domain", p.DomainName, SourceVPD)
			setFact(l, "user_cpg", p.UserCPG, SourceVPD)
			setFact(l, "snap_cpg", p.SnapCPG, SourceVPD)
		}
	case page == 0xc0 && v == "DGC":
		p, err := DecodeEMC(b)
		if err != nil {
			return
		}
		setArray(l, FactVendor, "Dell EMC", SourceVPD)
		if p.ArraySerial != "" {
			setArray(l, FactSystemID, "emc:"+p.ArraySerial, SourceVPD)
		}
		if p.SPAddress != "" {
			setAddresses(l, []string{p.SPAddress}, SourceVPD)
		}
		setFact(l, "storage_processor", fmt.Sprintf("%s port %d", p.SP, p.Port), SourceVPD)
		setFact(l, "default_owner", p.DefaultOwner, SourceVPD)
		setFact(l, "lun_wwn", p.LUNWWN, SourceVPD)
	case page == 0xc8 && (v == "NETAPP" || v == "LSI"):
		p, err := DecodeRDAC(b)
		if err != nil {
			return
		}
		setArray(l, FactVendor, "NetApp", SourceVPD)
		setArray(l, FactFamily, FamilyESeries, SourceVPD)
		setLUNString(l, FactVolume, p.VolumeLabel, SourceVPD)
		setArray(l, FactSystemName, p.ArrayLabel, SourceVPD)
		if p.ArrayID != "" && strings.Trim(p.ArrayID, "0") != "" {
			setArray(l, FactSystemID, "eseries:"+p.ArrayID, SourceVPD)
		}
		setFact(l, "volume_id", p.VolumeID, SourceVPD)
	}
}

// setFact sets one entry of l.ArrayFacts.
func setFact(l *model.LUN, key, val, src string) {
	if val == "" {
		return
	}
	cur, ok := l.ArrayFacts[key]
	if ok && cur == val {
		return
	}
	if !canSet(l, key, !ok || cur == "", src) {
		return
	}
	if l.ArrayFacts == nil {
		l.ArrayFacts = make(map[string]string)
	}
	l.ArrayFacts[key] = val
	record(l, key, src)
}
