package nvme

import (
	"errors"
	"fmt"
)

// ErrUnsupported is returned where the platform has no NVMe pass-through.
var ErrUnsupported = errors.New("NVMe admin pass-through is not supported on this platform")

// StatusError is an NVMe completion status other than success, as the
// kernel returns it: status code (bits 0-7), status code type (bits 8-10),
// More (bit 13), Do Not Retry (bit 14).
type StatusError struct {
	Status uint16
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("NVMe status 0x%04x (type %d, code 0x%02x", e.Status, (e.Status>>8)&0x7, e.Status&0xff)
	if e.Status&0x4000 != 0 {
		s += ", do not retry"
	}
	return s + ")"
}
