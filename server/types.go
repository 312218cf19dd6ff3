package server

import (
	"time"

	"github.com/vmstor/vmstor/model"
)

// The API's own types: the JSON of /api/v1, documented in openapi.json.
// Model types (model.VM, model.LUN...) appear inside them unchanged.

// Page is one page of a list.
type Page[T any] struct {
	// ScanID is the scan the list was read from (0 for lists not tied to one).
	ScanID int64 `json:"scan_id,omitempty"`
	// Total is the number of items matching the filters; -1 when unknown.
	Total  int `json:"total"`
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
	// NextOffset is the offset of the next page; absent on the last page.
	NextOffset int `json:"next_offset,omitempty"`
	Items      []T `json:"items"`
}

// ScanView is one stored scan.
type ScanView struct {
	ID              int64             `json:"id"`
	Time            time.Time         `json:"time"`
	Sources         []string          `json:"sources"`
	DurationSeconds float64           `json:"duration_seconds"`
	Errors          []model.ScanError `json:"errors"`
	// Status is ok, partial (some part failed) or failed (nothing stored).
	Status string `json:"status"`
	VMs    int    `json:"vms"`
	Disks  int    `json:"disks"`
	LUNs   int    `json:"luns"`
}

// ChangeView is one change between two scans.
type ChangeView struct {
	ScanID int64     `json:"scan_id"`
	Time   time.Time `json:"time"`
	Kind   string    `json:"kind"`
	Object string    `json:"object"`
	Detail string    `json:"detail,omitempty"`
	Before string    `json:"before,omitempty"`
	After  string    `json:"after,omitempty"`
}

// Diff is the answer of /api/v1/diff.
type Diff struct {
	From    int64            `json:"from"`
	To      int64            `json:"to"`
	Changes Page[ChangeView] `json:"changes"`
}

// Status is the state of the watcher: the scan being served and the last
// attempt.
type Status struct {
	Scan *ScanView `json:"scan"`
	// LastAttempt is the start of the last scan attempt.
	LastAttempt *time.Time `json:"last_attempt,omitempty"`
	// LastSuccess is false when the last attempt failed; the scan being
	// served is then the last good one.
	LastSuccess bool `json:"last_success"`
	// LastErrors are the errors of the last attempt.
	LastErrors []model.ScanError `json:"last_errors,omitempty"`
	Counts     Counts            `json:"counts"`
}

// Counts are the sizes and health of the inventory being served.
type Counts struct {
	Hosts      int        `json:"hosts"`
	VMs        int        `json:"vms"`
	Disks      int        `json:"disks"`
	LUNs       int        `json:"luns"`
	Arrays     int        `json:"arrays"`
	Datastores int        `json:"datastores"`
	LUNStates  StateCount `json:"lun_states"`
	Paths      PathCounts `json:"paths"`
}

// StateCount counts LUNs by state.
type StateCount struct {
	OK       int `json:"ok"`
	Degraded int `json:"degraded"`
	Failed   int `json:"failed"`
}

// PathCounts counts paths by normalised state.
type PathCounts struct {
	Active  int `json:"active"`
	Standby int `json:"standby"`
	Failed  int `json:"failed"`
	Unknown int `json:"unknown"`
}

// VMSummary is one row of the VM list.
type VMSummary struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Host          string   `json:"host"`
	Cluster       string   `json:"cluster,omitempty"`
	Platform      string   `json:"platform"`
	State         string   `json:"state"`
	Disks         int      `json:"disks"`
	CapacityBytes uint64   `json:"capacity_bytes"`
	LUNs          []string `json:"luns"`
	Arrays        []string `json:"arrays"`
	Datastores    []string `json:"datastores"`
	// Health is the worst state of the LUNs beneath the VM: ok, degraded,
	// failed; empty when no LUN is known.
	Health string `json:"health"`
	// Unresolved counts disks that could not be traced to storage.
	Unresolved int `json:"unresolved"`

	// lname and lkey are the lower-case name, and name, id and host, for
	// the search filters.
	lname, lkey string
}

// VMDetail is one VM with everything beneath it.
type VMDetail struct {
	ScanID    int64            `json:"scan_id"`
	VM        model.VM         `json:"vm"`
	Summary   VMSummary        `json:"summary"`
	Resources []model.Resource `json:"resources"`
	LUNs      []model.LUN      `json:"luns"`
}

// LUNSummary is one row of the LUN list.
type LUNSummary struct {
	ID        string     `json:"id"`
	Vendor    string     `json:"vendor,omitempty"`
	Product   string     `json:"product,omitempty"`
	SizeBytes uint64     `json:"size_bytes"`
	Array     string     `json:"array,omitempty"`
	Volume    string     `json:"volume,omitempty"`
	State     string     `json:"state"`
	IOErrors  uint64     `json:"io_errors"`
	Hosts     []string   `json:"hosts"`
	Paths     PathCounts `json:"paths"`
	// VMs counts the VMs with a disk on the LUN.
	VMs int `json:"vms"`
}

// DiskUse is one VM disk on a LUN, array or datastore.
type DiskUse struct {
	VM        string   `json:"vm"`
	VMID      string   `json:"vm_id"`
	Host      string   `json:"host"`
	Disk      string   `json:"disk"`
	Source    string   `json:"source"`
	Datastore string   `json:"datastore,omitempty"`
	LUNs      []string `json:"luns"`
}

// BlastRadius is what a LUN or array failure would hit.
type BlastRadius struct {
	VMs        int       `json:"vms"`
	Disks      int       `json:"disks"`
	Hosts      []string  `json:"hosts"`
	Datastores []string  `json:"datastores"`
	Uses       []DiskUse `json:"uses"`
	// Truncated is set when Uses was cut at the API's limit.
	Truncated bool `json:"truncated,omitempty"`
}

// LUNDetail is one LUN with its users and the layers above it.
type LUNDetail struct {
	ScanID  int64      `json:"scan_id"`
	LUN     model.LUN  `json:"lun"`
	Summary LUNSummary `json:"summary"`
	// Above are the resources stacked on the LUN, nearest first.
	Above []model.Resource `json:"above"`
	Blast BlastRadius      `json:"blast_radius"`
}

// ArraySummary is one storage system.
type ArraySummary struct {
	// ID is the array's name as vmstor shows it (system name, else system
	// id, else vendor and family).
	ID         string     `json:"id"`
	Vendor     string     `json:"vendor"`
	Family     string     `json:"family,omitempty"`
	Model      string     `json:"model,omitempty"`
	SystemID   string     `json:"system_id,omitempty"`
	SystemName string     `json:"system_name,omitempty"`
	LUNs       int        `json:"luns"`
	VMs        int        `json:"vms"`
	SizeBytes  uint64     `json:"size_bytes"`
	State      string     `json:"state"`
	IOErrors   uint64     `json:"io_errors"`
	Paths      PathCounts `json:"paths"`
	// State is ok when every LUN is, failed when every LUN is, else degraded.

	vmSet  map[int]bool
	states map[string]int
}

// ArrayDetail is one array with its LUNs and blast radius.
type ArrayDetail struct {
	ScanID int64        `json:"scan_id"`
	Array  ArraySummary `json:"array"`
	LUNs   []LUNSummary `json:"luns"`
	Blast  BlastRadius  `json:"blast_radius"`
}

// DatastoreSummary is a filesystem, datastore, export, pool or volume that
// holds VM disks.
type DatastoreSummary struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Host        string   `json:"host,omitempty"`
	Kind        string   `json:"kind"`
	Type        string   `json:"type,omitempty"`
	Remote      string   `json:"remote,omitempty"`
	SizeBytes   uint64   `json:"size_bytes"`
	FreeBytes   *uint64  `json:"free_bytes,omitempty"`
	FreePercent *float64 `json:"free_percent,omitempty"`
	VMs         int      `json:"vms"`
	LUNs        []string `json:"luns"`
}

// UseView is one answer of who-uses: a VM disk on the object asked about.
type UseView struct {
	VM     string `json:"vm"`
	VMID   string `json:"vm_id"`
	Host   string `json:"host"`
	Disk   string `json:"disk"`
	Source string `json:"source"`
	LUN    string `json:"lun,omitempty"`
	// Via says what the question matched: lun, serial, array, datastore,
	// export or device; Match is what it resolved to.
	Via   string `json:"via"`
	Match string `json:"match"`
}

// Graph is a topology picture: nodes in columns (VM, disk, storage layers,
// LUN, path, array) and the edges between them.
type Graph struct {
	Nodes []Node `json:"nodes"`
	Edges []Edge `json:"edges"`
	// Truncated is set when the graph was cut at the API's node limit.
	Truncated bool `json:"truncated,omitempty"`
}

// Node is one box of a topology picture.
type Node struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Label string `json:"label"`
	// Detail is a second line: size, transport, state.
	Detail string `json:"detail,omitempty"`
	Column int    `json:"column"`
	// State colours the node: ok/degraded/failed for LUNs and arrays,
	// active/standby/failed/unknown for paths.
	State string `json:"state,omitempty"`
	// Link is the page fragment the node opens: vm/ID, lun/ID, array/ID.
	Link string `json:"link,omitempty"`
}

// Edge joins two nodes.
type Edge struct {
	From  string `json:"from"`
	To    string `json:"to"`
	State string `json:"state,omitempty"`
}
