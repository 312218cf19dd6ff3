//go:build !linux

package hoststorage

import (
	"errors"
	"fmt"
)

var errNotLinux = errors.New("hoststorage: live queries need Linux; read a support bundle with QueryDevices off")

func statfs(path string) (size, free uint64, err error) {
	return 0, 0, fmt.Errorf("statfs %s: %w", path, errNotLinux)
}

func statDev(path string) (string, error) { return "", fmt.Errorf("stat %s: %w", path, errNotLinux) }

func statNode(path string) (string, bool, error) {
	return "", false, fmt.Errorf("stat %s: %w", path, errNotLinux)
}
