package hoststorage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/scsi"
)

// scsiDev is /sys/block/sdX/device, a scsi_device.
type scsiDev struct {
	hctl                 string // the device directory's name
	dir                  string // the scsi_device directory
	vpd0                 []byte // vpd_pg0: supported page codes; read only before a device query
	vendor, model, rev   string // vendor, model, rev
	state, accessState   string // state; access_state (ALUA, with scsi_dh_alua)
	ioerr                uint64 // ioerr_cnt (hex)
	wwid                 string // wwid: the kernel's scsi_vpd_lun_id()
	vpd80, vpd83         []byte // vpd_pg80, vpd_pg83; from SG_IO when sysfs lacks them
	vpd80From, vpd83From string // where the page came from, for errors
	t                    transportInfo
}

// readSCSI reads the scsi_device of a disk and, when allowed, asks the
// device for the VPD pages sysfs does not have.
func (s *scanner) readSCSI(d *blockDev, dev string) *scsiDev {
	c := &scsiDev{hctl: filepath.Base(dev), dir: dev}
	c.vendor = s.textOf(d, dev, "vendor")
	c.model = s.textOf(d, dev, "model")
	c.rev = s.textOf(d, dev, "rev")
	c.state = s.textOf(d, dev, "state")
	c.accessState = s.textOf(d, dev, "access_state")
	c.ioerr, _ = parseUint(s.textOf(d, dev, "ioerr_cnt"))
	// The kernel's wwid keeps a T10 id's padding spaces (as VPD 0x83
	// does); only the newline is trimmed so both give the same id.
	if b, err := readBinary(filepath.Join(dev, "wwid")); err != nil {
		d.note(err)
	} else {
		c.wwid = strings.TrimRight(string(b), "\n\x00")
	}
	var err error
	c.vpd80, err = readBinary(filepath.Join(dev, "vpd_pg80"))
	d.note(err)
	c.vpd80From = filepath.Join(dev, "vpd_pg80")
	c.vpd83, err = readBinary(filepath.Join(dev, "vpd_pg83"))
	d.note(err)
	c.vpd83From = filepath.Join(dev, "vpd_pg83")
	c.t = s.transportOf(dev)

	// A path that is not running (offline, blocked, transport down)
	// cannot answer: asking would only cost a timeout per dead path.
	if s.fs.opts.QueryDevices && (c.state == "running" || c.state == "") && c.t.ok {
		node := filepath.Join(s.fs.opts.DevRoot, d.name)
		if c.vpd83 == nil {
			c.vpd83 = s.query(d, c, node, 0x83)
			c.vpd83From = "SG_IO INQUIRY page 0x83 of " + node
		}
		if c.vpd80 == nil {
			c.vpd80 = s.query(d, c, node, 0x80)
			c.vpd80From = "SG_IO INQUIRY page 0x80 of " + node
		}
		if s.fs.opts.VendorPages != nil {
			// vpd_pg0 lists the pages the device supports: asking for
			// another gets ILLEGAL REQUEST, not a fault (SAN lab).
			pg0, _ := readBinary(filepath.Join(dev, "vpd_pg0"))
			for _, p := range s.fs.opts.VendorPages(c.vendor, c.model) {
				if len(pg0) > 4 && strings.IndexByte(string(pg0[4:]), p) < 0 {
					continue
				}
				// The kernel exposes only a few pages in sysfs
				// (vpd_pg0, 80, 83, 89, b0-b2); vendor pages come from
				// the device.
				b, err := readBinary(filepath.Join(dev, fmt.Sprintf("vpd_pg%x", p)))
				d.note(err)
				if b == nil {
					b = s.query(d, c, node, p)
				}
				if b != nil {
					if d.vendorVPD == nil {
						d.vendorVPD = map[uint8][]byte{}
					}
					d.vendorVPD[p] = b
				}
			}
		}
	}
	return c
}

// query sends one VPD INQUIRY, bounded by the scan's semaphore and the
// inquiry timeout. A page the device does not list in its supported pages
// (sysfs vpd_pg0) is not asked for; one it refuses as not supported is
// simply absent; a device that does not answer is noted and skipped.
func (s *scanner) query(d *blockDev, c *scsiDev, node string, page uint8) []byte {
	if err := s.ctx.Err(); err != nil {
		return nil
	}
	if c.vpd0 == nil {
		b, err := readBinary(filepath.Join(c.dir, "vpd_pg0"))
		d.note(err)
		c.vpd0 = []byte{} // read once
		if len(b) >= 4 {
			c.vpd0 = b[4:min(len(b), 4+int(b[2])<<8|int(b[3]))]
		}
	}
	if len(c.vpd0) > 0 && !bytes.Contains(c.vpd0, []byte{page}) {
		return nil
	}
	b, err := s.fs.inquiry(s.ctx, node, true, page, s.fs.opts.InquiryTimeout)
	if errors.Is(err, scsi.ErrNotSupported) {
		return nil
	}
	if err != nil {
		hint := "the device did not return the page; identity falls back to sysfs (see id_source)"
		if errors.Is(err, scsi.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) {
			hint = "the path may be dead or blocked; check `multipath -ll` and the transport state; the rest of the scan went on"
		}
		d.queryErrs = append(d.queryErrs, errWithHint{err, hint})
		return nil
	}
	return b
}

// textOf reads a text attribute of a device, noting real read errors.
func (s *scanner) textOf(d *blockDev, dir, name string) string {
	v, err := readText(filepath.Join(dir, name))
	d.note(err)
	return v
}

// nvmeNS is an NVMe namespace block device and its controllers.
type nvmeNS struct {
	wwid, nguid, eui, uuid, nsid string // wwid, nguid, eui, uuid, nsid of the namespace
	model, serial, firmware      string // model, serial, firmware_rev of the (first) controller
	paths                        []nvmePath
}

type nvmePath struct {
	ctrl, device                            string
	transport, nqn, address, hostnqn, state string
	anaState                                string
}

var reCtrl = regexp.MustCompile(`^nvme\d+$`)

// readNVMe reads a namespace (real: /sys/block/nvmeXnY resolved) whose
// parent is its controller (…/nvme/nvme0/nvme0n1) or, with native NVMe
// multipath, its subsystem (…/nvme-subsystem/nvme-subsys0/nvme0n1), whose
// controllers are each one path.
func (s *scanner) readNVMe(d *blockDev, real, dev string) *nvmeNS {
	n := &nvmeNS{}
	n.wwid = s.textOf(d, real, "wwid")
	n.nguid = s.textOf(d, real, "nguid")
	n.eui = s.textOf(d, real, "eui")
	n.uuid = s.textOf(d, real, "uuid")
	n.nsid = s.textOf(d, real, "nsid")
	parent := filepath.Dir(real)
	var ctrls []string
	if reCtrl.MatchString(filepath.Base(parent)) {
		ctrls = []string{parent}
	} else {
		for _, e := range listNames(parent) {
			if reCtrl.MatchString(e) {
				if c, err := resolveLink(filepath.Join(parent, e)); err == nil {
					ctrls = append(ctrls, c)
				}
			}
		}
	}
	for i, c := range ctrls {
		p := s.nvmeCtrl.get(c, func() nvmePath {
			return nvmePath{
				ctrl:      filepath.Base(c),
				transport: s.text(c, "transport"),
				nqn:       s.text(c, "subsysnqn"),
				address:   s.text(c, "address"),
				hostnqn:   s.text(c, "hostnqn"),
				state:     s.text(c, "state"),
			}
		})
		p.device = d.name
		// The hidden per-controller disk nvmeXcYnZ carries the ANA state.
		for _, e := range listNames(c) {
			if reNVMePath.MatchString(e) && strings.HasSuffix(e, "n"+nsSuffix(d.name)) {
				p.device = e
				p.anaState = s.text(filepath.Join(c, e), "ana_state")
				break
			}
		}
		if i == 0 {
			n.model = s.text(c, "model")
			n.serial = s.text(c, "serial")
			n.firmware = s.text(c, "firmware_rev")
		}
		n.paths = append(n.paths, p)
	}
	return n
}

// nsSuffix is the namespace instance of nvme0n1 ("1").
func nsSuffix(name string) string {
	if i := strings.LastIndexByte(name, 'n'); i >= 0 {
		return name[i+1:]
	}
	return ""
}

// scsiPathState normalises a SCSI path's state: the device state
// (running/offline/transport-offline/blocked...), the ALUA access state,
// and the transport's session or port state.
func scsiPathState(c *scsiDev) string {
	// A dead session or port fails the path whatever the device says:
	// with the iSCSI target down the devices stay "blocked" until the
	// replacement timeout (seen in the SAN lab).
	if !c.t.ok {
		return model.PathFailed
	}
	switch c.state {
	case "running", "":
		switch {
		case strings.HasPrefix(c.accessState, "standby"), strings.HasPrefix(c.accessState, "unavailable"):
			return model.PathStandby
		case strings.HasPrefix(c.accessState, "transitioning"):
			return model.PathUnknown
		}
		if c.state == "" {
			return model.PathUnknown
		}
		return model.PathActive
	case "offline", "transport-offline", "cancel", "del", "deleted", "dead":
		return model.PathFailed
	default: // blocked, created-blocked, quiesce, created: in transition
		if !c.t.ok {
			// blocked because the iSCSI session or FC port is down
			// (session FAILED during recovery_tmo: seen in the SAN lab)
			return model.PathFailed
		}
		return model.PathUnknown
	}
}

// nvmePathState normalises a controller state (live, connecting,
// resetting, deleting, dead) with the path's ANA state.
func nvmePathState(p nvmePath) string {
	switch p.state {
	case "live":
		switch p.anaState {
		case "inaccessible", "change":
			return model.PathStandby
		case "persistent-loss":
			return model.PathFailed
		}
		return model.PathActive
	case "dead", "deleting", "deleting (no IO)":
		return model.PathFailed
	default:
		return model.PathUnknown
	}
}

var nvmeTransports = map[string]string{"pcie": "nvme", "tcp": "nvme-tcp", "rdma": "nvme-rdma", "fc": "nvme-fc", "loop": "nvme-loop"}

// mpathID turns a dm-multipath uuid ("mpath-3600a0980...") into the
// kernel's wwid form: multipath's wwid carries a leading type digit
// (3 NAA, 2 EUI-64, 1 T10, 8 SCSI name string).
func mpathID(uuid string) string {
	w, ok := strings.CutPrefix(uuid, "mpath-")
	if !ok || len(w) < 2 {
		return ""
	}
	switch w[0] {
	case '3':
		return "naa." + strings.ToLower(w[1:])
	case '2':
		return "eui." + strings.ToLower(w[1:])
	case '1':
		return "t10." + w[1:]
	case '8':
		return w[1:]
	}
	return "mpath." + w
}

// word makes an id part: trimmed, inner whitespace runs as one "_".
func word(s string) string { return strings.Join(strings.Fields(s), "_") }

// buildLUNs groups every path into its LUN.
func (s *scanner) buildLUNs(devs []*blockDev) {
	host := s.fs.opts.Hostname
	byID := map[string]*model.LUN{}
	var order []string
	lunOf := map[string]string{} // block name -> LUN id

	// Paths under a dm-multipath map take its wwid when they have no
	// identity of their own (no VPD 0x83 and no kernel wwid).
	mpathOf := map[string]string{}
	for _, d := range devs {
		if id := mpathID(d.dmUUID); id != "" {
			for _, sl := range d.slaves {
				mpathOf[sl] = id
			}
		}
	}

	add := func(id, src string, d *blockDev, fill func(l *model.LUN), p model.Path) {
		l := byID[id]
		if l == nil {
			l = &model.LUN{ID: id, IDSource: src, Hosts: []string{host}}
			byID[id] = l
			order = append(order, id)
		}
		fill(l)
		if l.SizeBytes == 0 {
			l.SizeBytes = d.size
		}
		if l.VendorVPD == nil && d.vendorVPD != nil {
			l.VendorVPD = d.vendorVPD
		}
		p.Host = host
		l.Paths = append(l.Paths, p)
		l.IOErrors += p.IOErrors
		lunOf[d.name] = id
	}

	for _, d := range devs {
		switch {
		case d.vanished:
		case d.scsi != nil:
			c := d.scsi
			obj := "/dev/" + d.name
			var ds []model.Designator
			if c.vpd83 != nil {
				var err error
				ds, err = scsi.ParseVPD83(c.vpd83)
				if err != nil {
					s.report(obj, "the device sent a short or inconsistent VPD page 0x83; the designators before the fault are kept and the id falls back to the kernel's wwid if needed",
						"identification page (%s) is malformed: %v", c.vpd83From, err)
				}
			}
			serial := ""
			if c.vpd80 != nil {
				var err error
				serial, err = scsi.ParseVPD80(c.vpd80)
				if err != nil {
					s.report(obj, "the device sent a short or inconsistent VPD page 0x80",
						"serial number page (%s) is malformed: %v", c.vpd80From, err)
				}
			}
			id, src := scsi.LUNID(ds), "vpd83"
			switch {
			case id != "":
			case c.wwid != "":
				id, src = c.wwid, "wwid"
			case mpathOf[d.name] != "":
				id, src = mpathOf[d.name], "wwid"
			case serial != "":
				id, src = "serial."+word(c.vendor)+":"+word(c.model)+":"+word(serial), "serial"
			default:
				id, src = "local."+host+"."+d.name, "local"
			}
			p := model.Path{
				Device: d.name, HCTL: c.hctl, Transport: c.t.transport, Target: c.t.target,
				Address: c.t.address, Initiator: c.t.initiator, State: scsiPathState(c),
				DeviceState: c.state, IOErrors: c.ioerr,
			}
			add(id, src, d, func(l *model.LUN) {
				l.Protocol = "scsi"
				setIfEmpty(&l.Vendor, c.vendor)
				setIfEmpty(&l.Product, c.model)
				setIfEmpty(&l.Revision, c.rev)
				setIfEmpty(&l.Serial, serial)
				// Each path reports its own target port and port
				// group: keep every distinct designator.
				l.Designators = appendDesignators(l.Designators, ds)
			}, p)
		case d.nvme != nil:
			n := d.nvme
			id, src := n.wwid, "nvme"
			if id == "" {
				id, src = "local."+host+"."+d.name, "local"
			}
			var ds []model.Designator
			for _, x := range []struct{ typ, v string }{{"eui64", n.eui}, {"nguid", n.nguid}, {"uuid", n.uuid}, {"nsid", n.nsid}} {
				if v := strings.ReplaceAll(x.v, "-", ""); x.v != "" && strings.Trim(v, "0") != "" {
					val := x.v
					if x.typ != "uuid" {
						val = strings.ToLower(v)
					}
					ds = append(ds, model.Designator{Association: "lun", Type: x.typ, Value: val})
				}
			}
			fill := func(l *model.LUN) {
				l.Protocol = "nvme"
				setIfEmpty(&l.Product, n.model)
				setIfEmpty(&l.Serial, n.serial)
				setIfEmpty(&l.Revision, n.firmware)
				if l.Designators == nil {
					l.Designators = ds
				}
			}
			if len(n.paths) == 0 {
				add(id, src, d, fill, model.Path{Device: d.name, Transport: "nvme", State: model.PathUnknown})
				continue
			}
			for _, np := range n.paths {
				t := nvmeTransports[np.transport]
				if t == "" {
					t = "nvme-" + np.transport
				}
				st := np.state
				if np.anaState != "" {
					st += "/" + np.anaState
				}
				add(id, src, d, fill, model.Path{
					Device: np.device, Transport: t, Target: np.nqn, Address: np.address,
					Initiator: np.hostnqn, State: nvmePathState(np), DeviceState: st,
				})
			}
		case d.physical && d.dmUUID == "" && d.mdLevel == "" && !reNVMePath.MatchString(d.name):
			// A disk without SCSI or NVMe identity (virtio-blk, mmc,
			// xen): the hypervisor's serial when there is one.
			id, src := "local."+host+"."+d.name, "local"
			if d.serial != "" {
				id, src = "serial.virtio:"+word(d.serial), "serial"
			}
			t := "unknown"
			if d.deviceDir != "" {
				t = s.transportOf(d.deviceDir).transport
			}
			add(id, src, d, func(l *model.LUN) { setIfEmpty(&l.Serial, d.serial) }, model.Path{
				Device: d.name, Transport: t, State: model.PathActive,
			})
		}
	}
	for _, id := range order {
		l := byID[id]
		l.State = model.LUNState(l.Paths)
		sort.SliceStable(l.Paths, func(i, j int) bool { return l.Paths[i].Device < l.Paths[j].Device })
		s.luns = append(s.luns, *l)
	}
	sort.Slice(s.luns, func(i, j int) bool { return s.luns[i].ID < s.luns[j].ID })
	s.lunOf = lunOf
}

func appendDesignators(l []model.Designator, ds []model.Designator) []model.Designator {
	for _, d := range ds {
		dup := false
		for _, x := range l {
			if x == d {
				dup = true
				break
			}
		}
		if !dup {
			l = append(l, d)
		}
	}
	return l
}

func setIfEmpty(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}
