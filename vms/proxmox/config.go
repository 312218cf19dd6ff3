// Package proxmox reads Proxmox VE virtual machines and their disks (phase 1),
// either from a node's own configuration files (/etc/pve) or from the
// Proxmox REST API, and resolves every disk through the storage definitions
// to a host path or a network target.
package proxmox

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// VMConfig is the current configuration of one VM: the part of
// /etc/pve/qemu-server/<vmid>.conf above the first [section] (snapshots and
// pending changes live in sections and are not the running configuration).
type VMConfig struct {
	// Options are every "key: value" line, keys as written.
	Options map[string]string
	// Drives are the disk keys (ide0, scsi1, efidisk0, unused0...) parsed,
	// in key order.
	Drives []Drive
}

// Drive is one disk key of a VM config.
type Drive struct {
	// Key is the config key: scsi0, virtio1, efidisk0, tpmstate0, unused0.
	Key string
	// Bus is the key's bus: ide, sata, scsi, virtio; "" for efidisk,
	// tpmstate and unused.
	Bus string
	// Volume is "storeid:volname", an absolute path, "none" (empty CD
	// drive) or "cdrom" (the host's CD drive).
	Volume string
	// Opts are the comma-separated key=value options after the volume.
	Opts map[string]string
}

// LineError is a configuration line that could not be parsed.
type LineError struct {
	Line int
	Text string
	Msg  string
}

func (e LineError) Error() string {
	return fmt.Sprintf("line %d: %s: %q", e.Line, e.Msg, e.Text)
}

// diskBuses are the disk key prefixes and the highest index Proxmox accepts
// (qemu-server's PVE::QemuServer::Drive: ide0-3, sata0-5, scsi0-30,
// virtio0-15, efidisk0, tpmstate0; unusedN is unbounded).
var diskBuses = map[string]int{
	"ide": 3, "sata": 5, "scsi": 30, "virtio": 15, "efidisk": 0, "tpmstate": 0, "unused": -1,
}

// splitDiskKey returns the bus prefix of a disk key, or ok=false when key is
// not a disk key (e.g. scsihw, ide10, virtio16).
func splitDiskKey(key string) (prefix string, ok bool) {
	i := strings.IndexAny(key, "0123456789")
	if i <= 0 {
		return "", false
	}
	prefix, num := key[:i], key[i:]
	maxIdx, known := diskBuses[prefix]
	if !known {
		return "", false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || (num != "0" && num[0] == '0') {
		return "", false
	}
	if maxIdx >= 0 && n > maxIdx {
		return "", false
	}
	return prefix, true
}

// ParseVMConfig reads a qemu-server configuration. It stops at the first
// section header ([snapshot], [PENDING], [special:cloudinit]). Malformed lines
// are returned as errors and skipped; the rest of the file is still read.
func ParseVMConfig(r io.Reader) (*VMConfig, []error) {
	cfg := &VMConfig{Options: map[string]string{}}
	var errs []error
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), " \t\r")
		t := strings.TrimLeft(line, " \t")
		if t == "" || t[0] == '#' { // '#' lines hold the VM description
			continue
		}
		if t[0] == '[' {
			break
		}
		key, value, ok := strings.Cut(t, ":")
		key = strings.TrimSpace(key)
		if !ok || key == "" || strings.ContainsAny(key, " \t") {
			errs = append(errs, LineError{Line: n, Text: line, Msg: `expected "key: value"`})
			continue
		}
		value = strings.TrimSpace(value)
		if _, dup := cfg.Options[key]; dup {
			errs = append(errs, LineError{Line: n, Text: line, Msg: "duplicate key " + key + " (the first one is kept)"})
			continue
		}
		cfg.Options[key] = value
		if err := cfg.addDrive(key, value); err != nil {
			errs = append(errs, LineError{Line: n, Text: line, Msg: err.Error()})
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("after line %d: %w", n, err))
	}
	cfg.sortDrives()
	return cfg, errs
}

// configFromMap builds a VMConfig from the REST API's config object
// (GET /nodes/{node}/qemu/{vmid}/config), whose keys and values are those of
// the file. Values that are not disk keys may be numbers.
func configFromMap(m map[string]any) (*VMConfig, []error) {
	cfg := &VMConfig{Options: map[string]string{}}
	var errs []error
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := apiString(m[k])
		cfg.Options[k] = v
		if err := cfg.addDrive(k, v); err != nil {
			errs = append(errs, fmt.Errorf("key %s: %w", k, err))
		}
	}
	cfg.sortDrives()
	return cfg, errs
}

func (cfg *VMConfig) addDrive(key, value string) error {
	prefix, ok := splitDiskKey(key)
	if !ok {
		return nil
	}
	d, err := ParseDrive(key, value)
	if err != nil {
		return err
	}
	d.Bus = prefix
	if prefix == "efidisk" || prefix == "tpmstate" || prefix == "unused" {
		d.Bus = ""
	}
	cfg.Drives = append(cfg.Drives, d)
	return nil
}

func (cfg *VMConfig) sortDrives() {
	sort.SliceStable(cfg.Drives, func(i, j int) bool { return keyLess(cfg.Drives[i].Key, cfg.Drives[j].Key) })
}

// keyLess orders scsi2 before scsi10.
func keyLess(a, b string) bool {
	ia, ib := strings.IndexAny(a, "0123456789"), strings.IndexAny(b, "0123456789")
	if ia > 0 && ib > 0 && a[:ia] == b[:ib] {
		na, ea := strconv.Atoi(a[ia:])
		nb, eb := strconv.Atoi(b[ib:])
		if ea == nil && eb == nil {
			return na < nb
		}
	}
	return a < b
}

// ParseDrive parses a drive value: "[file=]<volume>[,opt=value...]".
func ParseDrive(key, value string) (Drive, error) {
	d := Drive{Key: key, Opts: map[string]string{}}
	parts := strings.Split(value, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, v, hasEq := strings.Cut(p, "=")
		switch {
		case i == 0 && !hasEq:
			d.Volume = p
		case !hasEq:
			return d, fmt.Errorf("option %q of %s is not key=value", p, key)
		case k == "file" || k == "volume":
			if d.Volume != "" {
				return d, fmt.Errorf("%s names two volumes (%q and %q)", key, d.Volume, v)
			}
			d.Volume = v
		default:
			d.Opts[k] = v
		}
	}
	if d.Volume == "" {
		return d, fmt.Errorf("%s has no volume", key)
	}
	return d, nil
}

// ParseSize parses a Proxmox size option ("32G", "4M", "1536", "0.5T") into
// bytes; units are binary (K = 1024).
func ParseSize(s string) (uint64, error) {
	if s == "" {
		return 0, fmt.Errorf("empty size")
	}
	mult := 1.0
	switch s[len(s)-1] {
	case 'K', 'k':
		mult = 1 << 10
	case 'M', 'm':
		mult = 1 << 20
	case 'G', 'g':
		mult = 1 << 30
	case 'T', 't':
		mult = 1 << 40
	}
	num := s
	if mult != 1 {
		num = s[:len(s)-1]
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || f*mult > (1<<63) || num == "" || strings.ContainsAny(num, "eEpPxX+-_nNiI") {
		return 0, fmt.Errorf("size %q is not a number with an optional K/M/G/T unit", s)
	}
	return uint64(f * mult), nil
}

func apiString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		if x {
			return "1"
		}
		return "0"
	default:
		return fmt.Sprint(x)
	}
}
