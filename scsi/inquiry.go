package scsi

import "errors"

// ErrUnsupported is returned by Inquiry where the OS has no SG_IO.
var ErrUnsupported = errors.New("scsi: INQUIRY through SG_IO is supported on Linux only")

// ErrNotSupported is wrapped by Inquiry when the device answers CHECK
// CONDITION with ILLEGAL REQUEST: for an INQUIRY that means it does not
// have the VPD page asked for, which is an answer, not a failure.
var ErrNotSupported = errors.New("scsi: the device does not support this page")

// ErrTimeout is wrapped by Inquiry when the device did not answer in time.
var ErrTimeout = errors.New("scsi: INQUIRY timed out")
