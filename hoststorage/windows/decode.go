// Package winstorage reads a Windows host's storage (phase 2 on Hyper-V
// hosts): disks from WMI (Win32_DiskDrive, MSFT_Disk) with their identity
// from the device itself (SCSI VPD 0x83 through IOCTL_STORAGE_QUERY_PROPERTY,
// decoded by package scsi), volumes and their mount points (including
// Cluster Shared Volumes under C:\ClusterStorage) mapped to disks through
// IOCTL_VOLUME_GET_VOLUME_DISK_EXTENTS, and SMB3 shares the host uses. It
// implements scan.Source and scan.Locator.
//
// The byte decoders and the joining are pure and run on every OS; only the
// WMI queries and the IOCTLs are Windows code (fs_windows.go).
package winstorage

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ErrShort reports a buffer that ends before what its own header announces.
var ErrShort = errors.New("truncated")

// Property ids of IOCTL_STORAGE_QUERY_PROPERTY (ntddstor.h).
const (
	storageDeviceProperty   = 0 // StorageDeviceProperty -> STORAGE_DEVICE_DESCRIPTOR
	storageDeviceIDProperty = 2 // StorageDeviceIdProperty -> STORAGE_DEVICE_ID_DESCRIPTOR
	propertyStandardQuery   = 0 // PropertyStandardQuery
)

// propertyQuery builds a STORAGE_PROPERTY_QUERY: PropertyId (DWORD),
// QueryType (DWORD), AdditionalParameters[1] (BYTE), padded to 12 bytes.
func propertyQuery(propertyID uint32) []byte {
	b := make([]byte, 12)
	binary.LittleEndian.PutUint32(b[0:], propertyID)
	binary.LittleEndian.PutUint32(b[4:], propertyStandardQuery)
	return b
}

// DeviceIDDescriptor header layout (STORAGE_DEVICE_ID_DESCRIPTOR): Version
// DWORD @0, Size DWORD @4, NumberOfIdentifiers DWORD @8, Identifiers @12.
// Each STORAGE_IDENTIFIER: CodeSet (enum, 4 bytes) @0, Type (enum, 4) @4,
// IdentifierSize (USHORT) @8, NextOffset (USHORT) @10, Association (enum,
// 4) @12, Identifier[] @16. NextOffset counts from the identifier's start.
const (
	idDescHeader = 12
	idEntryHdr   = 16
)

// DecodeDeviceIDDescriptor turns a STORAGE_DEVICE_ID_DESCRIPTOR into the
// identification descriptor list of SCSI VPD page 0x83 (without the page
// header), the form scsi.ParseDesignators decodes. The STORAGE_IDENTIFIER
// enums carry the SPC values (code set 1/2/3, designator type 0-8,
// association 0-2), which Windows copied from the page; Windows drops the
// protocol identifier and PIV, so those are zero. Identifiers decoded before
// a fault are returned with the error.
func DecodeDeviceIDDescriptor(b []byte) ([]byte, error) {
	if len(b) < idDescHeader {
		return nil, fmt.Errorf("STORAGE_DEVICE_ID_DESCRIPTOR: header needs %d bytes, got %d: %w", idDescHeader, len(b), ErrShort)
	}
	size := binary.LittleEndian.Uint32(b[4:])
	n := binary.LittleEndian.Uint32(b[8:])
	if size < idDescHeader {
		return nil, fmt.Errorf("STORAGE_DEVICE_ID_DESCRIPTOR: Size %d is smaller than the header", size)
	}
	var sizeErr error
	if int64(size) > int64(len(b)) {
		// The caller's buffer was too small for all identifiers: decode
		// what arrived, and say so.
		sizeErr = fmt.Errorf("STORAGE_DEVICE_ID_DESCRIPTOR: Size says %d bytes, buffer holds %d: %w", size, len(b), ErrShort)
	} else {
		b = b[:size]
	}
	var out []byte
	off := idDescHeader
	for i := uint32(0); i < n; i++ {
		if len(b)-off < idEntryHdr {
			if sizeErr != nil {
				return out, sizeErr
			}
			return out, fmt.Errorf("STORAGE_IDENTIFIER %d of %d at offset %d: header needs %d bytes, %d remain: %w", i+1, n, off, idEntryHdr, len(b)-off, ErrShort)
		}
		e := b[off:]
		codeSet := binary.LittleEndian.Uint32(e[0:])
		typ := binary.LittleEndian.Uint32(e[4:])
		idSize := int(binary.LittleEndian.Uint16(e[8:]))
		next := int(binary.LittleEndian.Uint16(e[10:]))
		assoc := binary.LittleEndian.Uint32(e[12:])
		if idEntryHdr+idSize > len(e) {
			if sizeErr != nil {
				return out, sizeErr
			}
			return out, fmt.Errorf("STORAGE_IDENTIFIER %d at offset %d: IdentifierSize %d overruns the %d bytes that remain: %w", i+1, off, idSize, len(e)-idEntryHdr, ErrShort)
		}
		if codeSet > 0xf || typ > 0xf || assoc > 3 {
			return out, fmt.Errorf("STORAGE_IDENTIFIER %d at offset %d: CodeSet %d, Type %d or Association %d out of the SCSI range", i+1, off, codeSet, typ, assoc)
		}
		if idSize > 255 {
			return out, fmt.Errorf("STORAGE_IDENTIFIER %d at offset %d: IdentifierSize %d does not fit a VPD designator (255 at most)", i+1, off, idSize)
		}
		out = append(out, byte(codeSet), byte(assoc)<<4|byte(typ), 0, byte(idSize))
		out = append(out, e[idEntryHdr:idEntryHdr+idSize]...)
		if i+1 < n {
			if next < idEntryHdr+idSize {
				return out, fmt.Errorf("STORAGE_IDENTIFIER %d at offset %d: NextOffset %d points inside the identifier (%d bytes)", i+1, off, next, idEntryHdr+idSize)
			}
			off += next
		}
	}
	return out, sizeErr
}

// DeviceDescriptor is what STORAGE_DEVICE_DESCRIPTOR says about a disk: the
// standard INQUIRY strings the port driver read, and the bus.
type DeviceDescriptor struct {
	Vendor, Product, Revision, Serial string
	// BusType is STORAGE_BUS_TYPE.
	BusType uint32
}

// DecodeDeviceDescriptor decodes a STORAGE_DEVICE_DESCRIPTOR: Version @0,
// Size @4, DeviceType @8, DeviceTypeModifier @9, RemovableMedia @10,
// CommandQueueing @11, VendorIdOffset @12, ProductIdOffset @16,
// ProductRevisionOffset @20, SerialNumberOffset @24 (DWORDs; 0 = absent),
// BusType @28, RawPropertiesLength @32, RawDeviceProperties @36. The
// strings are NUL-terminated ASCII at their offsets.
func DecodeDeviceDescriptor(b []byte) (DeviceDescriptor, error) {
	var d DeviceDescriptor
	if len(b) < 36 {
		return d, fmt.Errorf("STORAGE_DEVICE_DESCRIPTOR: needs 36 bytes, got %d: %w", len(b), ErrShort)
	}
	if size := binary.LittleEndian.Uint32(b[4:]); int64(size) < int64(len(b)) && size >= 36 {
		b = b[:size]
	}
	d.BusType = binary.LittleEndian.Uint32(b[28:])
	var errs []error
	str := func(field string, at int) string {
		off := binary.LittleEndian.Uint32(b[at:])
		if off == 0 || off == 0xffffffff { // absent
			return ""
		}
		if int64(off) >= int64(len(b)) {
			errs = append(errs, fmt.Errorf("STORAGE_DEVICE_DESCRIPTOR: %s %d is past the %d bytes: %w", field, off, len(b), ErrShort))
			return ""
		}
		s := b[off:]
		for i, c := range s {
			if c == 0 {
				s = s[:i]
				break
			}
		}
		return trimASCII(s)
	}
	d.Vendor = str("VendorIdOffset", 12)
	d.Product = str("ProductIdOffset", 16)
	d.Revision = str("ProductRevisionOffset", 20)
	d.Serial = str("SerialNumberOffset", 24)
	return d, errors.Join(errs...)
}

// trimASCII trims the space padding INQUIRY strings carry and replaces
// bytes outside printable ASCII, which some devices put in serials.
func trimASCII(s []byte) string {
	out := make([]byte, 0, len(s))
	for _, c := range s {
		if c < 0x20 || c > 0x7e {
			c = '.'
		}
		out = append(out, c)
	}
	i, j := 0, len(out)
	for i < j && out[i] == ' ' {
		i++
	}
	for j > i && out[j-1] == ' ' {
		j--
	}
	return string(out[i:j])
}

// DiskExtent is one DISK_EXTENT of a volume.
type DiskExtent struct {
	DiskNumber     uint32
	StartingOffset int64
	ExtentLength   int64
}

// DecodeDiskExtents decodes VOLUME_DISK_EXTENTS: NumberOfDiskExtents DWORD
// @0, then (aligned to 8) DISK_EXTENT[] @8, each 24 bytes: DiskNumber DWORD
// @0, 4 bytes padding, StartingOffset LARGE_INTEGER @8, ExtentLength
// LARGE_INTEGER @16.
func DecodeDiskExtents(b []byte) ([]DiskExtent, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("VOLUME_DISK_EXTENTS: header needs 8 bytes, got %d: %w", len(b), ErrShort)
	}
	n := binary.LittleEndian.Uint32(b)
	var out []DiskExtent
	for i := uint32(0); i < n; i++ {
		off := 8 + 24*int(i)
		if off+24 > len(b) {
			return out, fmt.Errorf("VOLUME_DISK_EXTENTS: %d extents announced, extent %d at offset %d overruns %d bytes: %w", n, i+1, off, len(b), ErrShort)
		}
		e := b[off:]
		start := int64(binary.LittleEndian.Uint64(e[8:]))
		length := int64(binary.LittleEndian.Uint64(e[16:]))
		if start < 0 || length < 0 {
			return out, fmt.Errorf("VOLUME_DISK_EXTENTS: extent %d has a negative offset or length", i+1)
		}
		out = append(out, DiskExtent{DiskNumber: binary.LittleEndian.Uint32(e), StartingOffset: start, ExtentLength: length})
	}
	return out, nil
}

// busTransports maps STORAGE_BUS_TYPE (also MSFT_Disk.BusType) to
// model.Path.Transport.
var busTransports = map[uint32]string{
	0x2: "ata", 0x3: "ata", 0x6: "fc", 0x7: "usb", 0x9: "iscsi",
	0xA: "sas", 0xB: "ata", 0x11: "nvme",
}

func transportOf(bus uint32) string {
	if t, ok := busTransports[bus]; ok {
		return t
	}
	return "unknown"
}
