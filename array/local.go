package array

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/vmstor/vmstor/model"
	"github.com/vmstor/vmstor/nvme"
)

// localTimeout bounds the admin commands to one namespace.
const localTimeout = 5 * time.Second

// nvmeDev matches a namespace device (nvme0n1) and a native-multipath path
// device (nvme0c1n1, hidden, no device node) whose head is nvme0n1.
var nvmeDev = regexp.MustCompile(`^nvme([0-9]+)(?:c[0-9]+)?n([0-9]+)$`)

// nvmeHead returns the namespace device to open for a path device name.
func nvmeHead(dev string) (string, bool) {
	m := nvmeDev.FindStringSubmatch(dev)
	if m == nil {
		return "", false
	}
	return "nvme" + m[1] + "n" + m[2], true
}

// localReader reads vendor data from a local NVMe namespace device.
type localReader struct {
	ontap   func(ctx context.Context, path string) (nvme.ONTAPNamespace, error)
	eseries func(ctx context.Context, path string) (nvme.ESeriesLabels, error)
}

// LocalEnrich reads, for the NetApp NVMe namespaces this host sees, what
// the device itself says about where it lives: the ONTAP namespace-info log
// page 0xC2 (SVM, volume, namespace path) and the E-Series labels in the
// identify data. devRoot is where the device nodes are ("/dev"). Only
// paths of this host (Path.Host empty or this host's name) are opened. It
// does nothing where NVMe pass-through does not exist.
func LocalEnrich(ctx context.Context, inv *model.Inventory, devRoot string) {
	localEnrich(ctx, inv, devRoot, localReader{ontap: nvme.ReadONTAP, eseries: nvme.ReadESeries})
}

func localEnrich(ctx context.Context, inv *model.Inventory, devRoot string, rd localReader) {
	host, _ := os.Hostname()
	for i := range inv.LUNs {
		l := &inv.LUNs[i]
		Identify(l)
		if l.Array == nil || l.Array.Vendor != "NetApp" {
			continue
		}
		family := l.Array.Family
		if family != FamilyONTAP && family != FamilyESeries {
			continue
		}
		tried := map[string]bool{}
		for _, p := range l.Paths {
			head, ok := nvmeHead(p.Device)
			if !ok || tried[head] || (p.Host != "" && p.Host != host) || p.State == model.PathFailed {
				continue
			}
			tried[head] = true
			dev := filepath.Join(devRoot, head)
			err := readLocal(ctx, l, dev, family, rd)
			if err == nil {
				break
			}
			if quietLocal(err) {
				continue
			}
			inv.Errors = append(inv.Errors, model.ScanError{
				Source: "array:nvme", Object: dev, Message: err.Error(),
				Hint: "reading NVMe vendor data needs root (CAP_SYS_ADMIN); the rest of the scan is unaffected",
			})
			break
		}
	}
}

func readLocal(ctx context.Context, l *model.LUN, dev, family string, rd localReader) error {
	ctx, cancel := context.WithTimeout(ctx, localTimeout)
	defer cancel()
	if family == FamilyONTAP {
		ns, err := rd.ontap(ctx, dev)
		if err != nil {
			return err
		}
		setFact(l, "svm", ns.SVM, SourceVPD)
		setFact(l, "namespace", ns.Namespace, SourceVPD)
		setLUNString(l, FactVolume, ns.Volume, SourceVPD)
		setLUNString(l, FactLUNPath, ns.Path, SourceVPD)
		return nil
	}
	lb, err := rd.eseries(ctx, dev)
	if err != nil {
		return err
	}
	setLUNString(l, FactVolume, lb.Volume, SourceVPD)
	setArray(l, FactSystemName, lb.Array, SourceVPD)
	return nil
}

// quietLocal reports failures that are not worth an error: no
// pass-through on this OS, the device gone, a device that does not have
// the page (an older ONTAP answers "invalid log page").
func quietLocal(err error) bool {
	var se *nvme.StatusError
	return errors.Is(err, nvme.ErrUnsupported) || errors.Is(err, fs.ErrNotExist) ||
		errors.As(err, &se) || errors.Is(err, nvme.ErrNotNamespaceInfo)
}
