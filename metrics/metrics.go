// Package metrics exports the last scan as Prometheus metrics. It is an
// exporter, not instrumentation: a prometheus.Collector that, on each scrape,
// turns the last good inventory and the outcome of the last scan attempt into
// const metrics. The state is swapped whole under a lock, so a scrape never
// sees half of one scan and half of another.
//
// Label cardinality is bounded by the inventory: one series per VM disk and
// LUN pair, per VM disk, per LUN (and four path-state series per LUN), per
// capacity-bearing resource, and per scan source. No label carries a path, a
// message or any other free text; see docs/metrics.md.
package metrics

import (
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/server/redact"
)

const namespace = "vmstor"

// State is what the collector reports.
type State struct {
	// Inv is the last good inventory (nil before the first good scan).
	Inv *model.Inventory
	// ScanID is the store's id of Inv.
	ScanID int64
	// LastAttempt is when the last scan attempt started, good or not.
	LastAttempt time.Time
	// LastDuration is the wall time of the last attempt in seconds.
	LastDuration float64
	// LastSuccess is whether the last attempt produced a stored inventory.
	LastSuccess bool
	// LastSuccessTime is when the last good scan started.
	LastSuccessTime time.Time
	// LastErrors are the errors of the last attempt (a good scan can have
	// per-object errors; a failed one has at least one whole-source error).
	LastErrors []model.ScanError
	// Scans and Failures count attempts since the process started.
	Scans, Failures uint64
}

// PathStates are the path states every LUN reports a count for, so that
// "no failed paths" is a 0 sample, not a missing series.
var PathStates = []string{model.PathActive, model.PathStandby, model.PathFailed, model.PathUnknown}

// capacityKinds are the resource kinds whose size and free space are
// exported: the places where VM disks are stored. Block layers (partitions,
// dm maps) would only repeat the LUN sizes.
var capacityKinds = map[model.ResourceKind]bool{
	model.ResFilesystem: true, model.ResNFS: true, model.ResSMB: true,
	model.ResDatastore: true, model.ResPool: true, model.ResVolume: true,
}

// Collector is a prometheus.Collector over the last scan.
type Collector struct {
	mu    sync.RWMutex
	state State
	// inv caches the const metrics of state.Inv: built on the first scrape
	// after Set, reused until the next Set.
	inv []prometheus.Metric

	vmDiskLUN, vmInfo, diskCap               *prometheus.Desc
	lunInfo, lunSize, lunPaths, lunIOErrors  *prometheus.Desc
	resSize, resFree                         *prometheus.Desc
	scanDuration, scanSuccess, scanTime      *prometheus.Desc
	lastSuccess, scanErrors, scans, failures *prometheus.Desc
	objects, scanID                          *prometheus.Desc
	all                                      []*prometheus.Desc
	names                                    []string
}

// New returns a collector with no scan yet.
func New() *Collector {
	c := &Collector{}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		fq := prometheus.BuildFQName(namespace, "", name)
		desc := prometheus.NewDesc(fq, help, labels, nil)
		c.all = append(c.all, desc)
		c.names = append(c.names, fq)
		return desc
	}
	c.vmDiskLUN = d("vm_disk_lun_info", "A VM disk that sits on a LUN (1). Joins VM, disk, LUN, array and datastore.",
		"vm", "vm_id", "host", "disk", "lun", "array", "datastore")
	c.vmInfo = d("vm_info", "A VM (1).", "vm", "vm_id", "host", "cluster", "platform")
	c.diskCap = d("vm_disk_capacity_bytes", "Capacity of a VM's virtual disk in bytes.", "vm", "vm_id", "host", "disk")
	c.lunInfo = d("lun_info", "A LUN (1), with its array.", "lun", "vendor", "product", "array", "array_vendor", "array_family", "volume", "protocol")
	c.lunSize = d("lun_size_bytes", "Size of a LUN in bytes.", "lun")
	c.lunPaths = d("lun_paths", "Number of host paths to a LUN by normalised state (active, standby, failed, unknown).", "lun", "state")
	c.lunIOErrors = d("lun_io_errors_total", "Sum of the I/O error counters of every path to a LUN, as the hosts report them (resets when a host's counter does).", "lun")
	c.resSize = d("resource_size_bytes", "Size of a filesystem, datastore, pool or volume in bytes.", "host", "resource", "kind", "name")
	c.resFree = d("resource_free_bytes", "Free bytes of a filesystem, datastore, pool or volume, when the platform reports it.", "host", "resource", "kind", "name")
	c.scanDuration = d("scan_duration_seconds", "Wall time of the last scan attempt.")
	c.scanSuccess = d("scan_success", "1 if the last scan attempt produced a stored inventory, 0 if it failed.")
	c.scanTime = d("scan_timestamp_seconds", "Start of the last scan attempt, Unix time.")
	c.lastSuccess = d("last_successful_scan_timestamp_seconds", "Start of the last good scan, Unix time.")
	c.scanErrors = d("scan_errors", "Errors the last scan attempt reported, by source.", "source")
	c.scans = d("scans_total", "Scan attempts since the process started.")
	c.failures = d("scan_failures_total", "Failed scan attempts since the process started.")
	c.objects = d("inventory_objects", "Objects in the last good inventory by kind (host, vm, disk, resource, lun).", "kind")
	c.scanID = d("scan_id", "Store id of the inventory being exported.")
	return c
}

// Set replaces the state the collector reports. The inventory is not copied:
// the caller must not modify it afterwards.
func (c *Collector) Set(s State) {
	c.mu.Lock()
	if s.Inv != c.state.Inv || s.ScanID != c.state.ScanID {
		c.inv = nil
	}
	c.state = s
	c.mu.Unlock()
}

// Get returns the current state.
func (c *Collector) Get() State {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.state
}

// Names returns the full name of every metric the collector can emit.
func (c *Collector) Names() []string { return append([]string(nil), c.names...) }

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.all {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.Get()
	e := emitter{ch: ch, seen: map[seriesKey]bool{}}

	e.gauge(c.scanDuration, s.LastDuration)
	e.gauge(c.scanSuccess, b2f(s.LastSuccess))
	if !s.LastAttempt.IsZero() {
		e.gauge(c.scanTime, float64(s.LastAttempt.UnixMilli())/1e3)
	}
	if !s.LastSuccessTime.IsZero() {
		e.gauge(c.lastSuccess, float64(s.LastSuccessTime.UnixMilli())/1e3)
	}
	e.counter(c.scans, float64(s.Scans))
	e.counter(c.failures, float64(s.Failures))
	bySource := map[string]int{}
	for _, err := range s.LastErrors {
		bySource[redact.String(err.Source)]++
	}
	for src, n := range bySource {
		e.gauge(c.scanErrors, float64(n), src)
	}

	if s.Inv == nil {
		return
	}
	for _, m := range c.inventoryMetrics() {
		ch <- m
	}
}

// inventoryMetrics returns the metrics of the current inventory, building
// them once per scan.
func (c *Collector) inventoryMetrics() []prometheus.Metric {
	c.mu.RLock()
	ms, s := c.inv, c.state
	c.mu.RUnlock()
	if ms != nil {
		return ms
	}
	ch := make(chan prometheus.Metric, 1024)
	done := make(chan []prometheus.Metric)
	go func() {
		var out []prometheus.Metric
		for m := range ch {
			out = append(out, m)
		}
		done <- out
	}()
	c.collectInventory(ch, s)
	close(ch)
	ms = <-done
	c.mu.Lock()
	if c.state.Inv == s.Inv && c.state.ScanID == s.ScanID {
		c.inv = ms
	}
	c.mu.Unlock()
	return ms
}

func (c *Collector) collectInventory(ch chan<- prometheus.Metric, s State) {
	e := emitter{ch: ch, seen: map[seriesKey]bool{}}
	inv := s.Inv
	e.gauge(c.scanID, float64(s.ScanID))

	luns := make(map[string]*model.LUN, len(inv.LUNs))
	for i := range inv.LUNs {
		luns[inv.LUNs[i].ID] = &inv.LUNs[i]
	}
	disks := 0
	for _, vm := range inv.VMs {
		e.gauge(c.vmInfo, 1, vm.Name, vm.ID, vm.Host, vm.Cluster, string(vm.Platform))
		for _, d := range vm.Disks {
			disks++
			if d.CapacityBytes > 0 {
				e.gauge(c.diskCap, float64(d.CapacityBytes), vm.Name, vm.ID, vm.Host, d.Name)
			}
			for _, id := range d.LUNs {
				e.gauge(c.vmDiskLUN, 1, vm.Name, vm.ID, vm.Host, d.Name, id, ArrayName(arrayOf(luns[id])), d.Datastore)
			}
		}
	}
	for i := range inv.LUNs {
		l := &inv.LUNs[i]
		var av, af string
		if l.Array != nil {
			av, af = l.Array.Vendor, l.Array.Family
		}
		e.gauge(c.lunInfo, 1, l.ID, l.Vendor, l.Product, ArrayName(l.Array), av, af, l.Volume, l.Protocol)
		if l.SizeBytes > 0 {
			e.gauge(c.lunSize, float64(l.SizeBytes), l.ID)
		}
		count := map[string]int{}
		for _, p := range l.Paths {
			st := p.State
			if st != model.PathActive && st != model.PathStandby && st != model.PathFailed {
				st = model.PathUnknown
			}
			count[st]++
		}
		for _, st := range PathStates {
			e.gauge(c.lunPaths, float64(count[st]), l.ID, st)
		}
		e.counter(c.lunIOErrors, float64(l.IOErrors), l.ID)
	}
	for _, r := range inv.Resources {
		if !capacityKinds[r.Kind] {
			continue
		}
		if r.SizeBytes > 0 {
			e.gauge(c.resSize, float64(r.SizeBytes), r.Host, r.ID, string(r.Kind), redact.String(r.Name))
		}
		if r.FreeBytes != nil {
			e.gauge(c.resFree, float64(*r.FreeBytes), r.Host, r.ID, string(r.Kind), redact.String(r.Name))
		}
	}
	e.gauge(c.objects, float64(len(inv.Hosts)), "host")
	e.gauge(c.objects, float64(len(inv.VMs)), "vm")
	e.gauge(c.objects, float64(disks), "disk")
	e.gauge(c.objects, float64(len(inv.Resources)), "resource")
	e.gauge(c.objects, float64(len(inv.LUNs)), "lun")
}

// ArrayName is the name vmstor shows for an array: its system name, else
// its system id, else vendor and family; "" for no array.
func ArrayName(a *model.Array) string {
	switch {
	case a == nil:
		return ""
	case a.SystemName != "":
		return a.SystemName
	case a.SystemID != "":
		return a.SystemID
	default:
		return strings.TrimSpace(a.Vendor + " " + a.Family)
	}
}

func arrayOf(l *model.LUN) *model.Array {
	if l == nil {
		return nil
	}
	return l.Array
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// emitter sends const metrics, dropping exact duplicates (two VMs with the
// same id on the same host would otherwise fail the whole scrape) and
// repairing label values that are not valid UTF-8.
type emitter struct {
	ch   chan<- prometheus.Metric
	seen map[seriesKey]bool
}

type seriesKey struct {
	d      *prometheus.Desc
	labels string
}

func (e *emitter) gauge(d *prometheus.Desc, v float64, labels ...string) {
	e.send(d, prometheus.GaugeValue, v, labels)
}

func (e *emitter) counter(d *prometheus.Desc, v float64, labels ...string) {
	e.send(d, prometheus.CounterValue, v, labels)
}

func (e *emitter) send(d *prometheus.Desc, t prometheus.ValueType, v float64, labels []string) {
	for i, l := range labels {
		labels[i] = strings.ToValidUTF8(l, "\uFFFD")
	}
	key := seriesKey{d, strings.Join(labels, "\x00")}
	if e.seen[key] {
		return
	}
	e.seen[key] = true
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	e.ch <- m
}
