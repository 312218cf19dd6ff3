package hoststorage

import (
	"path/filepath"
	"regexp"
	"strings"
	"sync"
)

// transportInfo is what the transport class says about one path.
type transportInfo struct {
	transport string // iscsi, fc, sas, virtio, ata, usb, unknown
	target    string // iSCSI target IQN, FC target WWPN, SAS address
	address   string // iSCSI portal ip:port, FC target WWNN
	initiator string // initiator IQN, HBA WWPN
	state     string // session/port state: LOGGED_IN, Online...
	ok        bool   // state says the transport is up (or there is no state)
}

var (
	reSession  = regexp.MustCompile(`^session\d+$`)
	reRport    = regexp.MustCompile(`^rport-\d+:\d+-\d+$`)
	reEndDev   = regexp.MustCompile(`^end_device-[\d:]+$`)
	reVirtio   = regexp.MustCompile(`^virtio\d+$`)
	reATA      = regexp.MustCompile(`^ata\d+$`)
	reUSB      = regexp.MustCompile(`^usb\d+$`)
	reSCSIHost = regexp.MustCompile(`^host\d+$`)
)

// onceCache remembers one value per key: many LUNs share an iSCSI session
// or an FC remote port, whose attributes are read once per scan.
type onceCache[T any] struct {
	mu sync.Mutex
	m  map[string]*onceEntry[T]
}

type onceEntry[T any] struct {
	once sync.Once
	v    T
}

func (c *onceCache[T]) get(key string, f func() T) T {
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*onceEntry[T]{}
	}
	e := c.m[key]
	if e == nil {
		e = &onceEntry[T]{}
		c.m[key] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.v = f() })
	return e.v
}

// transportOf classifies a SCSI device by the sysfs path of its scsi_device
// (…/host3/session1/target3:0:0/3:0:0:1 for iSCSI, …/rport-5:0-2/… for FC)
// and reads the transport class for it.
func (s *scanner) transportOf(devPath string) transportInfo {
	var host string
	for _, c := range strings.Split(devPath, string(filepath.Separator)) {
		switch {
		case reSCSIHost.MatchString(c):
			host = c
		case reSession.MatchString(c):
			return s.iscsi.get(c+"|"+host, func() transportInfo { return s.readISCSI(c, host) })
		case reRport.MatchString(c):
			return s.fc.get(c, func() transportInfo { return s.readFC(c, host) })
		case reEndDev.MatchString(c):
			return s.sas.get(c, func() transportInfo { return s.readSAS(c) })
		}
	}
	for _, c := range strings.Split(devPath, string(filepath.Separator)) {
		switch {
		case reVirtio.MatchString(c):
			return transportInfo{transport: "virtio", ok: true}
		case reATA.MatchString(c):
			return transportInfo{transport: "ata", ok: true}
		case reUSB.MatchString(c):
			return transportInfo{transport: "usb", ok: true}
		}
	}
	return transportInfo{transport: "unknown", ok: true}
}

func (s *scanner) class(parts ...string) string {
	return filepath.Join(append([]string{s.fs.opts.SysRoot, "class"}, parts...)...)
}

// readISCSI reads /sys/class/iscsi_session/sessionN and its first connection.
func (s *scanner) readISCSI(session, host string) transportInfo {
	t := transportInfo{transport: "iscsi"}
	dir := s.class("iscsi_session", session)
	t.target = s.text(dir, "targetname")
	t.initiator = s.text(dir, "initiatorname")
	t.state = s.text(dir, "state")
	if t.initiator == "" && host != "" {
		t.initiator = s.text(s.class("iscsi_host", host), "initiatorname")
	}
	// The connection of sessionN is connectionN:0 (one connection per
	// session is what open-iscsi sets up).
	conn := s.class("iscsi_connection", "connection"+strings.TrimPrefix(session, "session")+":0")
	addr, port := s.text(conn, "persistent_address"), s.text(conn, "persistent_port")
	if addr == "" {
		addr, port = s.text(conn, "address"), s.text(conn, "port")
	}
	if addr != "" {
		if strings.Contains(addr, ":") {
			addr = "[" + addr + "]" // IPv6 portal
		}
		t.address = addr
		if port != "" {
			t.address += ":" + port
		}
	}
	t.ok = t.state == "" || t.state == "LOGGED_IN"
	return t
}

// readFC reads /sys/class/fc_remote_ports/rport-H:B-R and the HBA's fc_host.
func (s *scanner) readFC(rport, host string) transportInfo {
	t := transportInfo{transport: "fc"}
	dir := s.class("fc_remote_ports", rport)
	t.target = s.text(dir, "port_name")
	t.address = s.text(dir, "node_name")
	t.state = s.text(dir, "port_state")
	if host != "" {
		t.initiator = s.fchost.get(host, func() string { return s.text(s.class("fc_host", host), "port_name") })
	}
	t.ok = t.state == "" || t.state == "Online"
	return t
}

// readSAS reads /sys/class/sas_device/end_device-X/sas_address.
func (s *scanner) readSAS(endDev string) transportInfo {
	return transportInfo{transport: "sas", target: s.text(s.class("sas_device", endDev), "sas_address"), ok: true}
}
