// Package model is the domain model shared by every phase of vmstor: the VMs and
// their virtual disks (phase 1), the host storage resources and LUNs (phase 2),
// and the links between them that correlation fills in (phase 3).
//
// The JSON tags are the public contract of `vmstor scan -o json`; add fields,
// never rename them.
package model

import (
	"fmt"
	"slices"
	"time"
)

// SchemaVersion is the version of the JSON document. Bump it only for
// incompatible changes.
const SchemaVersion = 1

// Inventory is the result of one scan: everything vmstor found on one or more
// hosts, joined.
type Inventory struct {
	Version   int       `json:"version"`
	ScannedAt time.Time `json:"scanned_at"`
	// DurationSeconds is the wall time of the whole scan.
	DurationSeconds float64 `json:"duration_seconds"`
	// Sources names what was scanned, e.g. "libvirt:qemu:///system",
	// "linux:/" or "vsphere:https://vc.example/sdk".
	Sources []string `json:"sources,omitempty"`
	Hosts   []Host   `json:"hosts,omitempty"`
	VMs     []VM     `json:"vms"`
	// Resources are the storage layers above the LUNs: partitions,
	// device-mapper maps, md arrays, loop devices, filesystems, NFS/SMB
	// mounts, datastores. Each names the resources directly beneath it.
	Resources []Resource `json:"resources,omitempty"`
	LUNs      []LUN      `json:"luns"`
	// Errors lists every part of the scan that failed; the rest of the
	// inventory is still valid. A scan with errors is a partial scan.
	Errors []ScanError `json:"errors,omitempty"`
}

// Platform names a hypervisor platform.
type Platform string

const (
	PlatformLibvirt Platform = "libvirt"
	PlatformVSphere Platform = "vsphere"
	PlatformHyperV  Platform = "hyperv"
	PlatformProxmox Platform = "proxmox"
)

// Host is a hypervisor host.
type Host struct {
	Name     string   `json:"name"`
	Platform Platform `json:"platform"`
	Cluster  string   `json:"cluster,omitempty"`
	// State is the platform's connection/power state, e.g. "connected".
	State string `json:"state,omitempty"`
	// Stale is set when the host's storage facts could not be refreshed
	// (e.g. an ESXi host disconnected from vCenter): they are the last
	// ones the platform knew.
	Stale bool `json:"stale,omitempty"`
}

// VM is a virtual machine and its virtual disks.
type VM struct {
	// ID is the platform's stable id: libvirt/Hyper-V UUID, vSphere
	// instance UUID, Proxmox VMID.
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	Host     string   `json:"host"`
	Cluster  string   `json:"cluster,omitempty"`
	Platform Platform `json:"platform"`
	// State is the platform's state name: running, shut off, poweredOn...
	State string `json:"state"`
	Disks []Disk `json:"disks"`
}

// DiskKind classifies a virtual disk by how it connects to host storage.
type DiskKind string

const (
	DiskImage       DiskKind = "image"       // an image file: qcow2, raw, VMDK, VHDX
	DiskPassthrough DiskKind = "passthrough" // a host block device or LUN: PTD, RDM, block, hostdev
	DiskNetwork     DiskKind = "network"     // a network target the hypervisor opens itself: iSCSI, RBD, NBD
	DiskOther       DiskKind = "other"       // anything else (vVol, vSAN object, directory)
)

// Disk is one virtual disk of a VM with its connecting information (phase 1)
// and, after correlation, the storage beneath it (phase 3).
type Disk struct {
	// Name is the guest-visible name: libvirt target (vda, sdb), vSphere
	// label ("Hard disk 1"), Hyper-V controller/slot, Proxmox key (scsi0).
	Name string   `json:"name"`
	Kind DiskKind `json:"kind"`
	// Device is the guest device type: disk, lun, cdrom, floppy.
	Device string `json:"device,omitempty"`
	Bus    string `json:"bus,omitempty"`
	// Source is the connecting information: the image path, the host
	// device, or the network target.
	Source string `json:"source"`
	// Format is the image format: qcow2, raw, vmdk, vhdx...
	Format string `json:"format,omitempty"`
	// Backing is the backing (snapshot/delta) chain beneath Source, nearest
	// first, as the platform reports it.
	Backing       []string `json:"backing,omitempty"`
	CapacityBytes uint64   `json:"capacity_bytes,omitempty"`
	ReadOnly      bool     `json:"readonly,omitempty"`
	// Network is set for network disks.
	Network *NetworkTarget `json:"network,omitempty"`
	// Datastore is the datastore or storage pool the platform places the
	// disk in (vSphere datastore, libvirt pool, Proxmox storage id).
	Datastore string `json:"datastore,omitempty"`
	// Anchor says where Source sits in the host storage graph; phase 1 or
	// the host-local locate step fills it, correlation starts from it.
	Anchor *Anchor `json:"anchor,omitempty"`

	// LUNs are the ids of every LUN beneath the disk (phase 3).
	LUNs []string `json:"luns"`
	// Chain is each layer from the disk down to the LUNs (phase 3).
	Chain []Layer `json:"chain,omitempty"`
	// Error says why the disk could not be resolved, when it could not.
	Error string `json:"error,omitempty"`

	// ActivePaths is the number of active paths from the VM's host to the
	// LUNs beneath the disk (the fewest over the LUNs, when there are
	// several: the weakest extent decides). Unset when unknown or when no
	// LUN is beneath (NFS). Source: vSphere host multipathInfo.
	ActivePaths *int `json:"active_paths,omitempty"`
	// LUNHosts are the hosts that see every LUN beneath the disk: where the
	// VM could run with this disk. Source: vSphere host storageDevice.
	LUNHosts []string `json:"lun_hosts,omitempty"`
}

// NetworkTarget is the remote end of a network disk.
type NetworkTarget struct {
	// Protocol: iscsi, rbd, nbd, gluster, nfs, http, https, sheepdog...
	Protocol string `json:"protocol"`
	// Hosts are "host:port" (or "host") of the servers, monitors or portals.
	Hosts []string `json:"hosts,omitempty"`
	// Name is the protocol's object name: iSCSI "IQN/LUN", RBD "pool/image",
	// NBD export.
	Name string `json:"name,omitempty"`
}

// Anchor is the starting point of correlation for a disk. Exactly the fields
// that are known are set; correlation tries them in the order of the fields.
type Anchor struct {
	// LUN is a LUN id, when the platform names the LUN directly (RDM, a
	// pass-through disk by id).
	LUN string `json:"lun,omitempty"`
	// Resource is a resource id (a datastore, a volume).
	Resource string `json:"resource,omitempty"`
	// DevNo is "major:minor": for an image file the st_dev of the
	// filesystem holding it, for a block device its st_rdev.
	DevNo string `json:"devno,omitempty"`
	// Path is the source with symlinks resolved, as the host sees it.
	Path string `json:"path,omitempty"`
	// Host is the host whose storage holds the source.
	Host string `json:"host,omitempty"`
}

// Layer is one element of a disk's storage chain.
type Layer struct {
	// Level is the depth: 0 for the disk's own source, +1 for each layer down.
	Level int `json:"level"`
	// Kind is the layer kind: file, a ResourceKind, or "lun".
	Kind string `json:"kind"`
	// Name is what a person calls it: a path, a map name, a LUN id.
	Name string `json:"name"`
	// ID is the resource or LUN id.
	ID     string `json:"id,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// ResourceKind classifies a storage resource above the LUNs.
type ResourceKind string

const (
	ResDisk       ResourceKind = "disk"       // a whole block device; a path to a LUN when LUN is set
	ResPartition  ResourceKind = "partition"  // a partition of a block device
	ResMultipath  ResourceKind = "multipath"  // a dm-multipath map
	ResLVM        ResourceKind = "lvm"        // an LVM logical volume
	ResCrypt      ResourceKind = "crypt"      // a dm-crypt/LUKS mapping
	ResDM         ResourceKind = "dm"         // any other device-mapper map (linear, striped...)
	ResMD         ResourceKind = "md"         // an md RAID array
	ResLoop       ResourceKind = "loop"       // a loop device over a file
	ResFilesystem ResourceKind = "filesystem" // a mounted local filesystem
	ResNFS        ResourceKind = "nfs"        // an NFS mount or NFS datastore
	ResSMB        ResourceKind = "smb"        // an SMB/CIFS mount or share
	ResDatastore  ResourceKind = "datastore"  // a VMFS, vSAN or vVol datastore
	ResVolume     ResourceKind = "volume"     // a Windows volume, a ZFS zvol
	ResPool       ResourceKind = "pool"       // a storage pool (ZFS pool, Ceph pool)
)

// Resource is one storage layer the host sees above the LUNs.
type Resource struct {
	// ID is unique within an inventory, e.g. "blk:dm-3", "mnt:24", "ds:datastore-12".
	ID   string       `json:"id"`
	Host string       `json:"host,omitempty"`
	Kind ResourceKind `json:"kind"`
	// Name is the resource's own name: map name, mount point, datastore name.
	Name string `json:"name"`
	// Device is the device node (/dev/dm-3), when it has one.
	Device string `json:"device,omitempty"`
	// DevNo is "major:minor" of the device, or of the filesystem (st_dev).
	DevNo string `json:"devno,omitempty"`
	// Aliases are other names for the same resource: /dev/mapper/x,
	// /dev/vg/lv, /dev/disk/by-id/... links.
	Aliases []string `json:"aliases,omitempty"`
	// Type is the filesystem type or the device-mapper target (linear,
	// striped, crypt, raid1...), or the datastore type (VMFS, NFS41, vsan).
	Type string `json:"type,omitempty"`
	UUID string `json:"uuid,omitempty"`
	// Mountpoints are where a filesystem is mounted (all bind mounts too).
	Mountpoints []string `json:"mountpoints,omitempty"`
	// Remote is the remote end of a network filesystem: "server:/export",
	// "//server/share".
	Remote string `json:"remote,omitempty"`
	// BackingFile is the file behind a loop device.
	BackingFile string `json:"backing_file,omitempty"`
	SizeBytes   uint64 `json:"size_bytes,omitempty"`
	// FreeBytes is the free space of a filesystem or datastore, when known.
	FreeBytes *uint64 `json:"free_bytes,omitempty"`
	// Below are the ids of the resources directly beneath this one.
	Below []string `json:"below,omitempty"`
	// LUNs are the ids of LUNs directly beneath (a disk path, a VMFS extent).
	LUNs []string `json:"luns,omitempty"`
	// Error says what could not be read about this resource.
	Error string `json:"error,omitempty"`
}

// LUN is one logical unit (SCSI LU or NVMe namespace) with every host path to it.
type LUN struct {
	// ID is stable and the same on every host that sees the LUN, in the
	// kernel's wwid form: naa.<hex>, eui.<hex>, t10.<text>, or a fallback
	// (see IDSource).
	ID string `json:"id"`
	// IDSource says where ID came from: "vpd83" (device identification
	// page), "wwid" (kernel), "nvme" (namespace identify), "serial"
	// (vendor+product+serial, no designator), "local" (host-local fallback:
	// not the same on other hosts).
	IDSource string `json:"id_source,omitempty"`
	// Protocol is scsi or nvme.
	Protocol    string       `json:"protocol,omitempty"`
	Vendor      string       `json:"vendor,omitempty"`
	Product     string       `json:"product,omitempty"`
	Revision    string       `json:"revision,omitempty"`
	Serial      string       `json:"serial,omitempty"`
	SizeBytes   uint64       `json:"size_bytes,omitempty"`
	Designators []Designator `json:"designators,omitempty"`
	Array       *Array       `json:"array,omitempty"`
	// Volume and LUNPath place the LUN on its storage system, when known
	// (e.g. ONTAP volume "vol1" and path "/vol/vol1/lun0").
	Volume    string `json:"volume,omitempty"`
	LUNPath   string `json:"lun_path,omitempty"`
	UsedBytes uint64 `json:"used_bytes,omitempty"`
	// FactSources names where each enrichment fact came from: id (decoded
	// from the LUN id), inquiry, transport, vpd, group (from another LUN of
	// the same system), api. Keys are field names (array.system_name, volume...).
	FactSources map[string]string `json:"fact_sources,omitempty"`
	// ArrayFacts are further facts about the LUN on its storage system, by
	// name: svm, qtree, state, igroups (ONTAP REST), domain, user_cpg,
	// snap_cpg, vv_id (3PAR VPD 0xC0), storage_processor (Dell EMC VPD
	// 0xC0), volume_id (E-Series VPD 0xC8)... Each key's source is in
	// FactSources under the same key. Filled by package array.
	ArrayFacts map[string]string `json:"array_facts,omitempty"`
	// State is derived from the paths: ok, degraded, failed.
	State string `json:"state"`
	// IOErrors is the sum of the I/O error counters of all paths.
	IOErrors uint64 `json:"io_errors,omitempty"`
	// Hosts are the hosts that see this LUN.
	Hosts []string `json:"hosts,omitempty"`
	Paths []Path   `json:"paths"`
	// VendorVPD holds vendor-specific VPD pages (page code -> page bytes)
	// read from the device, for the array package to decode. Not exported
	// in JSON: the decoded facts are.
	VendorVPD map[uint8][]byte `json:"-"`
}

// Designator is one identification descriptor from SCSI VPD page 0x83 (or
// its NVMe equivalent).
type Designator struct {
	// Association: lun, target-port, target-device.
	Association string `json:"association"`
	// Type: naa, eui64, t10, name, relative-port, port-group, lu-group,
	// md5, uuid, vendor.
	Type string `json:"type"`
	// Protocol is the transport the designator belongs to, when the page
	// says (PIV set): fc, iscsi, sas...
	Protocol string `json:"protocol,omitempty"`
	// Value is the designator in its usual text form: lowercase hex for
	// binary ids, the string for text ones, decimal for port numbers.
	Value string `json:"value"`
}

// Array is the storage system that serves a LUN.
type Array struct {
	// Vendor is the company: NetApp, Pure Storage, Dell EMC, HPE, IBM, Hitachi.
	Vendor string `json:"vendor"`
	// Family is the product line: ONTAP, E-Series, FlashArray, PowerMax, 3PAR...
	Family string `json:"family,omitempty"`
	// Model is the array model, when known.
	Model string `json:"model,omitempty"`
	// LUNSerial is the LUN's serial on the array as decoded from its id
	// (NetApp's 12-character serial).
	LUNSerial string `json:"lun_serial,omitempty"`
	// SystemID identifies the system: an array serial, an id prefix shared
	// by its LUNs, an iSCSI target or NVMe subsystem NQN.
	SystemID   string   `json:"system_id,omitempty"`
	SystemName string   `json:"system_name,omitempty"`
	Addresses  []string `json:"addresses,omitempty"`
}

// Path is one host path to a LUN.
type Path struct {
	// Host is the host that owns the path (for multi-host inventories).
	Host string `json:"host,omitempty"`
	// Device is the host's name for the path: sdc, nvme0n1, vmhba2:C0:T1:L4.
	Device string `json:"device"`
	// HCTL is the SCSI address host:channel:target:lun.
	HCTL string `json:"hctl,omitempty"`
	// Transport: iscsi, fc, sas, virtio, ata, usb, spi, nvme (PCIe),
	// nvme-tcp, nvme-rdma, nvme-fc, nvme-loop, unknown.
	Transport string `json:"transport"`
	// Target is the target's name: iSCSI IQN, FC target WWPN, NVMe subsystem NQN.
	Target string `json:"target,omitempty"`
	// Address is where the target is reached: iSCSI portal "ip:port", FC
	// target WWNN, NVMe-oF traddr.
	Address string `json:"address,omitempty"`
	// Initiator is the host side: initiator IQN, HBA WWPN, host NQN.
	Initiator string `json:"initiator,omitempty"`
	// State is normalised: active, standby, failed, unknown.
	State string `json:"state"`
	// DeviceState is the raw state the platform reports (running, offline,
	// transport-offline, dead, LOGGED_IN...).
	DeviceState string `json:"device_state,omitempty"`
	IOErrors    uint64 `json:"io_errors,omitempty"`
}

// Path states.
const (
	PathActive  = "active"
	PathStandby = "standby"
	PathFailed  = "failed"
	PathUnknown = "unknown"
)

// LUN states.
const (
	LUNOK       = "ok"
	LUNDegraded = "degraded"
	LUNFailed   = "failed"
)

// ScanError is one failure of a scan, precise enough to act on.
type ScanError struct {
	// Source is the scanner that failed: "libvirt:qemu:///system", "linux", "vsphere:https://...".
	Source string `json:"source"`
	// Object is what failed: a VM, a device, a path.
	Object string `json:"object,omitempty"`
	// Message says what happened.
	Message string `json:"message"`
	// Hint says what to do about it.
	Hint string `json:"hint,omitempty"`
}

func (e ScanError) Error() string {
	s := e.Source
	if e.Object != "" {
		s += ": " + e.Object
	}
	s += ": " + e.Message
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Errorf builds a ScanError.
func Errorf(source, object, format string, args ...any) ScanError {
	return ScanError{Source: source, Object: object, Message: fmt.Sprintf(format, args...)}
}

// WithHint returns e with a hint added.
func (e ScanError) WithHint(hint string) ScanError { e.Hint = hint; return e }

// LUNState derives a LUN's state from its paths: failed when no path is
// active, degraded when some path has failed, ok otherwise.
func LUNState(paths []Path) string {
	active, bad := 0, 0
	for _, p := range paths {
		switch p.State {
		case PathActive:
			active++
		case PathFailed:
			bad++
		}
	}
	switch {
	case active == 0:
		return LUNFailed
	case bad > 0:
		return LUNDegraded
	default:
		return LUNOK
	}
}

// AppendNew appends each of src that dst does not hold yet. The lists it
// serves (hosts, addresses, LUN ids of one object) are short, so a linear
// search beats building a set.
func AppendNew(dst []string, src ...string) []string {
	for _, s := range src {
		if !slices.Contains(dst, s) {
			dst = append(dst, s)
		}
	}
	return dst
}
