package main

import (
	"fmt"

	"github.com/vmstor/vmstor/output"
	"github.com/vmstor/vmstor/store"
)

// DiffCmd shows what changed between two stored scans.
type DiffCmd struct {
	StoreDBFlag

	Scans []int64 `arg:"" optional:"" name:"scan" help:"Two scan ids (from, to); one: that scan against the one before it; none: the last two scans. vmstor history lists the scans."`
}

// Run prints the changes, one per row.
func (c *DiffCmd) Run(g *Globals) error {
	if len(c.Scans) > 2 {
		return usageError{"diff takes at most two scan ids"}
	}
	s, err := c.openExisting(g)
	if err != nil {
		return err
	}
	defer s.Close()
	from, to, err := c.pick(g, s)
	if err != nil {
		return err
	}
	cs, err := s.Diff(g.ctx, from, to)
	if err != nil {
		return err
	}
	if cs == nil {
		cs = []store.Change{}
	}
	if len(cs) == 0 && g.Output == output.Table {
		fmt.Fprintf(g.stderr, "vmstor: no change from scan %d to scan %d\n", from, to)
	}
	return output.Write(g.stdout, g.Output, cs, changeRows(cs))
}

// pick resolves the scans to compare.
func (c *DiffCmd) pick(g *Globals, s *store.Store) (from, to int64, err error) {
	if len(c.Scans) == 2 {
		return c.Scans[0], c.Scans[1], nil
	}
	scans, err := s.Scans(g.ctx, 0) // newest first
	if err != nil {
		return 0, 0, err
	}
	if len(c.Scans) == 0 {
		if len(scans) < 2 {
			return 0, 0, fmt.Errorf("%s holds %d scan(s); a diff needs two", s, len(scans))
		}
		return scans[1].ID, scans[0].ID, nil
	}
	for i, si := range scans {
		if si.ID == c.Scans[0] {
			if i+1 == len(scans) {
				return 0, 0, fmt.Errorf("scan %d is the oldest in %s: nothing before it to compare with", si.ID, s)
			}
			return scans[i+1].ID, si.ID, nil
		}
	}
	return 0, 0, fmt.Errorf("scan %d: %w in %s (vmstor history lists the scans)", c.Scans[0], store.ErrNoScan, s)
}
