package hyperv

import (
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"

	"github.com/vmstor/vmstor/model"
)

// VHDInfo is what Msvm_ImageManagementService.GetVirtualHardDiskSettingData
// says about one VHD/VHDX: its Msvm_VirtualHardDiskSettingData.
type VHDInfo struct {
	Path       string
	ParentPath string // set for differencing disks (checkpoints' .avhdx)
	// MaxInternalSize is the virtual size the guest sees, in bytes.
	MaxInternalSize uint64
	// Format: 2 VHD, 3 VHDX, 4 VHDSet.
	Format uint16
	// Type: 2 fixed, 3 dynamic, 4 differencing.
	Type uint16
}

// cimInstance is an embedded instance in CIM-XML (DSP0201), the form the
// SettingData out parameter takes.
type cimInstance struct {
	XMLName    xml.Name `xml:"INSTANCE"`
	ClassName  string   `xml:"CLASSNAME,attr"`
	Properties []struct {
		Name  string  `xml:"NAME,attr"`
		Type  string  `xml:"TYPE,attr"`
		Value *string `xml:"VALUE"`
	} `xml:"PROPERTY"`
}

// ParseVHDSettingData decodes the CIM-XML embedded instance of
// Msvm_VirtualHardDiskSettingData.
func ParseVHDSettingData(s string) (VHDInfo, error) {
	var inst cimInstance
	if err := xml.Unmarshal([]byte(s), &inst); err != nil {
		return VHDInfo{}, fmt.Errorf("VHD setting data is not CIM-XML: %w", err)
	}
	if inst.ClassName != "Msvm_VirtualHardDiskSettingData" {
		return VHDInfo{}, fmt.Errorf("VHD setting data is a %q, not Msvm_VirtualHardDiskSettingData", inst.ClassName)
	}
	var v VHDInfo
	for _, p := range inst.Properties {
		if p.Value == nil { // NULL
			continue
		}
		val := strings.TrimSpace(*p.Value)
		var err error
		switch p.Name {
		case "Path":
			v.Path = val
		case "ParentPath":
			v.ParentPath = val
		case "MaxInternalSize":
			v.MaxInternalSize, err = strconv.ParseUint(val, 10, 64)
		case "Format":
			v.Format, err = parseU16(val)
		case "Type":
			v.Type, err = parseU16(val)
		}
		if err != nil {
			return v, fmt.Errorf("VHD setting data: property %s = %q: %w", p.Name, val, err)
		}
	}
	return v, nil
}

func parseU16(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	return uint16(n), err
}

// maxChain bounds a differencing chain: a loop in parent paths (a corrupt
// chain) must end.
const maxChain = 64

// applyChain fills a disk's capacity and backing chain from the VHD
// information of its image and of each parent in turn (lookup returns the
// setting data of one path). It returns what could not be read.
func applyChain(d *model.Disk, lookup func(path string) (VHDInfo, error)) error {
	info, err := lookup(d.Source)
	if err != nil {
		return err
	}
	d.CapacityBytes = info.MaxInternalSize
	seen := map[string]bool{strings.ToLower(d.Source): true}
	for parent := info.ParentPath; parent != ""; {
		if seen[strings.ToLower(parent)] || len(d.Backing) >= maxChain {
			return fmt.Errorf("differencing chain of %s loops or exceeds %d levels at %s", d.Source, maxChain, parent)
		}
		seen[strings.ToLower(parent)] = true
		d.Backing = append(d.Backing, parent)
		p, err := lookup(parent)
		if err != nil {
			return fmt.Errorf("parent %s: %w", parent, err)
		}
		parent = p.ParentPath
	}
	return nil
}
