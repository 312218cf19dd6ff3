package main

import "errors"

// ServeCmd is being built; this placeholder keeps the command tree compiling.
type ServeCmd struct{}

// Run is a placeholder.
func (c *ServeCmd) Run(g *Globals) error { return errors.New("not implemented yet") }
