// Command vmstor maps every virtual disk of every VM to the storage beneath
// it, down to the LUNs and arrays, and keeps watching them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/alecthomas/kong"
)

// Exit statuses.
const (
	exitOK      = 0
	exitError   = 1
	exitUsage   = 2
	exitPartial = 3
)

// CLI is the command line. Each command lives in its own file.
type CLI struct {
	Globals

	Scan    ScanCmd    `cmd:"" help:"Map every VM disk to the storage beneath it (all three phases)."`
	Storage StorageCmd `cmd:"" help:"List every storage resource and LUN this host sees (phase 2 alone)."`
	Which   WhichCmd   `cmd:"" help:"Show the storage chain beneath a file, directory or device, down to the LUNs."`
	Demo    DemoCmd    `cmd:"" help:"Start a simulated vSphere datacenter in process and map it (no setup needed)."`
	Serve   ServeCmd   `cmd:"" help:"Scan periodically, store history, serve the API, web page and /metrics."`
	WhoUses WhoUsesCmd `cmd:"" name:"who-uses" help:"Which VMs and disks sit on a LUN, array, datastore, export or device."`
	History HistoryCmd `cmd:"" help:"What changed over time for a VM or LUN, from the store."`
	Diff    DiffCmd    `cmd:"" help:"What changed between two stored scans."`
}

// Globals are the flags every command takes.
type Globals struct {
	Output string `short:"o" enum:"table,json,csv" default:"table" help:"Output format: table, json or csv."`

	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
}

// partialError marks a result that was printed but is incomplete: some VMs or
// devices failed. It maps to exit status 3.
type partialError struct{ n int }

func (e partialError) Error() string {
	return fmt.Sprintf("partial result: %d part(s) of the scan failed (listed above)", e.n)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run parses args and runs one command; it is main without os.Exit, for tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cli CLI
	exited := -1
	parser, err := kong.New(&cli,
		kong.Name("vmstor"),
		kong.Description("Which storage array, volume and LUN holds each disk of each VM."),
		kong.UsageOnError(),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { exited = code; panic(kongExit{}) }),
	)
	if err != nil {
		fmt.Fprintln(stderr, "vmstor:", err)
		return exitError
	}
	var kctx *kong.Context
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(kongExit); !ok {
					panic(r)
				}
			}
		}()
		kctx, err = parser.Parse(args)
	}()
	if exited >= 0 {
		// --help and friends.
		return exited
	}
	if err != nil {
		fmt.Fprintln(stderr, "vmstor:", err)
		return exitUsage
	}
	cli.Globals.ctx, cli.Globals.stdout, cli.Globals.stderr = ctx, stdout, stderr
	if err := kctx.Run(&cli.Globals); err != nil {
		var p partialError
		if errors.As(err, &p) {
			fmt.Fprintln(stderr, "vmstor:", err)
			return exitPartial
		}
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprintln(stderr, "vmstor:", err)
			return exitUsage
		}
		fmt.Fprintln(stderr, "vmstor:", err)
		return exitError
	}
	return exitOK
}

type kongExit struct{}

// usageError is a command-line mistake found after parsing; exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }
