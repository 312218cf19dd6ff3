package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/vmstor/vmstor/output"
	"github.com/vmstor/vmstor/store"
)

// HistoryCmd shows what changed over the stored scans for one VM or LUN, or
// without an argument the stored scans themselves.
type HistoryCmd struct {
	StoreDBFlag

	Limit  int    `name:"limit" default:"50" help:"Show at most this many entries, the most recent (0: all)."`
	Object string `arg:"" optional:"" name:"vm-or-lun" help:"A VM name or id, or a LUN id (with or without naa.) or serial. Without it: the list of stored scans."`
}

// Run prints the history.
func (c *HistoryCmd) Run(g *Globals) error {
	s, err := c.openExisting(g)
	if err != nil {
		return err
	}
	defer s.Close()
	if strings.TrimSpace(c.Object) == "" {
		scans, err := s.Scans(g.ctx, c.Limit)
		if err != nil {
			return err
		}
		if scans == nil {
			scans = []store.ScanInfo{}
		}
		return output.Write(g.stdout, g.Output, scans, scanRows(scans))
	}
	cs, err := s.History(g.ctx, c.Object, c.Limit)
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []store.Change{}
	}
	if len(cs) == 0 && g.Output == output.Table {
		fmt.Fprintf(g.stderr, "vmstor: no VM or LUN %q in %s\n", c.Object, s)
	}
	return output.Write(g.stdout, g.Output, cs, changeRows(cs))
}

func scanRows(scans []store.ScanInfo) *output.Rows {
	rows := &output.Rows{Header: []string{"SCAN", "TIME", "STATUS", "VMS", "DISKS", "LUNS", "ERRORS", "DURATION", "ROWS WRITTEN", "SOURCES"}}
	for _, si := range scans {
		rows.Add(strconv.FormatInt(si.ID, 10), si.Time.Format(time.RFC3339), si.Status,
			strconv.Itoa(si.VMs), strconv.Itoa(si.Disks), strconv.Itoa(si.LUNs), strconv.Itoa(len(si.Errors)),
			strconv.FormatFloat(si.DurationSeconds, 'f', 1, 64)+"s", strconv.FormatInt(si.RowsWritten, 10),
			strings.Join(si.Sources, " "))
	}
	return rows
}

func changeRows(cs []store.Change) *output.Rows {
	rows := &output.Rows{Header: []string{"SCAN", "TIME", "CHANGE", "OBJECT", "DETAIL", "BEFORE", "AFTER"}}
	for _, c := range cs {
		rows.Add(strconv.FormatInt(c.ScanID, 10), c.Time.Format(time.RFC3339), c.Kind, c.Object, c.Detail, c.Before, c.After)
	}
	return rows
}
