// Package lab boots Debian's kernel under QEMU with emulated array LUNs,
// device-mapper maps, LVM and an in-guest iSCSI target, runs vmstor inside the
// guest and hands its output back to the tests.
//
// The kernel and the base initramfs (busybox, modules, dmsetup, lvm, open-iscsi,
// lsblk) come from lab/build.sh and are cached; each run appends a second cpio
// archive with the freshly built vmstor and the scenario scripts. See
// docs/lab.md.
package lab

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefaultCache is where build.sh keeps kernels and base archives.
const DefaultCache = "/var/cache/vmstor-lab"

// Kernel is a prepared lab kernel with its base initramfs.
type Kernel struct {
	Dir     string // cache directory of this kernel version
	Version string // e.g. 6.1.0-56-amd64
	Vmlinuz string
	Base    string // base-<stamp>.cpio.gz
}

// Prepare runs lab/build.sh (a no-op when its cache is current) and returns
// the kernel it prepared.
func Prepare(ctx context.Context, labDir, cache string) (*Kernel, error) {
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(labDir, "build.sh"), cache)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("lab/build.sh %s: %w: %s", cache, err, strings.TrimSpace(stderr.String()))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	dir := lines[len(lines)-1]
	bases, _ := filepath.Glob(filepath.Join(dir, "base-*.cpio.gz"))
	if len(bases) != 1 {
		return nil, fmt.Errorf("lab/build.sh: want one base archive in %s, found %d", dir, len(bases))
	}
	return &Kernel{Dir: dir, Version: filepath.Base(dir), Vmlinuz: filepath.Join(dir, "vmlinuz"), Base: bases[0]}, nil
}

// File is one file of the per-run overlay archive.
type File struct {
	Path string // inside the guest, e.g. /bin/vmstor
	Mode uint32 // permission bits
	Data []byte
}

// Overlay returns a gzip-compressed newc cpio archive holding files. The
// kernel unpacks it over the base archive (initramfs archives concatenate).
func Overlay(files []File) ([]byte, error) {
	var raw bytes.Buffer
	ino := uint32(1000)
	hdr := func(name string, mode uint32, size int) {
		ino++
		fmt.Fprintf(&raw, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			ino, mode, 0, 0, 1, 0, size, 0, 0, 0, 0, len(name)+1, 0)
		raw.WriteString(name)
		raw.WriteByte(0)
		pad4(&raw)
	}
	for _, f := range files {
		name := strings.TrimPrefix(f.Path, "/")
		hdr(name, 0o100000|f.Mode, len(f.Data))
		raw.Write(f.Data)
		pad4(&raw)
	}
	hdr("TRAILER!!!", 0, 0)
	var gz bytes.Buffer
	w, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	if _, err := w.Write(raw.Bytes()); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return gz.Bytes(), nil
}

func pad4(b *bytes.Buffer) {
	for b.Len()%4 != 0 {
		b.WriteByte(0)
	}
}

// LUN is one emulated array LUN and the paths QEMU gives the guest to it.
type LUN struct {
	Name    string // node name, unique per machine
	Vendor  string // INQUIRY vendor (8 chars max)
	Product string // INQUIRY product (16 chars max)
	Serial  string // VPD 0x80
	WWN     uint64 // NAA in VPD 0x83; 0 for a LUN with no NAA designator
	// Image is a raw image file; empty means a null-co device of NullSize
	// bytes that reads zeroes (no disk space, for the scale lab).
	Image    string
	NullSize int64
	// Paths are the virtio-scsi controllers (0-based) that each carry one
	// path to this LUN, at SCSI target Target, LUN Lun.
	Paths  []int
	Target int
	Lun    int
}

// qemuEscape doubles commas, QEMU's option-value escape.
func qemuEscape(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// Args returns the QEMU arguments for the LUN and all its paths. Every path
// has the same vendor, product, serial and wwn over the same image, with
// share-rw=on and file locking off so QEMU lets several devices open it.
func (l LUN) Args() []string {
	var a []string
	dev := func(i, ctrl int, drive string) string {
		s := fmt.Sprintf("scsi-hd,bus=scsi%d.0,channel=0,scsi-id=%d,lun=%d,drive=%s,id=%s-p%d,share-rw=on", ctrl, l.Target, l.Lun, drive, l.Name, i)
		if l.Vendor != "" {
			s += ",vendor=" + qemuEscape(l.Vendor)
		}
		if l.Product != "" {
			s += ",product=" + qemuEscape(l.Product)
		}
		if l.Serial != "" {
			s += ",serial=" + qemuEscape(l.Serial)
		}
		if l.WWN != 0 {
			s += fmt.Sprintf(",wwn=0x%016x", l.WWN)
		}
		return s
	}
	if l.Image == "" {
		node := l.Name
		a = append(a, "-blockdev", fmt.Sprintf("driver=null-co,node-name=%s,size=%d,read-zeroes=on", node, l.NullSize))
		for i, c := range l.Paths {
			a = append(a, "-device", dev(i, c, node))
		}
		return a
	}
	for i, c := range l.Paths {
		drive := fmt.Sprintf("%s-d%d", l.Name, i)
		a = append(a, "-drive", fmt.Sprintf("if=none,id=%s,file=%s,format=raw,file.locking=off,cache=unsafe", drive, qemuEscape(l.Image)))
		a = append(a, "-device", dev(i, c, drive))
	}
	return a
}

// Machine is one guest boot.
type Machine struct {
	Kernel      *Kernel
	Overlay     []byte
	Scenario    string // /lab/<Scenario>.sh runs in the guest
	Controllers int    // virtio-scsi-pci controllers (HBAs)
	LUNs        []LUN
	MemoryMB    int
	Timeout     time.Duration // hard limit: QEMU is killed after it
	Dir         string        // work directory for the initrd and logs
	Append      string        // extra kernel command line
}

// Paths returns the number of SCSI devices (paths) the guest should see.
func (m *Machine) Paths() int {
	n := 0
	for _, l := range m.LUNs {
		n += len(l.Paths)
	}
	return n
}

// Args returns the full QEMU command line.
func (m *Machine) Args(initrd, console, out string) []string {
	mem := m.MemoryMB
	if mem == 0 {
		mem = 1024
	}
	a := []string{
		"-machine", "q35,accel=tcg", "-cpu", "max", "-smp", "1", "-m", strconv.Itoa(mem),
		"-display", "none", "-monitor", "none", "-no-reboot", "-nodefaults",
		"-serial", "file:" + console, "-serial", "file:" + out,
		"-kernel", m.Kernel.Vmlinuz, "-initrd", initrd,
		"-append", fmt.Sprintf("console=ttyS0 panic=-1 quiet loglevel=4 scsi_mod.scan=sync lab.scenario=%s lab.disks=%d %s", m.Scenario, m.Paths(), m.Append),
	}
	for i := 0; i < m.Controllers; i++ {
		a = append(a, "-device", fmt.Sprintf("virtio-scsi-pci,id=scsi%d", i))
	}
	for _, l := range m.LUNs {
		a = append(a, l.Args()...)
	}
	return a
}

// Run boots the machine, waits for it to power off (or kills it at
// Timeout) and parses what the scenario reported.
func (m *Machine) Run(ctx context.Context) (*Result, error) {
	initrd := filepath.Join(m.Dir, "initrd")
	console := filepath.Join(m.Dir, "console.log")
	out := filepath.Join(m.Dir, "out.log")
	if err := writeInitrd(initrd, m.Kernel.Base, m.Overlay); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, m.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64", m.Args(initrd, console, out)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	runErr := cmd.Run()
	elapsed := time.Since(start)
	res := &Result{Elapsed: elapsed}
	if b, err := os.ReadFile(console); err == nil {
		res.Console = string(b)
	}
	f, err := os.Open(out)
	if err != nil {
		return res, fmt.Errorf("qemu: no output from the guest (%v): %w: %s", runErr, err, stderr.String())
	}
	defer f.Close()
	if err := res.parse(f); err != nil {
		return res, err
	}
	switch {
	case ctx.Err() != nil:
		return res, fmt.Errorf("qemu killed after %s (hard timeout): the guest hung; last console lines:\n%s", m.Timeout, tail(res.Console, 15))
	case runErr != nil:
		return res, fmt.Errorf("qemu: %w: %s", runErr, stderr.String())
	case !res.Done:
		return res, fmt.Errorf("guest powered off without ==LAB DONE==; last console lines:\n%s", tail(res.Console, 15))
	}
	return res, nil
}

// writeInitrd concatenates the base archive and the overlay. The kernel
// reads the next archive only at a 4-byte aligned offset, so the base is
// padded with zeroes (which it skips).
func writeInitrd(path, base string, overlay []byte) error {
	b, err := os.ReadFile(base)
	if err != nil {
		return fmt.Errorf("initrd: %w", err)
	}
	for len(b)%512 != 0 {
		b = append(b, 0)
	}
	return os.WriteFile(path, append(b, overlay...), 0o644)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Section is one framed command run in the guest.
type Section struct {
	Name   string
	Stdout string
	Stderr string
	RC     int
	MS     int // wall time in the guest, 10 ms resolution
}

// Result is what one boot reported.
type Result struct {
	Sections map[string]*Section
	Order    []string
	Notes    []string
	Done     bool
	Console  string
	Elapsed  time.Duration
}

// Note returns the value of the first note "key ..." (the text after key).
func (r *Result) Note(key string) (string, bool) {
	for _, n := range r.Notes {
		if rest, ok := strings.CutPrefix(n, key+" "); ok {
			return rest, true
		}
	}
	return "", false
}

var endRE = regexp.MustCompile(`^==LAB END (\S+) rc=(-?\d+) ms=(-?\d+)==$`)

// Parse reads the guest's framed output (see lab/assets/init).
func Parse(r io.Reader) (*Result, error) {
	res := &Result{}
	return res, res.parse(r)
}

func (res *Result) parse(r io.Reader) error {
	res.Sections = map[string]*Section{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var cur *Section
	var buf strings.Builder
	inErr := false
	flush := func() string {
		s := strings.TrimSuffix(buf.String(), "\n") // the frame adds one newline
		buf.Reset()
		return s
	}
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		switch {
		case strings.HasPrefix(line, "==LAB BEGIN ") && strings.HasSuffix(line, "=="):
			cur = &Section{Name: strings.TrimSuffix(strings.TrimPrefix(line, "==LAB BEGIN "), "==")}
			buf.Reset()
			inErr = false
		case cur != nil && line == "==LAB STDERR "+cur.Name+"==":
			cur.Stdout = flush()
			inErr = true
		case cur != nil && endRE.MatchString(line):
			m := endRE.FindStringSubmatch(line)
			if m[1] != cur.Name {
				return fmt.Errorf("guest output: END %s inside section %s", m[1], cur.Name)
			}
			if inErr {
				cur.Stderr = flush()
			} else {
				cur.Stdout = flush()
			}
			cur.RC, _ = strconv.Atoi(m[2])
			cur.MS, _ = strconv.Atoi(m[3])
			if _, dup := res.Sections[cur.Name]; !dup {
				res.Order = append(res.Order, cur.Name)
			}
			res.Sections[cur.Name] = cur
			cur = nil
		case cur == nil && strings.HasPrefix(line, "==LAB NOTE ") && strings.HasSuffix(line, "=="):
			res.Notes = append(res.Notes, strings.TrimSuffix(strings.TrimPrefix(line, "==LAB NOTE "), "=="))
		case cur == nil && line == "==LAB DONE==":
			res.Done = true
		case cur != nil:
			buf.WriteString(line)
			buf.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("guest output: %w", err)
	}
	if cur != nil {
		return fmt.Errorf("guest output: section %s never ended (the guest stopped inside it)", cur.Name)
	}
	return nil
}

// Get returns a section or an error naming the sections that exist.
func (res *Result) Get(name string) (*Section, error) {
	if s, ok := res.Sections[name]; ok {
		return s, nil
	}
	names := append([]string(nil), res.Order...)
	sort.Strings(names)
	return nil, errors.New("guest did not report section " + name + " (have: " + strings.Join(names, ", ") + ")")
}
