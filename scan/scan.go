// Package scan runs the three phases: it asks every configured source for
// what it sees (phase 1 VM sources, phase 2 host storage), anchors each
// virtual disk in the host storage graph, correlates (phase 3) and returns one
// inventory. A source that fails is reported in the inventory's errors; the
// others still complete.
package scan

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/vmstor/vmstor/array"
	"github.com/vmstor/vmstor/correlate"
	"github.com/vmstor/vmstor/model"
)

// Source is anything that contributes to an inventory: a hypervisor (VMs, and
// for vSphere also hosts, datastores and LUNs) or a host's storage (resources
// and LUNs).
type Source interface {
	// Name identifies the source in the inventory and in errors, e.g.
	// "libvirt:qemu:///system" or "linux:/".
	Name() string
	// Scan returns what the source sees. Failures of single objects go
	// into the returned inventory's Errors; a non-nil error means the
	// source as a whole failed (unreachable, refused), and is reported as
	// one ScanError of that source.
	Scan(ctx context.Context) (*model.Inventory, error)
}

// Locator anchors a disk's source in the local host's storage graph: for an
// image file the filesystem that holds it, for a device the device. It is
// the one host-local step between phase 1 and phase 3.
type Locator interface {
	Locate(ctx context.Context, path string) (*model.Anchor, error)
}

// Options tune Run.
type Options struct {
	// Locator anchors the disks of VMs on the local host; nil skips it
	// (remote platforms anchor their disks themselves).
	Locator Locator
	// LocalHost is the name of the host the Locator sees; disks of VMs on
	// other hosts are not located.
	LocalHost string
	// Enrich runs after every source has answered and before correlation,
	// e.g. array API lookups. Each reports its failures in inv.Errors.
	Enrich []func(context.Context, *model.Inventory)
	// Now stamps the inventory; nil means time.Now.
	Now func() time.Time
}

// Run scans every source concurrently and returns the joined, correlated
// inventory. It never fails as a whole: every failure is in inv.Errors.
func Run(ctx context.Context, opts Options, sources ...Source) *model.Inventory {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	start := time.Now()
	inv := &model.Inventory{Version: model.SchemaVersion, ScannedAt: now().UTC()}

	parts := make([]*model.Inventory, len(sources))
	errs := make([]error, len(sources))
	var wg sync.WaitGroup
	for i, s := range sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parts[i], errs[i] = s.Scan(ctx)
		}()
	}
	wg.Wait()

	for i, s := range sources {
		inv.Sources = append(inv.Sources, s.Name())
		if errs[i] != nil {
			inv.Errors = append(inv.Errors, sourceError(s.Name(), errs[i]))
		}
		if parts[i] != nil {
			Merge(inv, parts[i])
		}
	}

	for i := range inv.LUNs {
		array.Identify(&inv.LUNs[i])
	}
	for _, e := range opts.Enrich {
		e(ctx, inv)
	}
	// LUNs of one storage system share its name and addresses.
	array.GroupSystems(inv.LUNs)
	if opts.Locator != nil {
		locate(ctx, inv, opts.Locator, opts.LocalHost)
	}
	correlate.Correlate(inv)
	Sort(inv)
	// Empty lists, not null, in the JSON contract.
	if inv.VMs == nil {
		inv.VMs = []model.VM{}
	}
	if inv.LUNs == nil {
		inv.LUNs = []model.LUN{}
	}
	inv.DurationSeconds = time.Since(start).Seconds()
	return inv
}

func sourceError(name string, err error) model.ScanError {
	var se model.ScanError
	if errors.As(err, &se) {
		if se.Source == "" {
			se.Source = name
		}
		return se
	}
	return model.ScanError{Source: name, Message: err.Error()}
}

// Merge adds part to inv. LUNs seen by several sources (the same array LUN
// from two hosts) are joined into one, with the paths of both.
func Merge(inv, part *model.Inventory) {
	inv.Hosts = append(inv.Hosts, part.Hosts...)
	inv.VMs = append(inv.VMs, part.VMs...)
	inv.Resources = append(inv.Resources, part.Resources...)
	inv.Errors = append(inv.Errors, part.Errors...)
	if len(part.LUNs) == 0 {
		return
	}
	at := make(map[string]int, len(inv.LUNs))
	for i, l := range inv.LUNs {
		at[l.ID] = i
	}
	for _, l := range part.LUNs {
		i, ok := at[l.ID]
		if !ok {
			at[l.ID] = len(inv.LUNs)
			inv.LUNs = append(inv.LUNs, l)
			continue
		}
		m := &inv.LUNs[i]
		m.Paths = append(m.Paths, l.Paths...)
		m.Hosts = model.AppendNew(m.Hosts, l.Hosts...)
		m.IOErrors += l.IOErrors
		m.State = model.LUNState(m.Paths)
		if m.Array == nil {
			m.Array = l.Array
		}
	}
}

// locateTimeout bounds one stat of a disk source: a hung NFS server must not
// hang the scan.
const locateTimeout = 10 * time.Second

// locate anchors the disks of local VMs (all but network disks, which the
// hypervisor opens itself), a bounded number at a time.
func locate(ctx context.Context, inv *model.Inventory, l Locator, host string) {
	type job struct{ vm, disk int }
	var jobs []job
	for i := range inv.VMs {
		vm := &inv.VMs[i]
		if host != "" && vm.Host != host {
			continue
		}
		for j := range vm.Disks {
			d := &vm.Disks[j]
			// Skip what is anchored, failed already (keep that message),
			// remote, or not a host path at all (an empty CD-ROM, a PCI device).
			if d.Anchor != nil || d.Error != "" || d.Kind == model.DiskNetwork || !isHostPath(d.Source) {
				continue
			}
			jobs = append(jobs, job{i, j})
		}
	}
	// Each goroutine writes only its own disk: no lock needed.
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for _, jb := range jobs {
		d := &inv.VMs[jb.vm].Disks[jb.disk]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			lctx, cancel := context.WithTimeout(ctx, locateTimeout)
			defer cancel()
			a, err := l.Locate(lctx, d.Source)
			if err != nil {
				// Correlation reports the unresolved disk; keep the cause.
				d.Error = fmt.Sprintf("locate %s: %v", d.Source, err)
				return
			}
			d.Anchor = a
		}()
	}
	wg.Wait()
}

// isHostPath reports whether s is an absolute path on a Linux or Windows host.
func isHostPath(s string) bool {
	switch {
	case strings.HasPrefix(s, "/"), strings.HasPrefix(s, `\\`):
		return true
	case len(s) >= 3 && s[1] == ':' && (s[2] == '\\' || s[2] == '/'):
		c := s[0] | 0x20
		return c >= 'a' && c <= 'z'
	}
	return false
}

// Sort orders an inventory deterministically: VMs by host and name, disks by
// name, LUNs by id, resources by id, paths by host and device.
func Sort(inv *model.Inventory) {
	sort.SliceStable(inv.VMs, func(i, j int) bool {
		a, b := inv.VMs[i], inv.VMs[j]
		if a.Host != b.Host {
			return a.Host < b.Host
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.ID < b.ID
	})
	sort.SliceStable(inv.Hosts, func(i, j int) bool { return inv.Hosts[i].Name < inv.Hosts[j].Name })
	sort.SliceStable(inv.Resources, func(i, j int) bool { return inv.Resources[i].ID < inv.Resources[j].ID })
	sort.SliceStable(inv.LUNs, func(i, j int) bool { return inv.LUNs[i].ID < inv.LUNs[j].ID })
	for i := range inv.LUNs {
		p := inv.LUNs[i].Paths
		sort.SliceStable(p, func(a, b int) bool {
			if p[a].Host != p[b].Host {
				return p[a].Host < p[b].Host
			}
			return p[a].Device < p[b].Device
		})
	}
}
