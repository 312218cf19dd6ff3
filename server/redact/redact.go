// Package redact removes credentials from the strings vmstor shows: URLs with
// a user:password part (vsphere:https://user:pass@vc/sdk), query parameters
// named like secrets (?password=, &token=), and Ceph "key=" options. Every
// string the API, the web page, the logs and the metrics show goes through it.
package redact

import (
	"encoding/json"
	"regexp"

	"github.com/vmstor/vmstor/model"
)

// Mask replaces a removed secret.
const Mask = "xxxxx"

var (
	// scheme://user:pass@host -> scheme://xxxxx@host. The user name is
	// dropped too: it is half of the credential.
	userinfo = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s?#]+@`)
	// ?password=..., &token=..., ;key=... (libvirt, Ceph and HTTP styles).
	param = regexp.MustCompile(`(?i)([?&;:](?:password|passwd|pass|pwd|token|secret|key|keyring|auth_?key|api_?key|sig|signature|credentials?)=)[^&;:\s#"]*`)
)

// String returns s with credentials masked.
func String(s string) string {
	if s == "" {
		return s
	}
	s = userinfo.ReplaceAllString(s, "${1}"+Mask+"@")
	return param.ReplaceAllString(s, "${1}"+Mask)
}

// Inventory returns a deep copy of inv with every free-text field that could
// carry a credential masked: sources, errors, disk sources and backing
// chains, network targets, anchors, resource and LUN path texts.
// inv is not modified (it may be shared with readers).
func Inventory(inv *model.Inventory) *model.Inventory {
	if inv == nil {
		return nil
	}
	// A JSON round trip is the simplest correct deep copy of the model; it
	// drops only LUN.VendorVPD, which nothing downstream of a scan shows.
	b, err := json.Marshal(inv)
	if err != nil {
		panic("redact: marshal inventory: " + err.Error()) // the model always marshals
	}
	out := new(model.Inventory)
	if err := json.Unmarshal(b, out); err != nil {
		panic("redact: unmarshal inventory: " + err.Error())
	}
	strs(out.Sources)
	errs(out.Errors)
	for i := range out.VMs {
		vm := &out.VMs[i]
		vm.Name = String(vm.Name)
		for j := range vm.Disks {
			d := &vm.Disks[j]
			d.Source = String(d.Source)
			d.Error = String(d.Error)
			strs(d.Backing)
			if d.Network != nil {
				d.Network.Name = String(d.Network.Name)
				strs(d.Network.Hosts)
			}
			if d.Anchor != nil {
				d.Anchor.Path = String(d.Anchor.Path)
			}
			for k := range d.Chain {
				d.Chain[k].Name = String(d.Chain[k].Name)
				d.Chain[k].Detail = String(d.Chain[k].Detail)
			}
		}
	}
	for i := range out.Resources {
		r := &out.Resources[i]
		r.Name = String(r.Name)
		r.Remote = String(r.Remote)
		r.BackingFile = String(r.BackingFile)
		r.Error = String(r.Error)
		strs(r.Mountpoints)
	}
	for i := range out.LUNs {
		l := &out.LUNs[i]
		if l.Array != nil {
			strs(l.Array.Addresses)
		}
		for k := range l.Paths {
			l.Paths[k].Address = String(l.Paths[k].Address)
			l.Paths[k].Target = String(l.Paths[k].Target)
		}
	}
	return out
}

// Errors returns a masked copy of errs.
func Errors(in []model.ScanError) []model.ScanError {
	out := append([]model.ScanError(nil), in...)
	errs(out)
	return out
}

func strs(s []string) {
	for i := range s {
		s[i] = String(s[i])
	}
}

func errs(e []model.ScanError) {
	for i := range e {
		e[i].Source = String(e[i].Source)
		e[i].Object = String(e[i].Object)
		e[i].Message = String(e[i].Message)
		e[i].Hint = String(e[i].Hint)
	}
}
