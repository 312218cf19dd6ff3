// Package libvirt reads the VMs of a KVM/QEMU host and their virtual disks
// from libvirtd (phase 1), over libvirt's own RPC protocol on its UNIX socket
// (github.com/digitalocean/go-libvirt, no cgo), and parses each domain's XML
// with libvirt.org/go/libvirtxml.
//
// Only read-only calls are made, so the read-only socket
// (/var/run/libvirt/libvirt-sock-ro) is enough: ConnectGetHostname,
// ConnectListAllDomains, DomainGetXMLDesc (never with the secure flag),
// DomainGetState, and for <disk type='volume'> the storage pool lookups.
package libvirt

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"
	"github.com/digitalocean/go-libvirt/socket/dialers"
	"libvirt.org/go/libvirtxml"

	"github.com/vmstor/vmstor/model"
)

// DefaultURI is the system QEMU driver.
const DefaultURI = "qemu:///system"

// runDir is where the system daemons put their sockets.
const runDir = "/var/run/libvirt"

// Defaults of a Source; the fields can be changed before Scan.
const (
	// DefaultTimeout bounds a whole scan when the context has no deadline:
	// a hung libvirtd must not hang vmstor.
	DefaultTimeout = 2 * time.Minute
	// DefaultConcurrency is the number of domains read at once. libvirtd
	// serves 5 requests of one client at a time (max_client_requests).
	DefaultConcurrency = 4
)

// Source scans one libvirt connection. It implements scan.Source.
type Source struct {
	uri string
	// Timeout bounds a scan whose context has no deadline.
	Timeout time.Duration
	// Concurrency is how many domains are read at once.
	Concurrency int
	// SysRoot is the sysfs root used to anchor SCSI <hostdev> disks of a
	// local connection in the host's block devices ("" disables it).
	SysRoot string

	// wrap, when set, wraps the connection (tests inject faults with it).
	wrap func(rpc) rpc
	// statePerDomain asks each domain's state on its own, the way the
	// benchmark's baseline does.
	statePerDomain bool
}

// New returns a source for uri; "" means qemu:///system.
func New(uri string) *Source {
	if uri == "" {
		uri = DefaultURI
	}
	return &Source{uri: uri, Timeout: DefaultTimeout, Concurrency: DefaultConcurrency, SysRoot: "/sys"}
}

// Name is "libvirt:<uri>".
func (s *Source) Name() string { return "libvirt:" + s.uri }

// DefaultAvailable reports whether the qemu:///system daemon's socket (or its
// read-only socket) exists, so the CLI can scan it without being told.
func DefaultAvailable() bool {
	for _, p := range systemSockets(runDir) {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Type() == os.ModeSocket {
			return true
		}
	}
	return false
}

// rpc is the part of *golibvirt.Libvirt a scan uses.
type rpc interface {
	ConnectGetHostname() (string, error)
	ConnectListAllDomains(needResults int32, flags golibvirt.ConnectListAllDomainsFlags) ([]golibvirt.Domain, uint32, error)
	DomainGetXMLDesc(dom golibvirt.Domain, flags golibvirt.DomainXMLFlags) (string, error)
	DomainGetState(dom golibvirt.Domain, flags uint32) (int32, int32, error)
	ConnectGetAllDomainStats(doms []golibvirt.Domain, stats uint32, flags uint32) ([]golibvirt.DomainStatsRecord, error)
	StoragePoolLookupByName(name string) (golibvirt.StoragePool, error)
	StoragePoolGetXMLDesc(pool golibvirt.StoragePool, flags golibvirt.StorageXMLFlags) (string, error)
	StorageVolLookupByName(pool golibvirt.StoragePool, name string) (golibvirt.StorageVol, error)
	StorageVolGetInfo(vol golibvirt.StorageVol) (int8, uint64, uint64, error)
	StorageVolGetPath(vol golibvirt.StorageVol) (string, error)
}

// Scan lists every domain, active and inactive, and reads each one's disks.
// A connection that fails is the returned error (a model.ScanError with a
// hint); a domain that fails is an entry of the inventory's Errors.
func (s *Source) Scan(ctx context.Context) (*model.Inventory, error) {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}

	c, err := s.connect(ctx)
	if err != nil {
		return nil, err
	}
	// go-libvirt calls take no context: closing the connection is what
	// interrupts them (they return ErrInterrupted).
	done := make(chan struct{})
	var closeOnce sync.Once
	closeConn := func() { closeOnce.Do(func() { _ = c.lv.Disconnect() }) }
	go func() {
		select {
		case <-ctx.Done():
			closeConn()
		case <-done:
		}
	}()
	defer func() { close(done); closeConn() }()

	var r rpc = c.lv
	if s.wrap != nil {
		r = s.wrap(r)
	}
	inv, err := s.scan(ctx, r, c)
	if err != nil && ctx.Err() != nil {
		msg := err.Error()
		var se model.ScanError
		if errors.As(err, &se) {
			msg = se.Message
		}
		hint := "libvirtd did not answer in time; check `virsh -c " + s.uri + " list --all` responds, or raise --timeout"
		if errors.Is(ctx.Err(), context.Canceled) {
			hint = "the scan was cancelled before it finished; scan again"
		}
		return inv, s.errorf("", "scan interrupted (%v): %s", ctx.Err(), msg).WithHint(hint)
	}
	return inv, err
}

func (s *Source) scan(ctx context.Context, r rpc, c *conn) (*model.Inventory, error) {
	inv := &model.Inventory{Version: model.SchemaVersion, VMs: []model.VM{}, LUNs: []model.LUN{}}
	host, err := r.ConnectGetHostname()
	if err != nil {
		return nil, s.callError("", "get the host name", err)
	}
	inv.Hosts = []model.Host{{Name: host, Platform: model.PlatformLibvirt, State: "connected"}}

	doms, _, err := r.ConnectListAllDomains(1, golibvirt.ConnectListDomainsActive|golibvirt.ConnectListDomainsInactive)
	if err != nil {
		return nil, s.callError("", "list domains", err)
	}

	// One call for every state instead of a DomainGetState per domain
	// (3 + N calls in all rather than 2 + 2N). A domain it misses falls
	// back to DomainGetState.
	states := map[golibvirt.UUID]int32{}
	if !s.statePerDomain {
		recs, err := r.ConnectGetAllDomainStats(nil, uint32(golibvirt.DomainStatsState), 0)
		if err == nil {
			for _, rec := range recs {
				for _, p := range rec.Params {
					if v, ok := p.Value.I.(int32); ok && p.Field == "state.state" {
						states[rec.Dom.UUID] = v
					}
				}
			}
		}
	}

	vols := newVolumeCache(r)
	sysRoot := ""
	if c.local {
		sysRoot = s.SysRoot
	}
	type result struct {
		vm   *model.VM
		errs []model.ScanError
		lost bool // a call failed because the connection was closed
		done bool
	}
	results := make([]result, len(doms))
	n := s.Concurrency
	if n <= 0 {
		n = DefaultConcurrency
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, d := range doms {
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			st, known := states[d.UUID]
			vm, errs, lost := s.readDomain(r, d, st, known, host, vols, sysRoot)
			results[i] = result{vm, errs, lost, true}
		}()
	}
	wg.Wait()
	unread := 0
	for _, res := range results {
		if !res.done || ctx.Err() != nil && res.lost {
			// Not read, or cut off, because the scan ran out of time: one
			// error for the scan says so, not one per domain.
			unread++
			continue
		}
		if res.vm != nil {
			inv.VMs = append(inv.VMs, *res.vm)
		}
		inv.Errors = append(inv.Errors, res.errs...)
	}
	sort.Slice(inv.VMs, func(i, j int) bool { return inv.VMs[i].Name < inv.VMs[j].Name })
	if ctx.Err() != nil {
		// The caller names the cause (ctx.Err()).
		return inv, fmt.Errorf("%d of %d domains not read", unread, len(doms))
	}
	return inv, nil
}

// readDomain reads one domain's XML, and its state unless known. A domain
// that vanished since the listing gives no VM and one error.
func (s *Source) readDomain(r rpc, d golibvirt.Domain, st int32, known bool, host string, vols volumeResolver, sysRoot string) (vm *model.VM, errs []model.ScanError, lost bool) {
	obj := domainObject(d)
	doc, err := r.DomainGetXMLDesc(d, 0)
	if err != nil {
		lost = connLost(err)
		if isLibvirtError(err, golibvirt.ErrNoDomain) {
			return nil, []model.ScanError{s.errorf(obj, "domain disappeared between listing and reading its XML: %v", err).
				WithHint("it was undefined, or it was transient and stopped, while vmstor scanned; scan again")}, lost
		}
		return nil, []model.ScanError{s.callError(obj, "read the domain XML", err)}, lost
	}
	state := "unknown"
	if !known {
		st, _, err = r.DomainGetState(d, 0)
	}
	switch {
	case err == nil:
		state = stateName(st)
	case isLibvirtError(err, golibvirt.ErrNoDomain):
		return nil, []model.ScanError{s.errorf(obj, "domain disappeared between listing and reading its state: %v", err).
			WithHint("it was undefined, or it was transient and stopped, while vmstor scanned; scan again")}, false
	default:
		lost = connLost(err)
		errs = append(errs, s.callError(obj, "read the domain state", err))
	}

	v, problems, err := convertDomain(doc, host, vols)
	if err != nil {
		// Keep the VM: it exists, only its disks are unknown.
		v = model.VM{ID: uuidString(d.UUID), Name: d.Name, Host: host, Platform: model.PlatformLibvirt, Disks: []model.Disk{}}
		errs = append(errs, s.errorf(obj, "malformed domain XML, disks unknown: %v", err).
			WithHint("show the XML with `virsh dumpxml "+d.Name+"`; libvirt should never produce this, report it"))
	}
	v.State = state
	for _, p := range problems {
		errs = append(errs, s.errorf(obj+" disk "+p.disk, "%s", p.message).WithHint(p.hint))
		lost = lost || p.lost
	}
	if sysRoot != "" {
		anchorHostdevs(sysRoot, &v)
	}
	return &v, errs, lost
}

func domainObject(d golibvirt.Domain) string {
	return fmt.Sprintf("domain %s (%s)", d.Name, uuidString(d.UUID))
}

func uuidString(u golibvirt.UUID) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

func (s *Source) errorf(object, format string, args ...any) model.ScanError {
	return model.Errorf(s.Name(), object, format, args...)
}

// callError describes a failed libvirt call, with a hint for the errors a
// user can act on.
func (s *Source) callError(object, what string, err error) model.ScanError {
	e := s.errorf(object, "cannot %s: %v", what, err)
	switch {
	case connLost(err):
		return e.WithHint("the connection to libvirtd was lost (daemon restarted or stopped, or the scan timed out); scan again")
	case isLibvirtError(err, golibvirt.ErrOperationDenied), isLibvirtError(err, golibvirt.ErrAccessDenied):
		return e.WithHint("this call needs more privilege than the connection has: run vmstor as root or as a member of the libvirt group")
	}
	return e
}

// connLost reports a call that failed because the connection closed (the
// scan's deadline, or the daemon went away).
func connLost(err error) bool {
	return errors.Is(err, golibvirt.ErrInterrupted) || errors.Is(err, syscall.EINVAL)
}

func isLibvirtError(err error, code golibvirt.ErrorNumber) bool {
	var le golibvirt.Error
	return errors.As(err, &le) && le.Code == uint32(code)
}

// conn is an open connection to libvirtd.
type conn struct {
	lv *golibvirt.Libvirt
	// socket is the socket dialed ("" for remote transports).
	socket string
	// local is set when the daemon runs on this host, so its device names
	// are this host's.
	local bool
}

// connect opens the connection for s.uri. For a local URI it tries the
// read-write socket, then the modular daemon's, then the read-only ones, and
// reports the most useful failure.
func (s *Source) connect(ctx context.Context) (*conn, error) {
	u, err := url.Parse(s.uri)
	if err != nil || u.Scheme == "" {
		return nil, s.errorf("", "invalid libvirt URI %q: %v", s.uri, err).
			WithHint("use a libvirt URI such as qemu:///system or qemu:///session")
	}
	transport := ""
	if _, t, ok := strings.Cut(u.Scheme, "+"); ok {
		transport = t
	}
	if u.Host != "" || (transport != "" && transport != "unix") {
		return s.connectRemote(ctx, u)
	}
	driver := strings.SplitN(u.Scheme, "+", 2)[0]
	sockets := socketsFor(u)
	remote := (&url.URL{Scheme: driver, Path: u.Path}).String()

	var failures []dialFailure
	for _, sock := range sockets {
		lv, err := dialLocal(ctx, sock, remote)
		if err == nil {
			return &conn{lv: lv, socket: sock, local: true}, nil
		}
		failures = append(failures, dialFailure{sock, err})
		if ctx.Err() != nil {
			break
		}
	}
	return nil, s.connectError(failures)
}

type dialFailure struct {
	socket string
	err    error
}

// dialLocal connects to one UNIX socket and opens the driver URI on it.
func dialLocal(ctx context.Context, sock, uri string) (*golibvirt.Libvirt, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "unix", sock)
	if err != nil {
		return nil, err
	}
	lv := golibvirt.NewWithDialer(dialers.NewAlreadyConnected(nc))
	if err := openURI(ctx, lv, nc, uri); err != nil {
		return nil, err
	}
	return lv, nil
}

// openURI runs the connect handshake, abandoning it when ctx ends (the
// handshake has no timeout of its own).
func openURI(ctx context.Context, lv *golibvirt.Libvirt, nc net.Conn, uri string) error {
	errc := make(chan error, 1)
	go func() { errc <- lv.ConnectToURI(golibvirt.ConnectURI(uri)) }()
	select {
	case err := <-errc:
		if err != nil {
			nc.Close()
		}
		return err
	case <-ctx.Done():
		nc.Close()
		<-errc
		return ctx.Err()
	}
}

// connectRemote opens qemu+ssh://, qemu+tls://, qemu+tcp:// and
// qemu://host/ URIs with go-libvirt's own dialers (TLS verified unless the URI
// says no_verify=1).
func (s *Source) connectRemote(ctx context.Context, u *url.URL) (*conn, error) {
	type res struct {
		lv  *golibvirt.Libvirt
		err error
	}
	ch := make(chan res, 1)
	go func() {
		lv, err := golibvirt.ConnectToURI(u)
		ch <- res{lv, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, s.errorf("", "cannot connect to %s: %v", redactURI(u), r.err).
				WithHint("check the host is reachable and libvirtd listens there (virsh -c URI list works the same way)")
		}
		return &conn{lv: r.lv}, nil
	case <-ctx.Done():
		go func() {
			if r := <-ch; r.lv != nil {
				_ = r.lv.Disconnect()
			}
		}()
		return nil, s.errorf("", "cannot connect to %s: %v", redactURI(u), ctx.Err()).
			WithHint("the host did not answer in time; check it is reachable")
	}
}

// redactURI drops a password from a URI before it is shown.
func redactURI(u *url.URL) string { return u.Redacted() }

// socketsFor lists the sockets to try for a local URI, best first.
func socketsFor(u *url.URL) []string {
	if s := u.Query().Get("socket"); s != "" {
		return []string{s}
	}
	// Session URIs (qemu:///session) go to the user's own daemon; every
	// other local URI (qemu:///system, lxc:///system, and test:///default,
	// whose driver the monolithic libvirtd also serves) to the system one.
	if u.Path == "/session" {
		return sessionSockets(os.Getenv("XDG_RUNTIME_DIR"), os.Getenv("HOME"))
	}
	return systemSockets(runDir)
}

// systemSockets: the monolithic libvirtd and the modular virtqemud, read-write
// first; the read-only sockets serve everything a scan asks.
func systemSockets(dir string) []string {
	return []string{
		filepath.Join(dir, "libvirt-sock"),
		filepath.Join(dir, "virtqemud-sock"),
		filepath.Join(dir, "libvirt-sock-ro"),
		filepath.Join(dir, "virtqemud-sock-ro"),
	}
}

// sessionSockets: a per-user daemon listens in $XDG_RUNTIME_DIR/libvirt, or
// in ~/.cache/libvirt when XDG_RUNTIME_DIR is unset.
func sessionSockets(xdgRuntime, home string) []string {
	dir := filepath.Join(home, ".cache", "libvirt")
	if xdgRuntime != "" {
		dir = filepath.Join(xdgRuntime, "libvirt")
	}
	return []string{filepath.Join(dir, "libvirt-sock"), filepath.Join(dir, "virtqemud-sock")}
}

// connectError picks the failure that says most about what to do: a
// permission or authentication failure beats a refused connection, which
// beats a missing socket.
func (s *Source) connectError(failures []dialFailure) error {
	rank := func(err error) int {
		switch {
		case errors.Is(err, os.ErrPermission), isAuthError(err):
			return 3
		case errors.Is(err, syscall.ECONNREFUSED):
			return 2
		case errors.Is(err, os.ErrNotExist):
			return 0
		}
		return 1
	}
	if len(failures) == 0 {
		return s.errorf("", "no libvirt socket to try")
	}
	best := failures[0]
	for _, f := range failures[1:] {
		if rank(f.err) > rank(best.err) {
			best = f
		}
	}
	var tried []string
	for _, f := range failures {
		tried = append(tried, f.socket)
	}
	triedList := strings.Join(tried, ", ")
	err := best.err
	switch {
	case errors.Is(err, os.ErrPermission):
		return s.errorf("", "permission denied opening libvirt socket %s: %v", best.socket, err).
			WithHint("run vmstor as root, or add the user to the libvirt group (usermod -aG libvirt USER, then log in again); the read-only socket " +
				filepath.Join(runDir, "libvirt-sock-ro") + " is enough for a scan when it is readable (unix_sock_ro_perms in libvirtd.conf)")
	case isAuthError(err):
		return s.errorf("", "libvirtd refused access on %s: %v", best.socket, err).
			WithHint("authentication (polkit) denied this user: run vmstor as root, or add the user to the libvirt group; a scan needs only the read-only socket " +
				filepath.Join(runDir, "libvirt-sock-ro"))
	case errors.Is(err, syscall.ECONNREFUSED):
		return s.errorf("", "connection refused on libvirt socket %s: %v", best.socket, err).
			WithHint("the socket exists but no daemon listens: is libvirtd running? start it (systemctl start libvirtd, or libvirtd -d)")
	case errors.Is(err, os.ErrNotExist):
		return s.errorf("", "no libvirt socket found (tried %s)", triedList).
			WithHint("is libvirtd running? start it (systemctl start libvirtd, or libvirtd -d), or name another daemon with --libvirt URI")
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return s.errorf("", "connecting to libvirt socket %s: %v", best.socket, err).
			WithHint("libvirtd accepted the connection but did not answer in time; its first connection probes QEMU, which can take a while; try again")
	}
	var le golibvirt.Error
	if errors.As(err, &le) {
		// The daemon answered and refused: for a user other than root it
		// asks polkit (over D-Bus), even on the read-only socket.
		return s.errorf("", "libvirtd refused the connection on %s: %v", best.socket, err).
			WithHint("run vmstor as root or as a member of the libvirt group; for other users libvirtd asks polkit, which needs D-Bus and polkitd running " +
				"(or set auth_unix_ro = \"none\" in libvirtd.conf to let every local user read the inventory)")
	}
	return s.errorf("", "cannot connect to libvirt socket %s: %v", best.socket, err).
		WithHint("is libvirtd running and healthy? try `virsh -c " + s.uri + " list --all`")
}

// isAuthError is a libvirt refusal at connect time (polkit, SASL, access
// control).
func isAuthError(err error) bool {
	var le golibvirt.Error
	if !errors.As(err, &le) {
		return false
	}
	switch golibvirt.ErrorNumber(le.Code) {
	case golibvirt.ErrAuthFailed, golibvirt.ErrAuthCancelled, golibvirt.ErrAuthUnavailable,
		golibvirt.ErrAccessDenied, golibvirt.ErrOperationDenied:
		return true
	}
	return false
}

// volumeCache resolves pool volumes once per scan, however many disks (of
// however many domains) name them. Lookups of different keys run in
// parallel.
type volumeCache struct {
	r     rpc
	mu    sync.Mutex
	pools map[string]*memo[poolInfo]
	vols  map[string]*memo[volume]
}

type poolInfo struct {
	pool golibvirt.StoragePool
	typ  string
	net  *model.NetworkTarget
}

// memo is one cached lookup; once makes concurrent askers wait for the first.
type memo[T any] struct {
	once sync.Once
	val  T
	err  error
}

func newVolumeCache(r rpc) *volumeCache {
	return &volumeCache{r: r, pools: map[string]*memo[poolInfo]{}, vols: map[string]*memo[volume]{}}
}

func getMemo[T any](mu *sync.Mutex, m map[string]*memo[T], key string) *memo[T] {
	mu.Lock()
	defer mu.Unlock()
	e, ok := m[key]
	if !ok {
		e = &memo[T]{}
		m[key] = e
	}
	return e
}

func (c *volumeCache) pool(name string) (poolInfo, error) {
	e := getMemo(&c.mu, c.pools, name)
	e.once.Do(func() {
		p, err := c.r.StoragePoolLookupByName(name)
		if err != nil {
			e.err = fmt.Errorf("pool %q: %w", name, err)
			return
		}
		e.val.pool = p
		// The pool type tells network pools apart; their hosts are only
		// in the pool XML.
		doc, err := c.r.StoragePoolGetXMLDesc(p, 0)
		if err != nil {
			return // the path alone still resolves the volume
		}
		var px libvirtxml.StoragePool
		if px.Unmarshal(doc) != nil {
			return
		}
		e.val.typ = px.Type
		if px.Source != nil {
			t := &model.NetworkTarget{Protocol: poolProtocol(px.Type)}
			for _, h := range px.Source.Host {
				if h.Port != "" {
					t.Hosts = append(t.Hosts, joinHostPort(h.Name, h.Port))
				} else {
					t.Hosts = append(t.Hosts, h.Name)
				}
			}
			e.val.net = t
		}
	})
	return e.val, e.err
}

// poolProtocol is the network protocol QEMU uses for a pool type's volumes.
func poolProtocol(poolType string) string {
	switch poolType {
	case "iscsi-direct", "iscsi":
		return "iscsi"
	}
	return poolType // rbd, gluster, sheepdog
}

func (c *volumeCache) resolveVolume(poolName, volName string) (volume, error) {
	e := getMemo(&c.mu, c.vols, poolName+"\x00"+volName)
	e.once.Do(func() {
		p, err := c.pool(poolName)
		if err != nil {
			e.err = err
			return
		}
		v, err := c.r.StorageVolLookupByName(p.pool, volName)
		if err != nil {
			e.err = fmt.Errorf("volume %q: %w", volName, err)
			return
		}
		path, err := c.r.StorageVolGetPath(v)
		if err != nil {
			e.err = fmt.Errorf("path of volume %q: %w", volName, err)
			return
		}
		typ, capacity, _, err := c.r.StorageVolGetInfo(v)
		if err != nil {
			e.err = fmt.Errorf("info of volume %q: %w", volName, err)
			return
		}
		e.val = volume{Path: path, Type: volumeTypeName(typ), Capacity: capacity}
		if e.val.Type == "network" || e.val.Type == "netdir" {
			if p.net != nil {
				t := *p.net
				t.Name = path
				e.val.Network = &t
			} else {
				e.val.Network = &model.NetworkTarget{Protocol: poolProtocol(p.typ), Name: path}
			}
		}
	})
	return e.val, e.err
}
