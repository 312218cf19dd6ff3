package proxmox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vmstor/vmstor/model"
)

// Source scans Proxmox VE VMs, from a node's files (NewLocal) or from the
// REST API (NewRemote).
type Source struct {
	root   string  // local: the directory holding etc/pve
	remote *Config // remote: the API endpoint
	// parallel bounds concurrent config requests (one per VM); 0 means 8.
	parallel int
}

// NewLocal reads the Proxmox configuration under root ("" means "/"): the
// node's VMs from etc/pve/qemu-server, the other cluster nodes' VMs from
// etc/pve/nodes/*/qemu-server, and etc/pve/storage.cfg. Disks resolve to host
// paths, which the Linux locator anchors on this node.
func NewLocal(root string) *Source {
	if root == "" {
		root = "/"
	}
	return &Source{root: root}
}

// Name is "proxmox:<root>" for a local source and "proxmox:<url>" for a remote one.
func (s *Source) Name() string {
	if s.remote != nil {
		return "proxmox:" + s.remote.URL
	}
	return "proxmox:" + s.root
}

// Scan reads every VM config. A VM config or storage line that cannot be
// parsed is a ScanError; the rest of the scan completes.
func (s *Source) Scan(ctx context.Context) (*model.Inventory, error) {
	if s.remote != nil {
		return s.scanRemote(ctx)
	}
	return s.scanLocal(ctx)
}

func (s *Source) path(p string) string { return filepath.Join(s.root, p) }

func (s *Source) scanLocal(ctx context.Context) (*model.Inventory, error) {
	src := s.Name()
	qdir := s.path("etc/pve/qemu-server")
	if _, err := os.Stat(qdir); err != nil {
		return nil, model.ScanError{Source: src, Object: qdir, Message: fmt.Sprintf("cannot read VM configs: %v", err),
			Hint: "run on a Proxmox VE node (with pmxcfs mounted on /etc/pve), or point --proxmox-root at a copy of a node's / holding etc/pve"}
	}
	inv := &model.Inventory{Version: model.SchemaVersion}
	node := s.nodeName()
	cluster := readClusterName(s.path("etc/pve/corosync.conf"))

	storages := map[string]Storage{}
	scfgPath := s.path("etc/pve/storage.cfg")
	if b, err := os.ReadFile(scfgPath); err != nil {
		inv.Errors = append(inv.Errors, model.ScanError{Source: src, Object: scfgPath, Message: fmt.Sprintf("cannot read storage definitions: %v", err),
			Hint: "disks on storage ids cannot be resolved without storage.cfg; absolute-path disks still are"})
	} else {
		var errs []error
		storages, errs = ParseStorageConfig(bytes.NewReader(b))
		inv.Errors = append(inv.Errors, configErrors(src, scfgPath, errs)...)
	}

	nodes := map[string]string{node: qdir}
	if ents, err := os.ReadDir(s.path("etc/pve/nodes")); err == nil {
		for _, e := range ents {
			if e.Name() == node {
				continue // the same directory as qemu-server
			}
			d := s.path(filepath.Join("etc/pve/nodes", e.Name(), "qemu-server"))
			if fi, err := os.Stat(d); err == nil && fi.IsDir() {
				nodes[e.Name()] = d
			}
		}
	}
	names := make([]string, 0, len(nodes))
	for n := range nodes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		inv.Hosts = append(inv.Hosts, model.Host{Name: n, Platform: model.PlatformProxmox, Cluster: cluster})
		confs, err := filepath.Glob(filepath.Join(nodes[n], "*.conf"))
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", nodes[n], err)
		}
		sort.Strings(confs)
		for _, f := range confs {
			if err := ctx.Err(); err != nil {
				return inv, err
			}
			vmid := strings.TrimSuffix(filepath.Base(f), ".conf")
			b, err := os.ReadFile(f)
			if err != nil {
				inv.Errors = append(inv.Errors, model.ScanError{Source: src, Object: f, Message: fmt.Sprintf("cannot read VM config: %v", err)})
				continue
			}
			cfg, perrs := ParseVMConfig(bytes.NewReader(b))
			inv.Errors = append(inv.Errors, configErrors(src, f, perrs)...)
			state := ""
			if n == node {
				state = s.localState(vmid)
			}
			vm, verrs := buildVM(src, vmInfo{VMID: vmid, Node: n, Cluster: cluster, State: state}, cfg, storages)
			inv.VMs = append(inv.VMs, vm)
			inv.Errors = append(inv.Errors, verrs...)
		}
	}
	return inv, nil
}

// nodeName is the node whose VMs etc/pve/qemu-server holds: the target of
// that symlink (pmxcfs links it to nodes/<node>/qemu-server), else the short
// host name from etc/hostname under root, else the running host's name
// (Proxmox node names are short names).
func (s *Source) nodeName() string {
	if t, err := os.Readlink(s.path("etc/pve/qemu-server")); err == nil {
		if dir, base := filepath.Split(filepath.Clean(t)); base == "qemu-server" {
			if n := filepath.Base(filepath.Clean(dir)); n != "." && n != "/" && n != "nodes" {
				return n
			}
		}
	}
	name := ""
	if b, err := os.ReadFile(s.path("etc/hostname")); err == nil {
		name = strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
	}
	if name == "" {
		name, _ = os.Hostname()
	}
	name, _, _ = strings.Cut(name, ".")
	return name
}

// localState says whether a VM of this node runs: qemu-server writes
// /var/run/qemu-server/<vmid>.pid and removes it on shutdown; a pid without
// a process under /proc is a crash leftover.
func (s *Source) localState(vmid string) string {
	b, err := os.ReadFile(s.path("var/run/qemu-server/" + vmid + ".pid"))
	if err != nil {
		return "stopped"
	}
	pid := strings.TrimSpace(string(b))
	if pid == "" {
		return "stopped"
	}
	if _, err := os.Stat(s.path("proc/" + pid)); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "stopped"
		}
		return ""
	}
	return "running"
}

// readClusterName returns totem.cluster_name of corosync.conf, "" when the
// node is not clustered.
func readClusterName(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if ok && strings.TrimSpace(k) == "cluster_name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
