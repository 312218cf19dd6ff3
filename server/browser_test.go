package server

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Path-health colours of app.css (--ok, --standby, --failed).
var (
	colorOK      = [3]uint8{0x1a, 0x98, 0x50}
	colorStandby = [3]uint8{0xf5, 0xa6, 0x23}
	colorFailed  = [3]uint8{0xd7, 0x30, 0x27}
)

// chromium returns the browser's path or skips (fails under VMSTOR_CI=1).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("VMSTOR_CI") == "1" {
		t.Fatal("chromium not found and VMSTOR_CI=1: .ci/setup.d/30-chromium.sh installs Debian's chromium")
	}
	t.Skip("chromium not found: apt-get install chromium to run the browser tests")
	return ""
}

// browser starts a headless Chromium with the flags this machine needs
// (no sandbox as root, no background network) and a fresh profile.
func browser(t *testing.T) (context.Context, *[]string) {
	path := chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	// Page errors (exceptions, CSP violations logged as errors) fail the test.
	var mu sync.Mutex
	errs := &[]string{}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			mu.Lock()
			*errs = append(*errs, "exception: "+e.ExceptionDetails.Error())
			mu.Unlock()
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.APITypeError {
				var parts []string
				for _, a := range e.Args {
					parts = append(parts, string(a.Value))
				}
				mu.Lock()
				*errs = append(*errs, "console.error: "+strings.Join(parts, " "))
				mu.Unlock()
			}
		}
	})
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx, errs
}

// TestBrowser loads the page over 10,000 VMs in headless Chromium: the VM
// table, a search, a VM's topology (screenshot checked for the path-health
// colours), a LUN's blast radius, an array and the scan timeline.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	ctx, pageErrs := browser(t)
	inv := synth(10000)
	_, ms, ts := newTestServer(t, inv, "")
	// A second scan so the timeline has two points and a diff.
	inv2 := synth(10000)
	inv2.VMs = inv2.VMs[1:]
	inv2.ScannedAt = inv2.ScannedAt.Add(5 * time.Minute)
	ms.Save(context.Background(), inv2)

	shots := os.Getenv("VMSTOR_SCREENSHOT_DIR")
	if shots == "" {
		shots = t.TempDir()
	}
	save := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(shots, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// VM table: first page of 100 rows of 10,000.
	var count string
	var rows int
	start := time.Now()
	err := chromedp.Run(ctx,
		chromedp.Navigate(ts.URL+"/#/vms"),
		chromedp.WaitVisible(`body[data-ready="vms"] #vms-table tbody tr`, chromedp.ByQuery),
		chromedp.Text(`.pager .count`, &count, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("#vms-table tbody tr").length`, &rows),
	)
	load := time.Since(start)
	if err != nil {
		t.Fatalf("VM table: %v", err)
	}
	t.Logf("VM table of 10,000 VMs shown in %v", load)
	if count != "1–100 of 10000" || rows != 100 {
		t.Errorf("VM table: count %q, %d rows; want 1–100 of 10000 and 100 rows", count, rows)
	}

	// Search narrows the table (server side).
	var first string
	err = chromedp.Run(ctx,
		chromedp.SendKeys(`input[aria-label="search"]`, "vm-0999", chromedp.ByQuery),
		chromedp.WaitVisible(`//span[@class="count"][text()="1–10 of 10"]`, chromedp.BySearch),
		chromedp.Text(`#vms-table tbody tr td a`, &first, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("search: %v", err)
	}
	if first != "vm-09990" {
		t.Errorf("first VM after search %q, want vm-09990", first)
	}

	// VM 2 has a disk on LUN 5 (degraded: one failed, one active, two
	// standby paths) and one on LUN 4 (ok).
	vm := inv2.VMs[1]
	if vm.Name != "vm-00002" {
		t.Fatalf("synth changed: %s", vm.Name)
	}
	var png1 []byte
	var states map[string]int
	err = chromedp.Run(ctx,
		chromedp.Navigate(ts.URL+"/#/vm/"+url.PathEscape(vm.ID)),
		chromedp.WaitVisible(`body[data-ready="vm"] #topology svg g.node`, chromedp.ByQuery),
		chromedp.Evaluate(`(() => { const c = {}; for (const g of document.querySelectorAll("#topology g.node")) { const k = g.classList[1] + ":" + g.dataset.state; c[k] = (c[k] || 0) + 1; } return c; })()`, &states),
		chromedp.FullScreenshot(&png1, 100),
	)
	if err != nil {
		t.Fatalf("VM topology: %v", err)
	}
	save("vm-topology.png", png1)
	wantStates := map[string]int{"k-path:active": 2, "k-path:standby": 4, "k-path:failed": 1, "k-lun:ok": 1, "k-lun:degraded": 1}
	for k, n := range wantStates {
		if states[k] != n {
			t.Errorf("topology nodes %s: %d, want %d (all: %v)", k, states[k], n, states)
		}
	}
	checkColors(t, "vm-topology.png", png1, map[string][3]uint8{"active": colorOK, "standby": colorStandby, "failed": colorFailed})

	// LUN blast radius.
	lun := inv2.LUNs[5]
	var blastText string
	var useRows int
	err = chromedp.Run(ctx,
		chromedp.Navigate(ts.URL+"/#/lun/"+url.PathEscape(lun.ID)),
		chromedp.WaitVisible(`body[data-ready="lun"] #blast`, chromedp.ByQuery),
		chromedp.Text(`#blast`, &blastText, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("#uses-table tbody tr").length`, &useRows),
		chromedp.FullScreenshot(&png1, 100),
	)
	if err != nil {
		t.Fatalf("LUN view: %v", err)
	}
	save("lun-blast-radius.png", png1)
	wantUses := 0
	for _, v := range inv2.VMs {
		for _, d := range v.Disks {
			if len(d.LUNs) > 0 && d.LUNs[0] == lun.ID {
				wantUses++
			}
		}
	}
	if useRows != wantUses || !strings.Contains(blastText, fmt.Sprintf("%dVMs on this LUN", wantUses)) {
		t.Errorf("LUN blast radius: %d rows, text %q; want %d disks", useRows, blastText, wantUses)
	}
	checkColors(t, "lun-blast-radius.png", png1, map[string][3]uint8{"active": colorOK, "failed": colorFailed})

	// Array view and scan timeline.
	var arrayNodes, dots int
	err = chromedp.Run(ctx,
		chromedp.Navigate(ts.URL+"/#/array/pure-b"),
		chromedp.WaitVisible(`body[data-ready="array"] #topology svg g.node`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("#topology g.node").length`, &arrayNodes),
		chromedp.Navigate(ts.URL+"/#/scans"),
		chromedp.WaitVisible(`body[data-ready="scans"] svg.timeline circle`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("svg.timeline circle").length`, &dots),
		chromedp.Click(`svg.timeline circle:last-of-type`, chromedp.ByQuery),
		chromedp.WaitVisible(`#diff-table tbody tr`, chromedp.ByQuery),
		chromedp.FullScreenshot(&png1, 100),
	)
	if err != nil {
		t.Fatalf("array and scans: %v", err)
	}
	save("scans.png", png1)
	if arrayNodes < 10 || dots != 2 {
		t.Errorf("array graph %d nodes, timeline %d dots; want >= 10 and 2", arrayNodes, dots)
	}
	if len(*pageErrs) > 0 {
		t.Errorf("page errors:\n%s", strings.Join(*pageErrs, "\n"))
	}
}

// TestBrowserToken checks the page asks for the bearer token and then works.
func TestBrowserToken(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	ctx, pageErrs := browser(t)
	const tok = "browser-token-0123456789"
	_, _, ts := newTestServer(t, synth(200), tok)
	var count string
	err := chromedp.Run(ctx,
		chromedp.Navigate(ts.URL+"/#/vms"),
		chromedp.WaitVisible(`form.token input`, chromedp.ByQuery),
		chromedp.SendKeys(`form.token input`, tok, chromedp.ByQuery),
		chromedp.Submit(`form.token`, chromedp.ByQuery),
		chromedp.WaitVisible(`body[data-ready="vms"] #vms-table tbody tr`, chromedp.ByQuery),
		chromedp.Text(`.pager .count`, &count, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("token flow: %v", err)
	}
	if count != "1–100 of 200" {
		t.Errorf("count %q", count)
	}
	// 401s before the token are expected network errors, not page errors.
	for _, e := range *pageErrs {
		if !strings.Contains(e, "401") {
			t.Errorf("page error: %s", e)
		}
	}
}

// checkColors decodes a screenshot, checks it is not blank, and that each
// colour covers at least a small block of pixels.
func checkColors(t *testing.T, name string, b []byte, want map[string][3]uint8) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	counts := map[[3]uint8]int{}
	distinct := map[[3]uint8]bool{}
	bounds := img.Bounds()
	for y := bounds.Min.Y; y < bounds.Max.Y; y++ {
		for x := bounds.Min.X; x < bounds.Max.X; x++ {
			c := rgb(img, x, y)
			if len(distinct) < 1000 {
				distinct[c] = true
			}
			for _, w := range want {
				if near(c, w) {
					counts[w]++
				}
			}
		}
	}
	if len(distinct) < 20 {
		t.Errorf("%s looks blank: %d distinct colours", name, len(distinct))
	}
	for state, w := range want {
		// A node's state bar alone is 7x38 pixels.
		if counts[w] < 200 {
			t.Errorf("%s: %d pixels of the %s colour #%02x%02x%02x, want at least 200", name, counts[w], state, w[0], w[1], w[2])
		}
	}
}

func rgb(img image.Image, x, y int) [3]uint8 {
	r, g, b, _ := img.At(x, y).RGBA()
	return [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}
}

func near(a, b [3]uint8) bool {
	d := func(x, y uint8) int {
		if x > y {
			return int(x - y)
		}
		return int(y - x)
	}
	return d(a[0], b[0]) <= 6 && d(a[1], b[1]) <= 6 && d(a[2], b[2]) <= 6
}
