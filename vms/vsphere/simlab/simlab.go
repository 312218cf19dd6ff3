// Package simlab starts a simulated vSphere datacenter in process: govmomi's
// vCenter simulator (vcsim), served over its real SOAP API on loopback with
// TLS and a password, plus what vcsim lacks and vmstor needs: NetApp ONTAP
// and Pure FlashArray LUNs on every host, with FC and iSCSI multipath paths
// (some dead), VMFS datastores on one and on two extents, NFS 3 and NFS 4.1
// datastores, and VMs whose disks use flat, SE-sparse and sparse backings,
// snapshot chains and RDMs in both compatibility modes.
//
// The topology is deterministic: the same Topology gives the same names,
// ids, placements and dead paths. It backs the vsphere package's tests,
// its benchmarks and `vmstor demo`.
package simlab

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/simulator/esx"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
	"github.com/vmware/govmomi/vim25/xml"
)

// Topology says what to build. Zero fields take the defaults.
type Topology struct {
	// Hosts is the number of ESXi hosts, all in one cluster (default 3).
	Hosts int
	// VMs is the number of VMs, placed round-robin on the hosts (default 20).
	VMs int
	// DisksPerVM is the number of file-backed disks per VM (default 2);
	// every tenth VM also gets an RDM (see LUN roles below).
	DisksPerVM int
	// LUNs is the number of array LUNs, NetApp and Pure alternately
	// (default 6, at least 6: L0-L3 back the VMFS datastores, L4 and L5
	// the RDMs, the rest are presented but unused).
	LUNs int
	// Delay is added to every SOAP call, to stand for a real vCenter's
	// latency (the simulator's DelayConfig).
	Delay time.Duration
	// Disconnected marks the last N hosts disconnected from vCenter.
	Disconnected int
}

// Lab is a running simulated datacenter.
type Lab struct {
	// URL is the SDK endpoint, without credentials.
	URL string
	// Username and Password are the only credentials the lab accepts.
	Username, Password string
	// CAFile is a PEM file of the lab's certificate: pass it as --ca-file.
	CAFile string
	// LUNs are the array LUNs every host sees, in order L0, L1...
	LUNs []LUN
	// Model is the simulator's model, for tests that reach inside.
	Model  *simulator.Model
	Server *simulator.Server

	dir string
}

// LUN is one simulated array LUN.
type LUN struct {
	ID      string // naa.<hex>
	Vendor  string // SCSI vendor: NETAPP or PURE
	Model   string
	Serial  string // the array's LUN serial
	Size    uint64
	Number  int    // the SCSI LUN number on every host
	UUID    string // ScsiLun.uuid, the hex of the VML id
	Role    string // what the lab uses it for
	Visible []int  // host indexes that see it
}

// Credentials of every lab.
const (
	Username = "vmstor@vsphere.local"
	Password = "lab-Passw0rd!"
)

func (t *Topology) defaults() {
	if t.Hosts <= 0 {
		t.Hosts = 3
	}
	if t.VMs < 0 {
		t.VMs = 0
	} else if t.VMs == 0 {
		t.VMs = 20
	}
	if t.DisksPerVM <= 0 {
		t.DisksPerVM = 2
	}
	if t.LUNs < 6 {
		t.LUNs = 6
	}
	t.Disconnected = min(max(t.Disconnected, 0), t.Hosts)
}

// Start builds the datacenter and serves it on a loopback port. Close the
// lab when done.
func Start(ctx context.Context, topo Topology) (*Lab, error) {
	topo.defaults()
	dir, err := os.MkdirTemp("", "vmstor-simlab-")
	if err != nil {
		return nil, fmt.Errorf("simlab: %w", err)
	}
	lab := &Lab{Username: Username, Password: Password, dir: dir}

	m := simulator.VPX()
	m.Datacenter = 1
	m.Cluster = 1
	m.ClusterHost = topo.Hosts
	m.Host = 0
	m.Pool = 0
	m.App = 0
	m.Portgroup = 0
	m.Machine = topo.VMs
	m.Datastore = len(datastoreSpecs)
	m.Autostart = false
	if err := m.Create(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("simlab: create the simulator model: %w", err)
	}
	lab.Model = m
	if err := ctx.Err(); err != nil {
		lab.Close()
		return nil, err
	}

	lab.LUNs = makeLUNs(topo)
	if err := lab.build(topo); err != nil {
		lab.Close()
		return nil, fmt.Errorf("simlab: %w", err)
	}

	m.Service.Listen = &url.URL{User: url.UserPassword(Username, Password)}
	m.Service.TLS = new(tls.Config)
	m.DelayConfig.Delay = int(topo.Delay / time.Millisecond)
	lab.Server = m.Service.NewServer()
	u := *lab.Server.URL
	u.User = nil
	lab.URL = u.String()

	lab.CAFile = filepath.Join(dir, "lab-ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: lab.Server.Certificate().Raw})
	if err := os.WriteFile(lab.CAFile, pemBytes, 0o600); err != nil {
		lab.Close()
		return nil, fmt.Errorf("simlab: %w", err)
	}
	return lab, nil
}

// Close stops the server and removes the lab's files.
func (l *Lab) Close() {
	if l.Server != nil {
		l.Server.Close()
	}
	if l.Model != nil {
		l.Model.Remove()
	}
	_ = os.RemoveAll(l.dir)
}

// SetDelay changes the per-call delay of the lab. The simulator reads it
// without a lock: call it only while no request is in flight.
func (l *Lab) SetDelay(d time.Duration) {
	l.Model.DelayConfig.Delay = int(d / time.Millisecond)
}

// TerminateSessions ends every session but its own, over the API, as a
// vCenter administrator or an idle timeout would: clients see
// NotAuthenticated on their next call.
func (l *Lab) TerminateSessions(ctx context.Context) error {
	u, err := soap.ParseURL(l.URL)
	if err != nil {
		return err
	}
	sc := soap.NewClient(u, false)
	if err := sc.SetRootCAs(l.CAFile); err != nil {
		return err
	}
	c, err := vim25.NewClient(ctx, sc)
	if err != nil {
		return err
	}
	sm := session.NewManager(c)
	if err := sm.Login(ctx, url.UserPassword(Username, Password)); err != nil {
		return err
	}
	defer func() { _ = sm.Logout(ctx) }()
	own, err := sm.UserSession(ctx)
	if err != nil {
		return err
	}
	var smo mo.SessionManager
	if err := mo.RetrieveProperties(ctx, c, c.ServiceContent.PropertyCollector, *c.ServiceContent.SessionManager, &smo); err != nil {
		return err
	}
	var ids []string
	for _, s := range smo.SessionList {
		if s.Key != own.Key {
			ids = append(ids, s.Key)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	_, err = methods.TerminateSession(ctx, c, &types.TerminateSession{This: *c.ServiceContent.SessionManager, SessionId: ids})
	return err
}

// makeLUNs returns the array LUNs: NetApp ONTAP at even indexes (NAA
// 600a0980 + the hex of the 12-character LUN serial), Pure FlashArray at
// odd ones (NAA 624a9370 + the 24-hex volume serial).
func makeLUNs(t Topology) []LUN {
	rng := rand.New(rand.NewPCG(42, uint64(t.LUNs)))
	const serialChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+?$/"
	roles := []string{"vmfs-ontap-01", "vmfs-pure-01", "vmfs-span-01 extent 1", "vmfs-span-01 extent 2",
		"physical RDM", "virtual RDM (not zoned to the last host)"}
	var luns []LUN
	for i := range t.LUNs {
		l := LUN{Number: i + 1, Size: uint64(512+128*i) << 30, Role: "unused"}
		if i < len(roles) {
			l.Role = roles[i]
		}
		if i%2 == 0 {
			var sb strings.Builder
			sb.WriteString("80")
			for range 10 {
				sb.WriteByte(serialChars[rng.IntN(len(serialChars))])
			}
			l.Vendor, l.Model, l.Serial = "NETAPP", "LUN C-Mode", sb.String()
			l.ID = "naa.600a0980" + hex.EncodeToString([]byte(l.Serial))
		} else {
			l.Vendor, l.Model = "PURE", "FlashArray"
			l.Serial = fmt.Sprintf("3B8D4C2A1F5E6D70%08X", rng.Uint32())
			l.ID = "naa.624a9370" + strings.ToLower(l.Serial)
		}
		product := fmt.Sprintf("%-6.6s", l.Model)
		// VML id: 02 (NAA) 00 (disk) LUN number (low byte, high byte) 00,
		// the NAA id, 6 bytes of product id.
		l.UUID = fmt.Sprintf("0200%02x%02x00%s%s", l.Number&0xff, l.Number>>8,
			strings.TrimPrefix(l.ID, "naa."), hex.EncodeToString([]byte(product)))
		for h := range t.Hosts {
			if i == 5 && t.Hosts > 1 && h == t.Hosts-1 {
				continue // a zoning mistake: the last host does not see L5
			}
			l.Visible = append(l.Visible, h)
		}
		luns = append(luns, l)
	}
	return luns
}

// datastoreSpecs are the datastores, by index of the model's LocalDS_N.
var datastoreSpecs = []struct {
	name   string
	kind   string // vmfs, nfs, nfs41
	extent []int  // LUN indexes
	remote string
}{
	{"vmfs-ontap-01", "vmfs", []int{0}, ""},
	{"vmfs-pure-01", "vmfs", []int{1}, ""},
	{"vmfs-span-01", "vmfs", []int{2, 3}, ""},
	{"nfs-ontap-01", "nfs", nil, "10.20.0.50:/vol/vmstore01"},
	{"nfs41-ontap-02", "nfs41", nil, "10.20.0.51:/vol/vmstore02"},
}

// build rewrites the simulator's objects in place, before it serves any
// request.
func (l *Lab) build(t Topology) error {
	reg := l.Model.Map()
	var hosts []*simulator.HostSystem
	for _, e := range reg.All("HostSystem") {
		hosts = append(hosts, e.(*simulator.HostSystem))
	}
	sort.Slice(hosts, func(i, j int) bool { return hosts[i].Name < hosts[j].Name })
	if len(hosts) != t.Hosts {
		return fmt.Errorf("want %d hosts, the simulator made %d", t.Hosts, len(hosts))
	}
	for i, h := range hosts {
		sd, err := l.hostStorage(i)
		if err != nil {
			return err
		}
		h.Config.StorageDevice = sd
		if ref := h.ConfigManager.StorageSystem; ref != nil {
			if ss, ok := reg.Get(*ref).(*simulator.HostStorageSystem); ok {
				ss.StorageDeviceInfo = sd
			}
		}
		if i >= t.Hosts-t.Disconnected {
			h.Runtime.ConnectionState = types.HostSystemConnectionStateDisconnected
		}
	}

	var dss []*simulator.Datastore
	for _, e := range reg.All("Datastore") {
		dss = append(dss, e.(*simulator.Datastore))
	}
	sort.Slice(dss, func(i, j int) bool { return dss[i].Name < dss[j].Name })
	if len(dss) != len(datastoreSpecs) {
		return fmt.Errorf("want %d datastores, the simulator made %d", len(datastoreSpecs), len(dss))
	}
	dsRefs := make([]types.ManagedObjectReference, len(dss))
	for i, ds := range dss {
		l.rewriteDatastore(ds, i)
		dsRefs[i] = ds.Self
	}

	var vms []*simulator.VirtualMachine
	for _, e := range reg.All("VirtualMachine") {
		vms = append(vms, e.(*simulator.VirtualMachine))
	}
	sort.Slice(vms, func(i, j int) bool { return vms[i].Name < vms[j].Name })
	for i, vm := range vms {
		vm.Name = fmt.Sprintf("app%04d", i+1)
		vm.Config.Name = vm.Name
		vm.Summary.Config.Name = vm.Name
		l.place(vm, hosts[i%len(hosts)], hosts)
		if i%3 != 2 {
			vm.Runtime.PowerState = types.VirtualMachinePowerStatePoweredOn
		} else {
			vm.Runtime.PowerState = types.VirtualMachinePowerStatePoweredOff
		}
		vm.Summary.Runtime.PowerState = vm.Runtime.PowerState
		l.setDisks(vm, i, t, dsRefs)
	}
	return nil
}

// place moves vm onto host (vcsim places cluster VMs at random).
func (l *Lab) place(vm *simulator.VirtualMachine, host *simulator.HostSystem, all []*simulator.HostSystem) {
	if vm.Runtime.Host != nil {
		for _, h := range all {
			if h.Self == *vm.Runtime.Host {
				h.Vm = removeRef(h.Vm, vm.Self)
			}
		}
	}
	ref := host.Self
	vm.Runtime.Host = &ref
	vm.Summary.Runtime.Host = &ref
	host.Vm = append(host.Vm, vm.Self)
}

func removeRef(refs []types.ManagedObjectReference, r types.ManagedObjectReference) []types.ManagedObjectReference {
	out := refs[:0]
	for _, x := range refs {
		if x != r {
			out = append(out, x)
		}
	}
	return out
}

// rewriteDatastore turns the model's local datastore number i into the
// VMFS or NFS datastore of datastoreSpecs[i].
func (l *Lab) rewriteDatastore(ds *simulator.Datastore, i int) {
	spec := datastoreSpecs[i]
	ds.Name = spec.name
	ds.Summary.Name = spec.name
	var capacity uint64
	for _, e := range spec.extent {
		capacity += l.LUNs[e].Size
	}
	if capacity == 0 {
		capacity = 4 << 40
	}
	free := capacity / 100 * uint64(35+10*i)
	uuid := fmt.Sprintf("65f1c0de-%08x-%04x-0050569a%04x", 0x1a2b0000+i, 0xbeef, i)
	base := types.DatastoreInfo{Name: spec.name, FreeSpace: int64(free), MaxFileSize: 62 << 40}
	switch spec.kind {
	case "vmfs":
		base.Url = "ds:///vmfs/volumes/" + uuid + "/"
		vol := &types.HostVmfsVolume{
			HostFileSystemVolume: types.HostFileSystemVolume{Type: "VMFS", Name: spec.name, Capacity: int64(capacity)},
			BlockSizeMb:          1, MaxBlocks: 63963136, MajorVersion: 6, Version: "6.82", Uuid: uuid,
		}
		for _, e := range spec.extent {
			vol.Extent = append(vol.Extent, types.HostScsiDiskPartition{DiskName: l.LUNs[e].ID, Partition: 1})
		}
		ds.Info = &types.VmfsDatastoreInfo{DatastoreInfo: base, Vmfs: vol}
		ds.Summary.Type = "VMFS"
	case "nfs", "nfs41":
		server, export, _ := strings.Cut(spec.remote, ":")
		typ := "NFS"
		nas := &types.HostNasVolume{
			HostFileSystemVolume: types.HostFileSystemVolume{Name: spec.name, Capacity: int64(capacity)},
			RemoteHost:           server, RemotePath: export,
		}
		if spec.kind == "nfs41" {
			typ = "NFS41"
			// NFS 4.1 session trunking: two addresses of the same server.
			nas.RemoteHostNames = []string{server, "10.20.1.51"}
			nas.SecurityType = "AUTH_SYS"
		}
		nas.Type = typ
		base.Url = "ds:///vmfs/volumes/" + strings.ReplaceAll(uuid, "-", "")[:17] + "/"
		ds.Info = &types.NasDatastoreInfo{DatastoreInfo: base, Nas: nas}
		ds.Summary.Type = typ
	}
	ds.Summary.Url = base.Url
	ds.Summary.Capacity = int64(capacity)
	ds.Summary.FreeSpace = int64(free)
	ds.Summary.Accessible = true
}

// setDisks replaces the model's one disk of VM number i by the lab's:
// DisksPerVM file-backed disks over the datastores in turn, with a few
// kinds of backing and snapshot chains, and an RDM on every tenth VM.
func (l *Lab) setDisks(vm *simulator.VirtualMachine, i int, t Topology, ds []types.ManagedObjectReference) {
	var scsiKey int32 = -1
	var keep []types.BaseVirtualDevice
	for _, d := range vm.Config.Hardware.Device {
		if _, ok := d.(*types.VirtualDisk); ok {
			continue
		}
		if c, ok := d.(types.BaseVirtualSCSIController); ok && scsiKey < 0 {
			scsiKey = c.GetVirtualSCSIController().Key
		}
		keep = append(keep, d)
	}
	unit := int32(0)
	next := func() int32 {
		u := unit
		unit++
		if unit == 7 {
			unit++ // 7 is the controller's own unit
		}
		return u
	}
	name := vm.Name
	fileInfo := func(d int, file string) types.VirtualDeviceFileBackingInfo {
		ref := ds[d]
		if !strings.Contains(file, "/") {
			file = name + "/" + file
		}
		return types.VirtualDeviceFileBackingInfo{FileName: fmt.Sprintf("[%s] %s", datastoreSpecs[d].name, file), Datastore: &ref}
	}
	var used []types.ManagedObjectReference
	for n := range t.DisksPerVM {
		d := (i + n) % len(datastoreSpecs)
		used = append(used, ds[d])
		file := fmt.Sprintf("%s_%d.vmdk", name, n)
		if n == 0 {
			file = name + ".vmdk"
		}
		var backing types.BaseVirtualDeviceBackingInfo
		thin := true
		switch {
		case n == 0 && i%4 == 0:
			// A VM with two snapshots: the running delta on top of the
			// first snapshot's delta on top of the base disk.
			base := &types.VirtualDiskFlatVer2BackingInfo{VirtualDeviceFileBackingInfo: fileInfo(d, file), DiskMode: "persistent", ThinProvisioned: &thin}
			snap1 := &types.VirtualDiskFlatVer2BackingInfo{VirtualDeviceFileBackingInfo: fileInfo(d, strings.TrimSuffix(file, ".vmdk")+"-000001.vmdk"), DiskMode: "persistent", Parent: base, DeltaDiskFormat: "redoLogFormat"}
			backing = &types.VirtualDiskFlatVer2BackingInfo{VirtualDeviceFileBackingInfo: fileInfo(d, strings.TrimSuffix(file, ".vmdk")+"-000002.vmdk"), DiskMode: "persistent", Parent: snap1, DeltaDiskFormat: "redoLogFormat"}
		case n == 1 && i%5 == 1:
			// A linked clone: an SE-sparse delta over a shared base disk.
			parent := &types.VirtualDiskSeSparseBackingInfo{VirtualDeviceFileBackingInfo: fileInfo(d, "golden/golden.vmdk"), DiskMode: "persistent"}
			backing = &types.VirtualDiskSeSparseBackingInfo{VirtualDeviceFileBackingInfo: fileInfo(d, strings.TrimSuffix(file, ".vmdk")+"-sesparse.vmdk"), DiskMode: "persistent", Parent: parent}
		case n == 1 && i%7 == 3:
			backing = &types.VirtualDiskSparseVer2BackingInfo{VirtualDeviceFileBackingInfo: fileInfo(d, file), DiskMode: "persistent"}
		default:
			backing = &types.VirtualDiskFlatVer2BackingInfo{VirtualDeviceFileBackingInfo: fileInfo(d, file), DiskMode: "persistent", ThinProvisioned: &thin}
		}
		keep = append(keep, l.disk(int32(2000+n), scsiKey, next(), n, int64(40+20*n)<<30, backing))
	}
	if i%10 == 1 || i%10 == 2 {
		// RDMs: physical mode to L4 on VMs 1, 11, 21...; virtual mode to
		// L5 on VMs 2, 12, 22... (the mapping file sits on the first
		// datastore).
		lun, mode, suffix := l.LUNs[4], types.VirtualDiskCompatibilityModePhysicalMode, "rdmp"
		if i%10 == 2 {
			lun, mode, suffix = l.LUNs[5], types.VirtualDiskCompatibilityModeVirtualMode, "rdm"
		}
		fi := fileInfo(0, fmt.Sprintf("%s_rdm-%s.vmdk", name, suffix))
		lunUUID := lun.UUID
		if i%20 == 1 {
			// Some hosts report lunUuid in the vml. form.
			lunUUID = "vml." + lun.UUID
		}
		backing := &types.VirtualDiskRawDiskMappingVer1BackingInfo{
			VirtualDeviceFileBackingInfo: fi, LunUuid: lunUUID, DeviceName: "/vmfs/devices/disks/vml." + lun.UUID,
			CompatibilityMode: string(mode), DiskMode: "independent_persistent",
		}
		used = append(used, ds[0])
		keep = append(keep, l.disk(int32(2000+t.DisksPerVM), scsiKey, next(), t.DisksPerVM, int64(lun.Size), backing))
	}
	vm.Config.Hardware.Device = keep
	vm.Datastore = dedupRefs(used)
}

func (l *Lab) disk(key, controller, unit int32, n int, capacity int64, b types.BaseVirtualDeviceBackingInfo) *types.VirtualDisk {
	u := unit
	return &types.VirtualDisk{
		VirtualDevice: types.VirtualDevice{
			Key:           key,
			DeviceInfo:    &types.Description{Label: fmt.Sprintf("Hard disk %d", n+1), Summary: fmt.Sprintf("%d KB", capacity>>10)},
			Backing:       b,
			ControllerKey: controller,
			UnitNumber:    &u,
		},
		CapacityInKB:    capacity >> 10,
		CapacityInBytes: capacity,
	}
}

func dedupRefs(refs []types.ManagedObjectReference) []types.ManagedObjectReference {
	seen := map[types.ManagedObjectReference]bool{}
	var out []types.ManagedObjectReference
	for _, r := range refs {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// FC and iSCSI targets of the two arrays.
var (
	// NetApp FC LIFs: two per fabric, on the node that owns the LUNs
	// (optimized) and its partner (non-optimized). WWNs under NetApp's
	// OUI 00a098.
	ontapNodeWWN = int64(0x2000d039ea000000)
	ontapLIFs    = []struct {
		wwpn   int64
		fabric int // 0: A (vmhba2), 1: B (vmhba3)
		target int
		owner  bool
	}{
		{0x2001d039ea000001, 0, 0, true},
		{0x2002d039ea000001, 0, 1, false},
		{0x2003d039ea000001, 1, 0, true},
		{0x2004d039ea000001, 1, 1, false},
	}
	pureIQN     = "iqn.2010-06.com.purestorage:flasharray.3b8d4c2a1f5e6d70"
	purePortals = []string{"10.30.0.11:3260", "10.30.0.12:3260"}
)

// hostStorage returns host number h's config.storageDevice: the local
// devices of vcsim's template, FC HBAs vmhba2 and vmhba3, the software
// iSCSI adapter vmhba65, the array LUNs and their paths. Dead paths: host
// 1 lost fabric B (every vmhba3 path), host 2 lost Pure's second portal.
func (l *Lab) hostStorage(h int) (*types.HostStorageDeviceInfo, error) {
	// Copy the template: it is a package-level value of the simulator
	// shared by every host (and every lab in the process).
	sd := new(types.HostStorageDeviceInfo)
	if err := deepCopy(&esx.HostStorageDeviceInfo, sd); err != nil {
		return nil, fmt.Errorf("copy the host storage template: %w", err)
	}
	iqn := fmt.Sprintf("iqn.1998-01.com.vmware:esx%02d-5f3c%04x", h+1, 0x1000+h)
	fcHBA := func(n int) *types.HostFibreChannelHba {
		dev := fmt.Sprintf("vmhba%d", 2+n)
		return &types.HostFibreChannelHba{
			HostHostBusAdapter: types.HostHostBusAdapter{Key: "key-vim.host.FibreChannelHba-" + dev, Device: dev, Bus: int32(59 + n),
				Status: "online", Model: "QLE2772 Dual Port 32Gb Fibre Channel to PCIe Adapter", Driver: "qlnativefc", StorageProtocol: "scsi"},
			PortWorldWideName: int64(0x2100f4e9d4000000 | uint64(h)<<8 | uint64(n)),
			NodeWorldWideName: int64(0x2000f4e9d4000000 | uint64(h)<<8 | uint64(n)),
			PortType:          types.FibreChannelPortTypeFabric, Speed: 32,
		}
	}
	iscsi := &types.HostInternetScsiHba{
		HostHostBusAdapter: types.HostHostBusAdapter{Key: "key-vim.host.InternetScsiHba-vmhba65", Device: "vmhba65",
			Status: "online", Model: "iSCSI Software Adapter", Driver: "iscsi_vmk", StorageProtocol: "scsi"},
		IsSoftwareBased: true, IScsiName: iqn,
	}
	sd.HostBusAdapter = append(sd.HostBusAdapter, fcHBA(0), fcHBA(1), iscsi)
	sd.SoftwareInternetScsiEnabled = true

	for _, lun := range l.LUNs {
		if !contains(lun.Visible, h) {
			continue
		}
		key := "key-vim.host.ScsiDisk-" + lun.UUID
		transport := "Fibre Channel"
		if lun.Vendor == "PURE" {
			transport = "iSCSI"
		}
		serialSpace := lun.Serial
		sd.ScsiLun = append(sd.ScsiLun, &types.HostScsiDisk{
			ScsiLun: types.ScsiLun{
				HostDevice: types.HostDevice{DeviceName: "/vmfs/devices/disks/" + lun.ID, DeviceType: "disk"},
				Key:        key, Uuid: lun.UUID,
				Descriptor: []types.ScsiLunDescriptor{
					{Quality: "highQuality", Id: lun.ID},
					{Quality: "lowQuality", Id: "vml." + lun.UUID},
				},
				CanonicalName: lun.ID,
				DisplayName:   fmt.Sprintf("%s %s Disk (%s)", lun.Vendor, transport, lun.ID),
				LunType:       "disk",
				Vendor:        fmt.Sprintf("%-8s", lun.Vendor),
				Model:         fmt.Sprintf("%-16s", lun.Model),
				Revision:      map[string]string{"NETAPP": "9141", "PURE": "8888"}[lun.Vendor],
				ScsiLevel:     6,
				// ESXi often reports "unavailable" here and keeps the
				// serial (VPD page 0x80) in the durable name.
				SerialNumber:     "unavailable",
				DurableName:      &types.ScsiLunDurableName{Namespace: "SERIALNUM", NamespaceId: 5, Data: []byte(serialSpace)},
				OperationalState: []string{"ok"},
			},
			Capacity:   types.HostDiskDimensionsLba{BlockSize: 512, Block: int64(lun.Size / 512)},
			DevicePath: "/vmfs/devices/disks/" + lun.ID,
		})
		mp := types.HostMultipathInfoLogicalUnit{
			Key: "key-vim.host.MultipathInfo.LogicalUnit-" + lun.UUID, Id: lun.UUID, Lun: key,
			Policy: &types.HostMultipathInfoLogicalUnitPolicy{Policy: "VMW_PSP_RR"},
		}
		addPath := func(name, adapter, state string, working bool, tr types.BaseHostTargetTransport) {
			w := working
			mp.Path = append(mp.Path, types.HostMultipathInfoPath{
				Key: "key-vim.host.MultipathInfo.Path-" + name, Name: name, PathState: state, State: state,
				IsWorkingPath: &w, Adapter: adapter, Lun: mp.Key, Transport: tr,
			})
		}
		if lun.Vendor == "NETAPP" {
			for _, lif := range ontapLIFs {
				state := "standby"
				if lif.owner {
					state = "active"
				}
				if h == 1 && lif.fabric == 1 {
					state = "dead"
				}
				dev := fmt.Sprintf("vmhba%d", 2+lif.fabric)
				addPath(fmt.Sprintf("%s:C0:T%d:L%d", dev, lif.target, lun.Number), "key-vim.host.FibreChannelHba-"+dev,
					state, state == "active", &types.HostFibreChannelTargetTransport{PortWorldWideName: lif.wwpn, NodeWorldWideName: ontapNodeWWN})
			}
		} else {
			for c, portal := range purePortals {
				state := "active"
				if h == 2 && c == 1 {
					state = "dead"
				}
				addPath(fmt.Sprintf("vmhba65:C%d:T0:L%d", c, lun.Number), iscsi.Key, state, state == "active",
					&types.HostInternetScsiTargetTransport{IScsiName: pureIQN, Address: []string{portal}})
			}
		}
		if sd.MultipathInfo == nil {
			sd.MultipathInfo = &types.HostMultipathInfo{}
		}
		sd.MultipathInfo.Lun = append(sd.MultipathInfo.Lun, mp)
	}
	return sd, nil
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// deepCopy copies a vSphere data object through its XML form, as the
// simulator itself does (interface fields keep their types).
func deepCopy(src, dst any) error {
	b, err := xml.Marshal(src)
	if err != nil {
		return err
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.TypeFunc = types.TypeFunc()
	return dec.Decode(dst)
}
