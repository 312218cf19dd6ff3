package array

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/nvme"
)

func TestGroupSystems(t *testing.T) {
	iqnA := "iqn.1992-08.com.netapp:sn.aaaa:vs.3"
	iqnB := "iqn.1992-08.com.netapp:sn.bbbb:vs.4"
	luns := []model.LUN{
		// SVM A, resolved by the API.
		{ID: "naa.600a098038303845372b4a5232346e35",
			Array:       &model.Array{Vendor: "NetApp", Family: "ONTAP", SystemID: "ontap:c1", SystemName: "cluster1", Addresses: []string{"192.0.2.10"}},
			FactSources: map[string]string{FactSystemID: SourceAPI, FactSystemName: SourceAPI, FactAddresses: SourceAPI},
			Paths:       []model.Path{{Device: "sdc", Transport: "iscsi", Target: iqnA}}},
		// SVM A, not resolved: joins through the IQN.
		{ID: "naa.600a098038303845372b4a5232346e36", Array: &model.Array{Vendor: "NetApp", Family: "ONTAP"},
			Paths: []model.Path{{Device: "sdd", Transport: "iscsi", Target: iqnA}}},
		// SVM B on the same cluster, resolved: joins through the API id.
		{ID: "naa.600a098038303845372b4a5232346e37",
			Array:       &model.Array{Vendor: "NetApp", Family: "ONTAP", SystemID: "ontap:c1", SystemName: "cluster1"},
			FactSources: map[string]string{FactSystemID: SourceAPI, FactSystemName: SourceAPI},
			Paths:       []model.Path{{Device: "sde", Transport: "iscsi", Target: iqnB}}},
		// SVM B unresolved, over FC and iSCSI.
		{ID: "naa.600a098038303845372b4a5232346e38", Array: &model.Array{Vendor: "NetApp", Family: "ONTAP"},
			Paths: []model.Path{{Device: "sdf", Transport: "fc", Address: "0x500a0980aaaa"}, {Device: "sdg", Transport: "iscsi", Target: iqnB}}},
		// Two Pure LUNs of one array, by the serial prefix only.
		{ID: "naa.624a9370f4252922ade248cf000113e6"},
		{ID: "naa.624a9370f4252922ade248cf000113e7"},
		// Another Pure array.
		{ID: "naa.624a93700000000000000001000113e7"},
		// No key at all.
		{ID: "naa.6001405abcdef0123456789abcdef012", Vendor: "LIO-ORG"},
	}
	for i := range luns {
		Identify(&luns[i])
	}
	got := GroupSystems(luns)
	want := []System{
		{ID: "ontap:c1", Vendor: "NetApp", Family: "ONTAP", Name: "cluster1", Addresses: []string{"192.0.2.10"},
			Keys: []string{"fc:0x500a0980aaaa", iqnA, iqnB, "ontap:c1"},
			LUNs: []string{"naa.600a098038303845372b4a5232346e35", "naa.600a098038303845372b4a5232346e36",
				"naa.600a098038303845372b4a5232346e37", "naa.600a098038303845372b4a5232346e38"}},
		{ID: "pure:0000000000000001", Vendor: "Pure Storage", Family: "FlashArray",
			Keys: []string{"pure:0000000000000001"}, LUNs: []string{"naa.624a93700000000000000001000113e7"}},
		{ID: "pure:F4252922ADE248CF", Vendor: "Pure Storage", Family: "FlashArray",
			Keys: []string{"pure:F4252922ADE248CF"},
			LUNs: []string{"naa.624a9370f4252922ade248cf000113e6", "naa.624a9370f4252922ade248cf000113e7"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GroupSystems (-want +got):\n%s", diff)
	}
	// Members got the system's id and name.
	for _, i := range []int{1, 3} {
		a := luns[i].Array
		if a.SystemID != "ontap:c1" || a.SystemName != "cluster1" || luns[i].FactSources[FactSystemName] != SourceGroup {
			t.Errorf("LUN %d after grouping: %+v %v", i, a, luns[i].FactSources)
		}
	}
	// Grouping then identifying again is stable.
	before := fmt.Sprint(luns[1].Array, luns[1].FactSources)
	Identify(&luns[1])
	if after := fmt.Sprint(luns[1].Array, luns[1].FactSources); before != after {
		t.Errorf("Identify after GroupSystems changed the LUN:\n%s\n%s", before, after)
	}
}

func TestLocalEnrich(t *testing.T) {
	host, _ := os.Hostname()
	inv := &model.Inventory{LUNs: []model.LUN{
		{ID: "uuid.3be1e4b4-7fba-4a3d-9c1e-00a098006b5b", Protocol: "nvme", Product: "NetApp ONTAP Controller",
			Paths: []model.Path{
				{Host: "otherhost", Device: "nvme7n1", Transport: "nvme-tcp", State: "active"},
				// Native multipath: path devices have no node; the head is opened once.
				{Host: host, Device: "nvme0c0n1", Transport: "nvme-tcp", State: "standby"},
				{Host: host, Device: "nvme0c1n1", Transport: "nvme-tcp", State: "active"},
			}},
		{ID: "eui.00000000000000000080e50000001234", Protocol: "nvme", Product: "NetApp E-Series",
			Paths: []model.Path{{Device: "nvme1n1", Transport: "nvme-rdma", State: "active"}}},
		// An ONTAP release without page 0xC2: quietly skipped.
		{ID: "uuid.00000000-0000-0000-0000-000000000002", Protocol: "nvme", Product: "NetApp ONTAP Controller",
			Paths: []model.Path{{Device: "nvme2n1", Transport: "nvme-tcp", State: "active"}}},
		// Not allowed to read: reported.
		{ID: "uuid.00000000-0000-0000-0000-000000000003", Protocol: "nvme", Product: "NetApp ONTAP Controller",
			Paths: []model.Path{{Device: "nvme3n1", Transport: "nvme-tcp", State: "active"}}},
		// Not NetApp: never opened.
		{ID: "eui.00f4252922ade24824a937cf000113e6", Protocol: "nvme", Product: "Pure Storage FlashArray",
			Paths: []model.Path{{Device: "nvme4n1", Transport: "nvme-tcp", State: "active"}}},
	}}
	var opened []string
	rd := localReader{
		ontap: func(ctx context.Context, path string) (nvme.ONTAPNamespace, error) {
			opened = append(opened, path)
			switch path {
			case "/devroot/nvme0n1":
				return nvme.ONTAPNamespace{SVM: "svm_nvme", Volume: "vol_nvme", Namespace: "ns_db01", Path: "/vol/vol_nvme/ns_db01"}, nil
			case "/devroot/nvme2n1":
				return nvme.ONTAPNamespace{}, &nvme.StatusError{Status: 0x109}
			}
			return nvme.ONTAPNamespace{}, fmt.Errorf("open %s: %w", path, os.ErrPermission)
		},
		eseries: func(ctx context.Context, path string) (nvme.ESeriesLabels, error) {
			opened = append(opened, path)
			return nvme.ESeriesLabels{Array: "ef600-lab", Volume: "oradata_1"}, nil
		},
	}
	localEnrich(context.Background(), inv, "/devroot", rd)
	if diff := cmp.Diff([]string{"/devroot/nvme0n1", "/devroot/nvme1n1", "/devroot/nvme2n1", "/devroot/nvme3n1"}, opened); diff != "" {
		t.Errorf("devices opened (-want +got):\n%s", diff)
	}
	l := inv.LUNs[0]
	if l.Volume != "vol_nvme" || l.LUNPath != "/vol/vol_nvme/ns_db01" || l.ArrayFacts["svm"] != "svm_nvme" ||
		l.FactSources[FactLUNPath] != SourceVPD || l.FactSources["svm"] != SourceVPD {
		t.Errorf("ONTAP namespace = %+v", l)
	}
	e := inv.LUNs[1]
	if e.Volume != "oradata_1" || e.Array.SystemName != "ef600-lab" || e.Array.Family != "E-Series" {
		t.Errorf("E-Series namespace = %+v %+v", e, e.Array)
	}
	if len(inv.Errors) != 1 || inv.Errors[0].Object != "/devroot/nvme3n1" || inv.Errors[0].Hint == "" {
		t.Errorf("errors = %+v, want one for nvme3n1", inv.Errors)
	}
}
