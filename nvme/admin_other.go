//go:build !linux

package nvme

import (
	"context"
	"fmt"
)

// Device is an NVMe namespace device; only Linux has the reader.
type Device struct{}

// Open reports ErrUnsupported outside Linux.
func Open(path string) (*Device, error) { return nil, fmt.Errorf("open %s: %w", path, ErrUnsupported) }

// Close does nothing.
func (d *Device) Close() error { return nil }

// NSID is 0.
func (d *Device) NSID() uint32 { return 0 }

// GetLogPage reports ErrUnsupported.
func (d *Device) GetLogPage(ctx context.Context, lid, lsp uint8, n int) ([]byte, error) {
	return nil, ErrUnsupported
}

// Identify reports ErrUnsupported.
func (d *Device) Identify(ctx context.Context, cns uint8) ([]byte, error) {
	return nil, ErrUnsupported
}
