package vsphere

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"

	"github.com/vmstor/vmstor/vms/vsphere/simlab"
)

// The benchmarks scan a lab served by a child process (this test binary
// re-executed with VMSTOR_SIMLAB_SERVE set), so that the memory measured is
// the scanner's alone, not the simulator's.
//
//	VMSTOR_VSPHERE_BENCH_VMS=2000,5000 go test ./vms/vsphere -run '^$' -bench Scan -benchtime 1x -timeout 60m
//
// Defaults to 200 VMs so that `-bench .` stays short. Each lab has 8 hosts,
// 50 LUNs, 3 disks per VM and 5 ms of latency per call.

func TestMain(m *testing.M) {
	if spec := os.Getenv("VMSTOR_SIMLAB_SERVE"); spec != "" {
		serveLab(spec)
		return
	}
	os.Exit(m.Run())
}

type labInfo struct {
	URL, Username, Password, CAFile string
	pid                             int
}

// serveLab starts a lab of spec "vms,hosts,luns,disks,delay-ms", prints
// where it is as one JSON line and serves until stdin closes.
func serveLab(spec string) {
	var n [5]int
	for i, f := range strings.Split(spec, ",") {
		if i < len(n) {
			n[i], _ = strconv.Atoi(f)
		}
	}
	lab, err := simlab.Start(context.Background(), simlab.Topology{VMs: n[0], Hosts: n[1], LUNs: n[2], DisksPerVM: n[3],
		Delay: time.Duration(n[4]) * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer lab.Close()
	_ = json.NewEncoder(os.Stdout).Encode(labInfo{URL: lab.URL, Username: lab.Username, Password: lab.Password, CAFile: lab.CAFile})
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes stdin
}

// startLabProcess runs a lab in a child process.
func startLabProcess(b *testing.B, vms int) labInfo {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("VMSTOR_SIMLAB_SERVE=%d,8,50,3,5", vms))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	var info labInfo
	if err := json.NewDecoder(stdout).Decode(&info); err != nil {
		b.Fatalf("lab process: %v", err)
	}
	info.pid = cmd.Process.Pid
	b.Logf("lab of %d VMs built in %s", vms, time.Since(start).Round(time.Second))
	return info
}

func benchSizes() []int {
	raw := os.Getenv("VMSTOR_VSPHERE_BENCH_VMS")
	if raw == "" {
		raw = "200"
	}
	var out []int
	for _, f := range strings.Split(raw, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

// BenchmarkScan compares, on the same lab: vmstor's scan (views, one
// paged property filter, model built), the bare property-collector
// retrieval of the same properties (no model), and the naive way: one
// retrieval per object, as a govc loop over VMs does.
func BenchmarkScan(b *testing.B) {
	for _, vms := range benchSizes() {
		info := startLabProcess(b, vms)
		cfg := Config{URL: info.URL, Username: info.Username, Password: info.Password, CAFile: info.CAFile}
		// Warm the simulator up (its first property collection is slower).
		runBare(b, cfg, &soapCounter{})
		for _, way := range []struct {
			name string
			run  func(*testing.B, Config, *soapCounter) int
		}{
			{"bare", runBare},
			{"vmstor", runVmstor},
			{"per-object", runPerObject},
		} {
			b.Run(fmt.Sprintf("vms=%d/%s", vms, way.name), func(b *testing.B) {
				var calls, peak uint64
				var cpu, srv time.Duration
				b.ReportAllocs()
				for b.Loop() {
					c := &soapCounter{}
					stop := sampleHeap()
					cpu0, srv0 := cpuTime(), procCPUTime(info.pid)
					got := way.run(b, cfg, c)
					cpu += cpuTime() - cpu0
					srv += procCPUTime(info.pid) - srv0
					peak = max(peak, stop())
					if got != vms {
						b.Fatalf("%s read %d VMs, want %d", way.name, got, vms)
					}
					calls = uint64(c.total())
				}
				b.ReportMetric(float64(calls), "soap-calls/op")
				b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "client-cpu-ms/op")
				b.ReportMetric(float64(srv.Milliseconds())/float64(b.N), "server-cpu-ms/op")
				b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
			})
		}
	}
}

func runVmstor(b *testing.B, cfg Config, c *soapCounter) int {
	inv, err := scanWith(b, cfg, c)
	if err != nil {
		b.Fatal(err)
	}
	return len(inv.VMs)
}

// benchClient logs in through the counting transport.
func benchClient(b *testing.B, cfg Config, c *soapCounter) (*vim25.Client, func()) {
	ctx := context.Background()
	u, _ := soap.ParseURL(cfg.URL)
	sc := soap.NewClient(u, false)
	if err := sc.SetRootCAs(cfg.CAFile); err != nil {
		b.Fatal(err)
	}
	c.next = sc.Client.Transport
	sc.Client.Transport = c
	vc, err := vim25.NewClient(ctx, sc)
	if err != nil {
		b.Fatal(err)
	}
	sm := session.NewManager(vc)
	if err := sm.Login(ctx, url.UserPassword(cfg.Username, cfg.Password)); err != nil {
		b.Fatal(err)
	}
	return vc, func() { _ = sm.Logout(ctx) }
}

// runBare retrieves the same properties over the same views and pages, and
// builds nothing.
func runBare(b *testing.B, cfg Config, c *soapCounter) int {
	ctx := context.Background()
	vc, logout := benchClient(b, cfg, c)
	defer logout()
	spec := types.PropertyFilterSpec{}
	for _, vk := range viewKinds {
		res, err := methods.CreateContainerView(ctx, vc, &types.CreateContainerView{
			This: *vc.ServiceContent.ViewManager, Container: vc.ServiceContent.RootFolder, Type: []string{vk.kind}, Recursive: true})
		if err != nil {
			b.Fatal(err)
		}
		spec.ObjectSet = append(spec.ObjectSet, types.ObjectSpec{Obj: res.Returnval, Skip: types.NewBool(true),
			SelectSet: []types.BaseSelectionSpec{&types.TraversalSpec{Type: "ContainerView", Path: "view"}}})
		spec.PropSet = append(spec.PropSet, types.PropertySpec{Type: vk.kind, PathSet: vk.props})
	}
	res, err := methods.RetrievePropertiesEx(ctx, vc, &types.RetrievePropertiesEx{This: vc.ServiceContent.PropertyCollector,
		SpecSet: []types.PropertyFilterSpec{spec}, Options: types.RetrieveOptions{MaxObjects: DefaultPageSize}})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for r := res.Returnval; r != nil; {
		for _, o := range r.Objects {
			if o.Obj.Type == "VirtualMachine" {
				n++
			}
		}
		if r.Token == "" {
			break
		}
		next, err := methods.ContinueRetrievePropertiesEx(ctx, vc, &types.ContinueRetrievePropertiesEx{This: vc.ServiceContent.PropertyCollector, Token: r.Token})
		if err != nil {
			b.Fatal(err)
		}
		r = &next.Returnval
	}
	return n
}

// runPerObject lists the objects once, then reads each one's properties in
// a call of its own, one after the other, as a loop of govc vm.info does
// (without govc's login per command, which would make it slower still).
func runPerObject(b *testing.B, cfg Config, c *soapCounter) int {
	ctx := context.Background()
	vc, logout := benchClient(b, cfg, c)
	defer logout()
	n := 0
	for _, vk := range viewKinds {
		res, err := methods.CreateContainerView(ctx, vc, &types.CreateContainerView{
			This: *vc.ServiceContent.ViewManager, Container: vc.ServiceContent.RootFolder, Type: []string{vk.kind}, Recursive: true})
		if err != nil {
			b.Fatal(err)
		}
		list, err := methods.RetrievePropertiesEx(ctx, vc, &types.RetrievePropertiesEx{This: vc.ServiceContent.PropertyCollector,
			SpecSet: []types.PropertyFilterSpec{{ObjectSet: []types.ObjectSpec{{Obj: res.Returnval}},
				PropSet: []types.PropertySpec{{Type: "ContainerView", PathSet: []string{"view"}}}}}})
		if err != nil {
			b.Fatal(err)
		}
		var refs []types.ManagedObjectReference
		for _, o := range list.Returnval.Objects {
			for _, p := range o.PropSet {
				if a, ok := p.Val.(types.ArrayOfManagedObjectReference); ok {
					refs = a.ManagedObjectReference
				}
			}
		}
		var wg sync.WaitGroup
		var failed atomic.Value
		sem := make(chan struct{}, 1) // one at a time, as a shell loop over govc does
		for _, ref := range refs {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				_, err := methods.RetrievePropertiesEx(ctx, vc, &types.RetrievePropertiesEx{This: vc.ServiceContent.PropertyCollector,
					SpecSet: []types.PropertyFilterSpec{{ObjectSet: []types.ObjectSpec{{Obj: ref}},
						PropSet: []types.PropertySpec{{Type: vk.kind, PathSet: vk.props}}}}})
				if err != nil {
					failed.Store(err)
				}
			}()
		}
		wg.Wait()
		if err, ok := failed.Load().(error); ok {
			b.Fatal(err)
		}
		if vk.kind == "VirtualMachine" {
			n = len(refs)
		}
	}
	return n
}

// sampleHeap samples the live heap every millisecond until the returned
// function is called, which returns the peak above the starting heap.
func sampleHeap() func() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	base := s[0].Value.Uint64()
	var peak atomic.Uint64
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > base && v-base > peak.Load() {
				peak.Store(v - base)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(done); <-stopped; return peak.Load() }
}

var _ http.RoundTripper = (*soapCounter)(nil)
