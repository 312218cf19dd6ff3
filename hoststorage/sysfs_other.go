//go:build !linux

package hoststorage

import (
	"io"
	"os"
)

// readFile reads a file of a support bundle copied from a Linux host.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxAttr))
}
