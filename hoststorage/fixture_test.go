package hoststorage

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// tree builds a sysfs/procfs fixture from the compact description in
// testdata/*.txt, laid out as the kernel does (devices under
// sys/devices, /sys/block, /sys/class and /sys/dev/block as relative
// symlinks), so the scanner sees what it sees on a host.
type tree struct {
	root     string
	blockDir map[string]string // block name -> its directory, relative to root
	hostDir  map[string]string // "host3" -> the SCSI host's device directory
	ctrlDir  map[string]string // "nvme0" -> controller directory
	mounts   strings.Builder
}

func newTree(root string) *tree {
	return &tree{root: root, blockDir: map[string]string{}, hostDir: map[string]string{}, ctrlDir: map[string]string{}}
}

// buildTree writes the fixture described by the file at desc into a new
// temporary directory and returns its root (sys/, proc/, dev/ below it).
func buildTree(t testing.TB, desc string) string {
	t.Helper()
	root := t.TempDir()
	b, err := os.ReadFile(desc)
	if err != nil {
		t.Fatal(err)
	}
	if err := newTree(root).apply(string(b)); err != nil {
		t.Fatalf("%s: %v", desc, err)
	}
	return root
}

// buildTreeText is buildTree for a description given inline.
func buildTreeText(t testing.TB, desc string) string {
	t.Helper()
	root := t.TempDir()
	if err := newTree(root).apply(desc); err != nil {
		t.Fatal(err)
	}
	return root
}

func (tr *tree) file(rel string, content []byte) error {
	p := filepath.Join(tr.root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, content, 0o644)
}

func (tr *tree) text(rel, v string) error { return tr.file(rel, []byte(v+"\n")) }

// link makes rel a relative symlink to target (both relative to root).
func (tr *tree) link(rel, target string) error {
	p := filepath.Join(tr.root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	r, err := filepath.Rel(filepath.Dir(rel), target)
	if err != nil {
		return err
	}
	return os.Symlink(r, p)
}

// apply runs every statement of a description.
func (tr *tree) apply(desc string) error {
	sc := bufio.NewScanner(strings.NewReader(desc))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if err := tr.statement(line); err != nil {
			return fmt.Errorf("line %d %q: %w", n, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return tr.file("proc/self/mountinfo", []byte(tr.mounts.String()))
}

// fields splits `verb name k=v k="v w"` into verb, name and the keys.
func fields(line string) (verb, name string, kv map[string]string, err error) {
	kv = map[string]string{}
	var toks []string
	for rest := line; rest != ""; {
		rest = strings.TrimLeft(rest, " \t")
		if rest == "" {
			break
		}
		i := 0
		for i < len(rest) && rest[i] != ' ' && rest[i] != '\t' {
			if rest[i] == '"' {
				j := strings.IndexByte(rest[i+1:], '"')
				if j < 0 {
					return "", "", nil, fmt.Errorf("unterminated quote")
				}
				i += j + 1
			}
			i++
		}
		toks = append(toks, rest[:i])
		rest = rest[i:]
	}
	if len(toks) < 2 {
		return "", "", nil, fmt.Errorf("want a verb and a name")
	}
	for _, t := range toks[2:] {
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			return "", "", nil, fmt.Errorf("token %q is not key=value", t)
		}
		if strings.HasPrefix(v, `"`) {
			if v, err = strconv.Unquote(v); err != nil {
				return "", "", nil, fmt.Errorf("value of %s: %w", k, err)
			}
		}
		kv[k] = v
	}
	return toks[0], toks[1], kv, nil
}

// bytesOf decodes "00 83 00 40 'ASCII text' 01 03" (hex with quoted ASCII).
func bytesOf(s string) ([]byte, error) {
	var out []byte
	for i, part := range strings.Split(s, "'") {
		if i%2 == 1 {
			out = append(out, part...)
			continue
		}
		b, err := hex.DecodeString(strings.Join(strings.Fields(part), ""))
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

// scsiHostDir is where a SCSI host of a transport sits under sys/devices.
func (tr *tree) scsiHostDir(host, transport string, kv map[string]string) string {
	if d, ok := tr.hostDir[host]; ok {
		return d
	}
	n := strings.TrimPrefix(host, "host")
	var d string
	switch transport {
	case "iscsi":
		d = "sys/devices/platform/" + host
	case "fc":
		d = "sys/devices/pci0000:00/0000:00:05." + n + "/" + host
	case "sas":
		d = "sys/devices/pci0000:00/0000:00:06.0/" + host
	case "virtio":
		d = "sys/devices/pci0000:00/0000:00:03.0/virtio2/" + host
	case "ata":
		d = "sys/devices/pci0000:00/0000:00:1f.2/ata1/" + host
	default:
		d = "sys/devices/platform/" + host
	}
	tr.hostDir[host] = d
	return d
}

// block registers a block device directory: /sys/block, /sys/class/block
// and /sys/dev/block links, dev and size.
func (tr *tree) block(name, dir string, kv map[string]string, whole bool) error {
	tr.blockDir[name] = dir
	if whole {
		if err := tr.link("sys/block/"+name, dir); err != nil {
			return err
		}
	}
	if err := tr.link("sys/class/block/"+name, dir); err != nil {
		return err
	}
	if kv["devno"] != "" {
		if err := tr.link("sys/dev/block/"+kv["devno"], dir); err != nil {
			return err
		}
		if err := tr.text(dir+"/dev", kv["devno"]); err != nil {
			return err
		}
	}
	if err := tr.text(dir+"/size", or(kv["size"], "0")); err != nil {
		return err
	}
	for _, sl := range list(kv["slaves"]) {
		sd, ok := tr.blockDir[sl]
		if !ok {
			return fmt.Errorf("slave %s is not defined above", sl)
		}
		if err := tr.link(dir+"/slaves/"+sl, sd); err != nil {
			return err
		}
		if err := tr.link(sd+"/holders/"+name, dir); err != nil {
			return err
		}
	}
	return nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func list(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// texts writes each key of kv that is set, as dir/file.
func (tr *tree) texts(dir string, kv map[string]string, keyToFile ...string) error {
	for i := 0; i < len(keyToFile); i += 2 {
		if v, ok := kv[keyToFile[i]]; ok {
			if err := tr.text(dir+"/"+keyToFile[i+1], v); err != nil {
				return err
			}
		}
	}
	return nil
}

func (tr *tree) statement(line string) error {
	if rest, ok := strings.CutPrefix(line, "mountinfo "); ok {
		tr.mounts.WriteString(rest + "\n")
		return nil
	}
	verb, name, kv, err := fields(line)
	if err != nil {
		return err
	}
	switch verb {
	case "iscsi": // an iSCSI session and its first connection
		host := "host" + kv["host"]
		hd := tr.scsiHostDir(host, "iscsi", kv)
		sd := hd + "/" + name
		cls := sd + "/iscsi_session/" + name
		if err := tr.texts(cls, kv, "target", "targetname", "initiator", "initiatorname", "state", "state"); err != nil {
			return err
		}
		if err := tr.link("sys/class/iscsi_session/"+name, cls); err != nil {
			return err
		}
		conn := "connection" + strings.TrimPrefix(name, "session") + ":0"
		cd := sd + "/" + conn + "/iscsi_connection/" + conn
		if err := tr.texts(cd, kv, "portal", "persistent_address", "port", "persistent_port"); err != nil {
			return err
		}
		return tr.link("sys/class/iscsi_connection/"+conn, cd)
	case "fchost":
		hd := tr.scsiHostDir(name, "fc", kv)
		d := hd + "/fc_host/" + name
		if err := tr.texts(d, kv, "wwpn", "port_name"); err != nil {
			return err
		}
		return tr.link("sys/class/fc_host/"+name, d)
	case "fcport": // rport-H:B-R
		host := "host" + strings.SplitN(strings.TrimPrefix(name, "rport-"), ":", 2)[0]
		d := tr.scsiHostDir(host, "fc", kv) + "/" + name + "/fc_remote_ports/" + name
		if err := tr.texts(d, kv, "wwpn", "port_name", "wwnn", "node_name", "state", "port_state"); err != nil {
			return err
		}
		return tr.link("sys/class/fc_remote_ports/"+name, d)
	case "sasdev": // end_device-H:N
		host := "host" + strings.SplitN(strings.TrimPrefix(name, "end_device-"), ":", 2)[0]
		d := tr.scsiHostDir(host, "sas", kv) + "/port-" + strings.TrimPrefix(host, "host") + ":0/" + name + "/sas_device/" + name
		if err := tr.texts(d, kv, "address", "sas_address"); err != nil {
			return err
		}
		return tr.link("sys/class/sas_device/"+name, d)
	case "scsi":
		h := strings.Split(kv["hctl"], ":")
		if len(h) != 4 {
			return fmt.Errorf("hctl %q", kv["hctl"])
		}
		hd := tr.scsiHostDir("host"+h[0], kv["transport"], kv)
		switch kv["transport"] {
		case "iscsi":
			hd += "/" + kv["session"]
		case "fc":
			hd += "/" + kv["rport"]
		case "sas":
			hd += "/port-" + h[0] + ":0/" + kv["enddev"]
		}
		dev := hd + "/target" + h[0] + ":" + h[1] + ":" + h[2] + "/" + kv["hctl"]
		if err := tr.texts(dev, kv, "vendor", "vendor", "model", "model", "rev", "rev", "state", "state",
			"access", "access_state", "ioerr", "ioerr_cnt", "wwid", "wwid"); err != nil {
			return err
		}
		for _, pg := range []struct{ key, file string }{{"vpd83", "vpd_pg83"}, {"vpd80", "vpd_pg80"}, {"vpd0", "vpd_pg0"}} {
			v, ok := kv[pg.key]
			if !ok {
				continue
			}
			var b []byte
			switch pg.key {
			case "vpd80": // the serial text, wrapped in its page
				b = append([]byte{0, 0x80, 0, byte(len(v))}, v...)
			case "vpd0": // the supported page codes, wrapped in page 0
				if b, err = bytesOf(v); err != nil {
					return err
				}
				b = append([]byte{0, 0, 0, byte(len(b))}, b...)
			default:
				b, err = bytesOf(v)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", pg.key, err)
			}
			if err := tr.file(dev+"/"+pg.file, b); err != nil {
				return err
			}
		}
		bd := dev + "/block/" + name
		if err := tr.block(name, bd, kv, true); err != nil {
			return err
		}
		return tr.link(bd+"/device", dev)
	case "virtioblk":
		vd := "sys/devices/pci0000:00/0000:00:02.0/" + kv["virtio"]
		bd := vd + "/block/" + name
		if err := tr.block(name, bd, kv, true); err != nil {
			return err
		}
		if err := tr.texts(bd, kv, "serial", "serial"); err != nil {
			return err
		}
		return tr.link(bd+"/device", vd)
	case "part":
		pd, ok := tr.blockDir[kv["parent"]]
		if !ok {
			return fmt.Errorf("parent %s is not defined above", kv["parent"])
		}
		d := pd + "/" + name
		if err := tr.text(d+"/partition", strings.TrimLeft(strings.TrimPrefix(name, kv["parent"]), "p")); err != nil {
			return err
		}
		return tr.block(name, d, kv, false)
	case "dm", "md", "loop", "virtual":
		d := "sys/devices/virtual/block/" + name
		if err := tr.block(name, d, kv, true); err != nil {
			return err
		}
		switch verb {
		case "dm":
			return tr.texts(d, kv, "dmname", "dm/name", "uuid", "dm/uuid")
		case "md":
			return tr.texts(d, kv, "level", "md/level", "degraded", "md/degraded", "state", "md/array_state")
		case "loop":
			if _, ok := kv["backing"]; ok {
				return tr.texts(d, kv, "backing", "loop/backing_file")
			}
		}
		return nil
	case "nvmectrl":
		var d string
		if kv["transport"] == "pcie" {
			d = "sys/devices/pci0000:00/0000:00:04.0/nvme/" + name
		} else {
			d = "sys/devices/virtual/nvme-fabrics/ctl/" + name
		}
		tr.ctrlDir[name] = d
		if err := tr.texts(d, kv, "transport", "transport", "nqn", "subsysnqn", "address", "address",
			"hostnqn", "hostnqn", "state", "state", "model", "model", "serial", "serial", "fw", "firmware_rev"); err != nil {
			return err
		}
		if err := tr.link("sys/class/nvme/"+name, d); err != nil {
			return err
		}
		if s := kv["subsys"]; s != "" {
			sd := "sys/devices/virtual/nvme-subsystem/" + s
			if err := tr.link(sd+"/"+name, d); err != nil {
				return err
			}
			if _, err := os.Lstat(filepath.Join(tr.root, "sys/class/nvme-subsystem", s)); err != nil {
				return tr.link("sys/class/nvme-subsystem/"+s, sd)
			}
		}
		return nil
	case "nvmens":
		var d, parent string
		if s := kv["subsys"]; s != "" {
			parent = "sys/devices/virtual/nvme-subsystem/" + s
		} else {
			parent = tr.ctrlDir[kv["ctrl"]]
		}
		d = parent + "/" + name
		if err := tr.block(name, d, kv, true); err != nil {
			return err
		}
		if err := tr.texts(d, kv, "nsid", "nsid", "wwid", "wwid", "nguid", "nguid", "uuid", "uuid", "eui", "eui"); err != nil {
			return err
		}
		if err := tr.link(d+"/device", parent); err != nil {
			return err
		}
		// Hidden per-controller paths nvme<S>c<C>n<N> carry the ANA state.
		subsysInst, nsInst, _ := strings.Cut(strings.TrimPrefix(name, "nvme"), "n")
		for k, v := range kv {
			ctrl, ok := strings.CutPrefix(k, "ana.")
			if !ok {
				continue
			}
			p := "nvme" + subsysInst + "c" + strings.TrimPrefix(ctrl, "nvme") + "n" + nsInst
			pd := tr.ctrlDir[ctrl] + "/" + p
			if err := tr.text(pd+"/ana_state", v); err != nil {
				return err
			}
			// The kernel lists these hidden disks in /sys/block too.
			if dn := kv["pathdevno."+ctrl]; dn != "" {
				if err := tr.block(p, pd, map[string]string{"devno": dn, "size": kv["size"]}, true); err != nil {
					return err
				}
				if err := tr.link(pd+"/device", tr.ctrlDir[ctrl]); err != nil {
					return err
				}
			}
		}
		return nil
	case "btrfs":
		for _, dv := range list(kv["devices"]) {
			if err := tr.link("sys/fs/btrfs/"+name+"/devices/"+dv, tr.blockDir[dv]); err != nil {
				return err
			}
		}
		return nil
	case "devlink": // a udev link: devlink by-id/wwn-0x... target=sdc
		return tr.link("dev/disk/"+name, "dev/"+kv["target"])
	}
	return fmt.Errorf("unknown verb %q", verb)
}
