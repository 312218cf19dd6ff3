package vsphere

import (
	"fmt"
	"sort"
	"strings"

	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmstor/vmstor/model"
)

// hostLUN is what one host knows of one LUN.
type hostLUN struct {
	active int
}

// graph is the lookup tables the VM disks are resolved against.
type graph struct {
	hostName    map[string]string // host moref -> name
	hostCluster map[string]string // host moref -> cluster name
	dsName      map[string]string // datastore moref -> name
	dsByName    map[string]string // datastore name -> moref
	dsType      map[string]string // datastore moref -> summary.type
	dsLUNs      map[string][]string
	byUUID      map[string]string             // ScsiLun.uuid or vml id -> LUN id
	seen        map[string]map[string]hostLUN // LUN id -> host moref -> facts
}

func newGraph() *graph {
	return &graph{
		hostName: map[string]string{}, hostCluster: map[string]string{},
		dsName: map[string]string{}, dsByName: map[string]string{}, dsType: map[string]string{},
		dsLUNs: map[string][]string{}, byUUID: map[string]string{}, seen: map[string]map[string]hostLUN{},
	}
}

// build turns what was read into the inventory.
func (s *Source) build(d *collected) *model.Inventory {
	inv := &model.Inventory{Version: model.SchemaVersion, Sources: []string{s.name}, VMs: []model.VM{}, LUNs: []model.LUN{}}
	inv.Errors = append(inv.Errors, d.errors...)
	g := newGraph()

	// Hosts and their LUNs.
	luns := map[string]*model.LUN{}
	for _, h := range d.hosts {
		name := h.name
		if name == "" {
			name = h.ref
		}
		g.hostName[h.ref] = name
		cluster := ""
		if h.parent.Type == "ClusterComputeResource" {
			cluster = d.clusters[h.parent.Value]
		}
		g.hostCluster[h.ref] = cluster
		host := model.Host{Name: name, Platform: model.PlatformVSphere, Cluster: cluster, State: h.state}
		for _, m := range h.missing {
			inv.Errors = append(inv.Errors, missingError(s.name, "host "+name, m))
		}
		if h.state != "" && h.state != string(types.HostSystemConnectionStateConnected) {
			host.Stale = true
			msg := fmt.Sprintf("the host is %s from vCenter: its VMs are listed, its storage is the last state vCenter knew", h.state)
			if h.storage == nil {
				msg = fmt.Sprintf("the host is %s from vCenter: its VMs are listed, its storage is unknown", h.state)
			}
			inv.Errors = append(inv.Errors, model.ScanError{Source: s.name, Object: "host " + name, Message: msg,
				Hint: "reconnect the host in vCenter (Connection > Connect) and scan again"})
		}
		inv.Hosts = append(inv.Hosts, host)
		if h.storage != nil {
			s.hostLUNs(h.ref, name, h.storage, luns, g)
		}
	}
	for _, l := range luns {
		l.State = model.LUNState(l.Paths)
		sort.Strings(l.Hosts)
		sortPaths(l.Paths)
		inv.LUNs = append(inv.LUNs, *l)
	}
	sort.Slice(inv.LUNs, func(i, j int) bool { return inv.LUNs[i].ID < inv.LUNs[j].ID })

	// Datastores.
	for _, ds := range d.datastores {
		r := datastoreResource(ds, g)
		for _, m := range ds.missing {
			inv.Errors = append(inv.Errors, missingError(s.name, "datastore "+r.Name, m))
		}
		if r.Error != "" {
			inv.Errors = append(inv.Errors, model.ScanError{Source: s.name, Object: "datastore " + r.Name, Message: r.Error})
		}
		inv.Resources = append(inv.Resources, r)
	}
	sort.Slice(inv.Resources, func(i, j int) bool { return inv.Resources[i].ID < inv.Resources[j].ID })

	// VMs.
	for i := range d.vms {
		vm := &d.vms[i]
		host := g.hostName[vm.host]
		if host == "" {
			host = vm.host
		}
		mvm := model.VM{ID: vm.uuid, Name: vm.name, Host: host, Cluster: g.hostCluster[vm.host],
			Platform: model.PlatformVSphere, State: vm.power, Disks: []model.Disk{}}
		if mvm.ID == "" {
			// config is unreadable (missing set): the moref is still
			// stable within this vCenter.
			mvm.ID = vm.ref
		}
		if mvm.Name == "" {
			mvm.Name = vm.ref
		}
		for _, m := range vm.missing {
			inv.Errors = append(inv.Errors, missingError(s.name, "vm "+mvm.Name, m))
		}
		for _, rd := range vm.disks {
			mvm.Disks = append(mvm.Disks, g.disk(rd, vm.host))
		}
		inv.VMs = append(inv.VMs, mvm)
	}
	sort.Slice(inv.VMs, func(i, j int) bool {
		a, b := inv.VMs[i], inv.VMs[j]
		if a.Host != b.Host {
			return a.Host < b.Host
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.ID < b.ID
	})
	sort.Slice(inv.Hosts, func(i, j int) bool { return inv.Hosts[i].Name < inv.Hosts[j].Name })
	return inv
}

// hostLUNs adds one host's LUNs, with its paths, to luns.
func (s *Source) hostLUNs(ref, host string, sd *types.HostStorageDeviceInfo, luns map[string]*model.LUN, g *graph) {
	hbas := map[string]types.BaseHostHostBusAdapter{}
	for _, a := range sd.HostBusAdapter {
		hbas[a.GetHostHostBusAdapter().Key] = a
	}
	paths := map[string][]types.HostMultipathInfoPath{} // ScsiLun key -> paths
	if sd.MultipathInfo != nil {
		for _, mp := range sd.MultipathInfo.Lun {
			paths[mp.Lun] = append(paths[mp.Lun], mp.Path...)
		}
	}
	for _, bl := range sd.ScsiLun {
		sl := bl.GetScsiLun()
		id, src := lunID(sl.CanonicalName, host)
		if id == "" {
			continue
		}
		g.byUUID[uuidKey(sl.Uuid)] = id
		for _, desc := range sl.Descriptor {
			if strings.HasPrefix(desc.Id, "vml.") {
				g.byUUID[uuidKey(desc.Id)] = id
			}
		}
		l := luns[id]
		if l == nil {
			l = &model.LUN{ID: id, IDSource: src, Protocol: "scsi", Paths: []model.Path{}}
			l.Vendor = strings.TrimSpace(sl.Vendor)
			l.Product = strings.TrimSpace(sl.Model)
			l.Revision = strings.TrimSpace(sl.Revision)
			l.Serial = serialOf(sl)
			if typ, val, ok := strings.Cut(id, "."); ok && (typ == "naa" || typ == "eui") {
				l.Designators = []model.Designator{{Association: "lun", Type: map[string]string{"naa": "naa", "eui": "eui64"}[typ], Value: val}}
			}
			luns[id] = l
		}
		if disk, ok := bl.(*types.HostScsiDisk); ok && l.SizeBytes == 0 {
			l.SizeBytes = uint64(disk.Capacity.Block) * uint64(disk.Capacity.BlockSize)
		}
		l.Hosts = model.AppendNew(l.Hosts, host)
		active := 0
		for _, p := range paths[sl.Key] {
			mp := modelPath(host, p, hbas[p.Adapter])
			if mp.State == model.PathActive {
				active++
			}
			if strings.HasPrefix(mp.Transport, "nvme") {
				l.Protocol = "nvme"
			}
			l.Paths = append(l.Paths, mp)
		}
		if g.seen[id] == nil {
			g.seen[id] = map[string]hostLUN{}
		}
		g.seen[id][ref] = hostLUN{active: active}
	}
}

// modelPath converts one multipath path. Device is the ESXi runtime name
// (vmhba2:C0:T1:L4), the name an ESXi administrator uses.
func modelPath(host string, p types.HostMultipathInfoPath, hba types.BaseHostHostBusAdapter) model.Path {
	raw := p.PathState
	if raw == "" {
		raw = p.State
	}
	mp := model.Path{Host: host, Device: p.Name, State: pathState(raw), DeviceState: raw, Transport: "unknown"}
	if hctl, ok := runtimeHCTL(p.Name); ok {
		mp.HCTL = hctl
	}
	switch t := p.Transport.(type) {
	case *types.HostFibreChannelOverEthernetTargetTransport:
		mp.Transport = "fc"
		mp.Target, mp.Address = wwn(t.PortWorldWideName), wwn(t.NodeWorldWideName)
	case *types.HostFibreChannelTargetTransport:
		mp.Transport = "fc"
		mp.Target, mp.Address = wwn(t.PortWorldWideName), wwn(t.NodeWorldWideName)
	case *types.HostInternetScsiTargetTransport:
		mp.Transport = "iscsi"
		mp.Target = t.IScsiName
		if len(t.Address) > 0 {
			mp.Address = t.Address[0]
		}
	case *types.HostSerialAttachedTargetTransport:
		mp.Transport = "sas"
	case *types.HostParallelScsiTargetTransport:
		mp.Transport = "spi"
	case *types.HostPcieTargetTransport:
		mp.Transport = "nvme"
	case *types.HostTcpTargetTransport:
		mp.Transport = "nvme-tcp"
	case *types.HostRdmaTargetTransport:
		mp.Transport = "nvme-rdma"
	}
	switch h := hba.(type) {
	case *types.HostFibreChannelOverEthernetHba:
		mp.Initiator = wwn(h.PortWorldWideName)
	case *types.HostFibreChannelHba:
		mp.Initiator = wwn(h.PortWorldWideName)
	case *types.HostInternetScsiHba:
		mp.Initiator = h.IScsiName
	}
	return mp
}

// pathState normalises a MultipathState (active, standby, disabled, dead,
// unknown). A disabled path is turned off by an administrator: it carries
// no I/O and gives no redundancy, so it counts as failed; DeviceState
// keeps the raw word.
func pathState(s string) string {
	switch strings.ToLower(s) {
	case "active":
		return model.PathActive
	case "standby":
		return model.PathStandby
	case "dead", "disabled", "off", "permanentdeviceloss":
		return model.PathFailed
	default:
		return model.PathUnknown
	}
}

// runtimeHCTL turns an ESXi runtime name vmhbaA:Cc:Tt:Ll into "A:c:t:l".
func runtimeHCTL(name string) (string, bool) {
	parts := strings.Split(name, ":")
	if len(parts) != 4 {
		return "", false
	}
	for i, prefix := range []string{"vmhba", "C", "T", "L"} {
		n, ok := strings.CutPrefix(parts[i], prefix)
		if !ok || n == "" || strings.Trim(n, "0123456789") != "" {
			return "", false
		}
		parts[i] = n
	}
	return strings.Join(parts, ":"), true
}

// wwn prints a World Wide Name as the Linux fc_transport class does
// (0x and 16 lowercase hex digits), so paths from both read alike.
func wwn(v int64) string {
	if v == 0 {
		return ""
	}
	return fmt.Sprintf("0x%016x", uint64(v))
}

// datastoreResource models a datastore: VMFS over its extents' LUNs, NFS
// by its export, vSAN and vVol as datastores of their type.
func datastoreResource(ds rawDatastore, g *graph) model.Resource {
	r := model.Resource{ID: "ds:" + ds.ref, Kind: model.ResDatastore, Name: ds.name}
	if r.Name == "" {
		r.Name = ds.ref
	}
	if sum := ds.summary; sum != nil {
		r.Type = sum.Type
		if sum.Capacity > 0 {
			r.SizeBytes = uint64(sum.Capacity)
		}
		if sum.Capacity > 0 || sum.FreeSpace > 0 {
			free := uint64(max(sum.FreeSpace, 0))
			r.FreeBytes = &free
		}
		if sum.Url != "" {
			r.Mountpoints = []string{sum.Url}
		}
		if !sum.Accessible {
			r.Error = "the datastore is not accessible"
		}
	}
	switch info := ds.info.(type) {
	case *types.VmfsDatastoreInfo:
		if info.Vmfs != nil {
			r.UUID = info.Vmfs.Uuid
			if r.Type == "" {
				r.Type = "VMFS"
			}
			for _, e := range info.Vmfs.Extent {
				if id, _ := lunID(e.DiskName, ""); id != "" {
					r.LUNs = model.AppendNew(r.LUNs, id)
				}
			}
		}
	case *types.NasDatastoreInfo:
		r.Kind = model.ResNFS
		if n := info.Nas; n != nil {
			server := n.RemoteHost
			if server == "" && len(n.RemoteHostNames) > 0 {
				server = n.RemoteHostNames[0]
			}
			r.Remote = server + ":" + n.RemotePath
			if r.Type == "" {
				r.Type = n.Type
			}
			// NFS 4.1 multipathing: every server address is another
			// name of the same export.
			for _, h := range n.RemoteHostNames {
				if h != server {
					r.Aliases = append(r.Aliases, h+":"+n.RemotePath)
				}
			}
		}
	case *types.VsanDatastoreInfo:
		r.UUID = info.MembershipUuid
	case *types.VvolDatastoreInfo:
		if v := info.VvolDS; v != nil {
			r.UUID = v.ScId
			for _, a := range v.StorageArray {
				r.Aliases = append(r.Aliases, strings.TrimSpace(fmt.Sprintf("array:%s %s %s", a.Name, a.VendorId, a.ModelId)))
			}
			// The VMs' I/O goes through the protocol endpoints: block PEs
			// are LUNs, NFS PEs are exports.
			for _, hpe := range v.HostPE {
				for _, pe := range hpe.ProtocolEndpoint {
					if pe.DeviceId != "" {
						if id, _ := lunID(pe.DeviceId, ""); id != "" {
							r.LUNs = model.AppendNew(r.LUNs, id)
						}
					}
					if pe.NfsServer != "" && r.Remote == "" {
						r.Remote = pe.NfsServer + ":" + pe.NfsDir
					}
				}
			}
		}
	}
	g.dsName[ds.ref] = r.Name
	g.dsByName[r.Name] = ds.ref
	g.dsType[ds.ref] = strings.ToLower(r.Type)
	g.dsLUNs[ds.ref] = r.LUNs
	return r
}

// disk resolves one virtual disk against the hosts and datastores.
func (g *graph) disk(rd rawDisk, hostRef string) model.Disk {
	d := model.Disk{Name: rd.label, Kind: rd.kind, Device: "disk", Bus: rd.bus, Source: rd.file,
		Format: rd.format, Backing: rd.chain, CapacityBytes: rd.capacity, LUNs: []string{}}
	dsRef := rd.datastore
	if dsRef == "" {
		// Older hosts leave backing.datastore unset: "[name] path" names it.
		if name, ok := datastoreOfPath(rd.file); ok {
			dsRef = g.dsByName[name]
		}
	}
	if dsRef != "" {
		d.Datastore = g.dsName[dsRef]
		if d.Datastore == "" {
			d.Datastore = dsRef
		}
	}
	var luns []string
	switch {
	case rd.backing == "RawDiskMappingVer1" || rd.kind == model.DiskPassthrough:
		if rd.compat == string(types.VirtualDiskCompatibilityModePhysicalMode) {
			d.Device = "lun"
		}
		id := g.byUUID[uuidKey(rd.lunUUID)]
		if id == "" && rd.deviceName != "" {
			id = g.byUUID[uuidKey(rd.deviceName)]
			if id == "" {
				// DeviceName may be the canonical name itself.
				if cid, src := lunID(strings.TrimPrefix(rd.deviceName, "/vmfs/devices/disks/"), ""); src == "vpd83" {
					id = cid
				}
			}
		}
		if id == "" {
			// No host reports the LUN: decode the id from the VML form.
			for _, v := range []string{rd.lunUUID, rd.deviceName} {
				if nid, ok := naaFromVML(v); ok {
					id = nid
					break
				}
			}
			if id != "" {
				d.Error = fmt.Sprintf("the mapped LUN %s is not seen by any host", id)
			}
		}
		d.Anchor = &model.Anchor{LUN: id, Path: rd.deviceName, Host: g.hostName[hostRef]}
		if id == "" {
			d.Anchor.LUN = ""
			d.Error = fmt.Sprintf("cannot tell which LUN the RDM maps (lunUuid %q, deviceName %q)", rd.lunUUID, rd.deviceName)
		} else {
			luns = []string{id}
		}
	case dsRef != "":
		d.Anchor = &model.Anchor{Resource: "ds:" + dsRef}
		luns = g.dsLUNs[dsRef]
		switch t := g.dsType[dsRef]; {
		case t == "vsan" || t == "vvol":
			// Objects of a vSAN or vVol datastore, not files on a LUN.
			d.Kind = model.DiskOther
		case t == "" && rd.objectID != "":
			// The datastore is unreadable, but only vSAN and vVol disks
			// carry a backing object id.
			d.Kind = model.DiskOther
		}
	default:
		if rd.kind == model.DiskImage {
			d.Error = fmt.Sprintf("the disk's datastore is unknown (%s backing, file %q)", rd.backing, rd.file)
		}
	}
	if len(luns) > 0 {
		fewest := -1
		var hosts map[string]bool
		for _, id := range luns {
			seen := g.seen[id]
			n := seen[hostRef].active
			if fewest < 0 || n < fewest {
				fewest = n
			}
			on := map[string]bool{}
			for h := range seen {
				if hosts == nil || hosts[h] {
					on[h] = true
				}
			}
			hosts = on
		}
		d.ActivePaths = &fewest
		for h := range hosts {
			d.LUNHosts = append(d.LUNHosts, g.hostName[h])
		}
		sort.Strings(d.LUNHosts)
	}
	return d
}

// datastoreOfPath returns the datastore name of a "[name] dir/file" path.
func datastoreOfPath(p string) (string, bool) {
	if !strings.HasPrefix(p, "[") {
		return "", false
	}
	name, _, ok := strings.Cut(p[1:], "]")
	return name, ok
}

func missingError(source, object string, m types.MissingProperty) model.ScanError {
	msg := "unknown fault"
	hint := ""
	if m.Fault.Fault != nil {
		msg = strings.TrimPrefix(fmt.Sprintf("%T", m.Fault.Fault), "*types.")
		if m.Fault.LocalizedMessage != "" {
			msg += ": " + m.Fault.LocalizedMessage
		}
		switch m.Fault.Fault.(type) {
		case *types.NoPermission, *types.NotAuthenticated:
			hint = "grant the scanning role the read-only privileges listed in docs/vsphere.md on this object"
		}
	}
	return model.ScanError{Source: source, Object: object,
		Message: fmt.Sprintf("property %s could not be read: %s", m.Path, msg), Hint: hint}
}

func sortPaths(p []model.Path) {
	sort.SliceStable(p, func(a, b int) bool {
		if p[a].Host != p[b].Host {
			return p[a].Host < p[b].Host
		}
		return p[a].Device < p[b].Device
	})
}

// serialOf returns the LUN's serial: ScsiLun.serialNumber, or, where ESXi
// reports it "unavailable", the durable name in the SERIALNUM namespace
// (the VPD page 0x80 serial).
func serialOf(sl *types.ScsiLun) string {
	if sn := strings.TrimSpace(sl.SerialNumber); sn != "" && sn != "unavailable" {
		return sn
	}
	for _, dn := range append([]types.ScsiLunDurableName{derefDurable(sl.DurableName)}, sl.AlternateName...) {
		if dn.Namespace == "SERIALNUM" && len(dn.Data) > 0 {
			return strings.TrimSpace(strings.Map(func(r rune) rune {
				if r < 0x20 || r > 0x7e {
					return -1
				}
				return r
			}, string(dn.Data)))
		}
	}
	return ""
}

func derefDurable(d *types.ScsiLunDurableName) types.ScsiLunDurableName {
	if d == nil {
		return types.ScsiLunDurableName{}
	}
	return *d
}
