package hoststorage

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// statfs returns a filesystem's size and the space free to unprivileged users.
func statfs(path string) (size, free uint64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	return st.Blocks * uint64(st.Bsize), st.Bavail * uint64(st.Bsize), nil
}

// statDev returns the "maj:min" of the filesystem holding path (st_dev).
func statDev(path string) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "", fmt.Errorf("stat %s: %w", path, err)
	}
	return fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev)), nil
}

// statNode stats path: for a block device its st_rdev, else its st_dev.
func statNode(path string) (devno string, block bool, err error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "", false, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFBLK {
		return fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev)), true, nil
	}
	return fmt.Sprintf("%d:%d", unix.Major(st.Dev), unix.Minor(st.Dev)), false, nil
}
