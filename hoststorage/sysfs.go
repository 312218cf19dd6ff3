package hoststorage

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// maxAttr bounds one sysfs read: text attributes fit in a page; binary VPD
// pages are at most 64 KiB. sysfs reports 4096 as every file's size, so the
// size from stat is no guide.
const maxAttr = 64 << 10

// readRaw reads a sysfs attribute once (see readFile in sysfs_linux.go).
// procfs seq files (mountinfo) are read with os.ReadFile instead: a short
// read there is not the end. A missing file returns an error wrapping fs.ErrNotExist.
func readRaw(path string) ([]byte, error) { return readFile(path) }

// resolveLink follows one symlink the way sysfs uses them (/sys/block/sda
// -> ../devices/.../block/sda): one readlink instead of the lstat of every
// component that filepath.EvalSymlinks does. A path that is no link is
// returned as it is.
func resolveLink(path string) (string, error) {
	t, err := os.Readlink(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		return path, nil // not a symlink: a real directory (fixtures, old kernels)
	}
	if filepath.IsAbs(t) {
		return filepath.Clean(t), nil
	}
	return filepath.Join(filepath.Dir(path), t), nil
}

// readText reads a text attribute, trimmed of its trailing newline and
// spaces. Missing files give "" and no error: optional attributes are
// common (vpd pages, access_state, loop/backing_file on an unbound loop).
func readText(path string) (string, error) {
	b, err := readRaw(path)
	if absent(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return string(bytes.TrimRight(b, "\n\x00 ")), nil
}

// readBinary reads a binary attribute; nil without error when it is absent.
func readBinary(path string) ([]byte, error) {
	b, err := readRaw(path)
	if absent(err) {
		return nil, nil
	}
	return b, err
}

// absent says whether a read failed because the attribute has no value:
// the file is missing, or the kernel refuses the read with EINVAL, ENODEV
// or ENXIO, as scsi_device's wwid does for a device without a usable
// designator and access_state does without an ALUA handler (seen on
// Debian's 6.1 kernel in the SAN lab).
func absent(err error) bool {
	return err != nil && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.EINVAL) ||
		errors.Is(err, syscall.ENODEV) || errors.Is(err, syscall.ENXIO))
}

// parseUint parses decimal or 0x-prefixed hex (ioerr_cnt is "0x1a").
func parseUint(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	v, err := strconv.ParseUint(strings.TrimSpace(s), 0, 64)
	return v, err == nil
}

// sectors converts a sysfs size (always in 512-byte units) to bytes.
func sectors(s string) uint64 {
	v, _ := parseUint(s)
	return v * 512
}
