package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/vmstor/vmstor/scan"
	"github.com/vmstor/vmstor/vms/vsphere"
	"github.com/vmstor/vmstor/vms/vsphere/simlab"
)

func main() {
	ctx := context.Background()
	t0 := time.Now()
	lab, err := simlab.Start(ctx, simlab.Topology{Hosts: 4, VMs: 20})
	if err != nil {
		panic(err)
	}
	defer lab.Close()
	fmt.Fprintln(os.Stderr, "built", time.Since(t0))
	src := vsphere.New(vsphere.Config{URL: lab.URL, Username: lab.Username, Password: lab.Password, CAFile: lab.CAFile})
	inv := scan.Run(ctx, scan.Options{}, src)
	fmt.Fprintln(os.Stderr, "scanned", inv.DurationSeconds)
	b, _ := json.MarshalIndent(inv, "", " ")
	os.WriteFile("/tmp/vsmoke/demo.json", b, 0o644)
}
