package main

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
	return printInventory(g, inv)
}
