//go:build !windows

package hyperv

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vmstor/vmstor/model"
)

func TestScanNotWindows(t *testing.T) {
	s := New()
	if !strings.HasPrefix(s.Name(), "hyperv:") {
		t.Errorf("Name() = %q, want hyperv:<hostname>", s.Name())
	}
	inv, err := s.Scan(context.Background())
	var se model.ScanError
	if inv != nil || !errors.As(err, &se) || se.Message != ErrNotWindows || se.Source != s.Name() {
		t.Errorf("Scan = %v, %#v; want the not-Windows ScanError", inv, err)
	}
}
