package proxmox

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"

	"github.com/vmstor/vmstor/model"
)

// Storage is one storage definition of /etc/pve/storage.cfg (or of the
// REST API's GET /storage).
type Storage struct {
	ID   string
	Type string
	// Props are the definition's properties (path, vgname, pool, portal,
	// target, monhost...). Flags without a value are "1".
	Props map[string]string
}

// ParseStorageConfig reads storage.cfg: "<type>: <id>" section headers
// followed by indented "key value" lines. Malformed lines are returned as
// errors and skipped.
func ParseStorageConfig(r io.Reader) (map[string]Storage, []error) {
	out := map[string]Storage{}
	var errs []error
	var cur *Storage
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), " \t\r")
		t := strings.TrimLeft(line, " \t")
		if t == "" || t[0] == '#' {
			continue
		}
		if t == line { // not indented: a section header
			typ, id, ok := strings.Cut(t, ":")
			typ, id = strings.TrimSpace(typ), strings.TrimSpace(id)
			if !ok || typ == "" || id == "" || strings.ContainsAny(typ, " \t") || strings.ContainsAny(id, " \t") {
				errs = append(errs, LineError{Line: n, Text: line, Msg: `expected a section header "<type>: <storage id>"`})
				cur = nil
				continue
			}
			if _, dup := out[id]; dup {
				errs = append(errs, LineError{Line: n, Text: line, Msg: "storage id " + id + " defined twice (the first one is kept)"})
				cur = nil
				continue
			}
			out[id] = Storage{ID: id, Type: typ, Props: map[string]string{}}
			s := out[id]
			cur = &s
			continue
		}
		if cur == nil {
			errs = append(errs, LineError{Line: n, Text: line, Msg: "property outside a storage section"})
			continue
		}
		k, v, _ := strings.Cut(t, " ")
		v = strings.TrimSpace(v)
		if v == "" {
			v = "1"
		}
		cur.Props[k] = v
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("after line %d: %w", n, err))
	}
	return out, errs
}

// storageFromMap builds a Storage from one element of GET /storage, which
// carries the same properties as storage.cfg plus "storage" and "type".
func storageFromMap(m map[string]any) (Storage, error) {
	s := Storage{Props: map[string]string{}}
	for k, v := range m {
		switch k {
		case "storage":
			s.ID = apiString(v)
		case "type":
			s.Type = apiString(v)
		default:
			s.Props[k] = apiString(v)
		}
	}
	if s.ID == "" || s.Type == "" {
		return s, fmt.Errorf("storage definition without storage id or type: %v", m)
	}
	return s, nil
}

// Resolved is where a volume lives.
type Resolved struct {
	Kind model.DiskKind
	// Source is the host path (an image file or a block device) or, for
	// network disks, the target in the URL form QEMU is given.
	Source  string
	Network *model.NetworkTarget
	// Format is the image format when the volume name or the storage type
	// says it (qcow2, raw, vmdk).
	Format string
	// LUN is the LUN id when the volume name gives it (iSCSI by-id names).
	LUN string
	// Backing is the base image of a linked clone on a file storage
	// (the qcow2 backing file).
	Backing []string
}

// Errors a resolver returns, for callers that want to tell them apart.
var (
	ErrUnknownStorage = errors.New("unknown storage id")
	ErrUnknownType    = errors.New("unknown storage type")
	ErrBadVolume      = errors.New("volume name not understood")
)

// volRE is PVE::Storage::Plugin's image volume name:
// "<vmid>/<name>" or, for linked clones, "<basevmid>/<basename>/<vmid>/<name>".
var (
	volImageRE = regexp.MustCompile(`^(?:(\d+)/([^/\s]+)/)?(\d+)/([^/\s]+)$`)
	// Block storages (lvm, lvmthin, zfspool, rbd): "[base-N-disk-M/]name".
	volBlockRE = regexp.MustCompile(`^(?:(base-\d+-[^/\s]+)/)?([^/\s]+)$`)
	// iSCSI (kernel): "<channel>.<id>.<lun>.<by-id name>".
	volISCSIRE = regexp.MustCompile(`^\d+\.\d+\.\d+\.(\S+)$`)
	// iSCSI (libiscsi): "lun<N>".
	volISCSIDirectRE = regexp.MustCompile(`^lun(\d+)$`)
)

// fileSubdirs are the directories of a file storage per content type
// (PVE::Storage::Plugin::get_subdir).
var fileSubdirs = map[string]string{
	"iso": "template/iso", "vztmpl": "template/cache", "backup": "dump",
	"snippets": "snippets", "import": "import",
}

// Resolve turns a drive's volume ("storeid:volname" or an absolute path)
// into a host path or a network target, as PVE::Storage::path does.
func Resolve(storages map[string]Storage, volume string) (Resolved, error) {
	if strings.HasPrefix(volume, "/") {
		return resolveAbsolute(volume), nil
	}
	if volume == "cdrom" { // the host's physical CD drive
		return Resolved{Kind: model.DiskPassthrough, Source: "/dev/cdrom"}, nil
	}
	id, vol, ok := strings.Cut(volume, ":")
	if !ok || id == "" || vol == "" {
		return Resolved{}, fmt.Errorf("volume %q is neither storeid:volname nor an absolute path: %w", volume, ErrBadVolume)
	}
	s, ok := storages[id]
	if !ok {
		return Resolved{}, fmt.Errorf("volume %q: storage %q: %w", volume, id, ErrUnknownStorage)
	}
	r, err := s.resolve(vol)
	if err != nil {
		return r, fmt.Errorf("volume %q on %s storage %q: %w", volume, s.Type, id, err)
	}
	return r, nil
}

func resolveAbsolute(p string) Resolved {
	if strings.HasPrefix(p, "/dev/") {
		return Resolved{Kind: model.DiskPassthrough, Source: p}
	}
	return Resolved{Kind: model.DiskImage, Source: p, Format: formatOf(p)}
}

func formatOf(name string) string {
	switch ext := strings.TrimPrefix(path.Ext(name), "."); ext {
	case "qcow2", "raw", "vmdk", "iso", "img":
		if ext == "img" {
			return "raw"
		}
		return ext
	}
	return ""
}

func (s Storage) basePath() string {
	if p := s.Props["path"]; p != "" {
		return strings.TrimRight(p, "/")
	}
	// nfs, cifs and cephfs mount under /mnt/pve/<id> unless path says otherwise.
	return "/mnt/pve/" + s.ID
}

func (s Storage) resolve(vol string) (Resolved, error) {
	switch s.Type {
	case "dir", "nfs", "cifs", "cephfs", "glusterfs", "btrfs":
		rel, base, format, err := fileVolume(vol)
		if err != nil {
			return Resolved{}, err
		}
		if s.Type == "glusterfs" {
			server := s.Props["server"]
			hosts := nonEmpty(server, s.Props["server2"])
			name := s.Props["volume"] + "/" + rel
			return Resolved{Kind: model.DiskNetwork, Source: "gluster://" + server + "/" + name, Format: format,
				Network: &model.NetworkTarget{Protocol: "gluster", Hosts: hosts, Name: name}}, nil
		}
		if s.Type == "btrfs" && format == "raw" && strings.HasPrefix(rel, "images/") {
			// BTRFS keeps a raw image as a subvolume holding disk.raw.
			rel = strings.TrimSuffix(rel, ".raw") + "/disk.raw"
		}
		r := Resolved{Kind: model.DiskImage, Source: s.basePath() + "/" + rel, Format: format}
		if base != "" {
			r.Backing = []string{s.basePath() + "/" + base}
		}
		return r, nil
	case "lvm", "lvmthin":
		name, err := blockVolume(vol)
		if err != nil {
			return Resolved{}, err
		}
		vg := s.Props["vgname"]
		if vg == "" {
			return Resolved{}, fmt.Errorf("storage has no vgname")
		}
		return Resolved{Kind: model.DiskPassthrough, Source: "/dev/" + vg + "/" + name, Format: "raw"}, nil
	case "zfspool":
		name, err := blockVolume(vol)
		if err != nil {
			return Resolved{}, err
		}
		pool := s.Props["pool"]
		if pool == "" {
			return Resolved{}, fmt.Errorf("storage has no pool")
		}
		return Resolved{Kind: model.DiskPassthrough, Source: "/dev/zvol/" + pool + "/" + name, Format: "raw"}, nil
	case "iscsi":
		m := volISCSIRE.FindStringSubmatch(vol)
		if m == nil {
			return Resolved{}, fmt.Errorf("%q is not <channel>.<id>.<lun>.<by-id name>: %w", vol, ErrBadVolume)
		}
		return Resolved{Kind: model.DiskPassthrough, Source: "/dev/disk/by-id/" + m[1], Format: "raw", LUN: lunFromByID(m[1])}, nil
	case "iscsidirect":
		m := volISCSIDirectRE.FindStringSubmatch(vol)
		if m == nil {
			return Resolved{}, fmt.Errorf("%q is not lun<N>: %w", vol, ErrBadVolume)
		}
		portal, target := s.Props["portal"], s.Props["target"]
		return Resolved{Kind: model.DiskNetwork, Source: "iscsi://" + portal + "/" + target + "/" + m[1], Format: "raw",
			Network: &model.NetworkTarget{Protocol: "iscsi", Hosts: nonEmpty(portal), Name: target + "/" + m[1]}}, nil
	case "zfs": // ZFS over iSCSI: the LUN number is only known to the target
		name, err := blockVolume(vol)
		if err != nil {
			return Resolved{}, err
		}
		portal, target := s.Props["portal"], s.Props["target"]
		return Resolved{Kind: model.DiskNetwork, Source: "iscsi://" + portal + "/" + target, Format: "raw",
			Network: &model.NetworkTarget{Protocol: "iscsi", Hosts: nonEmpty(portal), Name: target + " (" + s.Props["pool"] + "/" + name + ")"}}, nil
	case "rbd":
		name, err := blockVolume(vol)
		if err != nil {
			return Resolved{}, err
		}
		pool := s.Props["pool"]
		if pool == "" {
			pool = "rbd"
		}
		obj := pool + "/" + name
		if ns := s.Props["namespace"]; ns != "" {
			obj = pool + "/" + ns + "/" + name
		}
		// monhost is "10.0.0.1 10.0.0.2" or "10.0.0.1;10.0.0.2" (or
		// "," ); without it the local Ceph cluster is meant (ceph.conf).
		hosts := strings.FieldsFunc(s.Props["monhost"], func(r rune) bool { return r == ' ' || r == ';' || r == ',' })
		if len(hosts) == 0 {
			hosts = nil
		}
		return Resolved{Kind: model.DiskNetwork, Source: "rbd:" + obj, Format: "raw",
			Network: &model.NetworkTarget{Protocol: "rbd", Hosts: hosts, Name: obj}}, nil
	case "pbs", "esxi":
		return Resolved{}, fmt.Errorf("%s storage holds no VM disks: %w", s.Type, ErrBadVolume)
	}
	return Resolved{}, fmt.Errorf("%q (vmstor knows dir, nfs, cifs, cephfs, glusterfs, btrfs, lvm, lvmthin, zfspool, zfs, iscsi, iscsidirect, rbd): %w", s.Type, ErrUnknownType)
}

// fileVolume returns the path of a volume below a file storage's base path.
func fileVolume(vol string) (rel, base, format string, err error) {
	if m := volImageRE.FindStringSubmatch(vol); m != nil {
		// A linked clone's own image is images/<vmid>/<name>; its base
		// is images/<basevmid>/<basename> (the qcow2 backing file).
		if m[1] != "" {
			base = "images/" + m[1] + "/" + m[2]
		}
		return "images/" + m[3] + "/" + m[4], base, formatOf(m[4]), nil
	}
	typ, rest, ok := strings.Cut(vol, "/")
	if sub, known := fileSubdirs[typ]; ok && known && rest != "" && !strings.Contains(rest, "/") {
		return sub + "/" + rest, "", formatOf(rest), nil
	}
	return "", "", "", fmt.Errorf("%q is not <vmid>/<name> nor iso/<name>: %w", vol, ErrBadVolume)
}

func blockVolume(vol string) (string, error) {
	m := volBlockRE.FindStringSubmatch(vol)
	if m == nil {
		return "", fmt.Errorf("%q is not [base-volume/]name: %w", vol, ErrBadVolume)
	}
	return m[2], nil
}

// lunFromByID returns the LUN id a udev by-id name carries: scsi-3<naa>
// and wwn-0x<naa> name an NAA id, scsi-2<eui> an EUI-64. Other names (ata-,
// scsi-S serials) give "".
func lunFromByID(name string) string {
	hex := func(s string) bool {
		if len(s) != 16 && len(s) != 32 && len(s) != 24 {
			return false
		}
		for _, c := range s {
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
		return true
	}
	switch {
	case strings.HasPrefix(name, "scsi-3") && hex(name[6:]):
		return "naa." + strings.ToLower(name[6:])
	case strings.HasPrefix(name, "wwn-0x") && hex(name[6:]):
		return "naa." + strings.ToLower(name[6:])
	case strings.HasPrefix(name, "scsi-2") && hex(name[6:]):
		return "eui." + strings.ToLower(name[6:])
	}
	return ""
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
