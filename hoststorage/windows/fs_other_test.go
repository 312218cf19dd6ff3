//go:build !windows

package winstorage

import (
	"context"
	"strings"
	"testing"
)

func TestNotWindows(t *testing.T) {
	fs := New()
	if !strings.HasPrefix(fs.Name(), "windows:") {
		t.Errorf("Name = %q", fs.Name())
	}
	if _, err := fs.Scan(context.Background()); err == nil || !strings.Contains(err.Error(), "the Windows host itself") {
		t.Errorf("Scan on %s: err = %v", "linux", err)
	}
}
