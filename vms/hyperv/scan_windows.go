//go:build windows

package hyperv

import (
	"context"
	"errors"
	"fmt"
	"time"

	winstorage "github.com/vmstor/vmstor/hoststorage/windows"
	"github.com/vmstor/vmstor/model"
	"github.com/yusufpapurcu/wmi"
)

const nsVirt = `root\virtualization\v2`

// The bulk queries: five, whatever the number of VMs.
const (
	qSystems  = "SELECT Name, ElementName, Description, EnabledState FROM Msvm_ComputerSystem"
	qSettings = "SELECT InstanceID, VirtualSystemIdentifier, VirtualSystemType, ElementName FROM Msvm_VirtualSystemSettingData WHERE VirtualSystemType = '" + typeRealized + "'"
	qStorage  = "SELECT InstanceID, ResourceType, ResourceSubType, Parent, HostResource, ElementName, EnabledState FROM Msvm_StorageAllocationSettingData"
	qDevices  = "SELECT InstanceID, ResourceType, ResourceSubType, Parent, Address, AddressOnParent, HostResource, ElementName FROM Msvm_ResourceAllocationSettingData WHERE ResourceType = 5 OR ResourceType = 6 OR ResourceType = 14 OR ResourceType = 16 OR ResourceType = 17"
	qDrives   = "SELECT DeviceID, DriveNumber, ElementName FROM Msvm_DiskDrive"
)

// partialError is a WMI answer some of whose properties did not fit their
// fields: the objects are kept, the mismatch is reported.
type partialError struct{ err error }

func (e partialError) Error() string { return e.err.Error() }
func (e partialError) Unwrap() error { return e.err }

// query runs one WQL query in root\virtualization\v2.
func query[T any](ctx context.Context, timeout time.Duration, q string) ([]T, error) {
	return queryNS[T](ctx, timeout, nsVirt, q)
}

// queryNS runs one WQL query, giving up after timeout (a hung WMI provider
// must not hang the scan). A panic inside the WMI library (a VARIANT of an
// unexpected type) is an error, not a crash.
func queryNS[T any](ctx context.Context, timeout time.Duration, ns, q string) ([]T, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		v   []T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		var dst []T
		defer func() {
			if p := recover(); p != nil {
				ch <- result{nil, fmt.Errorf("WMI library failed on %q: %v", q, p)}
			}
		}()
		err := wmi.QueryNamespace(q, &dst, ns)
		var fm *wmi.ErrFieldMismatch
		if errors.As(err, &fm) {
			err = partialError{err}
		}
		ch <- result{dst, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("no answer within %v: %w", timeout, ctx.Err())
	}
}

// Scan reads the VMs and their disks. Without Msvm_ComputerSystem the source
// fails as a whole; any other failed query is a ScanError and the VMs are
// reported with what is known.
func (s *Source) Scan(ctx context.Context) (*model.Inventory, error) {
	src := s.Name()
	var r Results
	var err error
	r.Systems, err = query[ComputerSystem](ctx, s.timeout, qSystems)
	var partial partialError
	if err != nil && !errors.As(err, &partial) {
		return nil, winstorage.WMIError(src, "Msvm_ComputerSystem", nsVirt, err)
	}
	inv := &model.Inventory{Version: model.SchemaVersion,
		Hosts: []model.Host{{Name: s.host, Platform: model.PlatformHyperV, State: "connected"}}}
	if err != nil {
		inv.Errors = append(inv.Errors, winstorage.WMIError(src, "Msvm_ComputerSystem", nsVirt, err))
	}
	fail := func(class string, err error) {
		inv.Errors = append(inv.Errors, winstorage.WMIError(src, class, nsVirt, err))
	}
	if r.Settings, err = query[VirtualSystemSettingData](ctx, s.timeout, qSettings); err != nil {
		fail("Msvm_VirtualSystemSettingData", err)
	}
	if r.Storage, err = query[StorageAllocationSettingData](ctx, s.timeout, qStorage); err != nil {
		fail("Msvm_StorageAllocationSettingData", err)
	}
	if r.Devices, err = query[ResourceAllocationSettingData](ctx, s.timeout, qDevices); err != nil {
		fail("Msvm_ResourceAllocationSettingData", err)
	}
	if r.Drives, err = query[DiskDrive](ctx, s.timeout, qDrives); err != nil {
		fail("Msvm_DiskDrive", err)
	}
	// The failover cluster, when the host is in one; a host outside a
	// cluster has no root\MSCluster namespace, which is not an error.
	type msclusterCluster struct{ Name string }
	if cl, err := queryNS[msclusterCluster](ctx, s.timeout, `root\MSCluster`, "SELECT Name FROM MSCluster_Cluster"); err == nil && len(cl) > 0 {
		inv.Hosts[0].Cluster = cl[0].Name
	}
	vms, errs := Join(src, s.host, r)
	for i := range vms {
		vms[i].Cluster = inv.Hosts[0].Cluster
	}
	errs = append(errs, readChains(ctx, src, s.timeout, vms)...)
	inv.VMs = vms
	inv.Errors = append(inv.Errors, errs...)
	return inv, nil
}
