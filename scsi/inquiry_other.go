//go:build !linux

package scsi

import (
	"context"
	"fmt"
	"time"
)

// Inquiry is not available on this OS.
func Inquiry(ctx context.Context, device string, evpd bool, page uint8, timeout time.Duration) ([]byte, error) {
	return nil, fmt.Errorf("inquiry %s: %w", device, ErrUnsupported)
}
