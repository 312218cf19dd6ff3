package array

import (
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmstor/vmstor/model"
)

func TestIdentify(t *testing.T) {
	tests := []struct {
		name string
		in   model.LUN
		want model.LUN
	}{
		{
			name: "ontap scsi serial in naa",
			in:   model.LUN{ID: "naa.600a098038303845372b4a5232346e35", Vendor: "NETAPP  ", Product: "LUN C-Mode      "},
			want: model.LUN{
				Array: &model.Array{Vendor: "NetApp", Family: "ONTAP", LUNSerial: "808E7+JR24n5"},
				FactSources: map[string]string{
					FactVendor: SourceID, FactFamily: SourceID, FactLUNSerial: SourceID,
				},
			},
		},
		{
			name: "ontap 7-mode",
			in:   model.LUN{ID: "naa.60a98000486e2f65686f6e4c4f696e5a"},
			want: model.LUN{
				Array:       &model.Array{Vendor: "NetApp", Family: "ONTAP 7-Mode", LUNSerial: "Hn/ehonLOinZ"},
				FactSources: map[string]string{FactVendor: SourceID, FactFamily: SourceID, FactLUNSerial: SourceID},
			},
		},
		{
			name: "multipath wwid form",
			in:   model.LUN{ID: "3600a098038303845372b4a5232346e35"},
			want: model.LUN{
				Array:       &model.Array{Vendor: "NetApp", Family: "ONTAP", LUNSerial: "808E7+JR24n5"},
				FactSources: map[string]string{FactVendor: SourceID, FactFamily: SourceID, FactLUNSerial: SourceID},
			},
		},
		{
			// QEMU's 64-bit wwn: vendor from the OUI, serial from VPD 0x80.
			name: "ontap 8-byte naa from qemu uses the unit serial",
			in:   model.LUN{ID: "naa.600a098038303053", Vendor: "NETAPP", Product: "LUN C-Mode", Serial: "80Jz1?Vy7W4a"},
			want: model.LUN{
				Array:       &model.Array{Vendor: "NetApp", Family: "ONTAP", LUNSerial: "80Jz1?Vy7W4a"},
				FactSources: map[string]string{FactVendor: SourceID, FactFamily: SourceID, FactLUNSerial: SourceInquiry},
			},
		},
		{
			name: "pure scsi",
			in:   model.LUN{ID: "naa.624a9370f4252922ade248cf000113e6", Vendor: "PURE", Product: "FlashArray"},
			want: model.LUN{
				Array: &model.Array{Vendor: "Pure Storage", Family: "FlashArray", LUNSerial: "F4252922ADE248CF000113E6", SystemID: "pure:F4252922ADE248CF"},
				FactSources: map[string]string{
					FactVendor: SourceID, FactFamily: SourceID, FactLUNSerial: SourceID, FactSystemID: SourceID,
				},
			},
		},
		{
			name: "pure nvme nguid",
			in:   model.LUN{ID: "eui.00f4252922ade24824a937cf000113e6", Protocol: "nvme", Product: "Pure Storage FlashArray"},
			want: model.LUN{
				Array: &model.Array{Vendor: "Pure Storage", Family: "FlashArray", LUNSerial: "F4252922ADE248CF000113E6", SystemID: "pure:F4252922ADE248CF"},
				FactSources: map[string]string{
					FactVendor: SourceID, FactFamily: SourceID, FactLUNSerial: SourceID, FactSystemID: SourceID,
				},
			},
		},
		{
			name: "powermax symmetrix serial",
			in:   model.LUN{ID: "naa.60000970000196800123533030334133", Vendor: "EMC", Product: "SYMMETRIX"},
			want: model.LUN{
				Array: &model.Array{Vendor: "Dell EMC", Family: "PowerMax/VMAX", LUNSerial: "S003A3", SystemID: "symmetrix:000196800123"},
				FactSources: map[string]string{
					FactVendor: SourceID, FactFamily: SourceID, FactLUNSerial: SourceID, FactSystemID: SourceID,
				},
			},
		},
		{name: "e-series", in: model.LUN{ID: "naa.60080e50001f6d0c000014ad5d2d1e4f"}, want: vendorOnly("NetApp", "E-Series")},
		{name: "unity", in: model.LUN{ID: "naa.6006016015301d00a2e2b05d8c39e811"}, want: vendorOnly("Dell EMC", "Unity/VNX")},
		{name: "powerstore", in: model.LUN{ID: "naa.68ccf09800a8c2b4e5e8d7f0c2a4b1d3"}, want: vendorOnly("Dell EMC", "PowerStore")},
		{name: "3par", in: model.LUN{ID: "naa.60002ac0000000000000000a00019b2f"}, want: vendorOnly("HPE", "3PAR/Primera")},
		{name: "ibm", in: model.LUN{ID: "naa.600507680c8082c2d000000000000a3b"}, want: vendorOnly("IBM", "")},
		{name: "hitachi", in: model.LUN{ID: "naa.60060e8007c3a9000030c3a900001234"}, want: vendorOnly("Hitachi", "")},
		{name: "infinidat", in: model.LUN{ID: "naa.6742b0f000004e2b0000000000012d4f"}, want: vendorOnly("Infinidat", "InfiniBox")},
		{name: "unknown oui, no transport", in: model.LUN{ID: "naa.6001405abcdef0123456789abcdef012", Vendor: "LIO-ORG"}, want: model.LUN{}},
		{
			name: "vendor strings only",
			in:   model.LUN{ID: "t10.NETAPP_LUN_C-Mode_80Jz1?Vy7W4a", Vendor: "NETAPP", Product: "LUN C-Mode", Serial: "80Jz1?Vy7W4a"},
			want: model.LUN{
				Array:       &model.Array{Vendor: "NetApp", Family: "ONTAP", LUNSerial: "80Jz1?Vy7W4a"},
				FactSources: map[string]string{FactVendor: SourceInquiry, FactFamily: SourceInquiry, FactLUNSerial: SourceInquiry},
			},
		},
		{
			name: "nvme ontap model string",
			in:   model.LUN{ID: "eui.3be1e4b47fba4a3d00a09800006b5b31", Protocol: "nvme", Product: "NetApp ONTAP Controller"},
			want: model.LUN{
				Array:       &model.Array{Vendor: "NetApp", Family: "ONTAP"},
				FactSources: map[string]string{FactVendor: SourceID, FactFamily: SourceID},
			},
		},
		{
			name: "iscsi transport names the system",
			in: model.LUN{ID: "naa.600a098038303845372b4a5232346e35", Paths: []model.Path{
				{Device: "sdc", Transport: "iscsi", Target: "iqn.1992-08.com.netapp:sn.4d2ab1c2:vs.3", Address: "192.0.2.11:3260"},
				{Device: "sdd", Transport: "iscsi", Target: "iqn.1992-08.com.netapp:sn.4d2ab1c2:vs.3", Address: "192.0.2.10:3260"},
				{Device: "sde", Transport: "iscsi", Target: "iqn.1992-08.com.netapp:sn.4d2ab1c2:vs.3", Address: "[2001:db8::1]:3260"},
			}},
			want: model.LUN{
				Array: &model.Array{Vendor: "NetApp", Family: "ONTAP", LUNSerial: "808E7+JR24n5",
					SystemID: "iqn.1992-08.com.netapp:sn.4d2ab1c2:vs.3", Addresses: []string{"192.0.2.10", "192.0.2.11", "2001:db8::1"}},
				FactSources: map[string]string{
					FactVendor: SourceID, FactFamily: SourceID, FactLUNSerial: SourceID,
					FactSystemID: SourceTransport, FactAddresses: SourceTransport,
				},
			},
		},
		{
			name: "fc target wwnn, LIO vendor",
			in: model.LUN{ID: "naa.6001405abcdef0123456789abcdef012", Vendor: "LIO-ORG ", Paths: []model.Path{
				{Device: "sdc", Transport: "fc", Target: "0x500a09819a5b6c7d", Address: "0x500A09809A5B6C7D"},
			}},
			want: model.LUN{
				Array:       &model.Array{Vendor: "LIO-ORG", SystemID: "fc:0x500a09809a5b6c7d"},
				FactSources: map[string]string{FactVendor: SourceInquiry, FactSystemID: SourceTransport},
			},
		},
		{
			name: "nvme-tcp subsystem and traddr",
			in: model.LUN{ID: "eui.3be1e4b47fba4a3d00a09800006b5b31", Protocol: "nvme", Paths: []model.Path{
				{Device: "nvme1n1", Transport: "nvme-tcp", Target: "nqn.1992-08.com.netapp:sn.0a1b:subsystem.ss1", Address: "traddr=192.0.2.20,trsvcid=4420,src_addr=192.0.2.1"},
			}},
			want: model.LUN{
				Array: &model.Array{Vendor: "NetApp", Family: "ONTAP",
					SystemID: "nqn.1992-08.com.netapp:sn.0a1b:subsystem.ss1", Addresses: []string{"192.0.2.20"}},
				FactSources: map[string]string{FactVendor: SourceID, FactFamily: SourceID, FactSystemID: SourceTransport, FactAddresses: SourceTransport},
			},
		},
		{
			name: "facts set by others are kept",
			in: model.LUN{ID: "naa.600a098038303845372b4a5232346e35", Volume: "from_vsphere",
				Array: &model.Array{Vendor: "NetApp", SystemName: "cluster1"}},
			want: model.LUN{
				Volume: "from_vsphere",
				Array:  &model.Array{Vendor: "NetApp", Family: "ONTAP", LUNSerial: "808E7+JR24n5", SystemName: "cluster1"},
				FactSources: map[string]string{
					FactFamily: SourceID, FactLUNSerial: SourceID,
				},
			},
		},
		{
			name: "api facts are not downgraded",
			in: model.LUN{ID: "naa.624a9370f4252922ade248cf000113e6",
				Array:       &model.Array{Vendor: "Pure Storage", SystemID: "pure-array-id-1", SystemName: "pure01"},
				FactSources: map[string]string{FactVendor: SourceAPI, FactSystemID: SourceAPI, FactSystemName: SourceAPI}},
			want: model.LUN{
				Array: &model.Array{Vendor: "Pure Storage", Family: "FlashArray", LUNSerial: "F4252922ADE248CF000113E6", SystemID: "pure-array-id-1", SystemName: "pure01"},
				FactSources: map[string]string{
					FactVendor: SourceAPI, FactSystemID: SourceAPI, FactSystemName: SourceAPI,
					FactFamily: SourceID, FactLUNSerial: SourceID,
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in
			Identify(&got)
			want := tt.want
			// Compare only what Identify may set.
			got2 := model.LUN{Array: got.Array, FactSources: got.FactSources, Volume: got.Volume, LUNPath: got.LUNPath, ArrayFacts: got.ArrayFacts}
			if diff := cmp.Diff(want, got2); diff != "" {
				t.Errorf("Identify(%s) (-want +got):\n%s", tt.in.ID, diff)
			}
			// Idempotent: a second pass changes nothing.
			again := got
			again.Array = cloneArray(got.Array)
			again.FactSources = cloneMap(got.FactSources)
			Identify(&again)
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("second Identify changed the LUN (-first +second):\n%s", diff)
			}
		})
	}
}

func vendorOnly(vendor, family string) model.LUN {
	l := model.LUN{Array: &model.Array{Vendor: vendor, Family: family}, FactSources: map[string]string{FactVendor: SourceID}}
	if family != "" {
		l.FactSources[FactFamily] = SourceID
	}
	return l
}

func cloneArray(a *model.Array) *model.Array {
	if a == nil {
		return nil
	}
	c := *a
	c.Addresses = append([]string(nil), a.Addresses...)
	return &c
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func TestVendorPages(t *testing.T) {
	tests := []struct {
		vendor, product string
		want            []uint8
	}{
		{"3PARdata", "VV", []uint8{0xc0}},
		{"DGC     ", "VRAID", []uint8{0xc0}},
		{"NETAPP  ", "INF-01-00       ", []uint8{0xc8}},
		{"LSI", "INF-01-00", []uint8{0xc8}},
		{"NETAPP  ", "LUN C-Mode", nil},
		{"PURE", "FlashArray", nil},
		{"SEAGATE", "ST4000NM0023", nil},
		{"", "", nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, VendorPages(tt.vendor, tt.product)); diff != "" {
			t.Errorf("VendorPages(%q, %q) (-want +got):\n%s", tt.vendor, tt.product, diff)
		}
	}
}

// Fixture builders write the fields at the offsets sg3_utils'
// sg_vpd_vendor.c reads them from; they share no code with the decoders.

func threePARFixture(rev byte, name, domain, ucpg, scpg string) []byte {
	b := make([]byte, 44)
	b[1] = 0xc0
	b[4] = rev
	b[5] = 0x01 | 0x04 // tpvv, reclaim supported
	binary.BigEndian.PutUint64(b[28:], 12345)
	binary.BigEndian.PutUint32(b[36:], 7)
	strs := []string{name, domain, ucpg, scpg}
	for i, s := range strs {
		z := append([]byte(s), 0) // NUL-terminated, length counts the NUL
		binary.BigEndian.PutUint32(b[len(b)-4:], uint32(len(z)))
		b = append(b, z...)
		if i < len(strs)-1 {
			b = append(b, 0, 0, 0, 0)
		}
	}
	b = append(b, 0, 0, 0, 0x0b) // the policy word after the last string
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)-4))
	return b
}

func emcFixture(serial string, ip [4]byte) []byte {
	b := make([]byte, 50+len(serial)+10)
	b[1] = 0xc0
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)-4))
	b[4] = 2    // bound and owned
	b[5] = 1    // default owner SP B
	b[6] = 0x60 // Access Logix, IPv4 management
	b[7] = 3    // port 3
	b[8] = 0    // SP A
	b[9] = 0    // page revision
	for i := range 16 {
		b[10+i] = byte(0x60 + i)
	}
	copy(b[44:48], ip[:])
	b[49] = byte(len(serial))
	copy(b[50:], serial)
	return b
}

func rdacFixture(volLabel, arrayLabel string) []byte {
	b := make([]byte, 0xff)
	b[1] = 0xc8
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)-4))
	copy(b[4:], "edid")
	b[11] = 16
	for i := range 16 {
		b[12+i] = byte(0xa0 + i)
	}
	putUTF16 := func(at int, s string) {
		b[at] = byte(len(s) + 1)
		for i, c := range []byte(s) {
			b[at+1+2*i] = 0
			b[at+1+2*i+1] = c
		}
	}
	putUTF16(28, volLabel)
	b[89] = 16
	for i := range 16 {
		b[90+i] = byte(0x10 + i)
	}
	putUTF16(106, arrayLabel)
	return b
}

func TestIdentifyVendorVPD(t *testing.T) {
	tests := []struct {
		name string
		in   model.LUN
		want model.LUN
	}{
		{
			name: "3par volume, domain and cpgs",
			in: model.LUN{ID: "naa.60002ac0000000000000000a00019b2f", Vendor: "3PARdata", Product: "VV",
				VendorVPD: map[uint8][]byte{0xc0: threePARFixture(4, "vv_oracle_01", "dom_prod", "FC_r6", "SSD_r1")}},
			want: model.LUN{
				Volume: "vv_oracle_01",
				Array:  &model.Array{Vendor: "HPE", Family: "3PAR/Primera"},
				ArrayFacts: map[string]string{"volume_type": "tpvv", "vv_id": "12345", "domain": "dom_prod",
					"user_cpg": "FC_r6", "snap_cpg": "SSD_r1"},
				FactSources: map[string]string{
					FactVendor: SourceVPD, FactFamily: SourceVPD, FactVolume: SourceVPD, "volume_type": SourceVPD,
					"vv_id": SourceVPD, "domain": SourceVPD, "user_cpg": SourceVPD, "snap_cpg": SourceVPD,
				},
			},
		},
		{
			name: "3par old revision has no names",
			in: model.LUN{ID: "naa.60002ac0000000000000000a00019b2f", Vendor: "3PARdata", Product: "VV",
				VendorVPD: map[uint8][]byte{0xc0: threePARFixture(3, "x", "y", "z", "w")}},
			want: model.LUN{
				Array:       &model.Array{Vendor: "HPE", Family: "3PAR/Primera"},
				ArrayFacts:  map[string]string{"volume_type": "tpvv"},
				FactSources: map[string]string{FactVendor: SourceVPD, FactFamily: SourceVPD, "volume_type": SourceVPD},
			},
		},
		{
			name: "emc unit path report",
			in: model.LUN{ID: "naa.6006016015301d00a2e2b05d8c39e811", Vendor: "DGC", Product: "VRAID",
				VendorVPD: map[uint8][]byte{0xc0: emcFixture("CKM00123456789", [4]byte{192, 0, 2, 50})}},
			want: model.LUN{
				Array: &model.Array{Vendor: "Dell EMC", Family: "Unity/VNX", SystemID: "emc:CKM00123456789", Addresses: []string{"192.0.2.50"}},
				ArrayFacts: map[string]string{"storage_processor": "SP A port 3", "default_owner": "SP B",
					"lun_wwn": "606162636465666768696a6b6c6d6e6f"},
				FactSources: map[string]string{
					FactVendor: SourceVPD, FactFamily: SourceID, FactSystemID: SourceVPD, FactAddresses: SourceVPD,
					"storage_processor": SourceVPD, "default_owner": SourceVPD, "lun_wwn": SourceVPD,
				},
			},
		},
		{
			name: "e-series labels",
			in: model.LUN{ID: "naa.60080e50001f6d0c000014ad5d2d1e4f", Vendor: "NETAPP", Product: "INF-01-00",
				VendorVPD: map[uint8][]byte{0xc8: rdacFixture("oradata_1", "ef600-lab")}},
			want: model.LUN{
				Volume:     "oradata_1",
				Array:      &model.Array{Vendor: "NetApp", Family: "E-Series", SystemName: "ef600-lab", SystemID: "eseries:101112131415161718191a1b1c1d1e1f"},
				ArrayFacts: map[string]string{"volume_id": "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf"},
				FactSources: map[string]string{
					FactVendor: SourceVPD, FactFamily: SourceVPD, FactVolume: SourceVPD, FactSystemName: SourceVPD,
					FactSystemID: SourceVPD, "volume_id": SourceVPD,
				},
			},
		},
		{
			// Page 0xC0 of another vendor is not decoded as 3PAR's.
			name: "page of the wrong vendor is ignored",
			in: model.LUN{ID: "naa.6005076801800000000000000000abcd", Vendor: "IBM", Product: "2145",
				VendorVPD: map[uint8][]byte{0xc0: threePARFixture(4, "vv", "d", "u", "s")}},
			want: vendorOnly("IBM", ""),
		},
		{
			name: "truncated page is ignored",
			in: model.LUN{ID: "naa.60080e50001f6d0c000014ad5d2d1e4f", Vendor: "NETAPP", Product: "INF-01-00",
				VendorVPD: map[uint8][]byte{0xc8: rdacFixture("a", "b")[:100]}},
			want: vendorOnly("NetApp", "E-Series"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in
			Identify(&got)
			got2 := model.LUN{Array: got.Array, FactSources: got.FactSources, Volume: got.Volume, LUNPath: got.LUNPath, ArrayFacts: got.ArrayFacts}
			if diff := cmp.Diff(tt.want, got2); diff != "" {
				t.Errorf("Identify (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzDecodeVendorPages(f *testing.F) {
	f.Add(threePARFixture(4, "vv", "dom", "cpg1", "cpg2"))
	f.Add(emcFixture("APM001", [4]byte{10, 0, 0, 1}))
	f.Add(rdacFixture("vol", "array"))
	f.Add([]byte{0, 0xc0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = DecodeThreePAR(b)
		_, _ = DecodeEMC(b)
		_, _ = DecodeRDAC(b)
		for _, v := range []string{"3PARdata", "DGC", "NETAPP"} {
			l := model.LUN{Vendor: v, Product: "INF-01-00", VendorVPD: map[uint8][]byte{0xc0: b, 0xc8: b}}
			Identify(&l)
		}
	})
}

func FuzzIdentifyID(f *testing.F) {
	for _, s := range []string{"naa.600a098038303845372b4a5232346e35", "eui.00f4252922ade24824a937cf000113e6",
		"naa.60000970000196800123533030334133", "3600a0980", "eui.0011", "naa.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		l := model.LUN{ID: id}
		Identify(&l)
	})
}
