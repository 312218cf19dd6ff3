// Package hyperv reads Microsoft Hyper-V virtual machines and their virtual
// disks (phase 1) from WMI (root\virtualization\v2) on the Hyper-V host: a
// handful of bulk WQL queries, joined in memory. VHD/VHDX paths are anchored
// on the host's volumes by package winstorage's Locator; pass-through disks
// are anchored at the host disk number ("disk:N").
//
// The joining is pure and runs on every OS (tests use WMI objects as the WMI
// library fills them); only the queries are Windows code.
package hyperv

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/vmstor/vmstor/model"
)

// ComputerSystem is Msvm_ComputerSystem: the host and every VM.
type ComputerSystem struct {
	Name         string // the VM GUID (the host's own entry has its host name)
	ElementName  string // display name
	Description  string // "Microsoft Virtual Machine"
	EnabledState uint16
}

// VirtualSystemSettingData is Msvm_VirtualSystemSettingData: a VM's settings,
// current (Realized), planned, or a checkpoint's.
type VirtualSystemSettingData struct {
	InstanceID              string // "Microsoft:<VM GUID>" for the realized settings
	VirtualSystemIdentifier string // the VM GUID
	VirtualSystemType       string // "Microsoft:Hyper-V:System:Realized"
	ElementName             string
}

// StorageAllocationSettingData is Msvm_StorageAllocationSettingData: a disk
// image (VHD/VHDX, ISO, VFD) inserted in a drive.
type StorageAllocationSettingData struct {
	InstanceID      string   // "Microsoft:<VM GUID>\<device>\...\L"
	ResourceType    uint16   // 31: logical disk
	ResourceSubType string   // "Microsoft:Hyper-V:Virtual Hard Disk"
	Parent          string   // WMI path of the drive (Msvm_ResourceAllocationSettingData)
	HostResource    []string // [0] is the image path
	ElementName     string
	EnabledState    uint16 // 2 enabled, 3 disabled (ejected)
}

// ResourceAllocationSettingData is Msvm_ResourceAllocationSettingData: the
// controllers and drives, and pass-through disks.
type ResourceAllocationSettingData struct {
	InstanceID      string
	ResourceType    uint16 // 5 IDE controller, 6 SCSI controller, 14 floppy, 16 DVD, 17 disk drive
	ResourceSubType string // "Microsoft:Hyper-V:Synthetic Disk Drive", "Microsoft:Hyper-V:Physical Disk Drive"
	Parent          string // WMI path of the controller
	Address         string // IDE controller number
	AddressOnParent string // slot on the controller
	HostResource    []string
	ElementName     string
}

// DiskDrive is Msvm_DiskDrive: a host disk a pass-through drive uses.
type DiskDrive struct {
	DeviceID    string
	DriveNumber uint32 // = Win32_DiskDrive.Index = N of \\.\PHYSICALDRIVEN
	ElementName string
}

// Results are the answers of the bulk queries.
type Results struct {
	Systems  []ComputerSystem
	Settings []VirtualSystemSettingData
	Storage  []StorageAllocationSettingData
	Devices  []ResourceAllocationSettingData
	Drives   []DiskDrive
}

// Subtypes and types vmstor joins on.
const (
	typeRealized  = "Microsoft:Hyper-V:System:Realized"
	subVHD        = "Microsoft:Hyper-V:Virtual Hard Disk"
	subISO        = "Microsoft:Hyper-V:Virtual CD/DVD Disk"
	subVFD        = "Microsoft:Hyper-V:Virtual Floppy Disk"
	subPassthru   = "Microsoft:Hyper-V:Physical Disk Drive"
	subIDE        = "Microsoft:Hyper-V:Emulated IDE Controller"
	subSCSI       = "Microsoft:Hyper-V:Synthetic SCSI Controller"
	subDVDDrive   = "Microsoft:Hyper-V:Synthetic DVD Drive"
	subFloppyDrv  = "Microsoft:Hyper-V:Synthetic Diskette Drive"
	subDiskDrive  = "Microsoft:Hyper-V:Synthetic Disk Drive"
	rtIDE         = 5
	rtSCSI        = 6
	rtLogicalDisk = 31
)

// states names Msvm_ComputerSystem.EnabledState values.
var states = map[uint16]string{
	2: "running", 3: "off", 4: "shutting down", 6: "offline", 10: "starting",
	32768: "paused", 32769: "saved", 32770: "starting", 32771: "checkpointing",
	32773: "saving", 32774: "stopping", 32776: "pausing", 32777: "resuming",
}

// State names an EnabledState.
func State(s uint16) string {
	if n, ok := states[s]; ok {
		return n
	}
	return "state " + strconv.Itoa(int(s))
}

// isGUID says whether s is a GUID as Hyper-V names VMs (8-4-4-4-12 hex).
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}

// WMIPathKey returns the value of key in a WMI object path such as
// \\HV01\root\virtualization\v2:Msvm_ResourceAllocationSettingData.InstanceID="Microsoft:...\\...\\0\\0\\D"
// with its escapes (\\ and \") undone.
func WMIPathKey(p, key string) (string, bool) {
	// The namespace part (\\server\ns:) has no '='; the class and the
	// first key follow its last ':'. Values may hold ':' and '.'.
	eq := strings.IndexByte(p, '=')
	if eq < 0 {
		return "", false
	}
	head := p[:eq]
	c := strings.LastIndexByte(head, ':')
	dot := strings.IndexByte(head[c+1:], '.')
	if dot < 0 {
		return "", false
	}
	rest := p[c+1+dot+1:]
	for rest != "" {
		name, after, ok := strings.Cut(rest, "=")
		if !ok {
			return "", false
		}
		var val strings.Builder
		n := 0
		if strings.HasPrefix(after, `"`) {
			n = 1
			closed := false
			for n < len(after) {
				c := after[n]
				if c == '\\' && n+1 < len(after) {
					val.WriteByte(after[n+1])
					n += 2
					continue
				}
				n++
				if c == '"' {
					closed = true
					break
				}
				val.WriteByte(c)
			}
			if !closed {
				return "", false
			}
		} else {
			for n < len(after) && after[n] != ',' {
				val.WriteByte(after[n])
				n++
			}
		}
		if strings.EqualFold(name, key) {
			return val.String(), true
		}
		rest = strings.TrimPrefix(after[n:], ",")
	}
	return "", false
}

// settingsKey is the settings an InstanceID belongs to: the part before the
// first backslash, "Microsoft:<VM or checkpoint GUID>", upper-cased.
func settingsKey(instanceID string) string {
	k, _, _ := strings.Cut(instanceID, `\`)
	return strings.ToUpper(k)
}

// controller is a VM's IDE or SCSI controller.
type controller struct {
	bus    string // ide, scsi
	number int
}

// Join builds the VMs of one host from the query results: the current
// (realized) settings only, not checkpoints. Disks that cannot be placed keep
// what is known, carry Disk.Error and add a ScanError.
func Join(src, host string, r Results) ([]model.VM, []model.ScanError) {
	var errs []model.ScanError
	vms := map[string]*model.VM{} // by upper-case GUID
	var order []string
	for _, cs := range r.Systems {
		if !isGUID(cs.Name) { // the host's own Msvm_ComputerSystem
			continue
		}
		g := strings.ToUpper(cs.Name)
		vms[g] = &model.VM{ID: strings.ToLower(cs.Name), Name: cs.ElementName, Host: host, Platform: model.PlatformHyperV,
			State: State(cs.EnabledState), Disks: []model.Disk{}}
		order = append(order, g)
	}
	realized := map[string]string{} // settings key -> VM GUID
	for _, s := range r.Settings {
		if s.VirtualSystemType != typeRealized {
			continue
		}
		g := strings.ToUpper(s.VirtualSystemIdentifier)
		if g == "" {
			g = strings.TrimPrefix(settingsKey(s.InstanceID), "MICROSOFT:")
		}
		if _, ok := vms[g]; ok {
			realized[settingsKey(s.InstanceID)] = g
		}
	}
	// Without the settings query, fall back on the documented form of the
	// realized settings' InstanceID.
	have := map[string]bool{}
	for _, g := range realized {
		have[g] = true
	}
	for _, g := range order {
		if !have[g] {
			realized["MICROSOFT:"+g] = g
		}
	}
	vmOf := func(instanceID string) *model.VM {
		return vms[realized[settingsKey(instanceID)]]
	}

	// Controllers: IDE by Address, SCSI numbered in the order WMI lists
	// them per VM (the order Hyper-V Manager shows).
	devs := map[string]ResourceAllocationSettingData{}
	ctrls := map[string]controller{}
	scsiCount := map[*model.VM]int{}
	for _, d := range r.Devices {
		vm := vmOf(d.InstanceID)
		if vm == nil {
			continue
		}
		id := strings.ToUpper(d.InstanceID)
		devs[id] = d
		switch {
		case d.ResourceType == rtIDE || d.ResourceSubType == subIDE:
			n, err := strconv.Atoi(d.Address)
			if err != nil {
				n = -1
			}
			ctrls[id] = controller{"ide", n}
		case d.ResourceType == rtSCSI || d.ResourceSubType == subSCSI:
			ctrls[id] = controller{"scsi", scsiCount[vm]}
			scsiCount[vm]++
		}
	}
	place := func(drive ResourceAllocationSettingData) (name, bus string) {
		slot := drive.AddressOnParent
		if drive.ResourceSubType == subFloppyDrv {
			return "Floppy " + slot, "floppy"
		}
		cid, ok := WMIPathKey(drive.Parent, "InstanceID")
		c, known := ctrls[strings.ToUpper(cid)]
		if !ok || !known {
			return "drive " + drive.InstanceID, ""
		}
		num := "?"
		if c.number >= 0 {
			num = strconv.Itoa(c.number)
		}
		return strings.ToUpper(c.bus) + " " + num + ":" + slot, c.bus
	}

	drives := map[string]DiskDrive{}
	for _, d := range r.Drives {
		drives[strings.ToUpper(d.DeviceID)] = d
	}

	for _, s := range r.Storage {
		vm := vmOf(s.InstanceID)
		if vm == nil || (s.ResourceType != 0 && s.ResourceType != rtLogicalDisk) {
			continue
		}
		disk := model.Disk{Kind: model.DiskImage, Device: "disk", LUNs: []string{}}
		switch s.ResourceSubType {
		case subVHD:
		case subISO:
			disk.Device, disk.ReadOnly = "cdrom", true
		case subVFD:
			disk.Device = "floppy"
		default:
			continue
		}
		if len(s.HostResource) > 0 {
			disk.Source = s.HostResource[0]
		}
		disk.Format = formatOf(disk.Source)
		driveID, ok := WMIPathKey(s.Parent, "InstanceID")
		drive, known := devs[strings.ToUpper(driveID)]
		if ok && known {
			disk.Name, disk.Bus = place(drive)
		} else {
			disk.Name = s.ElementName
			disk.Error = fmt.Sprintf("the drive holding this image (%s) is not among the VM's settings", s.Parent)
			errs = append(errs, model.ScanError{Source: src, Object: vmObject(vm) + " " + disk.Source, Message: disk.Error})
		}
		if disk.Source == "" {
			if disk.Device != "disk" {
				continue // an empty DVD or floppy drive
			}
			disk.Kind = model.DiskOther
			disk.Error = "the virtual hard disk has no path (HostResource is empty)"
			errs = append(errs, model.ScanError{Source: src, Object: vmObject(vm) + " " + disk.Name, Message: disk.Error})
		}
		vm.Disks = append(vm.Disks, disk)
	}

	for _, d := range r.Devices {
		if d.ResourceSubType != subPassthru {
			continue
		}
		vm := vmOf(d.InstanceID)
		if vm == nil {
			continue
		}
		disk := model.Disk{Kind: model.DiskPassthrough, Device: "disk", LUNs: []string{}}
		disk.Name, disk.Bus = place(d)
		if len(d.HostResource) == 0 || d.HostResource[0] == "" {
			disk.Kind = model.DiskOther
			disk.Error = "pass-through drive without a host disk (HostResource is empty)"
			errs = append(errs, model.ScanError{Source: src, Object: vmObject(vm) + " " + disk.Name, Message: disk.Error,
				Hint: "the host disk was removed or is offline-missing; check Hyper-V Manager"})
			vm.Disks = append(vm.Disks, disk)
			continue
		}
		disk.Source = d.HostResource[0]
		devID, ok := WMIPathKey(d.HostResource[0], "DeviceID")
		dd, known := drives[strings.ToUpper(devID)]
		if !ok || !known {
			disk.Kind = model.DiskOther
			disk.Error = fmt.Sprintf("host disk %s is not among Msvm_DiskDrive", d.HostResource[0])
			errs = append(errs, model.ScanError{Source: src, Object: vmObject(vm) + " " + disk.Name, Message: disk.Error})
			vm.Disks = append(vm.Disks, disk)
			continue
		}
		n := strconv.FormatUint(uint64(dd.DriveNumber), 10)
		disk.Source = `\\.\PHYSICALDRIVE` + n
		disk.Anchor = &model.Anchor{Resource: "disk:" + n, Host: host}
		vm.Disks = append(vm.Disks, disk)
	}

	out := make([]model.VM, 0, len(order))
	for _, g := range order {
		vm := vms[g]
		sort.SliceStable(vm.Disks, func(i, j int) bool { return diskLess(vm.Disks[i].Name, vm.Disks[j].Name) })
		out = append(out, *vm)
	}
	return out, errs
}

func vmObject(vm *model.VM) string { return fmt.Sprintf("vm %s (%s)", vm.Name, vm.ID) }

// diskLess orders "IDE 0:1" before "SCSI 0:2" before "SCSI 0:10".
func diskLess(a, b string) bool {
	pa, sa, _ := strings.Cut(a, ":")
	pb, sb, _ := strings.Cut(b, ":")
	if pa != pb {
		return pa < pb
	}
	na, ea := strconv.Atoi(sa)
	nb, eb := strconv.Atoi(sb)
	if ea == nil && eb == nil {
		return na < nb
	}
	return a < b
}

func formatOf(p string) string {
	switch ext := strings.ToLower(path.Ext(strings.ReplaceAll(p, `\`, "/"))); ext {
	case ".vhdx", ".avhdx":
		return "vhdx"
	case ".vhd", ".avhd":
		return "vhd"
	case ".iso":
		return "iso"
	case ".vfd":
		return "vfd"
	}
	return ""
}
