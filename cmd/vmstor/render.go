package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/output"
)

// printInventory prints a scan: the JSON document, or one row per virtual
// disk. Failures are listed on stderr after a table and make the result
// partial (exit status 3).
func printInventory(g *Globals, inv *model.Inventory) error {
	luns := lunIndex(inv.LUNs)
	rows := &output.Rows{Header: []string{"VM", "HOST", "DISK", "KIND", "SOURCE", "STORAGE", "LUNS", "ARRAY", "PATHS"}}
	for _, vm := range inv.VMs {
		if len(vm.Disks) == 0 {
			rows.Add(vm.Name, vm.Host, "", "", "", "(no disks)", "", "", "")
		}
		for _, d := range vm.Disks {
			storage := layersSummary(d.Chain)
			if d.Error != "" {
				storage = "error: " + d.Error
			}
			rows.Add(vm.Name, vm.Host, d.Name, string(d.Kind), d.Source, storage,
				strings.Join(d.LUNs, ","), arraysOf(d.LUNs, luns), pathsOf(d.LUNs, luns, vm.Host))
		}
	}
	if err := output.Write(g.stdout, g.Output, inv, rows); err != nil {
		return err
	}
	return reportErrors(g, inv.Errors)
}

// reportErrors lists failures on stderr (JSON output carries them in the
// document too) and turns them into a partial result.
func reportErrors(g *Globals, errs []model.ScanError) error {
	if len(errs) == 0 {
		return nil
	}
	fmt.Fprintf(g.stderr, "\n%d problem(s) during the scan:\n", len(errs))
	for _, e := range errs {
		fmt.Fprintln(g.stderr, "  -", e.Error())
	}
	return partialError{len(errs)}
}

func lunIndex(luns []model.LUN) map[string]*model.LUN {
	m := make(map[string]*model.LUN, len(luns))
	for i := range luns {
		m[luns[i].ID] = &luns[i]
	}
	return m
}

// layersSummary names the layers between the disk's source and its LUN
// paths: "ext4 /var/lib/libvirt/images > lvm vg-lv > multipath mpatha".
func layersSummary(chain []model.Layer) string {
	var parts []string
	seen := map[string]bool{}
	for _, l := range chain {
		if l.Kind == "file" || l.Kind == "lun" || (l.Kind == string(model.ResDisk) && l.Level > 0) {
			continue
		}
		s := l.Kind + " " + l.Name
		if l.Kind == "network" || l.Kind == string(model.ResNFS) || l.Kind == string(model.ResSMB) {
			s += " (" + l.Detail + ")"
		}
		if !seen[s] {
			seen[s] = true
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, " > ")
}

// arrayLabel names where a LUN lives on its array, the way NetApp's sanlun
// does: "system:volume/lun_path", or vendor, family and LUN serial.
func arrayLabel(l *model.LUN) string {
	a := l.Array
	if a == nil {
		return ""
	}
	if l.LUNPath != "" || l.Volume != "" {
		sys := a.SystemName
		if sys == "" {
			sys = a.SystemID
		}
		p := l.LUNPath
		if p == "" {
			p = l.Volume
		}
		return sys + ":" + p
	}
	s := strings.TrimSpace(a.Vendor + " " + a.Family)
	if a.LUNSerial != "" {
		s += " " + a.LUNSerial
	}
	return s
}

func arraysOf(ids []string, luns map[string]*model.LUN) string {
	var out []string
	for _, id := range ids {
		if l := luns[id]; l != nil {
			if s := arrayLabel(l); s != "" {
				out = append(out, s)
			}
		}
	}
	return strings.Join(out, ", ")
}

// pathsOf sums active/total paths over the LUNs, from the VM's own host when
// the LUN is seen by several (a vSphere cluster), and the LUNs' worst state.
func pathsOf(ids []string, luns map[string]*model.LUN, host string) string {
	active, total := 0, 0
	state := ""
	for _, id := range ids {
		l := luns[id]
		if l == nil {
			continue
		}
		paths := l.Paths
		var own []model.Path
		for _, p := range paths {
			if p.Host == host {
				own = append(own, p)
			}
		}
		if len(own) > 0 {
			paths = own
		}
		total += len(paths)
		for _, p := range paths {
			if p.State == model.PathActive {
				active++
			}
		}
		if s := model.LUNState(paths); worse(s, state) {
			state = s
		}
	}
	if total == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d %s", active, total, state)
}

func worse(a, b string) bool {
	rank := map[string]int{"": 0, model.LUNOK: 1, model.LUNDegraded: 2, model.LUNFailed: 3}
	return rank[a] > rank[b]
}

// lunRows is the table of LUNs shared by storage and which.
func lunRows(rows *output.Rows, luns []model.LUN) {
	for _, l := range luns {
		transports := map[string]bool{}
		var targets []string
		active := 0
		for _, p := range l.Paths {
			transports[p.Transport] = true
			if p.State == model.PathActive {
				active++
			}
			if t := strings.TrimSpace(p.Target + " " + p.Address); t != "" && !contains(targets, t) {
				targets = append(targets, t)
			}
		}
		var devs []string
		for _, p := range l.Paths {
			devs = append(devs, p.Device+"("+p.State+")")
		}
		rows.Add("lun", l.ID, strings.TrimSpace(l.Vendor+" "+l.Product)+serialSuffix(l.Serial),
			arrayLabel(&l), size(l.SizeBytes),
			fmt.Sprintf("%s %d/%d %s", l.State, active, len(l.Paths), strings.Join(keys(transports), ",")),
			strings.Join(append(devs, targets...), " "))
	}
}

func serialSuffix(s string) string {
	if s == "" {
		return ""
	}
	return " sn " + s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// size prints bytes in binary units.
func size(b uint64) string {
	if b == 0 {
		return ""
	}
	const unit = 1024
	if b < unit {
		return strconv.FormatUint(b, 10) + " B"
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}
