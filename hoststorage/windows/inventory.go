package winstorage

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/go-ole/go-ole"
	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/scsi"
)

// Win32DiskDrive holds the Win32_DiskDrive (root\cimv2) properties vmstor
// reads; the WMI library fills it by field name.
type Win32DiskDrive struct {
	Index           uint32 // = MSFT_Disk.Number = N of \\.\PHYSICALDRIVEN
	DeviceID        string // \\.\PHYSICALDRIVE2
	Model           string // "NETAPP LUN C-Mode SCSI Disk Device"
	SerialNumber    string
	InterfaceType   string // SCSI, IDE, USB
	PNPDeviceID     string
	Size            uint64
	SCSIPort        uint16
	SCSIBus         uint32
	SCSITargetId    uint16
	SCSILogicalUnit uint16
}

// MSFTDisk holds the MSFT_Disk (root\Microsoft\Windows\Storage) properties
// vmstor reads.
type MSFTDisk struct {
	Number   uint32
	UniqueId string
	// UniqueIdFormat: 0 vendor specific, 1 vendor id, 2 EUI-64,
	// 3 FCPH name (NAA), 8 SCSI name string.
	UniqueIdFormat uint16
	BusType        uint16 // STORAGE_BUS_TYPE
	// OperationalStatus is uint16[] in CIM; WMI scripting hands unsigned
	// 16-bit values out as VT_I4, and the WMI library fills arrays only
	// with the element kind it gets, so the field is int32.
	OperationalStatus []int32
	IsOffline         bool
	IsClustered       bool
	Size              uint64
	FriendlyName      string
	SerialNumber      string
	Manufacturer      string
	Model             string
	Path              string // \\?\scsi#disk&ven_netapp&prod_lun_c-mode#...
	Location          string
}

// SMBConnection holds the MSFT_SmbConnection (root\Microsoft\Windows\SMB)
// properties vmstor reads: a share this host has open (Hyper-V over SMB3).
type SMBConnection struct {
	ServerName string
	ShareName  string
	Dialect    string
}

// DeviceInfo is what the IOCTLs returned for one disk.
type DeviceInfo struct {
	Descriptor  *DeviceDescriptor
	Designators []model.Designator
	// Err says what could not be read; the disk is still reported.
	Err string
}

// Volume is one volume with its mount points and the disks beneath.
type Volume struct {
	// GUIDPath is \\?\Volume{GUID}\ (FindFirstVolume).
	GUIDPath    string
	Mountpoints []string // C:\, C:\ClusterStorage\Volume1\ (GetVolumePathNamesForVolumeName)
	FileSystem  string   // NTFS, ReFS, CSVFS
	Label       string
	Size        uint64
	Free        *uint64
	Extents     []DiskExtent
	Err         string
}

// Facts are everything read from one host, the input of buildInventory.
type Facts struct {
	Host    string
	Drives  []Win32DiskDrive
	Disks   []MSFTDisk
	Devices map[uint32]DeviceInfo
	Volumes []Volume
	SMB     []SMBConnection
}

// Resource ids.
func diskID(n uint32) string { return "disk:" + strconv.FormatUint(uint64(n), 10) }

// VolumeID is the resource id of a volume: "vol:" + its GUID path.
func VolumeID(guidPath string) string { return "vol:" + guidPath }

// SMBID is the resource id of a share: "smb:\\server\share", lower case
// (SMB names are case-insensitive).
func SMBID(server, share string) string {
	return `smb:\\` + strings.ToLower(server) + `\` + strings.ToLower(share)
}

// DiskDevice is the device path of disk N.
func DiskDevice(n uint32) string { return `\\.\PHYSICALDRIVE` + strconv.FormatUint(uint64(n), 10) }

// operational status values (MSFT_Disk.OperationalStatus) that mean the
// path does not work.
var failedStatus = map[uint16]string{6: "Error", 7: "Non-Recoverable Error", 12: "No Contact", 13: "Lost Communication", 0xD014: "Failed"}
var statusNames = map[uint16]string{0: "Unknown", 2: "OK", 3: "Degraded", 8: "Starting", 0xD010: "Online", 0xD011: "Not Ready", 0xD012: "No Media", 0xD013: "Offline"}

// BuildInventory joins the WMI objects, the IOCTL results and the volumes of
// one host into resources and LUNs. Disks that several numbers show with one
// LUN id (several paths without MPIO) become one LUN with several paths.
func BuildInventory(src string, f Facts) *model.Inventory {
	inv := &model.Inventory{Version: model.SchemaVersion}
	drives := map[uint32]Win32DiskDrive{}
	msft := map[uint32]MSFTDisk{}
	numbers := map[uint32]bool{}
	for _, d := range f.Drives {
		drives[d.Index] = d
		numbers[d.Index] = true
	}
	for _, d := range f.Disks {
		msft[d.Number] = d
		numbers[d.Number] = true
	}
	nums := make([]uint32, 0, len(numbers))
	for n := range numbers {
		nums = append(nums, n)
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })

	lunAt := map[string]int{}
	for _, n := range nums {
		w, hasW := drives[n]
		m, hasM := msft[n]
		dev := f.Devices[n]
		if dev.Err != "" {
			inv.Errors = append(inv.Errors, model.ScanError{Source: src, Object: DiskDevice(n), Message: dev.Err,
				Hint: "WMI lists the disk but its identity could not be read from the device; it is reported with a host-local id"})
		}
		lun := model.LUN{Protocol: "scsi", Designators: dev.Designators, Hosts: []string{f.Host}}
		if d := dev.Descriptor; d != nil {
			lun.Vendor, lun.Product, lun.Revision, lun.Serial = d.Vendor, d.Product, d.Revision, d.Serial
		}
		if lun.Serial == "" {
			lun.Serial = strings.TrimSpace(firstNonEmpty(m.SerialNumber, w.SerialNumber))
		}
		if lun.Vendor == "" && lun.Product == "" {
			lun.Vendor, lun.Product = strings.TrimSpace(m.Manufacturer), strings.TrimSpace(firstNonEmpty(m.Model, w.Model))
		}
		lun.SizeBytes = w.Size
		if m.Size != 0 {
			lun.SizeBytes = m.Size // MSFT_Disk gives the exact size; Win32_DiskDrive rounds to whole tracks
		}
		bus := uint32(m.BusType)
		if d := dev.Descriptor; d != nil && (d.BusType != 0 || !hasM) {
			bus = d.BusType
		}
		if bus == 0x11 {
			lun.Protocol = "nvme"
		}
		lun.ID, lun.IDSource = lunID(f.Host, n, lun, m, hasM)

		path := model.Path{Host: f.Host, Device: DiskDevice(n), Transport: transportOf(bus), State: model.PathActive}
		if hasW && (w.SCSIPort != 0 || w.SCSIBus != 0 || w.SCSITargetId != 0 || w.SCSILogicalUnit != 0 || w.InterfaceType == "SCSI") {
			path.HCTL = fmt.Sprintf("%d:%d:%d:%d", w.SCSIPort, w.SCSIBus, w.SCSITargetId, w.SCSILogicalUnit)
		}
		var states []string
		for _, st := range m.OperationalStatus {
			s := uint16(st)
			if name, bad := failedStatus[s]; bad {
				path.State = model.PathFailed
				states = append(states, name)
			} else if name, ok := statusNames[s]; ok {
				states = append(states, name)
			} else {
				states = append(states, strconv.Itoa(int(s)))
			}
		}
		if hasM && m.IsOffline {
			// An offline disk (SAN policy, a cluster disk another node
			// owns) still has a working path; Windows just does not mount it.
			states = append(states, "disk offline")
		}
		path.DeviceState = strings.Join(states, ", ")
		if !hasM && !hasW {
			path.State = model.PathUnknown
		}

		res := model.Resource{ID: diskID(n), Host: f.Host, Kind: model.ResDisk, Name: DiskDevice(n), Device: DiskDevice(n),
			SizeBytes: lun.SizeBytes, LUNs: []string{lun.ID}}
		if m.Path != "" {
			res.Aliases = append(res.Aliases, m.Path)
		}
		if hasM && m.IsClustered {
			res.Type = "clustered"
		}
		res.Error = dev.Err
		inv.Resources = append(inv.Resources, res)

		if i, ok := lunAt[lun.ID]; ok {
			l := &inv.LUNs[i]
			l.Paths = append(l.Paths, path)
			l.State = model.LUNState(l.Paths)
			continue
		}
		lun.Paths = []model.Path{path}
		lun.State = model.LUNState(lun.Paths)
		lunAt[lun.ID] = len(inv.LUNs)
		inv.LUNs = append(inv.LUNs, lun)
	}

	for _, v := range f.Volumes {
		r := model.Resource{ID: VolumeID(v.GUIDPath), Host: f.Host, Kind: model.ResVolume, Name: v.GUIDPath, Device: v.GUIDPath,
			Type: v.FileSystem, Mountpoints: v.Mountpoints, SizeBytes: v.Size, FreeBytes: v.Free, Error: v.Err}
		if len(v.Mountpoints) > 0 {
			r.Name = v.Mountpoints[0]
		}
		if g := guidOf(v.GUIDPath); g != "" {
			r.UUID = g
		}
		if v.Label != "" {
			r.Aliases = append(r.Aliases, v.Label)
		}
		seen := map[uint32]bool{}
		for _, e := range v.Extents {
			if seen[e.DiskNumber] {
				continue
			}
			seen[e.DiskNumber] = true
			r.Below = append(r.Below, diskID(e.DiskNumber))
			if !numbers[e.DiskNumber] {
				inv.Errors = append(inv.Errors, model.Errorf(src, r.Name, "volume %s lies on disk %d, which WMI did not list", v.GUIDPath, e.DiskNumber))
			}
		}
		if v.Err != "" {
			inv.Errors = append(inv.Errors, model.ScanError{Source: src, Object: r.Name, Message: v.Err})
		}
		inv.Resources = append(inv.Resources, r)
	}
	for _, c := range f.SMB {
		if c.ServerName == "" || c.ShareName == "" {
			continue
		}
		id := SMBID(c.ServerName, c.ShareName)
		dup := false
		for _, r := range inv.Resources {
			dup = dup || r.ID == id
		}
		if dup { // one connection per user/credential: the share is one resource
			continue
		}
		typ := "smb"
		if c.Dialect != "" {
			typ = "smb " + c.Dialect
		}
		inv.Resources = append(inv.Resources, model.Resource{ID: id, Host: f.Host, Kind: model.ResSMB,
			Name: `\\` + c.ServerName + `\` + c.ShareName, Remote: "//" + c.ServerName + "/" + c.ShareName, Type: typ})
	}
	return inv
}

// lunID picks the LUN id: the device's own VPD 0x83 designator first (the
// same wwid the Linux kernel derives), then the id Windows keeps in
// MSFT_Disk.UniqueId, then vendor+product+serial, else a host-local id.
func lunID(host string, n uint32, l model.LUN, m MSFTDisk, hasM bool) (id, source string) {
	if id := scsi.LUNID(l.Designators); id != "" {
		return id, "vpd83"
	}
	if hasM && isHex(m.UniqueId) {
		switch m.UniqueIdFormat {
		case 3:
			return "naa." + strings.ToLower(m.UniqueId), "wwid"
		case 2:
			return "eui." + strings.ToLower(m.UniqueId), "wwid"
		}
	}
	if l.Serial != "" {
		// The same form as the Linux scanner's, so both name a LUN alike.
		word := func(s string) string { return strings.Join(strings.Fields(s), "_") }
		return "serial." + word(l.Vendor) + ":" + word(l.Product) + ":" + word(l.Serial), "serial"
	}
	return "local." + host + ".disk" + strconv.FormatUint(uint64(n), 10), "local"
}

func isHex(s string) bool {
	if len(s) != 16 && len(s) != 32 && len(s) != 24 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

// guidOf returns "{...}" of \\?\Volume{...}\.
func guidOf(p string) string {
	i, j := strings.IndexByte(p, '{'), strings.IndexByte(p, '}')
	if i < 0 || j < i {
		return ""
	}
	return p[i : j+1]
}

// WMI error codes (HRESULT / SCODE) that call for a specific hint.
const (
	wbemEAccessDenied    = 0x80041003
	eAccessDenied        = 0x80070005
	wbemEInvalidNS       = 0x8004100E
	wbemEInvalidClass    = 0x80041010
	wbemEInvalidQuery    = 0x80041017
	wbemEProviderFailure = 0x80041004
)

// WMICode returns the WMI status of a failed query: the SCODE of the COM
// exception when there is one (ExecQuery failures arrive as
// DISP_E_EXCEPTION with the WMI code inside), else the HRESULT.
func WMICode(err error) uint32 {
	var oe *ole.OleError
	if !errors.As(err, &oe) {
		return 0
	}
	if sc, ok := oe.SubError().(interface{ SCODE() uint32 }); ok && sc.SCODE() != 0 {
		return sc.SCODE()
	}
	return uint32(oe.Code())
}

// WMIError describes a failed WMI query as a ScanError with what to do.
func WMIError(src, object, namespace string, err error) model.ScanError {
	se := model.ScanError{Source: src, Object: object, Message: fmt.Sprintf("WMI query in %s failed: %v", namespace, err)}
	code := WMICode(err)
	msg := strings.ToLower(err.Error())
	switch {
	case code == wbemEAccessDenied || code == eAccessDenied || strings.Contains(msg, "access denied") || strings.Contains(msg, "access is denied"):
		se.Message = fmt.Sprintf("WMI access denied in %s: %v", namespace, err)
		se.Hint = "run vmstor elevated as a member of Administrators (or Hyper-V Administrators for root\\virtualization\\v2)"
	case code == wbemEInvalidNS:
		se.Hint = "the WMI namespace does not exist on this host: is the Hyper-V role (or the Storage module) installed?"
	case code == wbemEInvalidClass:
		se.Hint = "the WMI class does not exist on this Windows version"
	case code == wbemEInvalidQuery:
		se.Hint = "the WQL query was refused: report this as a vmstor bug"
	case code == wbemEProviderFailure:
		se.Hint = "the WMI provider failed: check the Application event log (WMI-Activity)"
	}
	if code != 0 {
		se.Message += fmt.Sprintf(" (0x%08X)", code)
	}
	return se
}
