//go:build !windows

package hyperv

import (
	"context"

	"github.com/vmstor/vmstor/model"
)

// ErrNotWindows is the message of Scan on other systems.
const ErrNotWindows = "Hyper-V scanning runs on the Hyper-V host itself (Windows)"

// Scan fails outside Windows: WMI exists only there.
func (s *Source) Scan(ctx context.Context) (*model.Inventory, error) {
	return nil, model.ScanError{Source: s.Name(), Message: ErrNotWindows,
		Hint: "run vmstor on the Hyper-V host and merge its JSON, or use the Windows build"}
}
