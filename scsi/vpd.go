// Package scsi decodes SCSI identification data (standard INQUIRY, VPD pages
// 0x80 and 0x83) and, on Linux, asks a device for it with an INQUIRY through
// the SG_IO ioctl. Decoding is pure: it takes the bytes a device returned,
// wherever they came from (sysfs vpd_pg83, SG_IO, a Windows
// STORAGE_DEVICE_ID_DESCRIPTOR, a test fixture).
package scsi

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vmstor/vmstor/model"
)

// ErrShort reports data that ends before what its own header announces. It
// is wrapped with the offset where decoding stopped.
var ErrShort = errors.New("truncated")

// Association values of a designator (VPD 0x83 byte 1, bits 5:4).
const (
	AssocLUN          = "lun"
	AssocTargetPort   = "target-port"
	AssocTargetDevice = "target-device"
)

// Designator types as model.Designator.Type spells them (SPC-5 table 490).
var designatorTypes = [16]string{
	0x0: "vendor",
	0x1: "t10",
	0x2: "eui64",
	0x3: "naa",
	0x4: "relative-port",
	0x5: "port-group",
	0x6: "lu-group",
	0x7: "md5",
	0x8: "name",
	0x9: "protocol-specific",
	0xa: "uuid",
}

// Protocol identifiers (SPC-5 table 477), set only when PIV says they apply.
var protocols = [16]string{
	0x0: "fc",
	0x1: "spi",
	0x2: "ssa",
	0x3: "sbp",
	0x4: "srp",
	0x5: "iscsi",
	0x6: "sas",
	0x7: "adt",
	0x8: "ata",
	0x9: "uas",
	0xa: "sop",
	0xb: "pcie",
}

// ParseVPD83 decodes a whole Device Identification VPD page (0x83), header
// included. A page that is shorter than its header claims, or whose
// descriptors overrun it, returns the designators decoded before the fault
// and an error naming the byte offset in the page.
func ParseVPD83(page []byte) ([]model.Designator, error) {
	if len(page) < 4 {
		return nil, fmt.Errorf("vpd page 0x83: header needs 4 bytes, got %d: %w", len(page), ErrShort)
	}
	if page[1] != 0x83 {
		return nil, fmt.Errorf("vpd page 0x83: byte 1 is page code 0x%02x, not 0x83", page[1])
	}
	n := int(binary.BigEndian.Uint16(page[2:4]))
	body := page[4:]
	var lenErr error
	if n > len(body) {
		// Decode what is there: a device (or a sysfs read) that cut the
		// page short still gave us the first designators.
		lenErr = fmt.Errorf("vpd page 0x83: header says %d bytes of descriptors at offset 4, only %d present: %w", n, len(body), ErrShort)
	} else {
		body = body[:n]
	}
	ds, err := parseDesignators(body, 4)
	if err != nil {
		return ds, fmt.Errorf("vpd page 0x83: %w", err)
	}
	return ds, lenErr
}

// ParseDesignators decodes a list of identification descriptors without the
// page header (the form Windows' STORAGE_DEVICE_ID_DESCRIPTOR carries).
// Offsets in errors count from the start of b.
func ParseDesignators(b []byte) ([]model.Designator, error) {
	return parseDesignators(b, 0)
}

func parseDesignators(b []byte, base int) ([]model.Designator, error) {
	var out []model.Designator
	for i := 0; i < len(b); {
		if len(b)-i < 4 {
			return out, fmt.Errorf("descriptor at offset %d: header needs 4 bytes, %d remain: %w", base+i, len(b)-i, ErrShort)
		}
		l := int(b[i+3])
		if len(b)-i-4 < l {
			return out, fmt.Errorf("descriptor at offset %d: length %d overruns the %d bytes that remain: %w", base+i, l, len(b)-i-4, ErrShort)
		}
		out = append(out, decodeDesignator(b[i:i+4+l]))
		i += 4 + l
	}
	return out, nil
}

// decodeDesignator turns one descriptor (header + designator) into its text form.
func decodeDesignator(d []byte) model.Designator {
	codeSet := d[0] & 0x0f
	piv := d[1]&0x80 != 0
	assoc := (d[1] >> 4) & 0x3
	typ := d[1] & 0x0f
	v := d[4:]

	var out model.Designator
	switch assoc {
	case 0:
		out.Association = AssocLUN
	case 1:
		out.Association = AssocTargetPort
	case 2:
		out.Association = AssocTargetDevice
	default:
		out.Association = "reserved"
	}
	// SPC: the protocol identifier is meaningful only with PIV set and a
	// port or device association.
	if piv && assoc != 0 {
		out.Protocol = protocols[d[0]>>4]
		if out.Protocol == "" {
			out.Protocol = fmt.Sprintf("protocol-0x%x", d[0]>>4)
		}
	}
	out.Type = designatorTypes[typ]
	if out.Type == "" {
		out.Type = fmt.Sprintf("type-0x%x", typ)
	}

	text := codeSet == 2 || codeSet == 3
	switch typ {
	case 0x1: // T10 vendor id: text
		out.Value = textValue(v)
	case 0x8: // SCSI name string: UTF-8, NUL-terminated and padded; the kernel copies it raw
		if i := bytes.IndexByte(v, 0); i >= 0 {
			v = v[:i]
		}
		out.Value = string(v)
	case 0x4, 0x5, 0x6: // relative port, port group, LU group: 16-bit number in bytes 2-3
		if len(v) >= 4 {
			out.Value = strconv.Itoa(int(binary.BigEndian.Uint16(v[2:4])))
		} else {
			out.Value = hex.EncodeToString(v)
		}
	case 0xa: // UUID: byte 0 bits 7:4 = 1, byte 1 reserved, 16 bytes of UUID
		if len(v) == 18 && v[0]>>4 == 1 {
			u := hex.EncodeToString(v[2:])
			out.Value = u[0:8] + "-" + u[8:12] + "-" + u[12:16] + "-" + u[16:20] + "-" + u[20:]
		} else {
			out.Value = hex.EncodeToString(v)
		}
	case 0x0:
		if text {
			out.Value = textValue(v)
		} else {
			out.Value = hex.EncodeToString(v)
		}
	default: // EUI-64, NAA, MD5, protocol specific: binary
		out.Value = hex.EncodeToString(v)
	}
	return out
}

// textValue is a text designator as the kernel prints it: up to the first
// NUL, non-printable bytes escaped as \ooo (the kernel's %pE), spaces kept
// (T10 vendor ids are space-padded and the kernel's wwid keeps them).
func textValue(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	var sb strings.Builder
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			fmt.Fprintf(&sb, "\\%03o", c)
			continue
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

// LUNID returns the LUN's id in the form the Linux kernel prints in
// /sys/block/sdX/device/wwid (scsi_vpd_lun_id): only designators associated
// with the LUN count; the preferred one wins by priority, SCSI name string >
// NAA 6 > EUI-64 16-byte > EUI-64 12-byte > NAA 5 > NAA 2 > EUI-64 8-byte >
// NAA 3 = T10 vendor id; among equals the later one wins, as in the kernel.
// It returns "" when there is none.
func LUNID(ds []model.Designator) string {
	best, bestPrio := "", 0
	for _, d := range ds {
		if d.Association != AssocLUN || d.Value == "" {
			continue
		}
		id, prio := "", 0
		switch d.Type {
		case "name":
			id, prio = d.Value, 9
		case "naa":
			n := len(d.Value) / 2
			if n != 8 && n != 16 {
				continue
			}
			switch d.Value[0] {
			case '6':
				prio = 8
			case '5':
				prio = 5
			case '2':
				// The kernel's table checks NAA 4 (not a defined
				// format) where NAA 2 was meant; we rank NAA 2 as
				// the kernel's comment intends.
				prio = 4
			case '3':
				prio = 1
			default:
				continue
			}
			id = "naa." + d.Value
		case "eui64":
			switch len(d.Value) / 2 {
			case 16:
				prio = 7
			case 12:
				prio = 6
			case 8:
				prio = 3
			default:
				continue
			}
			id = "eui." + d.Value
		case "t10":
			id, prio = "t10."+d.Value, 1
		default:
			continue
		}
		if prio >= bestPrio {
			best, bestPrio = id, prio
		}
	}
	return best
}

// ParseVPD80 decodes the Unit Serial Number VPD page (0x80): the serial
// with padding spaces and NULs trimmed. A page shorter than its header says
// returns the part that is there and an error.
func ParseVPD80(page []byte) (string, error) {
	if len(page) < 4 {
		return "", fmt.Errorf("vpd page 0x80: header needs 4 bytes, got %d: %w", len(page), ErrShort)
	}
	if page[1] != 0x80 {
		return "", fmt.Errorf("vpd page 0x80: byte 1 is page code 0x%02x, not 0x80", page[1])
	}
	n := int(binary.BigEndian.Uint16(page[2:4]))
	body := page[4:]
	var err error
	if n > len(body) {
		err = fmt.Errorf("vpd page 0x80: header says %d bytes of serial at offset 4, only %d present: %w", n, len(body), ErrShort)
	} else {
		body = body[:n]
	}
	return strings.Trim(textValue(body), " "), err
}

// StdInquiry is the identity part of standard INQUIRY data.
type StdInquiry struct {
	// PeripheralType is byte 0 bits 4:0 (0 disk, 5 CD/DVD, 0xc storage array controller...).
	PeripheralType uint8
	// Vendor is bytes 8-15, Product 16-31, Revision 32-35, trimmed.
	Vendor, Product, Revision string
}

// ParseStdInquiry decodes standard INQUIRY data. Data shorter than the 36
// bytes that hold the revision returns the fields it has and an error.
func ParseStdInquiry(b []byte) (StdInquiry, error) {
	var s StdInquiry
	if len(b) < 1 {
		return s, fmt.Errorf("standard inquiry: empty: %w", ErrShort)
	}
	s.PeripheralType = b[0] & 0x1f
	field := func(from, to int) string {
		if from >= len(b) {
			return ""
		}
		return strings.TrimSpace(textValue(b[from:min(to, len(b))]))
	}
	s.Vendor, s.Product, s.Revision = field(8, 16), field(16, 32), field(32, 36)
	if len(b) < 36 {
		return s, fmt.Errorf("standard inquiry: %d bytes, need 36 for vendor, product and revision: %w", len(b), ErrShort)
	}
	return s, nil
}
