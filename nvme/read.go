package nvme

import (
	"context"
	"fmt"
)

// ReadONTAP reads and decodes the ONTAP namespace-info log page of the
// namespace device at path.
func ReadONTAP(ctx context.Context, path string) (ONTAPNamespace, error) {
	d, err := Open(path)
	if err != nil {
		return ONTAPNamespace{}, err
	}
	defer d.Close()
	b, err := d.GetLogPage(ctx, ONTAPLogID, ONTAPLSPNamespaceInfo, ONTAPLogSize)
	if err != nil {
		return ONTAPNamespace{}, err
	}
	ns, err := DecodeONTAPLog(b)
	if err != nil {
		return ns, fmt.Errorf("%s: %w", path, err)
	}
	return ns, nil
}

// ReadESeries reads the E-Series labels from the identify data of the
// namespace device at path.
func ReadESeries(ctx context.Context, path string) (ESeriesLabels, error) {
	d, err := Open(path)
	if err != nil {
		return ESeriesLabels{}, err
	}
	defer d.Close()
	ctrl, err := d.Identify(ctx, 1)
	if err != nil {
		return ESeriesLabels{}, err
	}
	ns, err := d.Identify(ctx, 0)
	if err != nil {
		return ESeriesLabels{}, err
	}
	return DecodeESeriesLabels(ctrl, ns), nil
}
