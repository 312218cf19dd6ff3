package winstorage

import (
	"context"
	"fmt"
	"os"
	"time"
)

// FS reads the storage of the Windows host it runs on.
type FS struct {
	host    string
	timeout time.Duration // bounds each WMI query and each device or volume query
	//lint:ignore U1000 the volume cache for Locate exists on Windows only
	cache
}

// New returns an FS for this host.
func New() *FS {
	h, _ := os.Hostname()
	return &FS{host: h, timeout: 15 * time.Second}
}

// Name is "windows:<hostname>".
func (fs *FS) Name() string { return "windows:" + fs.host }

// Host is the host name resources and paths carry.
func (fs *FS) Host() string { return fs.host }

// withTimeout runs f and gives up waiting after d: a device or WMI provider
// that hangs must not hang the scan. The call itself cannot be cancelled; its
// goroutine ends when the call returns.
func withTimeout[T any](ctx context.Context, d time.Duration, f func() (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := f()
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, fmt.Errorf("no answer within %v: %w", d, ctx.Err())
	}
}
