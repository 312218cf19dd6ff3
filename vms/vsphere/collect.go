package vsphere

import (
	"context"
	"fmt"
	"reflect"
	"sync"

	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmstor/vmstor/model"
)

// The properties read per object type: only what the map needs. Device
// lists are the bulk of the bytes; everything else is small.
var (
	vmProps = []string{"name", "config.instanceUuid", "config.uuid", "config.hardware.device",
		"runtime.host", "runtime.powerState"}
	hostProps    = []string{"name", "parent", "runtime.connectionState", "config.storageDevice"}
	dsProps      = []string{"name", "summary", "info", "host"}
	clusterProps = []string{"name"}
)

// viewKinds are the object types read, one container view each.
var viewKinds = []struct {
	kind  string
	props []string
}{
	{"VirtualMachine", vmProps},
	{"HostSystem", hostProps},
	{"Datastore", dsProps},
	{"ClusterComputeResource", clusterProps},
}

// rawVM is what a VM contributes, cut down as each page arrives so that
// whole device lists are not kept for every VM.
type rawVM struct {
	ref     string
	name    string
	uuid    string
	host    string // HostSystem moref value
	power   string
	disks   []rawDisk
	missing []types.MissingProperty
}

// rawDisk is one VirtualDisk with the facts of its backing.
type rawDisk struct {
	label      string
	bus        string
	capacity   uint64
	backing    string // type name of the backing, for messages
	kind       model.DiskKind
	format     string
	file       string
	datastore  string // Datastore moref value
	chain      []string
	objectID   string // BackingObjectId (vVol, vSAN)
	lunUUID    string // RDM
	deviceName string // RDM
	compat     string // RDM compatibility mode
}

type rawHost struct {
	ref     string
	name    string
	parent  types.ManagedObjectReference
	state   string
	storage *types.HostStorageDeviceInfo
	missing []types.MissingProperty
}

type rawDatastore struct {
	ref     string
	name    string
	summary *types.DatastoreSummary
	info    types.BaseDatastoreInfo
	mounts  []types.DatastoreHostMount
	missing []types.MissingProperty
}

// maxPageSize bounds Config.PageSize: vCenter caps pages itself, and a
// larger page only holds more XML in memory at once.
const maxPageSize = 100000

// collected is everything one scan read.
type collected struct {
	vms        []rawVM
	hosts      []rawHost
	datastores []rawDatastore
	clusters   map[string]string // moref value -> name
	errors     []model.ScanError
}

// collect reads every VM, host, datastore and cluster: one container view
// per type, one property filter over the four, then pages until done.
func (s *Source) collect(ctx context.Context, c *vim25.Client) (*collected, error) {
	if c.ServiceContent.ViewManager == nil {
		return nil, fmt.Errorf("the endpoint has no view manager (vSphere 4.0 or later is needed)")
	}
	root := c.ServiceContent.RootFolder
	views := make([]types.ManagedObjectReference, len(viewKinds))
	errs := make([]error, len(viewKinds))
	// The views are independent: create them concurrently so that their
	// round trips overlap.
	var wg sync.WaitGroup
	for i, vk := range viewKinds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := methods.CreateContainerView(ctx, c, &types.CreateContainerView{
				This: *c.ServiceContent.ViewManager, Container: root, Type: []string{vk.kind}, Recursive: true,
			})
			if err != nil {
				errs[i] = fmt.Errorf("create a container view of %s: %w", vk.kind, err)
				return
			}
			views[i] = res.Returnval
		}()
	}
	wg.Wait()
	// The views are not destroyed one by one: they belong to the session,
	// and Scan logs out, which frees them in the same round trip.
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}

	spec := types.PropertyFilterSpec{}
	for i, vk := range viewKinds {
		spec.ObjectSet = append(spec.ObjectSet, types.ObjectSpec{
			Obj:  views[i],
			Skip: types.NewBool(true),
			SelectSet: []types.BaseSelectionSpec{&types.TraversalSpec{
				Type: "ContainerView", Path: "view", Skip: types.NewBool(false),
			}},
		})
		spec.PropSet = append(spec.PropSet, types.PropertySpec{Type: vk.kind, PathSet: vk.props})
	}
	page := s.cfg.PageSize
	if page <= 0 {
		page = DefaultPageSize
	}
	page = min(page, maxPageSize)

	out := &collected{clusters: map[string]string{}}
	res, err := methods.RetrievePropertiesEx(ctx, c, &types.RetrievePropertiesEx{
		This:    c.ServiceContent.PropertyCollector,
		SpecSet: []types.PropertyFilterSpec{spec},
		Options: types.RetrieveOptions{MaxObjects: int32(page)},
	})
	if err != nil {
		return nil, fmt.Errorf("RetrievePropertiesEx: %w", err)
	}
	result := res.Returnval
	for result != nil {
		for i := range result.Objects {
			out.add(&result.Objects[i])
		}
		if result.Token == "" {
			break
		}
		next, err := methods.ContinueRetrievePropertiesEx(ctx, c, &types.ContinueRetrievePropertiesEx{
			This: c.ServiceContent.PropertyCollector, Token: result.Token,
		})
		if err != nil {
			return nil, fmt.Errorf("ContinueRetrievePropertiesEx: %w", err)
		}
		result = &next.Returnval
	}
	return out, nil
}

// add files one object of a page under its type.
func (out *collected) add(oc *types.ObjectContent) {
	switch oc.Obj.Type {
	case "VirtualMachine":
		out.vms = append(out.vms, vmFromContent(oc))
	case "HostSystem":
		h := rawHost{ref: oc.Obj.Value, missing: oc.MissingSet}
		for _, p := range oc.PropSet {
			switch p.Name {
			case "name":
				h.name, _ = p.Val.(string)
			case "parent":
				h.parent, _ = p.Val.(types.ManagedObjectReference)
			case "runtime.connectionState":
				h.state = fmt.Sprint(p.Val)
			case "config.storageDevice":
				if sd, ok := p.Val.(types.HostStorageDeviceInfo); ok {
					h.storage = &sd
				}
			}
		}
		out.hosts = append(out.hosts, h)
	case "Datastore":
		d := rawDatastore{ref: oc.Obj.Value, missing: oc.MissingSet}
		for _, p := range oc.PropSet {
			switch p.Name {
			case "name":
				d.name, _ = p.Val.(string)
			case "summary":
				if sum, ok := p.Val.(types.DatastoreSummary); ok {
					d.summary = &sum
				}
			case "info":
				// A property value decodes as a struct, not a pointer;
				// the Base interfaces have pointer receivers.
				d.info, _ = addr(p.Val).(types.BaseDatastoreInfo)
			case "host":
				if a, ok := p.Val.(types.ArrayOfDatastoreHostMount); ok {
					d.mounts = a.DatastoreHostMount
				}
			}
		}
		out.datastores = append(out.datastores, d)
	case "ClusterComputeResource":
		for _, p := range oc.PropSet {
			if p.Name == "name" {
				out.clusters[oc.Obj.Value], _ = p.Val.(string)
			}
		}
	}
}

// vmFromContent cuts a VM's properties down to what the map needs.
func vmFromContent(oc *types.ObjectContent) rawVM {
	vm := rawVM{ref: oc.Obj.Value, missing: oc.MissingSet}
	var devices []types.BaseVirtualDevice
	var biosUUID string
	for _, p := range oc.PropSet {
		switch p.Name {
		case "name":
			vm.name, _ = p.Val.(string)
		case "config.instanceUuid":
			vm.uuid, _ = p.Val.(string)
		case "config.uuid":
			biosUUID, _ = p.Val.(string)
		case "runtime.host":
			if r, ok := p.Val.(types.ManagedObjectReference); ok {
				vm.host = r.Value
			}
		case "runtime.powerState":
			vm.power = fmt.Sprint(p.Val)
		case "config.hardware.device":
			if a, ok := p.Val.(types.ArrayOfVirtualDevice); ok {
				devices = a.VirtualDevice
			}
		}
	}
	if vm.uuid == "" {
		vm.uuid = biosUUID
	}
	vm.disks = disksOf(devices)
	return vm
}

// addr returns a pointer to a copy of v when v is a struct value, v
// otherwise.
func addr(v any) any {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || rv.Kind() == reflect.Pointer {
		return v
	}
	p := reflect.New(rv.Type())
	p.Elem().Set(rv)
	return p.Interface()
}
