//go:build windows

package hyperv

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/go-ole/go-ole"
	"github.com/go-ole/go-ole/oleutil"
	"github.com/vmstor/vmstor/model"
)

// imageService is a connection to Msvm_ImageManagementService. Every call
// must be made on the OS thread that created it (COM apartment).
type imageService struct {
	svc, ims *ole.IDispatch
	release  []*ole.VARIANT
}

func openImageService() (*imageService, error) {
	if err := ole.CoInitializeEx(0, ole.COINIT_MULTITHREADED); err != nil {
		var oe *ole.OleError
		if !errors.As(err, &oe) || (oe.Code() != ole.S_OK && oe.Code() != 1 /* S_FALSE: already initialised */) {
			return nil, fmt.Errorf("CoInitializeEx: %w", err)
		}
	}
	s := &imageService{}
	unknown, err := oleutil.CreateObject("WbemScripting.SWbemLocator")
	if err != nil {
		return nil, fmt.Errorf("create SWbemLocator: %w", err)
	}
	defer unknown.Release()
	locator, err := unknown.QueryInterface(ole.IID_IDispatch)
	if err != nil {
		return nil, fmt.Errorf("SWbemLocator: %w", err)
	}
	defer locator.Release()
	svcRaw, err := oleutil.CallMethod(locator, "ConnectServer", nil, nsVirt)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", nsVirt, err)
	}
	s.release = append(s.release, svcRaw)
	s.svc = svcRaw.ToIDispatch()
	setRaw, err := oleutil.CallMethod(s.svc, "ExecQuery", "SELECT * FROM Msvm_ImageManagementService")
	if err != nil {
		s.close()
		return nil, fmt.Errorf("query Msvm_ImageManagementService: %w", err)
	}
	s.release = append(s.release, setRaw)
	itemRaw, err := oleutil.CallMethod(setRaw.ToIDispatch(), "ItemIndex", 0)
	if err != nil {
		s.close()
		return nil, fmt.Errorf("Msvm_ImageManagementService instance: %w", err)
	}
	s.release = append(s.release, itemRaw)
	s.ims = itemRaw.ToIDispatch()
	return s, nil
}

func (s *imageService) close() {
	for i := len(s.release) - 1; i >= 0; i-- {
		_ = s.release[i].Clear()
	}
	ole.CoUninitialize()
}

// settingData calls GetVirtualHardDiskSettingData(Path) through ExecMethod_
// (the out parameter SettingData is an embedded CIM-XML instance).
func (s *imageService) settingData(path string) (VHDInfo, error) {
	var tmp []*ole.VARIANT
	defer func() {
		for i := len(tmp) - 1; i >= 0; i-- {
			_ = tmp[i].Clear()
		}
	}()
	step := func(v *ole.VARIANT, err error) (*ole.IDispatch, error) {
		if err != nil {
			return nil, err
		}
		tmp = append(tmp, v)
		return v.ToIDispatch(), nil
	}
	methods, err := step(oleutil.GetProperty(s.ims, "Methods_"))
	if err != nil {
		return VHDInfo{}, err
	}
	method, err := step(oleutil.CallMethod(methods, "Item", "GetVirtualHardDiskSettingData"))
	if err != nil {
		return VHDInfo{}, err
	}
	inClass, err := step(oleutil.GetProperty(method, "InParameters"))
	if err != nil {
		return VHDInfo{}, err
	}
	in, err := step(oleutil.CallMethod(inClass, "SpawnInstance_"))
	if err != nil {
		return VHDInfo{}, err
	}
	if _, err := oleutil.PutProperty(in, "Path", path); err != nil {
		return VHDInfo{}, err
	}
	out, err := step(oleutil.CallMethod(s.ims, "ExecMethod_", "GetVirtualHardDiskSettingData", in))
	if err != nil {
		return VHDInfo{}, err
	}
	rv, err := oleutil.GetProperty(out, "ReturnValue")
	if err != nil {
		return VHDInfo{}, err
	}
	tmp = append(tmp, rv)
	if code, _ := rv.Value().(int32); code != 0 {
		return VHDInfo{}, fmt.Errorf("GetVirtualHardDiskSettingData returned %d", code)
	}
	sd, err := oleutil.GetProperty(out, "SettingData")
	if err != nil {
		return VHDInfo{}, err
	}
	tmp = append(tmp, sd)
	return ParseVHDSettingData(sd.ToString())
}

type chainJob struct {
	vm, disk int
	source   string
}

type chainResult struct {
	chainJob
	capacity uint64
	backing  []string
	err      error
}

// readChains fills the capacity and differencing chain of every VHD/VHDX of
// vms, one GetVirtualHardDiskSettingData call per image and parent, on one
// COM thread. Whatever is not answered within the budget (timeout plus
// 200 ms per image) is reported, not waited for.
func readChains(ctx context.Context, src string, timeout time.Duration, vms []model.VM) []model.ScanError {
	var jobs []chainJob
	for i := range vms {
		for j, d := range vms[i].Disks {
			if d.Kind == model.DiskImage && (d.Format == "vhd" || d.Format == "vhdx") && d.Source != "" {
				jobs = append(jobs, chainJob{i, j, d.Source})
			}
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	budget := timeout + time.Duration(len(jobs))*200*time.Millisecond
	results := make(chan chainResult, len(jobs))
	openErr := make(chan error, 2)
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				openErr <- fmt.Errorf("COM call failed: %v", p) // buffered: never blocks
			}
		}()
		s, err := openImageService()
		if err != nil {
			openErr <- err
			return
		}
		defer s.close()
		openErr <- nil
		for _, jb := range jobs {
			if ctx.Err() != nil {
				return
			}
			d := model.Disk{Source: jb.source}
			err := applyChain(&d, s.settingData)
			results <- chainResult{jb, d.CapacityBytes, d.Backing, err}
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	var errs []model.ScanError
	select {
	case err := <-openErr:
		if err != nil {
			return []model.ScanError{{Source: src, Object: "Msvm_ImageManagementService", Message: err.Error(),
				Hint: "VHD sizes and checkpoint chains are missing; the disks are still mapped"}}
		}
	case <-ctx.Done():
		return []model.ScanError{{Source: src, Object: "Msvm_ImageManagementService", Message: fmt.Sprintf("no answer within %v", budget)}}
	}
	apply := func(r chainResult) {
		d := &vms[r.vm].Disks[r.disk]
		d.CapacityBytes, d.Backing = r.capacity, r.backing
		if r.err != nil {
			errs = append(errs, model.ScanError{Source: src, Object: vmObject(&vms[r.vm]) + " " + d.Name,
				Message: fmt.Sprintf("read VHD %s: %v", d.Source, r.err), Hint: "the size or checkpoint chain of this disk is incomplete"})
		}
	}
	for n := 0; n < len(jobs); {
		select {
		case r := <-results:
			apply(r)
			n++
		case <-done:
			for ; n < len(jobs); n++ {
				select {
				case r := <-results:
					apply(r)
				default:
					msg := "the COM thread ended early"
					select {
					case err := <-openErr:
						msg = err.Error()
					default:
					}
					return append(errs, model.ScanError{Source: src, Object: "Msvm_ImageManagementService",
						Message: fmt.Sprintf("VHD details of %d images not read: %s", len(jobs)-n, msg)})
				}
			}
		case <-ctx.Done():
			return append(errs, model.ScanError{Source: src, Object: "Msvm_ImageManagementService",
				Message: fmt.Sprintf("VHD details of %d images not read within %v", len(jobs)-n, budget)})
		}
	}
	return errs
}
