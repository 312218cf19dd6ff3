package hoststorage

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// readFile reads a sysfs/procfs file with raw open/read/close: three
// system calls, where os.ReadFile makes five (fstat and a second read for
// EOF); a host scan reads tens of thousands of attributes. sysfs returns a
// whole attribute in one read, so a short read is the end. Reads that fail
// with EAGAIN or EINTR (some drivers) are retried a few times.
func readFile(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	for tries := 0; err == unix.EINTR && tries < 3; tries++ {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, 4096)
	n := 0
	for tries := 0; ; {
		m, err := unix.Read(fd, buf[n:])
		if err != nil {
			if (errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR)) && tries < 3 {
				tries++
				continue
			}
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		n += m
		if m == 0 || n < len(buf) {
			return buf[:n], nil
		}
		if len(buf) >= maxAttr {
			return buf[:n], nil
		}
		buf = append(buf, make([]byte, len(buf))...)
	}
}
