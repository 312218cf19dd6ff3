package proxmox

import (
	"errors"
	"fmt"

	"github.com/vmstor/vmstor/model"
)

// vmInfo is what is known about a VM besides its config.
type vmInfo struct {
	VMID, Node, Cluster, State string
	// Remote is set for VMs read through the REST API: nothing on this
	// machine can locate their disks, so the LUN of an iSCSI by-id disk
	// is anchored directly.
	Remote bool
}

// buildVM maps a VM config to the model. Disks that cannot be resolved keep
// their key and volume, carry the reason in Disk.Error and add a ScanError;
// the other disks are complete.
func buildVM(source string, info vmInfo, cfg *VMConfig, storages map[string]Storage) (model.VM, []model.ScanError) {
	vm := model.VM{
		ID:       info.VMID,
		Name:     cfg.Options["name"],
		Host:     info.Node,
		Cluster:  info.Cluster,
		Platform: model.PlatformProxmox,
		State:    info.State,
		Disks:    []model.Disk{},
	}
	if vm.Name == "" {
		vm.Name = "VM " + info.VMID
	}
	object := fmt.Sprintf("vm %s (%s) on %s", info.VMID, vm.Name, info.Node)
	var errs []model.ScanError
	for _, d := range cfg.Drives {
		if d.Volume == "none" { // an empty CD drive
			continue
		}
		disk := model.Disk{
			Name:   d.Key,
			Bus:    d.Bus,
			Device: "disk",
			Source: d.Volume,
			LUNs:   []string{},
		}
		if id, _, ok := cutStorage(d.Volume); ok {
			disk.Datastore = id
		}
		switch {
		case d.Opts["media"] == "cdrom":
			disk.Device = "cdrom"
			disk.ReadOnly = true
		case d.Opts["scsiblock"] == "1":
			disk.Device = "lun"
		}
		if d.Opts["ro"] == "1" {
			disk.ReadOnly = true
		}
		if s := d.Opts["size"]; s != "" {
			if n, err := ParseSize(s); err == nil {
				disk.CapacityBytes = n
			} else {
				errs = append(errs, model.Errorf(source, object+" "+d.Key, "%v", err))
			}
		}
		r, err := Resolve(storages, d.Volume)
		if err != nil {
			disk.Kind = model.DiskOther
			disk.Error = err.Error()
			errs = append(errs, model.ScanError{Source: source, Object: object + " " + d.Key, Message: err.Error(), Hint: resolveHint(err)})
			vm.Disks = append(vm.Disks, disk)
			continue
		}
		disk.Kind = r.Kind
		disk.Source = r.Source
		disk.Network = r.Network
		disk.Format = r.Format
		disk.Backing = r.Backing
		if f := d.Opts["format"]; f != "" {
			disk.Format = f
		}
		if info.Remote && r.LUN != "" {
			disk.Anchor = &model.Anchor{LUN: r.LUN, Host: info.Node}
		}
		vm.Disks = append(vm.Disks, disk)
	}
	return vm, errs
}

func cutStorage(volume string) (id, vol string, ok bool) {
	if len(volume) == 0 || volume[0] == '/' {
		return "", "", false
	}
	for i := 0; i < len(volume); i++ {
		if volume[i] == ':' {
			return volume[:i], volume[i+1:], i > 0
		}
	}
	return "", "", false
}

func resolveHint(err error) string {
	switch {
	case errors.Is(err, ErrUnknownStorage):
		return "the storage id is not in storage.cfg: check /etc/pve/storage.cfg or `pvesm status`"
	case errors.Is(err, ErrUnknownType):
		return "a storage plugin vmstor does not know: report the type and one volume path (pvesm path <volume>)"
	case errors.Is(err, ErrBadVolume):
		return "compare with `pvesm path <volume>` on the node"
	}
	return ""
}

// configErrors turns config parse errors into ScanErrors.
func configErrors(source, object string, errs []error) []model.ScanError {
	var out []model.ScanError
	for _, e := range errs {
		out = append(out, model.ScanError{Source: source, Object: object, Message: e.Error(),
			Hint: "fix or remove the line; the rest of the VM config was read"})
	}
	return out
}
