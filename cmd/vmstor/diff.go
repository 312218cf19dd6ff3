package main

import "errors"

// DiffCmd is being built; this placeholder keeps the command tree compiling.
type DiffCmd struct{}

// Run is a placeholder.
func (c *DiffCmd) Run(g *Globals) error { return errors.New("not implemented yet") }
