package lab

import (
	"bytes"
	"compress/gzip"
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// These tests need no QEMU: they cover the harness's own parsing and
// packing, so a lab failure is never the harness misreading the guest.

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    *Result
		wantErr string
	}{
		{
			name: "sections, notes, CRLF from the tty",
			in: "==LAB NOTE boot disks=2 uptime_ms=4230==\r\n" +
				"==LAB BEGIN storage==\r\n{\"luns\":[]}\r\n\r\n==LAB STDERR storage==\r\nwarn\r\n\r\n==LAB END storage rc=3 ms=170==\r\n" +
				"==LAB BEGIN empty==\n\n==LAB STDERR empty==\n\n==LAB END empty rc=0 ms=0==\n" +
				"==LAB DONE==\n",
			want: &Result{
				Sections: map[string]*Section{
					"storage": {Name: "storage", Stdout: "{\"luns\":[]}\n", Stderr: "warn\n", RC: 3, MS: 170},
					"empty":   {Name: "empty", RC: 0},
				},
				Order: []string{"storage", "empty"},
				Notes: []string{"boot disks=2 uptime_ms=4230"},
				Done:  true,
			},
		},
		{
			name: "output without trailing newline keeps its last line",
			in:   "==LAB BEGIN x==\nline1\nline2\n==LAB STDERR x==\n\n==LAB END x rc=1 ms=10==\n",
			want: &Result{Sections: map[string]*Section{"x": {Name: "x", Stdout: "line1\nline2", RC: 1, MS: 10}}, Order: []string{"x"}},
		},
		{
			name: "a marker-like line inside output is output",
			in:   "==LAB BEGIN x==\n==LAB NOTE not a note==\n==LAB DONE==\n\n==LAB STDERR x==\n\n==LAB END x rc=0 ms=1==\n",
			want: &Result{Sections: map[string]*Section{"x": {Name: "x", Stdout: "==LAB NOTE not a note==\n==LAB DONE==\n", RC: 0, MS: 1}}, Order: []string{"x"}},
		},
		{
			name:    "guest stopped inside a section",
			in:      "==LAB BEGIN storage==\n{\"lu",
			wantErr: "section storage never ended",
		},
		{
			name:    "mismatched end",
			in:      "==LAB BEGIN a==\n\n==LAB STDERR a==\n\n==LAB END b rc=0 ms=1==\n",
			wantErr: "END b inside section a",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("==LAB BEGIN a==\nx\n==LAB STDERR a==\n\n==LAB END a rc=0 ms=1==\n==LAB DONE==\n")
	f.Add("==LAB NOTE k v==\n==LAB BEGIN a==\n")
	f.Add("==LAB END a rc=-1 ms=99999999999999999999==\n")
	f.Fuzz(func(t *testing.T, in string) {
		res, err := Parse(strings.NewReader(in))
		if err != nil {
			return
		}
		if len(res.Order) != len(res.Sections) {
			t.Fatalf("order %v vs %d sections", res.Order, len(res.Sections))
		}
		for _, n := range res.Order {
			if res.Sections[n] == nil || res.Sections[n].Name != n {
				t.Fatalf("section %q inconsistent", n)
			}
		}
	})
}

// readNewc decodes a newc archive: name -> (mode, data).
func readNewc(t *testing.T, b []byte) map[string][2]string {
	t.Helper()
	out := map[string][2]string{}
	for off := 0; ; {
		if off+110 > len(b) || string(b[off:off+6]) != "070701" {
			t.Fatalf("bad newc header at %d", off)
		}
		field := func(i int) int {
			v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				t.Fatal(err)
			}
			return int(v)
		}
		mode, size, nameLen := field(1), field(6), field(11)
		name := string(b[off+110 : off+110+nameLen-1])
		off = (off + 110 + nameLen + 3) &^ 3
		data := string(b[off : off+size])
		off = (off + size + 3) &^ 3
		if name == "TRAILER!!!" {
			return out
		}
		out[name] = [2]string{strconv.FormatInt(int64(mode), 8), data}
	}
}

func TestOverlay(t *testing.T) {
	gz, err := Overlay([]File{{Path: "/bin/vmstor", Mode: 0o755, Data: []byte("ELF...")}, {Path: "/lab/main.sh", Mode: 0o644, Data: []byte("echo hi\n")}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{"bin/vmstor": {"100755", "ELF..."}, "lab/main.sh": {"100644", "echo hi\n"}}
	if diff := cmp.Diff(want, readNewc(t, raw)); diff != "" {
		t.Errorf("overlay archive (-want +got):\n%s", diff)
	}
}

func TestLUNArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		lun  LUN
		want []string
	}{
		{
			name: "two paths over one image",
			lun:  LUN{Name: "na", Vendor: "NETAPP", Product: "LUN C-Mode", Serial: "a,b", WWN: 0x600a098038303053, Image: "/t/x.img", Paths: []int{0, 1}, Target: 2, Lun: 3},
			want: []string{
				"-drive", "if=none,id=na-d0,file=/t/x.img,format=raw,file.locking=off,cache=unsafe",
				"-device", "scsi-hd,bus=scsi0.0,channel=0,scsi-id=2,lun=3,drive=na-d0,id=na-p0,share-rw=on,vendor=NETAPP,product=LUN C-Mode,serial=a,,b,wwn=0x600a098038303053",
				"-drive", "if=none,id=na-d1,file=/t/x.img,format=raw,file.locking=off,cache=unsafe",
				"-device", "scsi-hd,bus=scsi1.0,channel=0,scsi-id=2,lun=3,drive=na-d1,id=na-p1,share-rw=on,vendor=NETAPP,product=LUN C-Mode,serial=a,,b,wwn=0x600a098038303053",
			},
		},
		{
			name: "null backend shared by paths, no wwn",
			lun:  LUN{Name: "z", Vendor: "ACME", NullSize: 1 << 20, Paths: []int{3}},
			want: []string{
				"-blockdev", "driver=null-co,node-name=z,size=1048576,read-zeroes=on",
				"-device", "scsi-hd,bus=scsi3.0,channel=0,scsi-id=0,lun=0,drive=z,id=z-p0,share-rw=on,vendor=ACME",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.lun.Args()); diff != "" {
				t.Errorf("Args (-want +got):\n%s", diff)
			}
		})
	}
}
