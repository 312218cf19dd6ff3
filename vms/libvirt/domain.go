package libvirt

import (
	"fmt"
	"strconv"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/vmstor/vmstor/model"
)

// volume is a storage pool volume resolved through the storage API.
type volume struct {
	// Path is virStorageVolGetPath: a file, a device node, or for network
	// pools the pool's own name for it ("rbdpool/image").
	Path string
	// Type is virStorageVolGetInfo's type: file, block, dir, network,
	// netdir, ploop.
	Type string
	// Capacity is virStorageVolGetInfo's capacity in bytes.
	Capacity uint64
	// Network is the remote end for volumes of network pools (rbd, gluster,
	// iscsi-direct), from the pool's <source><host> and type.
	Network *model.NetworkTarget
}

// volumeResolver resolves a <source pool= volume=> reference. The scan
// implements it over the storage pool API with a per-scan cache; tests use a
// map.
type volumeResolver interface {
	resolveVolume(pool, vol string) (volume, error)
}

// diskProblem is a disk that could not be fully described; it becomes a
// ScanError of the scan with the VM as its object.
type diskProblem struct {
	disk    string
	message string
	hint    string
	lost    bool // the lookup failed because the connection closed
}

// convertDomain turns one domain's XML (virDomainGetXMLDesc) into a VM. It is
// a pure function apart from the volume lookups, which go through vols. The
// VM's State is left to the caller: it is not in the XML.
func convertDomain(doc, host string, vols volumeResolver) (model.VM, []diskProblem, error) {
	var d libvirtxml.Domain
	if err := d.Unmarshal(doc); err != nil {
		return model.VM{}, nil, fmt.Errorf("parse domain XML: %w", err)
	}
	vm := model.VM{
		ID:       d.UUID,
		Name:     d.Name,
		Host:     host,
		Platform: model.PlatformLibvirt,
		Disks:    []model.Disk{},
	}
	if d.Devices == nil {
		return vm, nil, nil
	}
	var problems []diskProblem
	for i := range d.Devices.Disks {
		disk, p := convertDisk(&d.Devices.Disks[i], i, vols)
		vm.Disks = append(vm.Disks, disk)
		problems = append(problems, p...)
	}
	for i := range d.Devices.Hostdevs {
		disk, ok := convertHostdev(&d.Devices.Hostdevs[i], i)
		if ok {
			vm.Disks = append(vm.Disks, disk)
		}
	}
	return vm, problems, nil
}

// convertDisk maps one <disk>. index names disks that have no target.
func convertDisk(x *libvirtxml.DomainDisk, index int, vols volumeResolver) (model.Disk, []diskProblem) {
	d := model.Disk{
		Name:   fmt.Sprintf("disk%d", index),
		Device: x.Device,
		LUNs:   []string{},
	}
	if d.Device == "" {
		d.Device = "disk" // libvirt's default for <disk> without device=
	}
	if x.Target != nil {
		if x.Target.Dev != "" {
			d.Name = x.Target.Dev
		}
		d.Bus = x.Target.Bus
	}
	if x.Driver != nil {
		d.Format = x.Driver.Type
	}
	// A CD-ROM is read-only to the guest whether or not <readonly/> is given.
	d.ReadOnly = x.ReadOnly != nil || d.Device == "cdrom"
	d.Backing = backingChain(x.BackingStore)

	src := x.Source
	if src == nil {
		// libvirtxml always allocates Source for a <disk>; a zero value is
		// a disk with no type we know.
		d.Kind = model.DiskOther
		return d, nil
	}
	var problems []diskProblem
	switch {
	case src.File != nil:
		d.Kind = model.DiskImage
		d.Source = src.File.File
	case src.Block != nil:
		d.Kind = model.DiskPassthrough
		d.Source = src.Block.Dev
	case src.Dir != nil:
		// A host directory shown to the guest as a FAT image (vvfat).
		d.Kind = model.DiskOther
		d.Source = src.Dir.Dir
	case src.Network != nil:
		d.Kind = model.DiskNetwork
		d.Network = networkTarget(src.Network.Protocol, src.Network.Name, src.Network.Hosts)
		d.Source = networkURL(d.Network)
	case src.Volume != nil:
		problems = resolveDiskVolume(&d, src.Volume, vols)
	case src.NVME != nil:
		// The host NVMe controller is handed to QEMU's userspace driver:
		// a PCI device pass-through, not a block device the host sees.
		d.Kind = model.DiskOther
		d.Source = nvmeSource(src.NVME)
	case src.VHostUser != nil:
		d.Kind = model.DiskOther
		if src.VHostUser.UNIX != nil {
			d.Source = "vhost-user:" + src.VHostUser.UNIX.Path
		}
	case src.VHostVDPA != nil:
		d.Kind = model.DiskOther
		d.Source = "vhost-vdpa:" + src.VHostVDPA.Dev
	default:
		d.Kind = model.DiskOther
	}
	return d, problems
}

// resolveDiskVolume fills d for a <disk type='volume'> from the pool's volume.
func resolveDiskVolume(d *model.Disk, v *libvirtxml.DomainDiskSourceVolume, vols volumeResolver) []diskProblem {
	d.Datastore = v.Pool
	d.Source = v.Pool + "/" + v.Volume
	if vols == nil {
		d.Kind = model.DiskOther
		d.Error = "volume " + d.Source + " not resolved: no storage pool lookup"
		return nil
	}
	vol, err := vols.resolveVolume(v.Pool, v.Volume)
	if err != nil {
		d.Kind = model.DiskOther
		d.Error = fmt.Sprintf("cannot resolve volume %q in pool %q: %v", v.Volume, v.Pool, err)
		return []diskProblem{{
			lost:    connLost(err),
			disk:    d.Name,
			message: d.Error,
			hint:    fmt.Sprintf("check the pool is defined and active and holds the volume: virsh pool-list --all; virsh vol-list %s (a pool may need `virsh pool-refresh %s`)", v.Pool, v.Pool),
		}}
	}
	d.Source = vol.Path
	d.CapacityBytes = vol.Capacity
	switch vol.Type {
	case "file", "ploop":
		d.Kind = model.DiskImage
	case "block":
		d.Kind = model.DiskPassthrough
	case "network", "netdir":
		d.Kind = model.DiskNetwork
		d.Network = vol.Network
	default: // dir
		d.Kind = model.DiskOther
	}
	if v.Mode == "direct" && d.Kind == model.DiskPassthrough {
		// iSCSI pool volume opened by QEMU's own initiator: the host never
		// sees the LUN as a block device.
		d.Kind = model.DiskNetwork
	}
	return nil
}

// convertHostdev maps a SCSI <hostdev> to a pass-through disk; other hostdevs
// (PCI, USB, mdev, scsi_host vhost) are not disks of ours and give ok=false.
func convertHostdev(x *libvirtxml.DomainHostdev, index int) (model.Disk, bool) {
	if x.SubsysSCSI == nil {
		return model.Disk{}, false
	}
	d := model.Disk{
		Name:   fmt.Sprintf("hostdev%d", index), // libvirt's own alias scheme
		Device: "lun",
		Bus:    "scsi",
		LUNs:   []string{},
	}
	if x.Alias != nil && x.Alias.Name != "" {
		d.Name = x.Alias.Name
	}
	scsi := x.SubsysSCSI
	d.ReadOnly = scsi.ReadOnly != nil
	if scsi.Source == nil {
		d.Kind = model.DiskPassthrough
		return d, true
	}
	switch {
	case scsi.Source.Host != nil:
		d.Kind = model.DiskPassthrough
		d.Source = scsiHostSource(scsi.Source.Host)
	case scsi.Source.ISCSI != nil:
		d.Kind = model.DiskNetwork
		d.Network = networkTarget("iscsi", scsi.Source.ISCSI.Name, scsi.Source.ISCSI.Host)
		d.Source = networkURL(d.Network)
	default:
		d.Kind = model.DiskPassthrough
	}
	return d, true
}

// scsiHostSource is "scsi_host2:0:0:1": the adapter and bus:target:unit as
// libvirt names them, which is the host's H:C:T:L with H from the adapter.
func scsiHostSource(h *libvirtxml.DomainHostdevSubsysSCSISourceHost) string {
	s := ""
	if h.Adapter != nil {
		s = h.Adapter.Name
	}
	if a := h.Address; a != nil {
		s += ":" + uintOr(a.Bus) + ":" + uintOr(a.Target) + ":" + uintOr(a.Unit)
	}
	return s
}

// hostHCTL turns a hostdev Source "scsi_host2:0:0:1" into "2:0:0:1".
func hostHCTL(source string) (string, bool) {
	rest, ok := strings.CutPrefix(source, "scsi_host")
	if !ok {
		return "", false
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 4 {
		return "", false
	}
	for _, p := range parts {
		if _, err := strconv.ParseUint(p, 10, 32); err != nil {
			return "", false
		}
	}
	return rest, true
}

func uintOr(p *uint) string {
	if p == nil {
		return "0"
	}
	return strconv.FormatUint(uint64(*p), 10)
}

// networkTarget builds the remote end of a network disk. Hosts are
// "name:port", "name", or "unix:/path" for a UNIX socket.
func networkTarget(protocol, name string, hosts []libvirtxml.DomainDiskSourceHost) *model.NetworkTarget {
	t := &model.NetworkTarget{Protocol: protocol, Name: name}
	for _, h := range hosts {
		switch {
		case h.Transport == "unix" || (h.Socket != "" && h.Name == ""):
			t.Hosts = append(t.Hosts, "unix:"+h.Socket)
		case h.Port != "":
			t.Hosts = append(t.Hosts, joinHostPort(h.Name, h.Port))
		case h.Name != "":
			t.Hosts = append(t.Hosts, h.Name)
		}
	}
	return t
}

// joinHostPort is net.JoinHostPort without its dependency on the name being
// an address: IPv6 literals get brackets.
func joinHostPort(host, port string) string {
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	return host + ":" + port
}

// networkURL is the display form of a network target:
// "iscsi://10.0.0.5:3260/iqn.2001-05.com.example:t1/1",
// "rbd://mon1:6789,mon2/pool/image". It never carries credentials: libvirt
// keeps those in secrets, which are not read.
func networkURL(t *model.NetworkTarget) string {
	return t.Protocol + "://" + strings.Join(t.Hosts, ",") + "/" + strings.TrimPrefix(t.Name, "/")
}

// nvmeSource names an <disk type='nvme'> source: the PCI address of the
// host's NVMe controller and the namespace.
func nvmeSource(n *libvirtxml.DomainDiskSourceNVME) string {
	if n.PCI == nil {
		return "nvme (PCI pass-through)"
	}
	addr := ""
	if a := n.PCI.Address; a != nil {
		addr = pciAddress(a)
	}
	return fmt.Sprintf("nvme %s namespace %d (PCI pass-through)", addr, n.PCI.Namespace)
}

// pciAddress formats domain:bus:slot.function as lspci does.
func pciAddress(a *libvirtxml.DomainAddressPCI) string {
	v := func(p *uint) uint {
		if p == nil {
			return 0
		}
		return *p
	}
	return fmt.Sprintf("%04x:%02x:%02x.%x", v(a.Domain), v(a.Bus), v(a.Slot), v(a.Function))
}

// backingChain lists the <backingStore> chain, nearest first; it stops at the
// empty <backingStore/> that ends a chain.
func backingChain(b *libvirtxml.DomainDiskBackingStore) []string {
	var chain []string
	for depth := 0; b != nil && b.Source != nil && depth < 256; depth++ {
		s := b.Source
		switch {
		case s.File != nil:
			chain = append(chain, s.File.File)
		case s.Block != nil:
			chain = append(chain, s.Block.Dev)
		case s.Network != nil:
			chain = append(chain, networkURL(networkTarget(s.Network.Protocol, s.Network.Name, s.Network.Hosts)))
		case s.Volume != nil:
			chain = append(chain, s.Volume.Pool+"/"+s.Volume.Volume)
		case s.Dir != nil:
			chain = append(chain, s.Dir.Dir)
		default:
			return chain
		}
		b = b.BackingStore
	}
	return chain
}

// stateName is virsh's name for a virDomainState.
func stateName(s int32) string {
	switch s {
	case 0:
		return "no state"
	case 1:
		return "running"
	case 2:
		return "idle" // VIR_DOMAIN_BLOCKED
	case 3:
		return "paused"
	case 4:
		return "in shutdown"
	case 5:
		return "shut off"
	case 6:
		return "crashed"
	case 7:
		return "pmsuspended"
	default:
		return "unknown(" + strconv.Itoa(int(s)) + ")"
	}
}

// volumeTypeName is virsh's name for a virStorageVolType.
func volumeTypeName(t int8) string {
	switch t {
	case 0:
		return "file"
	case 1:
		return "block"
	case 2:
		return "dir"
	case 3:
		return "network"
	case 4:
		return "netdir"
	case 5:
		return "ploop"
	default:
		return "unknown(" + strconv.Itoa(int(t)) + ")"
	}
}
