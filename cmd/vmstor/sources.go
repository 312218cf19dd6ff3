package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/vmstor/vmstor/array"
	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/scan"
	"github.com/vmstor/vmstor/vms/hyperv"
	"github.com/vmstor/vmstor/vms/libvirt"
	"github.com/vmstor/vmstor/vms/proxmox"
	"github.com/vmstor/vmstor/vms/vsphere"
)

// HostFlags pick which host's storage phase 2 reads: this host's, or a copy
// of another host's /sys and /proc (a support bundle).
type HostFlags struct {
	Sysfs          string        `name:"sysfs" placeholder:"DIR" help:"Read a copy of another host's /sys (a support bundle) instead of this host's; no device is queried then."`
	Procfs         string        `name:"procfs" placeholder:"DIR" help:"Read a copy of another host's /proc; goes with --sysfs."`
	InquiryTimeout time.Duration `name:"inquiry-timeout" default:"5s" help:"Bound on each SCSI INQUIRY / NVMe query sent to a device."`
}

// bundle reports whether the flags point at a copy of another host.
func (h HostFlags) bundle() bool { return h.Sysfs != "" || h.Procfs != "" }

// SourceFlags say what to scan. They are shared by scan, serve and who-uses.
type SourceFlags struct {
	HostFlags

	Libvirt          []string      `name:"libvirt" placeholder:"URI" help:"libvirt connection URI (repeatable). Default: qemu:///system when its socket exists."`
	VSphere          []string      `name:"vsphere" placeholder:"URL" help:"vCenter or ESXi SDK URL, e.g. https://vc.example/sdk (repeatable). Credentials: user:password in the URL or VMSTOR_VSPHERE_USERNAME / VMSTOR_VSPHERE_PASSWORD."`
	Proxmox          []string      `name:"proxmox" placeholder:"URL" help:"Proxmox VE API URL, e.g. https://pve1:8006 (repeatable). Token: VMSTOR_PROXMOX_TOKEN or --proxmox-token-file."`
	ProxmoxTokenFile string        `name:"proxmox-token-file" placeholder:"FILE" help:"File holding the Proxmox API token (user@realm!id=secret)."`
	ProxmoxRoot      string        `name:"proxmox-root" placeholder:"DIR" help:"Read Proxmox VE configuration under DIR/etc/pve (default: / when this is a Proxmox host)."`
	HyperV           bool          `name:"hyperv" help:"Scan this Hyper-V host through WMI (Windows only; default on a Hyper-V host)."`
	Insecure         bool          `name:"insecure" help:"Do not verify the TLS certificates of vSphere and Proxmox endpoints."`
	CAFile           string        `name:"ca-file" placeholder:"FILE" help:"PEM file of CA certificates to trust for vSphere, Proxmox and array endpoints."`
	Arrays           string        `name:"arrays" placeholder:"FILE" help:"Array API configuration (NetApp ONTAP, Pure) used to name each LUN's system, volume and path."`
	NoHostStorage    bool          `name:"no-host-storage" help:"Do not scan this host's storage (only what the hypervisor APIs report)."`
	Timeout          time.Duration `name:"timeout" default:"10m" help:"Bound on the whole scan."`
}

// Sources builds the scan sources and options the flags ask for.
func (f *SourceFlags) Sources(g *Globals) ([]scan.Source, scan.Options, error) {
	var (
		srcs  []scan.Source
		opts  scan.Options
		local bool // a platform whose disks live on this host's storage
	)
	for _, u := range f.Libvirt {
		srcs = append(srcs, libvirt.New(u))
		if isLocalLibvirt(u) {
			local = true
		}
	}
	for _, raw := range f.VSphere {
		cfg, err := vsphereConfig(raw, f)
		if err != nil {
			return nil, opts, err
		}
		srcs = append(srcs, vsphere.New(cfg))
	}
	for _, raw := range f.Proxmox {
		tok, err := secretFromEnvOrFile("VMSTOR_PROXMOX_TOKEN", f.ProxmoxTokenFile)
		if err != nil {
			return nil, opts, err
		}
		if tok == "" {
			return nil, opts, usageError{"--proxmox needs an API token: set VMSTOR_PROXMOX_TOKEN or --proxmox-token-file (never on the command line)"}
		}
		srcs = append(srcs, proxmox.NewRemote(proxmox.Config{URL: raw, Token: tok, Insecure: f.Insecure, CAFile: f.CAFile, Timeout: 30 * time.Second}))
	}
	if f.ProxmoxRoot != "" {
		srcs = append(srcs, proxmox.NewLocal(f.ProxmoxRoot))
		local = local || f.ProxmoxRoot == "/"
	}
	if f.HyperV {
		srcs = append(srcs, hyperv.New())
		local = true
	}
	explicit := len(srcs) > 0
	if !explicit && !f.bundle() {
		// Nothing named: whatever this host runs.
		if libvirt.DefaultAvailable() {
			srcs = append(srcs, libvirt.New(""))
		}
		if _, err := os.Stat("/etc/pve/qemu-server"); err == nil {
			srcs = append(srcs, proxmox.NewLocal("/"))
		}
		if hv := defaultHyperV(); hv != nil {
			srcs = append(srcs, hv)
		}
		local = true
	}
	if !f.NoHostStorage && (local || !explicit) {
		hs, loc, err := localStorage(f.HostFlags)
		if err != nil {
			return nil, opts, err
		}
		srcs = append(srcs, hs)
		if !f.bundle() {
			opts.Locator = loc
			// NetApp NVMe namespaces name their SVM, volume and path in a log page.
			opts.Enrich = append(opts.Enrich, func(ctx context.Context, inv *model.Inventory) { array.LocalEnrich(ctx, inv, "/dev") })
		}
	}
	if f.Arrays != "" {
		cfg, err := array.LoadConfig(f.Arrays)
		if err != nil {
			return nil, opts, fmt.Errorf("--arrays %s: %w", f.Arrays, err)
		}
		e := array.NewEnricher(cfg)
		opts.Enrich = append(opts.Enrich, e.Enrich)
	}
	if len(srcs) == 0 {
		return nil, opts, usageError{"nothing to scan: name a --libvirt, --vsphere, --proxmox or --proxmox-root source"}
	}
	return srcs, opts, nil
}

// Inventory runs one scan with the flags' sources.
func (f *SourceFlags) Inventory(g *Globals) (*model.Inventory, error) {
	srcs, opts, err := f.Sources(g)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(g.ctx, f.Timeout)
	defer cancel()
	return scan.Run(ctx, opts, srcs...), nil
}

func isLocalLibvirt(uri string) bool {
	if uri == "" {
		return true
	}
	u, err := url.Parse(uri)
	return err == nil && u.Host == "" && !strings.Contains(u.Scheme, "+")
}

// vsphereConfig takes credentials from the URL or the environment, never
// from a flag of their own: argv is visible to every user of the host.
func vsphereConfig(raw string, f *SourceFlags) (vsphere.Config, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return vsphere.Config{}, usageError{fmt.Sprintf("--vsphere %q: want a URL like https://vcenter.example/sdk", redactURL(raw))}
	}
	cfg := vsphere.Config{Insecure: f.Insecure, CAFile: f.CAFile}
	if u.User != nil {
		cfg.Username = u.User.Username()
		cfg.Password, _ = u.User.Password()
		u.User = nil
	}
	if cfg.Username == "" {
		cfg.Username = os.Getenv("VMSTOR_VSPHERE_USERNAME")
	}
	if cfg.Password == "" {
		cfg.Password = os.Getenv("VMSTOR_VSPHERE_PASSWORD")
	}
	if u.Path == "" {
		u.Path = "/sdk"
	}
	cfg.URL = u.String()
	return cfg, nil
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// secretFromEnvOrFile reads a secret from a file when one is named, else from
// the environment variable.
func secretFromEnvOrFile(env, file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("reading secret file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return os.Getenv(env), nil
}
