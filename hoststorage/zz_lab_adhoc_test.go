package hoststorage

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/vmstor/vmstor/lab"
)

func TestZZLabAdhoc(t *testing.T) {
	ctx := context.Background()
	k, err := lab.Prepare(ctx, "../lab", lab.DefaultCache)
	if err != nil {
		t.Fatal(err)
	}
	bin, _ := os.ReadFile("/tmp/hostscan-static")
	script := []byte(`
section hostscan /bin/hostscan -query=true
section inq sh -c "/bin/hostscan -inquiry /dev/sdb; /bin/hostscan -inquiry /dev/sda; od -An -tx1 /sys/block/sdb/device/vpd_pg83; od -An -tx1 /sys/block/sda/device/vpd_pg80; cat /sys/block/sdb/device/inquiry | od -An -tx1 | head -3"
`)
	ov, err := lab.Overlay([]lab.File{{Path: "/bin/hostscan", Mode: 0o755, Data: bin}, {Path: "/lab/adhoc.sh", Mode: 0o755, Data: script}})
	if err != nil {
		t.Fatal(err)
	}
	m := &lab.Machine{Kernel: k, Overlay: ov, Scenario: "adhoc", Controllers: 2, MemoryMB: 1024, Timeout: 6 * time.Minute, Dir: "/tmp/hslab",
		LUNs: []lab.LUN{
			{Name: "na", Vendor: "NETAPP", Product: "LUN C-Mode", Serial: "80Jz1?Vy7W4a", WWN: 0x600a098038303053, NullSize: 64 << 20, Paths: []int{0, 1}, Target: 0, Lun: 1},
			{Name: "acme", Vendor: "ACME", Product: "NoNAA", Serial: "ACME0001", NullSize: 32 << 20, Paths: []int{0}, Target: 1, Lun: 0},
		}}
	res, err := m.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range res.Order {
		s := res.Sections[n]
		os.WriteFile("/tmp/hslab/"+n+".out", []byte(s.Stdout+"\n--stderr--\n"+s.Stderr), 0o644)
		t.Logf("%s rc=%d ms=%d", n, s.RC, s.MS)
	}
}
