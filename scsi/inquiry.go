package scsi

import "errors"

// ErrUnsupported is returned by Inquiry where the OS has no SG_IO.
var ErrUnsupported = errors.New("scsi: INQUIRY through SG_IO is supported on Linux only")

// ErrTimeout is wrapped by Inquiry when the device did not answer in time.
var ErrTimeout = errors.New("scsi: INQUIRY timed out")
