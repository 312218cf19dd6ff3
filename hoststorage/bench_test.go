package hoststorage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// sdName is the kernel's name for the i-th SCSI disk: sda..sdz, sdaa...
func sdName(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('a'+(i-1)%26)) + s
	}
	return "sd" + s
}

// genDesc describes a SAN-attached host: luns NetApp LUNs, each seen
// through paths iSCSI sessions, each under a dm-multipath map, plus the
// mountinfo of a small host.
func genDesc(luns, paths int) string {
	var b strings.Builder
	for s := 0; s < paths; s++ {
		fmt.Fprintf(&b, "iscsi session%d host=%d target=iqn.1992-08.com.netapp:sn.84165b2e initiator=iqn.1993-08.org.debian:01:kvm1 portal=10.0.%d.10 port=3260 state=LOGGED_IN\n", s+1, s+3, s+1)
	}
	disk := 0
	for l := 0; l < luns; l++ {
		serial := fmt.Sprintf("80Jz%08d", l)
		naa := fmt.Sprintf("600a0980%x", serial)
		var slaves []string
		for p := 0; p < paths; p++ {
			name := sdName(disk)
			slaves = append(slaves, name)
			fmt.Fprintf(&b, "scsi %s hctl=%d:0:0:%d devno=%d:%d size=209715200 transport=iscsi session=session%d vendor=NETAPP model=\"LUN C-Mode\" rev=9800 state=running access=active/optimized ioerr=0x0 wwid=naa.%s vpd80=%s vpd83=\"00 83 00 30  02 00 00 18 'NETAPP  LUN %s' 01 03 00 10 %s\"\n",
				name, p+3, l, 8+disk/4096, (disk%4096)*16, p+1, naa, serial, serial, naa)
			disk++
		}
		fmt.Fprintf(&b, "dm dm-%d devno=253:%d size=209715200 dmname=mpath%d uuid=mpath-3%s slaves=%s\n", l, l, l, naa, strings.Join(slaves, ","))
	}
	b.WriteString("mountinfo 21 1 253:0 / / rw,relatime shared:1 - ext4 /dev/mapper/mpath0 rw\n")
	b.WriteString("mountinfo 22 21 0:20 / /proc rw,nosuid shared:2 - proc proc rw\n")
	b.WriteString("mountinfo 23 21 0:21 / /sys rw,nosuid shared:3 - sysfs sysfs rw\n")
	return b.String()
}

func TestGenDesc(t *testing.T) {
	for i, want := range map[int]string{0: "sda", 25: "sdz", 26: "sdaa", 701: "sdzz", 702: "sdaaa"} {
		if got := sdName(i); got != want {
			t.Errorf("sdName(%d) = %s, want %s", i, got, want)
		}
	}
	root := buildTreeText(t, genDesc(3, 4))
	inv, err := fixtureFS(t, root, false).Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.LUNs) != 3 || len(inv.Errors) != 0 {
		t.Fatalf("%d LUNs, errors %v: want 3 LUNs and no errors", len(inv.LUNs), inv.Errors)
	}
	for _, l := range inv.LUNs {
		if len(l.Paths) != 4 || l.IDSource != "vpd83" {
			t.Errorf("LUN %s: %d paths from %s, want 4 from vpd83", l.ID, len(l.Paths), l.IDSource)
		}
	}
}

// TestWriteBenchTree writes the generated tree for timing against lsblk
// (docs/benchmarks-hoststorage.md):
//
//	VMSTOR_BENCH_TREE=/tmp/tree [VMSTOR_BENCH_LUNS=1000] go test -run TestWriteBenchTree ./hoststorage
func TestWriteBenchTree(t *testing.T) {
	dir := os.Getenv("VMSTOR_BENCH_TREE")
	if dir == "" {
		t.Skip("set VMSTOR_BENCH_TREE=DIR to write the 1,000 LUN x 4 path tree there")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	luns := 1000
	if n, err := strconv.Atoi(os.Getenv("VMSTOR_BENCH_LUNS")); err == nil {
		luns = n
	}
	if err := newTree(dir).apply(genDesc(luns, 4)); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkScanGenerated(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("luns=%d/paths=4", n), func(b *testing.B) {
			root := b.TempDir()
			if err := newTree(root).apply(genDesc(n, 4)); err != nil {
				b.Fatal(err)
			}
			fs, err := New(Options{SysRoot: filepath.Join(root, "sys"), ProcRoot: filepath.Join(root, "proc"), DevRoot: filepath.Join(root, "dev"), Hostname: "kvm1"})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				inv, err := fs.Scan(context.Background())
				if err != nil || len(inv.LUNs) != n {
					b.Fatalf("scan: %v, %d LUNs", err, len(inv.LUNs))
				}
			}
		})
	}
}

func BenchmarkScanHost(b *testing.B) {
	fs, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := fs.Scan(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
