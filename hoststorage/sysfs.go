package hoststorage

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// maxAttr bounds one sysfs read: text attributes fit in a page; binary VPD
// pages are at most 64 KiB. sysfs reports 4096 as every file's size, so the
// size from stat is no guide.
const maxAttr = 64 << 10

// readRaw reads a sysfs or procfs file once, in one read where the kernel
// allows, retrying a few times on EAGAIN/EINTR (some drivers return them).
// A missing file returns an error wrapping fs.ErrNotExist.
func readRaw(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, 4096)
	n := 0
	for tries := 0; ; {
		m, err := f.Read(buf[n:])
		n += m
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if (errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR)) && tries < 3 {
				tries++
				continue
			}
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		if m == 0 {
			break
		}
		if n == len(buf) {
			if len(buf) >= maxAttr {
				break
			}
			buf = append(buf, make([]byte, len(buf))...)
		}
	}
	return buf[:n], nil
}

// readText reads a text attribute, trimmed of its trailing newline and
// spaces. Missing files give "" and no error: optional attributes are
// common (vpd pages, access_state, loop/backing_file on an unbound loop).
func readText(path string) (string, error) {
	b, err := readRaw(path)
	if errors.Is(err, fs.ErrNotExist) {
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
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
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
