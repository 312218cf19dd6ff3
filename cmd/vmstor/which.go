package main

import (
	"fmt"
	"strings"

	"github.com/vmstor/vmstor/correlate"
	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/output"
)

// WhichCmd shows the storage chain beneath any file, directory or device.
type WhichCmd struct {
	HostFlags
	Path string `arg:"" name:"PATH|DEVICE" help:"A file, directory, device node or device name (sdc, dm-3, /dev/mapper/x)."`
}

// WhichResult is the JSON document of `vmstor which`.
type WhichResult struct {
	Path   string            `json:"path"`
	Chain  []model.Layer     `json:"chain"`
	LUNs   []model.LUN       `json:"luns"`
	Errors []model.ScanError `json:"errors,omitempty"`
}

// Run resolves the path and prints the chain.
func (c *WhichCmd) Run(g *Globals) error {
	inv, err := hostInventory(g.ctx, c.HostFlags)
	if err != nil {
		return err
	}
	graph := correlate.NewGraph(inv)
	var anchor *model.Anchor
	if c.bundle() || !strings.Contains(c.Path, "/") {
		// A support bundle has no files to stat; a bare name is a device.
		anchor, err = graph.LocateByName(c.Path)
	} else {
		_, loc, lerr := localStorage(c.HostFlags)
		if lerr != nil {
			return lerr
		}
		anchor, err = loc.Locate(g.ctx, c.Path)
	}
	if err != nil {
		return err
	}
	chain, ids, err := graph.Resolve(*anchor)
	if err != nil {
		return err
	}
	if len(chain) > 0 && (chain[0].Kind == string(model.ResFilesystem) || chain[0].Kind == string(model.ResNFS) || chain[0].Kind == string(model.ResSMB)) {
		for i := range chain {
			chain[i].Level++
		}
		chain = append([]model.Layer{{Kind: "file", Name: anchor.Path}}, chain...)
	}
	res := WhichResult{Path: c.Path, Chain: chain, LUNs: []model.LUN{}, Errors: inv.Errors}
	byID := lunIndex(inv.LUNs)
	for _, id := range ids {
		if l := byID[id]; l != nil {
			res.LUNs = append(res.LUNs, *l)
		} else {
			res.LUNs = append(res.LUNs, model.LUN{ID: id, Paths: []model.Path{}})
		}
	}
	rows := &output.Rows{Header: []string{"LEVEL", "KIND", "NAME", "DETAIL"}}
	for _, l := range chain {
		rows.Add(fmt.Sprint(l.Level), strings.Repeat("  ", l.Level)+l.Kind, l.Name, l.Detail)
	}
	if g.Output != output.JSON && len(res.LUNs) > 0 {
		if err := output.Write(g.stdout, g.Output, res, rows); err != nil {
			return err
		}
		fmt.Fprintln(g.stdout)
		rows = &output.Rows{Header: []string{"KIND", "NAME", "IDENTITY", "ARRAY", "SIZE", "STATE", "PATHS"}}
		lunRows(rows, res.LUNs)
	}
	if err := output.Write(g.stdout, g.Output, res, rows); err != nil {
		return err
	}
	return reportErrors(g, inv.Errors)
}
