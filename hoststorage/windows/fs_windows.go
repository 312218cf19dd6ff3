//go:build windows

package winstorage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/scsi"
	"github.com/yusufpapurcu/wmi"
	"golang.org/x/sys/windows"
)

// IOCTL codes (winioctl.h).
const (
	ioctlStorageQueryProperty       = 0x002D1400 // IOCTL_STORAGE_QUERY_PROPERTY
	ioctlVolumeGetVolumeDiskExtents = 0x00560000 // IOCTL_VOLUME_GET_VOLUME_DISK_EXTENTS
)

// cache keeps the volumes of the last scan for Locate.
type cache struct {
	mu   sync.Mutex
	vols []Volume
}

// WQL queries: one per class, every property named (the WMI library fills
// the struct fields of the same names).
const (
	nsCIMV2   = `root\cimv2`
	nsStorage = `root\Microsoft\Windows\Storage`
	nsSMB     = `root\Microsoft\Windows\SMB`

	qDiskDrive = "SELECT Index, DeviceID, Model, SerialNumber, InterfaceType, PNPDeviceID, Size, SCSIPort, SCSIBus, SCSITargetId, SCSILogicalUnit FROM Win32_DiskDrive"
	qMSFTDisk  = "SELECT Number, UniqueId, UniqueIdFormat, BusType, OperationalStatus, IsOffline, IsClustered, Size, FriendlyName, SerialNumber, Manufacturer, Model, Path, Location FROM MSFT_Disk"
	qSMB       = "SELECT ServerName, ShareName, Dialect FROM MSFT_SmbConnection"
)

// partialError is a WMI answer some of whose properties did not fit their
// fields: the objects are kept, the mismatch is reported.
type partialError struct{ err error }

func (e partialError) Error() string { return e.err.Error() }
func (e partialError) Unwrap() error { return e.err }

// query runs one WQL query with the timeout. A panic inside the WMI library
// (a VARIANT of an unexpected type) is an error, not a crash.
func query[T any](ctx context.Context, timeout time.Duration, namespace, q string) ([]T, error) {
	return withTimeout(ctx, timeout, func() (dst []T, err error) {
		defer func() {
			if p := recover(); p != nil {
				dst, err = nil, fmt.Errorf("WMI library failed on %q: %v", q, p)
			}
		}()
		err = wmi.QueryNamespace(q, &dst, namespace)
		var fm *wmi.ErrFieldMismatch
		if errors.As(err, &fm) {
			err = partialError{err}
		}
		return dst, err
	})
}

func isPartial(err error) bool {
	var p partialError
	return errors.As(err, &p)
}

// Scan reads the host's disks, volumes and SMB shares. A failed WMI query or
// device is a ScanError; the rest of the scan completes.
func (fs *FS) Scan(ctx context.Context) (*model.Inventory, error) {
	src := fs.Name()
	f := Facts{Host: fs.host, Devices: map[uint32]DeviceInfo{}}
	var errs []model.ScanError
	var err1, err2 error
	if f.Drives, err1 = query[Win32DiskDrive](ctx, fs.timeout, nsCIMV2, qDiskDrive); err1 != nil {
		errs = append(errs, WMIError(src, "Win32_DiskDrive", nsCIMV2, err1))
	}
	if f.Disks, err2 = query[MSFTDisk](ctx, fs.timeout, nsStorage, qMSFTDisk); err2 != nil {
		errs = append(errs, WMIError(src, "MSFT_Disk", nsStorage, err2))
	}
	if err1 != nil && err2 != nil && !isPartial(err1) && !isPartial(err2) {
		return nil, errs[0]
	}
	var err error
	if f.SMB, err = query[SMBConnection](ctx, fs.timeout, nsSMB, qSMB); err != nil {
		errs = append(errs, WMIError(src, "MSFT_SmbConnection", nsSMB, err))
	}

	numbers := map[uint32]bool{}
	for _, d := range f.Drives {
		numbers[d.Index] = true
	}
	for _, d := range f.Disks {
		numbers[d.Number] = true
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for n := range numbers {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			info, err := withTimeout(ctx, fs.timeout, func() (DeviceInfo, error) { return queryDisk(n), nil })
			if err != nil {
				info = DeviceInfo{Err: fmt.Sprintf("IOCTL_STORAGE_QUERY_PROPERTY on %s: %v", DiskDevice(n), err)}
			}
			mu.Lock()
			f.Devices[n] = info
			mu.Unlock()
		}()
	}
	wg.Wait()

	vols, verrs := fs.listVolumes(ctx)
	for _, e := range verrs {
		errs = append(errs, model.ScanError{Source: src, Object: "volumes", Message: e.Error()})
	}
	f.Volumes = vols
	fs.mu.Lock()
	fs.vols = vols
	fs.mu.Unlock()

	inv := BuildInventory(src, f)
	inv.Errors = append(errs, inv.Errors...)
	return inv, nil
}

// Locate anchors a VHD path at its volume (GetVolumePathName ->
// GetVolumeNameForVolumeMountPoint), a share path at its share and
// \\.\PHYSICALDRIVEn at the disk. When Windows cannot say, the longest
// mount point of the scanned volumes decides.
func (fs *FS) Locate(ctx context.Context, path string) (*model.Anchor, error) {
	kind, norm, _, _ := classify(path)
	if kind != pathLocal {
		return AnchorFor(path, fs.host, nil)
	}
	a, err := withTimeout(ctx, fs.timeout, func() (*model.Anchor, error) {
		guid, err := volumeOfPath(norm)
		if err != nil {
			return nil, err
		}
		return &model.Anchor{Resource: VolumeID(guid), Path: norm, Host: fs.host}, nil
	})
	if err == nil {
		return a, nil
	}
	fs.mu.Lock()
	vols := fs.vols
	fs.mu.Unlock()
	if vols == nil {
		vols, _ = fs.listVolumes(ctx)
	}
	if a, err2 := AnchorFor(norm, fs.host, vols); err2 == nil {
		return a, nil
	}
	return nil, fmt.Errorf("%s: %w", path, err)
}

func volumeOfPath(p string) (string, error) {
	pp, err := windows.UTF16PtrFromString(p)
	if err != nil {
		return "", err
	}
	mp := make([]uint16, windows.MAX_LONG_PATH)
	if err := windows.GetVolumePathName(pp, &mp[0], uint32(len(mp))); err != nil {
		return "", fmt.Errorf("GetVolumePathName: %w", err)
	}
	vol := make([]uint16, 64)
	if err := windows.GetVolumeNameForVolumeMountPoint(&mp[0], &vol[0], uint32(len(vol))); err != nil {
		return "", fmt.Errorf("GetVolumeNameForVolumeMountPoint(%s): %w", windows.UTF16ToString(mp), err)
	}
	return windows.UTF16ToString(vol), nil
}

// openQuery opens a device for IOCTLs only: desired access 0 needs no
// rights beyond query and reads or writes nothing.
func openQuery(name string) (windows.Handle, error) {
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return windows.InvalidHandle, err
	}
	return windows.CreateFile(p, 0, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil, windows.OPEN_EXISTING, 0, 0)
}

func ioctl(h windows.Handle, code uint32, in []byte, outSize int) ([]byte, error) {
	out := make([]byte, outSize)
	var n uint32
	var inp *byte
	if len(in) > 0 {
		inp = &in[0]
	}
	err := windows.DeviceIoControl(h, code, inp, uint32(len(in)), &out[0], uint32(len(out)), &n, nil)
	return out[:n], err
}

// queryDisk reads a disk's STORAGE_DEVICE_DESCRIPTOR and its
// STORAGE_DEVICE_ID_DESCRIPTOR (VPD 0x83) through IOCTL_STORAGE_QUERY_PROPERTY.
func queryDisk(n uint32) DeviceInfo {
	name := DiskDevice(n)
	h, err := openQuery(name)
	if err != nil {
		return DeviceInfo{Err: fmt.Sprintf("WMI lists %s but it cannot be opened: %v", name, err)}
	}
	defer windows.CloseHandle(h)
	var info DeviceInfo
	var errs []string
	if b, err := ioctl(h, ioctlStorageQueryProperty, propertyQuery(storageDeviceProperty), 1024); err != nil {
		errs = append(errs, fmt.Sprintf("StorageDeviceProperty: %v", err))
	} else if d, err := DecodeDeviceDescriptor(b); err != nil {
		errs = append(errs, err.Error())
		info.Descriptor = &d
	} else {
		info.Descriptor = &d
	}
	b, err := ioctl(h, ioctlStorageQueryProperty, propertyQuery(storageDeviceIDProperty), 4096)
	if err == nil && len(b) >= 8 {
		if size := binary.LittleEndian.Uint32(b[4:]); size > uint32(len(b)) && size <= 1<<16 {
			b, err = ioctl(h, ioctlStorageQueryProperty, propertyQuery(storageDeviceIDProperty), int(size))
		}
	}
	if err != nil {
		errs = append(errs, fmt.Sprintf("StorageDeviceIdProperty (VPD 0x83): %v", err))
	} else {
		raw, derr := DecodeDeviceIDDescriptor(b)
		ds, perr := scsi.ParseDesignators(raw)
		info.Designators = ds
		if derr != nil {
			errs = append(errs, derr.Error())
		} else if perr != nil {
			errs = append(errs, perr.Error())
		}
	}
	if len(errs) > 0 {
		info.Err = name + ": " + strings.Join(errs, "; ")
	}
	return info
}

// listVolumes enumerates the volumes (FindFirstVolume/FindNextVolume), their
// mount points, file systems, sizes and disk extents, and adds the Cluster
// Shared Volume folders under %SystemDrive%\ClusterStorage.
func (fs *FS) listVolumes(ctx context.Context) ([]Volume, []error) {
	var errs []error
	names, err := withTimeout(ctx, fs.timeout, func() ([]string, error) {
		var out []string
		buf := make([]uint16, windows.MAX_PATH+1)
		h, err := windows.FindFirstVolume(&buf[0], uint32(len(buf)))
		if err != nil {
			return nil, fmt.Errorf("FindFirstVolume: %w", err)
		}
		defer windows.FindVolumeClose(h)
		for {
			out = append(out, windows.UTF16ToString(buf))
			if err := windows.FindNextVolume(h, &buf[0], uint32(len(buf))); err != nil {
				if errors.Is(err, windows.ERROR_NO_MORE_FILES) {
					return out, nil
				}
				return out, fmt.Errorf("FindNextVolume: %w", err)
			}
		}
	})
	if err != nil {
		errs = append(errs, err)
	}
	vols := make([]Volume, 0, len(names))
	at := map[string]int{}
	for _, n := range names {
		at[strings.ToLower(n)] = len(vols)
		vols = append(vols, fs.readVolume(ctx, n))
	}
	// CSV folders are mount points of CSVFS volumes; make sure each is on
	// its volume even where FindFirstVolume does not list the volume.
	sys := os.Getenv("SystemDrive")
	if sys == "" {
		sys = "C:"
	}
	csvRoot := sys + `\ClusterStorage`
	if ents, err := os.ReadDir(csvRoot); err == nil {
		for _, e := range ents {
			mp := filepath.Join(csvRoot, e.Name()) + `\`
			guid, err := withTimeout(ctx, fs.timeout, func() (string, error) { return volumeOfPath(mp) })
			if err != nil {
				errs = append(errs, fmt.Errorf("cluster shared volume %s: %w", mp, err))
				continue
			}
			i, ok := at[strings.ToLower(guid)]
			if !ok {
				at[strings.ToLower(guid)] = len(vols)
				vols = append(vols, fs.readVolume(ctx, guid))
				i = len(vols) - 1
			}
			if !containsFold(vols[i].Mountpoints, mp) {
				vols[i].Mountpoints = append(vols[i].Mountpoints, mp)
			}
		}
	}
	sort.Slice(vols, func(i, j int) bool { return vols[i].GUIDPath < vols[j].GUIDPath })
	return vols, errs
}

func containsFold(ss []string, s string) bool {
	for _, x := range ss {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// readVolume reads one volume; what fails goes into Volume.Err.
func (fs *FS) readVolume(ctx context.Context, guid string) Volume {
	v := Volume{GUIDPath: guid}
	var errs []string
	gp, err := windows.UTF16PtrFromString(guid)
	if err != nil {
		v.Err = err.Error()
		return v
	}
	type names struct {
		mps       []string
		fs, label string
		size      uint64
		free      *uint64
		errs      []string
	}
	r, err := withTimeout(ctx, fs.timeout, func() (names, error) {
		var r names
		var need uint32
		buf := make([]uint16, 1024)
		err := windows.GetVolumePathNamesForVolumeName(gp, &buf[0], uint32(len(buf)), &need)
		if errors.Is(err, windows.ERROR_MORE_DATA) && need > 0 {
			buf = make([]uint16, need)
			err = windows.GetVolumePathNamesForVolumeName(gp, &buf[0], uint32(len(buf)), &need)
		}
		if err != nil {
			r.errs = append(r.errs, fmt.Sprintf("GetVolumePathNamesForVolumeName: %v", err))
		} else {
			r.mps = multiSZ(buf)
		}
		label := make([]uint16, windows.MAX_PATH+1)
		fsName := make([]uint16, windows.MAX_PATH+1)
		if err := windows.GetVolumeInformation(gp, &label[0], uint32(len(label)), nil, nil, nil, &fsName[0], uint32(len(fsName))); err == nil {
			r.fs, r.label = windows.UTF16ToString(fsName), windows.UTF16ToString(label)
		} else if !errors.Is(err, windows.ERROR_NOT_READY) { // an empty DVD drive
			r.errs = append(r.errs, fmt.Sprintf("GetVolumeInformation: %v", err))
		}
		var avail, total, free uint64
		if err := windows.GetDiskFreeSpaceEx(gp, &avail, &total, &free); err == nil {
			r.size, r.free = total, &free
		}
		return r, nil
	})
	if err != nil {
		errs = append(errs, err.Error())
	}
	v.Mountpoints, v.FileSystem, v.Label, v.Size, v.Free = r.mps, r.fs, r.label, r.size, r.free
	errs = append(errs, r.errs...)

	ext, err := withTimeout(ctx, fs.timeout, func() ([]DiskExtent, error) {
		h, err := openQuery(strings.TrimSuffix(guid, `\`))
		if err != nil {
			return nil, fmt.Errorf("open: %w", err)
		}
		defer windows.CloseHandle(h)
		size := 8 + 24*4
		for {
			b, err := ioctl(h, ioctlVolumeGetVolumeDiskExtents, nil, size)
			if errors.Is(err, windows.ERROR_MORE_DATA) && size < 8+24*1024 {
				size *= 4
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("IOCTL_VOLUME_GET_VOLUME_DISK_EXTENTS: %w", err)
			}
			return DecodeDiskExtents(b)
		}
	})
	if err != nil && !errors.Is(err, windows.ERROR_INVALID_FUNCTION) { // CD/DVD volumes have no disk extents
		errs = append(errs, err.Error())
	}
	v.Extents = ext
	if len(errs) > 0 {
		v.Err = strings.Join(errs, "; ")
	}
	return v
}

// multiSZ splits a REG_MULTI_SZ-style buffer: strings ended by NUL, the list
// ended by an empty string.
func multiSZ(buf []uint16) []string {
	var out []string
	for len(buf) > 0 && buf[0] != 0 {
		i := 0
		for i < len(buf) && buf[i] != 0 {
			i++
		}
		out = append(out, windows.UTF16ToString(buf[:i]))
		if i >= len(buf) {
			break
		}
		buf = buf[i+1:]
	}
	return out
}
