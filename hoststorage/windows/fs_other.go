//go:build !windows

package winstorage

import (
	"context"
	"errors"

	"github.com/vmstor/vmstor/model"
)

// ErrNotWindows is what Scan and Locate return on other systems.
var ErrNotWindows = errors.New("the storage of a Windows host is read on the Windows host itself")

//lint:ignore U1000 the volume cache for Locate exists on Windows only
type cache struct{}

// Scan reads nothing outside Windows.
func (fs *FS) Scan(ctx context.Context) (*model.Inventory, error) {
	return nil, model.ScanError{Source: fs.Name(), Message: ErrNotWindows.Error(), Hint: "run vmstor on the Hyper-V host"}
}

// Locate anchors nothing outside Windows.
func (fs *FS) Locate(ctx context.Context, path string) (*model.Anchor, error) {
	return nil, ErrNotWindows
}
