package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/vmstor/vmstor/array"
	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/output"
	"github.com/vmstor/vmstor/scan"
)

// StorageCmd is phase 2 alone: every storage resource and LUN this host sees.
type StorageCmd struct {
	HostFlags
}

// StorageResult is the JSON document of `vmstor storage`.
type StorageResult struct {
	Sources   []string          `json:"sources"`
	LUNs      []model.LUN       `json:"luns"`
	Resources []model.Resource  `json:"resources"`
	Errors    []model.ScanError `json:"errors,omitempty"`
}

// Run scans the host's storage and prints it.
func (c *StorageCmd) Run(g *Globals) error {
	inv, err := hostInventory(g.ctx, c.HostFlags)
	if err != nil {
		return err
	}
	return printStorage(g, inv)
}

// printStorage prints phase 2's result: LUNs, then the layers above them.
func printStorage(g *Globals, inv *model.Inventory) error {
	res := StorageResult{Sources: inv.Sources, LUNs: inv.LUNs, Resources: inv.Resources, Errors: inv.Errors}
	if res.LUNs == nil {
		res.LUNs = []model.LUN{}
	}
	rows := &output.Rows{Header: []string{"KIND", "NAME", "IDENTITY", "ARRAY", "SIZE", "STATE", "BENEATH"}}
	lunRows(rows, inv.LUNs)
	for _, r := range inv.Resources {
		if r.Kind == model.ResDisk {
			continue // listed as LUN paths
		}
		rows.Add(string(r.Kind), r.Name, resourceIdentity(r), "", size(r.SizeBytes), free(r),
			strings.Join(append(append([]string{}, r.Below...), r.LUNs...), " "))
	}
	if err := output.Write(g.stdout, g.Output, res, rows); err != nil {
		return err
	}
	return reportErrors(g, inv.Errors)
}

// hostInventory runs phase 2 alone, with array identity.
func hostInventory(ctx context.Context, h HostFlags) (*model.Inventory, error) {
	src, _, err := localStorage(h)
	if err != nil {
		return nil, err
	}
	var opts scan.Options
	if !h.bundle() {
		opts.Enrich = append(opts.Enrich, func(ctx context.Context, inv *model.Inventory) { array.LocalEnrich(ctx, inv, "/dev") })
	}
	return scan.Run(ctx, opts, src), nil
}

func resourceIdentity(r model.Resource) string {
	var s []string
	for _, x := range []string{r.Type, r.Device, r.Remote} {
		if x != "" && x != r.Name {
			s = append(s, x)
		}
	}
	if len(r.Mountpoints) > 0 && r.Mountpoints[0] != r.Name {
		s = append(s, "on "+strings.Join(r.Mountpoints, ","))
	}
	if r.BackingFile != "" {
		s = append(s, "backing "+r.BackingFile)
	}
	return strings.Join(s, " ")
}

func free(r model.Resource) string {
	if r.FreeBytes == nil {
		return r.Error
	}
	if r.SizeBytes == 0 {
		return size(*r.FreeBytes) + " free"
	}
	return fmt.Sprintf("%s free (%.0f%%)", size(*r.FreeBytes), 100*float64(*r.FreeBytes)/float64(r.SizeBytes))
}
