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
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			mu.Lock()
			*errs = append(*errs, fmt.Sprintf("exception: %s %s:%d", e.ExceptionDetails.Text, e.ExceptionDetails.URL, e.ExceptionDetails.LineNumber))
			mu.Unlock()
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
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
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	return ctx, errs
}

// tab wraps a browser tab for short test steps.
type tab struct {
	t    *testing.T
	ctx  context.Context
	errs *[]string
}

// do runs steps with a deadline of its own, so that on failure the page can
// still be read for the report.
func (p tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		html, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.body ? document.body.outerHTML.slice(0, 3000) : "(no body)"`))
		p.t.Fatalf("%s: %v\npage errors: %v\nbody: %s", what, err, *p.errs, html)
	}
}

func (p tab) text(sel string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func evalIn[T any](p tab, expr string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

func (p tab) screenshot(name, dir string) []byte {
	p.t.Helper()
	b, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		p.t.Fatal(err)
	}
	return b
}

func (p tab) element(sel, name, dir string) []byte {
	p.t.Helper()
	b, err := chromedp.Run(p.ctx, chromedp.Screenshot(chromedp.CSS(sel)))
	if err != nil {
		p.t.Fatalf("screenshot of %s: %v", sel, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		p.t.Fatal(err)
	}
	return b
}

// TestBrowser loads the page over 10,000 VMs in headless Chromium: the VM
// table, a search, a VM's topology (screenshot checked for the path-health
// colours), a LUN's blast radius, an array and the scan timeline.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	ctx, pageErrs := browser(t)
	p := tab{t, ctx, pageErrs}
	inv := synth(10000)
	_, ms, ts := newTestServer(t, inv, "")
	// A second scan so the timeline has two points and a diff.
	inv2 := synth(10000)
	inv2.VMs = inv2.VMs[1:]
	inv2.ScannedAt = inv2.ScannedAt.Add(5 * time.Minute)
	if _, err := ms.Save(context.Background(), inv2); err != nil {
		t.Fatal(err)
	}
	shots := os.Getenv("VMSTOR_SCREENSHOT_DIR")
	if shots == "" {
		shots = t.TempDir()
	}

	// VM table: first page of 100 rows of 10,000.
	start := time.Now()
	p.do("VM table", chromedp.Navigate(ts.URL+"/#/vms"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="vms"] #vms-table tbody tr`)))
	t.Logf("VM table of 10,000 VMs: shown %v after Navigate; %s ms after navigation start in the page", time.Since(start),
		evalIn[string](p, `document.body.dataset.loadMs`))
	count := p.text(`.pager .count`)
	rows := evalIn[int](p, `document.querySelectorAll("#vms-table tbody tr").length`)
	if count != "1–100 of 10000" || rows != 100 {
		t.Errorf("VM table: count %q, %d rows; want 1–100 of 10000 and 100 rows", count, rows)
	}
	p.screenshot("vms.png", shots)

	// Search narrows the table (server side).
	p.do("search", chromedp.SendKeys(chromedp.CSS(`input[aria-label="search"]`), "vm-0999"),
		chromedp.WaitVisible(chromedp.Search(`//span[@class="count"][text()="1–10 of 10"]`)))
	if first := p.text(`#vms-table tbody tr td a`); first != "vm-09990" {
		t.Errorf("first VM after search %q, want vm-09990", first)
	}

	// Paging to the last page of 10,000 and back: each a server-paged view.
	p.do("last page", chromedp.Navigate(ts.URL+"/#/vms?offset=9900"),
		chromedp.WaitVisible(chromedp.Search(`//span[@class="count"][text()="9901–10000 of 10000"]`)))
	t.Logf("VM table page 100 of 100 drawn in %s ms", evalIn[string](p, `document.body.dataset.viewMs`))

	// VM 2 has a disk on LUN 5 (degraded: one failed, one active, two
	// standby paths) and one on LUN 4 (ok).
	vm := inv.VMs[2]
	p.do("VM topology", chromedp.Navigate(ts.URL+"/#/vm/"+url.PathEscape(vm.ID)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="vm"] #topology svg g.node`)))
	states := evalIn[map[string]int](p, `(() => { const c = {}; for (const g of document.querySelectorAll("#topology g.node")) { const k = g.classList[1] + ":" + g.dataset.state; c[k] = (c[k] || 0) + 1; } return c; })()`)
	wantStates := map[string]int{"k-path:active": 3, "k-path:standby": 4, "k-path:failed": 1, "k-lun:ok": 1, "k-lun:degraded": 1}
	for k, n := range wantStates {
		if states[k] != n {
			t.Errorf("topology nodes %s: %d, want %d (all: %v)", k, states[k], n, states)
		}
	}
	if title := p.text(`main h2`); !strings.Contains(title, vm.Name) {
		t.Errorf("VM page title %q", title)
	}
	p.screenshot("vm.png", shots)
	// The colours must be in the picture itself, not only in the tables.
	t.Logf("VM topology drawn in %s ms", evalIn[string](p, `document.body.dataset.viewMs`))
	png1 := p.element("#topology", "vm-topology.png", shots)
	checkColors(t, "vm-topology.png", png1, map[string][3]uint8{"active": colorOK, "standby": colorStandby, "failed": colorFailed})

	// LUN blast radius.
	lun := inv.LUNs[5]
	p.do("LUN view", chromedp.Navigate(ts.URL+"/#/lun/"+url.PathEscape(lun.ID)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="lun"] #blast`)))
	blastText := p.text(`#blast`)
	useRows := evalIn[int](p, `document.querySelectorAll("#uses-table tbody tr").length`)
	wantUses := 0
	for _, v := range inv.VMs {
		for _, d := range v.Disks {
			if len(d.LUNs) > 0 && d.LUNs[0] == lun.ID {
				wantUses++
			}
		}
	}
	if useRows != wantUses || !strings.Contains(blastText, fmt.Sprintf("%d\nVMs on this LUN", wantUses)) && !strings.Contains(blastText, fmt.Sprintf("%dVMs on this LUN", wantUses)) {
		t.Errorf("LUN blast radius: %d rows, text %q; want %d disks", useRows, blastText, wantUses)
	}
	p.screenshot("lun-blast-radius.png", shots)
	png1 = p.element("#topology", "lun-topology.png", shots)
	checkColors(t, "lun-blast-radius.png", png1, map[string][3]uint8{"active": colorOK, "failed": colorFailed})

	// Array view and scan timeline with a diff.
	p.do("array view", chromedp.Navigate(ts.URL+"/#/array/pure-b"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="array"] #topology svg g.node`)))
	t.Logf("array topology drawn in %s ms", evalIn[string](p, `document.body.dataset.viewMs`))
	if n := evalIn[int](p, `document.querySelectorAll("#topology g.node").length`); n < 10 {
		t.Errorf("array graph has %d nodes", n)
	}
	p.do("scans", chromedp.Navigate(ts.URL+"/#/scans"),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="scans"] svg.timeline circle`)))
	if n := evalIn[int](p, `document.querySelectorAll("svg.timeline circle").length`); n != 2 {
		t.Errorf("timeline has %d dots, want 2", n)
	}
	p.do("diff", chromedp.Click(chromedp.CSS(`svg.timeline circle[data-scan="2"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#diff-table tbody tr`)))
	if txt := p.text(`#diff-table tbody`); !strings.Contains(txt, "vm-00000") {
		t.Errorf("diff table does not name the removed VM: %q", txt)
	}
	p.screenshot("scans.png", shots)
	if len(*pageErrs) > 0 {
		t.Errorf("page errors:\n%s", strings.Join(*pageErrs, "\n"))
	}
}

// TestBrowserToken checks the page asks for the bearer token and then works.
func TestBrowserToken(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	ctx, errs := browser(t)
	p := tab{t, ctx, errs}
	const tok = "browser-token-0123456789"
	_, _, ts := newTestServer(t, synth(200), tok)
	p.do("token flow", chromedp.Navigate(ts.URL+"/#/vms"),
		chromedp.WaitVisible(chromedp.CSS(`form.token input`)),
		chromedp.SendKeys(chromedp.CSS(`form.token input`), tok),
		chromedp.Click(chromedp.CSS(`form.token button`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="vms"] #vms-table tbody tr`)))
	if count := p.text(`.pager .count`); count != "1–100 of 200" {
		t.Errorf("count %q", count)
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
		// A node's state bar alone is 7x38 pixels before the picture is
		// scaled to the page width.
		if counts[w] < 60 {
			t.Errorf("%s: %d pixels of the %s colour #%02x%02x%02x, want at least 60", name, counts[w], state, w[0], w[1], w[2])
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
