// Package redact removes credentials from the strings vmstor shows: URLs with
// a user:password part (vsphere:https://user:pass@vc/sdk), query parameters
// named like secrets (?password=, &token=), and Ceph "key=" options. Every
// string the API, the web page, the logs and the metrics show goes through it.
package redact

import (
	"regexp"
	"strings"

	"github.com/vmstor/vmstor/model"
)

// Mask replaces a removed secret.
const Mask = "xxxxx"

var (
	// scheme://user:pass@host -> scheme://xxxxx@host. The user name is
	// dropped too: it is half of the credential. Anything up to the first
	// "/" may be userinfo, blanks included: masking too much of an error
	// message is better than leaking a password with a space in it.
	userinfo = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@?#]+@`)
	// ?password=..., &token=..., ;key=... (libvirt, Ceph and HTTP styles).
	param = regexp.MustCompile(`(?i)([?&;:](?:password|passwd|pass|pwd|token|secret|key|keyring|auth_?key|api_?key|sig|signature|credentials?)=)[^&;:\s#"]*`)
)

// String returns s with credentials masked.
func String(s string) string {
	// Most strings (device names, ids) cannot hold a credential: skip the
	// regular expressions for them.
	if !strings.ContainsAny(s, "@=") {
		return s
	}
	s = userinfo.ReplaceAllString(s, "${1}"+Mask+"@")
	return param.ReplaceAllString(s, "${1}"+Mask)
}

// Inventory returns a copy of inv with every free-text field that could
// carry a credential masked: sources, errors, disk sources and backing
// chains, network targets, anchors, resource and LUN path texts. inv is not
// modified (it may be shared with readers); every slice and pointer the copy
// changes is copied first.
func Inventory(inv *model.Inventory) *model.Inventory {
	if inv == nil {
		return nil
	}
	out := *inv
	out.Sources = strs(inv.Sources)
	out.Errors = Errors(inv.Errors)
	out.VMs = append([]model.VM(nil), inv.VMs...)
	for i := range out.VMs {
		vm := &out.VMs[i]
		vm.Name = String(vm.Name)
		vm.Disks = append([]model.Disk(nil), vm.Disks...)
		for j := range vm.Disks {
			d := &vm.Disks[j]
			d.Source = String(d.Source)
			d.Error = String(d.Error)
			d.Backing = strs(d.Backing)
			if d.Network != nil {
				n := *d.Network
				n.Name = String(n.Name)
				n.Hosts = strs(n.Hosts)
				d.Network = &n
			}
			if d.Anchor != nil {
				a := *d.Anchor
				a.Path = String(a.Path)
				d.Anchor = &a
			}
			if d.Chain != nil {
				d.Chain = append([]model.Layer(nil), d.Chain...)
				for k := range d.Chain {
					d.Chain[k].Name = String(d.Chain[k].Name)
					d.Chain[k].Detail = String(d.Chain[k].Detail)
				}
			}
		}
	}
	out.Resources = append([]model.Resource(nil), inv.Resources...)
	for i := range out.Resources {
		r := &out.Resources[i]
		r.Name = String(r.Name)
		r.Remote = String(r.Remote)
		r.BackingFile = String(r.BackingFile)
		r.Error = String(r.Error)
		r.Mountpoints = strs(r.Mountpoints)
	}
	out.LUNs = append([]model.LUN(nil), inv.LUNs...)
	for i := range out.LUNs {
		l := &out.LUNs[i]
		if l.Array != nil {
			a := *l.Array
			a.Addresses = strs(a.Addresses)
			l.Array = &a
		}
		l.Paths = append([]model.Path(nil), l.Paths...)
		for k := range l.Paths {
			l.Paths[k].Address = String(l.Paths[k].Address)
			l.Paths[k].Target = String(l.Paths[k].Target)
		}
	}
	return &out
}

// Errors returns a masked copy of errs.
func Errors(in []model.ScanError) []model.ScanError {
	if in == nil {
		return nil
	}
	out := append([]model.ScanError(nil), in...)
	for i := range out {
		e := &out[i]
		e.Source, e.Object, e.Message, e.Hint = String(e.Source), String(e.Object), String(e.Message), String(e.Hint)
	}
	return out
}

// strs returns a masked copy of s (nil stays nil).
func strs(s []string) []string {
	if s == nil {
		return nil
	}
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = String(v)
	}
	return out
}
