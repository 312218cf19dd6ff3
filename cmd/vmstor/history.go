package main

import "errors"

// HistoryCmd is being built; this placeholder keeps the command tree compiling.
type HistoryCmd struct{}

// Run is a placeholder.
func (c *HistoryCmd) Run(g *Globals) error { return errors.New("not implemented yet") }
