package vsphere

import (
	"encoding/hex"
	"strings"
)

// lunID turns an ESXi canonical device name (ScsiLun.canonicalName) into the
// LUN id the Linux scanner produces for the same LUN, so that maps from both
// join: ESXi and the kernel both print NAA and EUI designators as
// "naa."/"eui." and lowercase hex. Path-based names (mpx.vmhbaN:C:T:L) are
// only unique on one host: they get the host appended and id source
// "local".
func lunID(canonical, host string) (id, source string) {
	c := strings.TrimSpace(canonical)
	lc := strings.ToLower(c)
	switch {
	case strings.HasPrefix(lc, "naa.") || strings.HasPrefix(lc, "eui."):
		return lc, "vpd83"
	case strings.HasPrefix(lc, "t10."):
		// ESXi replaces the spaces of a T10 vendor id with underscores;
		// keep its form (the kernel's has spaces).
		return c, "vpd83"
	case c == "":
		return "", ""
	default:
		return c + "@" + host, "local"
	}
}

// naaFromVML decodes the NAA id inside an ESXi VML id ("vml." + hex, also
// the form of ScsiLun.uuid and of an RDM's lunUuid):
//
//	02 00 LLLL 00 <NAA id: 8 or 16 bytes> <6 bytes of product id hash>
//
// where 02 says the id is an NAA designator (VMware KB 2078730 and 379673).
// It is the fallback when no host reports the LUN any more (an RDM whose
// LUN was unpresented): the id still names the LUN on its array.
func naaFromVML(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "/vmfs/devices/disks/")
	s = strings.TrimPrefix(s, "vml.")
	if len(s) < 10+16 || s[:2] != "02" {
		return "", false
	}
	id := s[10:]
	var n int
	switch id[0] {
	case '6':
		n = 32 // NAA IEEE Registered Extended: 16 bytes
	case '2', '3', '5':
		n = 16 // 8 bytes
	default:
		return "", false
	}
	if len(id) < n {
		return "", false
	}
	id = id[:n]
	if _, err := hex.DecodeString(id); err != nil {
		return "", false
	}
	return "naa." + id, true
}

// uuidKey is the form in which ScsiLun.uuid and RDM lunUuid are compared.
func uuidKey(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimPrefix(s, "/vmfs/devices/disks/")
	return strings.TrimPrefix(s, "vml.")
}
