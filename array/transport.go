package array

import (
	"net"
	"sort"
	"strings"

	"github.com/vmstor/vmstor/model"
)

// identifyTransport names the system from the targets the paths reach: an
// iSCSI target IQN, an NVMe-oF subsystem NQN or an FC target WWNN identifies
// the system (on ONTAP: the SVM), and iSCSI portals and NVMe-oF traddrs are
// its network addresses.
func identifyTransport(l *model.LUN) {
	var ids, addrs []string
	for _, p := range l.Paths {
		id, addr := transportFacts(p)
		if id != "" {
			ids = model.AppendNew(ids, id)
		}
		if addr != "" {
			addrs = model.AppendNew(addrs, addr)
		}
	}
	if len(ids) == 0 && len(addrs) == 0 {
		return
	}
	if l.Array == nil || l.Array.Vendor == "" {
		// A target we have no table entry for (a Linux LIO target, a
		// software array) is still a storage system: name it by the
		// INQUIRY vendor so the system is not anonymous.
		setArray(l, FactVendor, strings.TrimSpace(l.Vendor), SourceInquiry)
	}
	sort.Strings(ids) // stable choice when paths reach several targets
	if len(ids) > 0 {
		setArray(l, FactSystemID, ids[0], SourceTransport)
	}
	sort.Strings(addrs)
	setAddresses(l, addrs, SourceTransport)
}

// transportFacts returns the system key and the network address one path
// gives. Keys carry their kind so an FC WWNN never equals an IQN by accident.
func transportFacts(p model.Path) (id, addr string) {
	switch p.Transport {
	case "iscsi":
		if p.Target != "" {
			id = p.Target // iqn.… or eui.…: already namespaced
		}
		addr = hostOnly(p.Address)
	case "fc":
		if p.Address != "" {
			id = "fc:" + strings.ToLower(p.Address) // target WWNN
		}
	case "nvme-tcp", "nvme-rdma":
		id = p.Target // subsystem NQN
		addr = hostOnly(traddr(p.Address))
	case "nvme-fc":
		id = p.Target
	}
	return id, addr
}

// traddr extracts traddr from a sysfs NVMe address "traddr=…,trsvcid=…".
func traddr(s string) string {
	if !strings.Contains(s, "=") {
		return s
	}
	for _, kv := range strings.Split(s, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(kv), "traddr="); ok {
			return v
		}
	}
	return ""
}

// hostOnly strips a port: API answers give bare addresses, paths "ip:port".
func hostOnly(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return strings.Trim(s, "[]")
}
