package hoststorage

import (
	"fmt"
	"strconv"
	"strings"
)

// Mount is one line of /proc/<pid>/mountinfo (proc(5)).
type Mount struct {
	ID, Parent   int
	Major, Minor uint32
	// Root is the path inside the filesystem that is mounted (bind mounts
	// and btrfs subvolumes have a root other than "/").
	Root       string
	Mountpoint string
	Options    string
	FSType     string
	Source     string
	SuperOpts  string
}

// DevNo is "major:minor", the st_dev of every file in the filesystem.
func (m Mount) DevNo() string { return fmt.Sprintf("%d:%d", m.Major, m.Minor) }

// ParseMountinfo parses mountinfo text. Our own parser rather than
// moby/sys/mountinfo's: it must read a file under a given root (support
// bundles) on any OS, and report the line of a malformed entry. A bad line is
// skipped and reported; the other lines are kept.
func ParseMountinfo(data []byte) ([]Mount, []error) {
	var out []Mount
	var errs []error
	for n, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		m, err := parseMountLine(line)
		if err != nil {
			errs = append(errs, fmt.Errorf("mountinfo line %d: %w", n+1, err))
			continue
		}
		out = append(out, m)
	}
	return out, errs
}

func parseMountLine(line string) (Mount, error) {
	// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
	f := strings.Fields(line)
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if len(f) < 7 || sep < 0 || len(f) < sep+3 {
		return Mount{}, fmt.Errorf("want at least 10 fields with a \"-\" separator after the optional fields, got %q", line)
	}
	var m Mount
	var err error
	if m.ID, err = strconv.Atoi(f[0]); err != nil {
		return Mount{}, fmt.Errorf("mount id %q: %w", f[0], err)
	}
	if m.Parent, err = strconv.Atoi(f[1]); err != nil {
		return Mount{}, fmt.Errorf("parent id %q: %w", f[1], err)
	}
	maj, min, ok := strings.Cut(f[2], ":")
	if !ok {
		return Mount{}, fmt.Errorf("major:minor %q has no colon", f[2])
	}
	mj, err1 := strconv.ParseUint(maj, 10, 32)
	mn, err2 := strconv.ParseUint(min, 10, 32)
	if err1 != nil || err2 != nil {
		return Mount{}, fmt.Errorf("major:minor %q is not two numbers", f[2])
	}
	m.Major, m.Minor = uint32(mj), uint32(mn)
	m.Root = unescapeOctal(f[3])
	m.Mountpoint = unescapeOctal(f[4])
	m.Options = f[5]
	m.FSType = unescapeOctal(f[sep+1])
	m.Source = unescapeOctal(f[sep+2])
	if len(f) > sep+3 {
		m.SuperOpts = f[sep+3]
	}
	return m, nil
}

// unescapeOctal undoes the kernel's \ooo escapes of space, tab, newline and
// backslash in mountinfo paths.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			v := (s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0')
			b.WriteByte(v)
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
