package winstorage

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/vmstor/vmstor/model"
)

// Path forms a VHD or pass-through source takes on Windows.
type pathKind int

const (
	pathLocal  pathKind = iota // C:\VMs\a.vhdx, C:\ClusterStorage\Volume1\a.vhdx
	pathUNC                    // \\server\share\a.vhdx (Hyper-V over SMB3)
	pathVolume                 // \\?\Volume{GUID}\a.vhdx
	pathDisk                   // \\.\PHYSICALDRIVE3
)

// classify normalises a path (forward slashes, the \\?\ long-path prefix)
// and says which form it has. For UNC paths it returns server and share,
// for volume paths the GUID path, for disks the number.
func classify(p string) (kind pathKind, norm, a, b string) {
	p = strings.ReplaceAll(p, "/", `\`)
	up := strings.ToUpper(p)
	switch {
	case strings.HasPrefix(up, `\\.\PHYSICALDRIVE`), strings.HasPrefix(up, `\\?\PHYSICALDRIVE`):
		return pathDisk, p, p[len(`\\.\PHYSICALDRIVE`):], ""
	case strings.HasPrefix(up, `\\?\VOLUME{`):
		end := strings.IndexByte(p, '}')
		if end < 0 {
			return pathLocal, p, "", ""
		}
		return pathVolume, p, `\\?\Volume` + p[len(`\\?\Volume`):end+1] + `\`, ""
	case strings.HasPrefix(up, `\\?\UNC\`):
		p = `\\` + p[len(`\\?\UNC\`):]
	case strings.HasPrefix(up, `\\?\`), strings.HasPrefix(up, `\\.\`):
		p = p[4:]
	}
	if strings.HasPrefix(p, `\\`) {
		parts := strings.SplitN(p[2:], `\`, 3)
		if len(parts) >= 2 && parts[0] != "" && parts[1] != "" {
			return pathUNC, p, parts[0], parts[1]
		}
	}
	return pathLocal, p, "", ""
}

// MatchMount returns the volume whose mount point is the longest prefix of
// path (case-insensitive, as NTFS names are), so that
// C:\ClusterStorage\Volume1\vm.vhdx lands on the CSV, not on C:\.
func MatchMount(path string, vols []Volume) (Volume, string, bool) {
	_, p, _, _ := classify(path)
	lp := strings.ToLower(p)
	best, bestMP, bestLen := -1, "", 0
	for i, v := range vols {
		for _, mp := range v.Mountpoints {
			m := strings.ToLower(strings.ReplaceAll(mp, "/", `\`))
			if !strings.HasSuffix(m, `\`) {
				m += `\`
			}
			if (strings.HasPrefix(lp, m) || lp+`\` == m) && len(m) > bestLen {
				best, bestMP, bestLen = i, mp, len(m)
			}
		}
	}
	if best < 0 {
		return Volume{}, "", false
	}
	return vols[best], bestMP, true
}

// AnchorFor anchors a source path on this host without asking Windows:
// \\.\PHYSICALDRIVEn at disk:n, \\server\share\... at the share,
// \\?\Volume{GUID}\... at the volume, and a drive or folder path at the
// volume with the longest matching mount point.
func AnchorFor(path, host string, vols []Volume) (*model.Anchor, error) {
	kind, norm, a, b := classify(path)
	switch kind {
	case pathDisk:
		n, err := strconv.ParseUint(a, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%s: not a disk number: %w", path, err)
		}
		return &model.Anchor{Resource: diskID(uint32(n)), Path: norm, Host: host}, nil
	case pathUNC:
		return &model.Anchor{Resource: SMBID(a, b), Path: norm, Host: host}, nil
	case pathVolume:
		return &model.Anchor{Resource: VolumeID(a), Path: norm, Host: host}, nil
	}
	v, _, ok := MatchMount(norm, vols)
	if !ok {
		return nil, fmt.Errorf("%s: no volume of this host is mounted at a prefix of the path", path)
	}
	return &model.Anchor{Resource: VolumeID(v.GUIDPath), Path: norm, Host: host}, nil
}
