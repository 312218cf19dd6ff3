package store

import (
	"encoding/json"
	"fmt"
	"hash/fnv"

	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/query"
)

// The terms table holds 64-bit hashes of names, not the names: a fixed-size
// key keeps the index small (16 bytes a row). A hash collision only adds a
// candidate; every candidate is checked by the query package's exact rules.

func termHash(s string) int64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return int64(h.Sum64())
}

// vmTerm finds the disks of a VM: it is indexed on each disk version.
func vmTerm(vmKey string) string { return "\x00vm:" + vmKey }

type termRow struct{ h, obj int64 }

// dedupHashes hashes terms, each once.
func dedupHashes(values []string) []int64 {
	seen := make(map[int64]bool, len(values))
	out := make([]int64, 0, len(values))
	for _, v := range values {
		h := termHash(v)
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out
}

func values(ts []query.Term) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Value
	}
	return out
}

// vmTerms are the names a VM is found by in history: name and id.
func vmTerms(key string, vm *model.VM) []string {
	return []string{query.Norm(vm.Name), query.Norm(vm.ID)}
}

func lunTerms(l *model.LUN) []string { return values(query.LUNTerms(l)) }

func resTerms(r *model.Resource) []string { return values(query.ResourceTerms(r)) }

func diskTerms(d *query.DiskRec) []string {
	return append(values(query.DiskTerms(&d.Disk)), vmTerm(d.VMKey))
}

// termsOfJSON recomputes the term hashes of a stored object version (for
// pruning and for migrations).
func termsOfJSON(kind, key string, data []byte) ([]int64, error) {
	switch kind {
	case query.KindVM:
		var v model.VM
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, err
		}
		return dedupHashes(vmTerms(key, &v)), nil
	case query.KindDisk:
		var d query.DiskRec
		if err := json.Unmarshal(data, &d); err != nil {
			return nil, err
		}
		return dedupHashes(diskTerms(&d)), nil
	case query.KindLUN:
		var l model.LUN
		if err := json.Unmarshal(data, &l); err != nil {
			return nil, err
		}
		return dedupHashes(lunTerms(&l)), nil
	case query.KindResource:
		var r model.Resource
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, err
		}
		return dedupHashes(resTerms(&r)), nil
	case query.KindHost:
		return nil, nil
	}
	return nil, fmt.Errorf("unknown object kind %q", kind)
}
