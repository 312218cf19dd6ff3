package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/output"
	"github.com/vmstor/vmstor/query"
	"github.com/vmstor/vmstor/store"
)

// StoreDBFlag names the inventory store: shared by who-uses, history, diff
// (and serve).
type StoreDBFlag struct {
	DB string `name:"db" env:"VMSTOR_DB" placeholder:"DSN" help:"Inventory store: sqlite:PATH or postgres://user@host/db (give a PostgreSQL password through PGPASSWORD or ~/.pgpass, never in the URL: argv is public). Default: sqlite:<XDG_STATE_HOME>/vmstor/vmstor.db, for root sqlite:/var/lib/vmstor/vmstor.db, else sqlite:~/.local/state/vmstor/vmstor.db."`
}

// dsn is the store to use.
func (f StoreDBFlag) dsn() string {
	if f.DB != "" {
		return f.DB
	}
	return store.DefaultDSN()
}

// openExisting opens the store for reading; a SQLite file that does not
// exist is an error here rather than a new empty store.
func (f StoreDBFlag) openExisting(g *Globals) (*store.Store, error) {
	dsn := f.dsn()
	if p, ok := store.SQLitePath(dsn); ok {
		if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no inventory store at %s: `vmstor serve --db %s` records scans there (or name another with --db)", p, dsn)
		}
	}
	return store.Open(g.ctx, dsn)
}

// WhoUsesCmd answers "which VMs and disks sit on this?" from the store or
// from a live scan.
type WhoUsesCmd struct {
	StoreDBFlag
	SourceFlags

	Live  bool   `name:"live" help:"Scan now (as vmstor scan does) instead of reading the store; implied by any source flag (--libvirt, --vsphere, --proxmox, --proxmox-root, --hyperv, --sysfs)."`
	Query string `arg:"" name:"what" help:"A LUN id (naa.…, with or without naa.), LUN serial, array (vendor, family, system name or id), datastore or resource name or id, NFS export (server:/path or server), or host device (/dev/sdc, sdc, dm-3, /dev/mapper/x)."`
}

// Run looks the query up and prints one row per virtual disk. Nothing found
// is an empty result, not an error.
func (c *WhoUsesCmd) Run(g *Globals) error {
	if strings.TrimSpace(c.Query) == "" {
		return usageError{"who-uses: name a LUN, serial, array, datastore, export or device"}
	}
	var uses []query.Use
	var scanErr []model.ScanError
	if c.Live || namesSource(&c.SourceFlags) {
		inv, err := c.Inventory(g)
		if err != nil {
			return err
		}
		uses = query.WhoUses(inv, c.Query)
		scanErr = inv.Errors
	} else {
		s, err := c.openExisting(g)
		if err != nil {
			return err
		}
		defer s.Close()
		uses, err = s.WhoUses(g.ctx, c.Query)
		if err != nil {
			return err
		}
	}
	if uses == nil {
		uses = []query.Use{}
	}
	rows := &output.Rows{Header: []string{"VM", "HOST", "DISK", "VIA", "MATCH", "LUN", "SOURCE"}}
	for _, u := range uses {
		rows.Add(u.VM, u.Host, u.Disk, u.Via, u.Match, u.LUN, u.Source)
	}
	if err := output.Write(g.stdout, g.Output, uses, rows); err != nil {
		return err
	}
	if len(uses) == 0 && g.Output == output.Table {
		fmt.Fprintf(g.stderr, "vmstor: nothing found on %q\n", c.Query)
	}
	if scanErr != nil {
		// A live scan with failures: the answer may be incomplete
		// (exit status 3, as for scan).
		return reportErrors(g, scanErr)
	}
	return nil
}

// namesSource reports whether the flags name something to scan: then the
// user asked about a live scan, not the store.
func namesSource(f *SourceFlags) bool {
	return len(f.Libvirt) > 0 || len(f.VSphere) > 0 || len(f.Proxmox) > 0 || f.ProxmoxRoot != "" || f.HyperV || f.Sysfs != ""
}
