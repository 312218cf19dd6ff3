package main

import (
	"fmt"
	"strings"
)

// ScanCmd is the main job: all three phases for every configured source.
type ScanCmd struct {
	SourceFlags
}

// Run scans and prints the map.
func (c *ScanCmd) Run(g *Globals) error {
	inv, err := c.Inventory(g)
	if err != nil {
		return err
	}
	if len(inv.VMs) == 0 && g.Output != "json" && onlyHostStorage(inv.Sources) {
		// No hypervisor here: the storage map is still worth printing.
		fmt.Fprintln(g.stderr, "vmstor: no hypervisor found (no libvirt socket, Proxmox or Hyper-V); showing this host's storage")
		return printStorage(g, inv)
	}
	if len(inv.VMs) == 0 && g.Output != "json" {
		fmt.Fprintf(g.stderr, "vmstor: no VMs found on %s\n", strings.Join(inv.Sources, ", "))
	}
	return printInventory(g, inv)
}

func onlyHostStorage(sources []string) bool {
	for _, s := range sources {
		if len(s) < 6 || s[:6] != "linux:" {
			return false
		}
	}
	return true
}
