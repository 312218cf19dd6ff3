package hyperv

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmstor/vmstor/model"
)

func readFixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseVHDSettingData(t *testing.T) {
	tests := []struct {
		file string
		want VHDInfo
	}{
		{"vhdsd-avhdx.xml", VHDInfo{Path: `C:\ClusterStorage\Volume1\web1\data_C3D4E5F6.avhdx`, ParentPath: `C:\ClusterStorage\Volume1\web1\data.vhdx`,
			MaxInternalSize: 136365211648, Format: 3, Type: 4}},
		{"vhdsd-base.xml", VHDInfo{Path: `C:\ClusterStorage\Volume1\web1\data.vhdx`, MaxInternalSize: 136365211648, Format: 3, Type: 3}},
	}
	for _, tc := range tests {
		got, err := ParseVHDSettingData(readFixture(t, tc.file))
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.file, diff)
		}
	}
	for in, wantErr := range map[string]string{
		"": "not CIM-XML",
		"<INSTANCE CLASSNAME=\"Msvm_ComputerSystem\"></INSTANCE>":                                                                                      "not Msvm_VirtualHardDiskSettingData",
		`<INSTANCE CLASSNAME="Msvm_VirtualHardDiskSettingData"><PROPERTY NAME="MaxInternalSize" TYPE="uint64"><VALUE>-1</VALUE></PROPERTY></INSTANCE>`: `MaxInternalSize = "-1"`,
		`<INSTANCE CLASSNAME="Msvm_VirtualHardDiskSettingData"><PROPERTY NAME="Type" TYPE="uint16"><VALUE>70000</VALUE></PROPERTY></INSTANCE>`:         "Type",
	} {
		if _, err := ParseVHDSettingData(in); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("ParseVHDSettingData(%q) error = %v, want %q", in, err, wantErr)
		}
	}
}

func TestApplyChain(t *testing.T) {
	avhdx, base := readFixture(t, "vhdsd-avhdx.xml"), readFixture(t, "vhdsd-base.xml")
	// The same lookup the Windows code does, over fixtures keyed by path.
	lookup := func(m map[string]string) func(string) (VHDInfo, error) {
		return func(p string) (VHDInfo, error) {
			s, ok := m[p]
			if !ok {
				return VHDInfo{}, errors.New("GetVirtualHardDiskSettingData returned 32775") // invalid state: file missing
			}
			return ParseVHDSettingData(s)
		}
	}
	d := model.Disk{Source: `C:\ClusterStorage\Volume1\web1\data_C3D4E5F6.avhdx`}
	err := applyChain(&d, lookup(map[string]string{
		`C:\ClusterStorage\Volume1\web1\data_C3D4E5F6.avhdx`: avhdx,
		`C:\ClusterStorage\Volume1\web1\data.vhdx`:           base,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if d.CapacityBytes != 136365211648 || !cmp.Equal(d.Backing, []string{`C:\ClusterStorage\Volume1\web1\data.vhdx`}) {
		t.Errorf("disk = %+v", d)
	}

	// A missing parent: the chain so far is kept, the error names the parent.
	d = model.Disk{Source: `C:\ClusterStorage\Volume1\web1\data_C3D4E5F6.avhdx`}
	err = applyChain(&d, lookup(map[string]string{`C:\ClusterStorage\Volume1\web1\data_C3D4E5F6.avhdx`: avhdx}))
	if err == nil || !strings.Contains(err.Error(), `parent C:\ClusterStorage\Volume1\web1\data.vhdx`) || len(d.Backing) != 1 {
		t.Errorf("missing parent: %+v, %v", d, err)
	}

	// A chain that loops (a corrupt parent path) ends with an error.
	loop := strings.Replace(base, `<PROPERTY NAME="ParentPath" TYPE="string"></PROPERTY>`,
		`<PROPERTY NAME="ParentPath" TYPE="string"><VALUE>C:\ClusterStorage\Volume1\web1\DATA_C3D4E5F6.avhdx</VALUE></PROPERTY>`, 1)
	d = model.Disk{Source: `C:\ClusterStorage\Volume1\web1\data_C3D4E5F6.avhdx`}
	err = applyChain(&d, lookup(map[string]string{
		`C:\ClusterStorage\Volume1\web1\data_C3D4E5F6.avhdx`: avhdx,
		`C:\ClusterStorage\Volume1\web1\data.vhdx`:           loop,
	}))
	if err == nil || !strings.Contains(err.Error(), "loops") {
		t.Errorf("loop: %+v, %v", d, err)
	}
}

func FuzzParseVHDSettingData(f *testing.F) {
	f.Add(readFixture(f, "vhdsd-avhdx.xml"))
	f.Add(readFixture(f, "vhdsd-base.xml"))
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVHDSettingData(s)
		if err == nil && len(v.Path)+len(v.ParentPath) > len(s) {
			t.Fatalf("paths longer than the input: %+v", v)
		}
	})
}
