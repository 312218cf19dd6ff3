package main

import "errors"

// WhoUsesCmd is being built; this placeholder keeps the command tree compiling.
type WhoUsesCmd struct{}

// Run is a placeholder.
func (c *WhoUsesCmd) Run(g *Globals) error { return errors.New("not implemented yet") }
