package hyperv

import (
	"os"
	"time"
)

// Source scans the Hyper-V host vmstor runs on.
type Source struct {
	host    string
	timeout time.Duration // bounds each WMI query
}

// New returns a Source for this host.
func New() *Source {
	h, _ := os.Hostname()
	return &Source{host: h, timeout: 60 * time.Second}
}

// Name is "hyperv:<hostname>".
func (s *Source) Name() string { return "hyperv:" + s.host }
