// Command labtime times a command in the SAN lab guest: it runs it -n times
// with stdout discarded and prints one JSON line per run with the wall time
// and the child's peak resident memory (getrusage ru_maxrss, the VmHWM of the
// process when it exits). busybox's time has only 10 ms resolution.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// Run is one timed run.
type Run struct {
	Command  string  `json:"command"`
	Run      int     `json:"run"`
	WallMS   float64 `json:"wall_ms"`
	MaxRSSKB int64   `json:"maxrss_kb"`
	ExitCode int     `json:"exit_code"`
}

func main() {
	n := flag.Int("n", 1, "number of runs")
	name := flag.String("name", "", "label for the command in the output")
	first := flag.Int("first", 1, "number of the first run in the output")
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: labtime [-n N] [-first I] [-name LABEL] -- COMMAND [ARGS...]")
		os.Exit(2)
	}
	if *name == "" {
		*name = args[0]
	}
	enc := json.NewEncoder(os.Stdout)
	for i := *first; i < *first+*n; i++ {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Stderr = os.Stderr
		t0 := time.Now()
		err := cmd.Run()
		wall := time.Since(t0)
		if err != nil && cmd.ProcessState == nil {
			fmt.Fprintln(os.Stderr, "labtime:", err)
			os.Exit(1)
		}
		r := Run{Command: *name, Run: i, WallMS: float64(wall.Microseconds()) / 1000, ExitCode: cmd.ProcessState.ExitCode()}
		r.MaxRSSKB = maxRSS(cmd.ProcessState)
		_ = enc.Encode(r)
	}
}
