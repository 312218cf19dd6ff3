package array

import "github.com/vmstor/vmstor/model"

// decodeVendorPage decodes one vendor VPD page read from l's device.
func decodeVendorPage(l *model.LUN, page uint8, b []byte) {
}
