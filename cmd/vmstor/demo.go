package main

import (
	"fmt"
	"time"

	"github.com/vmstor/vmstor/scan"
	"github.com/vmstor/vmstor/vms/vsphere"
	"github.com/vmstor/vmstor/vms/vsphere/simlab"
)

// DemoCmd starts a simulated vSphere datacenter in process (govmomi's
// vCenter simulator with NetApp and Pure LUNs, FC and iSCSI paths, some of
// them dead) and maps it exactly as it would map a real vCenter: over HTTPS
// with the SOAP API, certificate verified, password checked.
type DemoCmd struct {
	VMs          int           `name:"vms" default:"20" help:"Number of VMs in the simulated datacenter."`
	Hosts        int           `name:"hosts" default:"4" help:"Number of ESXi hosts (one cluster)."`
	LUNs         int           `name:"luns" default:"6" help:"Number of array LUNs, NetApp and Pure alternately (at least 6)."`
	Disconnected int           `name:"disconnected" default:"0" help:"Mark the last N hosts disconnected from vCenter (their storage is reported stale)."`
	Delay        time.Duration `name:"delay" default:"0s" help:"Latency added to every API call, to stand for a remote vCenter (e.g. 5ms)."`
}

// Run builds the lab, scans it through the vsphere source and prints the map.
func (c *DemoCmd) Run(g *Globals) error {
	if c.VMs < 0 || c.Hosts < 1 || c.Disconnected < 0 {
		return usageError{"--vms must be >= 0, --hosts >= 1, --disconnected >= 0"}
	}
	start := time.Now()
	lab, err := simlab.Start(g.ctx, simlab.Topology{Hosts: c.Hosts, VMs: c.VMs, LUNs: c.LUNs,
		Disconnected: c.Disconnected, Delay: c.Delay})
	if err != nil {
		return fmt.Errorf("start the simulated datacenter: %w", err)
	}
	defer lab.Close()
	built := time.Since(start)

	// The same source `vmstor scan --vsphere URL --ca-file F` uses.
	src := vsphere.New(vsphere.Config{URL: lab.URL, Username: lab.Username, Password: lab.Password, CAFile: lab.CAFile})
	inv := scan.Run(g.ctx, scan.Options{}, src)

	fmt.Fprintf(g.stderr, "vmstor demo: simulated vCenter at %s (%d hosts, %d VMs, %d array LUNs) built in %s, mapped in %s\n\n",
		lab.URL, c.Hosts, c.VMs, len(lab.LUNs), built.Round(time.Millisecond),
		time.Duration(inv.DurationSeconds*float64(time.Second)).Round(time.Millisecond))
	return printInventory(g, inv)
}
