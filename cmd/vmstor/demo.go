package main

import "errors"

// DemoCmd is being built; this placeholder keeps the command tree compiling.
type DemoCmd struct{}

// Run is a placeholder.
func (c *DemoCmd) Run(g *Globals) error { return errors.New("not implemented yet") }
